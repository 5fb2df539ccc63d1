"""The tensor cache: decoded once, reused, rebuilt when its source changes, never trusted when broken."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnnzoo.data import cache, datasets
from cnnzoo.data.datasets import load_split


def _cache_files(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / "tensors").iterdir())


def _no_decoding(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("decoded although the cache was fresh")

    monkeypatch.setattr(datasets, "decode_folder", fail)


def test_round_trip_reuses_the_decoded_tensors(tiny_folder, cache_dir, monkeypatch):
    root, _ = tiny_folder
    first = load_split("imagefolder", "train", root, cache_dir=cache_dir)
    assert [p.suffix for p in _cache_files(cache_dir)] == [".pt"]  # one file, no temporary left behind
    _no_decoding(monkeypatch)
    second = load_split("imagefolder", "train", root, cache_dir=cache_dir)
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)
    assert first.classes == second.classes


def test_rebuilt_when_a_file_changes(tiny_folder, cache_dir):
    root, _ = tiny_folder
    before = load_split("imagefolder", "train", root, cache_dir=cache_dir)
    target = root / "train" / "dog" / "02.png"
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(target)
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a later mtime even on coarse clocks
    after = load_split("imagefolder", "train", root, cache_dir=cache_dir)
    index = 6 + 2  # dog is the second class, 6 images each
    assert int(before.images[index].sum()) > 0 and int(after.images[index].sum()) == 0
    assert torch.equal(torch.cat([after.images[:index], after.images[index + 1 :]]),
                       torch.cat([before.images[:index], before.images[index + 1 :]]))  # fmt: skip
    assert len(_cache_files(cache_dir)) == 1  # the stale version is gone


def test_rebuilt_when_a_file_is_added_or_removed(tiny_folder, cache_dir):
    root, _ = tiny_folder
    assert len(load_split("imagefolder", "train", root, cache_dir=cache_dir)) == 18
    Image.fromarray(np.full((8, 8, 3), 7, dtype=np.uint8)).save(root / "train" / "eel" / "99.png")
    assert len(load_split("imagefolder", "train", root, cache_dir=cache_dir)) == 19
    (root / "train" / "cat" / "00.png").unlink()
    assert len(load_split("imagefolder", "train", root, cache_dir=cache_dir)) == 18


def test_a_broken_cache_file_is_rebuilt_not_trusted(tiny_folder, cache_dir):
    root, _ = tiny_folder
    good = load_split("imagefolder", "train", root, cache_dir=cache_dir)
    (path,) = _cache_files(cache_dir)
    path.write_bytes(path.read_bytes()[:100])  # as if a disk filled up mid-write without the atomic rename
    again = load_split("imagefolder", "train", root, cache_dir=cache_dir)
    assert torch.equal(good.images, again.images)
    assert cache.load_cached(path) is not None  # rewritten whole


def test_splits_and_folders_have_their_own_entries(tmp_path, cache_dir, make_folder):
    make_folder(tmp_path / "a", seed=1)
    make_folder(tmp_path / "b", seed=2)
    a = load_split("imagefolder", "train", tmp_path / "a", cache_dir=cache_dir)
    b = load_split("imagefolder", "train", tmp_path / "b", cache_dir=cache_dir)
    load_split("imagefolder", "test", tmp_path / "a", cache_dir=cache_dir)
    assert len(_cache_files(cache_dir)) == 3 and not torch.equal(a.images, b.images)


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CNNZOO_CACHE", str(tmp_path / "elsewhere"))
    assert cache.default_cache_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("CNNZOO_CACHE")
    assert cache.default_cache_dir() == Path.home() / ".cache" / "cnnzoo"


def _write_idx(path: Path, array: np.ndarray) -> None:
    """MNIST's IDX format: magic (0, 0, type 0x08 = uint8, ndim), big-endian sizes, then the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_torchvision_layout_is_read_and_cached_by_content(tmp_path, cache_dir, monkeypatch):
    """A tiny MNIST in torchvision's own layout (MNIST/raw/*-ubyte) goes through torchvision and the cache."""
    raw = tmp_path / "mnist" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (12, 28, 28)), rng.integers(0, 10, 12)
    for prefix in ("train", "t10k"):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    data = load_split("mnist", "train", tmp_path / "mnist", download=False, cache_dir=cache_dir)
    assert data.images.shape == (12, 1, 28, 28) and torch.equal(data.images[:, 0], torch.from_numpy(images).byte())
    assert data.labels.tolist() == labels.tolist() and len(data.classes) == 10

    class Unreachable:
        def __init__(self, *args, **kwargs):
            raise AssertionError("torchvision was asked although the cache was fresh")

    monkeypatch.setattr("torchvision.datasets.MNIST", Unreachable)
    assert torch.equal(load_split("mnist", "train", tmp_path / "mnist", download=False, cache_dir=cache_dir).images,
                       data.images)  # fmt: skip
    monkeypatch.undo()
    _write_idx(raw / "train-images-idx3-ubyte", images[::-1].copy())
    stat = (raw / "train-images-idx3-ubyte").stat()
    os.utime(raw / "train-images-idx3-ubyte", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    changed = load_split("mnist", "train", tmp_path / "mnist", download=False, cache_dir=cache_dir)
    assert torch.equal(changed.images, data.images.flip(0))


def test_unwritable_cache_warns_and_still_loads(tiny_folder, tmp_path):
    root, _ = tiny_folder
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")  # a cache root under a regular file cannot be created
    with pytest.warns(UserWarning, match="could not write the tensor cache"):
        data = load_split("imagefolder", "train", root, cache_dir=blocker / "cache")
    assert len(data) == 18


def test_cache_file_follows_the_umask_not_mkstemps_private_mode(tiny_folder, cache_dir):
    root, _ = tiny_folder
    old = os.umask(0o022)
    try:
        load_split("imagefolder", "train", root, cache_dir=cache_dir)
    finally:
        os.umask(old)
    (path,) = _cache_files(cache_dir)
    assert path.stat().st_mode & 0o777 == 0o644


def test_the_first_decode_says_so_on_stderr_and_the_cached_load_is_silent(tiny_folder, cache_dir, capfd):
    root, _ = tiny_folder
    load_split("imagefolder", "train", root, cache_dir=cache_dir)
    err = capfd.readouterr().err
    assert f"decoding 18 images of {root / 'train'} once; cached for next time" in err
    assert err.count("\n") == 2 and "done in" in err  # off a terminal: one line at the start, one at the end
    load_split("imagefolder", "train", root, cache_dir=cache_dir)
    assert capfd.readouterr().err == ""
