"""Checkpoints: written atomically, read with `weights_only=True`, loaded back into a ready-to-use model.

A checkpoint is a dict of plain data and tensors (config, classes, mean/std as dicts/lists/numbers, RNG
states as tensors), so `torch.load(weights_only=True)` reads it without unpickling arbitrary objects.
Writing goes to a temporary file in the same directory, is flushed and fsynced, then `os.replace`d over
the old file and the directory is fsynced: a crash at any point leaves either the old or the new file.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import random
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn as nn

from cnnzoo.device import resolve_device
from cnnzoo.errors import CnnzooError
from cnnzoo.io import plain_file_mode

if TYPE_CHECKING:
    from PIL import Image

FORMAT = "cnnzoo-checkpoint"
VERSION = 1


# -------------------------------------------------------------------- atomic writes
def atomic_write(path: str | Path, write: Callable[[Any], None]) -> None:
    """Call `write(file)` on a temporary file next to `path`, then move it into place durably.

    The file gets the mode a plain `open` would give (0666 less the umask), not mkstemp's 0600. A failed
    write (a full disk) leaves the old file as it was and raises an OSError that names `path`, even when
    the writer (torch.save) wrapped the OS error in a RuntimeError.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.chmod(tmp, plain_file_mode())  # by path: os.fchmod exists on Windows only from Python 3.13
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        cause = os_error(err)
        if cause is not None and isinstance(err, Exception):
            raise OSError(cause.errno, cause.strerror or os.strerror(cause.errno or 0), str(path)) from err
        raise
    _fsync_dir(path.parent)


def os_error(err: BaseException) -> OSError | None:
    """The OSError behind `err` (itself, or what it was raised from or during), if any."""
    for _ in range(8):  # a chain is short; the bound guards against a cycle
        if err is None:
            break
        if isinstance(err, OSError) and err.errno is not None:
            return err
        err = err.__cause__ or err.__context__
    return None


def write_error_message(err: OSError) -> str:
    """'no space left on device while writing PATH': an OSError of a write, for people."""
    reason = "no space left on device" if err.errno == errno.ENOSPC else (err.strerror or str(err)).lower()
    return f"{reason} while writing {err.filename}" if err.filename else reason


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); directories cannot be opened this way on Windows."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
            f"cannot read checkpoint {path}: {_unreadable_reason(path, err)}; it is truncated or not a cnnzoo "
            "checkpoint (a run's checkpoints/last.pt and best.pt are)"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CnnzooError(f"{path} is not a cnnzoo checkpoint (a torch file without cnnzoo's format tag)")
    if payload.get("version") != VERSION:
        raise CnnzooError(f"{path} is cnnzoo checkpoint version {payload.get('version')}; this cnnzoo reads {VERSION}")
    return payload


def _unreadable_reason(path: Path, err: Exception) -> str:
    """Why torch.load failed, as a complete phrase (torch's own messages run to paragraphs)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as os_err:
        return os_err.strerror or "the file cannot be opened"
    if not head:
        return "the file is empty"
    if head == b"PK\x03\x04":
        return "its zip archive is incomplete or damaged"
    if isinstance(err, pickle.UnpicklingError) and head[:1] == b"\x80":
        return "it holds Python objects, which weights-only loading refuses to unpickle"
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


# -------------------------------------------------------------------- loading a trained model
class UnreadableImage(CnnzooError):
    """An image file that cannot be decoded; `cnnzoo predict` skips these unless --strict."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"cannot read image {path} ({reason})")
        self.path, self.reason = path, reason


