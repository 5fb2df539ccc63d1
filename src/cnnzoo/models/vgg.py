"""VGG (Simonyan & Zisserman 2015): configurations A, B, D, E of the paper's Table 1, with optional BatchNorm.

The configuration is data, as in Dive into Deep Learning: each block is (number of 3x3 convolutions, channels),
and every block ends in a 2x2 max pool. The modules are laid out as torchvision's (`features.<i>` for each
convolution, BatchNorm, ReLU and pool in order; `classifier.0/3/6`), so its state_dict loads as it is. Two
heads: torchvision's ImageNet one (the paper's FC-4096 x2) and the course material's small CIFAR-10 one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch.nn as nn

from cnnzoo.errors import CnnzooError, check_choice
from cnnzoo.models.layers import ConvNetWithMLPHead, MLPHead, init_weights
from cnnzoo.models.registry import CIFAR_CFG, IMAGENET_CFG, ModelConfig, Option, register_model

# Table 1 of the paper, one tuple per block: (3x3 convolutions, output channels); a max pool ends each block.
VGG_CFGS: dict[str, tuple[tuple[int, int], ...]] = {
    "A": ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512)),  # VGG-11
    "B": ((2, 64), (2, 128), (2, 256), (2, 512), (2, 512)),  # VGG-13
    "D": ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)),  # VGG-16
    "E": ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512)),  # VGG-19
}

# imagenet: torchvision's, adaptive average pool to 7x7, Linear(25088, 4096)-ReLU-Dropout-Linear(4096, 4096)-ReLU-
# Dropout-Linear(4096, N). small: global pooling, Linear(512, 512)-ReLU-Dropout-Linear(512, 512)-ReLU-Dropout-
# Linear(512, N); VGG-11 with it and 10 classes has 9,750,922 parameters.
HEADS = ("imagenet", "small")

VGG_OPTIONS: dict[str, Option] = {
    "batch_norm": Option(bool, "BatchNorm after every convolution (the *_bn models)"),
    "head": Option(str, "classifier: imagenet (7x7 pool, 4096-4096) or small (global pool, 512-512)", choices=HEADS),
    "small_input": Option(bool, "round-up max pools and the small head by default, for 28x28 and 32x32 images"),
    "dropout": Option(float, "dropout probability in the classifier", low=0.0, high=1.0),
}


class VGG(ConvNetWithMLPHead):
    """Blocks of 3x3 convolutions (optionally with BatchNorm) and max pools, then a fully connected head."""

    def __init__(
        self,
        blocks: tuple[tuple[int, int], ...],
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        batch_norm: bool = False,
        head: str | None = None,
        small_input: bool = False,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        head = head if head is not None else ("small" if small_input else "imagenet")
        check_choice("head", head, HEADS)
        layers: list[nn.Module] = []
        channels = in_chans
        self.feature_info = []  # the feature stages: after each block's max pool
        for num_convs, out_channels in blocks:
            for _ in range(num_convs):
                layers.append(nn.Conv2d(channels, out_channels, kernel_size=3, padding=1))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(out_channels))
                layers.append(nn.ReLU(inplace=True))
                channels = out_channels
            # Rounding up changes nothing at 32x32 but lets 28x28 through all five pools (28, 14, 7, 4, 2, 1).
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=small_input))
            reduction = 2 ** (len(self.feature_info) + 1)
            self.feature_info.append(dict(num_chs=channels, reduction=reduction, module=f"features.{len(layers) - 1}"))
        self.features = nn.Sequential(*layers)
        pooled, hidden = (7, 4096) if head == "imagenet" else (1, 512)
        self.avgpool = nn.AdaptiveAvgPool2d(pooled)
        self.num_features = hidden
        self.num_classes = num_classes
        self.classifier = MLPHead(
            nn.Linear(channels * pooled * pooled, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )
        self.batch_norm = batch_norm
        if batch_norm:
            init_weights(self)
        else:
            # Without BatchNorm, He fan_out convolutions with N(0, 0.01) linear layers (kept for the *_bn models)
            # scale the signal by ~0.16 per 512-wide linear layer: the small head's logits start at std 0.001 and
            # the net at chance. Glorot keeps both passes' variance, the paper's own start (section 3.1).
            _glorot_init(self)

    def _new_classifier(self, num_classes: int) -> None:
        super()._new_classifier(num_classes)
        if not self.batch_norm:
            _glorot_init(self.classifier[-1])


def _glorot_init(model: nn.Module) -> None:
    """Glorot & Bengio (2010) normalised uniform weights and zero biases: VGG's own start without pre-training."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)) and not m.weight.is_meta:
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


