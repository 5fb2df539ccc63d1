"""The checkpoints of the field that cnnzoo imports, as data: one `Source` per publisher.

Each row says where the files come from and under which licence, how a file is laid out (`layout`), how its
tensor names become cnnzoo's (`renames`, regular expressions applied in order), which cnnzoo model and options
each of its architectures is (`architectures`), the normalisation its models were trained with, and the
accuracy it claims. The importer (`importers.py`) reads the table; nothing about a source lives anywhere else.

An architecture is only listed where cnnzoo computes the same function from the same tensors: akamaster's
option-A shortcut pads its zero channels on both sides (`shortcut_pad="both"`), chenyaofo's and kuangliu's
ResNets project their shortcuts (option B), torchvision's GoogLeNet needs its layout and `transform_input`.
Networks of the same sources that cnnzoo does not build (kuangliu's pre-activation ResNet without a final
BN-ReLU, its VGG with one linear layer, ...) match no row and are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnnzoo.models.registry import CIFAR10_MEAN, IMAGENET_MEAN, IMAGENET_STD

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

# The per-channel std that kuangliu's and chenyaofo's training scripts normalise CIFAR-10 with (a widely
# copied value, not the images' own std, which is ~0.247, 0.243, 0.261).
CIFAR10_STD_COMMON = (0.2023, 0.1994, 0.2010)


@dataclass(frozen=True)
class Architecture:
    """One of a source's networks as a cnnzoo model: its name, the options that make it the source's, its claim."""

    model: str
    options: dict[str, Any] = field(default_factory=dict)
    claimed_top1: float | None = None  # percent, as the source states it for this architecture


@dataclass(frozen=True)
class Source:
    """A publisher of checkpoints and how to read theirs."""

    name: str
    url: str
    license: str
    layout: str  # how a file is read: see importers.READERS
    renames: tuple[tuple[str, str], ...]  # (regex, replacement) on each tensor name, in order
    architectures: dict[str, Architecture]  # the source's own names
    data: str  # "cifar10" or "imagenet": the classes, image size and evaluation data of its models
    mean: tuple[float, ...]
    std: tuple[float, ...]
    claimed_on: str  # where the claimed accuracies were measured
    notes: str = ""


def _cifar_resnets(options: dict[str, Any], claims: dict[int, float]) -> dict[str, Architecture]:
    return {f"resnet{d}": Architecture(f"resnet{d}", dict(options), top1) for d, top1 in claims.items()}


SOURCES: dict[str, Source] = {
    "akamaster": Source(
        name="akamaster",
        url="https://github.com/akamaster/pytorch_resnet_cifar10",
        license="BSD-2-Clause",
        layout="akamaster",
        renames=((r"^module\.", ""), (r"^linear\.", "fc.")),
        # README: test error 8.27, 7.37, 6.90, 6.61, 6.32 % (ResNet-1202 without a figure).
        architectures=_cifar_resnets(
            {"shortcut_pad": "both"}, {20: 91.73, 32: 92.63, 44: 93.10, 56: 93.39, 110: 93.68, 1202: None}
        ),
        data="cifar10",
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        claimed_on="the original CIFAR-10 test set (the repository's README)",
        notes="option-A shortcuts pad the new zero channels on both sides of the identity (shortcut_pad='both'); "
        "inputs are RGB in [0, 1] normalised with ImageNet's mean and std; files saved under nn.DataParallel "
        "('module.' names) by PyTorch 0.x, without BatchNorm's num_batches_tracked counters",
    ),
    "chenyaofo": Source(
        name="chenyaofo",
        url="https://github.com/chenyaofo/pytorch-cifar-models",
        license="BSD-3-Clause",
        layout="state_dict",
        renames=(),
        architectures={
            **_cifar_resnets({"shortcut": "B"}, {20: 92.60, 32: 93.53, 44: 94.01, 56: 94.37}),
            **{
                f"vgg{d}_bn": Architecture(f"vgg{d}_bn", {"small_input": True}, top1)
                for d, top1 in {11: 92.79, 13: 94.00, 16: 94.16, 19: 93.91}.items()
            },
        },
        data="cifar10",
        mean=CIFAR10_MEAN,
        std=CIFAR10_STD_COMMON,
        claimed_on="the original CIFAR-10 test set (the repository's README, Top-1 Acc.)",
        notes="CIFAR-10 files (cifar10_*.pt); ResNets with 1x1 projection shortcuts (option B); VGGs with BN and "
        "the 512-512 head; mean and std from its training config (conf/cifar10.conf)",
    ),
    "kuangliu": Source(
        name="kuangliu",
        url="https://github.com/kuangliu/pytorch-cifar",
        license="MIT",
        layout="kuangliu",
        renames=((r"^module\.", ""), (r"\.shortcut\.", ".downsample."), (r"^linear\.", "fc.")),
        architectures={
            f"ResNet{d}": Architecture(f"resnet{d}", {"small_input": True}, top1)
            for d, top1 in {18: 93.02, 34: None, 50: 93.62, 101: 93.75, 152: None}.items()
        },
        data="cifar10",
        mean=CIFAR10_MEAN,
        std=CIFAR10_STD_COMMON,
        claimed_on="the original CIFAR-10 test set (the README; the file's own 'acc' is its best test epoch)",
        notes="checkpoint/ckpt.pth of main.py: {'net', 'acc', 'epoch'}, saved under nn.DataParallel on a GPU; "
        "ResNets with a 3x3 stem and projection shortcuts named 'shortcut', classifier 'linear'; its "
        "pre-activation ResNet (no final BN-ReLU) and VGG (one linear layer) have no cnnzoo equivalent",
    ),
    "torchvision": Source(
        name="torchvision",
        url="https://github.com/pytorch/vision",
        license="BSD-3-Clause (code); the ImageNet weights come with ImageNet's terms of use",
        layout="torchvision",
        renames=(),
        architectures={
            **{n: Architecture(n) for n in ("alexnet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152")},
            **{f"vgg{d}{bn}": Architecture(f"vgg{d}{bn}") for d in (11, 13, 16, 19) for bn in ("", "_bn")},
            "googlenet": Architecture("googlenet", {"layout": "torchvision", "transform_input": True}),
        },
        data="imagenet",
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        claimed_on="the ImageNet-1K validation set (torchvision's weights metadata, acc@1)",
        notes="a state_dict as torchvision's weights enums download it (e.g. resnet18-f37072fd.pth), or the enum's "
        "name (ResNet18_Weights.IMAGENET1K_V1); the claim is attached when the file's sha256 matches its name",
    ),
    "timm": Source(
        name="timm",
        url="https://github.com/huggingface/pytorch-image-models",
        license="as its config.json or model card states (often Apache-2.0)",
        layout="safetensors",
        renames=(),
        architectures={n: Architecture(n) for n in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")},
        data="imagenet",
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        claimed_on="not stated in the file (see the model card on the Hugging Face Hub)",
        notes="model.safetensors with timm's config.json beside it (architecture, pretrained_cfg with mean and std, "
        "label_names); timm's plain ResNets share torchvision's tensor names; a folder or an hf-hub:ORG/REPO id "
        "holding both is read too",
    ),
}
