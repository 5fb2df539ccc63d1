"""The whole split on the training device, augmented there in whole batches.

In the spirit of airbench (Jordan, 2024): the uint8 images live on the device, and each batch is a gather of
rows (the crop's vertical offset), a gather of columns (its horizontal offset, with the flip folded in), one
multiply-subtract for normalisation (a per-pixel mean is cropped and flipped alongside) and one broadcast mask
for cutout — no per-image Python, no worker processes, no host-to-device copies per step.
All randomness of an epoch is drawn up front on the CPU from a generator seeded by (seed, epoch), then moved to
the device, so the batches of an epoch are the same on CPU and CUDA and whatever came before.
Two augmentations are not whole-batch gathers: a torchvision policy (`Augment.auto_augment`) runs per image in a
Python loop, each image seeded by (seed, epoch, index) as in the streaming loader — torchvision applies one op
to a whole batch tensor, and per-image draws are the point of these policies — so it costs about a millisecond
per image on a CPU core (minutes per CIFAR-10 epoch; an image folder streams with workers instead, --loader
stream); mixup/cutmix (mixing.py) mix the normalised batch with a permutation of itself.

`build_device_loaders(spec, device)`: a DataSpec → train / val / test DeviceLoaders with their statistics.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from cnnzoo.data.base import (
    BatchLoader,
    Loaders,
    apply_policy,
    build_policy,
    check_augment_fits,
    check_mean_image,
    epoch_seed,
    normalization,
    sample_seed,
    shard_range,
)
from cnnzoo.data.datasets import (
    ImageArrays,
    check_same_size,
    holdout_indices,
    load_split,
    match_channels,
    random_subset,
)
from cnnzoo.data.mixing import batch_mixer
from cnnzoo.data.spec import Augment, DataSpec
from cnnzoo.errors import CnnzooError

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


class DeviceLoader(BatchLoader):
    """The whole split on the training device; yields (images float normalised, labels int64) batches.

    With mixup or cutmix the labels are (B, classes) float weights instead (see mixing.py).
    """

    def __init__(
        self,
        data: ImageArrays,
        batch_size: int,
        *,
        device: torch.device | str = "cpu",
        mean: Sequence[float] | torch.Tensor,
        std: Sequence[float],
        shuffle: bool = False,
        augment: Augment | None = None,
        drop_last: bool = False,
        seed: int = 0,
        channels_last: bool = False,
        dtype: torch.dtype = torch.float32,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        if batch_size < 1:
            raise CnnzooError(f"batch size must be >= 1, got {batch_size}")
        channels, height, width = data.images.shape[1:]
        if len(mean) != channels or len(std) != channels:
            raise CnnzooError(f"mean and std need {channels} values (one per channel), got {len(mean)} and {len(std)}")
        check_mean_image(mean, (channels, height, width))
        augment = augment or Augment()
        check_augment_fits(augment, height, width)
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
        self.policy = build_policy(augment.auto_augment)
        self._host_order: torch.Tensor | None = None  # the epoch's order on the host, for the policy's seeds
        self.drop_last = drop_last
        self.seed = seed
        self.rank, self.world = rank, world  # this process's shard of every batch (base.shard_range)
        self.epoch = 0
        self.channels_last = channels_last
        self.dtype = dtype
        # (x / 255 - mean) / std as one multiply-subtract; `mean` per channel, or a C×H×W mean image.
        std_t = torch.tensor(std, dtype=torch.float64).view(1, -1, 1, 1)
        mean_t = torch.as_tensor(mean, dtype=torch.float64)
        self._pixel_mean = mean_t.dim() == 3
        mean_t = mean_t.unsqueeze(0) if self._pixel_mean else mean_t.view(1, -1, 1, 1)
        self._scale = (1.0 / (255.0 * std_t)).to(self.device, dtype)
        self._shift = (mean_t / std_t).to(self.device, dtype)
        # A mean image is subtracted before pad, crop and flip, as in He et al. (2016) §4.2 (the padding is then
        # zero, the mean): crop(pad0(x/255 - M)) = crop(pad0(x))/255 - crop(pad0(M)), so the uint8 images are
        # augmented as before and the mean image is cropped and flipped with the same offsets, per batch.
        if self._pixel_mean and augment.crop_padding:
            self._shift = pad_for_crop(self._shift, augment.crop_padding)

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
        if self.policy is not None:
            self._host_order = plan.get("order", torch.arange(n))
        return {key: value.to(self.device, non_blocking=True) for key, value in plan.items()}

    def _batch_shift(self, plan: dict[str, torch.Tensor], start: int, stop: int, flip: torch.Tensor | None):
        """What a batch subtracts: the per-channel shift, or the mean image as its images were cropped and flipped."""
        if not self._pixel_mean or ("crop_top" not in plan and flip is None):
            return self._shift
        if "crop_top" in plan:
            top, left = plan["crop_top"][start:stop], plan["crop_left"][start:stop]
            index = torch.zeros(stop - start, dtype=torch.long, device=self.device)
            return crop_flip(self._shift, index, top, left, *self.images.shape[2:], flip=flip)
        return flip_where(self._shift.expand(stop - start, *self._shift.shape[1:]), flip)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        plan = self._plan()
        order = plan.get("order")
        shape = self.images.shape[1:]
        mix = batch_mixer(self.augment, len(self.classes), self.seed, self.epoch)
        policy_seed = epoch_seed(self.seed, self.epoch)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            start, stop = shard_range(start, min(start + self.batch_size, self.num_samples), self.rank, self.world)
            if start == stop:  # a short last evaluation batch has no images for the last ranks
                continue
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
            if self.policy is not None:
                seeds = [sample_seed(policy_seed, i) for i in self._host_order[start:stop].tolist()]
                images = apply_policy(self.policy, images, seeds)
            batch = images.to(self.dtype).mul_(self._scale).sub_(self._batch_shift(plan, start, stop, flip))
            if "cut_top" in plan:
                top, left = plan["cut_top"][start:stop], plan["cut_left"][start:stop]
                batch.mul_(cutout_mask(batch.shape, self.augment.cutout, top, left, keep=True))  # zero = the mean
            if mix is not None:
                batch, labels = mix(batch, labels)
            if self.channels_last:
                batch = batch.contiguous(memory_format=torch.channels_last)
            yield batch, labels


# --- a DataSpec → loaders ---------------------------------------------------------------------------------------


def build_device_loaders(spec: DataSpec, device: torch.device | str = "cpu") -> Loaders:
    """The whole splits in memory: hold out `spec.holdout` train images (seeded, stratified), keep the limits.

    Mean and std are measured on the train images that remain; the test split must have the train images'
    size and is converted to their channels. With `spec.test_only`, only the test split, by `spec.stats`.
    """
    options = dict(download=spec.download, cache_dir=spec.cache_dir, skip_corrupt=spec.skip_corrupt)
    test = load_split(spec.name, "test", spec.data_dir, image_size=spec.image_size, **options)
    test = random_subset(test, spec.eval_limit, spec.seed + 2)
    train: ImageArrays | None = None
    val: ImageArrays | None = None
    val_indices: torch.Tensor | None = None
    if spec.test_only:
        classes, skipped = test.classes, test.skipped
    else:
        train = load_split(spec.name, "train", spec.data_dir, image_size=spec.image_size, **options)
        check_same_size(train.images.shape[2:], test.images.shape[2:], spec.data_dir or spec.name)
        if spec.holdout:
            rest, val_indices = holdout_indices(train.labels, spec.holdout, spec.seed)
            train, val = train.subset(rest), train.subset(val_indices)
            val = random_subset(val, spec.eval_limit, spec.seed + 1)
        train = random_subset(train, spec.train_limit, spec.seed)
        classes, skipped = train.classes, train.skipped + test.skipped
    mean, std, mean_image = normalization(spec, train, f"the train images of {spec.data_dir or spec.name}")
    test = match_channels(test, len(mean), f"the test images of {spec.data_dir or spec.name}")
    loader_mean = mean if mean_image is None else mean_image
    stats = dict(
        mean=loader_mean, std=std, device=device, channels_last=spec.channels_last,
        rank=spec.rank, world=spec.world,
    )  # fmt: skip
    train_loader = None
    if train is not None:
        drop = spec.drop_last and len(train) >= spec.batch_size
        train_loader = DeviceLoader(
            train, spec.batch_size, shuffle=True, augment=spec.augment, drop_last=drop, seed=spec.seed, **stats
        )
    return Loaders(
        train=train_loader,
        val=DeviceLoader(val, spec.eval_batch, **stats) if val is not None else None,
        test=DeviceLoader(test, spec.eval_batch, **stats),
        classes=list(classes),
        mean=tuple(mean),
        std=tuple(std),
        in_chans=len(mean),
        image_size=test.images.shape[2],
        kind="device",
        image_width=test.images.shape[3],
        skipped=skipped,
        val_indices=val_indices,
        mean_image=mean_image,
    )
