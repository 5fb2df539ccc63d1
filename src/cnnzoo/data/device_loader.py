"""The whole split on the training device, augmented there in whole batches.

In the spirit of airbench (Jordan, 2024): the uint8 images live on the device, and each batch is a gather of
rows (the crop's vertical offset), a gather of columns (its horizontal offset, with the flip folded in), one
multiply-subtract for normalisation and one broadcast mask for cutout — no per-image Python, no worker
processes, no host-to-device copies per step.
All randomness of an epoch is drawn up front on the CPU from a generator seeded by (seed, epoch), then moved to
the device, so the batches of an epoch are the same on CPU and CUDA and whatever came before.

`build_loaders` is the spine's one call: dataset name → train / val / test loaders with their statistics.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from cnnzoo.data.datasets import (
    ImageArrays,
    channel_stats,
    holdout_indices,
    load_split,
    random_subset,
)
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


def epoch_seed(seed: int, epoch: int) -> int:
    """A 63-bit seed that depends on (seed, epoch) only, well mixed so nearby epochs share nothing."""
    digest = hashlib.blake2b(f"cnnzoo:{seed}:{epoch}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


# --- batch operations (all vectorised over the batch) ----------------------------------------------------------
# On the CPU, PyTorch moves uint8 tensors element by element; whole rows moved as int64 words go ~8× faster,
# so images are gathered as words, cropped rows-first on words, then columns (with the flip folded in) on bytes.


def as_words(rows: torch.Tensor) -> torch.Tensor:
    """A uint8 tensor viewed with its last dimension as the widest integers that tile it (a view, no copy)."""
    for dtype, size in ((torch.int64, 8), (torch.int32, 4), (torch.int16, 2)):
        if rows.shape[-1] % size == 0 and rows.storage_offset() % size == 0:
            try:
                return rows.view(dtype)
            except RuntimeError:  # strides that the wider type cannot express
                continue
    return rows


def pad_for_crop(images: torch.Tensor, padding: int) -> torch.Tensor:
    """Zero-pad by `padding` on every side, the width rounded up to a multiple of 8 bytes (for word-wise rows)."""
    n, channels, height, width = images.shape
    stored_width = -(-(width + 2 * padding) // 8) * 8
    padded = torch.zeros(n, channels, height + 2 * padding, stored_width, dtype=images.dtype, device=images.device)
    padded[:, :, padding : padding + height, padding : padding + width] = images
    return padded


def crop_flip(
    padded: torch.Tensor,
    index: torch.Tensor,
    top: torch.Tensor,
    left: torch.Tensor,
    height: int,
    width: int,
    flip: torch.Tensor | None = None,
) -> torch.Tensor:
    """Images `index` of `padded` (from `pad_for_crop`), height×width at (top, left), mirrored where `flip`."""
    words = as_words(padded)
    n, channels, padded_height, row_words = words.shape
    strides = words.stride()
    # Every window of `height` rows, as a view: (N, C, offset, row, words).
    windows = words.as_strided(
        (n, channels, padded_height - height + 1, height, row_words), (*strides[:3], strides[2], strides[3])
    )
    rows = windows[index, :, top].view(padded.dtype)  # (B, C, height, stored width)
    columns = torch.arange(width, device=padded.device).expand(len(index), width)
    if flip is not None:
        columns = torch.where(flip.view(-1, 1), width - 1 - columns, columns)
    columns = (columns + left.view(-1, 1)).view(len(index), 1, 1, width)
    return rows.gather(3, columns.expand(len(index), channels, height, width))


def padded_crop(
    images: torch.Tensor, padding: int, top: torch.Tensor, left: torch.Tensor, flip: torch.Tensor | None = None
) -> torch.Tensor:
    """Crop each image's original size at (top[i], left[i]) of the image zero-padded by `padding` pixels."""
    index = torch.arange(images.shape[0], device=images.device)
    return crop_flip(pad_for_crop(images, padding), index, top, left, *images.shape[2:], flip=flip)


