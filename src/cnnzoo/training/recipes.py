"""Training recipes: YAML files shipped inside the package (`cnnzoo/recipes/`), found by name or by path.

A packaged recipe is named `NAME` or `recipes/NAME.yaml` (its path inside the package, as results.json and
the README record it); `--config` also takes any YAML file. An existing file always wins over a packaged
name, so a user's own `recipes/x.yaml` in the working directory is read as the file it is.

A registered model's `ModelConfig.recipe` names its packaged recipe (data, like timm's pretrained configs):
the settings known to train it on CIFAR-10-sized data. `cnnzoo train --model NAME --data cifar10` starts from
it when no `--config` is given; the precedence stays defaults < recipe < flags.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from cnnzoo.errors import CnnzooError

PREFIX = "recipes/"  # how a packaged recipe is labelled: its path inside the package


def recipes_dir() -> Path:
    """The packaged recipes folder, wherever cnnzoo is installed (a wheel, an editable install, a checkout)."""
    return Path(str(resources.files("cnnzoo").joinpath("recipes")))


def recipe_names() -> list[str]:
    """The packaged recipes' names, sorted."""
    return sorted(p.stem for p in recipes_dir().glob("*.yaml"))


def recipe_path(name: str) -> Path:
    """The file of a packaged recipe, e.g. 'nin_cifar' (or 'recipes/nin_cifar.yaml') → .../cnnzoo/recipes/nin_cifar.yaml."""
    stem = _packaged_stem(name)
    path = recipes_dir() / f"{stem}.yaml"
    if not path.is_file():
        raise CnnzooError(
            f"no packaged recipe named {name!r}; packaged: {', '.join(recipe_names())} (see `cnnzoo recipes`), "
            "or pass a YAML file path"
        )
    return path


def find_recipe(ref: str | Path) -> Path:
    """What `--config REF` reads: an existing YAML file, else the packaged recipe of that name."""
    path = Path(ref).expanduser()
    if path.is_file():
        return path
    if _packaged_stem(str(ref)) in recipe_names():
        return recipe_path(str(ref))
    if path.is_dir():
        raise CnnzooError(f"--config {ref} is a directory; give a YAML file or a packaged recipe name")
    raise CnnzooError(
        f"no such recipe file or packaged recipe: {ref}; packaged: {', '.join(recipe_names())} (see `cnnzoo recipes`)"
    )


def recipe_label(path: str | Path) -> str:
    """How a run records its recipe: 'recipes/NAME.yaml' for a packaged one, the path itself for a file."""
    path = Path(path)
    try:
        path.resolve().relative_to(recipes_dir().resolve())
    except ValueError:
        return str(path)
    return PREFIX + path.name


def model_recipe(model: str, options: dict[str, Any] | None = None) -> Path | None:
    """The packaged recipe a model names in its default config (None where it names none)."""
    from cnnzoo.models import get_model_config

    name = get_model_config(model, **(options or {})).recipe
    return recipe_path(name) if name else None


def recipe_purpose(path: Path) -> str:
    """A recipe's one-line purpose: the first line of its header comment (a test keeps every one a sentence)."""
    first = path.read_text().splitlines()[:1]
    return first[0].lstrip("#").strip() if first and first[0].startswith("#") else ""


def _packaged_stem(ref: str) -> str:
    """'recipes/nin_cifar.yaml', 'nin_cifar.yaml' or 'nin_cifar' → 'nin_cifar' (anything else stays as it is)."""
    name = ref[len(PREFIX) :] if ref.startswith(PREFIX) else ref
    return name[: -len(".yaml")] if name.endswith(".yaml") else name


def list_recipes() -> list[dict[str, str]]:
    """Every packaged recipe: its name, model, dataset, one-line purpose and file (what `cnnzoo recipes` prints)."""
    import yaml

    listed = []
    for name in recipe_names():
        path = recipe_path(name)
        values = yaml.safe_load(path.read_text()) or {}
        listed.append(
            {
                "name": name,
                "model": str(values.get("model", "")),
                "data": str(values.get("data", "")),
                "purpose": recipe_purpose(path),
                "file": str(path),
            }
        )
    return listed
