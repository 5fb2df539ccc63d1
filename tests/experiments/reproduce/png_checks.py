"""Checks shared by the reproduction tests: a figure is a real PNG of a sensible size, not an empty file."""

from __future__ import annotations

import struct
from pathlib import Path


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR", f"{path} has no IHDR chunk first"
    return struct.unpack(">II", data[16:24])


def assert_png(path: Path, min_width: int = 300, min_height: int = 200, min_bytes: int = 5_000) -> None:
    """`path` is a PNG of at least the given size in pixels and bytes (a drawn figure, not an empty canvas)."""
    width, height = png_size(path)
    assert width >= min_width and height >= min_height, (path, width, height)
    assert path.stat().st_size > min_bytes, (path, path.stat().st_size)
