"""What both loaders share: the data request (`DataSpec`), augmentation, the batch protocol and the result.

`DataSpec` describes the data a run asks for, in one value; `build_loaders(spec, device)` (data/__init__.py)
chooses the device or the streaming loader for it. device_loader.py and streaming.py both build on this
module and never on each other.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from cnnzoo.data.datasets import ImageArrays, channel_stats
from cnnzoo.errors import CnnzooError, check_choice

LOADERS: tuple[str, ...] = ("auto", "device", "stream")
# torchvision's learned or random per-image policies: AutoAugment (Cubuk et al., 2019; its CIFAR-10 policy),
# RandAugment (Cubuk et al., 2020; 2 ops, magnitude 9) and TrivialAugmentWide (Müller & Hutter, 2021).
POLICIES: tuple[str, ...] = ("none", "autoaugment", "randaugment", "trivialaugment")
# Input normalisation: per-channel mean and std, or the ResNet paper's per-pixel mean subtraction (He et al.,
# 2016, §4.2: "the per-pixel mean subtracted", no division by a std).
NORMALIZATIONS: tuple[str, ...] = ("channel", "pixel")


@dataclass(frozen=True)
class Augment:
    """The standard small-image augmentation of He et al. (2016) §4.2, cutout (DeVries & Taylor, 2017), a
    torchvision policy per image, and mixup (Zhang et al., 2018) / cutmix (Yun et al., 2019) per batch."""

    crop_padding: int = 0  # random crop of the original size from the image zero-padded by this many pixels
    flip: bool = False  # random horizontal flip (p=0.5)
    cutout: int = 0  # side of a random square set to zero (after normalisation: i.e. to the mean), 0 = off
    auto_augment: str = "none"  # one of POLICIES, applied to each uint8 image after crop and flip
    mixup: float = 0.0  # alpha of mixup's Beta(alpha, alpha) mixing weight, 0 = off
    cutmix: float = 0.0  # alpha of cutmix's Beta(alpha, alpha) box area, 0 = off
    mix_prob: float = 1.0  # probability that a batch is mixed (when mixup or cutmix is on)
    cutmix_prob: float = 0.5  # with both on: probability that a mixed batch uses cutmix rather than mixup

    def __post_init__(self) -> None:
        if self.crop_padding < 0 or self.cutout < 0:
            raise CnnzooError(f"crop padding and cutout must be >= 0, got {self.crop_padding} and {self.cutout}")
        check_choice("auto_augment", self.auto_augment, POLICIES)
        for name in ("mixup", "cutmix"):
            alpha = getattr(self, name)
            if not 0 <= alpha < float("inf"):
                raise CnnzooError(f"{name} is the alpha of a Beta distribution: a number >= 0 (0: off), got {alpha}")
        for name in ("mix_prob", "cutmix_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise CnnzooError(f"{name} must be a probability in [0, 1], got {getattr(self, name)}")

    @property
    def mixes(self) -> bool:
        """Whether batches are mixed: the train loader then yields soft (B, classes) targets."""
        return (self.mixup > 0 or self.cutmix > 0) and self.mix_prob > 0


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
    normalize: str = "channel"  # one of NORMALIZATIONS
    # Only the test split, normalised by `stats` = (mean, std) of a trained model, converted to its channels:
    # evaluating needs no train split and no validation holdout. With normalize="pixel", mean is the C×H×W mean
    # image (a tensor) and std is ones.
    test_only: bool = False
    stats: tuple[tuple[float, ...] | torch.Tensor, tuple[float, ...]] | None = None
    # Distributed training: this process is `rank` of `world`; batch sizes stay GLOBAL and every global batch
    # is split between the ranks (shard_range), so 1 or N processes see the same batches and schedule.
    rank: int = 0
    world: int = 1

    def __post_init__(self) -> None:
        check_choice("loader", self.loader, LOADERS)
        check_choice("normalize", self.normalize, NORMALIZATIONS)
        if not 0 <= self.rank < self.world:
            raise ValueError(f"DataSpec needs 0 <= rank < world, got rank {self.rank} of {self.world}")
        if self.world > 1 and not self.test_only and self.batch_size % self.world:
            raise CnnzooError(
                f"batch size {self.batch_size} is the global batch and must divide evenly between {self.world} "
                f"processes; give a multiple of {self.world}"
            )
        if self.batch_size < 1 or (self.eval_batch_size is not None and self.eval_batch_size < 1):
            raise CnnzooError(f"batch size must be >= 1, got {self.batch_size} and {self.eval_batch_size}")
        if self.test_only and self.stats is None:
            raise ValueError("DataSpec(test_only=True) needs stats=(mean, std) of the model to evaluate")

    @property
    def eval_batch(self) -> int:
        """Batch size of the validation and test loaders."""
        return self.eval_batch_size or self.batch_size

    @property
    def holdout(self) -> int | float:
        """How many train images to hold out for validation: none with full_train or test_only."""
        return 0 if self.full_train or self.test_only else self.val_size


def epoch_seed(seed: int, epoch: int) -> int:
    """A 63-bit seed that depends on (seed, epoch) only, well mixed so nearby epochs share nothing."""
    digest = hashlib.blake2b(f"cnnzoo:{seed}:{epoch}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def shard_range(start: int, stop: int, rank: int = 0, world: int = 1) -> tuple[int, int]:
    """This rank's contiguous part [lo, hi) of the global batch [start, stop); the last ranks' may be empty.

    Every rank draws the same epoch plan (order, augmentation), so each takes its shard of the same permutation
    and together the ranks cover each global batch exactly once.
    """
    per_rank = -(-(stop - start) // world)
    lo = min(start + rank * per_rank, stop)
    return lo, min(lo + per_rank, stop)


def sample_seed(seed: int, index: int) -> int:
    """The seed of one image's augmentation in an epoch: (epoch seed, the image's index in its split)."""
    return (seed ^ ((index + 1) * 0x9E3779B97F4A7C15)) & ((1 << 63) - 1)


def build_policy(name: str):
    """torchvision's policy `name` (POLICIES) as a v2 transform of one image (PIL or uint8 tensor), or None."""
    if name == "none":
        return None
    from torchvision.transforms import v2

    if name == "autoaugment":
        return v2.AutoAugment(v2.AutoAugmentPolicy.CIFAR10)
    return v2.RandAugment() if name == "randaugment" else v2.TrivialAugmentWide()


