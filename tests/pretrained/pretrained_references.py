"""Reference networks written here from each source's description (layer names as their files hold them), and
helpers that give them non-trivial weights and save them in each source's file layout."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random BatchNorm statistics and affine parameters: a file whose BN tensors were mixed up cannot pass."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model.eval()


# -------------------------------------------------------------------- CIFAR ResNets (He et al. 2016, section 4.2)
class BasicUnit(nn.Module):
    """Two 3x3 conv-BN, ReLU between, the shortcut added before the last ReLU; the shortcut is a 1x1 conv-BN
    projection named `projection_name` where the shape changes (chenyaofo: downsample, kuangliu: shortcut)."""

    def __init__(self, cin: int, cout: int, stride: int, projection_name: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.projection_name = projection_name
        if stride != 1 or cin != cout:
            self.add_module(projection_name, nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                           nn.BatchNorm2d(cout)))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        projection = getattr(self, self.projection_name, None)
        return F.relu(out + (projection(x) if projection is not None else x))


class StagedResNet(nn.Module):
    """3x3 stem conv-BN-ReLU, stages of `units` basic units (the first of each later stage strides 2), global
    average pool, a linear classifier named `classifier_name`."""

    def __init__(self, units: int, widths: tuple[int, ...], projection_name: str, classifier_name: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        cin = widths[0]
        for i, width in enumerate(widths):
            stage = [BasicUnit(cin if j == 0 else width, width, 2 if i > 0 and j == 0 else 1, projection_name)
                     for j in range(units)]  # fmt: skip
            self.add_module(f"layer{i + 1}", nn.Sequential(*stage))
            cin = width
        self.classifier_name = classifier_name
        self.add_module(classifier_name, nn.Linear(widths[-1], 10))
        self.stages = len(widths)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        for i in range(self.stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return getattr(self, self.classifier_name)(x.mean(dim=(2, 3)))


def chenyaofo_resnet20() -> nn.Module:
    return randomise(StagedResNet(3, (16, 32, 64), "downsample", "fc"))


def kuangliu_resnet18() -> nn.Module:
    """kuangliu's ResNet18: ResNet-18's four stages of two basic units on a 3x3 stem, 'shortcut', 'linear'."""
    return randomise(StagedResNet(2, (64, 128, 256, 512), "shortcut", "linear"))


class PreActUnit(nn.Module):
    """kuangliu's pre-activation unit: BN-ReLU first; a bare 1x1 conv shortcut (no BN) on the activated input."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False))


class KuangliuPreActResNet18(nn.Module):
    """Stem conv without BN, pre-activation units, no BN-ReLU after the last unit: no cnnzoo network."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        cin = 64
        for i, width in enumerate((64, 128, 256, 512)):
            self.add_module(f"layer{i + 1}", nn.Sequential(PreActUnit(cin, width, 1 if i == 0 else 2),
                                                           PreActUnit(width, width, 1)))  # fmt: skip
            cin = width
        self.linear = nn.Linear(512, 10)


# -------------------------------------------------------------------- chenyaofo's VGG-11 with BN for CIFAR
class ChenyaofoVGG11BN(nn.Module):
    """Configuration A: 3x3 conv (with bias)-BN-ReLU, 2x2 max pools; at 32x32 the map is 1x1, flattened into
    Linear(512, 512)-ReLU-Dropout-Linear(512, 512)-ReLU-Dropout-Linear(512, 10)."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                cin = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Linear(512, 512), nn.ReLU(True), nn.Dropout(), nn.Linear(512, 512),
                                        nn.ReLU(True), nn.Dropout(), nn.Linear(512, 10))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


# -------------------------------------------------------------------- files as each source writes them
def data_parallel_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The names nn.DataParallel gives: 'module.' before each."""
    return {f"module.{k}": v for k, v in state.items()}


def save_kuangliu(model: nn.Module, path: Path, acc: float = 93.02, epoch: int = 199) -> Path:
    """main.py's checkpoint/ckpt.pth, trained under DataParallel on a GPU."""
    torch.save({"net": data_parallel_names(model.state_dict()), "acc": acc, "epoch": epoch}, path)
    return path


def save_akamaster_layout(state: dict[str, torch.Tensor], path: Path, best_prec1: float = 91.78) -> Path:
    """trainer.py's model.th: DataParallel names, no num_batches_tracked (PyTorch 0.3), best_prec1."""
    names = {k: v for k, v in data_parallel_names(state).items() if not k.endswith("num_batches_tracked")}
    torch.save({"state_dict": names, "best_prec1": best_prec1}, path)
    return path