def _vgg_cfg(options: dict[str, Any]) -> ModelConfig:
    paper = "Simonyan & Zisserman 2015"
    small_input = options.get("small_input", False)
    head = options.get("head") or ("small" if small_input else "imagenet")
    check_choice("head", head, HEADS)
    recipe = "vgg_bn_cifar" if options.get("batch_norm") else "vgg_cifar"
    if small_input:  # round-up pools: a 1x1 image passes all five
        return replace(CIFAR_CFG, min_input_size=(3, 1, 1), family="vgg", paper=paper, recipe=recipe)
    if head == "small":  # five 2x2 pools need 32 pixels
        return replace(CIFAR_CFG, min_input_size=(3, 32, 32), family="vgg", paper=paper, recipe=recipe)
    return replace(IMAGENET_CFG, min_input_size=(3, 32, 32), family="vgg", paper=paper, recipe=recipe)


def _vgg(config: str, batch_norm: bool, name: str, options: dict[str, Any]) -> VGG:
    if options.pop("batch_norm", batch_norm) != batch_norm:
        other = name.removesuffix("_bn") if batch_norm else f"{name}_bn"
        raise CnnzooError(f"{name} has batch_norm={batch_norm} by definition; use {other} instead")
    return VGG(VGG_CFGS[config], batch_norm=batch_norm, **options)


@register_model(_vgg_cfg, builds=VGG, options=VGG_OPTIONS)
def vgg11(**options: Any) -> VGG:
    """VGG-11, configuration A."""
    return _vgg("A", False, "vgg11", options)


@register_model(_vgg_cfg, builds=VGG, options=VGG_OPTIONS, defaults={"batch_norm": True})
def vgg11_bn(**options: Any) -> VGG:
    """VGG-11, configuration A, with BatchNorm after every convolution."""
    return _vgg("A", True, "vgg11_bn", options)


@register_model(_vgg_cfg, builds=VGG, options=VGG_OPTIONS)
def vgg13(**options: Any) -> VGG:
    """VGG-13, configuration B."""
    return _vgg("B", False, "vgg13", options)


@register_model(_vgg_cfg, builds=VGG, options=VGG_OPTIONS, defaults={"batch_norm": True})
def vgg13_bn(**options: Any) -> VGG:
    """VGG-13, configuration B, with BatchNorm after every convolution."""
    return _vgg("B", True, "vgg13_bn", options)


@register_model(_vgg_cfg, builds=VGG, options=VGG_OPTIONS)
def vgg16(**options: Any) -> VGG:
    """VGG-16, configuration D."""
    return _vgg("D", False, "vgg16", options)


@register_model(_vgg_cfg, builds=VGG, options=VGG_OPTIONS, defaults={"batch_norm": True})
def vgg16_bn(**options: Any) -> VGG:
    """VGG-16, configuration D, with BatchNorm after every convolution."""
    return _vgg("D", True, "vgg16_bn", options)


@register_model(_vgg_cfg, builds=VGG, options=VGG_OPTIONS)
def vgg19(**options: Any) -> VGG:
    """VGG-19, configuration E."""
    return _vgg("E", False, "vgg19", options)


@register_model(_vgg_cfg, builds=VGG, options=VGG_OPTIONS, defaults={"batch_norm": True})
def vgg19_bn(**options: Any) -> VGG:
    """VGG-19, configuration E, with BatchNorm after every convolution."""
    return _vgg("E", True, "vgg19_bn", options)