@dataclass
class LoadedModel:
    """A trained model in eval mode with what it needs to classify new images."""

    model: nn.Module
    classes: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    in_chans: int
    image_size: tuple[int, int]
    model_name: str
    model_options: dict
    config: dict = field(default_factory=dict)
    path: Path | None = None
    mean_image: list[float] | None = None  # normalize="pixel": the C×H×W mean image, flat (std is then ones)

    @classmethod
    def from_meta(cls, model: nn.Module, meta: dict, config: dict, path: Path | None = None) -> LoadedModel:
        """A LoadedModel of a ready model and the metadata a checkpoint or an exported file carries."""
        size = meta["image_size"]
        return cls(
            model=model,
            classes=list(meta["classes"]),
            mean=tuple(meta["mean"]),
            std=tuple(meta["std"]),
            in_chans=int(meta["in_chans"]),
            image_size=(int(size[0]), int(size[1])),
            model_name=meta["model_name"],
            model_options=dict(meta["model_options"]),
            config=dict(config),
            path=path,
            mean_image=list(meta["mean_image"]) if meta.get("mean_image") is not None else None,
        )

    @property
    def stats(self) -> tuple[tuple[float, ...] | torch.Tensor, tuple[float, ...]]:
        """(mean, std) as DataSpec(test_only=True, stats=...) takes them: the mean image where there is one."""
        if self.mean_image is None:
            return self.mean, self.std
        return torch.tensor(self.mean_image, dtype=torch.float32).view(self.in_chans, *self.image_size), self.std

    def preprocess(self, image: Any) -> torch.Tensor:
        """One image → a normalised CxHxW float tensor, made as the training images were.

        An image is a path, a PIL image, an HxW[xC] array (uint8, 16-bit grey, or float in [0, 1]) or a
        CxHxW / HxW tensor (uint8, or float in [0, 1] as torchvision's `to_tensor` gives). Each is first made
        an 8-bit image, as training decoded its files (16-bit grey scaled, floats rounded to 1/255); colour is
        converted to the model's channels (grayscale 'L' for 1, 'RGB' for 3) and the image is resized to the
        training size: as training did with `--image-size N` (shorter side to N, centre square), otherwise
        stretched with bilinear filtering.
        """
        from PIL import Image

        from cnnzoo.data.datasets import square_crop

        image = _as_8bit_image(image)
        mode = "L" if self.in_chans == 1 else "RGB"
        image = image.convert(mode)
        height, width = self.image_size
        if self.config.get("image_size") and image.size != (width, height):
            image = square_crop(image, int(self.config["image_size"]))
        if image.size != (width, height):
            image = image.resize((width, height), Image.BILINEAR)
        array = np.asarray(image, dtype=np.float32) / 255.0
        if array.ndim == 2:
            array = array[:, :, None]
        x = torch.from_numpy(array.copy()).permute(2, 0, 1)
        if x.shape[0] != self.in_chans:  # e.g. a model trained on 2-channel data: repeat the gray channel
            x = x[:1].expand(self.in_chans, -1, -1)
        mean, std = self.stats
        mean = torch.as_tensor(mean, dtype=torch.float32)
        mean = mean if mean.dim() == 3 else mean[:, None, None]
        return (x - mean) / torch.tensor(std, dtype=torch.float32)[:, None, None]

    def predict(self, images: Any, topk: int = 5) -> list[list[tuple[str, float]]]:
        """Top-k (class name, probability) for each image, most probable first.

        `images` is a list of images as `preprocess` takes them. A single path, PIL image, or array/tensor of
        at most 3 dimensions is one image and gives a one-element list (a 4-D array or tensor is a batch of
        images); an empty list gives []. An unreadable path is a CnnzooError that names it.
        """
        if isinstance(topk, bool) or not isinstance(topk, (int, np.integer)) or topk < 1:
            raise CnnzooError(f"topk must be a positive integer, got {topk!r}")
        if _is_one_image(images):
            images = [images]
        elif not isinstance(images, Iterable):
            raise CnnzooError(
                f"cannot predict a {type(images).__name__}; pass an image (a path, PIL image, array or tensor) "
                f"or a list of them"
            )
        batch = [self.preprocess(image) for image in images]
        return self.classify(torch.stack(batch), topk) if batch else []

    @torch.no_grad()
    def classify(self, batch: torch.Tensor, topk: int = 5) -> list[list[tuple[str, float]]]:
        """Top-k (class name, probability) for a batch that `preprocess` made (N×C×H×W), most probable first."""
        param = next(self.model.parameters(), None)  # an onnxruntime session's module has none
        out = self.model(batch if param is None else batch.to(param.device))
        logits = out[0] if isinstance(out, (tuple, list)) else out
        probs = logits.float().softmax(dim=1)
        k = min(int(topk), probs.shape[1])
        values, indices = probs.topk(k, dim=1)
        return [
            [(self.classes[i], float(v)) for v, i in zip(vs.tolist(), ids.tolist())] for vs, ids in zip(values, indices)
        ]


def _is_one_image(images: Any) -> bool:
    """Whether `predict` was given one image rather than a list (a string would otherwise be read per character)."""
    from PIL import Image

    if isinstance(images, (str, Path, Image.Image)):
        return True
    return isinstance(images, (np.ndarray, torch.Tensor)) and images.ndim <= 3


