"""A trained model, ready to classify images: `load` a run, checkpoint, model.safetensors or exported file.

`LoadedModel` carries the preprocessing that training used (channels, size, mean and std, or the mean image),
so `predict` on a path, a PIL image, an array or a tensor gives what the model saw in training. Files are told
apart by their content (`file_kind`), not their names: exported ONNX files run through onnxruntime, TorchScript
and ExportedProgram files through torch, each with the preprocessing its metadata records.
"""

from __future__ import annotations

import io
import json
import math
import os
import textwrap
import warnings
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn as nn

from cnnzoo.device import resolve_device
from cnnzoo.errors import CnnzooError
from cnnzoo.models import create_model
from cnnzoo.training.checkpoint import (
    META_KEYS,
    find_checkpoint,
    fit_weights,
    model_meta,
    read_checkpoint,
    read_safetensors,
)

if TYPE_CHECKING:
    from PIL import Image


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
        meta = check_meta(meta, path or "the file")
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

    def __repr__(self) -> str:  # the dataclass's own would print the whole network and every class name
        h, w = self.image_size
        return (
            f"LoadedModel({self.model_name!r}, {len(self.classes)} classes, input {self.in_chans}x{h}x{w}, "
            f"from {self.path})"
        )

    @property
    def stats(self) -> tuple[tuple[float, ...] | torch.Tensor, tuple[float, ...]]:
        """(mean, std) as DataSpec(test_only=True, stats=...) takes them: the mean image where there is one."""
        if self.mean_image is None:
            return self.mean, self.std
        return torch.tensor(self.mean_image, dtype=torch.float32).view(self.in_chans, *self.image_size), self.std

    def preprocess(self, image: Any) -> torch.Tensor:
        """One image → a normalised CxHxW float tensor, made as the training images were.

        An image is a path, the bytes of an image file, a PIL image, an HxW[xC] array (uint8, 16-bit grey, or
        float in [0, 1]) or a CxHxW / HxW tensor (uint8, or float in [0, 1] as torchvision's `to_tensor` gives).
        Each is first made an 8-bit image, as training decoded its files (16-bit grey scaled, floats rounded to
        1/255); colour is converted to the model's channels (grayscale 'L' for 1, 'RGB' for 3) and the image is
        resized to the training size: as training did with `--image-size N` (shorter side to N, centre square),
        otherwise stretched with bilinear filtering. An image without pixels (0 wide or high) is an error.
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

    def predict(self, images: Any, topk: int = 5, *, probs: bool = False) -> list[list[tuple[str, float]]] | np.ndarray:
        """Top-k (class name, probability) for each image, most probable first; with `probs=True` instead an
        N×classes float32 array of every class's probability, its columns in `classes` order.

        `images` is a list of images as `preprocess` takes them. A single path, bytes, PIL image, or array/tensor
        of at most 3 dimensions is one image and gives a one-element list (a 4-D array or tensor is a batch of
        images); an empty list gives [] (or a 0×classes array). An unreadable path is a CnnzooError that names it.
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
        if not batch:
            return np.zeros((0, len(self.classes)), np.float32) if probs else []
        return self.classify(torch.stack(batch), topk, probs=probs)

    @torch.no_grad()
    def classify(
        self, batch: torch.Tensor, topk: int = 5, *, probs: bool = False
    ) -> list[list[tuple[str, float]]] | np.ndarray:
        """Top-k (class name, probability) for a batch that `preprocess` made (N×C×H×W), most probable first;
        with `probs=True` the N×classes array of probabilities."""
        param = next(self.model.parameters(), None)  # an onnxruntime session's module has none
        out = self.model(batch if param is None else batch.to(param.device))
        logits = out[0] if isinstance(out, (tuple, list)) else out
        probabilities = logits.float().softmax(dim=1)
        if probs:
            return probabilities.cpu().numpy()
        k = min(int(topk), probabilities.shape[1])
        values, indices = probabilities.topk(k, dim=1)
        return [
            [(self.classes[i], float(v)) for v, i in zip(vs.tolist(), ids.tolist())] for vs, ids in zip(values, indices)
        ]


