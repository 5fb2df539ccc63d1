"""A trained model, ready to classify images: `load` a run, checkpoint, model.safetensors or exported file.

`LoadedModel` carries the preprocessing that training used (channels, size, mean and std, or the mean image),
so `predict` on a path, a PIL image, an array or a tensor gives what the model saw in training. Exported ONNX
files run through onnxruntime with the preprocessing their metadata records.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch
import torch.nn as nn

from cnnzoo.device import resolve_device
from cnnzoo.errors import CnnzooError
from cnnzoo.models import create_model
from cnnzoo.training.checkpoint import META_KEYS, find_checkpoint, fit_weights, model_meta, read_checkpoint, read_safetensors

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
        return (f"LoadedModel({self.model_name!r}, {len(self.classes)} classes, input {self.in_chans}x{h}x{w}, "
                f"from {self.path})")

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

    def predict(self, images: Any, topk: int = 5, *, probs: bool = False) -> list[list[tuple[str, float]]] | np.ndarray:
        """Top-k (class name, probability) for each image, most probable first; with `probs=True` instead an
        N×classes float32 array of every class's probability, its columns in `classes` order.

        `images` is a list of images as `preprocess` takes them. A single path, PIL image, or array/tensor of
        at most 3 dimensions is one image and gives a one-element list (a 4-D array or tensor is a batch of
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
    def classify(self, batch: torch.Tensor, topk: int = 5, *, probs: bool = False) -> list[list[tuple[str, float]]] | np.ndarray:
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


def build_model_from_meta(meta: dict) -> nn.Module:
    """The untrained model that a checkpoint's metadata names, sized for its classes and channels."""
    return create_model(
        meta["model_name"], num_classes=len(meta["classes"]), in_chans=meta["in_chans"], **meta["model_options"]
    )


def load(checkpoint_or_run_dir: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """A trained model: a run directory (its best weights), a .pt checkpoint, a model.safetensors, an exported
    .onnx, a pretrained folder (`cnnzoo save-pretrained`) or its `hf-hub:ORG/REPO` id."""
    from cnnzoo.pretrained.format import pretrained_folder, read_pretrained

    device = resolve_device(device)
    folder = pretrained_folder(checkpoint_or_run_dir)
    if folder is not None:
        meta, weights, config = read_pretrained(folder)
        return _loaded(meta, weights, config, folder / "model.safetensors", device)
    path = find_checkpoint(checkpoint_or_run_dir)
    if path.suffix == ".onnx":  # an exported file: onnxruntime runs it
        return load_onnx(path, device)
    if path.suffix == ".safetensors":
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


def _loaded(meta: dict, weights: dict[str, torch.Tensor], config: dict, path: Path, device: torch.device) -> LoadedModel:
    """The model the metadata names, with these weights, in eval mode on `device`."""
    model = build_model_from_meta(meta)
    fit_weights(model, weights, path, f"model {meta['model_name']!r} that its metadata names")
    return LoadedModel.from_meta(model.to(device).eval(), meta, config, path)


# -------------------------------------------------------------------- exported files, read back
def run_exported(path: str | Path, format: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function from an NCHW float batch to the logits that the exported file computes (on the CPU)."""
    path = Path(path)
    if format == "onnx":
        return OnnxRuntimeModule(_onnx_session(path, "cpu"))
    if format == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit's deprecation
            return torch.jit.load(str(path), map_location="cpu")
    with open(path, "rb") as f:  # a file object: torch.export.load warns about names not ending in .pt2
        return torch.export.load(f).module()


def read_metadata(path: str | Path, format: str) -> dict[str, Any]:
    """The preprocessing an exported file carries: {"cnnzoo": model metadata, "config": {"image_size": ...}}."""
    path = Path(path)
    if format == "onnx":
        onnx = require_optional("onnx")
        strings = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    else:
        strings = dict.fromkeys(("cnnzoo", "config"), "")
        with warnings.catch_warnings(), open(path, "rb") as f:
            warnings.simplefilter("ignore")  # torch.jit's deprecation
            if format == "torchscript":
                torch.jit.load(f, map_location="cpu", _extra_files=strings)
            else:
                torch.export.load(f, extra_files=strings)
    return {key: json.loads(strings[key]) for key in ("cnnzoo", "config") if strings.get(key)}


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
        array = x.detach().cpu().float().numpy()
        step = self.fixed_batch or max(len(array), 1)
        parts = []
        for start in range(0, len(array), step):
            part = array[start : start + step]
            padded = np.concatenate([part, np.zeros((step - len(part), *part.shape[1:]), part.dtype)])
            parts.append(self.session.run(None, {self.input_name: padded})[0][: len(part)])
        return torch.from_numpy(np.concatenate(parts))


def load_onnx(path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """An exported ONNX file, run through onnxruntime, with the preprocessing from its metadata."""
    path = Path(path)
    session = _onnx_session(path, device)
    meta = read_metadata(path, "onnx")
    if "cnnzoo" not in meta:
        raise CnnzooError(f"{path} carries no cnnzoo metadata (classes, mean, std); export it with `cnnzoo export`")
    return LoadedModel.from_meta(OnnxRuntimeModule(session), meta["cnnzoo"], meta.get("config", {}), path)


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
        reason = " ".join(str(err).split())[:200]
        raise CnnzooError(f"onnxruntime cannot load {path} ({reason}); is it an ONNX file?") from None


def require_optional(*names: str) -> Any:
    """Import the optional packages ONNX needs; missing ones are a one-line error saying how to install them."""
    import importlib

    modules = []
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            raise CnnzooError(f"ONNX files need the {name} package; install it with: pip install 'cnnzoo[export]'") from None
    return modules[0]
