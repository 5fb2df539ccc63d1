"""Dataset names → whole splits as uint8 tensors in memory (cached on disk after the first decode).

Sources, by name:

| name          | source                                            | split        | images          | shape   |
|---------------|---------------------------------------------------|--------------|-----------------|---------|
| cifar10       | torchvision CIFAR10 (Krizhevsky, 2009)            | train / test | 50,000 / 10,000 | 3×32×32 |
| cifar100      | torchvision CIFAR100                              | train / test | 50,000 / 10,000 | 3×32×32 |
| mnist         | torchvision MNIST (LeCun et al., 1998)            | train / test | 60,000 / 10,000 | 1×28×28 |
| fashion_mnist | torchvision FashionMNIST (Xiao et al., 2017)      | train / test | 60,000 / 10,000 | 1×28×28 |
| svhn          | torchvision SVHN (Netzer et al., 2011), no extra  | train / test | 73,257 / 26,032 | 3×32×32 |
| imagefolder   | `<data_dir>/{train,test}/<class>/<image>`         | train / test | any             | any     |
| digits        | scikit-learn's bundled 8×8 digits (UCI optdigits) | train / test | 1,497 / 300     | 1×8×8   |

The torchvision datasets download into `<cache>/datasets/<name>` (or read `data_dir`, a copy in torchvision's
own layout); `cifar10`/`cifar100` also accept a `data_dir` in ImageFolder layout, such as the shared JPEG copy.
`digits` needs no download: its 1,797 images (values 0..16, scaled to 0..255) are split once, stratified by
class with seed 0, into 1,497 train and 300 test images — the same split on every machine.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import sys
import textwrap
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cnnzoo.data import cache
from cnnzoo.display import live, progress_bar
from cnnzoo.errors import CnnzooError, check_choice, unknown_choice

DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "mnist", "fashion_mnist", "svhn", "imagefolder", "digits")
SPLITS: tuple[str, ...] = ("train", "test")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TorchvisionSource:
    """Where a torchvision dataset lives under its root, and how its arrays are laid out."""

    cls: str  # class name in torchvision.datasets
    subpath: str  # what torchvision's layout puts under the root ({split} is filled in)
    layout: str  # of `.data`: "NHWC", "NHW" or "NCHW"
    num_classes: int


TORCHVISION_SOURCES: dict[str, TorchvisionSource] = {
    "cifar10": TorchvisionSource("CIFAR10", "cifar-10-batches-py", "NHWC", 10),
    "cifar100": TorchvisionSource("CIFAR100", "cifar-100-python", "NHWC", 100),
    "mnist": TorchvisionSource("MNIST", "MNIST", "NHW", 10),
    "fashion_mnist": TorchvisionSource("FashionMNIST", "FashionMNIST", "NHW", 10),
    "svhn": TorchvisionSource("SVHN", "{split}_32x32.mat", "NCHW", 10),
}

DIGITS_TEST_SIZE = 300
DIGITS_SPLIT_SEED = 0

# The files torchvision's ImageFolder reads (torchvision.datasets.folder.IMG_EXTENSIONS), matched case-blind.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
# Pillow modes read as one grey channel; everything else is converted to RGB.
_GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"})
# Grey modes wider than 8 bits, which `to_8bit` scales down.
_WIDE_GREY_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
# What Pillow raises for a file it cannot read (truncated, not an image, too large).
DECODE_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


@dataclass
class ImageArrays:
    """A whole split in memory: what the cache stores and the device loader serves."""

    images: torch.Tensor  # uint8 (N, C, H, W), CPU
    labels: torch.Tensor  # int64 (N,)
    classes: list[str]
    skipped_paths: tuple[str, ...] = field(default=())  # unreadable images left out (skip_corrupt=True)

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {self.images.dtype} {tuple(self.images.shape)}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"{self.images.shape[0]} images but labels of shape {tuple(self.labels.shape)}")

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def skipped(self) -> int:
        """How many unreadable images were left out."""
        return len(self.skipped_paths)

    def subset(self, indices: torch.Tensor) -> ImageArrays:
        """The images at `indices`, in that order."""
        indices = torch.as_tensor(indices, dtype=torch.long)
        return ImageArrays(self.images[indices], self.labels[indices], list(self.classes), self.skipped_paths)


def load_split(
    name: str,
    split: str,
    data_dir: str | Path | None = None,
    *,
    download: bool = True,
    cache_dir: str | Path | None = None,
    skip_corrupt: bool = False,
    image_size: int | None = None,
) -> ImageArrays:
    """One split of a dataset by name, decoded once and cached as uint8 tensors under `cache_dir`.

    `image_size` (imagefolder only) resizes the shorter side and centre-crops to a square, for folders whose
    images differ in size.
    """
    if name not in DATASETS:
        raise unknown_choice("dataset", name, DATASETS)
    check_choice("split", split, SPLITS)
    cache_root = cache.resolve_cache_dir(cache_dir)
    if name == "digits":
        return _load_digits(split)
    folder = folder_root(name, data_dir)
    if folder is not None:
        arrays = _load_imagefolder(folder, split, cache_root, skip_corrupt, image_size)  # one cache per folder
        expected = TORCHVISION_SOURCES[name].num_classes if name in TORCHVISION_SOURCES else len(arrays.classes)
        if len(arrays.classes) != expected:
            raise CnnzooError(
                f"{folder} is in ImageFolder layout with {len(arrays.classes)} classes, but {name} has {expected}; "
                f"use --data imagefolder for other datasets"
            )
        return arrays
    if data_dir is not None:  # a copy the user named is read, never downloaded into
        return _load_torchvision(name, TORCHVISION_SOURCES[name], Path(data_dir), split, cache_root, False, True)
    root = cache_root / "datasets" / name
    return _load_torchvision(name, TORCHVISION_SOURCES[name], root, split, cache_root, download)


def folder_root(name: str, data_dir: str | Path | None) -> Path | None:
    """The image folder `name` is read from: data_dir for imagefolder, or for cifar10/... given in that layout."""
    if name not in DATASETS:
        raise unknown_choice("dataset", name, DATASETS)
    if name == "imagefolder" and data_dir is None:
        raise CnnzooError("dataset 'imagefolder' needs --data-dir DIR, a folder with train/<class>/ and test/<class>/")
    if name not in TORCHVISION_SOURCES and name != "imagefolder" or data_dir is None:
        return None
    root = Path(data_dir)
    if not root.is_dir():  # a typo must not become a fresh download or an empty dataset
        raise CnnzooError(f"--data-dir {root} does not exist or is not a folder; check the path")
    if name == "imagefolder":
        return root
    source = TORCHVISION_SOURCES[name]
    in_torchvision_layout = any((root / source.subpath.format(split=s)).exists() for s in SPLITS)
    return root if is_imagefolder(root) and not in_torchvision_layout else None


def is_imagefolder(root: Path) -> bool:
    """Whether `root` looks like `root/<split>/<class>/...` (the layout torchvision's ImageFolder reads per split)."""
    for split in SPLITS:
        folder = root / split
        if folder.is_dir() and any(child.is_dir() for child in folder.iterdir()):
            return True
    return False


# --- torchvision datasets ------------------------------------------------------------------------------------


def _load_torchvision(
    name: str,
    source: TorchvisionSource,
    root: Path,
    split: str,
    cache_root: Path,
    download: bool,
    user_dir: bool = False,
) -> ImageArrays:
    located = root / source.subpath.format(split=split)
    if located.exists():
        files = cache.files_under(located) if located.is_dir() else [located]
        key = cache.fingerprint(files, root, name, split)
        path = cache.cache_file(cache_root, name, split, root, key)
        stored = cache.load_cached(path)
        if stored is not None:
            return _from_stored(stored)
    elif user_dir:
        raise CnnzooError(
            f"no {name} data at {located}; --data-dir must hold a copy in torchvision's layout or train/ and "
            f"test/ class folders (leave --data-dir out to download {name} into the cache)"
        )
    elif not download:
        raise CnnzooError(
            f"no {name} data at {located}; pass --data-dir DIR pointing at a copy in torchvision's layout, "
            f"or --download to fetch it into {root}"
        )
    with Progress(f"reading {name} {split} once; cached for next time"):
        arrays = _read_torchvision(name, source, root, split, download and not located.exists())
    # Key the cache by the files as they are after any download.
    files = cache.files_under(located) if located.is_dir() else [located]
    key = cache.fingerprint(files, root, name, split)
    cache.save_cached(cache.cache_file(cache_root, name, split, root, key), _to_stored(arrays))
    return arrays


def _read_torchvision(name: str, source: TorchvisionSource, root: Path, split: str, download: bool) -> ImageArrays:
    import torchvision.datasets as tvd

    cls = getattr(tvd, source.cls)
    split_kwargs = {"split": split} if source.cls == "SVHN" else {"train": split == "train"}
    try:
        dataset = cls(str(root), download=download, **split_kwargs)
    except CnnzooError:
        raise
    except Exception as err:  # noqa: BLE001 - torchvision raises URLError, RuntimeError, OSError, ...
        reason = textwrap.shorten(str(err), 200, placeholder=" ...")  # whole words: mirrors' URLs stay readable
        action = "could not download or read" if download else "could not read"
        raise CnnzooError(
            f"{action} {name} at {root} ({type(err).__name__}: {reason}); pass --data-dir DIR pointing at an "
            f"existing copy in torchvision's layout"
        ) from err
    data = torch.as_tensor(np.asarray(dataset.data))
    if source.layout == "NHW":
        data = data.unsqueeze(1)
    elif source.layout == "NHWC":
        data = data.permute(0, 3, 1, 2)
    labels = getattr(dataset, "targets", None)
    if labels is None:
        labels = dataset.labels  # SVHN
    classes = list(getattr(dataset, "classes", None) or [str(i) for i in range(source.num_classes)])
    return ImageArrays(data.contiguous(), torch.as_tensor(np.asarray(labels), dtype=torch.long), classes)


# --- image folders -------------------------------------------------------------------------------------------


def folder_samples(root: Path, split: str) -> tuple[list[tuple[str, int]], list[str]]:
    """The (path, label) pairs and class names of `root/split`, in torchvision ImageFolder's order.

    The same rule as `torchvision.datasets.ImageFolder` (sorted class folders = label indices, files walked in
    sorted order, kept by image extension), written out because ImageFolder's scan is several times slower.
    """
    split_dir = root / split
    classes = folder_classes(root, split)
    samples: list[tuple[str, int]] = []
    empty = []
    for label, name in enumerate(classes):
        count = len(samples)
        for folder, _, files in sorted(os.walk(split_dir / name, followlinks=True)):
            images = [f for f in sorted(files) if f.lower().endswith(IMAGE_EXTENSIONS)]
            samples += [(os.path.join(folder, f), label) for f in images]
        if len(samples) == count:
            empty.append(name)
    if empty:
        raise CnnzooError(f"no images in class folder(s) {', '.join(empty)} of {split_dir}")
    return samples, classes


def to_8bit(img: Image.Image) -> Image.Image:
    """16-bit (and 32-bit integer) grey images scaled to 8-bit "L"; any other image as it is.

    Pillow's own conversion clips such pixels at 255, which turns a 16-bit scan white. 16-bit values map to
    round(v / 257), so 65535 becomes 255. Mode "I" carries no bit depth: its largest value decides whether it
    is read as 8-, 16- or 32-bit. (Pillow already reduces 16-bit RGB and grey+alpha PNGs to 8 bits.)
    """
    if img.mode not in _WIDE_GREY_MODES:
        return img
    pixels = np.asarray(img).astype(np.float64)
    if img.mode == "I":
        peak = pixels.max(initial=0)
        bits = 8 if peak <= 255 else 16 if peak <= 65535 else 31  # "I" is signed 32-bit
        pixels = pixels.clip(0, None)
    else:
        bits = 16
    return Image.fromarray(np.rint(pixels * (255 / (2**bits - 1))).astype(np.uint8))


def folder_classes(root: Path, split: str) -> list[str]:
    """The sorted class folder names of `root/split`: label i is the i-th name."""
    split_dir = root / split
    if not split_dir.is_dir():
        raise CnnzooError(
            f"no {split} split at {split_dir}; --data-dir must point at a folder with train/<class>/ and "
            f"test/<class>/ sub-folders"
        )
    with os.scandir(split_dir) as entries:
        classes = sorted(entry.name for entry in entries if entry.is_dir())
    if not classes:
        raise CnnzooError(f"no class folders in {split_dir}; expected {split_dir}/<class>/<image>")
    return classes


def check_same_classes(root: Path) -> None:
    """Fail unless train/ and test/ of an image folder have the same class folders.

    Labels are indices into the sorted class folders of each split, so a class missing from one split shifts
    every label after it (dog images scored as cat), and an extra one indexes past the model's outputs.
    """
    train, test = folder_classes(root, "train"), folder_classes(root, "test")
    if train == test:
        return
    differences = []
    if missing := sorted(set(train) - set(test)):
        differences.append(f"test/ lacks {', '.join(missing)}")
    if extra := sorted(set(test) - set(train)):
        differences.append(f"test/ has {', '.join(extra)}, which train/ lacks")
    raise CnnzooError(
        f"the class folders of {root} differ between its splits: {'; '.join(differences)}; give train/ and test/ "
        f"the same class folders"
    )


def check_same_size(train: tuple[int, int], test: tuple[int, int], where: object) -> None:
    """Fail unless the train and test images of `where` have the same (height, width)."""
    if train != test:
        raise CnnzooError(
            f"the test images of {where} are {test[1]}×{test[0]} but the train images {train[1]}×{train[0]}; "
            f"pass --image-size N to resize both splits to N×N"
        )


def match_channels(data: ImageArrays, channels: int, where: str) -> ImageArrays:
    """`data` with `channels` channels, as the training split has: grey repeated, or RGB to luminance.

    The luminance is Pillow's convert("L") (ITU-R 601-2), so the device and streaming paths see the same pixels.
    """
    have = data.images.shape[1]
    if have == channels:
        return data
    if channels == 3:
        images = data.images.expand(-1, 3, -1, -1).contiguous()
    else:
        weights = torch.tensor([19595, 38470, 7471], dtype=torch.int32).view(1, 3, 1, 1)
        images = ((data.images.to(torch.int32) * weights).sum(1, keepdim=True) + 0x8000) >> 16
        images = images.to(torch.uint8)
    warnings.warn(
        f"{where} images have {have} channel(s), the train images {channels}; converted to {channels}", stacklevel=3
    )
    return ImageArrays(images, data.labels, list(data.classes), data.skipped_paths)


def open_image(path: str, grey: bool | None = None, image_size: int | None = None) -> Image.Image:
    """A decoded 8-bit Pillow image: grey ("L") or RGB (`grey=None` keeps grey images grey), optionally resized.

    16-bit grey images are scaled to 8 bits (`to_8bit`), not clipped.

    `image_size` resizes the shorter side and centre-crops a square, as torchvision's Resize + CenterCrop do.
    """
    img = Image.open(path)
    try:
        img.load()  # reads the pixels and closes the file (single-frame formats)
    except BaseException:
        img.close()
        raise
    img = to_8bit(img)
    if grey is None:
        grey = img.mode in _GREY_MODES
    target = "L" if grey else "RGB"
    if img.mode != target:
        img = img.convert(target)
    return square_crop(img, image_size) if image_size is not None else img


def square_crop(img: Image.Image, image_size: int) -> Image.Image:
    """Resize the shorter side to `image_size` and crop the centre square, as torchvision's Resize + CenterCrop."""
    from torchvision.transforms import functional as TF

    return TF.center_crop(TF.resize(img, image_size), image_size)


def _load_imagefolder(
    root: Path, split: str, cache_root: Path, skip_corrupt: bool, image_size: int | None
) -> ImageArrays:
    samples, classes = folder_samples(root, split)
    key = cache.fingerprint([path for path, _ in samples], root, "imagefolder", split, image_size)
    path = cache.cache_file(cache_root, "imagefolder", split, root, key)
    stored = cache.load_cached(path)
    if stored is None:
        note = f"decoding {len(samples):,} images of {root / split} once; cached for next time"
        arrays = decode_folder(samples, classes, image_size=image_size, skip_corrupt=True, progress=note)
        cache.save_cached(path, _to_stored(arrays))
    else:
        arrays = _from_stored(stored)
    if arrays.skipped:
        if not skip_corrupt:
            first = arrays.skipped_paths[0]
            more = f" (and {arrays.skipped - 1} more)" if arrays.skipped > 1 else ""
            raise CnnzooError(
                f"cannot read image {first}{more}; fix or remove it, or pass --skip-corrupt to leave unreadable "
                f"images out"
            )
        warnings.warn(
            f"skipped {arrays.skipped} unreadable image(s) under {root / split}, e.g. {arrays.skipped_paths[0]}",
            stacklevel=3,
        )
    return arrays


def peek_image(samples: list[tuple[str, int]], image_size: int | None) -> tuple[bool, int, int]:
    """(grey, height, width) of the first readable image among the first 100 samples."""
    for path, _ in samples[:100]:
        try:
            img = open_image(path, image_size=image_size)
        except DECODE_ERRORS:
            continue
        return img.mode == "L", img.height, img.width
    raise CnnzooError(f"no readable image among the first {min(len(samples), 100)} files (first: {samples[0][0]})")


def estimate_folder_bytes(root: Path, image_size: int | None = None, splits: tuple[str, ...] = SPLITS) -> int:
    """Bytes the decoded splits of an image folder would take as uint8 tensors (from each one's first image)."""
    total = 0
    for split in splits:
        if not (root / split).is_dir():
            continue
        samples, _ = folder_samples(root, split)
        if samples:
            grey, height, width = peek_image(samples, image_size)
            total += len(samples) * (1 if grey else 3) * height * width
    return total


class Progress:
    """A note on stderr while a split is decoded: a tqdm bar on a terminal or in a notebook, else one line at
    start and end.

    The first load of a large split takes a while (CIFAR-10 as JPEGs: 15-20 s); later loads hit the cache
    and show nothing. `message=None` shows nothing at all.
    """

    def __init__(self, message: str | None, total: int | None = None) -> None:
        self.message, self.total = message, total
        self.bar = None
        self.start = 0.0

    def __enter__(self) -> Progress:
        if self.message is None:
            return self
        self.start = time.perf_counter()
        if self.total and live():
            self.bar = progress_bar(self.total, self.message, unit="img")
        else:
            print(f"cnnzoo: {self.message} ...", file=sys.stderr, flush=True)
        return self

    def update(self) -> None:
        """One more image done."""
        if self.bar is not None:
            self.bar.update()

    def __exit__(self, kind, error, trace) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.message is not None and kind is None:
            print(f"cnnzoo: done in {time.perf_counter() - self.start:.1f} s", file=sys.stderr, flush=True)


PARALLEL_DECODE_FROM = 4096  # images; below this, worker processes cost more than they save
_DECODE_CHUNK = 1024


def _decode_paths(paths: list[str], image_size: int | None) -> list[np.ndarray | str]:
    """Pixels of each path, or the reason it could not be read (runs in worker processes)."""
    decoded: list[np.ndarray | str] = []
    for path in paths:
        try:
            decoded.append(np.asarray(open_image(path, image_size=image_size)))
        except DECODE_ERRORS as err:
            decoded.append(f"{type(err).__name__}: {err}")
    return decoded


def _decoded(paths: list[str], image_size: int | None, workers: int) -> Iterator[np.ndarray | str]:
    """Decode in order: in this process, or in chunks over `workers` processes."""
    chunks = [paths[i : i + _DECODE_CHUNK] for i in range(0, len(paths), _DECODE_CHUNK)]
    if workers <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            yield from _decode_paths(chunk, image_size)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks))) as pool:
        for decoded in pool.map(_decode_paths, chunks, [image_size] * len(chunks)):
            yield from decoded


