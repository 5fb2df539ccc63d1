"""Data: dataset names → uint8 tensors cached on disk → augmented batches on the training device.

`build_loaders(DataSpec(name, data_dir, batch_size=...), device)` is the one call the trainer needs; the
pieces: `DataSpec` and `Augment` (spec.py: the request, the one data config), `Loaders` (base.py: the result), `load_split` (datasets.py:
names → ImageArrays, cached by cache.py), `DeviceLoader` (device_loader.py: the split on the device, augmented
in whole batches) and `StreamingLoader` (streaming.py: DataLoader workers for image folders too large for
memory, same protocol). This module chooses between the two loaders; they do not know each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnnzoo.data.spec import LOADERS, NORMALIZATIONS, POLICIES, Augment, DataSpec  # torch-free: the CLI's flags
from cnnzoo.lazy import lazy_getattr

if TYPE_CHECKING:
    from cnnzoo.data.base import BatchLoader, Loaders
    from cnnzoo.data.cache import default_cache_dir
    from cnnzoo.data.datasets import DATASETS, ImageArrays, channel_stats, holdout_split, load_split, random_subset
    from cnnzoo.data.device_loader import DeviceLoader
    from cnnzoo.data.loaders import build_loaders
    from cnnzoo.data.streaming import StreamingLoader

# Names that import torch, imported on first use (PEP 562) so that `cnnzoo --help` reads the data spec without it.
_LAZY = {
    "BatchLoader": "cnnzoo.data.base",
    "Loaders": "cnnzoo.data.base",
    "default_cache_dir": "cnnzoo.data.cache",
    "DATASETS": "cnnzoo.data.datasets",
    "ImageArrays": "cnnzoo.data.datasets",
    "channel_stats": "cnnzoo.data.datasets",
    "holdout_split": "cnnzoo.data.datasets",
    "load_split": "cnnzoo.data.datasets",
    "random_subset": "cnnzoo.data.datasets",
    "DeviceLoader": "cnnzoo.data.device_loader",
    "StreamingLoader": "cnnzoo.data.streaming",
    "build_loaders": "cnnzoo.data.loaders",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "DATASETS",
    "LOADERS",
    "NORMALIZATIONS",
    "POLICIES",
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