def _is_one_image(images: Any) -> bool:
    """Whether `predict` was given one image rather than a list (a string would otherwise be read per character)."""
    from PIL import Image

    if isinstance(images, (str, Path, bytes, bytearray, Image.Image)):
        return True
    return isinstance(images, (np.ndarray, torch.Tensor)) and images.ndim <= 3


def _as_8bit_image(image: Any) -> Image.Image:
    """A path, encoded file bytes, PIL image, array or tensor as an 8-bit PIL image, decoded as training's files are."""
    from PIL import Image

    from cnnzoo.data.datasets import DECODE_ERRORS, open_image, to_8bit

    if isinstance(image, (str, Path, bytes, bytearray)):
        where = f"<{len(image)} bytes>" if isinstance(image, (bytes, bytearray)) else image
        if isinstance(image, (str, Path)) and (reason := not_a_file(Path(image))):
            raise UnreadableImage(image, reason)  # before opening: a FIFO would block the read forever
        try:
            decoded = open_image(io.BytesIO(image) if isinstance(image, (bytes, bytearray)) else str(image))
        except DECODE_ERRORS as err:
            raise UnreadableImage(where, f"{type(err).__name__}: {err}") from None
        if decoded.width < 1 or decoded.height < 1:  # a file is skippable, as any unreadable one
            raise UnreadableImage(where, f"it is {decoded.width}x{decoded.height} pixels, an empty image")
        return decoded
    if isinstance(image, torch.Tensor):  # torch's layout, CxHxW
        image = (image.permute(1, 2, 0) if image.ndim == 3 else image).detach().cpu()
        image = (image.float() if image.is_floating_point() else image).numpy()  # numpy has no bfloat16
    if isinstance(image, np.ndarray):
        image = _array_to_image(image)
    if not isinstance(image, Image.Image):
        raise CnnzooError(
            f"cannot read a {type(image).__name__} as an image; pass a path, the bytes of an image file, a PIL "
            "image, an array or a tensor"
        )
    if image.width < 1 or image.height < 1:  # nothing to classify: resizing it would make up pixels
        raise CnnzooError(
            f"an image is {image.width}x{image.height} pixels, an empty image; pass an image of at least 1x1 pixel"
        )
    return to_8bit(image)


def not_a_file(path: Path) -> str | None:
    """Why `path` cannot be read as a file (no such file, a broken link, a FIFO, ...), or None for a regular file."""
    if path.is_file():
        return None
    if path.is_symlink() and not path.exists():
        return f"a broken symbolic link to {os.readlink(path)}"
    if not path.exists():
        return "no such file"
    kinds = (
        ("is_dir", "a folder"),
        ("is_fifo", "a FIFO (named pipe)"),
        ("is_socket", "a socket"),
        ("is_char_device", "a device"),
        ("is_block_device", "a device"),
    )
    return next((f"{what}, not a file" for test, what in kinds if getattr(path, test)()), "not a regular file")


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


def build_model_from_meta(meta: dict) -> nn.Module:
    """The untrained model that a checkpoint's metadata names, sized for its classes and channels."""
    return create_model(
        meta["model_name"], num_classes=len(meta["classes"]), in_chans=meta["in_chans"], **meta["model_options"]
    )


def check_meta(meta: Any, path: str | Path) -> dict:
    """The model metadata a file carries, checked before anything is built from it; a broken field is one line."""
    problem = _meta_problem(meta)
    if problem:
        raise CnnzooError(
            f"{path} carries broken model metadata: {problem}; load a file that cnnzoo wrote "
            "(a run's checkpoints/best.pt, model.safetensors or an export of them)"
        )
    return meta


