"""The course's own CIFAR-10 networks (../shared/course/): Exercise 3-2's ResNet-18 and Project #2's ResNet50_layer4."""

from __future__ import annotations

import csv
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from cnnzoo.inspect.counts import count_params
from cnnzoo.models import create_model, model_options

COURSE_MODELS = ["course_resnet18", "course_resnet50_layer4"]


def _conv_bn(cin: int, cout: int, k: int, bias: bool) -> int:
    """Parameters of a k x k convolution and the BatchNorm after it."""
    return cin * cout * k * k + (cout if bias else 0) + 2 * cout


def _stage_maps(model: nn.Module, size: int = 32) -> list[tuple[int, ...]]:
    shapes = []
    hooks = [
        getattr(model, f"layer{i}").register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:])))
        for i in range(1, model.num_stages + 1)
    ]
    model.eval()(torch.randn(1, 3, size, size))
    for h in hooks:
        h.remove()
    return shapes


def test_exercise_resnet18_has_the_courses_11_181_642_parameters():
    """The course's torchsummary prints "Params size (MB): 42.65": 11,181,642 float32 parameters."""
    model = create_model("course_resnet18")
    assert count_params(model) == 11_181_642
    assert round(count_params(model) * 4 / 2**20, 2) == 42.65


def test_exercise_resnet18_keeps_8x8_maps_through_every_stage():
    model = create_model("course_resnet18")
    assert _stage_maps(model) == [(64, 8, 8), (128, 8, 8), (256, 8, 8), (512, 8, 8)]
    assert model.maxpool.padding == 1 and model.conv1.stride == (2, 2) and model.conv1.bias is None
    strides = [c.stride for c in model.modules() if isinstance(c, nn.Conv2d) and c is not model.conv1]
    assert set(strides) == {(1, 1)}
    projected = [name for name, m in model.named_modules() if name.endswith("downsample")]
    assert projected == ["layer2.0.downsample", "layer3.0.downsample", "layer4.0.downsample"]  # channels change
    assert isinstance(model.layer2[0].downsample[1], nn.BatchNorm2d)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def _layer4_params(projection_everywhere: bool) -> int:
    """ResNet50_layer4 counted from the listing: biased convs, each followed by BN; 1024-to-10 linear layer."""
    total = _conv_bn(3, 64, 7, bias=True) + 1024 * 10 + 10
    cin = 64
    for blocks, mid, out in [(3, 64, 256), (4, 128, 512), (6, 256, 1024)]:
        for j in range(blocks):
            total += _conv_bn(cin, mid, 1, True) + _conv_bn(mid, mid, 3, True) + _conv_bn(mid, out, 1, True)
            changes_shape = cin != out or (j == blocks - 1 and out != 1024)
            if projection_everywhere or changes_shape:
                total += _conv_bn(cin, out, 1, True)
            cin = out
    return total


@pytest.mark.parametrize("shortcut, projection_everywhere", [("B", False), ("C", True)])
def test_resnet50_layer4_parameters_counted_from_the_listing(shortcut, projection_everywhere):
    model = create_model("course_resnet50_layer4", shortcut=shortcut)
    assert count_params(model) == _layer4_params(projection_everywhere)
    expected_projections = 13 if projection_everywhere else 5  # B: 3 channel changes + 2 downsampling units
    assert sum(1 for n, _ in model.named_modules() if n.endswith("downsample")) == expected_projections


def test_resnet50_layer4_shapes_at_32x32_and_where_it_downsamples():
    model = create_model("course_resnet50_layer4")
    assert _stage_maps(model) == [(256, 4, 4), (512, 2, 2), (1024, 2, 2)]
    assert model.maxpool.padding == 0 and model.conv1.bias is not None
    assert model.fc.in_features == 1024 and model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    strided = [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d) and m.stride == (2, 2)]
    # the stem, then the last unit of conv2_x and conv3_x: on its first 1x1 and on its shortcut's projection
    assert strided == ["conv1", "layer1.2.conv1", "layer1.2.downsample.0", "layer2.3.conv1", "layer2.3.downsample.0"]
    main_path = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d) and "downsample" not in n]
    assert len(main_path) + 1 == 41  # the stem, 13 units of three convs, the fc: ResNet-50 less conv5_x's 9


