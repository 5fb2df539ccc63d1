"""ResNets (He et al. 2016) and their residual-unit variants (He et al. 2016b, Identity Mappings).

Read top to bottom: the shortcuts (options A/B/C of He et al. 2016, section 3.3) and the residual units of fig. 4
of He et al. 2016b; `ResNet`, a stem, stages built by `_make_layer`, global pooling and a linear classifier; then
the papers' tables (`RESNET_SPECS`, `CIFAR_DEPTHS`, ...) and builders that pick a row of them.

`residual_unit` picks a panel of fig. 4: "original" (a), "bn_after_add" (b), "relu_before_add" (c),
"relu_only_preact" (d), "preact" (e); `shortcut` is "A", "B", "C" or "none" (the plain net). Both apply to every
ResNet here. Module names are torchvision's (conv1, bn1, relu, maxpool, layer1..layer4, avgpool, fc; in a unit
conv1..conv3, bn1..bn3, downsample.0/.1), so torchvision's ResNet weights load as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from cnnzoo.errors import CnnzooError, check_choice
from cnnzoo.models.layers import Classifier, init_weights, linear_head
from cnnzoo.models.registry import CIFAR_CFG, IMAGENET_CFG, ModelConfig, Option, register_model

PAPER = "He et al. 2016"
PREACT_PAPER = "He et al. 2016b (Identity Mappings)"

# He et al. 2016b, fig. 4 (a)-(e): where BN and ReLU sit around a unit's addition.
RESIDUAL_UNITS: dict[str, str] = {
    "original": "(a) BN after each conv, ReLU after the addition",
    "bn_after_add": "(b) the last BN after the addition, then ReLU",
    "relu_before_add": "(c) the last ReLU before the addition: nothing after it",
    "relu_only_preact": "(d) a ReLU before the first conv, BN after each conv, nothing after the addition",
    "preact": "(e) full pre-activation: BN and ReLU before each conv, nothing after the addition",
}

# He et al. 2016, section 3.3 ("Identity vs. Projection Shortcuts") and section 4.1's plain networks.
SHORTCUTS: dict[str, str] = {
    "A": "identity; where the shape changes, subsampled and zero-padded with new channels (no parameters)",
    "B": "identity; a 1x1 projection where the shape changes",
    "C": "a 1x1 projection on every unit",
    "none": "no shortcut: the plain network",
}

# Where option A's zero channels go: after the identity's (the paper's "extra zero entries padded"), or split
# evenly before and after it, as akamaster/pytorch_resnet_cifar10 pads, so its weights load.
SHORTCUT_PADS = ("after", "both")


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)


class PadShortcut(nn.Module):
    """Shortcut option A: the identity, subsampled by the stride, with zero channels added after it or around it."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, pad: str = "after") -> None:
        super().__init__()
        check_choice("shortcut_pad", pad, SHORTCUT_PADS)
        self.stride = stride
        extra = out_channels - in_channels
        self.pad_before = extra // 2 if pad == "both" else 0
        self.pad_after = extra - self.pad_before

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad_before, self.pad_after))

    def extra_repr(self) -> str:
        return f"stride={self.stride}, pad_before={self.pad_before}, pad_after={self.pad_after}"


def add(out: torch.Tensor, identity: torch.Tensor | None) -> torch.Tensor:
    """The unit's addition; a plain net's unit (no shortcut) adds nothing."""
    # Not in place: in (c) `out` is a ReLU output that autograd still needs.
    return out if identity is None else out + identity


