"""The registry: names, options and errors, independent of any family."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from cnnzoo.errors import CnnzooError
from cnnzoo.models.registry import (
    _REGISTRY,
    CIFAR_CFG,
    Option,
    check_model_options,
    create_model,
    get_model_config,
    list_models,
    option_specs,
    register_model,
)


class _Toy(nn.Module):
    def __init__(self, num_classes: int = 10, in_chans: int = 3, *, width: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_chans, width, 3)
        self.fc = nn.Linear(width, num_classes)


@pytest.fixture
def toy():
    @register_model(CIFAR_CFG, builds=_Toy, options={"width": Option(int, "channels of the convolution", low=1)})
    def toy_net(**options) -> _Toy:
        return _Toy(**options)

    yield "toy_net"
    del _REGISTRY["toy_net"]


def test_create_model_applies_classes_channels_and_options(toy):
    model = create_model(toy, num_classes=7, in_chans=1, width=5)
    assert model.fc.out_features == 7 and model.conv.in_channels == 1 and model.conv.out_channels == 5
    assert model.default_cfg.num_classes == 7 and model.default_cfg.input_size == (1, 32, 32)
    assert len(model.default_cfg.mean) == 1


def test_unknown_option_names_the_valid_ones(toy):
    with pytest.raises(CnnzooError, match="no option 'depth'.*Valid options: width"):
        create_model(toy, depth=3)


def test_unknown_model_suggests_close_names(toy):
    with pytest.raises(CnnzooError, match="Did you mean 'toy_net'"):
        create_model("toy_nte")


def test_list_models_filters_by_pattern(toy):
    assert "toy_net" in list_models("toy*")
    assert list_models("no_such_*") == []


def test_an_undeclared_option_of_a_model_registered_elsewhere_is_passed_on_unchecked():
    @register_model(CIFAR_CFG, builds=_Toy)
    def undeclared_net(**options) -> _Toy:
        return _Toy(**options)

    try:
        assert [(key, spec.accepts()) for key, spec, _ in option_specs("undeclared_net")] == [("width", "any value")]
        assert create_model("undeclared_net", width=2).conv.out_channels == 2
        with pytest.raises(CnnzooError, match="has no option 'depth'"):
            create_model("undeclared_net", depth=2)
    finally:
        del _REGISTRY["undeclared_net"]


@pytest.mark.parametrize(
    "name, options, message",
    [
        ("vgg11", {"dropout": "abc"}, "vgg11: option dropout must be a number in [0, 1], got 'abc'"),
        ("vgg11", {"dropout": 1.5}, "vgg11: option dropout must be a number in [0, 1], got 1.5"),
        ("alexnet", {"dropout": math.nan}, "alexnet: option dropout must be a number in [0, 1], got nan"),
        ("vgg11", {"small_input": "maybe"}, "vgg11: option small_input must be true or false, got 'maybe'"),
        ("resnet18", {"small_input": "no"}, "resnet18: option small_input must be true or false, got 'no'"),
        ("resnet18", {"zero_init_residual": 1}, "option zero_init_residual must be true or false, got 1"),
        ("resnet18", {"shortcut": "D"}, "invalid shortcut 'D'; valid choices: 'A', 'B', 'C', 'none'"),
        ("resnet18", {"shortcut": 1}, "resnet18: option shortcut must be one of 'A', 'B', 'C', 'none', got 1"),
        ("googlenet", {"layout": None}, "option layout must be one of 'paper', 'torchvision', got None"),
        ("resnet18", {"num_classes": "10"}, "resnet18: option num_classes must be an integer in [1, 100000], got '10'"),
        ("resnet18", {"in_chans": 0}, "resnet18: option in_chans must be an integer in [1, 64], got 0"),
        ("resnet18", {"num_classes": True}, "option num_classes must be an integer in [1, 100000], got True"),
    ],
)
def test_option_values_are_checked_in_one_line(name, options, message):
    checks = (create_model, get_model_config, lambda name, **options: check_model_options(name, options))
    for check in checks:
        with pytest.raises(CnnzooError) as err:
            check(name, **options)
        assert message in str(err.value) and "\n" not in str(err.value)


def test_none_is_accepted_where_it_is_the_default():
    with torch.device("meta"):
        model = create_model("googlenet", dropout=None, batch_norm=None, layout="torchvision")
    assert model.dropout.p == 0.2
    check_model_options("nin", {"layout": None, "small_input": None, "dropout": 0})  # an int is a number


def test_a_model_name_that_is_not_a_string_is_one_line():
    for call in (create_model, get_model_config, option_specs):
        with pytest.raises(CnnzooError, match="a model name must be a string such as 'resnet18', got 18"):
            call(18)
    with pytest.raises(CnnzooError, match="pattern must be a string"):
        list_models(5)


@pytest.mark.parametrize("name", list_models())
def test_every_option_is_declared_described_and_its_default_valid(name):
    specs = option_specs(name)
    assert [key for key, _, _ in specs] == sorted(key for key, _, _ in specs)
    for key, spec, default in specs:
        assert spec.type in (bool, int, float, str) and spec.description and "\n" not in spec.description
        check_model_options(name, {key: default})


def test_a_models_own_defaults_apply_however_it_is_built():
    from cnnzoo.models.resnet import plain20, resnet20

    defaults = {key: default for key, _, default in option_specs("resnet20")}
    assert defaults["small_input"] is True and defaults["shortcut"] == "A"
    assert {key: d for key, _, d in option_specs("plain20")}["shortcut"] == "none"
    with torch.device("meta"):
        direct, registered = resnet20(), create_model("resnet20")
        plain = plain20()
    assert direct.conv1.kernel_size == registered.conv1.kernel_size == (3, 3)
    assert not plain.layer1[0].residual


def test_class_and_channel_counts_are_bounded_by_what_they_mean():
    """num_classes=10**12 asked for a classifier of terabytes before failing in the allocator."""
    from cnnzoo.models import create_model

    with pytest.raises(CnnzooError, match="num_classes"):
        create_model("resnet20", num_classes=10**12)
    with pytest.raises(CnnzooError, match="in_chans"):
        create_model("resnet20", in_chans=10_000)
    assert create_model("resnet20", num_classes=21_841).fc.out_features == 21_841  # ImageNet-21k still fits
