"""Argument helpers shared by several commands: number checks, shapes that start with '-', the experiments'
common options and what an interrupted experiment says."""

from __future__ import annotations

import argparse
import contextlib
import math
import re
import signal
from collections.abc import Iterator

from cnnzoo.errors import CnnzooError, Interrupted

# argparse reads a word that starts with '-' as an option unless it looks like a negative number, so `--input
# -3x32x32` would fail with "expected one argument". Parsers that take shapes read such words as values too,
# and the shape's own check says what is wrong with them.
NEGATIVE_NUMBER_OR_SHAPE = re.compile(r"^-\d+$|^-\d*\.\d+$|^-\d+([x×]-?\d+)+$")


def positive_int(name: str, value: str) -> int:
    """`value` as a whole number of at least 1, or a one-line error naming `--name`."""
    try:
        number = int(value)
    except ValueError:
        raise CnnzooError(f"--{name} must be a positive integer, got {value!r}") from None
    if number < 1:
        raise CnnzooError(f"--{name} must be a positive integer, got {value!r}")
    return number


def positive_number(name: str, value: str) -> float:
    """`value` as a finite number above 0, or a one-line error naming `--name` (checked before any import)."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise CnnzooError(f"--{name} must be a positive number, got {value!r}")
    return number


def take_shapes(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Let `parser` read '-3x32x32' as a value, as it reads '-3' (see NEGATIVE_NUMBER_OR_SHAPE)."""
    parser._negative_number_matcher = NEGATIVE_NUMBER_OR_SHAPE  # argparse's own rule for negative numbers
    return parser


def add_experiment_args(p: argparse.ArgumentParser, device_default: str | None, out_default: str) -> None:
    """Where an experiment's runs read their data, run, live and report: shared by leaderboard and reproduce."""
    p.add_argument("--data-dir", help="dataset copy, e.g. ../shared/datasets/cifar10-jpeg")
    p.add_argument("--cache-dir", help="decoded-image cache directory")
    p.add_argument(
        "--device",
        default=device_default,
        help="auto, cpu, cuda, cuda:N, mps (default: " + (device_default or "each recipe's, auto") + ")",
    )
    p.add_argument("--out", default=None, help=f"report folder (default: {out_default})")
    p.add_argument(
        "--runs-root",
        default="runs/experiments",
        help="where the runs live, shared with other experiments (default: runs/experiments)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output; print only the report's path")


@contextlib.contextmanager
def rerun_to_resume() -> Iterator[None]:
    """An experiment (leaderboard, reproduce) stopped by Ctrl-C or SIGTERM says that the same command resumes it
    all, not `train --resume` of the one run it was training (cnnzoo.errors.Interrupted's hint)."""
    try:
        yield
    except KeyboardInterrupt as err:
        hint = "rerun the same command to resume: finished runs are reused, the interrupted one resumed"
        raise Interrupted(getattr(err, "signal_number", signal.SIGINT), getattr(err, "run_dir", None), hint) from None
