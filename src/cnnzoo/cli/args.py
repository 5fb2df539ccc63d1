"""Argument helpers shared by several commands: whole-number checks and the experiments' common options."""

from __future__ import annotations

import argparse

from cnnzoo.errors import CnnzooError


def positive_int(name: str, value: str) -> int:
    """`value` as a whole number of at least 1, or a one-line error naming `--name`."""
    try:
        number = int(value)
    except ValueError:
        raise CnnzooError(f"--{name} must be a positive integer, got {value!r}") from None
    if number < 1:
        raise CnnzooError(f"--{name} must be a positive integer, got {value!r}")
    return number


def add_experiment_args(p: argparse.ArgumentParser, device_default: str | None, out_default: str) -> None:
    """Where an experiment's runs read their data, run, live and report: shared by leaderboard and reproduce."""
    p.add_argument("--data-dir", help="dataset copy, e.g. ../shared/datasets/cifar10-jpeg")
    p.add_argument("--cache-dir", help="decoded-image cache directory")
    p.add_argument("--device", default=device_default, help="auto, cpu, cuda, cuda:N, mps (default: "
                   + (device_default or "each recipe's, auto") + ")")
    p.add_argument("--out", default=None, help=f"report folder (default: {out_default})")
    p.add_argument("--runs-root", default="runs/experiments", help="where the runs live, shared with other "
                   "experiments (default: runs/experiments)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output; print only the report's path")
