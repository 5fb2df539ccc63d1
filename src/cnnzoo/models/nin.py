"""Network in Network (Lin, Chen & Yan 2014): "mlpconv" blocks and global average pooling instead of FC layers.

An NiN block is a kxk convolution followed by two 1x1 convolutions (the paper's per-pixel MLP), each with a
ReLU. The last block has one channel per class and global average pooling turns its maps into the logits,
so the network has no fully connected layer at all. Dropout 0.5 comes before the last block. Its classifier, in
timm's API (`get_classifier`, `reset_classifier`), is the last 1x1 convolution with its ReLU: it makes the class
maps that are averaged; `num_features` is the number of channels entering it.

Two layouts, each a table of blocks (out_channels, kernel, stride, padding); `None` channels mean num_classes:
- `layout="cifar"` (default): four 3x3 blocks of 96, 256, 384 and num_classes channels, stride 1, padding 1,
  with 3x3/2 max pools between them that round up as Caffe's (the paper's framework) do: 32 → 16 → 8 → 4.
  1,589,926 parameters for 10 classes.
- `layout="imagenet"`: the ImageNet layout as in Dive into Deep Learning: 11x11/4 with 96 channels, 5x5 with
  256 (padding 2), 3x3 with 384 (padding 1), 3x3 with num_classes, and plain 3x3/2 max pools:
  224 → 54 → 26 → 12 → 5.

Initialisation: He-normal, except that each mlpconv's square 1x1 convolutions start as the identity plus a tenth
of their He-normal weights (`init="identity"`, the default; `init="he"` for He-normal throughout). Without
BatchNorm, the last block's three 10-channel ReLU layers otherwise hold the network near chance for its first
hundreds of steps (the figures are in recipes/nin_cifar.yaml).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple

import torch
import torch.nn as nn

from cnnzoo.errors import CnnzooError, check_choice
from cnnzoo.models.layers import Classifier, ConvBNAct, init_weights
from cnnzoo.models.registry import CIFAR_CFG, IMAGENET_CFG, ModelConfig, Option, register_model


class NiNRow(NamedTuple):
    out_channels: int | None  # None: num_classes (the last block)
    kernel: int
    stride: int
    padding: int


class NiNLayout(NamedTuple):
    blocks: tuple[NiNRow, ...]
    pool_ceil_mode: bool  # of the 3x3/2 max pools between blocks
    min_side: int  # the smallest input side the layout runs at


NIN_LAYOUTS: dict[str, NiNLayout] = {
    "cifar": NiNLayout(
        blocks=(NiNRow(96, 3, 1, 1), NiNRow(256, 3, 1, 1), NiNRow(384, 3, 1, 1), NiNRow(None, 3, 1, 1)),
        pool_ceil_mode=True,
        min_side=8,  # 8 → 4 → 2 → 1: a round-up pool still needs a 2x2 map
    ),
    "imagenet": NiNLayout(
        blocks=(NiNRow(96, 11, 4, 0), NiNRow(256, 5, 1, 2), NiNRow(384, 3, 1, 1), NiNRow(None, 3, 1, 1)),
        pool_ceil_mode=False,
        min_side=67,  # 67 → 15 → 7 → 3 → 1
    ),
}

NIN_OPTIONS: dict[str, Option] = {
    "layout": Option(
        str, "cifar (32x32, the default) or imagenet (224x224); or give small_input", choices=tuple(NIN_LAYOUTS)
    ),
    "small_input": Option(bool, "true: the cifar layout, false: the imagenet one"),
    "batch_norm": Option(bool, "BatchNorm after every convolution"),
    "dropout": Option(float, "dropout probability before the last block", low=0.0, high=1.0),
    "init": Option(
        str,
        "identity (square 1x1 convolutions start near the identity) or he (He-normal throughout)",
        choices=("identity", "he"),
    ),
}


def nin_block(
    in_channels: int, out_channels: int, kernel: int, stride: int, padding: int, batch_norm: bool = False
) -> nn.Sequential:
    """A kxk convolution and two 1x1 convolutions, each followed by a ReLU: the paper's mlpconv layer."""
    return nn.Sequential(
        ConvBNAct(in_channels, out_channels, kernel, stride, padding, batch_norm=batch_norm),
        ConvBNAct(out_channels, out_channels, 1, batch_norm=batch_norm),
        ConvBNAct(out_channels, out_channels, 1, batch_norm=batch_norm),
    )


