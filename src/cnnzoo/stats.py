"""Mean ± standard deviation over seeds: how every measured result is stated (runs, model cards, the README)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def mean_std(numbers: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1); the deviation of a single number is 0, not undefined."""
    if not numbers:
        raise ValueError("mean_std of no numbers")
    mean = statistics.fmean(numbers)
    return mean, (statistics.stdev(numbers) if len(numbers) > 1 else 0.0)


def format_mean_std(mean: float, std: float, scale: float = 100.0, digits: int = 2) -> str:
    """'91.25 ± 0.18': a fraction shown as a percentage by default."""
    if math.isnan(mean):
        return "n/a"
    return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}"
