"""LoadedModel.preprocess / predict: what counts as an image, 16-bit files, and one-line errors for the rest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnnzoo import predict
from cnnzoo.errors import CnnzooError
from cnnzoo.models import create_model
from cnnzoo.training import checkpoint as ckpt

MEAN, STD = 0.25, 0.5


def _loaded(tmp_path: Path, in_chans: int) -> predict.LoadedModel:
    """An untrained resnet20 for 8×8 images, saved and loaded back as a trained one would be."""
    model = create_model("resnet20", num_classes=10, in_chans=in_chans)
    path = tmp_path / f"model{in_chans}.pt"
    ckpt.save_checkpoint(path, {
        "model": model.state_dict(), "eval_weights": "model", "config": {}, "model_name": "resnet20",
        "model_options": {}, "classes": [str(i) for i in range(10)], "mean": [MEAN] * in_chans,
        "std": [STD] * in_chans, "in_chans": in_chans, "image_size": [8, 8],
    })  # fmt: skip
    return predict.load(path)


@pytest.fixture(scope="module")
def grey_model(tmp_path_factory) -> predict.LoadedModel:
    return _loaded(tmp_path_factory.mktemp("grey"), 1)


@pytest.fixture(scope="module")
def rgb_model(tmp_path_factory) -> predict.LoadedModel:
    return _loaded(tmp_path_factory.mktemp("rgb"), 3)


def _pixels(x: torch.Tensor) -> np.ndarray:
    """The 0..255 pixels a preprocessed tensor was made from."""
    return np.rint((x.numpy() * STD + MEAN) * 255).astype(np.int64)


def test_16_bit_png_is_scaled_not_clipped(grey_model, tmp_path):
    pixels = np.linspace(0, 65535, 64).round().astype(np.uint16).reshape(8, 8)
    Image.fromarray(pixels).save(tmp_path / "scan.png")
    with Image.open(tmp_path / "scan.png") as stored:
        assert stored.mode == "I;16" and np.array_equal(np.asarray(stored), pixels)
    expected = np.rint(pixels / 257)
    x = grey_model.preprocess(tmp_path / "scan.png")
    assert np.array_equal(_pixels(x)[0], expected)  # not 255 wherever a pixel exceeds 255
    # the same pixels given as a 16-bit PIL image or array
    assert torch.equal(grey_model.preprocess(Image.fromarray(pixels)), x)
    assert torch.equal(grey_model.preprocess(pixels), x)


def test_a_single_path_is_one_image(grey_model, tmp_path):
    path = tmp_path / "cat.png"
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8) * 4).save(path)
    as_list = grey_model.predict([path], topk=3)
    assert grey_model.predict(str(path), topk=3) == as_list  # not read character by character
    assert grey_model.predict(path, topk=3) == as_list
    assert grey_model.predict(Image.open(path), topk=3) == as_list
    assert len(as_list) == 1 and len(as_list[0]) == 3


def test_an_empty_list_gives_no_predictions(grey_model):
    assert grey_model.predict([]) == []
    assert grey_model.predict(iter([])) == []


def test_tensors_are_images_in_torch_layout(rgb_model):
    pixels = np.random.default_rng(0).integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    expected = rgb_model.preprocess(pixels)
    as_uint8 = torch.from_numpy(pixels).permute(2, 0, 1)  # CxHxW
    torch.testing.assert_close(rgb_model.preprocess(as_uint8), expected)
    torch.testing.assert_close(rgb_model.preprocess(as_uint8.float() / 255), expected)  # to_tensor's [0, 1]
    single = rgb_model.predict(as_uint8)
    assert single == rgb_model.predict([pixels]) and len(single) == 1
    batch = torch.stack([as_uint8, as_uint8.flip(2)])  # a 4-D tensor is a batch
    predictions = rgb_model.predict(batch)
    # A batch of 2 may take another BLAS path than a batch of 1: the same classes, probabilities within float error
    # (seen on 2026-11-23: 0.09962659 against 0.09962658).
    assert len(predictions) == 2 and [label for label, _ in predictions[0]] == [label for label, _ in single[0]]
    assert [prob for _, prob in predictions[0]] == pytest.approx([prob for _, prob in single[0]], abs=1e-6)


def test_a_normalised_tensor_is_refused_in_one_line(rgb_model):
    with pytest.raises(CnnzooError, match=r"must hold values in \[0, 1\]") as info:
        rgb_model.predict([torch.randn(3, 8, 8)])
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("topk", [-1, 0, 2.5, True, "3"])
def test_topk_must_be_a_positive_integer(grey_model, topk):
    with pytest.raises(CnnzooError, match=r"^topk must be a positive integer, got"):
        grey_model.predict([np.zeros((8, 8), dtype=np.uint8)], topk=topk)


def test_unreadable_paths_are_errors_that_name_them(grey_model, tmp_path):
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"not a png at all")
    for path in (garbage, tmp_path / "missing.png"):
        with pytest.raises(CnnzooError, match=rf"^cannot read image {path}") as info:
            grey_model.predict([path])
        assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (5, "cannot predict a int"),
        ([5], "cannot read a int as an image"),
        ([np.zeros((8, 8, 7), dtype=np.uint8)], r"cannot read an array of shape \(8, 8, 7\)"),
    ],
)
def test_other_inputs_are_one_line_errors(grey_model, images, message):
    with pytest.raises(CnnzooError, match=message):
        grey_model.predict(images)


def test_grey_images_for_rgb_models_and_colour_images_for_grey_models(grey_model, rgb_model):
    grey = Image.new("L", (8, 8), 128)
    x = rgb_model.preprocess(grey)
    assert x.shape == (3, 8, 8) and (_pixels(x) == 128).all()  # grey repeated in R, G and B
    colour = Image.new("RGB", (8, 8), (10, 200, 30))
    x = grey_model.preprocess(colour)
    assert x.shape == (1, 8, 8) and (_pixels(x) == np.asarray(colour.convert("L"))).all()
    assert len(rgb_model.predict([grey])[0]) == 5 and len(grey_model.predict([colour])[0]) == 5


def test_a_run_trained_with_image_size_crops_like_training(tmp_path, rgb_model):
    """`--image-size N` trains on the centre square of each image; predict must not stretch the whole image."""
    from dataclasses import replace

    from cnnzoo.data.datasets import open_image

    rng = np.random.default_rng(0)
    path = tmp_path / "wide.png"
    Image.fromarray(rng.integers(0, 256, (8, 24, 3), dtype=np.uint8)).save(path)  # 24 wide, 8 high
    cropped = replace(rgb_model, config={"image_size": 8})
    trained_on = np.asarray(open_image(str(path), image_size=8)).transpose(2, 0, 1)
    assert (_pixels(cropped.preprocess(path)) == trained_on).all()
    assert not (_pixels(rgb_model.preprocess(path)) == trained_on).all()  # without it: stretched, not cropped


@pytest.mark.parametrize(
    "image",
    [torch.zeros(1, 0, 0), np.zeros((0, 5), dtype=np.uint8), torch.zeros(3, 4, 0)],
    ids=["0x0-tensor", "0x5-array", "4x0-tensor"],
)
def test_an_empty_image_is_refused(grey_model, image):
    with pytest.raises(CnnzooError, match=r"is \d+x\d+ pixels, an empty image; pass an image of at least 1x1"):
        grey_model.predict(image)


def test_the_bytes_of_an_image_file_are_one_image(grey_model, tmp_path):
    path = tmp_path / "cat.png"
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8) * 4).save(path)
    assert grey_model.predict(path.read_bytes(), topk=2) == grey_model.predict(path, topk=2)
    with pytest.raises(CnnzooError, match=r"^cannot read image <5 bytes> \(UnidentifiedImageError"):
        grey_model.predict(b"hello")


def _hung(signum, frame):
    raise TimeoutError("predict waited on the FIFO for 10 s: opened it instead of refusing it")


def test_a_fifo_or_a_broken_link_is_named_for_what_it_is(grey_model, tmp_path):
    import os
    import signal

    fifo, link = tmp_path / "pipe.png", tmp_path / "link.png"
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever: the alarm fails the test instead
    link.symlink_to(tmp_path / "gone.png")
    previous = signal.signal(signal.SIGALRM, _hung)
    signal.alarm(10)
    try:
        with pytest.raises(CnnzooError, match=rf"^cannot read image {fifo} \(a FIFO \(named pipe\), not a file\)"):
            grey_model.predict(fifo)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    with pytest.raises(CnnzooError, match=rf"^cannot read image {link} \(a broken symbolic link to .*gone.png\)"):
        grey_model.predict(link)


def _saved(tmp_path: Path, **changes) -> Path:
    """A checkpoint like `_loaded`'s with some of its metadata changed."""
    model = create_model("resnet20", num_classes=10, in_chans=1)
    path = tmp_path / "changed.pt"
    payload = {
        "model": model.state_dict(), "eval_weights": "model", "config": {}, "model_name": "resnet20",
        "model_options": {}, "classes": [str(i) for i in range(10)], "mean": [MEAN], "std": [STD], "in_chans": 1,
        "image_size": [8, 8],
    }  # fmt: skip
    ckpt.save_checkpoint(path, {**payload, **changes})
    return path


