"""Dataset names → ImageArrays: digits, image folders, errors for people, holdout splits and statistics."""

from __future__ import annotations

import shutil
import struct
import urllib.error
import zlib
from collections import Counter

import numpy as np
import pytest
import torch
import torchvision.datasets
from PIL import Image

from cnnzoo.data.datasets import (
    DATASETS,
    ImageArrays,
    channel_stats,
    holdout_split,
    load_split,
    open_image,
    random_subset,
    to_8bit,
)
from cnnzoo.errors import CnnzooError


def test_digits_is_a_fixed_stratified_1497_300_split():
    from sklearn.datasets import load_digits

    train, test = load_split("digits", "train"), load_split("digits", "test")
    assert (len(train), len(test)) == (1497, 300)
    assert train.images.shape[1:] == (1, 8, 8) and train.images.dtype == torch.uint8
    assert train.labels.dtype == torch.int64 and train.classes == [str(d) for d in range(10)]
    assert int(train.images.max()) == 255 and int(train.images.min()) == 0  # 0..16 scaled to 0..255
    # Together they are the whole bundled set, each class split in proportion (30 ± 1 test images per class).
    reference = load_digits()
    assert Counter(train.labels.tolist()) + Counter(test.labels.tolist()) == Counter(reference.target.tolist())
    assert all(abs(n - 30) <= 2 for n in Counter(test.labels.tolist()).values())
    assert torch.equal(load_split("digits", "test").images, test.images)  # the same split every time


def test_imagefolder_reads_classes_labels_and_pixels(tiny_folder, cache_dir):
    root, arrays = tiny_folder
    train = load_split("imagefolder", "train", root, cache_dir=cache_dir)
    assert train.classes == ["cat", "dog", "eel"]
    assert train.labels.tolist() == [0] * 6 + [1] * 6 + [2] * 6
    assert train.images.shape == (18, 3, 8, 8)
    expected = torch.from_numpy(np.stack(arrays["train"])).permute(0, 3, 1, 2)
    assert torch.equal(train.images, expected)
    assert len(load_split("imagefolder", "test", root, cache_dir=cache_dir)) == 6


def test_folder_scan_matches_torchvision_imagefolder(tiny_folder):
    from cnnzoo.data.datasets import IMAGE_EXTENSIONS, folder_samples

    root, _ = tiny_folder
    (root / "train" / "dog" / "nested").mkdir()
    Image.new("RGB", (8, 8)).save(root / "train" / "dog" / "nested" / "x.PNG")
    (root / "train" / "dog" / "notes.txt").write_text("not an image")
    (root / "train" / "eel" / "b.JPG").write_bytes(b"")
    samples, classes = folder_samples(root, "train")
    reference = torchvision.datasets.ImageFolder(str(root / "train"))
    assert classes == reference.classes and samples == reference.samples and len(samples) == 20
    assert set(IMAGE_EXTENSIONS) == set(torchvision.datasets.folder.IMG_EXTENSIONS)


def test_grey_folder_gives_one_channel(tmp_path, cache_dir, make_folder):
    arrays = make_folder(tmp_path / "grey", mode="L")
    data = load_split("imagefolder", "train", tmp_path / "grey", cache_dir=cache_dir)
    assert data.images.shape == (18, 1, 8, 8)
    assert torch.equal(data.images[:, 0], torch.from_numpy(np.stack(arrays["train"])))


def test_images_of_different_sizes_need_image_size(tmp_path, cache_dir, make_folder):
    root = tmp_path / "mixed"
    make_folder(root)
    Image.new("RGB", (12, 10), (200, 10, 10)).save(root / "train" / "cat" / "big.png")
    with pytest.raises(CnnzooError, match=r"differ in size.*big\.png.*--image-size"):
        load_split("imagefolder", "train", root, cache_dir=cache_dir)
    data = load_split("imagefolder", "train", root, cache_dir=cache_dir, image_size=6)
    assert data.images.shape == (19, 3, 6, 6)


