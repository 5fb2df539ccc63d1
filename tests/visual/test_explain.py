"""`cnnzoo explain`: Grad-CAM finds what a network can see; the filters grid and feature maps are the model's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from cnnzoo.models import create_model
from cnnzoo.visual.explain import default_layer, filters_grid, grad_cam, overlay, stage_ends

pytest.importorskip("captum")


class HalfSighted(nn.Module):
    """Class 0 reads only the left half of the image, class 1 only the right half: a known answer for Grad-CAM."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        mask = torch.zeros(2, 1, width, width)
        mask[0, :, :, : width // 2] = 1  # channel 0: the left half
        mask[1, :, :, width // 2 :] = 1  # channel 1: the right half
        self.register_buffer("mask", mask)
        self.conv = nn.Conv2d(2, 2, 1, bias=False)  # the layer Grad-CAM reads; the identity on the two channels
        with torch.no_grad():
            self.conv.weight.copy_(torch.eye(2).view(2, 2, 1, 1))
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        halves = x * self.mask[:, 0]  # (N, 2, H, W): what each class may see, before the layer Grad-CAM reads
        return torch.flatten(self.pool(self.relu(self.conv(halves))), 1)


def test_grad_cam_attends_to_the_half_a_class_can_see():
    model = HalfSighted()
    x = torch.rand(1, 1, 8, 8) + 0.5
    left, right = grad_cam(model, x, [0, 1], layer="relu")
    assert left[:, 4:].max() == 0 and left[:, :4].min() > 0
    assert right[:, :4].max() == 0 and right[:, 4:].min() > 0
    assert left.max() == right.max() == 1  # each map scaled to [0, 1]


def test_grad_cam_layer_defaults_to_the_last_spatial_map():
    model = create_model("resnet20", in_chans=1).eval()
    x = torch.rand(1, 1, 8, 8)
    assert default_layer(model, x) == "layer3"  # 2×2 at 8×8 input; avgpool's 1×1 does not count
    assert stage_ends(model, x) == ["layer1", "layer2", "layer3"]
    heats = grad_cam(model, x, [3, 5])
    assert heats.shape == (2, 8, 8) and torch.all((heats >= 0) & (heats <= 1))


def test_filters_grid_holds_every_first_layer_filter():
    model = create_model("alexnet", small_input=True)  # 64 filters, 5×5×3: an 8×8 grid
    grid = filters_grid(model, scale=2)
    cell = 5 * 2 + 2
    assert grid.shape == (8 * cell + 2, 8 * cell + 2, 3)
    first = model.features[0].weight[0].detach()
    tile = grid[2:12, 2:12]  # the first filter, scaled to its own [0, 1] range
    expected = ((first - first.min()) / (first.max() - first.min())).permute(1, 2, 0).numpy()
    assert np.allclose(tile[::2, ::2], expected, atol=1e-6)


def test_overlay_keeps_the_image_where_the_map_is_cold_and_reddens_where_it_is_hot():
    image = np.full((4, 4, 3), 0.5)
    heat = np.zeros((4, 4))
    heat[0, 0] = 1.0
    out = overlay(image, heat)
    assert out[0, 0, 0] > out[0, 0, 2]  # hot: red
    assert out[3, 3, 2] > out[3, 3, 0]  # cold: jet's blue
