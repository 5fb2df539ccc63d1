"""What both loaders share: the data request (`DataSpec`), augmentation, the batch protocol and the result.

`DataSpec` describes the data a run asks for, in one value; `build_loaders(spec, device)` (data/__init__.py)
chooses the device or the streaming loader for it. device_loader.py and streaming.py both build on this
module and never on each other.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

from cnnzoo.errors import CnnzooError, check_choice

LOADERS: tuple[str, ...] = ("auto", "device", "stream")


@dataclass(frozen=True)
class Augment:
    """The standard small-image augmentation of He et al. (2016) §4.2, plus cutout (DeVries & Taylor, 2017)."""

    crop_padding: int = 0  # random crop of the original size from the image zero-padded by this many pixels
    flip: bool = False  # random horizontal flip (p=0.5)
    cutout: int = 0  # side of a random square set to zero (after normalisation: i.e. to the mean), 0 = off

    def __post_init__(self) -> None:
        if self.crop_padding < 0 or self.cutout < 0:
            raise CnnzooError(f"crop padding and cutout must be >= 0, got {self.crop_padding} and {self.cutout}")


@dataclass(frozen=True)
class DataSpec:
    """The data a run asks for: which dataset, how it is split, batched, augmented and read."""

    name: str
    data_dir: str | Path | None = None
    batch_size: int = 128
    eval_batch_size: int | None = None  # default: batch_size
    val_size: int | float = 0  # held out of the train split: a count or a fraction
    full_train: bool = False  # no validation split, whatever val_size says
    augment: Augment = field(default_factory=Augment)
    seed: int = 0
    download: bool = True
    cache_dir: str | Path | None = None
    skip_corrupt: bool = False
    loader: str = "auto"  # one of LOADERS
    workers: int = 2  # DataLoader workers of the streaming loader
    channels_last: bool = False
    train_limit: int | None = None  # a seeded, stratified subset of this many train images
    eval_limit: int | None = None  # ... of this many validation and test images each
    image_size: int | None = None  # image folders: resize the shorter side and centre-crop to N×N
    dtype: torch.dtype = torch.float32
    drop_last: bool = True  # drop the train epoch's last partial batch (never when the split is smaller)

    def __post_init__(self) -> None:
        check_choice("loader", self.loader, LOADERS)
        if self.batch_size < 1 or (self.eval_batch_size is not None and self.eval_batch_size < 1):
            raise CnnzooError(f"batch size must be >= 1, got {self.batch_size} and {self.eval_batch_size}")

    @property
    def eval_batch(self) -> int:
        """Batch size of the validation and test loaders."""
        return self.eval_batch_size or self.batch_size

    @property
    def holdout(self) -> int | float:
        """How many train images to hold out for validation: none with full_train."""
        return 0 if self.full_train else self.val_size


def epoch_seed(seed: int, epoch: int) -> int:
    """A 63-bit seed that depends on (seed, epoch) only, well mixed so nearby epochs share nothing."""
    digest = hashlib.blake2b(f"cnnzoo:{seed}:{epoch}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


class BatchLoader:
    """What the trainer iterates, DeviceLoader and StreamingLoader both: epochs of (images, labels) batches."""

    num_samples: int
    batch_size: int
    drop_last: bool
    classes: list[str]
    epoch: int = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch: its order and augmentation depend on (seed, epoch) only."""
        self.epoch = epoch

    def __len__(self) -> int:
        """Batches per epoch."""
        if self.drop_last:
            return self.num_samples // self.batch_size
        return -(-self.num_samples // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        raise NotImplementedError


@dataclass
class Loaders:
    """Train / val / test loaders and what the model needs to know about their images."""

    train: BatchLoader  # a DeviceLoader, or a StreamingLoader for folders too large for memory
    val: BatchLoader | None  # None when full_train or val_size == 0
    test: BatchLoader
    classes: list[str]
    mean: tuple[float, ...]  # per-channel, in [0, 1], of the train images actually trained on
    std: tuple[float, ...]
    in_chans: int
    image_size: int  # height (all built-in datasets are square)
    kind: str = "device"  # "device" or "stream"
    image_width: int | None = None
    skipped: int = 0  # unreadable images left out (skip_corrupt=True)

    @property
    def num_classes(self) -> int:
        """How many classes the labels index."""
        return len(self.classes)

    @property
    def input_size(self) -> tuple[int, int, int]:
        """(channels, height, width) of the batches."""
        return (self.in_chans, self.image_size, self.image_width or self.image_size)


# --- memory ------------------------------------------------------------------------------------------------

# Largest decoded train+test split `loader="auto"` keeps in memory: a quarter of RAM (and of the GPU's memory
# when training there), at most 16 GiB.
MAX_IN_MEMORY_BYTES = 16 * 2**30


def memory_budget(device: torch.device | str = "cpu") -> int:
    """Bytes of decoded images `loader="auto"` keeps in memory before it streams from disk instead."""
    try:
        budget = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (AttributeError, ValueError, OSError):
        budget = MAX_IN_MEMORY_BYTES
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_available():
        budget = min(budget, torch.cuda.get_device_properties(device).total_memory // 4)
    return min(MAX_IN_MEMORY_BYTES, budget)