def test_corrupt_image_is_reported_by_path_or_skipped_and_counted(tiny_folder, cache_dir):
    root, _ = tiny_folder
    bad = root / "train" / "dog" / "03.png"
    bad.write_bytes(b"not a png at all")
    with pytest.raises(CnnzooError, match=r"cannot read image .*dog.03\.png.*--skip-corrupt"):
        load_split("imagefolder", "train", root, cache_dir=cache_dir)
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable"):
        data = load_split("imagefolder", "train", root, cache_dir=cache_dir, skip_corrupt=True)
    assert len(data) == 17 and data.skipped == 1 and data.skipped_paths[0].endswith("03.png")
    assert data.labels.tolist().count(1) == 5
    # The cached split remembers the bad file: without the flag it is still an error.
    with pytest.raises(CnnzooError, match=r"dog.03\.png"):
        load_split("imagefolder", "train", root, cache_dir=cache_dir)


def test_worker_processes_decode_the_same_pixels(tiny_folder, monkeypatch):
    from cnnzoo.data import datasets

    root, _ = tiny_folder
    (root / "train" / "eel" / "04.png").write_bytes(b"garbage")
    samples, classes = datasets.folder_samples(root, "train")
    monkeypatch.setattr(datasets, "_DECODE_CHUNK", 5)  # 18 files: 4 chunks over 2 processes
    serial = datasets.decode_folder(samples, classes, skip_corrupt=True, workers=1)
    parallel = datasets.decode_folder(samples, classes, skip_corrupt=True, workers=2)
    assert torch.equal(serial.images, parallel.images) and torch.equal(serial.labels, parallel.labels)
    assert serial.skipped_paths == parallel.skipped_paths and parallel.skipped == 1


