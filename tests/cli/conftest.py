"""The CLI tests' fixture: `cnnzoo ARGS` run in this process, with its exit status and output."""

from __future__ import annotations

import pytest

from cnnzoo.cli import main


@pytest.fixture
def cli(capsys):
    """cli(argv) -> (exit status, stdout, stderr); a one-line error's SystemExit becomes its status."""

    def run(argv: list[str]) -> tuple[int, str, str]:
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code
        out, err = capsys.readouterr()
        return code, out, err

    return run
