"""`build_loaders(spec, device)`: the train / val / test loaders of a DataSpec, on the device or streamed."""

from __future__ import annotations

import torch

from cnnzoo.data import base
from cnnzoo.data.base import Loaders
from cnnzoo.data.datasets import SPLITS, DecodingOutOfMemory, check_same_classes, estimate_folder_bytes, folder_root
from cnnzoo.data.device_loader import build_device_loaders
from cnnzoo.data.spec import DataSpec
from cnnzoo.data.streaming import build_streaming_loaders
from cnnzoo.errors import CnnzooError


def build_loaders(spec: DataSpec, device: torch.device | str = "cpu") -> Loaders:
    """The spec's train / val / test loaders: on the device, or streamed from disk for a folder too large.

    `loader="auto"` keeps the splits on the device unless an image folder would exceed `memory_budget()`;
    `loader="device"` refuses a folder that would not fit in memory at all; `loader="stream"` streams image
    folders, while array datasets (digits, torchvision's files) have nothing to stream and are held in memory,
    so a missing copy is the loading's own error. An image folder's splits must have the same class folders.
    """
    folder = folder_root(spec.name, spec.data_dir)
    kind = spec.loader if folder is not None else "device"
    if folder is not None:
        if not spec.test_only:
            check_same_classes(folder)
        if kind != "stream":
            estimate = estimate_folder_bytes(folder, spec.image_size, ("test",) if spec.test_only else SPLITS)
            if kind == "auto":
                kind = "stream" if estimate > base.memory_budget(device) else "device"
            if kind == "device":
                base.check_fits_in_memory(estimate, device, folder)
    try:
        return build_streaming_loaders(spec, device) if kind == "stream" else build_device_loaders(spec, device)
    except DecodingOutOfMemory as err:  # streaming decodes only a sample of the images (for their statistics)
        raise CnnzooError(
            f"{err}, or --loader stream to read them from disk" if kind != "stream" else str(err)
        ) from None
    except (MemoryError, RuntimeError) as err:
        if not out_of_memory(err):
            raise
        hint = ""
        if folder is not None:  # large images: decode them smaller, or (on the device path) stream them
            hint = "; pass --image-size N to read the images smaller" + (
                ", or --loader stream" if kind != "stream" else ""
            )
        raise CnnzooError(f"out of memory loading {spec.data_dir or spec.name} onto {device}{hint}") from None


def out_of_memory(err: BaseException) -> bool:
    """Whether an error is the allocator's: Python's MemoryError, CUDA's OutOfMemoryError, or the CPU allocator's
    RuntimeError ("DefaultCPUAllocator: can't allocate memory"), which torch raises as a plain RuntimeError."""
    if isinstance(err, (MemoryError, torch.OutOfMemoryError)):
        return True
    return isinstance(err, RuntimeError) and "can't allocate memory" in str(err)