def _meta_problem(meta: Any) -> str | None:
    """What is wrong with a file's model metadata (the first problem found), or None."""
    if not isinstance(meta, dict):
        return f"it is a {type(meta).__name__}, not a mapping"
    missing = [key for key in META_KEYS if meta.get(key) is None]
    if missing:
        return "no " + ", ".join(missing)
    channels, size, mean, std = (meta[key] for key in ("in_chans", "image_size", "mean", "std"))
    rules = [
        ("model_name", isinstance(meta["model_name"], str), "a model's name"),
        ("model_options", isinstance(meta["model_options"], dict), "a mapping"),
        ("classes", isinstance(meta["classes"], (list, tuple)) and len(meta["classes"]) > 0, "a list of class names"),
        ("in_chans", _whole(channels), "a positive integer"),
        (
            "image_size",
            isinstance(size, (list, tuple)) and len(size) == 2 and all(map(_whole, size)),
            "two positive integers [height, width]",
        ),
        ("mean", _numbers(mean, channels), "1 or in_chans finite numbers"),
        ("std", _numbers(std, channels) and all(v > 0 for v in std), "1 or in_chans positive numbers"),
    ]
    for key, ok, rule in rules:
        if not ok:
            return textwrap.shorten(f"{key} must be {rule}, got {meta[key]!r}", 200, placeholder=" ...")
    image = meta.get("mean_image")
    if image is not None and not _numbers(image, channels * size[0] * size[1], ones=False):
        return f"mean_image must be in_chans x height x width = {channels * size[0] * size[1]} finite numbers"
    return None


