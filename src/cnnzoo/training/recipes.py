"""Each model's own training recipe: the YAML file its default config names, found under `recipes/`.

A registered model's `ModelConfig.recipe` names a file `recipes/<recipe>.yaml` (data, like timm's pretrained
configs): the settings known to train it on CIFAR-10-sized data. `cnnzoo train --model NAME --data cifar10`
starts from it when no `--config` is given; the precedence stays defaults < recipe < flags.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnzoo.errors import CnnzooError

# The repository's recipes folder (a source checkout or an editable install, as the README installs cnnzoo).
RECIPES_DIR = Path(__file__).resolve().parents[3] / "recipes"


def recipe_path(name: str) -> Path:
    """The file of a recipe named by a model's config, e.g. 'nin_cifar' → recipes/nin_cifar.yaml."""
    path = RECIPES_DIR / f"{name}.yaml"
    if not path.is_file():
        raise CnnzooError(f"recipe {name!r} not found at {path}; pass --config YAML or --recipe none")
    return path


def model_recipe(model: str, options: dict[str, Any] | None = None) -> Path | None:
    """The recipe file a model names in its default config (None where it names none)."""
    from cnnzoo.models import get_model_config

    name = get_model_config(model, **(options or {})).recipe
    return recipe_path(name) if name else None


def recipe_data(path: Path) -> str | None:
    """The dataset a recipe was written for (its `data` key)."""
    from cnnzoo.training.config import load_yaml

    return load_yaml(path).get("data")
