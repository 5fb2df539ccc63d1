"""The one data config: which dataset, how it is split, batched, augmented and read (`DataSpec`, `Augment`).

Each field is declared once, with its default, its `--help` text and its check; the training config holds a
DataSpec whole (`TrainConfig.data`), recipes and flags name its fields flat (`crop_padding: 4`), and the
loaders take it whole. Adding an augmentation is a field of `Augment` here and its code in the loaders.

Validation data: `val_size` None means the dataset's default below. The CIFAR-sized datasets hold out 5,000
training images (the ResNet paper's 45k/5k split, section 4.2); `digits` (1,797 images in all) holds out 10%
of its training part. A whole number (5000) is an image count, a number written with a decimal point (0.1) a
fraction, so 1.0 is neither and refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from cnnzoo.errors import CnnzooError, check_choice
from cnnzoo.settings import MAX_BATCH_SIZE, MAX_PIXELS, MAX_STEPS, check_int, check_range, setting

LOADERS: tuple[str, ...] = ("auto", "device", "stream")
# torchvision's learned or random per-image policies: AutoAugment (Cubuk et al., 2019; its CIFAR-10 policy),
# RandAugment (Cubuk et al., 2020; 2 ops, magnitude 9) and TrivialAugmentWide (Müller & Hutter, 2021).
POLICIES: tuple[str, ...] = ("none", "autoaugment", "randaugment", "trivialaugment")
# Input normalisation: per-channel mean and std, or the ResNet paper's per-pixel mean subtraction (He et al.,
# 2016, §4.2: "the per-pixel mean subtracted", no division by a std).
NORMALIZATIONS: tuple[str, ...] = ("channel", "pixel")
MAX_ALPHA = 100.0  # mixup / cutmix alpha: beyond it Beta(alpha, alpha) is 0.5 every time

# Default held-out validation size per dataset: an image count, or a fraction of the training split.
DEFAULT_VAL_SIZE: dict[str, float | int] = {
    "cifar10": 5000,
    "cifar100": 5000,
    "svhn": 5000,
    "mnist": 5000,
    "fashion_mnist": 5000,
    "imagefolder": 5000,
    "digits": 0.1,
}

AUG = "regularisation"  # the --help group of the augmentations


@dataclass(frozen=True)
class Augment:
    """The standard small-image augmentation of He et al. (2016) §4.2, cutout (DeVries & Taylor, 2017), a
    torchvision policy per image, and mixup (Zhang et al., 2018) / cutmix (Yun et al., 2019) per batch."""

    crop_padding: int = setting(0, AUG, "random crop after zero padding by this many pixels")
    flip: bool = setting(False, AUG, "random horizontal flips")
    cutout: int = setting(0, AUG, "cutout square side in pixels (0: off)")  # set to zero after normalisation: the mean
    auto_augment: str = setting(
        "none", AUG, "per-image policy: none, autoaugment (CIFAR-10 policy), randaugment, trivialaugment"
    )  # applied to each uint8 image after crop and flip
    mixup: float = setting(0.0, AUG, "mixup alpha of Beta(alpha, alpha), e.g. 0.2 (0: off)")
    cutmix: float = setting(0.0, AUG, "cutmix alpha of Beta(alpha, alpha), e.g. 1.0 (0: off)")
    mix_prob: float = setting(1.0, AUG, "probability that a batch is mixed by mixup/cutmix")
    cutmix_prob: float = setting(0.5, AUG, "with mixup and cutmix both on: share of mixed batches cut-mixed")

    def __post_init__(self) -> None:
        check_int("crop_padding", self.crop_padding, 0, MAX_PIXELS)
        check_int("cutout", self.cutout, 0, MAX_PIXELS)
        check_choice("auto_augment", self.auto_augment, POLICIES)
        check_range("mixup", self.mixup, 0.0, MAX_ALPHA)
        check_range("cutmix", self.cutmix, 0.0, MAX_ALPHA)
        check_range("mix_prob", self.mix_prob, 0.0, 1.0)
        check_range("cutmix_prob", self.cutmix_prob, 0.0, 1.0)

    @property
    def mixes(self) -> bool:
        """Whether batches are mixed: the train loader then yields soft (B, classes) targets."""
        return (self.mixup > 0 or self.cutmix > 0) and self.mix_prob > 0


def _runtime(default=None, **kw) -> object:
    """A field the run sets when it builds the loaders, not a setting: no flag, not in config.yaml."""
    return field(default=default, metadata={"runtime": True}, **kw)


@dataclass(frozen=True)
class DataSpec:
    """The data a run asks for: which dataset, how it is split, batched, augmented and read."""

    name: str = setting(
        "", "data", "dataset: cifar10, cifar100, mnist, fashion_mnist, svhn, imagefolder, digits", key="data"
    )
    data_dir: str | None = setting(
        None, "data", "dataset copy (torchvision layout, or train/ and test/ class folders); default: the cache"
    )
    cache_dir: str | None = setting(
        None, "data", "downloads and decoded images (default: $CNNZOO_CACHE or ~/.cache/cnnzoo)"
    )
    download: bool = setting(True, "data", "download a missing dataset")
    val_size: int | float | None = setting(
        None, "data", "held-out validation images: a count (5000; 0 for none) or a fraction written with a point "
        "(0.1); default 5000, digits 0.1"
    )  # fmt: skip
    full_train: bool = setting(False, "data", "train on the full training split: no validation, test the last weights")
    train_limit: int | None = setting(
        None, "data", "train on a seeded, class-stratified subset of N images (quick runs)"
    )
    eval_limit: int | None = setting(
        None, "data", "evaluate on seeded subsets of N validation and N test images (quick runs)"
    )
    image_size: int | None = setting(None, "data", "imagefolder: resize and centre-crop images to N x N")
    batch_size: int = setting(128, "data", "training batch size")
    eval_batch_size: int | None = setting(None, "data", "evaluation batch size (default: 2 x batch size)")
    loader: str = setting(
        "auto", "data", "auto, device (whole split on the device) or stream (image folders from disk; other "
        "datasets are held in memory)"
    )  # fmt: skip
    workers: int = setting(2, "data", "decoding workers of the streaming loader")
    normalize: str = setting(
        "channel", "data",
        "input normalisation: channel (per-channel mean and std of the train images) or pixel (subtract their "
        "per-pixel mean image, no std: the ResNet paper's CIFAR-10 input)",
    )  # fmt: skip
    skip_corrupt: bool = setting(False, "data", "skip unreadable images instead of failing")
    augment: Augment = field(default_factory=Augment)

    # Set by the run when it builds the loaders: the seed of the split and augmentation, the device's memory
    # format, and for distributed training this process's `rank` of `world`
    # (batch sizes stay GLOBAL and every global batch is split between the ranks, so 1 or N processes see the
    # same batches). `test_only` builds the test split alone, normalised by `stats` = (mean, std) of a trained
    # model (with normalize="pixel", mean is the C×H×W mean image and std is ones).
    seed: int = _runtime(0)
    channels_last: bool = _runtime(False)
    drop_last: bool = _runtime(True)  # drop the train epoch's last partial batch (never when the split is smaller)
    test_only: bool = _runtime(False)
    stats: tuple | None = _runtime(None)  # (per-channel means or a C×H×W mean image tensor, stds)
    rank: int = _runtime(0)
    world: int = _runtime(1)

    def __post_init__(self) -> None:
        check_choice("loader", self.loader, LOADERS)
        check_choice("normalize", self.normalize, NORMALIZATIONS)
        if self.val_size is not None:
            _check_val_size(self.val_size)
        check_int("batch_size", self.batch_size, 1, MAX_BATCH_SIZE)
        check_int("eval_batch_size", self.eval_batch_size, 1, MAX_BATCH_SIZE)
        check_int("workers", self.workers, 0, 256)
        check_int("image_size", self.image_size, 1, MAX_PIXELS)
        check_int("train_limit", self.train_limit, 1, MAX_STEPS)
        check_int("eval_limit", self.eval_limit, 1, MAX_STEPS)
        if self.name == "digits" and (self.data_dir or self.image_size):
            given = "--data-dir" if self.data_dir else "--image-size"
            raise CnnzooError(f"digits is scikit-learn's bundled 8x8 data: {given} does not apply to it; drop it")
        if not 0 <= self.rank < self.world:
            raise ValueError(f"DataSpec needs 0 <= rank < world, got rank {self.rank} of {self.world}")
        if self.world > 1 and not self.test_only and self.batch_size % self.world:
            raise CnnzooError(
                f"batch size {self.batch_size} is the global batch and must divide evenly between {self.world} "
                f"processes; give a multiple of {self.world}"
            )
        if self.test_only and self.stats is None:
            raise ValueError("DataSpec(test_only=True) needs stats=(mean, std) of the model to evaluate")

    @property
    def eval_batch(self) -> int:
        """Batch size of the validation and test loaders: eval_batch_size, or twice the training batch."""
        return self.eval_batch_size or 2 * self.batch_size

    def resolved_val_size(self) -> float | int:
        """The validation size the run uses: 0 with full_train, else the given one or the dataset's default."""
        if self.full_train:
            return 0
        if self.val_size is not None:
            return self.val_size
        return DEFAULT_VAL_SIZE.get(self.name, 5000)

    @property
    def holdout(self) -> int | float:
        """How many train images to hold out for validation: none with full_train or test_only."""
        return 0 if self.test_only else self.resolved_val_size()


def _check_val_size(value: int | float) -> None:
    """A count is >= 0; a fraction is in (0, 1), or 0.0 for none; 1.0 could mean either and is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CnnzooError(f"val_size must be an image count such as 5000 or a fraction such as 0.1, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise CnnzooError(f"val_size must be an image count >= 0 (0: no validation), got {value}")
        return
    if math.isfinite(value) and value >= 1 and value.is_integer():
        n = int(value)
        raise CnnzooError(
            f"val_size {value} is ambiguous: write {n} for {n} image{'s' if n > 1 else ''} or a fraction below 1 "
            "such as 0.1"
        )
    if not (0 <= value < 1):
        raise CnnzooError(f"val_size must be a fraction in (0, 1) such as 0.1, or a whole image count, got {value}")
