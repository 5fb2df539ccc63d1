"""Import another project's checkpoint as a normal cnnzoo checkpoint: read, rename, match, record where it came from.

    import_checkpoint(source, file, model=None)   the checkpoint payload (cnnzoo's format, with an "imported" record)
    write_imported(payload, output)                write it as a .pt that evaluate, predict, export and --init-from take
    load_pretrained(source, file, model=None)      the same, in memory, ready to predict

A file is read as its source lays files out (`READERS`), its tensor names are renamed by the source's table, and
the architecture is the one of the source's networks whose cnnzoo model has exactly these tensors and shapes
(or the one `model` names). Anything else is refused in one line: a file of another layout, unknown or missing
tensors, shapes of another network. BatchNorm's `num_batches_tracked` counters, which files from PyTorch before
0.4.1 lack and which no forward reads, are filled with 0 and counted in the record.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from cnnzoo.errors import CnnzooError, unknown_choice
from cnnzoo.models import create_model
from cnnzoo.pretrained.files import SourceFile, file_sha256
from cnnzoo.pretrained.sources import CIFAR10_CLASSES, SOURCES, Architecture, Source
from cnnzoo.training.checkpoint import save_checkpoint, unreadable_reason, weight_problems

COUNTER = ".num_batches_tracked"


# -------------------------------------------------------------------- readers, one per file layout
def read_torch_file(path: Path) -> Any:
    """torch.load with weights_only=True; an unreadable file is one line saying why."""
    if not path.is_file():
        raise CnnzooError(f"no file at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CnnzooError(f"cannot read {path}: {unreadable_reason(path, err)}") from None


def as_state_dict(value: Any, path: Path, what: str) -> dict[str, torch.Tensor]:
    """`value` if it is a mapping of names to tensors, else a one-line error saying what the file holds instead."""
    if isinstance(value, dict) and value and all(isinstance(v, torch.Tensor) for v in value.values()):
        return dict(value)
    found = f"a dict with keys {_few(list(value))}" if isinstance(value, dict) else f"a {type(value).__name__}"
    raise CnnzooError(f"{path} is not {what}: expected a state_dict (names to tensors), found {found}")


def _read_akamaster(path: Path) -> SourceFile:
    """trainer.py's model.th: {'state_dict': ..., 'best_prec1': ...}."""
    payload = read_torch_file(path)
    if not isinstance(payload, dict) or "state_dict" not in payload:
        raise CnnzooError(f"{path} is not an akamaster checkpoint: expected a dict with 'state_dict' and 'best_prec1'"
                          f"{_found(payload)}")  # fmt: skip
    facts = {"best_prec1": float(payload["best_prec1"])} if "best_prec1" in payload else {}
    weights = as_state_dict(payload["state_dict"], path, "an akamaster checkpoint")
    return SourceFile(path, weights, facts)


def _read_kuangliu(path: Path) -> SourceFile:
    """main.py's checkpoint/ckpt.pth: {'net': state_dict, 'acc': best test accuracy (%), 'epoch': its epoch}."""
    payload = read_torch_file(path)
    if not isinstance(payload, dict) or "net" not in payload:
        raise CnnzooError(f"{path} is not a kuangliu checkpoint: expected a dict with 'net', 'acc' and 'epoch'"
                          f"{_found(payload)}")  # fmt: skip
    facts = {key: payload[key] for key in ("acc", "epoch") if isinstance(payload.get(key), (int, float))}
    weights = as_state_dict(payload["net"], path, "a kuangliu checkpoint")
    return SourceFile(path, weights, facts)


def _read_state_dict(path: Path) -> SourceFile:
    """A bare state_dict, as chenyaofo's releases hold them."""
    return SourceFile(path, as_state_dict(read_torch_file(path), path, "a state_dict file"))


