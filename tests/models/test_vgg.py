"""VGG: the configuration table, counts and weights against torchvision, the CIFAR head, multiply-adds."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torchvision

from cnnzoo.errors import CnnzooError
from cnnzoo.inspect.counts import count_macs, count_params
from cnnzoo.models import create_model, get_model_config
from cnnzoo.models.vgg import VGG_CFGS

NAMES = ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]


@pytest.mark.parametrize("config, depth", [("A", 11), ("B", 13), ("D", 16), ("E", 19)])
def test_table_gives_the_papers_depths(config, depth):
    # weight layers = 3x3 convolutions of the table + the three fully connected layers
    assert sum(n for n, _ in VGG_CFGS[config]) + 3 == depth
    with torch.device("meta"):
        model = create_model(f"vgg{depth}")
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == depth


@pytest.mark.parametrize("name", NAMES)
def test_param_count_equals_torchvision(name):
    with torch.device("meta"):
        ours, theirs = create_model(name), getattr(torchvision.models, name)(weights=None)
    assert count_params(ours) == count_params(theirs)
    bns = sum(isinstance(m, nn.BatchNorm2d) for m in ours.modules())
    assert bns == sum(isinstance(m, nn.BatchNorm2d) for m in theirs.modules())
    assert (bns > 0) == name.endswith("_bn")


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_torchvision_weights_load_strictly_give_the_same_logits_and_train_at_min_size(random_torchvision, name):
    theirs = random_torchvision(getattr(torchvision.models, name))
    with torch.device("meta"):  # no initialisation: every tensor comes from torchvision's state_dict
        ours = create_model(name).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    c, h, w = ours.default_cfg.min_input_size
    assert (c, h, w) == (3, 32, 32)
    x = torch.randn(2, c, h, w)  # adaptive pooling lets both run well below 224
    with torch.no_grad():
        expected, got = theirs(x), ours(x)
    assert (expected[0] - expected[1]).abs().max() > 0.01  # the logits depend on the input: the check has teeth
    assert (got - expected).abs().max().item() <= 1e-4
    # the same 138M-parameter model trains at its minimum size (one forward and backward), and fails below it
    ours.train()
    out = ours(x)
    assert out.shape == (2, 1000)
    out.square().mean().backward()
    assert all(p.grad is not None for p in ours.parameters())
    with pytest.raises(RuntimeError):
        ours(torch.randn(2, c, h - 1, w - 1))


def test_course_cifar10_vgg11_has_9_750_922_parameters():
    model = create_model("vgg11", head="small", num_classes=10)
    assert count_params(model) == 9_750_922
    assert [m.out_features for m in model.classifier if isinstance(m, nn.Linear)] == [512, 512, 10]
    assert model.default_cfg.input_size == (3, 32, 32)
    # small_input=True picks the same head (its pools only round up)
    assert count_params(create_model("vgg11", small_input=True)) == 9_750_922


def test_vgg16_multiply_adds_match_torchvisions_15_47_gflops():
    with torch.device("meta"):
        model = create_model("vgg16")
    macs = count_macs(model, (3, 224, 224))
    assert macs == pytest.approx(15.47e9, rel=0.005)


def test_small_input_lets_28_pixel_images_through_all_five_pools():
    model = create_model("vgg11", small_input=True, in_chans=1).eval()
    with torch.no_grad():
        assert model.features(torch.randn(1, 1, 28, 28)).shape == (1, 512, 1, 1)
    with torch.no_grad(), pytest.raises(RuntimeError):  # the ImageNet pools floor 28 → 14 → 7 → 3 → 1 → 0
        create_model("vgg11", in_chans=1, head="small")(torch.randn(1, 1, 28, 28))


# The eight ImageNet-head models train at their minimum size in the torchvision test above; here the options.
CASES = [
    ("vgg11", {"small_input": True}),
    ("vgg13", {"head": "small"}),
    ("vgg11_bn", {"head": "small", "num_classes": 7, "in_chans": 1}),
    ("vgg16_bn", {"small_input": True, "num_classes": 7, "in_chans": 1}),
]


@pytest.mark.parametrize("name, options", CASES, ids=[n + "".join(f"-{k}={v}" for k, v in o.items()) for n, o in CASES])
def test_trains_at_its_min_input_size_and_not_below(trains_at_min_size, name, options):
    trains_at_min_size(name, options)


def test_default_configs():
    assert get_model_config("vgg16").input_size == (3, 224, 224)
    assert get_model_config("vgg16", head="small").input_size == (3, 32, 32)
    assert get_model_config("vgg16", small_input=True).min_input_size == (3, 1, 1)


def test_invalid_options_name_the_valid_choices():
    with pytest.raises(CnnzooError, match="invalid head 'tiny'; valid choices: 'imagenet', 'small'"):
        create_model("vgg11", head="tiny")
    with pytest.raises(CnnzooError, match="use vgg11 instead"):
        create_model("vgg11_bn", batch_norm=False)


def test_batchnorm_free_vgg_starts_from_glorot_and_bn_variants_keep_torchvisions_init():
    """Section 3.1: Glorot & Bengio's normalised uniform weights, zero biases; the *_bn models keep N(0, 0.01)."""
    torch.manual_seed(0)
    model = create_model("vgg11", num_classes=10, small_input=True)
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 11
    for layer in layers:
        fan_in, fan_out = layer.weight[0].numel(), layer.weight[:, 0].numel()
        bound = math.sqrt(6 / (fan_in + fan_out))
        assert layer.weight.abs().max() <= bound
        assert layer.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.1)
        assert not layer.bias.any()
    with_bn = create_model("vgg11_bn", num_classes=10, small_input=True)
    assert with_bn.classifier[0].weight.std().item() == pytest.approx(0.01, rel=0.1)


def test_batchnorm_free_vgg_gradients_do_not_vanish_at_init():
    """Issue 9: behind the N(0, 0.01) 512-wide head the convolutions' gradients were ~1e-4 of their weights."""
    torch.manual_seed(0)
    model = create_model("vgg11", num_classes=10, small_input=True)
    nn.functional.cross_entropy(model(torch.randn(16, 3, 32, 32)), torch.arange(16) % 10).backward()
    weights = {name: p for name, p in model.named_parameters() if name.endswith("weight")}
    ratios = {name: (p.grad.norm() / p.norm()).item() for name, p in weights.items()}
    assert min(ratios.values()) > 2e-3, ratios
