"""timm's Hub layout, read: model.safetensors and the config.json beside it (architecture, pretrained_cfg, labels).

    {"architecture": "resnet18", "num_classes": 1000, "label_names": [...],
     "pretrained_cfg": {"tag": "a1_in1k", "input_size": [3, 224, 224], "mean": [...], "std": [...], "license": ...}}

config.json is optional: without it the classes are ImageNet-1K's and the normalisation ImageNet's, and the
network is whichever of the source's matches the tensors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cnnzoo.errors import CnnzooError
from cnnzoo.pretrained.hub import is_hub_id


def read_timm(path_or_id: str | Path):
    """A `SourceFile` of timm's layout: a model.safetensors, the folder holding it, or an hf-hub: id."""
    from cnnzoo.pretrained.files import SourceFile

    weights_path, config = _locate(path_or_id)
    found = SourceFile(weights_path, _read_safetensors(weights_path))
    if config is None:
        return found
    pretrained = config.get("pretrained_cfg") or {}
    if "architecture" not in config:
        raise CnnzooError(
            f"the config.json beside {weights_path} is not timm's (no 'architecture'); a folder that "
            "`cnnzoo save-pretrained` wrote loads directly with cnnzoo.load(FOLDER)"
        )
    found.architecture = str(config["architecture"]).split(".")[0]
    labels = config.get("label_names")
    num_classes = int(config.get("num_classes") or pretrained.get("num_classes") or 0)
    if labels and len(labels) == num_classes:
        found.classes = [str(label) for label in labels]
    elif num_classes and num_classes != 1000:
        found.classes = [f"class_{i}" for i in range(num_classes)]  # the file names none
    found.mean = _triple(pretrained.get("mean"))
    found.std = _triple(pretrained.get("std"))
    size = pretrained.get("input_size")
    found.image_size = int(size[-1]) if isinstance(size, list) and size else None
    found.license = pretrained.get("license") or config.get("license")
    found.facts = {"timm_architecture": str(config["architecture"]), "tag": pretrained.get("tag")}
    return found


def _locate(path_or_id: str | Path) -> tuple[Path, dict[str, Any] | None]:
    """The safetensors file and the parsed config.json beside it (None when there is none)."""
    if is_hub_id(str(path_or_id)):
        from cnnzoo.pretrained.hub import hub_snapshot

        path = hub_snapshot(str(path_or_id), ["config.json", "model.safetensors"])
    else:
        path = Path(path_or_id)
    if path.is_dir():
        path = path / "model.safetensors"
    if not path.is_file():
        raise CnnzooError(f"no model.safetensors at {path}")
    config_path = path.parent / "config.json"
    if not config_path.is_file():
        return path, None
    try:
        return path, json.loads(config_path.read_text())
    except (OSError, ValueError) as err:
        raise CnnzooError(f"cannot read {config_path} as JSON ({type(err).__name__})") from None


def _read_safetensors(path: Path) -> dict:
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as err:
        raise CnnzooError(f"cannot read {path}: not a complete safetensors file ({type(err).__name__})") from None


def _triple(values: Any) -> tuple[float, ...] | None:
    return tuple(float(v) for v in values) if isinstance(values, (list, tuple)) and values else None