def test_truncated_jpeg_is_corrupt(tiny_folder, cache_dir):
    root, _ = tiny_folder
    good = root / "test" / "eel" / "01.png"
    Image.open(good).save(root / "test" / "eel" / "02.jpg", quality=90)
    payload = (root / "test" / "eel" / "02.jpg").read_bytes()
    (root / "test" / "eel" / "02.jpg").write_bytes(payload[: len(payload) // 2])
    with pytest.raises(CnnzooError, match=r"eel.02\.jpg"):
        load_split("imagefolder", "test", root, cache_dir=cache_dir)


def _gradient16(height: int = 8, width: int = 8) -> np.ndarray:
    """16-bit grey pixels from 0 to 65535, with values that are not multiples of 257."""
    return np.linspace(0, 65535, height * width).round().astype(np.uint16).reshape(height, width)


def test_16_bit_grey_png_is_scaled_to_8_bits_not_clipped(tmp_path, cache_dir):
    pixels = _gradient16()
    for split in ("train", "test"):
        for name in ("a", "b"):
            (tmp_path / split / name).mkdir(parents=True)
            Image.fromarray(pixels).save(tmp_path / split / name / "00.png")
    path = tmp_path / "train" / "a" / "00.png"
    with Image.open(path) as stored:  # the file really holds 16 bits
        assert stored.mode == "I;16" and np.array_equal(np.asarray(stored), pixels)
    expected = np.rint(pixels / 257).astype(np.uint8)
    assert 0 < np.count_nonzero(expected < 255) < expected.size  # a gradient, not all white
    grey = open_image(str(path))
    assert grey.mode == "L" and np.array_equal(np.asarray(grey), expected)
    assert np.array_equal(np.asarray(open_image(str(path), grey=False)), np.repeat(expected[..., None], 3, axis=2))
    data = load_split("imagefolder", "train", tmp_path, cache_dir=cache_dir)  # the training decode
    assert data.images.shape == (2, 1, 8, 8) and np.array_equal(data.images[0, 0].numpy(), expected)


@pytest.mark.parametrize(("peak", "bits"), [(200, 8), (65535, 16), (2**31 - 1, 31)], ids=["8", "16", "32"])
def test_32_bit_integer_grey_is_scaled_by_its_bit_depth(peak, bits):
    pixels = np.linspace(0, peak, 64).round().astype(np.int32).reshape(8, 8)
    image = Image.fromarray(pixels)
    assert image.mode == "I"
    scaled = np.asarray(to_8bit(image))
    assert np.array_equal(scaled, np.rint(pixels * (255 / (2**bits - 1))).astype(np.uint8))


def _png16(path, pixels: np.ndarray, color_type: int) -> None:
    """A 16-bit PNG written by hand (Pillow cannot write 16-bit colour): colour type 2 is RGB, 4 grey+alpha."""
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", pixels.shape[1], pixels.shape[0], 16, color_type, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)


def test_16_bit_colour_png_keeps_its_high_byte(tmp_path):
    """Pillow reduces 16-bit RGB to 8 bits itself (the high byte); open_image keeps that, colour stays colour."""
    pixels = np.random.default_rng(0).integers(0, 65536, size=(4, 5, 3), dtype=np.uint16)
    _png16(tmp_path / "rgb16.png", pixels, color_type=2)
    image = open_image(str(tmp_path / "rgb16.png"))
    assert image.mode == "RGB" and np.array_equal(np.asarray(image), (pixels >> 8).astype(np.uint8))


def test_unknown_dataset_suggests_close_names():
    with pytest.raises(CnnzooError, match=r"unknown dataset 'cifar'.*Did you mean 'cifar10', 'cifar100'"):
        load_split("cifar", "train")
    with pytest.raises(CnnzooError, match=r"Did you mean 'fashion_mnist'"):
        load_split("fashion-mnist", "train")


def test_unknown_split_names_the_valid_ones():
    with pytest.raises(CnnzooError, match=r"invalid split 'val'.*'train', 'test'"):
        load_split("digits", "val")


def test_missing_data_names_the_path_and_the_flags(tmp_path, cache_dir):
    with pytest.raises(CnnzooError, match=r"no cifar10 data at .*cache.datasets.cifar10.*--data-dir.*--download"):
        load_split("cifar10", "train", download=False, cache_dir=cache_dir)
    with pytest.raises(CnnzooError, match=r"imagefolder.*needs --data-dir"):
        load_split("imagefolder", "train", cache_dir=cache_dir)
    with pytest.raises(CnnzooError, match=r"no test split at .*only.test.*--data-dir"):
        (tmp_path / "only" / "train" / "a").mkdir(parents=True)
        load_split("imagefolder", "test", tmp_path / "only", cache_dir=cache_dir)


def test_failed_download_says_where_and_what_to_pass(tmp_path, cache_dir, monkeypatch):
    class Offline:
        def __init__(self, root, train=True, download=False):
            raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", Offline)
    where = r"could not download or read cifar10 at .*cache.datasets.cifar10.*--data-dir"
    with pytest.raises(CnnzooError, match=where):
        load_split("cifar10", "train", cache_dir=cache_dir)  # downloads into <cache>/datasets/cifar10


def test_cifar10_accepts_an_imagefolder_copy_with_ten_classes(tmp_path, cache_dir, make_folder):
    names = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    make_folder(tmp_path / "ten", classes=names, per_class=(1, 1))
    data = load_split("cifar10", "test", tmp_path / "ten", cache_dir=cache_dir)
    assert data.classes == list(names) and data.labels.tolist() == list(range(10))
    with pytest.raises(CnnzooError, match=r"3 classes, but cifar10 has 10"):
        make_folder(tmp_path / "three")
        load_split("cifar10", "test", tmp_path / "three", cache_dir=cache_dir)


def _arrays(labels: list[int]) -> ImageArrays:
    n = len(labels)
    images = torch.arange(n, dtype=torch.int64).remainder(256).to(torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2)
    return ImageArrays(images.contiguous(), torch.tensor(labels), ["a", "b", "c"])


def test_holdout_is_disjoint_seeded_stratified_and_of_the_requested_size():
    data = _arrays([0] * 60 + [1] * 30 + [2] * 10)
    data.labels = data.labels[torch.randperm(100)]
    rest, val = holdout_split(data, 20, seed=3)
    assert (len(rest), len(val)) == (80, 20)
    ids_rest, ids_val = set(rest.images[:, 0, 0, 0].tolist()), set(val.images[:, 0, 0, 0].tolist())
    assert not ids_rest & ids_val and len(ids_rest | ids_val) == 100
    assert Counter(val.labels.tolist()) == {0: 12, 1: 6, 2: 2}  # 60/30/10 % of 20
    again, _ = holdout_split(data, 20, seed=3)
    other, _ = holdout_split(data, 20, seed=4)
    assert torch.equal(again.images, rest.images) and not torch.equal(other.images, rest.images)


def test_holdout_takes_a_fraction_of_the_split_as_the_same_draw_as_its_count():
    data = _arrays([0] * 60 + [1] * 30 + [2] * 10)
    rest, val = holdout_split(data, 0.2, seed=3)
    counted_rest, counted_val = holdout_split(data, 20, seed=3)
    assert (len(rest), len(val)) == (80, 20)
    assert torch.equal(val.images, counted_val.images) and torch.equal(rest.labels, counted_rest.labels)
    assert len(holdout_split(data, 0.005, seed=3)[1]) == 1  # half an image or more rounds up to one image
    with pytest.raises(CnnzooError, match="less than one image"):  # 1e-9 used to hold out one image all the same
        holdout_split(data, 0.001, seed=3)
    assert holdout_split(data, 0.0, seed=3)[0] is data


def test_holdout_of_zero_keeps_everything():
    data = _arrays([0, 1, 2, 0])
    rest, val = holdout_split(data, 0, seed=0)
    assert rest is data and len(val) == 0 and val.images.shape[1:] == data.images.shape[1:]
    with pytest.raises(CnnzooError, match="validation size 4"):
        holdout_split(data, 4, seed=0)


def test_random_subset_is_seeded_and_sized():
    data = _arrays([0, 1, 2] * 20)
    sub = random_subset(data, 9, seed=1)
    assert len(sub) == 9 and Counter(sub.labels.tolist()) == {0: 3, 1: 3, 2: 3}
    assert torch.equal(random_subset(data, 9, seed=1).images, sub.images)
    assert random_subset(data, None, seed=1) is data and random_subset(data, 1000, seed=1) is data


def test_channel_stats_match_a_direct_computation():
    images = torch.randint(0, 256, (37, 3, 5, 7), dtype=torch.uint8)
    data = ImageArrays(images, torch.zeros(37, dtype=torch.long), ["x"])
    mean, std = channel_stats(data, chunk=8)  # several chunks
    pixels = images.double().div(255).transpose(0, 1).reshape(3, -1)
    assert mean == pytest.approx(pixels.mean(1).tolist(), abs=1e-12)
    assert std == pytest.approx(pixels.std(1, unbiased=False).tolist(), abs=1e-12)


def test_subset_and_validation():
    data = _arrays([0, 1, 2, 1])
    sub = data.subset(torch.tensor([3, 1]))
    assert sub.labels.tolist() == [1, 1] and sub.images[:, 0, 0, 0].tolist() == [3, 1]
    with pytest.raises(ValueError, match="uint8"):
        ImageArrays(torch.zeros(2, 1, 2, 2), torch.zeros(2, dtype=torch.long), ["a"])


def test_every_name_is_known():
    assert DATASETS == ("cifar10", "cifar100", "mnist", "fashion_mnist", "svhn", "imagefolder", "digits")


def test_shared_cifar10_copy_loads_through_a_small_subset(cifar10_jpeg_dir, tmp_path, cache_dir):
    """Three files per class of the real copy, in a folder of their own: classes, labels, pixels as Pillow reads."""
    root = tmp_path / "subset"
    classes = sorted(p.name for p in (cifar10_jpeg_dir / "test").iterdir() if p.is_dir())
    for split in ("train", "test"):
        for name in classes:
            (root / split / name).mkdir(parents=True)
            for src in sorted((cifar10_jpeg_dir / split / name).iterdir())[:3]:
                shutil.copy(src, root / split / name / src.name)
    data = load_split("cifar10", "test", root, cache_dir=cache_dir)
    assert data.classes == ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    assert data.images.shape == (30, 3, 32, 32) and data.labels.tolist() == [c for c in range(10) for _ in range(3)]
    first = sorted((root / "test" / "airplane").iterdir())[0]
    assert torch.equal(data.images[0], torch.from_numpy(np.array(Image.open(first).convert("RGB"))).permute(2, 0, 1))


@pytest.mark.slow
def test_shared_cifar10_full_test_split(cifar10_jpeg_dir, cache_dir):
    """The one test that decodes a whole split of the real copy (10,000 JPEGs, a few seconds)."""
    data = load_split("imagefolder", "test", cifar10_jpeg_dir, cache_dir=cache_dir)
    assert data.images.shape == (10000, 3, 32, 32)
    assert Counter(data.labels.tolist()) == {c: 1000 for c in range(10)}
    mean, std = channel_stats(data)
    # CIFAR-10's test images average about (0.49, 0.48, 0.45), std about 0.25 (Krizhevsky, 2009 data).
    assert mean == pytest.approx((0.49, 0.48, 0.45), abs=0.02) and all(0.2 < s < 0.3 for s in std)


def test_a_data_dir_that_does_not_exist_is_an_error_never_a_download_into_it(tmp_path, cache_dir, monkeypatch):
    calls = []

    class Recording:
        def __init__(self, root, train=True, download=False):
            calls.append((root, download))
            raise urllib.error.URLError("offline")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", Recording)
    with pytest.raises(CnnzooError, match=r"--data-dir .*typo does not exist or is not a folder; check the path"):
        load_split("cifar10", "train", tmp_path / "typo", cache_dir=cache_dir)
    assert not (tmp_path / "typo").exists()
    (tmp_path / "empty").mkdir()  # exists, but holds no copy: read only, never downloaded into
    with pytest.raises(CnnzooError, match=r"no cifar10 data at .*empty.*leave --data-dir out to download"):
        load_split("cifar10", "train", tmp_path / "empty", cache_dir=cache_dir)
    assert calls == [] and list((tmp_path / "empty").iterdir()) == []
    with pytest.raises(CnnzooError, match=r"could not download or read cifar10 at .*cache.datasets.cifar10"):
        load_split("cifar10", "train", cache_dir=cache_dir)  # without --data-dir: downloads go to the cache
    assert calls == [(str(cache_dir / "datasets" / "cifar10"), True)]


def test_a_long_download_error_is_shortened_at_a_word_not_in_one(tmp_path, cache_dir, monkeypatch):
    """torchvision's MNIST error lists every mirror it tried; cut at 200 characters it ended '..., g); pass'."""
    tried = "".join(
        f"Tried {url}, got:\n<urlopen error [Errno -3] Temporary failure in name resolution>\n"
        for url in ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
    )

    class Offline:
        def __init__(self, root, train=True, download=False):
            raise RuntimeError(f"Error downloading train-images-idx3-ubyte.gz:\n{tried}")

    monkeypatch.setattr(torchvision.datasets, "MNIST", Offline)
    with pytest.raises(CnnzooError) as info:
        load_split("mnist", "train", cache_dir=cache_dir)
    reason = str(info.value).split(" (RuntimeError: ", 1)[1].split("); pass --data-dir", 1)[0]
    words = " ".join(tried.split()).split()
    assert reason.endswith(" ...") and len(reason) <= 200
    assert all(
        word in ["Error", "downloading", "train-images-idx3-ubyte.gz:", *words]
        for word in reason.removesuffix(" ...").split()
    )  # no word cut short
