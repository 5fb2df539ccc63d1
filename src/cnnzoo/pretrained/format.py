"""Reading a pretrained folder (`cnnzoo save-pretrained`'s config.json + model.safetensors), local or hf-hub:.

The reading side alone, so that `cnnzoo.load` can read folders without the writing side (which loads runs).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from cnnzoo.errors import CnnzooError
from cnnzoo.pretrained.hub import hub_snapshot, is_hub_id
from cnnzoo.training.checkpoint import META_KEYS, OPTIONAL_META_KEYS

FORMAT = "cnnzoo-pretrained"
VERSION = 1


def is_pretrained_folder(path: str | Path) -> bool:
    """Whether `path` is a folder `save_pretrained` wrote (config.json with cnnzoo's format tag)."""
    config = Path(path) / "config.json"
    if not config.is_file():
        return False
    return (read_json(config) or {}).get("format") == FORMAT


def pretrained_folder(path_or_id: str | Path) -> Path | None:
    """The local pretrained folder that `path_or_id` names (an hf-hub: id is fetched), or None for other paths."""
    if is_hub_id(path_or_id):
        folder = hub_snapshot(str(path_or_id))
        if not is_pretrained_folder(folder):
            raise CnnzooError(f"{path_or_id} holds no cnnzoo config.json; a timm repository imports with: "
                              f"cnnzoo import timm {path_or_id} --output MODEL.pt")  # fmt: skip
        return folder
    path = Path(path_or_id)
    if not path.is_dir() or (path / "checkpoints").is_dir():
        return None
    if is_pretrained_folder(path):
        return path
    if (path / "config.json").is_file() and (path / "model.safetensors").is_file():
        raise CnnzooError(f"{path} holds a config.json that is not cnnzoo's (timm's layout?); import it with: "
                          f"cnnzoo import timm {path} --output MODEL.pt")  # fmt: skip
    return None


def read_pretrained(folder: str | Path) -> tuple[dict, dict[str, torch.Tensor], dict]:
    """(model metadata, weights, training config) of a pretrained folder; a broken one is a one-line error."""
    from safetensors.torch import load_file

    folder = Path(folder)
    description = read_json(folder / "config.json")
    if description is None or description.get("format") != FORMAT:
        raise CnnzooError(f"{folder} holds no cnnzoo config.json; is it a folder that `cnnzoo save-pretrained` wrote?")
    if description.get("version") != VERSION:
        raise CnnzooError(
            f"{folder} is pretrained-folder version {description.get('version')}; this cnnzoo reads {VERSION}"
        )
    missing = [key for key in META_KEYS if description.get(key) is None]
    if missing:
        raise CnnzooError(
            f"{folder}/config.json lacks {', '.join(missing)}; write the folder again with save-pretrained"
        )
    try:
        weights = load_file(str(folder / "model.safetensors"))
    except Exception as err:
        raise CnnzooError(
            f"cannot read {folder / 'model.safetensors'} ({type(err).__name__}): missing or truncated"
        ) from None
    meta = {key: description[key] for key in (*META_KEYS, *OPTIONAL_META_KEYS) if description.get(key) is not None}
    return meta, weights, dict(description.get("train_config") or {})


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
