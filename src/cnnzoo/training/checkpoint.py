"""Checkpoints: a run's state written atomically and read back with `weights_only=True`.

A checkpoint is a dict of plain data and tensors (config, classes, mean/std as dicts/lists/numbers, RNG
states as tensors), so `torch.load(weights_only=True)` reads it without unpickling arbitrary objects.
Writes go through `cnnzoo.io.atomic_write`: a crash at any point leaves either the old or the new file.
Turning a checkpoint into a model that classifies images is `cnnzoo.predict`'s part.
"""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from cnnzoo.errors import CnnzooError
from cnnzoo.io import atomic_write

FORMAT = "cnnzoo-checkpoint"
VERSION = 1


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """Write a checkpoint dict atomically, tagged with the format and version."""
    payload = {"format": FORMAT, "version": VERSION, **payload}
    atomic_write(path, lambda f: torch.save(payload, f))


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint safely; a missing, truncated or foreign file is a one-line CnnzooError."""
    path = Path(path)
    if not path.is_file():
        raise CnnzooError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # truncated zip, pickle of foreign objects, not a torch file at all
        raise CnnzooError(
            f"cannot read checkpoint {path}: {unreadable_reason(path, err)}; it is truncated or not a cnnzoo "
            "checkpoint (a run's checkpoints/last.pt and best.pt are)"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CnnzooError(f"{path} is not a cnnzoo checkpoint (a torch file without cnnzoo's format tag)")
    if payload.get("version") != VERSION:
        raise CnnzooError(f"{path} is cnnzoo checkpoint version {payload.get('version')}; this cnnzoo reads {VERSION}")
    return payload


def unreadable_reason(path: Path, err: Exception) -> str:
    """Why torch.load failed, as a complete phrase (torch's own messages run to paragraphs)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as os_err:
        return os_err.strerror or "the file cannot be opened"
    if not head:
        return "the file is empty"
    if isinstance(err, pickle.UnpicklingError) and head[:1] in (b"\x80", b"P"):  # a pickle, bare or zipped
        return "it holds Python objects that weights-only loading refuses to unpickle (loading them could run code)"
    if head == b"PK\x03\x04":
        return "its zip archive is incomplete or damaged"
    return "it is not a file torch.save wrote"


def find_checkpoint(checkpoint_or_run_dir: str | Path, prefer: str = "best") -> Path:
    """A .pt path as given; a run directory gives checkpoints/best.pt (or last.pt)."""
    path = Path(checkpoint_or_run_dir)
    if path.is_dir():
        order = ("best.pt", "last.pt") if prefer == "best" else ("last.pt", "best.pt")
        for name in order:
            if (path / "checkpoints" / name).is_file():
                return path / "checkpoints" / name
        raise CnnzooError(f"{path} holds no checkpoints/best.pt or last.pt; is it a cnnzoo run directory?")
    if not path.exists():
        raise CnnzooError(f"no checkpoint or run directory at {path}")
    return path


# -------------------------------------------------------------------- RNG states as tensors
def rng_state() -> dict:
    """Every RNG a run draws from, as tensors and ints (readable with weights_only=True)."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": {"version": py_state[0], "state": torch.tensor(py_state[1], dtype=torch.int64), "gauss": py_state[2]},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what `rng_state` saved."""
    torch.set_rng_state(state["torch"].cpu())
    n = state["numpy"]
    np.random.set_state(
        ("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
    )
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


META_KEYS = ("model_name", "model_options", "classes", "mean", "std", "in_chans", "image_size")
OPTIONAL_META_KEYS = ("mean_image",)  # only in runs trained with normalize="pixel"; older files lack them


def model_meta(payload: dict) -> dict:
    """The part of a checkpoint that rebuilds the model (also stored as safetensors metadata)."""
    meta = {key: payload[key] for key in META_KEYS}
    meta.update({key: payload[key] for key in OPTIONAL_META_KEYS if payload.get(key) is not None})
    return meta


def flat_mean_image(image: torch.Tensor) -> list[float]:
    """A C×H×W mean image as a flat list for JSON metadata, each float32 in its shortest exact decimal form."""
    return [float(str(value)) for value in image.to(torch.float32).flatten().numpy()]


def weight_problems(expected: dict[str, torch.Tensor], weights: dict[str, torch.Tensor]) -> list[str]:
    """How `weights` fail to fit a model whose state_dict is `expected`: missing, unexpected, mis-shaped (counts, first)."""
    missing = [k for k in expected if k not in weights]
    unexpected = [k for k in weights if k not in expected]
    shapes = [
        f"{k} is {list(weights[k].shape)} in the file but {list(v.shape)} in the model"
        for k, v in expected.items()
        if k in weights and tuple(weights[k].shape) != tuple(v.shape)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} of the model's tensors are missing (first: {missing[0]})")
    if unexpected:
        problems.append(f"{len(unexpected)} tensors are not the model's (first: {unexpected[0]})")
    if shapes:
        problems.append(f"{len(shapes)} differ in shape (first: {shapes[0]})")
    return problems


def fit_weights(model: nn.Module, weights: dict[str, torch.Tensor], source: str | Path, target: str) -> None:
    """Load `weights` into `model`; weights that do not fit are one line saying how (counts, first mismatch)."""
    problems = weight_problems(model.state_dict(), weights)
    if problems:
        raise CnnzooError(
            f"the weights in {source} do not fit {target}: {'; '.join(problems)}. "
            "Were they saved for another model, other model options or another number of classes?"
        )
    model.load_state_dict(weights)


def save_safetensors(path: str | Path, state_dict: dict[str, torch.Tensor], meta: dict, config: dict) -> None:
    """Weights as safetensors with the model's metadata (JSON strings), written atomically."""
    from safetensors.torch import save

    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state_dict.items()}
    metadata = {"cnnzoo": json.dumps(meta), "config": json.dumps(config)}
    data = save(tensors, metadata=metadata)
    atomic_write(path, lambda f: f.write(data))


def read_safetensors(path: Path) -> tuple[dict, dict, dict]:
    """(model metadata, weights, config) of a model.safetensors that cnnzoo wrote."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        weights = load_file(str(path))
        meta = json.loads(metadata["cnnzoo"])
    except Exception as err:
        raise CnnzooError(
            f"cannot read {path}: truncated or not a cnnzoo safetensors file ({type(err).__name__})"
        ) from None
    return meta, weights, json.loads(metadata.get("config", "{}"))
