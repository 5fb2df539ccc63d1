"""The standard DataLoader path, for image folders too large to decode into memory.

torchvision's ImageFolder order and per-image transforms (RandomCrop with padding, RandomHorizontalFlip, a
torchvision policy such as TrivialAugmentWide, ToTensor, Normalize, RandomErasing as cutout) in worker processes,
then mixup/cutmix of the whole batch on the device (mixing.py), behind the DeviceLoader's protocol:
`set_epoch`, `__iter__` yielding normalised float batches already on the device, `__len__`, `num_samples`,
`classes`. Each image's augmentation is seeded by (seed, epoch, index), so an epoch is the same whatever the
number of workers; unreadable images are reported by path, or skipped and counted in `skipped`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from cnnzoo.data.base import (
    BatchLoader,
    Loaders,
    build_policy,
    check_augment_fits,
    check_mean_image,
    epoch_seed,
    normalization,
    sample_seed,
    shard_range,
)
from cnnzoo.data.datasets import (
    DECODE_ERRORS,
    check_same_size,
    decode_folder,
    folder_root,
    folder_samples,
    holdout_indices,
    match_channels,
    open_image,
    peek_image,
)
from cnnzoo.data.mixing import batch_mixer
from cnnzoo.data.spec import Augment, DataSpec
from cnnzoo.errors import CnnzooError

STATS_SAMPLE = 2000  # train images decoded to estimate mean and std when streaming
STATS_SAMPLE_BYTES = 512 * 2**20  # ... at most this many bytes of them (decoded as RGB)


class _FolderImages(Dataset):
    """(path, label) samples → (normalised tensor, label, None), or (None, label, problem) when unusable.

    A problem is (path, reason, fatal): unreadable files may be skipped, an image of another size may not.
    """

    def __init__(
        self, samples: list[tuple[str, int]], transform, grey: bool, image_size: int | None, size: tuple[int, int]
    ) -> None:
        self.samples = samples
        self.transform = transform
        self.grey = grey
        self.image_size = image_size
        self.size = size  # (width, height) every image must have
        self.seed = 0  # the epoch's seed, set before each pass (workers are started afresh every epoch)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        try:
            img = open_image(path, grey=self.grey, image_size=self.image_size)
        except DECODE_ERRORS as err:
            return None, label, (path, f"{type(err).__name__}: {err}", False)
        if img.size != self.size:
            width, height = self.size
            reason = f"it is {img.width}×{img.height}, the others {width}×{height}; pass --image-size N to resize"
            return None, label, (path, reason, True)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(sample_seed(self.seed, index))
            return self.transform(img), label, None


def _collate(batch):
    images = [image for image, _, _ in batch if image is not None]
    labels = torch.tensor([label for image, label, _ in batch if image is not None], dtype=torch.long)
    errors = [error for _, _, error in batch if error is not None]
    return (torch.stack(images) if images else None), labels, errors


def stream_root(spec: DataSpec) -> Path:
    """The image folder the spec names; only folders stream (array datasets are loaded into memory)."""
    root = folder_root(spec.name, spec.data_dir)
    if root is None:
        raise CnnzooError(
            f"the streaming loader reads image folders only; {spec.name!r} is an array dataset, which build_loaders "
            f"holds in memory"
        )
    return root


def image_transform(augment: Augment, mean, std, height: int, width: int):
    """One image's way from PIL to a normalised tensor: crop and flip, a policy, normalisation, cutout."""
    from torchvision import transforms as T

    geometry: list = []
    if augment.crop_padding:
        geometry.append(T.RandomCrop((height, width), padding=augment.crop_padding))
    if augment.flip:
        geometry.append(T.RandomHorizontalFlip())
    policy = [build_policy(augment.auto_augment)] if augment.auto_augment != "none" else []
    normalize = [T.ToTensor(), T.Normalize(mean, std)]  # Normalize broadcasts a C×H×W mean image too
    if torch.is_tensor(mean) and mean.dim() == 3:
        # He et al. (2016) §4.2: the mean image is subtracted first, then the image is zero-padded (i.e. by
        # the mean), cropped and flipped (same draws as on PIL); a policy needs pixels, so it comes first.
        steps = policy + normalize + geometry
    else:
        steps = geometry + policy + normalize
    if augment.cutout:
        area = augment.cutout**2 / (height * width)
        steps.append(T.RandomErasing(p=1.0, scale=(area, area), ratio=(1.0, 1.0), value=0))
    return T.Compose(steps)


