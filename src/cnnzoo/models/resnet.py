"""ResNets (He et al. 2016) and their residual-unit variants (He et al. 2016b, Identity Mappings).

One family, one module, read top to bottom:
- `RESIDUAL_UNITS` and `SHORTCUTS`: where BN and ReLU sit around a unit's addition (fig. 4 of He et al. 2016b)
  and what the shortcut is (options A/B/C of He et al. 2016, section 3.3), as data;
- two blocks, `BasicBlock` (two 3x3 convs) and `Bottleneck` (1x1, 3x3, 1x1), which differ only in their weight
  layers and arrange them by those tables;
- `ResNet`, one stem, stages built by `_make_layer`, global pooling and a linear classifier;
- the paper's tables (`RESNET_SPECS`, `CIFAR_DEPTHS`, ...) and builders that pick a row of them.

`residual_unit` picks a panel of fig. 4 of He et al. 2016b: "original" (a), "bn_after_add" (b),
"relu_before_add" (c), "relu_only_preact" (d), "preact" (e, full pre-activation); `shortcut` is "A", "B", "C"
or "none" (the plain net). Both apply to every ResNet here.

Module names are torchvision's (conv1, bn1, relu, maxpool, layer1..layer4, avgpool, fc; in a block conv1..conv3,
bn1..bn3, downsample.0/.1), so torchvision's ResNet weights load as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from cnnzoo.errors import check_choice
from cnnzoo.models.layers import init_weights
from cnnzoo.models.registry import CIFAR_CFG, IMAGENET_CFG, ModelConfig, Option, register_model

PAPER = "He et al. 2016"
PREACT_PAPER = "He et al. 2016b (Identity Mappings)"


@dataclass(frozen=True)
class UnitLayout:
    """Where BN and ReLU sit in one residual unit; between two weight layers there is always BN, then ReLU."""

    letter: str  # the panel of fig. 4 in He et al. 2016b
    head: tuple[str, ...]  # before the first weight layer ("pre-activation")
    tail: tuple[str, ...]  # after the last weight layer, before the addition
    after_add: tuple[str, ...]  # after the addition
    final: tuple[str, ...]  # once, after the last unit of the network, before pooling


# He et al. 2016b, fig. 4 (a)-(e). `final` is the paper's "extra activation right after [the last unit's]
# element-wise addition" for the pre-activation units: what remains when the after-add activation moves into
# the next unit. In every layout exactly one BN is not between weight layers, so each unit has one BN per conv.
RESIDUAL_UNITS: dict[str, UnitLayout] = {
    "original": UnitLayout("a", head=(), tail=("bn",), after_add=("relu",), final=()),
    "bn_after_add": UnitLayout("b", head=(), tail=(), after_add=("bn", "relu"), final=()),
    "relu_before_add": UnitLayout("c", head=(), tail=("bn", "relu"), after_add=(), final=()),
    "relu_only_preact": UnitLayout("d", head=("relu",), tail=("bn",), after_add=(), final=("relu",)),
    "preact": UnitLayout("e", head=("bn", "relu"), tail=(), after_add=(), final=("bn", "relu")),
}

# He et al. 2016, section 3.3 ("Identity vs. Projection Shortcuts") and section 4.1's plain networks.
SHORTCUTS: dict[str, str] = {
    "A": "identity; where the shape changes, subsampled and zero-padded with new channels (no parameters)",
    "B": "identity; a 1x1 projection where the shape changes",
    "C": "a 1x1 projection on every unit",
    "none": "no shortcut: the plain network",
}


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=bias)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1, bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 1, stride, bias=bias)


@dataclass(frozen=True)
class ResNetLayout:
    """Where a network departs from the papers' layout in ways no option of the paper covers (the course nets).

    The defaults are the paper's: stages after the first halve the size in their first unit, convolutions
    without bias (BN follows each), a projection shortcut without ReLU, a stem max pool with padding 1.
    """

    stage_strides: tuple[int, ...] | None = None  # stride of each stage; None: 1, then 2 for every later stage
    stride_in_last_unit: bool = False  # a stage changes its stride in its last unit instead of its first
    conv_bias: bool = False  # every convolution has a bias, the stem's and the shortcut's included
    projection_relu: bool = False  # a projection shortcut ends in a ReLU like its branch
    stem_pool_padding: int = 1

    def strides(self, num_stages: int) -> tuple[int, ...]:
        return self.stage_strides or (1,) + (2,) * (num_stages - 1)


PAPER_LAYOUT = ResNetLayout()


class PadShortcut(nn.Module):
    """Shortcut option A: the identity, subsampled by the stride, with zero channels appended."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.extra_channels = out_channels - in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))

    def extra_repr(self) -> str:
        return f"stride={self.stride}, extra_channels={self.extra_channels}"


