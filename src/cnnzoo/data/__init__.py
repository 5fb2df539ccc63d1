"""Data: dataset names → uint8 tensors cached on disk → augmented batches on the training device.

`build_loaders(name, data_dir, batch_size=..., device=...)` is the one call the trainer needs; the pieces:
`load_split` (datasets.py: names → ImageArrays, cached by cache.py), `DeviceLoader` (device_loader.py: the
split on the device, augmented in whole batches) and `StreamingLoader` (streaming.py: DataLoader workers for
image folders too large for memory, same protocol).
"""

from cnnzoo.data.cache import default_cache_dir
from cnnzoo.data.datasets import (
    DATASETS,
    ImageArrays,
    channel_stats,
    holdout_split,
    load_split,
    random_subset,
)
from cnnzoo.data.device_loader import LOADERS, Augment, DeviceLoader, Loaders, build_loaders
from cnnzoo.data.streaming import StreamingLoader

__all__ = [
    "DATASETS",
    "LOADERS",
    "Augment",
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