def apply_policy(policy, images: torch.Tensor, seeds: list[int]) -> torch.Tensor:
    """Each uint8 image of the batch through `policy` with its own seed: a draw per image, not per batch.

    A Python loop over the images (torchvision's policies pick one op per call); the global CPU generator they
    draw from is restored afterwards, so the rest of training sees the same random numbers as without.
    """
    out = torch.empty_like(images)
    with torch.random.fork_rng(devices=[]):
        for i, seed in enumerate(seeds):
            torch.default_generator.manual_seed(seed)
            out[i] = policy(images[i])
    return out


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
        """(images, targets): int64 labels, or (B, classes) float label weights when the batches are mixed."""
        raise NotImplementedError


@dataclass
class Loaders:
    """Train / val / test loaders and what the model needs to know about their images."""

    train: BatchLoader | None  # a DeviceLoader or a StreamingLoader; None with DataSpec.test_only
    val: BatchLoader | None  # None when full_train, val_size == 0 or test_only
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
    mean_image: torch.Tensor | None = None  # normalize="pixel": the C×H×W float32 mean subtracted (std: ones)

    @property
    def num_classes(self) -> int:
        """How many classes the labels index."""
        return len(self.classes)

    @property
    def input_size(self) -> tuple[int, int, int]:
        """(channels, height, width) of the batches."""
        return (self.in_chans, self.image_size, self.image_width or self.image_size)


# --- statistics and memory ------------------------------------------------------------------------------------

MIN_STD = 1e-6  # below this a channel is constant: normalising would divide by (nearly) zero


