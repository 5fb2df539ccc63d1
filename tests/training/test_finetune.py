"""Fine-tuning: --init-from with a new classifier (--num-classes), other input channels, --freeze features and
--lr-head-mult; a trained model fine-tuned on other data learns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import cnnzoo
from cnnzoo.errors import CnnzooError
from cnnzoo.models import create_model
from cnnzoo.training.config import TrainConfig
from cnnzoo.training.finetune import adapt_input_channels, tensors_sized_by, transfer_weights
from cnnzoo.training.optim import build_optimizer


# -------------------------------------------------------------------- which tensors, and what is kept
def test_classifier_and_input_tensors_are_found_in_every_family():
    assert tensors_sized_by("resnet20", {}, "num_classes") == {"fc.weight", "fc.bias"}
    assert tensors_sized_by("resnet20", {}, "in_chans") == {"conv1.weight"}
    assert tensors_sized_by("vgg11", {"small_input": True}, "num_classes") == {
        "classifier.6.weight",
        "classifier.6.bias",
    }
    head = tensors_sized_by("googlenet", {}, "num_classes")
    assert {"fc.weight", "aux1.fc2.weight", "aux2.fc2.weight"} <= head and len(head) == 6


def test_new_head_keeps_every_other_weight_and_leaves_the_head_as_initialised():
    source = create_model("resnet20", num_classes=10)
    torch.manual_seed(1)
    target = create_model("resnet20", num_classes=4)
    fresh_head = target.fc.weight.detach().clone()
    notes = transfer_weights(target, source.state_dict(), model_name="resnet20", options={}, new_head=True, source="x")
    assert torch.equal(target.fc.weight, fresh_head)
    for name, tensor in source.state_dict().items():
        if not name.startswith("fc."):
            assert torch.equal(target.state_dict()[name], tensor), name
    assert notes[0].startswith("new classifier (fc.bias, fc.weight; 260 values), initialised afresh; 114 other")


def test_input_filters_are_summed_into_grey_and_spread_over_rgb():
    rgb = create_model("resnet20", num_classes=10, in_chans=3)
    grey = create_model("resnet20", num_classes=10, in_chans=1)
    notes = transfer_weights(grey, rgb.state_dict(), model_name="resnet20", options={}, new_head=False, source="x")
    torch.testing.assert_close(grey.conv1.weight, rgb.conv1.weight.sum(1, keepdim=True))
    assert notes == ["conv1.weight: filters for 3 input channel(s) summed into 1"]
    x = torch.rand(2, 1, 8, 8)  # a grey image gives what its RGB copy gave the RGB filters
    torch.testing.assert_close(
        torch.nn.functional.conv2d(x, grey.conv1.weight, padding=1),
        torch.nn.functional.conv2d(x.expand(-1, 3, -1, -1), rgb.conv1.weight, padding=1),
    )
    torch.testing.assert_close(adapt_input_channels(grey.conv1.weight, 3), grey.conv1.weight.repeat(1, 3, 1, 1) / 3)
    with pytest.raises(CnnzooError, match="cannot adapt first-layer filters from 3 to 2 input channels"):
        adapt_input_channels(rgb.conv1.weight, 2)


def test_head_lr_groups_scale_only_the_classifier():
    cfg = TrainConfig.from_dict({"model": "resnet20", "data": "digits", "lr": 0.05, "init_from": "x.pt",
                                 "lr_head_mult": 10, "decay_bn_bias": False})  # fmt: skip
    model = create_model("resnet20", num_classes=10, in_chans=1)
    groups = build_optimizer(model, cfg).param_groups
    head = {id(model.fc.weight), id(model.fc.bias)}
    for group in groups:
        in_head = {id(p) in head for p in group["params"]}
        assert len(in_head) == 1 and group["lr"] == (0.5 if in_head == {True} else 0.05)
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))


def test_fine_tuning_flags_need_init_from_and_the_data_s_class_count(cli):
    with pytest.raises(CnnzooError, match="--num-classes, --freeze fine-tune a trained model: give --init-from"):
        TrainConfig.from_dict({"model": "resnet20", "data": "digits", "num_classes": 4, "freeze": "features"})
    code, _, err = cli(["train", "--model", "resnet20", "--data", "digits", "--lr-head-mult", "5"])
    assert code == 2 and "--lr-head-mult fine-tune a trained model" in err and err.count("\n") == 1
    with pytest.raises(CnnzooError, match="invalid freeze 'all'"):
        TrainConfig.from_dict({"model": "resnet20", "data": "digits", "init_from": "x.pt", "freeze": "all"})


# -------------------------------------------------------------------- runs that learn
def digit_folder(root: Path, digits: tuple[int, ...], train: int, test: int) -> Path:
    """An image folder of some of scikit-learn's 8x8 digits as 8-bit PNGs: train/<digit>/ and test/<digit>/."""
    from sklearn.datasets import load_digits

    data = load_digits()
    for digit in digits:
        images = data.images[data.target == digit]
        for split, part in (("train", images[:train]), ("test", images[train : train + test])):
            (root / split / str(digit)).mkdir(parents=True, exist_ok=True)
            for i, image in enumerate(part):
                Image.fromarray(np.uint8(image * 255 / 16)).save(root / split / str(digit) / f"{i}.png")
    return root


def test_digits_run_fine_tuned_to_four_classes_with_frozen_features(digits_run, tmp_path, capsys):
    folder = digit_folder(tmp_path / "four", (0, 1, 2, 3), train=120, test=40)
    source = cnnzoo.load(digits_run)
    results = cnnzoo.train(model="resnet20", data="imagefolder", data_dir=str(folder), init_from=str(digits_run),
                           num_classes=4, freeze="features", epochs=3, lr=0.1, batch_size=32, val_size=0,
                           precision="fp32", tensorboard=False, plots=False, run_dir=str(tmp_path / "run"))  # fmt: skip
    out = capsys.readouterr().out
    assert "new classifier (fc.bias, fc.weight; 260 values), initialised afresh" in out
    tuned = results.model
    assert tuned.fc.weight.shape == (4, 64)
    for name, param in source.model.named_parameters():  # frozen: every weight but the classifier as it was
        if not name.startswith("fc."):
            assert torch.equal(dict(tuned.named_parameters())[name], param), name
    print(f"4-class fine-tune, frozen features: test top-1 {results['test']['top1']:.4f}")
    assert results["test"]["top1"] > 0.7  # chance is 0.25: the new head learned on the digits run's features


def test_other_classes_without_num_classes_say_how(digits_run, tmp_path):
    folder = digit_folder(tmp_path / "four", (0, 1, 2, 3), train=10, test=4)
    with pytest.raises(CnnzooError) as excinfo:
        cnnzoo.train(model="resnet20", data="imagefolder", data_dir=str(folder), init_from=str(digits_run),
                     val_size=0, run_dir=str(tmp_path / "run"), quiet=True)  # fmt: skip
    message = str(excinfo.value)
    assert "was trained on 10 classes from '0', this run's data has 4 classes from '0'" in message
    assert "give --num-classes 4 to fine-tune with a new classifier" in message and "\n" not in message
    with pytest.raises(CnnzooError, match="--num-classes 10, but imagefolder has 4 classes"):
        cnnzoo.train(model="resnet20", data="imagefolder", data_dir=str(folder), init_from=str(digits_run),
                     num_classes=10, val_size=0, run_dir=str(tmp_path / "run"), quiet=True)  # fmt: skip
