"""AlexNet: counts and weights against torchvision, the small-input variant, every option at its minimum size."""

from __future__ import annotations

import pytest
import torch
import torchvision

from cnnzoo.inspect.counts import count_params
from cnnzoo.models import create_model, get_model_config


def test_param_count_equals_torchvision():
    with torch.device("meta"):
        ours, theirs = create_model("alexnet"), torchvision.models.alexnet(weights=None)
    assert count_params(ours) == count_params(theirs) == 61_100_840


def test_torchvision_state_dict_loads_strictly_and_gives_the_same_logits(random_torchvision):
    theirs = random_torchvision(torchvision.models.alexnet)
    with torch.device("meta"):  # no initialisation: every tensor comes from torchvision's state_dict
        ours = create_model("alexnet").eval()
    ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected, got = theirs(x), ours(x)
    assert (expected[0] - expected[1]).abs().max() > 0.01  # the logits depend on the input: the check has teeth
    assert (got - expected).abs().max().item() <= 1e-4


def test_small_input_pools_32_and_28_pixel_images_to_4x4():
    model = create_model("alexnet", small_input=True).eval()
    assert model.default_cfg.input_size == (3, 32, 32) and model.default_cfg.num_classes == 10
    assert model.features[0].kernel_size == (5, 5) and model.features[0].stride == (1, 1)
    with torch.no_grad():
        for side in (32, 28):
            assert model.features(torch.randn(1, 3, side, side)).shape == (1, 256, 4, 4)
    # the 4x4 map feeds the classifier directly: 256·4·4 inputs, the paper's 4096 hidden units
    assert model.classifier[1].in_features == 4096 and model.classifier[4].out_features == 4096


@pytest.mark.parametrize(
    "options",
    [{}, {"small_input": True, "in_chans": 1, "num_classes": 7}],
    ids=["imagenet", "small_input-gray-7"],
)
def test_trains_at_its_min_input_size_and_not_below(trains_at_min_size, options):
    trains_at_min_size("alexnet", options)


def test_default_config_follows_small_input():
    assert get_model_config("alexnet").input_size == (3, 224, 224)
    assert get_model_config("alexnet").min_input_size == (3, 63, 63)
    assert get_model_config("alexnet", small_input=True).input_size == (3, 32, 32)
