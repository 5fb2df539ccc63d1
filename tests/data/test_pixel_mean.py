"""normalize="pixel": the ResNet paper's per-pixel mean subtraction (He et al., 2016, §4.2), in both loaders,
checkpoints, `cnnzoo evaluate` / `predict` and ONNX exports, beside the default per-channel normalisation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from cnnzoo.cli import main
from cnnzoo.data import Augment, DataSpec, DeviceLoader, build_loaders
from cnnzoo.data.datasets import ImageArrays
from cnnzoo.errors import CnnzooError
from cnnzoo.training.config import TrainConfig


def _floats(arrays: list[np.ndarray]) -> torch.Tensor:
    """HxWxC uint8 arrays → an NxCxHxW float64 tensor in [0, 1]."""
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).to(torch.float64) / 255


def _spec(root: Path, loader: str, **extra) -> DataSpec:
    return DataSpec("imagefolder", root, batch_size=4, eval_batch_size=64, loader=loader, workers=0,
                    normalize="pixel", **{"val_size": 0, **extra})  # fmt: skip


@pytest.mark.parametrize("loader", ["device", "stream"])
def test_the_mean_image_is_the_mean_of_the_train_images_trained_on(tiny_folder, loader):
    root, arrays = tiny_folder
    loaders = build_loaders(_spec(root, loader, val_size=3), "cpu")
    kept = sorted(set(range(18)) - set(loaders.val_indices.tolist()))  # the held-out images are not in the mean
    expected = _floats([arrays["train"][i] for i in kept]).mean(dim=0)
    assert loaders.mean_image.shape == (3, 8, 8)
    torch.testing.assert_close(loaders.mean_image.double(), expected, atol=1e-6, rtol=0)
    assert loaders.std == (1.0, 1.0, 1.0)  # no division by a std
    torch.testing.assert_close(torch.tensor(loaders.mean, dtype=torch.float64), expected.mean(dim=(1, 2)))


@pytest.mark.parametrize("loader", ["device", "stream"])
def test_unaugmented_batches_are_pixels_over_255_minus_the_mean_image(tiny_folder, loader):
    root, arrays = tiny_folder
    loaders = build_loaders(_spec(root, loader), "cpu")
    mean_image = _floats(arrays["train"]).mean(dim=0)
    batch, labels = next(iter(loaders.test))
    torch.testing.assert_close(batch.double(), _floats(arrays["test"]) - mean_image, atol=1e-6, rtol=0)
    assert labels.tolist() == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize("loader", ["device", "stream"])
def test_the_test_split_alone_is_normalised_by_a_given_mean_image(tiny_folder, loader):
    """As `cnnzoo evaluate` asks for it: DataSpec(test_only=True, stats=(mean image, ones), val_size=0), no train split read."""
    root, arrays = tiny_folder
    mean_image = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(3))
    spec = _spec(root, loader, test_only=True, stats=(mean_image, (1.0, 1.0, 1.0)))
    loaders = build_loaders(spec, "cpu")
    assert loaders.train is None and torch.equal(loaders.mean_image, mean_image)
    batch, _ = next(iter(loaders.test))
    expected = _floats(arrays["test"]) - mean_image.double()
    torch.testing.assert_close(batch.double(), expected, atol=1e-6, rtol=0)


def test_both_loaders_give_the_same_statistics_and_batches(tiny_folder):
    root, _ = tiny_folder
    device, stream = (build_loaders(_spec(root, loader, val_size=3), "cpu") for loader in ("device", "stream"))
    torch.testing.assert_close(device.mean_image, stream.mean_image)
    for split in ("val", "test"):
        (a, la), (b, lb) = next(iter(getattr(device, split))), next(iter(getattr(stream, split)))
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
        assert la.tolist() == lb.tolist()


def _augmented(image: torch.Tensor, padding: int, top: int, left: int, flip: bool) -> torch.Tensor:
    """The paper's order on an already mean-subtracted image: zero-pad, crop at (top, left), then mirror."""
    height, width = image.shape[1:]
    crop = F.pad(image, (padding,) * 4)[:, top : top + height, left : left + width]
    return crop.flip(2) if flip else crop