def test_resnet50_layer4_unit_is_conv_bn_relu_throughout_with_nothing_after_the_addition():
    """One unit against the listing's arithmetic: three conv-BN-ReLU on the branch, conv-BN-ReLU projection, sum."""
    torch.manual_seed(0)
    model = create_model("course_resnet50_layer4").eval()
    unit = model.layer1[2]  # the downsampling unit of conv2_x
    with torch.no_grad():
        for m in unit.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1), m.bias.normal_(0, 0.1)
            if isinstance(m, nn.Conv2d):
                m.bias.normal_(0, 0.1)
        x = torch.randn(2, 256, 7, 7)

        def cbr(conv: nn.Conv2d, bn: nn.BatchNorm2d, t: torch.Tensor) -> torch.Tensor:
            return F.relu(bn(conv(t)))

        branch = cbr(unit.conv3, unit.bn3, cbr(unit.conv2, unit.bn2, cbr(unit.conv1, unit.bn1, x)))
        shortcut = cbr(unit.downsample[0], unit.downsample[1], x)
        expected = branch + shortcut
        assert torch.allclose(unit(x), expected, atol=1e-6)
        assert (unit(x) >= 0).all()


def test_course_models_offer_the_listing_shortcut_and_nothing_that_breaks_the_layout():
    for name in COURSE_MODELS:
        assert model_options(name) == ("shortcut", "zero_init_residual")
    from cnnzoo.errors import CnnzooError

    with pytest.raises(CnnzooError, match="has no option 'small_input'"):
        create_model("course_resnet18", small_input=True)


@pytest.mark.parametrize("name", COURSE_MODELS)
def test_forward_and_backward_at_min_input_size(name):
    model = create_model(name).train()
    c, h, w = model.default_cfg.min_input_size
    model(torch.randn(2, c, h, w)).square().mean().backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.slow
@pytest.mark.parametrize("name", COURSE_MODELS)
def test_course_models_learn_on_a_cifar10_subset(name, tmp_path, cifar10_jpeg_dir, cifar10_cache):
    """One epoch on 640 CIFAR-10 JPEGs on the CPU: the loss is finite and falls, test top-1 above chance.

    Twenty steps are few for these deep networks: each residual branch starts at zero (zero_init_residual), without
    which the ResNet-50 cut's first steps overshoot (epoch-mean loss 2.7-4.1 at AdamW 5e-4 to 2e-3, seed 0)."""
    from cnnzoo.training.config import resolve_config
    from cnnzoo.training.train import train

    overrides = {"model": name, "data": "cifar10", "data_dir": str(cifar10_jpeg_dir),
                 "cache_dir": str(cifar10_cache), "loader": "device", "train_limit": 640, "eval_limit": 500,
                 "val_size": 500, "batch_size": 32, "epochs": 1, "optimizer": "adamw", "lr": 1e-3,
                 "weight_decay": 5e-4, "schedule": "constant", "device": "cpu", "precision": "fp32",
                 "compile": "none", "tensorboard": False, "plots": False, "run_dir": str(tmp_path / "run"),
                 "seed": 0, "model_options": {"zero_init_residual": True}}  # fmt: skip
    results = train(resolve_config({}, overrides), quiet=True)
    epoch = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))[-1]
    assert math.isfinite(float(epoch["train_loss"])) and float(epoch["train_loss"]) < math.log(
        10
    )  # below the uniform guess
    assert results["test"]["count"] == 500 and results["test"]["top1"] > 0.12  # chance is 0.10
