"""Building blocks shared by several families, and the papers' initialisation."""

from __future__ import annotations

import torch.nn as nn


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

    def forward(self, x):
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