def test_device_loader_subtracts_the_mean_image_before_padding_cropping_and_flipping():
    images = torch.randint(1, 256, (6, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    mean_image = images.double().mean(dim=0) / 255
    data = ImageArrays(images, torch.zeros(6, dtype=torch.long), ["a"])
    loader = DeviceLoader(data, 6, mean=mean_image, std=(1.0,) * 3, augment=Augment(crop_padding=2, flip=True))
    plan = loader._plan()  # the epoch's draws: __iter__ draws the same ones again
    batch, _ = next(iter(loader))
    normalised = images.double() / 255 - mean_image
    expected = torch.stack([
        _augmented(normalised[i], 2, int(plan["crop_top"][i]), int(plan["crop_left"][i]), bool(plan["flip"][i]))
        for i in range(6)
    ])  # fmt: skip
    torch.testing.assert_close(batch.double(), expected, atol=1e-6, rtol=0)
    assert (plan["crop_top"] != 2).any() and plan["flip"].any() and not plan["flip"].all()  # the draws matter


def test_streaming_loader_subtracts_the_mean_image_before_padding_cropping_and_flipping(tiny_folder):
    root, arrays = tiny_folder
    loaders = build_loaders(_spec(root, "stream", augment=Augment(crop_padding=2, flip=True)), "cpu")
    normalised = _floats(arrays["train"]) - _floats(arrays["train"]).mean(dim=0)
    candidates = torch.stack([
        _augmented(image, 2, top, left, flip)
        for image in normalised for top in range(5) for left in range(5) for flip in (False, True)
    ])  # fmt: skip
    for batch, _ in loaders.train:
        for image in batch.double():
            assert (candidates - image).abs().amax(dim=(1, 2, 3)).min() < 1e-6


def test_a_bad_normalisation_is_a_one_line_error(tmp_path, capsys):
    with pytest.raises(CnnzooError, match="invalid normalize 'mean'; valid choices: 'channel', 'pixel'"):
        TrainConfig.from_dict({"model": "resnet20", "data": "digits", "normalize": "mean"})
    with pytest.raises(CnnzooError, match="invalid normalize"):
        DataSpec("digits", normalize="per-pixel", val_size=0)
    argv = ["train", "--model", "resnet20", "--data", "digits", "--run-dir", str(tmp_path / "run"), "--normalize", "x"]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err == "cnnzoo: error: invalid normalize 'x'; valid choices: 'channel', 'pixel'\n"  # one line
    assert not (tmp_path / "run").exists()


def test_train_help_documents_the_option(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "--normalize" in capsys.readouterr().out


# --- a run trained with normalize: pixel ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pixel_run(tmp_path_factory, make_folder) -> tuple[Path, dict, dict]:
    """resnet20 trained for a few steps on a tiny 8×8 folder with normalize: pixel; (run dir, results, arrays)."""
    from cnnzoo.training.train import train

    root = tmp_path_factory.mktemp("pixel")
    arrays = make_folder(root / "folder")
    config = {"model": "resnet20", "data": "imagefolder", "data_dir": str(root / "folder"), "normalize": "pixel",
              "val_size": 3, "epochs": 2, "batch_size": 5, "lr": 0.05, "tensorboard": False, "plots": False,
              "run_dir": str(root / "run"), "workers": 0}  # fmt: skip
    results = train(config, quiet=True)
    return root / "run", results, arrays


def test_the_run_stores_normalize_and_its_mean_image(pixel_run):
    from cnnzoo.predict import load

    run_dir, _, arrays = pixel_run
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["normalize"] == "pixel"
    loaded = load(run_dir)
    assert len(loaded.mean_image) == 3 * 8 * 8 and loaded.std == (1.0, 1.0, 1.0)
    loaders = build_loaders(DataSpec("imagefolder", run_dir.parent / "folder", val_size=3, normalize="pixel"))
    assert torch.equal(loaded.stats[0], loaders.mean_image)  # float32 values survive the JSON metadata exactly


def test_evaluate_and_predict_reproduce_the_in_run_numbers(pixel_run, tmp_path, capsys):
    from PIL import Image

    from cnnzoo.predict import load

    run_dir, results, arrays = pixel_run
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--format", "json"]) == 0
    test = json.loads(capsys.readouterr().out)
    assert test["count"] == 6 and test["top1"] == results["test"]["top1"]
    assert test["loss"] == pytest.approx(results["test"]["loss"], abs=1e-6)
    assert main(["evaluate", str(run_dir), "--split", "val", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["top1"] == results["val_best"]["top1"]

    # predict preprocesses an image file exactly as the test loader normalised it
    loaded = load(run_dir)
    loaders = build_loaders(DataSpec("imagefolder", run_dir.parent / "folder", val_size=3, normalize="pixel"))
    batch, _ = next(iter(loaders.test))
    path = tmp_path / "0.png"
    Image.fromarray(arrays["test"][0]).save(path)
    torch.testing.assert_close(loaded.preprocess(path), batch[0], atol=1e-6, rtol=0)


@pytest.mark.slow
def test_an_onnx_export_carries_the_mean_image_and_predicts_the_same_top_k(pixel_run, tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    pytest.importorskip("onnxruntime")
    from PIL import Image

    from cnnzoo.export import export_model
    from cnnzoo.predict import load, read_metadata

    run_dir, _, arrays = pixel_run
    checkpoint = load(run_dir)
    exported = export_model(run_dir, "onnx", tmp_path / "model.onnx", dynamic_batch=True).path
    meta = read_metadata(exported, "onnx")["cnnzoo"]
    assert meta["mean_image"] == checkpoint.mean_image and meta["std"] == [1.0, 1.0, 1.0]
    files = []
    for i, pixels in enumerate(arrays["test"]):
        files.append(tmp_path / f"{i}.png")
        Image.fromarray(pixels).save(files[-1])
    from_onnx, from_checkpoint = load(exported).predict(files, topk=3), checkpoint.predict(files, topk=3)
    assert [[c for c, _ in row] for row in from_onnx] == [[c for c, _ in row] for row in from_checkpoint]
    assert np.allclose([[p for _, p in row] for row in from_onnx], [[p for _, p in row] for row in from_checkpoint],
                       atol=1e-4)  # fmt: skip


def test_a_mean_image_of_another_size_is_a_one_line_error():
    """A run trained with normalize: pixel on 32x32 images, evaluated on 16x16 ones: say so, no broadcast error."""
    from cnnzoo.data.base import check_mean_image

    check_mean_image(torch.zeros(3, 32, 32), (3, 32, 32))  # the same size: fine
    check_mean_image((0.5, 0.5, 0.5), (3, 16, 16))  # per-channel statistics fit any size
    with pytest.raises(CnnzooError, match=r"mean image is 3×32×32 .* these images are 3×16×16") as info:
        check_mean_image(torch.zeros(3, 32, 32), (3, 16, 16))
    assert "\n" not in str(info.value)