def decode_folder(
    samples: list[tuple[str, int]],
    classes: list[str],
    *,
    image_size: int | None = None,
    skip_corrupt: bool = False,
    workers: int | None = None,
    progress: str | None = None,
) -> ImageArrays:
    """Decode every sample into one uint8 tensor; grey if all images are grey, else RGB.

    `workers` processes share the decoding (default: up to 8 of the CPUs for 4,096 images or more).
    `progress`: a note shown on stderr while decoding (a bar on a terminal, else a line at start and end).
    """
    if workers is None:
        workers = min(8, os.cpu_count() or 1) if len(samples) >= PARALLEL_DECODE_FROM else 1
    log.info("decoding %d images with %d process(es)", len(samples), workers)
    try:
        with Progress(progress, len(samples)) as bar:
            return _decode_into_arrays(samples, classes, image_size, skip_corrupt, workers, bar)
    except (MemoryError, torch.OutOfMemoryError):
        size = f"--image-size N (now {image_size})" if image_size else "--image-size N"
        raise DecodingOutOfMemory(
            f"out of memory decoding {len(samples):,} images (first: {samples[0][0]}); pass {size} to decode them "
            "smaller"
        ) from None


class DecodingOutOfMemory(CnnzooError):
    """Decoding images ran out of memory; the loader adds `--loader stream` where that would help."""


