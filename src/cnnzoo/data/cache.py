"""The on-disk tensor cache: a split decoded once into uint8 tensors, keyed by the content of its source.

Decoding 60,000 CIFAR-10 JPEGs takes ~13 s per core; reading back the 180 MB of uint8 tensors takes a fraction
of a second. The key is a fingerprint of the source files (relative name, size, mtime), so editing, adding or
removing an image rebuilds the cache; the file is written to a temporary name and renamed, so a run that is
killed mid-write, or two runs writing at once, never leave a half-written cache behind.

Layout: ``<cache>/datasets/<name>/`` holds torchvision downloads, ``<cache>/tensors/`` the decoded splits.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from cnnzoo.io import plain_file_mode

CACHE_ENV = "CNNZOO_CACHE"
FORMAT_VERSION = 1  # bump when the stored layout or the decoding changes


def default_cache_dir() -> Path:
    """$CNNZOO_CACHE, else ~/.cache/cnnzoo."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "cnnzoo"


def resolve_cache_dir(cache_dir: str | Path | None) -> Path:
    """The cache root to use: the one given, else the default."""
    return Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()


def fingerprint(paths: Iterable[str | Path], root: str | Path, *extra: object) -> str:
    """A hex digest over each file's path relative to `root`, size and mtime, plus any `extra` options.

    The order of `paths` counts (it is the order of the labels); callers pass a sorted or scanned order.
    """
    digest = hashlib.sha256(f"cnnzoo-cache-v{FORMAT_VERSION}".encode())
    for item in extra:
        digest.update(repr(item).encode() + b"\0")
    prefix = os.path.join(str(root), "")
    lines = []
    for path in map(str, paths):
        stat = os.stat(path)
        relative = path[len(prefix) :] if path.startswith(prefix) else os.path.relpath(path, root)
        lines.append(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n")
    digest.update("".join(lines).encode())
    return digest.hexdigest()


def files_under(root: Path) -> list[Path]:
    """Every regular file below `root` (recursively, sorted), for fingerprinting a source directory."""
    found: list[Path] = []
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir():
                    stack.append(Path(entry.path))
                elif entry.is_file():
                    found.append(Path(entry.path))
    return sorted(found)


def cache_file(cache_dir: Path, name: str, split: str, source: Path, key: str) -> Path:
    """`<cache>/tensors/<name>-<split>-<source hash>-<key>.pt`: one live file per (dataset, split, source)."""
    source_hash = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:8]
    return cache_dir / "tensors" / f"{name}-{split}-{source_hash}-{key[:16]}.pt"


def load_cached(path: Path) -> dict[str, Any] | None:
    """The stored arrays, or None when absent or unreadable (a broken cache is rebuilt, never trusted)."""
    if not path.is_file():
        return None
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any unreadable cache is simply rebuilt
        return None
    if not isinstance(stored, dict) or stored.get("version") != FORMAT_VERSION:
        return None
    return stored


def save_cached(path: Path, arrays: dict[str, Any]) -> bool:
    """Write atomically (temporary file + rename) and drop stale versions of the same split; False if it failed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                torch.save({**arrays, "version": FORMAT_VERSION}, handle)
            os.chmod(tmp, plain_file_mode())  # mkstemp makes it private; a cache is as shared as its folder
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as err:
        warnings.warn(f"could not write the tensor cache {path} ({err}); continuing without it", stacklevel=3)
        return False
    stem = path.name.rsplit("-", 1)[0]  # everything but the content key
    for stale in path.parent.glob(f"{stem}-*.pt"):
        if stale != path:
            stale.unlink(missing_ok=True)
    return True