class StreamingLoader(BatchLoader):
    """An image folder split read from disk by DataLoader workers; same protocol as DeviceLoader."""

    def __init__(
        self,
        spec: DataSpec,
        split: str,
        device: torch.device | str = "cpu",
        *,
        mean: Sequence[float] | torch.Tensor,
        std: Sequence[float],
        indices: Sequence[int] | torch.Tensor | None = None,
        train: bool = False,
        in_chans: int | None = None,
    ) -> None:
        """`split` of the spec's folder (the `indices` of it, default all), normalised by `mean` and `std`.

        `mean` is per channel, or a C×H×W mean image (normalize="pixel").

        `train`: the training loader (shuffled, augmented, spec.batch_size, drop_last), else an evaluation one
        (in order, spec.eval_batch). `in_chans` converts every image to that many channels (default: as the
        first readable image).
        """
        root = stream_root(spec)
        samples, classes = folder_samples(root, split)
        if indices is not None:
            samples = [samples[i] for i in torch.as_tensor(indices).tolist()]
        grey, height, width = peek_image(samples, spec.image_size)
        if in_chans is not None:
            grey = in_chans == 1
        channels = 1 if grey else 3
        if len(mean) != channels or len(std) != channels:
            raise CnnzooError(f"mean and std need {channels} values (one per channel), got {len(mean)} and {len(std)}")
        check_mean_image(mean, (channels, height, width))
        augment = spec.augment if train else Augment()
        check_augment_fits(augment, height, width)
        transform = image_transform(augment, mean, std, height, width)
        self.dataset = _FolderImages(samples, transform, grey, spec.image_size, (width, height))
        self.device = torch.device(device)
        self.classes = list(classes)
        self.num_samples = len(samples)
        self.batch_size = spec.batch_size if train else spec.eval_batch
        self.shuffle = train
        self.augment = augment
        self.workers = spec.workers
        self.seed = spec.seed
        self.epoch = 0
        self.skip_corrupt = spec.skip_corrupt
        self.skipped_paths: set[str] = set()  # unreadable images met so far
        self.drop_last = train and spec.drop_last and self.num_samples >= self.batch_size
        self.channels_last = spec.channels_last
        self.dtype = torch.float32
        self.rank, self.world = spec.rank, spec.world

    @property
    def skipped(self) -> int:
        """How many unreadable images were left out so far."""
        return len(self.skipped_paths)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        seed = epoch_seed(self.seed, self.epoch)
        self.dataset.seed = seed
        generator = torch.Generator().manual_seed(seed)
        if self.world > 1:  # this rank's shard of each global batch of the epoch's permutation
            batching = dict(batch_sampler=self._shards(generator))
        else:
            batching = dict(
                batch_size=self.batch_size, shuffle=self.shuffle, generator=generator, drop_last=self.drop_last
            )
        batches = DataLoader(
            self.dataset,
            num_workers=self.workers,
            collate_fn=_collate,
            pin_memory=self.device.type == "cuda",
            **batching,
        )
        mix = batch_mixer(self.augment, len(self.classes), self.seed, self.epoch)
        for images, labels, problems in batches:
            for path, reason, fatal in problems:
                if fatal:
                    raise CnnzooError(f"cannot use image {path}: {reason}")
                if not self.skip_corrupt:
                    raise CnnzooError(
                        f"cannot read image {path} ({reason}); fix or remove it, or pass --skip-corrupt to leave "
                        f"unreadable images out"
                    )
            self.skipped_paths.update(path for path, _, _ in problems)
            if images is None:
                continue
            images = images.to(self.device, self.dtype, non_blocking=True)
            labels = labels.to(self.device, non_blocking=True)
            if mix is not None:
                images, labels = mix(images, labels)
            if self.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            yield images, labels

    def _shards(self, generator: torch.Generator) -> list[list[int]]:
        """Per global batch, this rank's indices: the same permutation on every rank (as DataLoader's shuffle)."""
        n = self.num_samples
        order = torch.randperm(n, generator=generator) if self.shuffle else torch.arange(n)
        starts = range(0, len(self) * self.batch_size, self.batch_size)
        ranges = (shard_range(s, min(s + self.batch_size, n), self.rank, self.world) for s in starts)
        return [order[lo:hi].tolist() for lo, hi in ranges if lo < hi]