class ResidualUnit(nn.Module):
    """Weight layers arranged around a shortcut by a `RESIDUAL_UNITS` layout; subclasses give the weight layers.

    BN `bn<i>` belongs to `conv<i>`: after it, or before it in the full pre-activation unit (e); in (b) the last
    BN follows the addition. The first unit of a pre-activation network (`first_unit`) has no pre-activation of
    its own: the stem's BN-ReLU plays that role, before the split into the two paths (He et al. 2016b,
    appendix). A projection shortcut sees the pre-activated input, as in the paper; an identity sees the raw one.
    """

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: int = 1,
        *,
        residual_unit: str = "original",
        shortcut: str = "B",
        stride_in_1x1: bool = False,
        first_unit: bool = False,
        conv_bias: bool = False,
        projection_relu: bool = False,
    ) -> None:
        super().__init__()
        check_choice("residual_unit", residual_unit, RESIDUAL_UNITS)
        check_choice("shortcut", shortcut, SHORTCUTS)
        layout = RESIDUAL_UNITS[residual_unit]
        convs = self.weight_layers(in_channels, width, stride, stride_in_1x1, conv_bias)
        k = len(convs)
        out_channels = convs[-1].out_channels
        bn_before_conv = "bn" in layout.head

        # The unit as three lists of module names, in the order the forward applies them.
        self._head = [] if first_unit else ["bn1" if op == "bn" else op for op in layout.head]
        self._branch: list[str] = []
        for i in range(1, k + 1):
            if i > 1:
                self._branch += [f"bn{i}" if bn_before_conv else f"bn{i - 1}", "relu"]
            self._branch.append(f"conv{i}")
        self._branch += [f"bn{k}" if op == "bn" else op for op in layout.tail]
        self._after_add = [f"bn{k}" if op == "bn" else op for op in layout.after_add]

        for name in dict.fromkeys(self._head + self._branch + self._after_add):  # register in order of use
            if name == "relu":
                # A ReLU on the unit's input must not overwrite it: the identity shortcut still needs it (d).
                self.relu = nn.ReLU(inplace="relu" not in self._head)
            elif name.startswith("conv"):
                self.add_module(name, convs[int(name[4:]) - 1])
            else:
                conv = convs[int(name[2:]) - 1]
                self.add_module(name, nn.BatchNorm2d(conv.in_channels if bn_before_conv else conv.out_channels))

        self.residual = shortcut != "none"
        changes_shape = stride != 1 or in_channels != out_channels
        self.projection = shortcut == "C" or (shortcut == "B" and changes_shape)
        self.downsample: nn.Module | None = None
        if self.projection:
            # Normalised like the branch it is added to: with BN unless the branch ends in a bare conv (b, e).
            proj: list[nn.Module] = [conv1x1(in_channels, out_channels, stride, conv_bias)]
            if "bn" in layout.tail:
                proj.append(nn.BatchNorm2d(out_channels))
            if projection_relu:
                proj.append(nn.ReLU(inplace=True))
            self.downsample = nn.Sequential(*proj)
        elif shortcut == "A" and changes_shape:
            self.downsample = PadShortcut(in_channels, out_channels, stride)

    def weight_layers(
        self, in_channels: int, width: int, stride: int, stride_in_1x1: bool, bias: bool
    ) -> list[nn.Conv2d]:
        raise NotImplementedError

    def _apply_ops(self, names: list[str], x: torch.Tensor) -> torch.Tensor:
        for name in names:
            x = getattr(self, name)(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self._apply_ops(self._head, x)
        if self.residual:
            identity = out if self.projection else x
            if self.downsample is not None:
                identity = self.downsample(identity)
        out = self._apply_ops(self._branch, out)
        if self.residual:
            out = out + identity  # not in place: in (c) `out` is a ReLU output that autograd still needs
        return self._apply_ops(self._after_add, out)

    def zero_init_branch(self) -> None:
        """Zero the last BN weight inside the residual branch, so the branch starts as zero (Goyal et al. 2017)."""
        last_bn = [name for name in self._head + self._branch if name.startswith("bn")][-1]
        nn.init.zeros_(getattr(self, last_bn).weight)


class BasicBlock(ResidualUnit):
    """Two 3x3 convolutions (He et al. 2016, fig. 5 left); the stride is on the first."""

    expansion = 1

    def weight_layers(
        self, in_channels: int, width: int, stride: int, stride_in_1x1: bool, bias: bool
    ) -> list[nn.Conv2d]:
        return [conv3x3(in_channels, width, stride, bias), conv3x3(width, width, bias=bias)]


class Bottleneck(ResidualUnit):
    """1x1 reduce, 3x3, 1x1 expand by 4 (He et al. 2016, fig. 5 right).

    The paper strides the first 1x1 conv (`stride_in_1x1=True`); torchvision's "ResNet v1.5" strides the 3x3,
    which costs more multiply-adds (4.09 vs 3.86 billion for ResNet-50) and is somewhat more accurate.
    """

    expansion = 4

    def weight_layers(
        self, in_channels: int, width: int, stride: int, stride_in_1x1: bool, bias: bool
    ) -> list[nn.Conv2d]:
        stride_1x1, stride_3x3 = (stride, 1) if stride_in_1x1 else (1, stride)
        return [
            conv1x1(in_channels, width, stride_1x1, bias),
            conv3x3(width, width, stride_3x3, bias),
            conv1x1(width, width * self.expansion, bias=bias),
        ]


class ResNet(nn.Module):
    """A stem, stages of residual units (the first of each stage but the first halves the size), pool, classifier.

    The stem is the ImageNet one (7x7/2 conv, 3x3/2 max pool), or with `small_input` a 3x3/1 conv and no pool,
    as for CIFAR. `layout` (a `ResNetLayout`, part of a model's table, not a user option) moves the strides
    and adds biases for the course's networks. Options: `shortcut` (see SHORTCUTS), `residual_unit` (see RESIDUAL_UNITS), `stride_in_1x1`
    (bottlenecks only; a basic block strides its first 3x3 either way), `zero_init_residual` (each branch starts
    as zero, so each unit starts as its shortcut).
    """

    def __init__(
        self,
        block: type[ResidualUnit],
        layers: Sequence[int],
        widths: Sequence[int] = (64, 128, 256, 512),
        layout: ResNetLayout = PAPER_LAYOUT,
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        small_input: bool = False,
        shortcut: str = "B",
        residual_unit: str = "original",
        stride_in_1x1: bool = False,
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        check_choice("residual_unit", residual_unit, RESIDUAL_UNITS)
        check_choice("shortcut", shortcut, SHORTCUTS)
        unit_layout = RESIDUAL_UNITS[residual_unit]
        stem_channels = widths[0]
        if small_input:
            self.conv1 = nn.Conv2d(in_chans, stem_channels, 3, 1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_chans, stem_channels, 7, 2, padding=3, bias=layout.conv_bias)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = None if small_input else nn.MaxPool2d(3, 2, padding=layout.stem_pool_padding)

        unit_options = dict(
            residual_unit=residual_unit, shortcut=shortcut, stride_in_1x1=stride_in_1x1,
            conv_bias=layout.conv_bias, projection_relu=layout.projection_relu,
        )
        self.num_stages = len(layers)
        channels = stem_channels
        strides = layout.strides(len(layers))
        for i, (blocks, width) in enumerate(zip(layers, widths)):
            stage = self._make_layer(
                block, channels, width, blocks, strides[i], i == 0, layout.stride_in_last_unit, **unit_options
            )
            self.add_module(f"layer{i + 1}", stage)
            channels = width * block.expansion

        self.final_bn = nn.BatchNorm2d(channels) if "bn" in unit_layout.final else None
        self.final_relu = "relu" in unit_layout.final
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

        init_weights(self)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, ResidualUnit):
                    m.zero_init_branch()

    @staticmethod
    def _make_layer(
        block: type[ResidualUnit],
        in_channels: int,
        width: int,
        blocks: int,
        stride: int,
        first_stage: bool,
        stride_in_last_unit: bool = False,
        **unit_options: Any,
    ) -> nn.Sequential:
        """One stage: `blocks` units, the first one changing the number of channels and (or the last) the stride."""
        units = []
        strided = blocks - 1 if stride_in_last_unit else 0
        for j in range(blocks):
            first_unit = first_stage and j == 0
            unit_stride = stride if j == strided else 1
            units.append(block(in_channels, width, unit_stride, first_unit=first_unit, **unit_options))
            in_channels = width * block.expansion
        return nn.Sequential(*units)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        if self.maxpool is not None:
            x = self.maxpool(x)
        for i in range(1, self.num_stages + 1):
            x = getattr(self, f"layer{i}")(x)
        if self.final_bn is not None:
            x = self.final_bn(x)
        if self.final_relu:
            x = self.relu(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(self.forward_features(x)), 1))


