"""Tiny generated image folders (PNG, lossless) for the data tests: a few dozen 8×8 images, built in tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CLASSES = ("cat", "dog", "eel")


def write_folder(
    root: Path, *, classes=CLASSES, per_class=(6, 2), size=(8, 8), mode="RGB", seed=0
) -> dict[str, list[np.ndarray]]:
    """root/{train,test}/<class>/NN.png of random pixels; returns each split's arrays in ImageFolder order."""
    rng = np.random.default_rng(seed)
    arrays: dict[str, list[np.ndarray]] = {}
    for split, count in zip(("train", "test"), per_class):
        arrays[split] = []
        for name in sorted(classes):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
                # Keep away from 0 so a zeroed (cut out) pixel is recognisable after normalisation.
                pixels = rng.integers(1, 256, size=shape, dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i:02d}.png")
                arrays[split].append(pixels)
    return arrays


@pytest.fixture
def tiny_folder(tmp_path: Path) -> tuple[Path, dict[str, list[np.ndarray]]]:
    """3 classes × (6 train, 2 test) RGB 8×8 PNGs."""
    root = tmp_path / "folder"
    return root, write_folder(root)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def make_folder():
    """`write_folder` for tests that need folders of their own (other classes, sizes, modes)."""
    return write_folder
