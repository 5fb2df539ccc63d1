"""`cnnzoo summary`, `cnnzoo arch`, `cnnzoo cost`, `cnnzoo compare`."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Placeholder until the inspection commands land."""