# ---------------------------------------------------------------------------------------------------------------
# The papers' tables. ImageNet: He et al. 2016, Table 1, (block, units per stage conv2_x..conv5_x).
RESNET_SPECS: dict[int, tuple[type[ResidualUnit], tuple[int, ...]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}
IMAGENET_WIDTHS = (64, 128, 256, 512)

# CIFAR-10: He et al. 2016, section 4.2: 6n+2 layers, n basic units per stage on 32, 16, 8 pixels.
CIFAR_DEPTHS: dict[int, int] = {20: 3, 32: 5, 44: 7, 56: 9, 110: 18, 1202: 200}  # depth -> n
# He et al. 2016b: bottleneck CIFAR nets of 9n+2 layers (bottleneck widths 16/32/64, outputs 64/128/256).
CIFAR_BOTTLENECK_DEPTHS: dict[int, int] = {164: 18, 1001: 111}  # depth -> n
CIFAR_WIDTHS = (16, 32, 64)

# The defaults that make a CIFAR net the paper's: small stem, option A shortcuts (section 4.2).
CIFAR_DEFAULTS: dict[str, Any] = {"small_input": True, "shortcut": "A"}

# The options of every ResNet (keyword arguments of `ResNet`), as `cnnzoo models resnet18` lists them.
RESNET_OPTIONS: dict[str, Option] = {
    "small_input": Option(bool, "3x3 stride-1 stem without max pool, for 28x28 and 32x32 images"),
    "shortcut": Option(str, "A: zero-padded identity, B: projection where the shape changes, C: always, none: plain",
                       choices=tuple(SHORTCUTS)),
    "residual_unit": Option(str, "where BN and ReLU sit around the addition (He et al. 2016b, fig. 4 (a)-(e))",
                            choices=tuple(RESIDUAL_UNITS)),
    "stride_in_1x1": Option(bool, "bottlenecks: stride the first 1x1 as the paper (else the 3x3, torchvision v1.5)"),
    "zero_init_residual": Option(bool, "start every residual branch at zero (its last BN weight zeroed)"),
}


def _cifar_row(block: type[ResidualUnit], n: int) -> tuple[type[ResidualUnit], tuple[int, ...], tuple[int, ...]]:
    return block, (n, n, n), CIFAR_WIDTHS


def _config(paper: str, num_stages: int) -> Callable[[dict[str, Any]], ModelConfig]:
    """The default config as a function of the options: `small_input` means CIFAR-sized input.

    `min_input_size` is the network's total stride, the smallest input every stage still downsamples; the
    forward runs on smaller inputs too, but its last stages then see a single padded pixel.
    """

    def cfg(options: dict[str, Any]) -> ModelConfig:
        small = options.get("small_input", False)
        base = CIFAR_CFG if small else IMAGENET_CFG
        stride = 2 ** (num_stages - 1) * (1 if small else 4)
        recipe = "resnet20_fast" if num_stages == 3 else "resnet18_cifar"  # CIFAR ResNets; ImageNet ones, CIFAR stem
        return replace(base, min_input_size=(3, stride, stride), family="resnet", paper=paper, recipe=recipe)

    return cfg


# ---------------------------------------------------------------------------------------------------------------
# ImageNet ResNets (He et al. 2016, Table 1), projection shortcuts where the shape changes (option B).


@register_model(_config(PAPER, 4), builds=ResNet, options=RESNET_OPTIONS)
def resnet18(**options: Any) -> ResNet:
    """ResNet-18 (He et al. 2016, Table 1); `small_input=True` is the common CIFAR ResNet-18."""
    return ResNet(*RESNET_SPECS[18], IMAGENET_WIDTHS, **options)


@register_model(_config(PAPER, 4), builds=ResNet, options=RESNET_OPTIONS)
def resnet34(**options: Any) -> ResNet:
    """ResNet-34 (He et al. 2016, Table 1)."""
    return ResNet(*RESNET_SPECS[34], IMAGENET_WIDTHS, **options)


@register_model(_config(PAPER, 4), builds=ResNet, options=RESNET_OPTIONS)
def resnet50(**options: Any) -> ResNet:
    """ResNet-50 (He et al. 2016, Table 1); the stride on the 3x3 (v1.5) unless `stride_in_1x1=True`."""
    return ResNet(*RESNET_SPECS[50], IMAGENET_WIDTHS, **options)


@register_model(_config(PAPER, 4), builds=ResNet, options=RESNET_OPTIONS)
def resnet101(**options: Any) -> ResNet:
    """ResNet-101 (He et al. 2016, Table 1)."""
    return ResNet(*RESNET_SPECS[101], IMAGENET_WIDTHS, **options)


@register_model(_config(PAPER, 4), builds=ResNet, options=RESNET_OPTIONS)
def resnet152(**options: Any) -> ResNet:
    """ResNet-152 (He et al. 2016, Table 1)."""
    return ResNet(*RESNET_SPECS[152], IMAGENET_WIDTHS, **options)


# Plain ImageNet nets (He et al. 2016, section 4.1, fig. 3 middle): the same layers without shortcuts.


@register_model(_config(PAPER, 4), builds=ResNet, options=RESNET_OPTIONS, defaults={"shortcut": "none"})
def plain18(**options: Any) -> ResNet:
    """Plain-18 (He et al. 2016, Table 2): ResNet-18 without shortcuts."""
    return ResNet(*RESNET_SPECS[18], IMAGENET_WIDTHS, **options)


@register_model(_config(PAPER, 4), builds=ResNet, options=RESNET_OPTIONS, defaults={"shortcut": "none"})
def plain34(**options: Any) -> ResNet:
    """Plain-34 (He et al. 2016, fig. 3 middle): ResNet-34 without shortcuts."""
    return ResNet(*RESNET_SPECS[34], IMAGENET_WIDTHS, **options)


# CIFAR-10 ResNets (He et al. 2016, section 4.2, Table 6), option A shortcuts.


@register_model(_config(PAPER, 3), builds=ResNet, options=RESNET_OPTIONS, defaults=CIFAR_DEFAULTS)
def resnet20(**options: Any) -> ResNet:
    """ResNet-20 for CIFAR (He et al. 2016, Table 6: 0.27M parameters)."""
    return ResNet(*_cifar_row(BasicBlock, CIFAR_DEPTHS[20]), **options)


@register_model(_config(PAPER, 3), builds=ResNet, options=RESNET_OPTIONS, defaults=CIFAR_DEFAULTS)
def resnet32(**options: Any) -> ResNet:
    """ResNet-32 for CIFAR (He et al. 2016, Table 6: 0.46M parameters)."""
    return ResNet(*_cifar_row(BasicBlock, CIFAR_DEPTHS[32]), **options)


@register_model(_config(PAPER, 3), builds=ResNet, options=RESNET_OPTIONS, defaults=CIFAR_DEFAULTS)
def resnet44(**options: Any) -> ResNet:
    """ResNet-44 for CIFAR (He et al. 2016, Table 6: 0.66M parameters)."""
    return ResNet(*_cifar_row(BasicBlock, CIFAR_DEPTHS[44]), **options)


@register_model(_config(PAPER, 3), builds=ResNet, options=RESNET_OPTIONS, defaults=CIFAR_DEFAULTS)
def resnet56(**options: Any) -> ResNet:
    """ResNet-56 for CIFAR (He et al. 2016, Table 6: 0.85M parameters)."""
    return ResNet(*_cifar_row(BasicBlock, CIFAR_DEPTHS[56]), **options)


@register_model(_config(PAPER, 3), builds=ResNet, options=RESNET_OPTIONS, defaults=CIFAR_DEFAULTS)
def resnet110(**options: Any) -> ResNet:
    """ResNet-110 for CIFAR (He et al. 2016, Table 6: 1.7M parameters)."""
    return ResNet(*_cifar_row(BasicBlock, CIFAR_DEPTHS[110]), **options)


@register_model(_config(PAPER, 3), builds=ResNet, options=RESNET_OPTIONS, defaults=CIFAR_DEFAULTS)
def resnet1202(**options: Any) -> ResNet:
    """ResNet-1202 for CIFAR (He et al. 2016, Table 6: 19.4M parameters)."""
    return ResNet(*_cifar_row(BasicBlock, CIFAR_DEPTHS[1202]), **options)


# Plain CIFAR-10 nets (He et al. 2016, section 4.2, fig. 6 left): the CIFAR ResNets without shortcuts.
PLAIN_DEFAULTS: dict[str, Any] = {**CIFAR_DEFAULTS, "shortcut": "none"}


@register_model(_config(PAPER, 3), builds=ResNet, options=RESNET_OPTIONS, defaults=PLAIN_DEFAULTS)
def plain20(**options: Any) -> ResNet:
    """Plain-20 for CIFAR (He et al. 2016, fig. 6 left)."""
    return ResNet(*_cifar_row(BasicBlock, CIFAR_DEPTHS[20]), **options)


@register_model(_config(PAPER, 3), builds=ResNet, options=RESNET_OPTIONS, defaults=PLAIN_DEFAULTS)
def plain32(**options: Any) -> ResNet:
    """Plain-32 for CIFAR (He et al. 2016, fig. 6 left)."""
    return ResNet(*_cifar_row(BasicBlock, CIFAR_DEPTHS[32]), **options)


@register_model(_config(PAPER, 3), builds=ResNet, options=RESNET_OPTIONS, defaults=PLAIN_DEFAULTS)
def plain44(**options: Any) -> ResNet:
    """Plain-44 for CIFAR (He et al. 2016, fig. 6 left)."""
    return ResNet(*_cifar_row(BasicBlock, CIFAR_DEPTHS[44]), **options)


@register_model(_config(PAPER, 3), builds=ResNet, options=RESNET_OPTIONS, defaults=PLAIN_DEFAULTS)
def plain56(**options: Any) -> ResNet:
    """Plain-56 for CIFAR (He et al. 2016, fig. 6 left)."""
    return ResNet(*_cifar_row(BasicBlock, CIFAR_DEPTHS[56]), **options)


@register_model(_config(PAPER, 3), builds=ResNet, options=RESNET_OPTIONS, defaults=PLAIN_DEFAULTS)
def plain110(**options: Any) -> ResNet:
    """Plain-110 for CIFAR (He et al. 2016, section 4.2: it does not train well)."""
    return ResNet(*_cifar_row(BasicBlock, CIFAR_DEPTHS[110]), **options)


# Full pre-activation ResNets (He et al. 2016b, fig. 4(e)). On CIFAR the paper keeps ResNet-110's identity
# shortcuts and, for the bottleneck nets, uses pre-activated projections where the dimensions increase.
PREACT_DEFAULTS: dict[str, Any] = {**CIFAR_DEFAULTS, "residual_unit": "preact"}
PREACT_B_DEFAULTS: dict[str, Any] = {**PREACT_DEFAULTS, "shortcut": "B"}  # the bottleneck nets, PreActResNet-18


@register_model(_config(PREACT_PAPER, 3), builds=ResNet, options=RESNET_OPTIONS, defaults=PREACT_DEFAULTS)
def preact_resnet110(**options: Any) -> ResNet:
    """Pre-activation ResNet-110 for CIFAR (He et al. 2016b, Table 3: 1.7M parameters)."""
    row = _cifar_row(BasicBlock, CIFAR_DEPTHS[110])
    return ResNet(*row, **options)


@register_model(_config(PREACT_PAPER, 3), builds=ResNet, options=RESNET_OPTIONS, defaults=PREACT_B_DEFAULTS)
def preact_resnet164(**options: Any) -> ResNet:
    """Pre-activation bottleneck ResNet-164 for CIFAR (He et al. 2016b, Table 3: 1.7M parameters)."""
    row = _cifar_row(Bottleneck, CIFAR_BOTTLENECK_DEPTHS[164])
    return ResNet(*row, **options)


@register_model(_config(PREACT_PAPER, 3), builds=ResNet, options=RESNET_OPTIONS, defaults=PREACT_B_DEFAULTS)
def preact_resnet1001(**options: Any) -> ResNet:
    """Pre-activation bottleneck ResNet-1001 for CIFAR (He et al. 2016b, Table 4: 10.2M parameters)."""
    row = _cifar_row(Bottleneck, CIFAR_BOTTLENECK_DEPTHS[1001])
    return ResNet(*row, **options)


@register_model(_config(PREACT_PAPER, 4), builds=ResNet, options=RESNET_OPTIONS, defaults=PREACT_B_DEFAULTS)
def preact_resnet18(**options: Any) -> ResNet:
    """Pre-activation ResNet-18 with the small-image stem, the common CIFAR PreActResNet-18."""
    return ResNet(*RESNET_SPECS[18], IMAGENET_WIDTHS, **options)


# ---------------------------------------------------------------------------------------------------------------
# The course's own CIFAR-10 networks (../shared/course/): ResNets laid out as the course wrote them, not as the
# papers did. Each row: (block, units per stage, widths, layout, the options the listing fixes).
COURSE_PAPER = "course (after He et al. 2016)"
COURSE_SPECS: dict[str, tuple[type[ResidualUnit], tuple[int, ...], tuple[int, ...], ResNetLayout, dict[str, Any]]] = {
    # Exercise 3-2: ResNet-18's units, but no stage downsamples: 8x8 maps throughout for 32x32 input.
    "course_resnet18": (BasicBlock, (2, 2, 2, 2), IMAGENET_WIDTHS, ResNetLayout(stage_strides=(1, 1, 1, 1)), {}),
    # Project #2, ResNet50_layer4: ResNet-50's conv2_x..conv4_x; conv2_x and conv3_x downsample in their last unit.
    "course_resnet50_layer4": (
        Bottleneck, (3, 4, 6), (64, 128, 256),
        ResNetLayout(stage_strides=(2, 2, 1), stride_in_last_unit=True, conv_bias=True, projection_relu=True,
                     stem_pool_padding=0),
        {"residual_unit": "relu_before_add", "stride_in_1x1": True},
    ),
}

# What the course nets let a user change; the rest of the layout is the listing's.
COURSE_OPTIONS: dict[str, Option] = {
    "shortcut": Option(str, "B: projection where the shape changes (as intended), C: on every unit, none: plain",
                       choices=("B", "C", "none")),
    "zero_init_residual": RESNET_OPTIONS["zero_init_residual"],
}


def _course_config(name: str) -> ModelConfig:
    """CIFAR-10's config; the minimum input is the network's total stride (the stem's 4 and the stages')."""
    _, _, _, layout, _ = COURSE_SPECS[name]
    stride = 4
    for s in layout.strides(len(COURSE_SPECS[name][1])):
        stride *= s
    return replace(
        CIFAR_CFG, min_input_size=(3, stride, stride), family="resnet", paper=COURSE_PAPER, recipe="course_cifar"
    )


def _course_resnet(name: str, shortcut: str, zero_init_residual: bool, **common: Any) -> ResNet:
    block, layers, widths, layout, fixed = COURSE_SPECS[name]
    return ResNet(block, layers, widths, layout, shortcut=shortcut, zero_init_residual=zero_init_residual,
                  **fixed, **common)


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
    - every convolution, stem and shortcuts included, has a bias and is followed by BN and ReLU. The listing does
      not show its conv1x1/conv3x3 helpers; this assumes the usual ones of the assignment, conv (with bias) + BN
      + ReLU. So each unit's branch ends in a ReLU and nothing follows the addition: fig. 4(c) of He et al. 2016b
      ("relu_before_add"), with a projection that ends in BN + ReLU as well;
    - the listing pools the 2x2 map with AvgPool2d(1, stride=2), which keeps the top-left value only; here the
      family's global average pool averages all four (no parameters change).

    `shortcut="B"` (the default) is the intended network: a projection only where the shape changes (the first
    unit of each stage and the downsampling ones). `shortcut="C"` is the listing as written: its test
    `x.size() is not out.size()` compares two fresh objects, so it is always true and every unit projects its
    shortcut.
    """
    return _course_resnet("course_resnet50_layer4", shortcut, zero_init_residual, **common)
