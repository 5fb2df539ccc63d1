"""The bench tests' fixture: the CLI run in this process."""

from __future__ import annotations

import pytest


@pytest.fixture
def run_cli(capsys):
    """Run `cnnzoo ARGS` in this process; returns (exit status, stdout)."""
    from cnnzoo.cli import main

    def run(*args: str) -> tuple[int, str]:
        status = main(list(args))
        return status, capsys.readouterr().out

    return run
