"""GoogLeNet, Inception v1 (Szegedy et al. 2015, "Going deeper with convolutions").

The nine inception modules 3a…5b are the rows of the paper's Table 1, with its columns #1×1, #3×3 reduce,
#3×3, #5×5 reduce, #5×5 and pool proj (`INCEPTION_TABLE`); each module keeps its row as `widths`.

Two layouts:
- `layout="paper"` (default): the paper's network. Convolutions with bias and ReLU, no BatchNorm; local
  response normalisation (size 5, alpha 1e-4, beta 0.75, as in the Caffe reference model) after the first
  max pool and after the 3x3 stem convolution; 5x5 convolutions in the third branch; 3x3/2 max pools
  between stages (rounding up, as Caffe does: 224 → 112 → 56 → 28 → 14 → 7); auxiliary heads as in the
  paper's section 5: 5x5/3 average pool, 1x1 convolution to 128 with ReLU, FC 1024 with ReLU, dropout 0.7,
  linear; dropout 0.4 before the final 1024 → num_classes linear layer. 6,998,552 parameters without the
  auxiliary heads for 1000 classes.
- `layout="torchvision"`: torchvision's `GoogLeNet`, whose state_dict loads as it is: BatchNorm (eps 0.001)
  after every convolution and no convolution bias, no LRN, 3x3 instead of 5x5 in the third branch (a known
  torchvision quirk, pytorch/vision#906), a 2x2/2 pool before stage 5, auxiliary heads with an adaptive 4x4
  average pool, dropout 0.2.

Shared by both: the final 7x7 average pool is global (adaptive), so other input sizes work; the paper
layout's auxiliary pool is followed by an adaptive 4x4 pool, the identity at the paper's 14x14 maps, so the
auxiliary heads also run at other sizes. `batch_norm=True` adds BatchNorm to the paper layout (and then
drops LRN, as BN-Inception did). `small_input=True` replaces the stride-2 7x7 stem and its two max pools by a
stride-1 3x3 convolution, so a 32x32 image enters 3a at 32x32, stage 4 at 16x16 (the auxiliary pool again
gives 4x4) and stage 5 at 8x8; 28x28 images give 28, 14, 7.

Initialisation: He-normal with fan_in where there is no BatchNorm (the paper layout), fan_out with it. The
paper gives no initialisation; fan_out, torchvision's choice for BN networks, made the BN-free layout diverge
(issue 9): each 1x1 reduce convolution narrows the channels (480 → 16), so fan_out scales the forward variance
up by fan_in / fan_out, ~10x per module; at 32x32 the activations reached std ~200, the first loss ~25 and
the gradient norm ~1,100, and training hit NaN by step 39 in fp32 at lr 0.01 as in bf16 at lr 0.1. With
fan_in the activations stay at std 1-5, the first loss is ~2.9 and the gradient norm ~30.

Outputs: in training mode with `aux_logits=True` the model returns `GoogLeNetOutputs(logits, aux1, aux2)`, a
NamedTuple with aux1 from the head on 4a and aux2 from the head on 4d (torchvision's order is
logits, aux2, aux1); its `loss()` weights the auxiliary losses by 0.3 as in the paper. In eval mode, or with
`aux_logits=False`, the model returns the logits tensor alone.

torchvision's ImageNet weights expect `transform_input=True`: they were converted from a model trained on
inputs scaled to [-1, 1], and torchvision re-maps ImageNet-normalised inputs to that range first. We do not
by default; pass `transform_input=True` when loading those weights to do the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any, NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from cnnzoo.errors import CnnzooError, check_choice
from cnnzoo.models.layers import ConvBNAct, init_weights
from cnnzoo.models.registry import (
    CIFAR_CFG,
    IMAGENET_CFG,
    IMAGENET_MEAN,
    IMAGENET_STD,
    ModelConfig,
    Option,
    register_model,
)


class InceptionWidths(NamedTuple):
    """One row of Table 1: output channels of each branch and of the two reductions."""

    ch1x1: int
    ch3x3red: int
    ch3x3: int
    ch5x5red: int
    ch5x5: int
    pool_proj: int

    @property
    def out_channels(self) -> int:
        return self.ch1x1 + self.ch3x3 + self.ch5x5 + self.pool_proj


# Szegedy et al. 2015, Table 1.
INCEPTION_TABLE: dict[str, InceptionWidths] = {
    #                        #1×1  #3×3 red  #3×3  #5×5 red  #5×5  pool proj
    "3a": InceptionWidths(64, 96, 128, 16, 32, 32),
    "3b": InceptionWidths(128, 128, 192, 32, 96, 64),
    "4a": InceptionWidths(192, 96, 208, 16, 48, 64),
    "4b": InceptionWidths(160, 112, 224, 24, 64, 64),
    "4c": InceptionWidths(128, 128, 256, 24, 64, 64),
    "4d": InceptionWidths(112, 144, 288, 32, 64, 64),
    "4e": InceptionWidths(256, 160, 320, 32, 128, 128),
    "5a": InceptionWidths(256, 160, 320, 32, 128, 128),
    "5b": InceptionWidths(384, 192, 384, 48, 128, 128),
}

LAYOUTS = ("paper", "torchvision")

GOOGLENET_OPTIONS: dict[str, Option] = {
    "layout": Option(str, "paper (LRN, 5x5 branch, the paper's heads) or torchvision (BatchNorm, its weights load)",
                     choices=LAYOUTS),
    "small_input": Option(bool, "3x3 stride-1 stem without the two max pools, for 28x28 and 32x32 images"),
    "batch_norm": Option(bool, "BatchNorm after every convolution (default: only in the torchvision layout)"),
    "aux_logits": Option(bool, "the two auxiliary classifiers, used in training mode"),
    "dropout": Option(float, "dropout before the last linear layer (default: 0.4 paper, 0.2 torchvision)",
                      low=0.0, high=1.0),
    "transform_input": Option(bool, "re-map ImageNet-normalised inputs as torchvision's ported weights expect"),
}
AUX_LOSS_WEIGHT = 0.3  # section 5: "their loss is added to the total loss of the network with a discount weight"


class GoogLeNetOutputs(NamedTuple):
    """Training-mode outputs: the main logits and those of the auxiliary heads on 4a (aux1) and 4d (aux2)."""

    logits: torch.Tensor
    aux1: torch.Tensor
    aux2: torch.Tensor

    def loss(
        self, criterion: Callable[..., torch.Tensor], target: torch.Tensor, aux_weight: float = AUX_LOSS_WEIGHT
    ) -> torch.Tensor:
        """The paper's training loss: main loss plus the auxiliary losses weighted by 0.3."""
        aux = criterion(self.aux1, target) + criterion(self.aux2, target)
        return criterion(self.logits, target) + aux_weight * aux