def train_stats(data: ImageArrays, where: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of `data` for normalisation; a constant channel's std is taken as 1.

    A constant channel (all-black images, say) has std 0, and (x - mean) / 0 is NaN from the first step; with
    std 1 its inputs are simply 0, which trains.
    """
    mean, std = channel_stats(data)
    constant = [str(i) for i, value in enumerate(std) if value < MIN_STD]
    if constant:
        warnings.warn(
            f"channel {', '.join(constant)} of {where} is constant (std 0); normalising it by std 1 instead of "
            f"dividing by zero",
            stacklevel=3,
        )
        std = tuple(1.0 if value < MIN_STD else value for value in std)
    return mean, std


def pixel_mean(data: ImageArrays, chunk: int = 4096) -> torch.Tensor:
    """The C×H×W float32 mean image of `data` in [0, 1] (accumulated in float64, a chunk at a time)."""
    if len(data) == 0:
        raise CnnzooError("cannot compute the mean image of an empty split")
    total = torch.zeros(data.images.shape[1:], dtype=torch.float64)
    for start in range(0, len(data), chunk):
        total += data.images[start : start + chunk].to(torch.float64).sum(dim=0)
    return (total / (255.0 * len(data))).to(torch.float32)


def check_mean_image(mean: Sequence[float] | torch.Tensor, shape: tuple[int, int, int]) -> None:
    """A C×H×W mean image must be the size of the images it is subtracted from (say, a run's on another data set)."""
    if torch.is_tensor(mean) and mean.dim() == 3 and tuple(mean.shape) != tuple(shape):
        have, want = "×".join(map(str, mean.shape)), "×".join(map(str, shape))
        raise CnnzooError(
            f"the model's mean image is {have} (normalize: pixel) but these images are {want}; "
            "give data of the size it was trained on"
        )


def normalization(
    spec: DataSpec, data: ImageArrays | None, where: str
) -> tuple[tuple[float, ...], tuple[float, ...], torch.Tensor | None]:
    """(per-channel mean, std, mean image or None) of `spec.normalize`: measured on `data`, or `spec.stats`.

    With "pixel" the std is ones and the per-channel mean is the mean image's (reported, not used).
    """
    if spec.test_only:
        mean, std = spec.stats
        image = mean if torch.is_tensor(mean) and mean.dim() == 3 else None
    elif spec.normalize == "pixel":
        image = pixel_mean(data)
        std = (1.0,) * image.shape[0]
    else:
        return (*train_stats(data, where), None)
    if image is None:
        return tuple(mean), tuple(std), None
    return tuple(image.mean(dim=(1, 2)).tolist()), tuple(std), image.to(torch.float32)


# Largest decoded train+test split `loader="auto"` keeps in memory: a quarter of RAM (and of the GPU's memory
# when training there), at most 16 GiB.
MAX_IN_MEMORY_BYTES = 16 * 2**30


def physical_memory(device: torch.device | str = "cpu") -> int:
    """Bytes of memory the decoded splits would live in: RAM, or less, the GPU's memory when training there."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        total = 4 * MAX_IN_MEMORY_BYTES
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_available():
        total = min(total, torch.cuda.get_device_properties(device).total_memory)
    return total


def memory_budget(device: torch.device | str = "cpu") -> int:
    """Bytes of decoded images `loader="auto"` keeps in memory before it streams from disk instead."""
    return min(MAX_IN_MEMORY_BYTES, physical_memory(device) // 4)


def check_fits_in_memory(estimate: int, device: torch.device | str, where: object) -> None:
    """Refuse to decode splits into memory when they would take more than half of it (decoding needs more)."""
    limit = physical_memory(device) // 2
    if estimate > limit:
        raise CnnzooError(
            f"the decoded images of {where} would take {human_bytes(estimate)}, more than the {human_bytes(limit)} "
            f"this machine can hold; pass --image-size N to decode them smaller, or --loader stream to read them "
            f"from disk"
        )


def human_bytes(count: float) -> str:
    """1536 → '1.5 KiB'."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"
