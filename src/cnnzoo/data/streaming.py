"""The standard DataLoader path, for image folders too large to decode into memory.

torchvision's ImageFolder order and per-image transforms (RandomCrop with padding, RandomHorizontalFlip,
ToTensor, Normalize, RandomErasing as cutout) in worker processes, behind the DeviceLoader's protocol:
`set_epoch`, `__iter__` yielding normalised float batches already on the device, `__len__`, `num_samples`,
`classes`. Each image's augmentation is seeded by (seed, epoch, index), so an epoch is the same whatever the
number of workers; unreadable images are reported by path, or skipped and counted in `skipped`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from cnnzoo.data.datasets import (
    DECODE_ERRORS,
    channel_stats,
    decode_folder,
    folder_samples,
    holdout_indices,
    open_image,
)
from cnnzoo.data.device_loader import Augment, BatchLoader, Loaders, epoch_seed
from cnnzoo.errors import CnnzooError

STATS_SAMPLE = 2000  # train images decoded to estimate mean and std when streaming


def _sample_seed(seed: int, index: int) -> int:
    return (seed ^ ((index + 1) * 0x9E3779B97F4A7C15)) & ((1 << 63) - 1)


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
            torch.manual_seed(_sample_seed(self.seed, index))
            return self.transform(img), label, None


def _collate(batch):
    images = [image for image, _, _ in batch if image is not None]
    labels = torch.tensor([label for image, label, _ in batch if image is not None], dtype=torch.long)
    errors = [error for _, _, error in batch if error is not None]
    return (torch.stack(images) if images else None), labels, errors


def _peek(samples: list[tuple[str, int]], image_size: int | None) -> tuple[bool, int, int]:
    """(grey, height, width) of the first readable image."""
    for path, _ in samples[:100]:
        try:
            img = open_image(path, image_size=image_size)
        except DECODE_ERRORS:
            continue
        return img.mode == "L", img.height, img.width
    raise CnnzooError(f"no readable image among the first {min(len(samples), 100)} files (first: {samples[0][0]})")


class StreamingLoader(BatchLoader):
    """An image folder split read from disk by DataLoader workers; same protocol as DeviceLoader."""

    def __init__(
        self,
        root: str | Path,
        split: str,
        batch_size: int,
        *,
        device: torch.device | str = "cpu",
        mean: Sequence[float],
        std: Sequence[float],
        shuffle: bool = False,
        augment: Augment | None = None,
        image_size: int | None = None,
        workers: int = 2,
        seed: int = 0,
        skip_corrupt: bool = False,
        drop_last: bool = False,
        channels_last: bool = False,
        dtype: torch.dtype = torch.float32,
        indices: Sequence[int] | torch.Tensor | None = None,
        in_chans: int | None = None,
    ) -> None:
        from torchvision import transforms as T

        if batch_size < 1:
            raise CnnzooError(f"batch size must be >= 1, got {batch_size}")
        samples, classes = folder_samples(Path(root), split)
        if indices is not None:
            samples = [samples[i] for i in torch.as_tensor(indices).tolist()]
        grey, height, width = _peek(samples, image_size)
        if in_chans is not None:
            grey = in_chans == 1
        channels = 1 if grey else 3
        if len(mean) != channels or len(std) != channels:
            raise CnnzooError(
                f"mean and std need {channels} values (one per channel), got {len(mean)} and {len(std)}"
            )
        augment = augment or Augment()
        steps: list = []
        if augment.crop_padding:
            steps.append(T.RandomCrop((height, width), padding=augment.crop_padding))
        if augment.flip:
            steps.append(T.RandomHorizontalFlip())
        steps += [T.ToTensor(), T.Normalize(mean, std)]
        if augment.cutout:
            area = augment.cutout**2 / (height * width)
            steps.append(T.RandomErasing(p=1.0, scale=(area, area), ratio=(1.0, 1.0), value=0))
        self.dataset = _FolderImages(samples, T.Compose(steps), grey, image_size, (width, height))
        self.device = torch.device(device)
        self.classes = list(classes)
        self.num_samples = len(samples)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.augment = augment
        self.workers = workers
        self.seed = seed
        self.epoch = 0
        self.skip_corrupt = skip_corrupt
        self.skipped_paths: set[str] = set()  # unreadable images met so far
        self.drop_last = drop_last
        self.channels_last = channels_last
        self.dtype = dtype

    @property
    def skipped(self) -> int:
        """How many unreadable images were left out so far."""
        return len(self.skipped_paths)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        seed = epoch_seed(self.seed, self.epoch)
        self.dataset.seed = seed
        batches = DataLoader(
            self.dataset,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            generator=torch.Generator().manual_seed(seed),
            num_workers=self.workers,
            collate_fn=_collate,
            drop_last=self.drop_last,
            pin_memory=self.device.type == "cuda",
        )
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
            if self.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            yield images, labels.to(self.device, non_blocking=True)


def estimate_folder_bytes(root: Path, image_size: int | None = None) -> int:
    """Bytes the decoded train and test splits of an image folder would take as uint8 tensors."""
    total = 0
    for split in ("train", "test"):
        if not (root / split).is_dir():
            continue
        samples, _ = folder_samples(root, split)
        if samples:
            grey, height, width = _peek(samples, image_size)
            total += len(samples) * (1 if grey else 3) * height * width
    return total


def build_streaming_loaders(
    root: Path,
    *,
    batch_size: int,
    eval_batch_size: int,
    device: torch.device | str,
    val_size: int | float,
    augment: Augment | None,
    seed: int,
    skip_corrupt: bool,
    workers: int,
    train_limit: int | None,
    eval_limit: int | None,
    image_size: int | None,
    drop_last: bool,
    channels_last: bool,
    dtype: torch.dtype,
) -> Loaders:
    """`build_loaders` for a folder streamed from disk; mean and std from a seeded sample of the train images."""
    samples, classes = folder_samples(root, "train")
    labels = torch.tensor([label for _, label in samples], dtype=torch.long)
    train_idx, val_idx = holdout_indices(labels, val_size, seed)
    held_out = val_idx
    if train_limit is not None and train_limit < len(train_idx):
        train_idx = train_idx[holdout_indices(labels[train_idx], train_limit, seed)[1]]
    if eval_limit is not None and eval_limit < len(val_idx):
        val_idx = val_idx[holdout_indices(labels[val_idx], eval_limit, seed + 1)[1]]
    test_samples, _ = folder_samples(root, "test")
    test_idx = torch.arange(len(test_samples))
    if eval_limit is not None and eval_limit < len(test_idx):
        test_labels = torch.tensor([label for _, label in test_samples], dtype=torch.long)
        test_idx = holdout_indices(test_labels, eval_limit, seed + 2)[1]

    sample_idx = train_idx
    if len(train_idx) > STATS_SAMPLE:
        sample_idx = train_idx[holdout_indices(labels[train_idx], STATS_SAMPLE, seed + 3)[1]]
    grey, height, width = _peek([samples[i] for i in train_idx.tolist()], image_size)
    sample = [samples[i] for i in sample_idx.tolist()]
    stats_data = decode_folder(sample, classes, image_size=image_size, skip_corrupt=True)
    mean, std = channel_stats(stats_data)
    if grey and len(mean) == 3:  # a folder of mostly grey images with a colour one in the sample
        mean, std = (sum(mean) / 3,), (sum(std) / 3,)
    elif not grey and len(mean) == 1:
        mean, std = mean * 3, std * 3
    in_chans = 1 if grey else 3
    common = dict(
        device=device, mean=mean, std=std, image_size=image_size, workers=workers, seed=seed,
        skip_corrupt=skip_corrupt, channels_last=channels_last, dtype=dtype, in_chans=in_chans,
    )  # fmt: skip
    drop = drop_last and len(train_idx) >= batch_size
    train = StreamingLoader(
        root, "train", batch_size, shuffle=True, augment=augment, drop_last=drop, indices=train_idx, **common
    )
    val = StreamingLoader(root, "train", eval_batch_size, indices=val_idx, **common) if val_size else None
    test = StreamingLoader(root, "test", eval_batch_size, indices=test_idx, **common)
    return Loaders(
        train=train, val=val, test=test, classes=list(classes), mean=mean, std=std, in_chans=in_chans,
        image_size=height, kind="stream", image_width=width, skipped=stats_data.skipped,
        val_indices=held_out if val_size else None,
    )  # fmt: skip