@pytest.mark.parametrize(("changes", "message"), [
    ({"image_size": [0, 0]}, r"image_size must be two positive integers \[height, width\], got \[0, 0\]"),
    ({"mean": "x"}, r"mean must be 1 or in_chans finite numbers, got 'x'"),
    ({"std": [0.0]}, r"std must be 1 or in_chans positive numbers, got \[0.0\]"),
    ({"mean": [0.1, 0.2]}, r"mean must be 1 or in_chans finite numbers, got \[0.1, 0.2\]"),
    ({"in_chans": "1"}, r"in_chans must be a positive integer, got '1'"),
    ({"mean_image": [0.5] * 3}, r"mean_image must be in_chans x height x width = 64 finite numbers"),
], ids=["image_size-0x0", "mean-text", "std-zero", "mean-too-long", "in_chans-text", "mean_image-short"])  # fmt: skip
def test_broken_preprocessing_metadata_is_refused_on_load(tmp_path, changes, message):
    path = _saved(tmp_path, **changes)
    with pytest.raises(CnnzooError, match=rf"^{path} carries broken model metadata: {message}; load a file") as info:
        predict.load(path)
    assert "\n" not in str(info.value)


def test_file_kind_reads_the_content_not_the_name(tmp_path):
    """The one test of a model file's kind that predict, export and the training spine share."""
    from safetensors.torch import save_file

    checkpoint = _saved(tmp_path).rename(tmp_path / "weights.onnx")  # a misleading name
    save_file({"w": torch.ones(2)}, tmp_path / "model.bin")
    traced = torch.jit.trace(torch.nn.Linear(2, 2), torch.ones(1, 2))
    torch.jit.save(traced, tmp_path / "script.safetensors")
    program = torch.export.export(torch.nn.Linear(2, 2), (torch.ones(1, 2),))
    torch.export.save(program, tmp_path / "program.pt")
    onnx_bytes = b"\x08\x0a\x12\x07pytorch\x1a\x0c2.14.1"  # how torch.onnx's files start: ir_version, producer
    (tmp_path / "model.pt").write_bytes(onnx_bytes)
    (tmp_path / "half.pt").write_bytes(checkpoint.read_bytes()[:500])  # a zip without its directory
    (tmp_path / "notes.txt").write_text("hello")
    expected = {"weights.onnx": "checkpoint", "model.bin": "safetensors", "script.safetensors": "torchscript",
                "program.pt": "exported-program", "model.pt": "onnx", "half.pt": "unknown", "notes.txt": "unknown",
                "missing.pt": "unknown"}  # fmt: skip
    assert {name: predict.file_kind(tmp_path / name) for name in expected} == expected
    assert predict.load(checkpoint).classes == [str(i) for i in range(10)]  # read as the checkpoint it is
