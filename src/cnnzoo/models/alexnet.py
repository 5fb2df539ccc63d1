"""AlexNet (Krizhevsky, Sutskever & Hinton 2012), in torchvision's single-tower layout.

The paper split its five convolutions over two GPUs (96-256-384-384-256 filters, half on each). torchvision
builds the single-tower variant of Krizhevsky's "One weird trick" (2014), 64-192-384-256-256, and so do we,
with the same module indices (`features.0`, ..., `classifier.6`), so torchvision's state_dict loads as it is.
Local response normalisation is left out, as in torchvision.

`small_input=True` is our variant for 32x32 (and 28x28) images, no upsampling needed: the 11x11 stride-4 stem
becomes a 5x5 stride-1 convolution and the overlapping 3x3/2 max pools get padding 1, so a 32x32 image goes
32 → 16 → 8 → 4 (28 → 14 → 7 → 4). The classifier keeps the paper's 4096-4096 widths on a 4x4 pooled map
(256·4·4 = 4,096 inputs) instead of 6x6. Everything else (widths, 3x3 convolutions, dropout) is unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple

import torch.nn as nn

from cnnzoo.models.layers import ConvNetWithMLPHead, MLPHead, init_weights
from cnnzoo.models.registry import CIFAR_CFG, IMAGENET_CFG, ModelConfig, Option, register_model


class ConvRow(NamedTuple):
    """One convolution of the feature extractor, with whether a 3x3/2 max pool follows its ReLU.

    Each pool ends a feature stage (features_only=True returns the maps after the pools).
    """

    out_channels: int
    kernel: int
    stride: int
    padding: int
    pool: bool


class AlexNetSpec(NamedTuple):
    convs: tuple[ConvRow, ...]
    pool_padding: int  # of every 3x3/2 max pool
    pooled_size: int  # side of the adaptive average pool before the classifier


ALEXNET_SPECS: dict[str, AlexNetSpec] = {
    # torchvision's single tower (Krizhevsky 2014): 224 → 55 → 27 → 27 → 13 → 13 → 6.
    "imagenet": AlexNetSpec(
        convs=(
            ConvRow(64, 11, 4, 2, True),
            ConvRow(192, 5, 1, 2, True),
            ConvRow(384, 3, 1, 1, False),
            ConvRow(256, 3, 1, 1, False),
            ConvRow(256, 3, 1, 1, True),
        ),
        pool_padding=0,
        pooled_size=6,
    ),
    # Small images: stride-1 5x5 stem, padded pools: 32 → 16 → 8 → 4.
    "small": AlexNetSpec(
        convs=(
            ConvRow(64, 5, 1, 2, True),
            ConvRow(192, 5, 1, 2, True),
            ConvRow(384, 3, 1, 1, False),
            ConvRow(256, 3, 1, 1, False),
            ConvRow(256, 3, 1, 1, True),
        ),
        pool_padding=1,
        pooled_size=4,
    ),
}

ALEXNET_OPTIONS: dict[str, Option] = {
    "small_input": Option(bool, "5x5 stride-1 stem and padded pools, for 28x28 and 32x32 images"),
    "dropout": Option(float, "dropout probability before the two 4096-wide layers", low=0.0, high=1.0),
}


class AlexNet(ConvNetWithMLPHead):
    """Five convolutions with overlapping max pools, then the 4096-4096 classifier with dropout."""

    def __init__(self, spec: AlexNetSpec, *, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.5) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_chans
        reduction = 1
        self.feature_info = []
        for row in spec.convs:
            layers += [
                nn.Conv2d(channels, row.out_channels, row.kernel, row.stride, row.padding),
                nn.ReLU(inplace=True),
            ]
            channels = row.out_channels
            reduction *= row.stride
            if row.pool:
                layers.append(nn.MaxPool2d(kernel_size=3, stride=2, padding=spec.pool_padding))
                reduction *= 2
                stage = dict(num_chs=channels, reduction=reduction, module=f"features.{len(layers) - 1}")
                self.feature_info.append(stage)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(spec.pooled_size)
        self.num_features = 4096
        self.num_classes = num_classes
        self.classifier = MLPHead(
            nn.Dropout(p=dropout),
            nn.Linear(channels * spec.pooled_size**2, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )
        init_weights(self)


def _alexnet_cfg(options: dict[str, Any]) -> ModelConfig:
    paper = "Krizhevsky et al. 2012"
    if options.get("small_input", False):
        # Stride-1 convolutions and padded pools: even a 1x1 image passes.
        return replace(CIFAR_CFG, min_input_size=(3, 1, 1), family="alexnet", paper=paper, recipe="alexnet_cifar")
    # 63 is the smallest side for which the third max pool still sees a 3x3 map (as torchvision documents).
    return replace(IMAGENET_CFG, min_input_size=(3, 63, 63), family="alexnet", paper=paper, recipe="alexnet_cifar")


@register_model(_alexnet_cfg, builds=AlexNet, options=ALEXNET_OPTIONS)
def alexnet(*, small_input: bool = False, **options: Any) -> AlexNet:
    """AlexNet, torchvision's single-tower layout; `small_input=True` for 32x32 / 28x28 images."""
    return AlexNet(ALEXNET_SPECS["small" if small_input else "imagenet"], **options)