class ResidualUnit(nn.Module):
    """Weight layers on a residual branch, a shortcut beside it, and their addition; subclasses give the layers.

    `residual_unit` is a panel of fig. 4 of He et al. 2016b among the class's `panels`. The shortcut
    (`downsample`) is the identity, its zero-padded subsample (A) or a 1x1 projection (B where the shape
    changes, C always), or none (the plain net). A projection sees what the first conv sees, so in (d) and (e)
    the pre-activated input, as in the paper; an identity sees the unit's raw input.
    """

    expansion = 1
    panels: tuple[str, ...] = ()  # the values of residual_unit the class computes; the first is its default

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: int = 1,
        *,
        residual_unit: str | None = None,
        shortcut: str = "B",
        stride_in_1x1: bool = False,
        first_unit: bool = False,
        shortcut_pad: str = "after",
    ) -> None:
        super().__init__()
        self.residual_unit = residual_unit or self.panels[0]
        check_choice("residual_unit", self.residual_unit, self.panels)
        check_choice("shortcut", shortcut, SHORTCUTS)
        self._weight_layers(in_channels, width, stride, stride_in_1x1, first_unit)

        out_channels = width * self.expansion
        self.residual = shortcut != "none"
        changes_shape = stride != 1 or in_channels != out_channels
        self.projection = shortcut == "C" or (shortcut == "B" and changes_shape)
        self.downsample: nn.Module | None = None
        if self.projection:
            self.downsample = self._projection(in_channels, out_channels, stride)
        elif shortcut == "A" and changes_shape:
            self.downsample = PadShortcut(in_channels, out_channels, stride, shortcut_pad)

    def _weight_layers(self, in_channels: int, width: int, stride: int, stride_in_1x1: bool, first_unit: bool) -> None:
        """Register the branch's convolutions, BNs and ReLU in the order the forward uses them."""
        raise NotImplementedError

    def _projection(self, in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
        """A 1x1 projection, normalised like the branch it is added to: with BN unless that ends in a bare conv."""
        layers: list[nn.Module] = [conv1x1(in_channels, out_channels, stride)]
        if self.residual_unit not in ("bn_after_add", "preact"):
            layers.append(nn.BatchNorm2d(out_channels))
        return nn.Sequential(*layers)

    def shortcut(self, x: torch.Tensor, activated: torch.Tensor) -> torch.Tensor | None:
        """What the addition adds: nothing (plain), `x`, option A's padding of `x`, or the projected `activated`."""
        if not self.residual:
            return None
        if self.downsample is None:
            return x
        return self.downsample(activated if self.projection else x)

    def zero_init_branch(self) -> None:
        """Zero the last BN weight inside the residual branch, so the branch starts as zero (Goyal et al. 2017)."""
        raise NotImplementedError


class PostActUnit(ResidualUnit):
    """Fig. 4 (a)-(d) of He et al. 2016b: each conv followed by its BN (`bn<i>` after `conv<i>`).

    The panels differ only at the ends: (d) starts with a ReLU on the unit's input (in the network's first unit
    the stem's ReLU is that one), and `finish` places the last BN, the addition and the last ReLU.
    """

    panels = ("original", "bn_after_add", "relu_before_add", "relu_only_preact")

    def _register_relu(self, first_unit: bool, before_conv1: bool) -> None:
        """Register the ReLU where it first acts: on the input in (d), after `bn1` in the others."""
        self.relu_input = self.residual_unit == "relu_only_preact" and not first_unit
        if before_conv1 and self.relu_input:
            self.relu = nn.ReLU()  # not in place: the identity shortcut still needs the unit's input
        elif not before_conv1 and not self.relu_input:
            self.relu = nn.ReLU(inplace=True)

    def last_bn(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def finish(self, out: torch.Tensor, identity: torch.Tensor | None) -> torch.Tensor:
        """From the last conv's output to the unit's: the last BN, the addition, the ReLU, as each panel has them."""
        if self.residual_unit == "bn_after_add":  # (b)
            return self.relu(self.last_bn(add(out, identity)))
        out = self.last_bn(out)
        if self.residual_unit == "relu_before_add":  # (c)
            return add(self.relu(out), identity)
        if self.residual_unit == "relu_only_preact":  # (d): the next unit applies the ReLU
            return add(out, identity)
        return self.relu(add(out, identity))  # (a)


class BasicBlock(PostActUnit):
    """Two 3x3 convolutions (He et al. 2016, fig. 5 left), each followed by its BN; the stride is on the first."""

    expansion = 1

    def _weight_layers(self, in_channels: int, width: int, stride: int, stride_in_1x1: bool, first_unit: bool) -> None:
        self._register_relu(first_unit, before_conv1=True)
        self.conv1 = conv3x3(in_channels, width, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self._register_relu(first_unit, before_conv1=False)
        self.conv2 = conv3x3(width, width)
        self.bn2 = nn.BatchNorm2d(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(x) if self.relu_input else x
        identity = self.shortcut(x, out)
        out = self.relu(self.bn1(self.conv1(out)))
        out = self.conv2(out)
        return self.finish(out, identity)

    def last_bn(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn2(x)

    def zero_init_branch(self) -> None:
        nn.init.zeros_((self.bn1 if self.residual_unit == "bn_after_add" else self.bn2).weight)


class Bottleneck(PostActUnit):
    """1x1 reduce, 3x3, 1x1 expand by 4 (He et al. 2016, fig. 5 right), each followed by its BN.

    The paper strides the first 1x1 conv (`stride_in_1x1=True`); torchvision's "ResNet v1.5" strides the 3x3,
    which costs more multiply-adds (4.09 vs 3.86 billion for ResNet-50) and is somewhat more accurate.
    """

    expansion = 4

    def _weight_layers(self, in_channels: int, width: int, stride: int, stride_in_1x1: bool, first_unit: bool) -> None:
        stride_1x1, stride_3x3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self._register_relu(first_unit, before_conv1=True)
        self.conv1 = conv1x1(in_channels, width, stride_1x1)
        self.bn1 = nn.BatchNorm2d(width)
        self._register_relu(first_unit, before_conv1=False)
        self.conv2 = conv3x3(width, width, stride_3x3)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, width * self.expansion)
        self.bn3 = nn.BatchNorm2d(width * self.expansion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(x) if self.relu_input else x
        identity = self.shortcut(x, out)
        out = self.relu(self.bn1(self.conv1(out)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.conv3(out)
        return self.finish(out, identity)

    def last_bn(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn3(x)

    def zero_init_branch(self) -> None:
        nn.init.zeros_((self.bn2 if self.residual_unit == "bn_after_add" else self.bn3).weight)


class PreActUnit(ResidualUnit):
    """Fig. 4(e) of He et al. 2016b, full pre-activation: BN and ReLU before each conv (`bn<i>` before `conv<i>`).

    The network's first unit has no pre-activation of its own: the stem's BN-ReLU plays that role, before the
    split into the two paths (He et al. 2016b, appendix); it has no `bn1`.
    """

    panels = ("preact",)

    def _register_pre_activation(self, in_channels: int, first_unit: bool) -> None:
        """`bn1` and the ReLU, where they first act: on the unit's input (none in the first unit)."""
        self.bn1: nn.BatchNorm2d | None = None
        if not first_unit:
            self.bn1 = nn.BatchNorm2d(in_channels)
            self.relu = nn.ReLU()

    def _register_relu(self, first_unit: bool) -> None:
        """The first unit's ReLU, where it first acts: after `bn2`."""
        if first_unit:
            self.relu = nn.ReLU(inplace=True)


class PreActBasicBlock(PreActUnit):
    """Two 3x3 convolutions, each after its BN and ReLU: fig. 4(e) with the weight layers of `BasicBlock`."""

    expansion = 1

    def _weight_layers(self, in_channels: int, width: int, stride: int, stride_in_1x1: bool, first_unit: bool) -> None:
        self._register_pre_activation(in_channels, first_unit)
        self.conv1 = conv3x3(in_channels, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self._register_relu(first_unit)
        self.conv2 = conv3x3(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x if self.bn1 is None else self.relu(self.bn1(x))
        identity = self.shortcut(x, out)
        out = self.conv1(out)
        out = self.conv2(self.relu(self.bn2(out)))
        return add(out, identity)

    def zero_init_branch(self) -> None:
        nn.init.zeros_(self.bn2.weight)


class PreActBottleneck(PreActUnit):
    """1x1 reduce, 3x3, 1x1 expand by 4, each after its BN and ReLU: fig. 4(e) with `Bottleneck`'s weight layers."""

    expansion = 4

    def _weight_layers(self, in_channels: int, width: int, stride: int, stride_in_1x1: bool, first_unit: bool) -> None:
        stride_1x1, stride_3x3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self._register_pre_activation(in_channels, first_unit)
        self.conv1 = conv1x1(in_channels, width, stride_1x1)
        self.bn2 = nn.BatchNorm2d(width)
        self._register_relu(first_unit)
        self.conv2 = conv3x3(width, width, stride_3x3)
        self.bn3 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, width * self.expansion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x if self.bn1 is None else self.relu(self.bn1(x))
        identity = self.shortcut(x, out)
        out = self.conv1(out)
        out = self.conv2(self.relu(self.bn2(out)))
        out = self.conv3(self.relu(self.bn3(out)))
        return add(out, identity)

    def zero_init_branch(self) -> None:
        nn.init.zeros_(self.bn3.weight)


# Fig. 4(e) puts each BN before its conv, where (a)-(d) put it after: its units are classes of their own.
FULL_PREACT: dict[type[ResidualUnit], type[ResidualUnit]] = {BasicBlock: PreActBasicBlock, Bottleneck: PreActBottleneck}


def unit_class(block: type[ResidualUnit], residual_unit: str) -> type[ResidualUnit]:
    """The class that computes `residual_unit` with the weight layers of `block` (BasicBlock or Bottleneck)."""
    return FULL_PREACT.get(block, block) if residual_unit == "preact" else block


class ResNet(Classifier):
    """A stem, stages of residual units (the first of each stage but the first halves the size), pool, classifier.

    The stem is the ImageNet one (7x7/2 conv, 3x3/2 max pool), or with `small_input` a 3x3/1 conv and no pool,
    as for CIFAR. `strides` gives each stage's stride (default 1, then 2). Options: `shortcut` (see SHORTCUTS),
    `shortcut_pad` (see SHORTCUT_PADS), `residual_unit` (see RESIDUAL_UNITS), `stride_in_1x1` (bottlenecks only;
    a basic block strides its first 3x3 either way), `zero_init_residual` (each unit starts as its shortcut).
    """

    def __init__(
        self,
        block: type[ResidualUnit],
        layers: Sequence[int],
        widths: Sequence[int] = (64, 128, 256, 512),
        strides: Sequence[int] | None = None,
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        small_input: bool = False,
        shortcut: str = "B",
        shortcut_pad: str = "after",
        residual_unit: str = "original",
        stride_in_1x1: bool = False,
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        check_choice("residual_unit", residual_unit, RESIDUAL_UNITS)
        check_choice("shortcut", shortcut, SHORTCUTS)
        check_choice("shortcut_pad", shortcut_pad, SHORTCUT_PADS)
        if shortcut_pad != "after" and shortcut != "A":
            raise CnnzooError(
                f"shortcut_pad={shortcut_pad!r} places option A's zero channels; it needs shortcut='A', got {shortcut!r}"
            )
        if not 3 <= len(layers) <= 4:
            raise CnnzooError(f"a ResNet here has 3 or 4 stages, got {len(layers)}")
        block = unit_class(block, residual_unit)
        stem_channels = widths[0]
        self.conv1, maxpool = self._make_stem(in_chans, stem_channels, small_input)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = maxpool

        # The feature stages (timm's feature_info): the stem's ReLU where the stem downsamples, then each stage.
        reduction = self.conv1.stride[0]
        self.feature_info = [] if reduction == 1 else [dict(num_chs=stem_channels, reduction=reduction, module="relu")]
        reduction *= 1 if maxpool is None else 2
        unit_options = dict(
            residual_unit=residual_unit, shortcut=shortcut, stride_in_1x1=stride_in_1x1, shortcut_pad=shortcut_pad
        )
        self.num_stages = len(layers)
        self.layer4: nn.Sequential | None = None  # the CIFAR nets have three stages
        channels = stem_channels
        strides = strides or (1,) + (2,) * (len(layers) - 1)
        for i, (blocks, width) in enumerate(zip(layers, widths)):
            stage = self._make_layer(block, channels, width, blocks, strides[i], i == 0, unit_options)
            setattr(self, f"layer{i + 1}", stage)
            channels = width * block.expansion
            reduction *= strides[i]
            self.feature_info.append(dict(num_chs=channels, reduction=reduction, module=f"layer{i + 1}"))

        # The pre-activation units leave the activation after the last addition to the next unit: the last one's
        # ends the network, before pooling (He et al. 2016b, "an extra activation").
        self.final_bn = nn.BatchNorm2d(channels) if residual_unit == "preact" else None
        self.final_relu = residual_unit in ("preact", "relu_only_preact")
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.num_features = channels
        self.num_classes = num_classes
        self.fc = nn.Linear(channels, num_classes)

        init_weights(self)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, ResidualUnit):
                    m.zero_init_branch()

    def _make_stem(self, in_chans: int, channels: int, small_input: bool) -> tuple[nn.Conv2d, nn.Module | None]:
        """The stem's convolution and max pool: ImageNet's 7x7/2 and 3x3/2, or a 3x3/1 conv and no pool (CIFAR)."""
        if small_input:
            return nn.Conv2d(in_chans, channels, 3, 1, padding=1, bias=False), None
        return nn.Conv2d(in_chans, channels, 7, 2, padding=3, bias=False), nn.MaxPool2d(3, 2, padding=1)

    def _make_layer(
        self,
        block: type[ResidualUnit],
        in_channels: int,
        width: int,
        blocks: int,
        stride: int,
        first_stage: bool,
        unit_options: dict[str, Any],
    ) -> nn.Sequential:
        """One stage: `blocks` units, the first one changing the number of channels."""
        units = []
        for j in range(blocks):
            unit_stride = self._unit_stride(j, blocks, stride)
            units.append(block(in_channels, width, unit_stride, first_unit=first_stage and j == 0, **unit_options))
            in_channels = width * block.expansion
        return nn.Sequential(*units)

    def _unit_stride(self, j: int, blocks: int, stride: int) -> int:
        """The stride of a stage's j-th unit: the stage's stride on its first unit (He et al. 2016, section 3.3)."""
        return stride if j == 0 else 1

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        if self.maxpool is not None:
            x = self.maxpool(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        if self.layer4 is not None:
            x = self.layer4(x)
        if self.final_bn is not None:
            x = self.final_bn(x)
        if self.final_relu:
            x = self.relu(x)
        return x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = torch.flatten(self.avgpool(x), 1)
        return x if pre_logits else self.fc(x)

    def get_classifier(self) -> nn.Module:
        return self.fc

    def _new_classifier(self, num_classes: int) -> None:
        self.fc = linear_head(self.num_features, num_classes)


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
    "shortcut": Option(
        str,
        "A: zero-padded identity, B: projection where the shape changes, C: always, none: plain",
        choices=tuple(SHORTCUTS),
    ),
    "shortcut_pad": Option(
        str, "option A's zero channels: after the identity's, or both: half before (akamaster)", choices=SHORTCUT_PADS
    ),
    "residual_unit": Option(
        str,
        "where BN and ReLU sit around the addition (He et al. 2016b, fig. 4 (a)-(e))",
        choices=tuple(RESIDUAL_UNITS),
    ),
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