@torch.no_grad()
def identity_1x1(model: nn.Module, noise: float = 0.1) -> None:
    """Square 1x1 convolutions become the identity plus `noise` × their (He-normal) weights: a deep ReLU stack
    that starts by passing its input on, so the gradient reaches the first layers from the first step."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) and m.in_channels == m.out_channels and m.groups == 1:
            if m.weight.is_meta:
                continue
            m.weight.mul_(noise)
            m.weight[:, :, 0, 0] += torch.eye(m.out_channels, dtype=m.weight.dtype, device=m.weight.device)


class NiN(Classifier):
    """NiN blocks separated by max pools, dropout before the last block, global average pooling as classifier."""

    def __init__(
        self,
        layout: NiNLayout,
        *,
        num_classes: int = 10,
        in_chans: int = 3,
        dropout: float = 0.5,
        batch_norm: bool = False,
        init: str = "identity",
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_chans
        reduction = 1
        self.feature_info = []  # the feature stages: after each mlpconv block
        for i, row in enumerate(layout.blocks):
            if i > 0:
                layers.append(nn.MaxPool2d(3, stride=2, ceil_mode=layout.pool_ceil_mode))
                reduction *= 2
            if i == len(layout.blocks) - 1:
                layers.append(nn.Dropout(dropout))
            out_channels = num_classes if row.out_channels is None else row.out_channels
            layers.append(nin_block(channels, out_channels, row.kernel, row.stride, row.padding, batch_norm))
            channels = out_channels
            reduction *= row.stride
            self.feature_info.append(dict(num_chs=channels, reduction=reduction, module=f"features.{len(layers) - 1}"))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.num_features = channels
        self.num_classes = num_classes
        self.batch_norm = batch_norm
        self.init = init
        init_weights(self)
        if init == "identity":
            identity_1x1(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # forward_head(forward_features(x)), with the last block called whole, so that hooks on blocks see it.
        return torch.flatten(self.pool(self.features(x)), 1)

    @torch.jit.export  # the forward does not call it, and a scripted model should still offer it
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The blocks, the last one without its last 1x1 convolution (the classifier): num_features channels."""
        for i, layer in enumerate(self.features):
            if i < len(self.features) - 1:
                x = layer(x)
        last = self.features[-1]
        return last[1](last[0](x))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """The class maps averaged: the logits; with `pre_logits`, the classifier's input averaged instead."""
        if not pre_logits:
            x = self.features[-1][2](x)
        return torch.flatten(self.pool(x), 1)

    def get_classifier(self) -> nn.Module:
        return self.features[-1][2]

    def _new_classifier(self, num_classes: int) -> None:
        """A new last 1x1 convolution (with its BN and ReLU) for `num_classes` class maps; 0: the identity."""
        if num_classes == 0:
            self.features[-1][2] = nn.Identity()
            return
        conv = ConvBNAct(self.num_features, num_classes, 1, batch_norm=self.batch_norm)
        init_weights(conv)
        if self.init == "identity":
            identity_1x1(conv)
        self.features[-1][2] = conv


def _layout_name(layout: str | None, small_input: bool | None) -> str:
    """`small_input`, the option every family has, picks the layout unless `layout` names one."""
    if layout is not None and small_input is not None and (layout == "cifar") != bool(small_input):
        raise CnnzooError(f"nin: layout={layout!r} contradicts small_input={small_input}; give only one of them")
    name = layout if layout is not None else ("imagenet" if small_input is False else "cifar")
    check_choice("layout", name, NIN_LAYOUTS)
    return name


def _nin_cfg(options: dict[str, Any]) -> ModelConfig:
    layout = _layout_name(options.get("layout"), options.get("small_input"))
    side = NIN_LAYOUTS[layout].min_side
    base = CIFAR_CFG if layout == "cifar" else IMAGENET_CFG
    return replace(base, min_input_size=(3, side, side), family="nin", paper="Lin et al. 2014", recipe="nin_cifar")


@register_model(_nin_cfg, builds=NiN, options=NIN_OPTIONS)
def nin(*, layout: str | None = None, small_input: bool | None = None, **options: Any) -> NiN:
    """Network in Network; `layout="cifar"` (default, 32x32, same as `small_input=True`) or `"imagenet"` (224x224)."""
    return NiN(NIN_LAYOUTS[_layout_name(layout, small_input)], **options)
