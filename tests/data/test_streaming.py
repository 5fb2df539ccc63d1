"""StreamingLoader: torchvision's per-image path behind the DeviceLoader's protocol, with the same numbers."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from cnnzoo.data import Augment, DataSpec, DeviceLoader, StreamingLoader, base, build_loaders, load_split
from cnnzoo.errors import CnnzooError

MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)


def _epoch(loader) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = zip(*loader)
    return torch.cat(images), torch.cat(labels)


def test_unaugmented_batches_equal_the_device_loaders(tiny_folder, cache_dir):
    root, _ = tiny_folder
    device = DeviceLoader(load_split("imagefolder", "train", root, cache_dir=cache_dir), 5, mean=MEAN, std=STD)
    spec = DataSpec("imagefolder", root, eval_batch_size=5, workers=0, val_size=0)
    stream = StreamingLoader(spec, "train", mean=MEAN, std=STD)
    assert (len(stream), stream.num_samples, stream.classes) == (len(device), device.num_samples, device.classes)
    for (x_stream, y_stream), (x_device, y_device) in zip(stream, device, strict=True):
        assert x_stream.dtype == x_device.dtype == torch.float32 and y_stream.dtype == y_device.dtype == torch.int64
        assert x_stream.shape == x_device.shape and torch.equal(y_stream, y_device)
        assert torch.allclose(x_stream, x_device, atol=1e-5)


def test_augmented_epochs_are_seeded_and_independent_of_workers(tiny_folder):
    root, _ = tiny_folder
    spec = DataSpec("imagefolder", root, batch_size=4, augment=Augment(2, True, 3), seed=4, drop_last=False, val_size=0)
    serial = StreamingLoader(replace(spec, workers=0), "train", mean=MEAN, std=STD, train=True)
    parallel = StreamingLoader(replace(spec, workers=2), "train", mean=MEAN, std=STD, train=True)
    serial.set_epoch(1)
    parallel.set_epoch(1)
    x0, y0 = _epoch(serial)
    x1, y1 = _epoch(parallel)
    assert sorted(y0.tolist()) == sorted([0] * 6 + [1] * 6 + [2] * 6)
    assert torch.equal(y0, y1) and torch.equal(x0, x1)
    serial.set_epoch(2)
    assert not torch.equal(_epoch(serial)[0], x0)
    zeros = (x0 == 0).all(1).sum((1, 2))  # only the cutout square is the mean at every channel
    assert (zeros == 9).all()


def test_corrupt_image_while_streaming_is_reported_or_skipped(tiny_folder):
    root, _ = tiny_folder
    (root / "test" / "cat" / "01.png").write_bytes(b"\x89PNG broken")
    spec = DataSpec("imagefolder", root, batch_size=4, workers=0, val_size=0)
    loader = StreamingLoader(spec, "test", mean=MEAN, std=STD)
    with pytest.raises(CnnzooError, match=r"cannot read image .*cat.01\.png.*--skip-corrupt"):
        _epoch(loader)
    skipping = StreamingLoader(replace(spec, skip_corrupt=True), "test", mean=MEAN, std=STD)
    _, labels = _epoch(skipping)
    assert len(labels) == 5 and skipping.skipped == 1


def test_build_loaders_streams_a_folder_with_holdout_and_limits(tiny_folder):
    root, _ = tiny_folder
    spec = DataSpec("imagefolder", root, batch_size=4, val_size=6, loader="stream", workers=0)
    loaders = build_loaders(replace(spec, augment=Augment(1, True)))
    assert loaders.kind == "stream" and loaders.val is not None
    assert (loaders.train.num_samples, loaders.val.num_samples, loaders.test.num_samples) == (12, 6, 6)
    assert (loaders.in_chans, loaders.image_size, loaders.classes) == (3, 8, ["cat", "dog", "eel"])
    _, val_labels = _epoch(loaders.val)
    assert sorted(val_labels.tolist()) == [0, 0, 1, 1, 2, 2]  # stratified
    images, _ = next(iter(loaders.train))
    assert images.shape == (4, 3, 8, 8)
    limited = build_loaders(replace(spec, train_limit=3, eval_limit=2))
    assert (limited.train.num_samples, limited.val.num_samples, limited.test.num_samples) == (3, 2, 2)


def test_auto_streams_only_when_over_the_memory_budget(tiny_folder, cache_dir, monkeypatch):
    root, _ = tiny_folder
    spec = DataSpec("imagefolder", root, batch_size=4, cache_dir=cache_dir, workers=0, val_size=0)
    assert build_loaders(spec).kind == "device"
    monkeypatch.setattr(base, "memory_budget", lambda device: 100)  # 24 × 192 bytes exceed it
    assert build_loaders(spec).kind == "stream"


def test_an_image_of_another_size_asks_for_image_size(tiny_folder):
    from PIL import Image

    root, _ = tiny_folder
    Image.new("RGB", (10, 8), (9, 9, 9)).save(root / "test" / "eel" / "wide.png")
    spec = DataSpec("imagefolder", root, batch_size=4, workers=0, val_size=0)
    with pytest.raises(CnnzooError, match=r"wide\.png: it is 10×8, the others 8×8; pass --image-size"):
        _epoch(StreamingLoader(replace(spec, skip_corrupt=True), "test", mean=MEAN, std=STD))
    images, _ = _epoch(StreamingLoader(replace(spec, image_size=6), "test", mean=MEAN, std=STD))
    assert images.shape == (7, 3, 6, 6)
