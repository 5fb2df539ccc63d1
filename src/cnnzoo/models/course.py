"""The course's own CIFAR-10 networks (../shared/course/): ResNets laid out as the course's listings wrote them.

They reuse the ResNet family's stem, stages and head; what the listings do differently from the papers lives
here: course_resnet18 never downsamples in its stages, and course_resnet50_layer4 downsamples in the last unit
of a stage, gives every convolution a bias, ends its projections in a ReLU and pools its stem without padding.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
import torch.nn as nn

from cnnzoo.models.registry import CIFAR_CFG, ModelConfig, Option, register_model
from cnnzoo.models.resnet import IMAGENET_WIDTHS, PAPER, RESNET_OPTIONS, BasicBlock, ResidualUnit, ResNet, add

COURSE_PAPER = f"course (after {PAPER})"


class CourseBottleneck(ResidualUnit):
    """Project #2's bottleneck: conv-BN-ReLU three times, every conv with a bias, the stride on the first 1x1.

    The listing shows no conv1x1/conv3x3 helpers; this assumes the assignment's usual ones, conv (with bias) + BN
    + ReLU. So each branch ends in a ReLU and nothing follows the addition, fig. 4(c) of He et al. 2016b, and a
    projection shortcut is conv-BN-ReLU too.
    """

    expansion = 4
    panels = ("relu_before_add",)

    def _weight_layers(self, in_channels: int, width: int, stride: int, stride_in_1x1: bool, first_unit: bool) -> None:
        self.conv1 = nn.Conv2d(in_channels, width, 1, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * self.expansion, 1)
        self.bn3 = nn.BatchNorm2d(width * self.expansion)

    def _projection(self, in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
        conv = nn.Conv2d(in_channels, out_channels, 1, stride)
        return nn.Sequential(conv, nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = self.shortcut(x, x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.relu(self.bn3(self.conv3(out)))
        return add(out, identity)

    def zero_init_branch(self) -> None:
        nn.init.zeros_(self.bn3.weight)


class CourseResNet50Layer4(ResNet):
    """Project #2's `ResNet50_layer4`: a biased stem conv, an unpadded stem pool, the stride in a stage's last unit."""

    def _make_stem(self, in_chans: int, channels: int, small_input: bool) -> tuple[nn.Conv2d, nn.Module | None]:
        return nn.Conv2d(in_chans, channels, 7, 2, padding=3), nn.MaxPool2d(3, 2)

    def _unit_stride(self, j: int, blocks: int, stride: int) -> int:
        return stride if j == blocks - 1 else 1


CourseSpec = tuple[type[ResNet], type[ResidualUnit], tuple[int, ...], tuple[int, ...], tuple[int, ...]]

# Each row: (network class, unit, units per stage, widths, stride of each stage).
COURSE_SPECS: dict[str, CourseSpec] = {
    # Exercise 3-2: ResNet-18's units, but no stage downsamples: 8x8 maps throughout for 32x32 input.
    "course_resnet18": (ResNet, BasicBlock, (2, 2, 2, 2), IMAGENET_WIDTHS, (1, 1, 1, 1)),
    # Project #2, ResNet50_layer4: ResNet-50's conv2_x..conv4_x; conv2_x and conv3_x downsample in their last unit.
    "course_resnet50_layer4": (CourseResNet50Layer4, CourseBottleneck, (3, 4, 6), (64, 128, 256), (2, 2, 1)),
}

# What the course nets let a user change; the rest of the layout is the listing's.
COURSE_OPTIONS: dict[str, Option] = {
    "shortcut": Option(
        str,
        "B: projection where the shape changes (as intended), C: on every unit, none: plain",
        choices=("B", "C", "none"),
    ),
    "zero_init_residual": RESNET_OPTIONS["zero_init_residual"],
}


def _course_config(name: str) -> ModelConfig:
    """CIFAR-10's config; the minimum input is the network's total stride (the stem's 4 and the stages')."""
    stride = 4
    for s in COURSE_SPECS[name][4]:
        stride *= s
    return replace(
        CIFAR_CFG, min_input_size=(3, stride, stride), family="resnet", paper=COURSE_PAPER, recipe="course_cifar"
    )


def _course_resnet(name: str, shortcut: str, zero_init_residual: bool, **common: Any) -> ResNet:
    network, block, layers, widths, strides = COURSE_SPECS[name]
    unit = block.panels[0]  # each course net has one kind of unit: the paper's (a), or (c) in Project #2
    return network(
        block,
        layers,
        widths,
        strides,
        residual_unit=unit,
        shortcut=shortcut,
        zero_init_residual=zero_init_residual,
        **common,
    )


@register_model(_course_config("course_resnet18"), options=COURSE_OPTIONS)
def course_resnet18(*, shortcut: str = "B", zero_init_residual: bool = False, **common: Any) -> ResNet:
    """The course's ResNet-18 for 32x32 images (POSTECH "Classification (2)", Exercise 3-2): 11,181,642 parameters.

    How it differs from the paper's ResNet-18 (He et al. 2016, Table 1): every unit has stride 1, so after the
    ImageNet stem (7x7/2 conv, BN, ReLU, 3x3/2 max pool with padding 1) the map stays 8x8 for a 32x32 input
    through all four stages, and the multiply-adds grow with the channels instead of staying level. The
    parameters are those of ResNet-18 with 10 classes: the stride moves no weight. The units are the paper's
    (BN after each 3x3 conv, ReLU after the addition) with a 1x1 conv + BN projection where the channel count
    changes (option B); global average pooling and a 512-to-10 linear layer close it, as in the listing.
    """
    return _course_resnet("course_resnet18", shortcut, zero_init_residual, **common)


@register_model(_course_config("course_resnet50_layer4"), options=COURSE_OPTIONS)
def course_resnet50_layer4(*, shortcut: str = "B", zero_init_residual: bool = False, **common: Any) -> ResNet:
    """The course project's ResNet-50 cut after conv4_x for CIFAR-10 (Project #2, `ResNet50_layer4`).

    How it differs from the paper's ResNet-50 (He et al. 2016, Table 1):
    - no conv5_x: three bottleneck stages of 3, 4 and 6 units, 64->256, 128->512, 256->1024, then a 1024-to-10
      linear layer (41 weight layers);
    - conv2_x and conv3_x downsample in their LAST unit, not the first of the next stage, with stride 2 on the
      unit's first 1x1 conv (the paper's placement) and a strided 1x1 projection on its shortcut; conv4_x keeps
      its size. For 32x32 input the maps are 16x16 (stem conv), 7x7 (max pool), 4x4, 2x2, 2x2;
    - the stem's 3x3/2 max pool has no padding;
    - every convolution, stem and shortcuts included, has a bias and is followed by BN and ReLU (`CourseBottleneck`):
      each unit's branch ends in a ReLU and nothing follows the addition, fig. 4(c) of He et al. 2016b;
    - the listing pools the 2x2 map with AvgPool2d(1, stride=2), which keeps the top-left value only; here the
      family's global average pool averages all four (no parameters change).

    `shortcut="B"` (the default) is the intended network: a projection only where the shape changes (the first
    unit of each stage and the downsampling ones). `shortcut="C"` is the listing as written: its test
    `x.size() is not out.size()` compares two fresh objects, so it is always true and every unit projects its
    shortcut.
    """
    return _course_resnet("course_resnet50_layer4", shortcut, zero_init_residual, **common)