ConvFactory = Callable[..., nn.Module]


class Inception(nn.Module):
    """Four parallel branches, 1x1 | 1x1→3x3 | 1x1→5x5 | 3x3 max pool→1x1, concatenated along channels."""

    def __init__(self, in_channels: int, widths: InceptionWidths, conv: ConvFactory, third_kernel: int = 5) -> None:
        super().__init__()
        self.widths = widths
        w = widths
        self.branch1 = conv(in_channels, w.ch1x1, 1)
        self.branch2 = nn.Sequential(conv(in_channels, w.ch3x3red, 1), conv(w.ch3x3red, w.ch3x3, 3, padding=1))
        self.branch3 = nn.Sequential(
            conv(in_channels, w.ch5x5red, 1), conv(w.ch5x5red, w.ch5x5, third_kernel, padding=third_kernel // 2)
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True), conv(in_channels, w.pool_proj, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: average pool to 4x4, 1x1 convolution to 128, FC 1024, dropout, linear."""

    def __init__(
        self, in_channels: int, num_classes: int, conv: ConvFactory, pool: nn.Module, dropout: float = 0.7
    ) -> None:
        super().__init__()
        self.pool = pool
        self.conv = conv(in_channels, 128, 1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.dropout = nn.Dropout(p=dropout)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.conv(self.pool(x)), 1)
        return self.fc2(self.dropout(F.relu(self.fc1(x), inplace=True)))


class GoogLeNet(nn.Module):
    """Stem, inception stages 3, 4 and 5 with max pools between them, global average pool, dropout, linear."""

    def __init__(
        self,
        table: dict[str, InceptionWidths],
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        layout: str = "paper",
        small_input: bool = False,
        batch_norm: bool | None = None,
        aux_logits: bool = True,
        dropout: float | None = None,
        transform_input: bool = False,
    ) -> None:
        super().__init__()
        check_choice("layout", layout, LAYOUTS)
        torchvision = layout == "torchvision"
        if batch_norm is None:
            batch_norm = torchvision
        if torchvision and not batch_norm:
            raise CnnzooError("layout='torchvision' always has BatchNorm; use layout='paper' for a network without it")
        if transform_input and in_chans != 3:
            raise CnnzooError(f"transform_input=True re-maps the 3 ImageNet channels; needs in_chans=3, got {in_chans}")
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        conv = partial(ConvBNAct, batch_norm=batch_norm, bn_eps=1e-3 if torchvision else 1e-5)

        def lrn() -> nn.Module:
            return nn.Identity() if batch_norm else nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)

        if small_input:
            self.conv1 = conv(in_chans, 64, 3, padding=1)
            self.maxpool1: nn.Module = nn.Identity()
        else:
            self.conv1 = conv(in_chans, 64, 7, stride=2, padding=3)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.lrn1 = lrn()
        self.conv2 = conv(64, 64, 1)
        self.conv3 = conv(64, 192, 3, padding=1)
        self.lrn2 = lrn()
        self.maxpool2 = nn.Identity() if small_input else nn.MaxPool2d(3, stride=2, ceil_mode=True)

        in_channels = 192  # each module's input is the previous one's output, chained through the table
        for name, widths in table.items():
            setattr(self, f"inception{name}", Inception(in_channels, widths, conv, third_kernel=3 if torchvision else 5))
            in_channels = widths.out_channels
            if name == "3b":
                self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            elif name == "4e":
                self.maxpool4 = nn.MaxPool2d(2 if torchvision else 3, stride=2, ceil_mode=True)

        if aux_logits:

            def aux(in_ch: int) -> InceptionAux:
                if torchvision:
                    pool: nn.Module = nn.AdaptiveAvgPool2d(4)
                else:  # the paper's 5x5/3 pool; the adaptive pool is the identity on its 4x4 output at 224
                    pool = nn.Sequential(nn.AvgPool2d(5, stride=3), nn.AdaptiveAvgPool2d(4))
                return InceptionAux(in_ch, num_classes, conv, pool, dropout=0.7)

            self.aux1: InceptionAux | None = aux(table["4a"].out_channels)
            self.aux2: InceptionAux | None = aux(table["4d"].out_channels)
        else:
            self.aux1 = self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(p=dropout if dropout is not None else (0.2 if torchvision else 0.4))
        self.fc = nn.Linear(in_channels, num_classes)
        # Without BatchNorm, fan_out initialisation made the activations grow ~10x per inception module (its
        # reduce convolutions narrow 480 -> 16 channels): std ~200 by inception 5b, loss NaN by step 39 even
        # in fp32 at lr 0.01 (issue 9). fan_in keeps the forward variance: std ~1-5, first loss ~2.9.
        init_weights(self, conv_mode="fan_out" if batch_norm else "fan_in")

    def _transform_input(self, x: torch.Tensor) -> torch.Tensor:
        """Re-map ImageNet-normalised inputs to [-1, 1] scaling, as torchvision's ported weights expect."""
        std = x.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
        mean = x.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        return x * (std / 0.5) + (mean - 0.5) / 0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor | GoogLeNetOutputs:
        if self.transform_input:
            x = self._transform_input(x)
        x = self.lrn1(self.maxpool1(self.conv1(x)))
        x = self.maxpool2(self.lrn2(self.conv3(self.conv2(x))))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        with_aux = self.training and self.aux1 is not None and self.aux2 is not None
        aux1 = self.aux1(x) if with_aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if with_aux else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        logits = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        if aux1 is not None and aux2 is not None:
            return GoogLeNetOutputs(logits, aux1, aux2)
        return logits


# Smallest input side for training, per (layout, small_input, aux_logits), found by running the model and
# checked by the tests (one pixel less fails). The paper's auxiliary 5x5/3 pool needs a 5x5 map at 4a; else
# the round-up max pools bound it: each needs a 2x2 map (the 3x3/2 ones) or a 1x1 map (torchvision's 2x2/2).
_MIN_SIDE: dict[tuple[str, bool, bool], int] = {
    ("paper", False, True): 79,
    ("paper", False, False): 31,
    ("paper", True, True): 10,
    ("paper", True, False): 4,
    ("torchvision", False, True): 15,
    ("torchvision", False, False): 15,
    ("torchvision", True, True): 2,
    ("torchvision", True, False): 2,
}


def _googlenet_cfg(options: dict[str, Any]) -> ModelConfig:
    layout = options.get("layout", "paper")
    check_choice("layout", layout, LAYOUTS)
    small_input = bool(options.get("small_input", False))
    side = _MIN_SIDE[(layout, small_input, bool(options.get("aux_logits", True)))]
    base = CIFAR_CFG if small_input else IMAGENET_CFG
    return replace(
        base, min_input_size=(3, side, side), family="googlenet", paper="Szegedy et al. 2015", recipe="googlenet_cifar"
    )


@register_model(_googlenet_cfg, builds=GoogLeNet, options=GOOGLENET_OPTIONS)
def googlenet(**options: Any) -> GoogLeNet:
    """GoogLeNet (Inception v1); `layout="paper"` (default) or `"torchvision"`, `small_input=True` for 32x32."""
    return GoogLeNet(INCEPTION_TABLE, **options)
