"""`cnnzoo train`, `cnnzoo evaluate`, `cnnzoo predict`."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Placeholder until the training commands land."""
