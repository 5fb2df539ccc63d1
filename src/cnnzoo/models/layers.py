"""Building blocks shared by several families, the papers' initialisation, and the interface every model offers."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

import torch
import torch.nn as nn

from cnnzoo.errors import CnnzooError
from cnnzoo.models.registry import ModelConfig


class ConvBNAct(nn.Module):
    """Convolution, optional BatchNorm, ReLU: the unit of VGG-BN, NiN and GoogLeNet.

    With BatchNorm the convolution has no bias (the BN shift replaces it), as in torchvision.
    Children are named `conv`, `bn`, `act` so torchvision's GoogLeNet `BasicConv2d` weights load as they are.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int = 1,
        padding: int | tuple[int, int] = 0,
        *,
        batch_norm: bool = False,
        bn_eps: float = 1e-5,
        act: bool = True,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=not batch_norm)
        self.bn = nn.BatchNorm2d(out_channels, eps=bn_eps) if batch_norm else nn.Identity()
        self.act = nn.ReLU(inplace=True) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


def init_weights(model: nn.Module, linear_std: float = 0.01, conv_mode: str = "fan_out") -> None:
    """He-normal convolutions (He et al. 2015), BN weight 1 and bias 0, small normal linear layers, zero biases.

    `conv_mode="fan_out"` (torchvision's choice) keeps the backward pass's variance; BatchNorm corrects the
    forward one. A network without BatchNorm whose convolutions narrow the channels (GoogLeNet's 1x1 reduce
    layers) needs `"fan_in"`, which keeps the forward variance (He et al. 2015, eq. 10): with fan_out every
    narrowing layer multiplies it by fan_in / fan_out, and the activations grow until the loss is NaN.
    """
    for m in model.modules():
        if any(p.is_meta for p in m.parameters(recurse=False)):
            continue  # nothing to initialise on the meta device, and kaiming_normal_ there is slow
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode=conv_mode, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, linear_std)
            nn.init.zeros_(m.bias)


class Classifier(nn.Module):
    """What every cnnzoo model offers, in timm's names: `forward` is `forward_head(forward_features(x))`.

    A family sets `num_features` (what its classifier receives: `forward_head(x, pre_logits=True)` has that many
    channels), `num_classes` and `feature_info` (one dict per stage for `features_only=True`: `module` whose output
    is the stage's map, its channels `num_chs`, its total stride `reduction`), and says which module classifies.
    """

    # No class-level annotations of those attributes: TorchScript would read them as attribute types.

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        """The module that turns the pre-logits features into the logits."""
        raise NotImplementedError

    def _new_classifier(self, num_classes: int) -> None:
        """Replace the classifier by a freshly initialised one for `num_classes` (0: the identity)."""
        raise NotImplementedError

    def reset_classifier(self, num_classes: int) -> None:
        """A new classifier for `num_classes`, initialised as the family's; 0 leaves none, so the forward returns
        the pre-logits features (timm's convention). The other weights are kept."""
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
            raise CnnzooError(f"reset_classifier needs a number of classes >= 0 (0: none), got {num_classes!r}")
        self._new_classifier(num_classes)
        self.num_classes = num_classes
        if isinstance(getattr(self, "default_cfg", None), ModelConfig):
            self.default_cfg = replace(self.default_cfg, num_classes=num_classes)

    @property
    @torch.jit.unused  # TorchScript compiles a module's properties unless told not to
    def pretrained_cfg(self) -> dict[str, Any]:
        """timm's name for the model's config: `default_cfg` as a dict."""
        cfg = getattr(self, "default_cfg", None)
        if cfg is None:
            raise AttributeError(f"{type(self).__name__} has no default_cfg: build it with cnnzoo.create_model")
        return asdict(cfg)


def linear_head(in_features: int, num_classes: int) -> nn.Module:
    """A linear classifier initialised like `init_weights` does; for 0 classes the identity (no classifier)."""
    if num_classes == 0:
        return nn.Identity()
    fc = nn.Linear(in_features, num_classes)
    init_weights(fc)
    return fc


class ConvNetWithMLPHead(Classifier):
    """The layout of AlexNet and VGG: convolutions (`features`), an average pool, an `MLPHead` (`classifier`)."""

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(x), 1), pre_logits)

    def get_classifier(self) -> nn.Module:
        return self.classifier[-1]

    def _new_classifier(self, num_classes: int) -> None:
        self.classifier[-1] = linear_head(self.num_features, num_classes)


class MLPHead(nn.Sequential):
    """Fully connected layers (with their ReLUs and dropouts) whose last layer is the classifier."""

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__(*layers)
        self.classifier_index = len(layers) - 1  # TorchScript has no len() of a Sequential subclass

    def forward(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """With `pre_logits`, stop before the classifier: its input."""
        for i, layer in enumerate(self):
            if i < self.classifier_index or not pre_logits:
                x = layer(x)
        return x
