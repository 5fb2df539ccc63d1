"""LoadedModel.preprocess / predict: what counts as an image, 16-bit files, and one-line errors for the rest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnnzoo.errors import CnnzooError
from cnnzoo.models import create_model
from cnnzoo import predict
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