def flip_where(images: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """Mirror the images where `flip` is True."""
    return torch.where(flip.view(-1, 1, 1, 1), images.flip(3), images)


def cutout_mask(
    shape: torch.Size, size: int, top: torch.Tensor, left: torch.Tensor, keep: bool = False
) -> torch.Tensor:
    """A (B, 1, H, W) mask, True on the `size`×`size` square at (top[i], left[i]) of each image (`keep`: off it)."""
    _, _, height, width = shape
    ys = torch.arange(height, device=top.device).view(1, height) - top.view(-1, 1)
    xs = torch.arange(width, device=top.device).view(1, width) - left.view(-1, 1)
    rows, cols = (ys >= 0) & (ys < size), (xs >= 0) & (xs < size)  # (B, H) and (B, W): small
    if keep:
        return ~rows[:, None, :, None] | ~cols[:, None, None, :]
    return rows[:, None, :, None] & cols[:, None, None, :]


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


class DeviceLoader(BatchLoader):
    """The whole split on the training device; yields (images float normalised, labels int64) batches."""

    def __init__(
        self,
        data: ImageArrays,
        batch_size: int,
        *,
        device: torch.device | str = "cpu",
        mean: Sequence[float],
        std: Sequence[float],
        shuffle: bool = False,
        augment: Augment | None = None,
        drop_last: bool = False,
        seed: int = 0,
        channels_last: bool = False,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if batch_size < 1:
            raise CnnzooError(f"batch size must be >= 1, got {batch_size}")
        channels, height, width = data.images.shape[1:]
        if len(mean) != channels or len(std) != channels:
            raise CnnzooError(
                f"mean and std need {channels} values (one per channel), got {len(mean)} and {len(std)}"
            )
        augment = augment or Augment()
        if augment.cutout > min(height, width):
            raise CnnzooError(f"cutout {augment.cutout} is larger than the {height}×{width} images")
        self.device = torch.device(device)
        self.images = data.images.to(self.device)
        self._words = as_words(self.images.reshape(len(data), channels * height * width))  # whole images as words
        # With crop: a zero-padded copy too (CIFAR-10 train: 50,000 × 3 × 40 × 40 bytes = 240 MB).
        self._padded = pad_for_crop(self.images, augment.crop_padding) if augment.crop_padding else None
        self.labels = data.labels.to(self.device)
        self.classes = list(data.classes)
        self.num_samples = len(data)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.augment = augment
        self.drop_last = drop_last
        self.seed = seed
        self.epoch = 0
        self.channels_last = channels_last
        self.dtype = dtype
        # (x / 255 - mean) / std as one multiply-subtract.
        std_t = torch.tensor(std, dtype=torch.float64)
        self._scale = (1.0 / (255.0 * std_t)).view(1, -1, 1, 1).to(self.device, dtype)
        self._shift = (torch.tensor(mean, dtype=torch.float64) / std_t).view(1, -1, 1, 1).to(self.device, dtype)

    def _plan(self) -> dict[str, torch.Tensor]:
        """The epoch's order and per-sample augmentation parameters, drawn on the CPU, moved to the device."""
        generator = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch))
        n, (height, width) = self.num_samples, self.images.shape[2:]
        plan: dict[str, torch.Tensor] = {}
        if self.shuffle:
            plan["order"] = torch.randperm(n, generator=generator)
        if self.augment.crop_padding:
            span = 2 * self.augment.crop_padding + 1
            plan["crop_top"] = torch.randint(0, span, (n,), generator=generator)
            plan["crop_left"] = torch.randint(0, span, (n,), generator=generator)
        if self.augment.flip:
            plan["flip"] = torch.randint(0, 2, (n,), generator=generator).bool()
        if self.augment.cutout:
            size = self.augment.cutout
            plan["cut_top"] = torch.randint(0, height - size + 1, (n,), generator=generator)
            plan["cut_left"] = torch.randint(0, width - size + 1, (n,), generator=generator)
        return {key: value.to(self.device, non_blocking=True) for key, value in plan.items()}

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        plan = self._plan()
        order = plan.get("order")
        shape = self.images.shape[1:]
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            stop = min(start + self.batch_size, self.num_samples)
            if order is None:
                index = torch.arange(start, stop, device=self.device) if self._padded is not None else None
                labels = self.labels[start:stop]
            else:
                index = order[start:stop]
                labels = self.labels[index]
            flip = plan["flip"][start:stop] if "flip" in plan else None
            if self._padded is not None:
                top, left = plan["crop_top"][start:stop], plan["crop_left"][start:stop]
                images = crop_flip(self._padded, index, top, left, *shape[1:], flip=flip)
            else:
                words = self._words[start:stop] if index is None else self._words[index]
                images = words.view(torch.uint8).view(stop - start, *shape)
                if flip is not None:
                    images = flip_where(images, flip)
            batch = images.to(self.dtype).mul_(self._scale).sub_(self._shift)
            if "cut_top" in plan:
                top, left = plan["cut_top"][start:stop], plan["cut_left"][start:stop]
                batch.mul_(cutout_mask(batch.shape, self.augment.cutout, top, left, keep=True))  # zero = the mean
            if self.channels_last:
                batch = batch.contiguous(memory_format=torch.channels_last)
            yield batch, labels


