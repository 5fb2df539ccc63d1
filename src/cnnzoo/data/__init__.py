"""Data: dataset names → uint8 tensors cached on disk → augmented batches on the training device.

`build_loaders(DataSpec(name, data_dir, batch_size=...), device)` is the one call the trainer needs; the
pieces: `DataSpec`, `Augment` and `Loaders` (base.py: the request and the result), `load_split` (datasets.py:
names → ImageArrays, cached by cache.py), `DeviceLoader` (device_loader.py: the split on the device, augmented
in whole batches) and `StreamingLoader` (streaming.py: DataLoader workers for image folders too large for
memory, same protocol). This module chooses between the two loaders; they do not know each other.
"""

from __future__ import annotations

import torch

from cnnzoo.data import base
from cnnzoo.data.base import LOADERS, Augment, BatchLoader, DataSpec, Loaders
from cnnzoo.data.cache import default_cache_dir
from cnnzoo.data.datasets import (
    DATASETS,
    ImageArrays,
    channel_stats,
    estimate_folder_bytes,
    folder_root,
    holdout_split,
    load_split,
    random_subset,
)
from cnnzoo.data.device_loader import DeviceLoader, build_device_loaders
from cnnzoo.data.streaming import StreamingLoader, build_streaming_loaders, stream_root


def build_loaders(spec: DataSpec, device: torch.device | str = "cpu") -> Loaders:
    """The spec's train / val / test loaders: on the device, or streamed from disk for a folder too large.

    `loader="auto"` keeps the splits on the device unless an image folder would exceed `memory_budget()`.
    """
    if spec.loader == "stream":
        stream_root(spec)  # only image folders stream: fail before any work
    folder = folder_root(spec.name, spec.data_dir)
    kind = spec.loader
    if kind == "auto":
        too_large = folder is not None and estimate_folder_bytes(folder, spec.image_size) > base.memory_budget(device)
        kind = "stream" if too_large else "device"
    if kind == "stream":
        return build_streaming_loaders(spec, device)
    return build_device_loaders(spec, device)


__all__ = [
    "DATASETS",
    "LOADERS",
    "Augment",
    "BatchLoader",
    "DataSpec",
    "DeviceLoader",
    "ImageArrays",
    "Loaders",
    "StreamingLoader",
    "build_loaders",
    "channel_stats",
    "default_cache_dir",
    "holdout_split",
    "load_split",
    "random_subset",
]