def _as_8bit_image(image: Any) -> Image.Image:
    """A path, PIL image, array or tensor as an 8-bit PIL image, decoded and scaled as training's files are."""
    from PIL import Image

    from cnnzoo.data.datasets import DECODE_ERRORS, open_image, to_8bit

    if isinstance(image, (str, Path)):
        try:
            return open_image(str(image))
        except DECODE_ERRORS as err:
            raise UnreadableImage(image, f"{type(err).__name__}: {err}") from None
    if isinstance(image, torch.Tensor):  # torch's layout, CxHxW
        image = (image.permute(1, 2, 0) if image.ndim == 3 else image).detach().cpu()
        image = (image.float() if image.is_floating_point() else image).numpy()  # numpy has no bfloat16
    if isinstance(image, np.ndarray):
        image = _array_to_image(image)
    if not isinstance(image, Image.Image):
        raise CnnzooError(
            f"cannot read a {type(image).__name__} as an image; pass a path, a PIL image, an array or a tensor"
        )
    return to_8bit(image)


def _array_to_image(array: np.ndarray) -> Image.Image:
    """An HxW[xC] array as a PIL image; floats must lie in [0, 1] and are rounded to 8 bits."""
    from PIL import Image

    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype.kind == "f":
        low, high = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)
        if not 0 <= low <= high <= 1:  # also catches NaN
            raise CnnzooError(
                f"a float image must hold values in [0, 1] (as torchvision's to_tensor gives), got {low:.3g} to "
                f"{high:.3g}; pass pixels before normalisation, or uint8 pixels"
            )
        array = np.rint(array * 255).astype(np.uint8)
    try:
        return Image.fromarray(np.ascontiguousarray(array))
    except (TypeError, ValueError):
        raise CnnzooError(
            f"cannot read an array of shape {array.shape} and dtype {array.dtype} as an image; pass HxW or HxWxC "
            f"(C = 3 or 4) uint8 pixels, or a CxHxW tensor"
        ) from None

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


def fit_weights(model: nn.Module, weights: dict[str, torch.Tensor], source: str | Path, target: str) -> None:
    """Load `weights` into `model`; weights that do not fit are one line saying how (counts, first mismatch)."""
    expected = model.state_dict()
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
    if problems:
        raise CnnzooError(
            f"the weights in {source} do not fit {target}: {'; '.join(problems)}. "
            "Were they saved for another model, other model options or another number of classes?"
        )
    model.load_state_dict(weights)


def build_model_from_meta(meta: dict) -> nn.Module:
    from cnnzoo.models import create_model

    return create_model(
        meta["model_name"], num_classes=len(meta["classes"]), in_chans=meta["in_chans"], **meta["model_options"]
    )


def load(checkpoint_or_run_dir: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """A trained model: a run directory (its best weights), a .pt checkpoint, a model.safetensors or an exported .onnx."""
    device = resolve_device(device)
    path = find_checkpoint(checkpoint_or_run_dir)
    if path.suffix == ".onnx":  # an exported file: onnxruntime runs it
        from cnnzoo.export import load_onnx

        return load_onnx(path, device)
    if path.suffix == ".safetensors":
        meta, weights, config = _read_safetensors(path)
    else:
        payload = read_checkpoint(path)
        ema = payload.get("eval_weights") == "ema"
        holder = payload.get("ema") if ema else payload
        weights = holder.get("module" if ema else "model") if isinstance(holder, dict) else None
        missing = [k for k in META_KEYS if payload.get(k) is None]
        missing += [] if isinstance(weights, dict) else ["its EMA weights" if ema else "model weights"]
        if missing:
            raise CnnzooError(
                f"{path} is a cnnzoo checkpoint without {', '.join(missing)}, so no model can be built from it; "
                "load a run's checkpoints/best.pt or last.pt, or its model.safetensors"
            )
        meta, config = model_meta(payload), payload.get("config", {})
    model = build_model_from_meta(meta)
    fit_weights(model, weights, path, f"model {meta['model_name']!r} that its metadata names")
    return LoadedModel.from_meta(model.to(device).eval(), meta, config, path)


def save_safetensors(path: str | Path, state_dict: dict[str, torch.Tensor], meta: dict, config: dict) -> None:
    """Weights as safetensors with the model's metadata (JSON strings), written atomically."""
    from safetensors.torch import save

    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state_dict.items()}
    metadata = {"cnnzoo": json.dumps(meta), "config": json.dumps(config)}
    data = save(tensors, metadata=metadata)
    atomic_write(path, lambda f: f.write(data))


def _read_safetensors(path: Path) -> tuple[dict, dict, dict]:
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