# --- the spine: dataset name → loaders ---------------------------------------------------------------------------

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
    val_indices: torch.Tensor | None = None  # the held-out images' indices in the train split (before eval_limit)

    @property
    def num_classes(self) -> int:
        """How many classes the labels index."""
        return len(self.classes)

    @property
    def input_size(self) -> tuple[int, int, int]:
        """(channels, height, width) of the batches."""
        return (self.in_chans, self.image_size, self.image_width or self.image_size)


def build_loaders(
    name: str,
    data_dir: str | Path | None = None,
    *,
    batch_size: int,
    eval_batch_size: int | None = None,
    device: torch.device | str = "cpu",
    val_size: int | float = 0,
    full_train: bool = False,
    augment: Augment | None = None,
    seed: int = 0,
    download: bool = True,
    cache_dir: str | Path | None = None,
    skip_corrupt: bool = False,
    loader: str = "auto",
    workers: int = 2,
    channels_last: bool = False,
    train_limit: int | None = None,
    eval_limit: int | None = None,
    image_size: int | None = None,
    dtype: torch.dtype = torch.float32,
    drop_last: bool = True,
) -> Loaders:
    """Dataset name → loaders: hold out `val_size` train images (a count or a fraction; seeded, stratified).

    `train_limit` / `eval_limit` keep a seeded random subset of that many train / of val and test images each
    (short real runs on CPU). Mean and std are measured on the train images that remain. `loader="auto"` keeps
    the split on the device unless an image folder would exceed `memory_budget()`, then streams it from disk.
    `drop_last` drops the train epoch's last partial batch (never when the train set is smaller than a batch).
    """
    from cnnzoo.data.datasets import folder_root

    check_choice("loader", loader, LOADERS)
    eval_batch_size = eval_batch_size or batch_size
    if full_train:
        val_size = 0
    folder = folder_root(name, data_dir)
    if loader == "stream" and folder is None:
        raise CnnzooError(
            f"--loader stream reads image folders only; {name!r} is loaded into memory (use --loader device)"
        )
    if loader == "auto" and folder is not None:
        from cnnzoo.data.streaming import estimate_folder_bytes

        loader = "stream" if estimate_folder_bytes(folder, image_size) > memory_budget(device) else "device"
    common = dict(device=device, channels_last=channels_last, dtype=dtype)
    if loader == "stream":
        from cnnzoo.data.streaming import build_streaming_loaders

        return build_streaming_loaders(
            folder, batch_size=batch_size, eval_batch_size=eval_batch_size, val_size=val_size, augment=augment,
            seed=seed, skip_corrupt=skip_corrupt, workers=workers, train_limit=train_limit, eval_limit=eval_limit,
            image_size=image_size, drop_last=drop_last, **common,
        )  # fmt: skip

    kwargs = dict(download=download, cache_dir=cache_dir, skip_corrupt=skip_corrupt, image_size=image_size)
    train = load_split(name, "train", data_dir, **kwargs)
    test = load_split(name, "test", data_dir, **kwargs)
    val: ImageArrays | None = None
    val_indices = None
    if val_size:
        rest, val_indices = holdout_indices(train.labels, val_size, seed)
        train, val = train.subset(rest), train.subset(val_indices)
        val = random_subset(val, eval_limit, seed + 1)
    train = random_subset(train, train_limit, seed)
    test = random_subset(test, eval_limit, seed + 2)
    mean, std = channel_stats(train)
    stats = dict(mean=mean, std=std, **common)
    drop = drop_last and len(train) >= batch_size
    return Loaders(
        train=DeviceLoader(train, batch_size, shuffle=True, augment=augment, drop_last=drop, seed=seed, **stats),
        val=DeviceLoader(val, eval_batch_size, **stats) if val is not None else None,
        test=DeviceLoader(test, eval_batch_size, **stats),
        classes=list(train.classes),
        mean=mean,
        std=std,
        in_chans=train.images.shape[1],
        image_size=train.images.shape[2],
        kind="device",
        image_width=train.images.shape[3],
        skipped=train.skipped + test.skipped,
        val_indices=val_indices,
    )
