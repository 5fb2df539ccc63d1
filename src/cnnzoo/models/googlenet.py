"""GoogLeNet, Inception v1 (Szegedy et al. 2015, "Going deeper with convolutions"), in two layouts.

`layout="paper"` (default) is the paper's network: convolutions with bias and ReLU, local response
normalisation, 5x5 convolutions in the third branch, the auxiliary heads of section 5. `layout="torchvision"`
is torchvision's `GoogLeNet`, whose state_dict loads as it is. The nine inception modules 3a…5b are the rows of
the paper's Table 1 (`INCEPTION_TABLE`). In training mode with `aux_logits=True` the model returns
`GoogLeNetOutputs(logits, aux1, aux2)`, else the logits.
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
from cnnzoo.models.layers import Classifier, ConvBNAct, init_weights, linear_head
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
    "layout": Option(
        str, "paper (LRN, 5x5 branch, the paper's heads) or torchvision (BatchNorm, its weights load)", choices=LAYOUTS
    ),
    "small_input": Option(bool, "3x3 stride-1 stem without the two max pools, for 28x28 and 32x32 images"),
    "batch_norm": Option(bool, "BatchNorm after every convolution (default: only in the torchvision layout)"),
    "aux_logits": Option(bool, "the two auxiliary classifiers, used in training mode"),
    "dropout": Option(
        float, "dropout before the last linear layer (default: 0.4 paper, 0.2 torchvision)", low=0.0, high=1.0
    ),
    "transform_input": Option(bool, "re-map ImageNet-normalised inputs as torchvision's ported weights expect"),
}
AUX_LOSS_WEIGHT = 0.3  # section 5: "their loss is added to the total loss of the network with a discount weight"


class GoogLeNetOutputs(NamedTuple):
    """Training-mode outputs: the main logits and those of the auxiliary heads on 4a (aux1) and 4d (aux2)."""

    # In the order of the network; torchvision's GoogLeNetOutputs is (logits, aux_logits2, aux_logits1).

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


class TorchvisionInput(nn.Module):
    """Re-maps ImageNet-normalised inputs to the [-1, 1] scaling that torchvision's ported GoogLeNet weights expect.

    Those weights were converted from a model trained on inputs scaled to [-1, 1]; torchvision re-maps the same
    way when its `transform_input` is on.
    """

    def __init__(self) -> None:
        super().__init__()
        self.mean = IMAGENET_MEAN  # attributes, not globals: TorchScript reads no global tuples
        self.std = IMAGENET_STD

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return x * (std / 0.5) + (mean - 0.5) / 0.5


class GoogLeNet(Classifier):
    """Stem, inception stages 3, 4 and 5 with max pools between them, global average pool, dropout, linear.

    `small_input=True` replaces the stride-2 7x7 stem and its two max pools by a stride-1 3x3 convolution, so a
    32x32 image enters 3a at 32x32, stage 4 at 16x16 and stage 5 at 8x8. `batch_norm=True` adds BatchNorm to the
    paper layout (and then drops LRN, as BN-Inception did).
    """

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
        # First among the children: features_only applies them in the order they are registered.
        self.transform_input = TorchvisionInput() if transform_input else None
        conv = partial(ConvBNAct, batch_norm=batch_norm, bn_eps=1e-3 if torchvision else 1e-5)

        def lrn() -> nn.Module:  # size 5, alpha 1e-4, beta 0.75: the Caffe reference model's
            return nn.Identity() if batch_norm else nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)

        # The 3x3/2 max pools round up, as Caffe's do: 224 -> 112 -> 56 -> 28 -> 14 -> 7.
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
            # torchvision's third branch is 3x3, not 5x5 (a known quirk, pytorch/vision#906).
            setattr(
                self, f"inception{name}", Inception(in_channels, widths, conv, third_kernel=3 if torchvision else 5)
            )
            in_channels = widths.out_channels
            if name == "3b":
                self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            elif name == "4e":  # torchvision pools 2x2 before stage 5
                self.maxpool4 = nn.MaxPool2d(2 if torchvision else 3, stride=2, ceil_mode=True)

        # The feature stages (features_only): after the stem's two max pools, stages 3 and 4 with theirs, stage 5.
        stem = 1 if small_input else 8  # conv1, maxpool1 and maxpool2 each halve the size
        self.feature_info = [
            dict(num_chs=64, reduction=1 if small_input else 4, module="lrn1"),
            dict(num_chs=192, reduction=stem, module="maxpool2"),
            dict(num_chs=table["3b"].out_channels, reduction=2 * stem, module="maxpool3"),
            dict(num_chs=table["4e"].out_channels, reduction=4 * stem, module="maxpool4"),
            dict(num_chs=table["5b"].out_channels, reduction=4 * stem, module="inception5b"),
        ]

        self.aux1: InceptionAux | None = None
        self.aux2: InceptionAux | None = None
        if aux_logits:

            def aux(in_ch: int) -> InceptionAux:
                if torchvision:
                    pool: nn.Module = nn.AdaptiveAvgPool2d(4)
                else:  # the paper's 5x5/3 pool; the adaptive pool is the identity on its 4x4 output at 224
                    pool = nn.Sequential(nn.AvgPool2d(5, stride=3), nn.AdaptiveAvgPool2d(4))
                return InceptionAux(in_ch, num_classes, conv, pool, dropout=0.7)

            self.aux1 = aux(table["4a"].out_channels)
            self.aux2 = aux(table["4d"].out_channels)
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # the paper's 7x7 average pool, global so other sizes work
        self.dropout = nn.Dropout(p=dropout if dropout is not None else (0.2 if torchvision else 0.4))
        self.num_features = in_channels
        self.num_classes = num_classes
        self.fc = nn.Linear(in_channels, num_classes)
        # Without BatchNorm, fan_out initialisation grows the activations ~10x per inception module (its 1x1
        # reductions narrow 480 -> 16 channels) until the loss is NaN; fan_in keeps the forward variance.
        init_weights(self, conv_mode="fan_out" if batch_norm else "fan_in")

    def _forward_stages(
        self, x: torch.Tensor, with_aux: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """The features before pooling, and the auxiliary heads' logits if asked for. Shapes: paper layout at 224."""
        if self.transform_input is not None:
            x = self.transform_input(x)
        x = self.lrn1(self.maxpool1(self.conv1(x)))  # N x 64 x 56 x 56
        x = self.maxpool2(self.lrn2(self.conv3(self.conv2(x))))  # N x 192 x 28 x 28
        x = self.maxpool3(self.inception3b(self.inception3a(x)))  # N x 480 x 14 x 14
        x = self.inception4a(x)  # N x 512 x 14 x 14
        aux1: torch.Tensor | None = None
        if self.aux1 is not None and with_aux:
            aux1 = self.aux1(x)  # N x num_classes
        x = self.inception4d(self.inception4c(self.inception4b(x)))  # N x 528 x 14 x 14
        aux2: torch.Tensor | None = None
        if self.aux2 is not None and with_aux:
            aux2 = self.aux2(x)  # N x num_classes
        x = self.maxpool4(self.inception4e(x))  # N x 832 x 7 x 7
        x = self.inception5b(self.inception5a(x))  # N x 1024 x 7 x 7
        return x, aux1, aux2

    @torch.jit.export  # the forward does not call it, and a scripted model should still offer it
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self._forward_stages(x, with_aux=False)[0]

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.dropout(torch.flatten(self.avgpool(x), 1))  # N x 1024
        return x if pre_logits else self.fc(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor | GoogLeNetOutputs:
        x, aux1, aux2 = self._forward_stages(x, with_aux=self.training)
        logits = self.forward_head(x)
        if aux1 is not None and aux2 is not None:
            return GoogLeNetOutputs(logits, aux1, aux2)
        return logits

    def get_classifier(self) -> nn.Module:
        return self.fc

    def _new_classifier(self, num_classes: int) -> None:
        """The final classifier, and the auxiliary heads' last layers too: they classify into the same classes."""
        self.fc = linear_head(self.num_features, num_classes)
        for head in (self.aux1, self.aux2):
            if head is not None:
                head.fc2 = linear_head(head.fc1.out_features, num_classes)


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