def build_streaming_loaders(spec: DataSpec, device: torch.device | str = "cpu") -> Loaders:
    """Loaders for a folder streamed from disk; mean and std from a seeded sample of the train images.

    The test split must have the train images' size and is converted to their channels; with
    `spec.test_only`, only the test split, normalised by `spec.stats`.
    """
    root = stream_root(spec)
    seed, eval_limit = spec.seed, spec.eval_limit
    test_samples, test_classes = folder_samples(root, "test")
    test_idx = torch.arange(len(test_samples))
    if eval_limit is not None and eval_limit < len(test_idx):
        test_labels = torch.tensor([label for _, label in test_samples], dtype=torch.long)
        test_idx = holdout_indices(test_labels, eval_limit, seed + 2)[1]
    _, height, width = peek_image(test_samples, spec.image_size)
    if spec.test_only:
        mean, std, mean_image = normalization(spec, None, "")
        common = dict(device=device, mean=mean if mean_image is None else mean_image, std=std, in_chans=len(mean))
        test = StreamingLoader(spec, "test", indices=test_idx, **common)
        return Loaders(
            train=None, val=None, test=test, classes=list(test_classes), mean=mean, std=std,
            in_chans=len(mean), image_size=height, kind="stream", image_width=width, mean_image=mean_image,
        )  # fmt: skip

    samples, classes = folder_samples(root, "train")
    labels = torch.tensor([label for _, label in samples], dtype=torch.long)
    train_idx, val_idx = holdout_indices(labels, spec.holdout, seed)
    held_out = val_idx if spec.holdout else None
    if spec.train_limit is not None and spec.train_limit < len(train_idx):
        train_idx = train_idx[holdout_indices(labels[train_idx], spec.train_limit, seed)[1]]
    if eval_limit is not None and eval_limit < len(val_idx):
        val_idx = val_idx[holdout_indices(labels[val_idx], eval_limit, seed + 1)[1]]
    grey, train_height, train_width = peek_image([samples[i] for i in train_idx.tolist()], spec.image_size)
    check_same_size((train_height, train_width), (height, width), root)

    # Mean and std (or the mean image) from a seeded sample, at most STATS_SAMPLE_BYTES of decoded pixels (huge
    # images: fewer).
    channels = 1 if grey else 3
    size = min(STATS_SAMPLE, max(1, STATS_SAMPLE_BYTES // (3 * height * width)))
    sample_idx = train_idx
    if len(train_idx) > size:
        sample_idx = train_idx[holdout_indices(labels[train_idx], size, seed + 3)[1]]
    sample = [samples[i] for i in sample_idx.tolist()]
    stats_data = decode_folder(sample, classes, image_size=spec.image_size, skip_corrupt=True)
    stats_data = match_channels(stats_data, channels, f"the sampled train images of {root}")
    mean, std, mean_image = normalization(spec, stats_data, f"the train images of {root}")
    common = dict(device=device, mean=mean if mean_image is None else mean_image, std=std, in_chans=channels)
    train = StreamingLoader(spec, "train", indices=train_idx, train=True, **common)
    val = StreamingLoader(spec, "train", indices=val_idx, **common) if spec.holdout else None
    test = StreamingLoader(spec, "test", indices=test_idx, **common)
    return Loaders(
        train=train, val=val, test=test, classes=list(classes), mean=mean, std=std, in_chans=channels,
        image_size=height, kind="stream", image_width=width, skipped=stats_data.skipped, val_indices=held_out,
        mean_image=mean_image,
    )  # fmt: skip