def _numbers(values: Any, count: int, ones: bool = True) -> bool:
    """Whether `values` is a list of `count` finite numbers (or of one, with `ones`: a value for every channel)."""
    return (
        isinstance(values, (list, tuple))
        and (len(values) == count or ones and len(values) == 1)
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
    )


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def load(checkpoint_or_run_dir: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """A trained model: a run directory (its best weights), a .pt checkpoint, a model.safetensors, a file that
    `cnnzoo export` wrote (ONNX, TorchScript, ExportedProgram; the file's content tells which, not its name), a
    pretrained folder (`cnnzoo save-pretrained`) or its `hf-hub:ORG/REPO` id."""
    from cnnzoo.pretrained.format import pretrained_folder, read_pretrained

    device = resolve_device(device)
    folder = pretrained_folder(checkpoint_or_run_dir)
    if folder is not None:
        meta, weights, config = read_pretrained(folder)
        return _loaded(meta, weights, config, folder / "model.safetensors", device)
    path = find_checkpoint(checkpoint_or_run_dir)
    kind = file_kind(path)
    if kind == "unknown":  # damaged or foreign: the reader its name suggests says what is wrong with it
        kind = {".onnx": "onnx", ".safetensors": "safetensors"}.get(path.suffix, "checkpoint")
    if kind in EXPORTED_KINDS:
        return load_exported(path, kind, device)
    if kind == "safetensors":
        meta, weights, config = read_safetensors(path)
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
    return _loaded(meta, weights, config, path, device)


def _loaded(
    meta: dict, weights: dict[str, torch.Tensor], config: dict, path: Path, device: torch.device
) -> LoadedModel:
    """The model the metadata names (checked first), with these weights, in eval mode on `device`."""
    model = build_model_from_meta(check_meta(meta, path))
    fit_weights(model, weights, path, f"model {meta['model_name']!r} that its metadata names")
    return LoadedModel.from_meta(model.to(device).eval(), meta, config, path)


# -------------------------------------------------------------------- what a model file is, by its content
# checkpoint: what torch.save writes (cnnzoo's checkpoints among them); the others are cnnzoo's own formats and
# the files `cnnzoo export` writes; unknown: anything else, a damaged archive included.
FILE_KINDS = ("checkpoint", "safetensors", "onnx", "torchscript", "exported-program", "unknown")
EXPORTED_KINDS = ("onnx", "torchscript", "exported-program")  # files for other runtimes, `cnnzoo export`'s formats
# The field tags that may follow ir_version (field 1) at the start of an ONNX ModelProto: producer_name,
# producer_version, domain, model_version, doc_string, graph, opset_import, metadata_props, and the first byte of
# the two-byte tags (training_info, functions, configuration).
_ONNX_NEXT_TAGS = frozenset(b"\x12\x1a\x22\x28\x32\x3a\x42\x72\xa2\xca\xd2")


def file_kind(path: str | Path) -> str:
    """What a model file is, told by its content, not its name: one of FILE_KINDS.

    For the commands that take a model file (predict, export, evaluate, --init-from), so each can say what it
    was given: an ONNX file given to --init-from is "an exported ONNX file", not "116 tensors are missing".
    Reads a few bytes and, for zip archives, the list of their members; never unpickles anything.
    """
    path = Path(path)
    if not path.is_file():
        return "unknown"
    try:
        with open(path, "rb") as f:
            head = f.read(16)
        size = path.stat().st_size
    except OSError:
        return "unknown"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    if head[:1] == b"\x80":  # a pickle: torch.save's legacy (pre-zip) format
        return "checkpoint"
    header = int.from_bytes(head[:8], "little")
    if len(head) > 8 and head[8:9] == b"{" and 8 + header <= size:  # safetensors: header length, JSON header
        return "safetensors"
    if len(head) > 2 and head[0] == 0x08 and 0 < head[1] < 0x80 and head[2] in _ONNX_NEXT_TAGS:
        return "onnx"  # a protobuf ModelProto: ir_version first, as every ONNX writer puts it
    return "unknown"


def _zip_kind(path: Path) -> str:
    """torch.jit.save, torch.export.save and torch.save all write zips; their members tell them apart."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = {name.split("/", 1)[-1] for name in archive.namelist()}  # without the archive's folder
    except (zipfile.BadZipFile, OSError):
        return "unknown"
    if "archive_format" in members or any(m.startswith("models/") and m.endswith(".json") for m in members):
        return "exported-program"
    if "constants.pkl" in members or any(m.startswith("code/") for m in members):
        return "torchscript"
    return "checkpoint" if "data.pkl" in members else "unknown"


def describe_kind(kind: str) -> str:
    """'an exported ONNX file': a file kind in words, for messages."""
    return {
        "checkpoint": "a torch checkpoint", "safetensors": "a safetensors file", "onnx": "an exported ONNX file",
        "torchscript": "an exported TorchScript file", "exported-program": "an exported torch.export program",
    }.get(kind, "a file of unknown kind")  # fmt: skip


# -------------------------------------------------------------------- exported files, read back
def run_exported(path: str | Path, format: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function from an NCHW float batch to the logits that the exported file computes (on the CPU)."""
    path = Path(path)
    if format == "onnx":
        return OnnxRuntimeModule(_onnx_session(path, "cpu"))
    return _read_torch_export(path, format, {})


def read_metadata(path: str | Path, format: str) -> dict[str, Any]:
    """The preprocessing an exported file carries: {"cnnzoo": model metadata, "config": {"image_size": ...}}."""
    path = Path(path)
    if format == "onnx":
        onnx = require_optional("onnx")
        strings = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    else:
        strings = dict.fromkeys(("cnnzoo", "config"), "")
        _read_torch_export(path, format, strings)
    return _parsed_metadata(path, strings)


def _parsed_metadata(path: Path, strings: dict[str, str]) -> dict[str, Any]:
    """The metadata strings of an exported file as JSON; text that is not JSON is a one-line error."""
    try:
        return {key: json.loads(strings[key]) for key in ("cnnzoo", "config") if strings.get(key)}
    except ValueError:
        raise CnnzooError(f"{path} carries cnnzoo metadata that is not JSON; export it again") from None


def _read_torch_export(
    path: Path, format: str, extra_files: dict[str, str], device: torch.device | str = "cpu"
) -> nn.Module:
    """The module of a TorchScript or ExportedProgram file; `extra_files` is filled with the file's metadata."""
    try:
        with warnings.catch_warnings(), open(path, "rb") as f:  # a file object: torch.export warns about names
            warnings.simplefilter("ignore")  # torch.jit's deprecation
            if format == "torchscript":
                return torch.jit.load(f, map_location=device, _extra_files=extra_files)
            return torch.export.load(f, extra_files=extra_files).module().to(device)
    except Exception as err:  # a damaged archive, a newer format: torch's messages run to paragraphs
        reason = textwrap.shorten(str(err), 150, placeholder=" ...")
        raise CnnzooError(
            f"cannot read {path} as {describe_kind(format)} ({type(err).__name__}: {reason}); "
            "export it again with `cnnzoo export`"
        ) from None


def load_exported(path: str | Path, kind: str, device: str | torch.device = "cpu") -> LoadedModel:
    """A file that `cnnzoo export` wrote (ONNX, TorchScript or ExportedProgram), with its metadata's preprocessing."""
    path, device = Path(path), resolve_device(device)
    if kind == "onnx":
        module, meta = OnnxRuntimeModule(_onnx_session(path, device)), read_metadata(path, kind)
    else:
        strings = dict.fromkeys(("cnnzoo", "config"), "")
        module = _read_torch_export(path, kind, strings, device)
        meta = _parsed_metadata(path, strings)
        if kind == "exported-program":
            module = FixedBatchModule(module, _exported_batch(module))
    if "cnnzoo" not in meta:
        raise CnnzooError(f"{path} carries no cnnzoo metadata (classes, mean, std); export it with `cnnzoo export`")
    return LoadedModel.from_meta(module.eval(), meta["cnnzoo"], meta.get("config", {}), path)


def _exported_batch(module: nn.Module) -> int | None:
    """The batch size an ExportedProgram was exported for (None: any, --dynamic-batch)."""
    graph = getattr(module, "graph", None)
    first = next((n for n in graph.nodes if n.op == "placeholder"), None) if graph is not None else None
    value = first.meta.get("val") if first is not None else None
    batch = value.shape[0] if value is not None and value.dim() else None
    return batch if isinstance(batch, int) else None


def in_pieces(batch: torch.Tensor, size: int | None, run: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """`run` on pieces of exactly `size` images (a file exported for a fixed batch), the last one padded with
    zeros; `size` None runs the whole batch at once."""
    if size is None or len(batch) == size:
        return run(batch)
    parts = []
    for start in range(0, len(batch), size):
        part = batch[start : start + size]
        padded = torch.cat([part, part.new_zeros(size - len(part), *part.shape[1:])])
        parts.append(run(padded)[: len(part)])
    return torch.cat(parts)


class FixedBatchModule(nn.Module):
    """An ExportedProgram's module (exported in eval mode, for batches of one fixed size) run on any batch."""

    def __init__(self, module: nn.Module, fixed_batch: int | None) -> None:
        super().__init__()
        self.module, self.fixed_batch = module, fixed_batch

    def train(self, mode: bool = True) -> FixedBatchModule:
        self.training = mode  # the program's mode was fixed when it was exported (it refuses train() and eval())
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return in_pieces(x, self.fixed_batch, self.module)


class OnnxRuntimeModule(nn.Module):
    """An onnxruntime session as a module, so an ONNX file classifies through `LoadedModel` like a checkpoint.

    A file exported without --dynamic-batch takes batches of one fixed size: larger batches are run in
    pieces of that size, the last one padded.
    """

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session
        first = session.get_inputs()[0]
        self.input_name = first.name
        self.fixed_batch = first.shape[0] if isinstance(first.shape[0], int) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        def run(batch: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(self.session.run(None, {self.input_name: batch.numpy()})[0])

        return in_pieces(x.detach().cpu().float(), self.fixed_batch, run)


def _onnx_session(path: Path, device: str | torch.device) -> Any:
    ort = require_optional("onnxruntime")
    device = resolve_device(device)
    provider = "CUDAExecutionProvider" if device.type == "cuda" else "CPUExecutionProvider"
    if provider not in ort.get_available_providers():
        raise CnnzooError(f"this onnxruntime cannot run on {device}; use --device cpu, or install onnxruntime-gpu")
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: its graph-optimisation notes are not for the user
    try:
        return ort.InferenceSession(str(path), options, providers=[provider])
    except Exception as err:
        reason = textwrap.shorten(str(err), 200, placeholder=" ...")
        raise CnnzooError(f"onnxruntime cannot load {path} ({reason}); is it an ONNX file?") from None


def require_optional(*names: str) -> Any:
    """Import the optional packages ONNX needs; missing ones are a one-line error saying how to install them."""
    import importlib

    modules = []
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            raise CnnzooError(
                f"ONNX files need the {name} package; install it with: pip install 'cnnzoo[export]'"
            ) from None
    return modules[0]
