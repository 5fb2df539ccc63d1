"""The registry: names, options and errors, independent of any family."""

from __future__ import annotations

import pytest
import torch.nn as nn

from cnnzoo.errors import CnnzooError
from cnnzoo.models.registry import _REGISTRY, CIFAR_CFG, create_model, list_models, register_model


class _Toy(nn.Module):
    def __init__(self, num_classes: int = 10, in_chans: int = 3, *, width: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_chans, width, 3)
        self.fc = nn.Linear(width, num_classes)


@pytest.fixture
def toy():
    @register_model(CIFAR_CFG, builds=_Toy)
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
