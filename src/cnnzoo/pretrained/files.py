"""What an importer found in a file (`SourceFile`), and which file exactly it was (its sha256)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch


@dataclass
class SourceFile:
    """What a reader found: the tensors under the source's names and what else the file says about them."""

    path: Path
    weights: dict[str, torch.Tensor]
    facts: dict[str, Any] = field(default_factory=dict)  # recorded as they are: best_prec1, acc, epoch, weights
    architecture: str | None = None  # where the file names its network (timm's config, a torchvision enum)
    classes: list[str] | None = None  # where the file names its classes
    mean: tuple[float, ...] | None = None  # where the file states its normalisation
    std: tuple[float, ...] | None = None
    image_size: int | None = None
    claimed_top1: float | None = None
    license: str | None = None


def file_sha256(path: Path) -> str:
    """The file's sha256, in hex: which file exactly was imported."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