def _decode_into_arrays(
    samples: list[tuple[str, int]],
    classes: list[str],
    image_size: int | None,
    skip_corrupt: bool,
    workers: int,
    bar: Progress,
) -> ImageArrays:
    out: np.ndarray | None = None
    labels = np.array([label for _, label in samples], dtype=np.int64)
    keep = np.zeros(len(samples), dtype=bool)
    all_grey = True
    first = ""
    skipped: list[str] = []
    paths = [path for path, _ in samples]
    for i, (path, pixels) in enumerate(zip(paths, _decoded(paths, image_size, workers))):
        bar.update()
        if isinstance(pixels, str):
            if not skip_corrupt:
                raise CnnzooError(
                    f"cannot read image {path} ({pixels}); fix or remove it, or pass --skip-corrupt to leave "
                    f"unreadable images out"
                )
            skipped.append(path)
            continue
        if out is None:
            out, first = np.zeros((len(samples), *pixels.shape[:2], 3), dtype=np.uint8), path
        if pixels.shape[:2] != out.shape[1:3]:
            raise CnnzooError(
                f"images differ in size: {first} is {out.shape[2]}×{out.shape[1]}, {path} is "
                f"{pixels.shape[1]}×{pixels.shape[0]}; pass --image-size N to resize them all to N×N"
            )
        if pixels.ndim == 2:
            out[i] = pixels[..., None]
        else:
            out[i] = pixels
            all_grey = False
        keep[i] = True
    if out is None:
        raise CnnzooError(f"no readable images among {len(samples)} files (first: {samples[0][0] if samples else '-'})")
    if not keep.all():
        out, labels = out[keep], labels[keep]
    images = torch.from_numpy(out).permute(0, 3, 1, 2)
    images = images[:, :1] if all_grey else images
    return ImageArrays(images.contiguous(), torch.from_numpy(labels), classes, tuple(skipped))