def _read_torchvision(path_or_enum: Path) -> SourceFile:
    """A torchvision weights file, identified by its name among the weights enums, or an enum's name."""
    from cnnzoo.pretrained.torchvision_weights import find_weights

    path, found = find_weights(path_or_enum, SOURCES["torchvision"].architectures)
    source_file = SourceFile(path, as_state_dict(read_torch_file(path), path, "a torchvision weights file"))
    source_file.classes = found.categories
    if found.weights is not None:
        source_file.facts = found.facts
        source_file.architecture = found.architecture
        source_file.claimed_top1 = found.top1
        source_file.image_size = found.crop_size
    return source_file


def _read_timm(path_or_id: Path) -> SourceFile:
    """model.safetensors with timm's config.json beside it (a file, its folder, or an hf-hub: id)."""
    from cnnzoo.pretrained.timm_config import read_timm

    return read_timm(path_or_id)


READERS: dict[str, Callable[[Path], SourceFile]] = {
    "akamaster": _read_akamaster,
    "kuangliu": _read_kuangliu,
    "state_dict": _read_state_dict,
    "torchvision": _read_torchvision,
    "safetensors": _read_timm,
}


def _found(payload: Any) -> str:
    return f", found keys {_few(list(payload))}" if isinstance(payload, dict) else f", found a {type(payload).__name__}"


def _few(names: list[Any]) -> str:
    shown = ", ".join(map(repr, names[:6]))
    return shown + (f", ... ({len(names)})" if len(names) > 6 else "")


# -------------------------------------------------------------------- names, then the architecture
def renamed(weights: dict[str, torch.Tensor], renames: tuple[tuple[str, str], ...]) -> dict[str, torch.Tensor]:
    """Each tensor under cnnzoo's name: the source's (regex, replacement) pairs applied in order."""
    out = {}
    for name, tensor in weights.items():
        for pattern, replacement in renames:
            name = re.sub(pattern, replacement, name)
        out[name] = tensor
    return out


def expected_tensors(arch: Architecture, num_classes: int) -> dict[str, torch.Tensor]:
    """The state_dict of the cnnzoo model an architecture names, built on the meta device (no memory, no init)."""
    with torch.device("meta"):
        return create_model(arch.model, num_classes=num_classes, in_chans=3, **arch.options).state_dict()


