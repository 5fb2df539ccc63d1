"""torchvision's weights enums, read for what they say about a file: which network, its classes and its accuracy.

A weights file is recognised by its name (`resnet18-f37072fd.pth`, the last part of an enum's URL); its claim
(acc@1 on ImageNet-1K) is attached only when the file's sha256 starts with the 8 hex digits in that name, as
torchvision's own download checks. An enum's name (`ResNet18_Weights.IMAGENET1K_V1`) is read from torch's
hub cache, where torchvision keeps downloaded weights, or downloaded there.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnzoo.errors import CnnzooError


@dataclass
class FoundWeights:
    """A torchvision weights enum member matched to a file, or none (then only the categories are known)."""

    categories: list[str]
    weights: Any = None
    architecture: str | None = None
    top1: float | None = None
    crop_size: int | None = None
    facts: dict[str, Any] = field(default_factory=dict)


def imagenet_categories() -> list[str]:
    """The 1,000 ImageNet-1K class names in the standard (synset-sorted) order that torchvision and timm use."""
    from torchvision.models import get_weight

    return list(get_weight("ResNet18_Weights.IMAGENET1K_V1").meta["categories"])


def _enum_members(architectures: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """File name → (architecture, weights enum member), over every listed architecture's ImageNet weights."""
    from torchvision.models import get_model_weights

    members = {}
    for name in architectures:
        for weights in get_model_weights(name):
            members[weights.url.rsplit("/", 1)[-1]] = (name, weights)
    return members


def find_weights(path_or_enum: str | Path, architectures: dict[str, Any]) -> tuple[Path, FoundWeights]:
    """The file to read and what torchvision's enums say about it (see the module's docstring)."""
    from cnnzoo.pretrained.files import file_sha256

    text = str(path_or_enum)
    members = _enum_members(architectures)
    if "_Weights." in text and not Path(text).exists():
        path = _cached_or_downloaded(text, members)
    else:
        path = Path(text)
    found = FoundWeights(categories=imagenet_categories())
    if path.name not in members or not path.is_file():
        return path, found
    architecture, weights = members[path.name]
    expected = path.name.rsplit("-", 1)[-1].split(".")[0]
    actual = file_sha256(path)
    if not actual.startswith(expected):
        warnings.warn(
            f"{path} is named like torchvision's {weights} but its sha256 starts with {actual[:8]}, not {expected}: "
            "imported without that enum's claimed accuracy",
            stacklevel=3,
        )
        return path, found
    metrics = weights.meta.get("_metrics", {}).get("ImageNet-1K", {})
    found.weights = weights
    found.architecture = architecture
    found.categories = list(weights.meta["categories"])
    found.top1 = metrics.get("acc@1")
    found.crop_size = int(weights.transforms().crop_size[0])
    found.facts = {"weights": str(weights), "recipe": weights.meta.get("recipe"), "acc@5": metrics.get("acc@5")}
    return path, found


def _cached_or_downloaded(name: str, members: dict[str, tuple[str, Any]]) -> Path:
    """An enum's file in torch's hub cache (TORCH_HOME/hub/checkpoints), downloaded there if it is not yet."""
    import torch
    from torchvision.models import get_weight

    try:
        weights = get_weight(name)
    except (ValueError, KeyError, AttributeError):
        raise CnnzooError(f"{name!r} is no torchvision weights enum; give e.g. ResNet18_Weights.IMAGENET1K_V1 or a "
                          ".pth file") from None  # fmt: skip
    file_name = weights.url.rsplit("/", 1)[-1]
    if file_name not in members:
        raise CnnzooError(
            f"{name} is for a network cnnzoo does not import; it imports {', '.join(sorted(set(a for a, _ in members.values())))}"
        )
    path = Path(torch.hub.get_dir()) / "checkpoints" / file_name
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            torch.hub.download_url_to_file(
                weights.url, str(path), hash_prefix=file_name.rsplit("-", 1)[-1].split(".")[0]
            )
        except Exception as err:
            raise CnnzooError(
                f"cannot download {weights.url} ({type(err).__name__}); download it yourself and import the file"
            ) from None
    return path