# --- digits ---------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _digits_split() -> tuple[ImageArrays, ImageArrays]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.from_numpy(np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)).unsqueeze(1)
    labels = torch.as_tensor(digits.target, dtype=torch.long)
    data = ImageArrays(images.contiguous(), labels, [str(i) for i in range(10)])
    return holdout_split(data, DIGITS_TEST_SIZE, DIGITS_SPLIT_SEED)


def _load_digits(split: str) -> ImageArrays:
    train, test = _digits_split()
    chosen = train if split == "train" else test
    return ImageArrays(chosen.images.clone(), chosen.labels.clone(), list(chosen.classes))


# --- splits and statistics ------------------------------------------------------------------------------------


def holdout_indices(labels: torch.Tensor, val_size: int | float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(rest, held-out) indices, both sorted: a seeded draw of `val_size` (a count, or a fraction < 1), stratified.

    Each class gets a share of the held-out set proportional to its size: shuffle, rank every sample within its
    class, and take the `val_size` smallest ranks relative to the class size.
    """
    n = labels.shape[0]
    if isinstance(val_size, float):  # a fraction of the split, e.g. digits' 10%
        if 0 < val_size * n < 0.5:
            raise CnnzooError(
                f"val_size {val_size} of the {n} training images is less than one image; give a count such as 1, "
                "or a larger fraction"
            )
        val_size = max(1, round(val_size * n)) if val_size > 0 else 0
    if not 0 <= val_size < n:
        raise CnnzooError(f"validation size {val_size} must be between 0 and {n - 1} (the split has {n} images)")
    generator = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=generator)
    shuffled = labels[perm]
    counts = torch.bincount(shuffled)
    by_class = torch.argsort(shuffled, stable=True)  # grouped by class, shuffled order within each class
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.empty(n, dtype=torch.long)
    rank[by_class] = torch.arange(n) - starts[shuffled[by_class]]
    share = (rank.double() + 0.5) / counts[shuffled].double()
    chosen = torch.argsort(share, stable=True)[:val_size]
    held = torch.zeros(n, dtype=torch.bool)
    held[perm[chosen]] = True
    return torch.nonzero(~held).flatten(), torch.nonzero(held).flatten()


def indices_digest(indices: torch.Tensor) -> str:
    """SHA-256 of the indices as comma-separated decimals: a split's fingerprint, checkable without torch."""
    text = ",".join(str(i) for i in torch.as_tensor(indices).flatten().tolist())
    return hashlib.sha256(text.encode()).hexdigest()


def holdout_split(data: ImageArrays, val_size: int | float, seed: int) -> tuple[ImageArrays, ImageArrays]:
    """(train_rest, val): seeded and stratified by class; `val_size=0` gives (data, empty)."""
    rest, held = holdout_indices(data.labels, val_size, seed)
    if len(held) == 0:
        return data, data.subset(held)
    return data.subset(rest), data.subset(held)


def random_subset(data: ImageArrays, size: int | None, seed: int) -> ImageArrays:
    """A seeded, stratified random subset of `size` images (all of them when size is None or too big)."""
    if size is None or size >= len(data):
        return data
    if size <= 0:
        raise CnnzooError(f"subset size must be positive, got {size}")
    _, chosen = holdout_indices(data.labels, size, seed)
    return data.subset(chosen)


def channel_stats(data: ImageArrays, chunk: int = 4096) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of the pixels, in [0, 1] (accumulated in float64, a chunk at a time)."""
    if len(data) == 0:
        raise CnnzooError("cannot compute channel statistics of an empty split")
    channels = data.images.shape[1]
    total = torch.zeros(channels, dtype=torch.float64)
    squares = torch.zeros(channels, dtype=torch.float64)
    for start in range(0, len(data), chunk):
        block = data.images[start : start + chunk].to(torch.float64).div_(255.0)
        total += block.sum(dim=(0, 2, 3))
        squares += block.square().sum(dim=(0, 2, 3))
    count = len(data) * data.images.shape[2] * data.images.shape[3]
    mean = total / count
    std = (squares / count - mean.square()).clamp_min(0).sqrt()
    return tuple(mean.tolist()), tuple(std.tolist())


# --- cache records --------------------------------------------------------------------------------------------


def _to_stored(arrays: ImageArrays) -> dict[str, object]:
    return {
        "images": arrays.images,
        "labels": arrays.labels,
        "classes": list(arrays.classes),
        "skipped_paths": list(arrays.skipped_paths),
    }


def _from_stored(stored: dict) -> ImageArrays:
    return ImageArrays(stored["images"], stored["labels"], list(stored["classes"]), tuple(stored["skipped_paths"]))