def with_counters(expected: dict[str, torch.Tensor], weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`weights` with BatchNorm counters the model has and the file lacks (old PyTorch) filled with 0."""
    filled = dict(weights)
    for name in expected:
        if name.endswith(COUNTER) and name not in weights and name.removesuffix(COUNTER) + ".running_mean" in weights:
            filled[name] = torch.tensor(0, dtype=torch.long)
    return filled


def match_architecture(
    source: Source, weights: dict[str, torch.Tensor], num_classes: int, requested: str | None, path: Path
) -> tuple[str, Architecture]:
    """The source's network whose cnnzoo model has exactly these tensors (only `requested`'s when given)."""
    names = list(source.architectures)
    if requested is not None:
        by_model = [n for n, a in source.architectures.items() if requested in (n, a.model)]
        if not by_model:
            raise unknown_choice(f"{source.name} network", requested, names)
        names = by_model
    closest: tuple[int, str, list[str]] | None = None
    for name in names:
        expected = expected_tensors(source.architectures[name], num_classes)
        problems = weight_problems(expected, with_counters(expected, weights))
        if not problems:
            return name, source.architectures[name]
        score = len(set(expected) ^ set(weights))
        if closest is None or score < closest[0]:
            closest = (score, name, problems)
    _, name, problems = closest
    if requested is not None:
        what = f"does not match {source.name}'s {name}: "
    else:
        what = f"matches none of {source.name}'s networks ({', '.join(names)}); closest, {name}: "
    raise CnnzooError(
        f"{path} {what}{'; '.join(problems)}. Is it another source's file, or a network cnnzoo does not build? "
        "(`cnnzoo import --help` lists the sources and their networks)"
    )


# -------------------------------------------------------------------- the import
def import_checkpoint(source: str, file: str | Path, *, model: str | None = None) -> dict[str, Any]:
    """A cnnzoo checkpoint payload (model, metadata, config, "imported" record) from another project's file."""
    if source not in SOURCES:
        raise unknown_choice("checkpoint source", source, SOURCES)
    src = SOURCES[source]
    found = READERS[src.layout](Path(file) if not str(file).startswith("hf-hub:") else file)
    classes = list(found.classes or _data_classes(src, found))
    weights = renamed(found.weights, src.renames)
    name, arch = match_architecture(src, weights, len(classes), model or found.architecture, Path(str(file)))
    net = create_model(arch.model, num_classes=len(classes), in_chans=3, **arch.options)
    expected = net.state_dict()
    complete = with_counters(expected, weights)
    net.load_state_dict(complete)  # match_architecture checked every name and shape
    mean, std = tuple(found.mean or src.mean), tuple(found.std or src.std)
    size = found.image_size or (32 if src.data == "cifar10" else 224)
    options = {**arch.options}
    record = {
        "source": src.name,
        "url": src.url,
        "license": found.license or src.license,
        "file": found.path.name,
        "sha256": file_sha256(found.path),
        "architecture": name,
        "claimed_top1": found.claimed_top1 if found.claimed_top1 is not None else arch.claimed_top1,
        "claimed_on": src.claimed_on,
        "mean": list(mean),
        "std": list(std),
        "counters_filled": sum(1 for k in complete if k not in weights),
        "notes": src.notes,
        **found.facts,
    }
    return {
        "model_name": arch.model,
        "model_options": options,
        "classes": classes,
        "mean": list(mean),
        "std": list(std),
        "in_chans": 3,
        "image_size": [size, size],
        "model": net.state_dict(),
        "config": evaluation_config(arch.model, options, src.data, size),
        "imported": record,
    }


def _data_classes(source: Source, found: SourceFile) -> tuple[str, ...]:
    if source.data == "cifar10":
        return CIFAR10_CLASSES
    from cnnzoo.pretrained.torchvision_weights import imagenet_categories

    return imagenet_categories()


def evaluation_config(model: str, options: dict[str, Any], data: str, size: int) -> dict[str, Any]:
    """The config `cnnzoo evaluate` rebuilds the test split from: the source's data, in fp32 as it was measured.

    ImageNet models evaluate on an image folder (`--data-dir`), resized and centre-cropped to their input size.
    """
    config = {"model": model, "model_options": dict(options), "precision": "fp32", "channels_last": False,
              "recipe": None}  # fmt: skip
    if data == "cifar10":
        return {**config, "data": "cifar10"}
    return {**config, "data": "imagefolder", "image_size": size}


def write_imported(payload: dict[str, Any], output: str | Path) -> Path:
    """Write an imported payload as a cnnzoo checkpoint (.pt); the folder is made if needed."""
    output = Path(output)
    if output.suffix != ".pt":
        raise CnnzooError(
            f"--output {output} must name a .pt file (a cnnzoo checkpoint); for a shareable folder run "
            "`cnnzoo save-pretrained` on the .pt afterwards"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(output, payload)
    return output


def load_pretrained(source: str, file: str | Path, *, model: str | None = None, device: str = "cpu"):
    """Another project's checkpoint as a `LoadedModel`, in memory, ready to predict (see `import_checkpoint`)."""
    from cnnzoo.device import resolve_device
    from cnnzoo.predict import LoadedModel, build_model_from_meta
    from cnnzoo.training.checkpoint import model_meta

    payload = import_checkpoint(source, file, model=model)
    net = build_model_from_meta(payload)
    net.load_state_dict(payload["model"])
    path = Path(str(file)) if not str(file).startswith("hf-hub:") else None
    return LoadedModel.from_meta(net.to(resolve_device(device)).eval(), model_meta(payload), payload["config"], path)
