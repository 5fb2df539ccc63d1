"""DeviceLoader: whole-batch augmentation is correct, seeded by (seed, epoch), and covers every sample once."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cnnzoo.data import Augment, DataSpec, DeviceLoader, ImageArrays, build_loaders, channel_stats
from cnnzoo.data.device_loader import as_words, cutout_mask, flip_where, padded_crop
from cnnzoo.errors import CnnzooError

MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)


def _data(n: int = 20, size: int = 6, channels: int = 3) -> ImageArrays:
    """Random pixels in 1..255 (0 only where padding or cutout put it); label i for image i."""
    images = torch.randint(1, 256, (n, channels, size, size), dtype=torch.uint8)
    return ImageArrays(images, torch.arange(n), [str(i) for i in range(n)])


def _normalise(images: torch.Tensor) -> torch.Tensor:
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    return (images.float() / 255 - mean) / std


def _pixels(batch: torch.Tensor) -> torch.Tensor:
    """Back from normalised floats to uint8 pixel values."""
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    return ((batch * std + mean) * 255).round().to(torch.uint8)


def _epoch(loader) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = zip(*loader)
    return torch.cat(images), torch.cat(labels)


def test_padded_crop_is_a_shifted_window_of_the_padded_image():
    images = torch.randint(1, 256, (5, 3, 6, 7), dtype=torch.uint8)
    top, left = torch.tensor([0, 4, 2, 1, 3]), torch.tensor([4, 0, 2, 3, 1])
    out = padded_crop(images, 2, top, left)
    padded = F.pad(images, (2, 2, 2, 2))
    for i in range(5):
        assert torch.equal(out[i], padded[i, :, top[i] : top[i] + 6, left[i] : left[i] + 7])
    assert torch.equal(out[2], images[2])  # offset (p, p) is the identity


def test_crop_with_flip_folded_in_equals_flipping_the_crop():
    images = torch.randint(1, 256, (6, 3, 5, 9), dtype=torch.uint8)
    top, left = torch.randint(0, 7, (6,)), torch.randint(0, 7, (6,))
    flip = torch.tensor([True, False, True, True, False, False])
    expected = flip_where(padded_crop(images, 3, top, left), flip)
    assert torch.equal(padded_crop(images, 3, top, left, flip=flip), expected)


def test_rows_are_moved_as_wide_words_without_copies():
    images = torch.zeros(4, 3, 8, 8, dtype=torch.uint8)
    words = as_words(images.reshape(4, -1))
    assert words.dtype == torch.int64 and words.shape == (4, 24) and words.data_ptr() == images.data_ptr()
    assert as_words(torch.zeros(2, 7, dtype=torch.uint8)).dtype == torch.uint8  # 7 bytes: no wider type tiles it


def test_flip_where_mirrors_only_the_chosen_images():
    images = torch.randint(0, 256, (4, 3, 5, 5), dtype=torch.uint8)
    out = flip_where(images, torch.tensor([True, False, True, False]))
    assert torch.equal(out[0], images[0].flip(-1)) and torch.equal(out[1], images[1])
    assert torch.equal(out[2, :, :, 0], images[2, :, :, -1]) and torch.equal(out[3], images[3])


def test_cutout_mask_is_a_square_of_the_right_size_at_the_right_place():
    mask = cutout_mask(torch.Size((3, 3, 8, 9)), 3, torch.tensor([0, 5, 2]), torch.tensor([6, 0, 3]))
    assert mask.shape == (3, 1, 8, 9) and mask.sum((1, 2, 3)).tolist() == [9, 9, 9]
    assert mask[0, 0, 0:3, 6:9].all() and mask[1, 0, 5:8, 0:3].all() and mask[2, 0, 2:5, 3:6].all()
    keep = cutout_mask(torch.Size((3, 3, 8, 9)), 3, torch.tensor([0, 5, 2]), torch.tensor([6, 0, 3]), keep=True)
    assert torch.equal(keep, ~mask)


def test_normalisation_without_augmentation_gives_the_right_values():
    data = _data()
    loader = DeviceLoader(data, 8, mean=MEAN, std=STD)
    images, labels = _epoch(loader)
    assert images.dtype == torch.float32 and labels.dtype == torch.int64
    assert torch.allclose(images, _normalise(data.images), atol=1e-5)
    assert labels.tolist() == list(range(20)) and [len(y) for _, y in loader] == [8, 8, 4]


def test_loader_crop_gives_windows_of_the_zero_padded_images():
    data = _data(size=5)
    loader = DeviceLoader(data, 7, mean=MEAN, std=STD, shuffle=True, augment=Augment(crop_padding=2), seed=1)
    images, labels = _epoch(loader)
    padded = F.pad(data.images, (2, 2, 2, 2))
    offsets = set()
    for image, label in zip(_pixels(images), labels):
        shifts = [(dy, dx) for dy in range(5) for dx in range(5)]
        windows = [(dy, dx) for dy, dx in shifts if torch.equal(image, padded[label, :, dy : dy + 5, dx : dx + 5])]
        assert windows, f"image {label} is no window of its padded original"
        offsets.update(windows)
    assert len(offsets) > 5  # offsets vary from sample to sample


def test_loader_flip_mirrors_about_half_the_images():
    data = _data(n=64)
    loader = DeviceLoader(data, 16, mean=MEAN, std=STD, augment=Augment(flip=True))
    images, labels = _epoch(loader)
    flipped = 0
    for image, label in zip(_pixels(images), labels):
        same, mirrored = torch.equal(image, data.images[label]), torch.equal(image, data.images[label].flip(-1))
        assert same or mirrored
        flipped += mirrored
    assert 16 < flipped < 48


def test_loader_cutout_zeros_one_square_of_the_right_size_after_normalisation():
    data = _data(n=12, size=8)
    loader = DeviceLoader(data, 5, mean=MEAN, std=STD, augment=Augment(cutout=3))
    images, labels = _epoch(loader)
    expected = _normalise(data.images)
    for image, label in zip(images, labels):
        zero = (image == 0).all(0)  # pixels are 1..255, so only cutout makes a zero (= the mean) at every channel
        rows, cols = torch.nonzero(zero, as_tuple=True)
        assert zero.sum() == 9 and rows.max() - rows.min() == 2 and cols.max() - cols.min() == 2
        assert torch.allclose(image[:, ~zero], expected[label][:, ~zero], atol=1e-5)


def test_same_seed_and_epoch_same_batches_other_epoch_or_seed_different():
    data, augment = _data(n=30), Augment(crop_padding=2, flip=True, cutout=2)

    def epoch(seed: int, number: int) -> list[torch.Tensor]:
        loader = DeviceLoader(data, 8, mean=MEAN, std=STD, shuffle=True, augment=augment, seed=seed)
        loader.set_epoch(number)
        return [t for batch in loader for t in batch]

    first = epoch(0, 3)
    torch.manual_seed(123)  # the global RNG has no say
    assert all(torch.equal(a, b) for a, b in zip(first, epoch(0, 3)))
    assert not torch.equal(first[1], epoch(0, 4)[1]) and not torch.equal(first[1], epoch(1, 3)[1])


def test_every_sample_once_per_epoch_when_shuffled():
    loader = DeviceLoader(_data(n=23), 5, mean=MEAN, std=STD, shuffle=True, augment=Augment(crop_padding=1, flip=True))
    orders = []
    for number in range(3):
        loader.set_epoch(number)
        _, labels = _epoch(loader)
        assert sorted(labels.tolist()) == list(range(23))
        orders.append(labels.tolist())
    assert orders[0] != list(range(23)) and orders[0] != orders[1]


def test_drop_last_and_length():
    data = _data(n=23)
    assert len(DeviceLoader(data, 5, mean=MEAN, std=STD)) == 5
    loader = DeviceLoader(data, 5, mean=MEAN, std=STD, shuffle=True, drop_last=True)
    assert len(loader) == 4 and [len(y) for _, y in loader] == [5, 5, 5, 5]


def test_an_empty_split_gives_no_batches():
    empty = _data(n=4).subset(torch.tensor([], dtype=torch.long))
    loader = DeviceLoader(empty, 8, mean=MEAN, std=STD, shuffle=True, augment=Augment(2, True, 2))
    assert len(loader) == 0 and list(loader) == []


def test_channels_last_and_dtype_options():
    loader = DeviceLoader(_data(), 8, mean=MEAN, std=STD, channels_last=True, dtype=torch.bfloat16)
    images, _ = next(iter(loader))
    assert images.dtype == torch.bfloat16 and images.is_contiguous(memory_format=torch.channels_last)


def test_bad_arguments_are_errors_for_people():
    with pytest.raises(CnnzooError, match="mean and std need 3 values"):
        DeviceLoader(_data(), 8, mean=(0.5,), std=(0.2,))
    with pytest.raises(CnnzooError, match="cutout 9 is larger"):
        DeviceLoader(_data(size=6), 8, mean=MEAN, std=STD, augment=Augment(cutout=9))
    with pytest.raises(CnnzooError, match="batch size"):
        DeviceLoader(_data(), 0, mean=MEAN, std=STD)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_batches_equal_cpu_batches():
    data, augment = _data(n=40, size=8), Augment(crop_padding=2, flip=True, cutout=3)
    batches = {}
    for device in ("cpu", "cuda"):
        loader = DeviceLoader(data, 16, device=device, mean=MEAN, std=STD, shuffle=True, augment=augment, seed=5)
        loader.set_epoch(2)
        batches[device] = [(x.cpu(), y.cpu()) for x, y in loader]
    for (x_cpu, y_cpu), (x_gpu, y_gpu) in zip(batches["cpu"], batches["cuda"]):
        assert torch.equal(y_cpu, y_gpu) and torch.allclose(x_cpu, x_gpu, atol=1e-6)


def test_build_loaders_holds_out_limits_and_measures_the_train_split():
    spec = DataSpec("digits", batch_size=64, eval_batch_size=100, val_size=200, augment=Augment(1, True))
    loaders = build_loaders(spec)
    train, val, test = loaders.train, loaders.val, loaders.test
    assert (train.num_samples, val.num_samples, test.num_samples) == (1297, 200, 300)
    assert len(train) == 1297 // 64  # the last partial train batch is dropped
    assert (loaders.in_chans, loaders.image_size, loaders.num_classes) == (1, 8, 10)
    assert loaders.input_size == (1, 8, 8) and loaders.kind == "device"
    train_arrays = ImageArrays(train.images, train.labels, train.classes)
    mean, std = channel_stats(train_arrays)
    assert loaders.mean == pytest.approx(mean) and loaders.std == pytest.approx(std)

    small = build_loaders(DataSpec("digits", batch_size=32, val_size=200, train_limit=100, eval_limit=50, seed=0))
    assert (small.train.num_samples, small.val.num_samples, small.test.num_samples) == (100, 50, 50)
    full = build_loaders(DataSpec("digits", batch_size=32, val_size=200, full_train=True))
    assert full.val is None and full.train.num_samples == 1497
    assert build_loaders(DataSpec("digits", batch_size=32, val_size=0)).val is None


def test_build_loaders_holds_array_datasets_in_memory_under_stream_and_rejects_unknown_loaders():
    loaders = build_loaders(
        DataSpec("digits", batch_size=32, loader="stream", val_size=0)
    )  # nothing to stream: in memory
    assert loaders.kind == "device" and loaders.test.num_samples == 300
    with pytest.raises(CnnzooError, match="invalid loader 'fast'"):
        build_loaders(DataSpec("digits", batch_size=32, loader="fast", val_size=0))


def test_crop_padding_beyond_the_image_is_refused_before_any_allocation():
    """--crop-padding 4096 on 8x8 digits asked for a 90 GB padded copy; it is refused against the image size."""
    with pytest.raises(CnnzooError, match=r"crop_padding 4096 is larger than the 8×8 images; use at most 8"):
        build_loaders(DataSpec("digits", batch_size=64, val_size=0, augment=Augment(crop_padding=4096)))


def test_a_validation_fraction_below_one_image_is_refused():
    with pytest.raises(CnnzooError, match="less than one image"):
        build_loaders(DataSpec("digits", batch_size=64, val_size=1e-9))
