"""build_loaders: a folder's splits must agree (classes, size, channels); constant channels, memory, evaluation."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnnzoo.data import DataSpec, base, build_loaders, datasets
from cnnzoo.errors import CnnzooError

BOTH_LOADERS = pytest.mark.parametrize("loader", ["device", "stream"])


def _spec(root: Path, cache_dir: Path, **extra) -> DataSpec:
    return DataSpec("imagefolder", root, batch_size=4, cache_dir=cache_dir, workers=0, **{"val_size": 0, **extra})


def _images(loader) -> torch.Tensor:
    return torch.cat([images for images, _ in loader])


# -------------------------------------------------------------------- the splits' class folders
@BOTH_LOADERS
def test_a_test_split_without_one_of_the_classes_fails_naming_it(tiny_folder, cache_dir, loader):
    root, _ = tiny_folder
    shutil.rmtree(root / "test" / "dog")  # labels would shift: eel images scored as dog
    with pytest.raises(CnnzooError, match=r"class folders of .*folder differ between its splits: test/ lacks dog;"):
        build_loaders(_spec(root, cache_dir, loader=loader))


@BOTH_LOADERS
def test_a_test_split_with_an_extra_class_fails_before_training(tiny_folder, cache_dir, loader):
    root, _ = tiny_folder
    shutil.copytree(root / "test" / "eel", root / "test" / "fox")
    with pytest.raises(CnnzooError, match=r"test/ has fox, which train/ lacks"):
        build_loaders(_spec(root, cache_dir, loader=loader))


def test_cifar10_given_as_a_folder_compares_its_splits_too(tmp_path, cache_dir, make_folder):
    names = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    root = tmp_path / "ten"
    make_folder(root, classes=names, per_class=(1, 1))
    (root / "test" / "truck").rename(root / "test" / "lorry")  # still ten classes in each split
    with pytest.raises(CnnzooError, match=r"test/ lacks truck; test/ has lorry, which train/ lacks"):
        build_loaders(DataSpec("cifar10", root, cache_dir=cache_dir, val_size=0))


# -------------------------------------------------------------------- the splits' image size and channels
@BOTH_LOADERS
def test_test_images_of_another_size_are_refused_or_resized_like_training(tmp_path, cache_dir, make_folder, loader):
    root, other = tmp_path / "root", tmp_path / "other"
    make_folder(root)
    make_folder(other, size=(12, 10))
    shutil.rmtree(root / "test")
    shutil.copytree(other / "test", root / "test")
    with pytest.raises(
        CnnzooError, match=r"test images of .*root are 12×10 but the train images 8×8; pass --image-size"
    ):
        build_loaders(_spec(root, cache_dir, loader=loader))
    loaders = build_loaders(_spec(root, cache_dir, loader=loader, image_size=6))
    assert _images(loaders.test).shape == (6, 3, 6, 6) and _images(loaders.train).shape[1:] == (3, 6, 6)


@pytest.mark.parametrize(("train_mode", "test_mode", "channels"), [("RGB", "L", 3), ("L", "RGB", 1)])
def test_test_images_are_converted_to_the_train_channels_alike_on_both_loaders(
    tmp_path, cache_dir, make_folder, train_mode, test_mode, channels
):
    root, other = tmp_path / "root", tmp_path / "other"
    make_folder(root, mode=train_mode)
    make_folder(other, mode=test_mode, seed=1)
    shutil.rmtree(root / "test")
    shutil.copytree(other / "test", root / "test")
    with pytest.warns(UserWarning, match=rf"test images of .* converted to {channels}"):
        device = build_loaders(_spec(root, cache_dir, loader="device"))
    stream = build_loaders(_spec(root, cache_dir, loader="stream"))
    assert device.in_chans == stream.in_chans == channels
    x_device, x_stream = _images(device.test), _images(stream.test)
    assert x_device.shape == (6, channels, 8, 8)
    assert torch.allclose(x_device, x_stream, atol=1e-5)  # the same conversion as Pillow's, which streaming uses


# -------------------------------------------------------------------- constant channels
def _black_folder(root: Path) -> Path:
    for split, count in (("train", 8), ("test", 2)):
        for name in ("a", "b"):
            (root / split / name).mkdir(parents=True)
            for i in range(count):
                Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(root / split / name / f"{i}.png")
    return root


@BOTH_LOADERS
def test_a_constant_channel_is_normalised_by_std_one_with_a_warning(tmp_path, cache_dir, loader):
    root = _black_folder(tmp_path / "black")
    with pytest.warns(UserWarning, match=r"channel 0, 1, 2 of the train images of .*black is constant"):
        loaders = build_loaders(_spec(root, cache_dir, loader=loader))
    assert loaders.std == (1.0, 1.0, 1.0) and loaders.mean == (0.0, 0.0, 0.0)
    assert torch.isfinite(_images(loaders.train)).all()


def test_training_on_all_black_images_keeps_a_finite_loss(tmp_path):
    import cnnzoo

    root = _black_folder(tmp_path / "black")
    config = {"model": "resnet20", "data": "imagefolder", "data_dir": str(root), "cache_dir": str(tmp_path / "c"),
              "epochs": 2, "batch_size": 4, "val_size": 0, "tensorboard": False, "plots": False,
              "run_dir": str(tmp_path / "run")}  # fmt: skip
    with pytest.warns(UserWarning, match="constant"):
        results = cnnzoo.train(config, quiet=True)
    assert math.isfinite(results["test"]["loss"])
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(math.isfinite(row["train_loss"]) for row in rows)


# -------------------------------------------------------------------- memory
def test_a_folder_too_large_for_memory_is_refused_naming_its_size_and_the_flags(tiny_folder, cache_dir, monkeypatch):
    root, _ = tiny_folder
    monkeypatch.setattr(base, "physical_memory", lambda device="cpu": 2000)  # 24 images × 192 bytes = 4.5 KiB
    with pytest.raises(
        CnnzooError, match=r"would take 4\.5 KiB, more than the 1000 bytes .*--image-size N.*--loader stream"
    ):
        build_loaders(_spec(root, cache_dir, loader="device"))
    assert not (cache_dir / "tensors").exists()  # refused before decoding anything
    assert build_loaders(_spec(root, cache_dir)).kind == "stream"  # "auto" streams it instead


def test_running_out_of_memory_while_decoding_is_one_line(tiny_folder, cache_dir, monkeypatch):
    def exhausted(paths, image_size):
        raise MemoryError

    root, _ = tiny_folder
    monkeypatch.setattr(datasets, "_decode_paths", exhausted)
    with pytest.raises(CnnzooError, match=r"^out of memory decoding 6 images .*--image-size N.*--loader stream"):
        build_loaders(_spec(root, cache_dir, loader="device"))
    # The stream loader decodes a sample for the statistics: it may run out too, and must not advise itself.
    with pytest.raises(CnnzooError, match=r"^out of memory decoding \d+ images .*--image-size N") as err:
        build_loaders(_spec(root, cache_dir, loader="stream"))
    assert "--loader stream" not in str(err.value)


# -------------------------------------------------------------------- the test split alone
@BOTH_LOADERS
def test_test_only_needs_no_train_split_and_uses_the_given_statistics(tmp_path, cache_dir, make_folder, loader):
    root = tmp_path / "only-test"
    make_folder(root, per_class=(1, 3))
    shutil.rmtree(root / "train")
    stats = ((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    loaders = build_loaders(_spec(root, cache_dir, loader=loader, val_size=5000, test_only=True, stats=stats))
    assert loaders.train is None and loaders.val is None and loaders.classes == ["cat", "dog", "eel"]
    images = _images(loaders.test)
    assert images.shape == (9, 3, 8, 8) and (loaders.mean, loaders.std) == stats
    assert images.min() >= -2.0 and images.max() <= 2.0  # (x - 0.5) / 0.25 for x in [0, 1]


def test_evaluate_on_another_folder_reads_only_its_test_split(tmp_path, make_folder, capsys):
    from cnnzoo.cli import main

    trained, other, run, cache = tmp_path / "trained", tmp_path / "other", tmp_path / "run", tmp_path / "cache"
    make_folder(trained)
    flags = ["--data", "imagefolder", "--cache-dir", str(cache)]
    assert main(["train", "--model", "resnet20", *flags, "--data-dir", str(trained), "--epochs", "1",
                 "--batch-size", "6", "--val-size", "3", "--run-dir", str(run), "--no-tensorboard", "--no-plots",
                 "-q"]) == 0  # fmt: skip
    make_folder(other, per_class=(1, 3), seed=1)  # a train split far smaller than the run's val_size
    capsys.readouterr()
    assert main(["evaluate", str(run), *flags, "--data-dir", str(other), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["split"] == "test" and result["count"] == 9
    shutil.rmtree(other / "train")  # no train split at all: the test split and the model's classes suffice
    assert main(["evaluate", str(run), *flags, "--data-dir", str(other), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 9


@pytest.mark.parametrize("loader", ["device", "stream"])
def test_running_out_of_memory_is_one_line_naming_the_flag_on_both_loaders(tmp_path, monkeypatch, loader):
    """1500x1500 images under a memory limit raised the allocator's own error from channel_stats (streaming too)."""
    root = tmp_path / "big"
    for split in ("train", "test"):
        for name in ("a", "b"):
            (root / split / name).mkdir(parents=True)
            Image.new("RGB", (16, 16), (10, 20, 30)).save(root / split / name / "0.png")

    def allocator_fails(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:121] data. DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(base, "channel_stats", allocator_fails)
    with pytest.raises(CnnzooError, match=r"out of memory loading .*big onto cpu; pass --image-size N to read"):
        build_loaders(DataSpec("imagefolder", root, batch_size=2, loader=loader, workers=0, val_size=0))
