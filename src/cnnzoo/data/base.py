"""What both loaders share: seeds, policies, the batch protocol, the result (`Loaders`) and normalisation.

The request is `DataSpec` (spec.py); `build_loaders(spec, device)` (data/__init__.py) chooses the device or
the streaming loader for it. device_loader.py and streaming.py both build on this module and never on each
other.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from cnnzoo.data.datasets import ImageArrays, channel_stats
from cnnzoo.data.spec import Augment, DataSpec
from cnnzoo.errors import CnnzooError


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


def check_augment_fits(augment: Augment, height: int, width: int) -> None:
    """Crop padding and cutout are measured against the images: larger than the image, a crop can hold no image
    at all (and a 4096-pixel padding of 8x8 digits asked for 90 GB), a cutout covers all of it."""
    for name, value in (("crop_padding", augment.crop_padding), ("cutout", augment.cutout)):
        if value > min(height, width):
            raise CnnzooError(
                f"{name} {value} is larger than the {height}×{width} images; use at most {min(height, width)}"
            )


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
