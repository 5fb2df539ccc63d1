"""Settings as dataclass fields that carry their `--help` group and text, and the one-line range checks they share.

The training config and the data spec both declare their fields with `setting(...)`, so `cnnzoo train --help`,
the YAML recipes and the checks all read one declaration per value.
"""

from __future__ import annotations

import math
from dataclasses import field
from typing import Any

from cnnzoo.errors import CnnzooError

# Upper limits of counts: beyond them a value is a typo (1e30 epochs would train forever), not an experiment.
MAX_EPOCHS = 100_000
MAX_STEPS = 10**9
MAX_BATCH_SIZE = 65_536
MAX_PIXELS = 4096  # image_size, crop_padding, cutout
MAX_SEED = 2**63 - 1  # torch.manual_seed takes 64 bits


def setting(default: Any, group: str, help: str, **extra: Any) -> Any:
    """A field with its --help group and text; mutable defaults become factories."""
    meta = {"group": group, "help": help, **extra}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def check_int(name: str, value: int | None, low: int, high: int) -> None:
    """An integer in [low, high]; None (an optional setting left unset) passes."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise CnnzooError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise CnnzooError(f"{name} must be at least {low}, got {value}")
    if value > high:
        raise CnnzooError(f"{name} must be at most {high:,}, got {value:,}")


def check_range(
    name: str, value: float, low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> None:
    """A finite number in the interval; nan and inf are never a setting."""
    ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not math.isfinite(value):
        raise CnnzooError(f"{name} must be a finite number, got {value}")
    if not ok:
        lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
        raise CnnzooError(f"{name} must be in {lo}{low}, {high}{hi}, got {value}")
