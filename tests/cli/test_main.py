"""`cnnzoo.cli.main` and `build_parser`: what holds for every command."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from cnnzoo.cli import build_parser

REPO = Path(__file__).resolve().parents[2]


def test_a_reader_that_leaves_early_ends_the_command_quietly():
    """`cnnzoo summary resnet152 --format json | head -c 10`: no traceback, the status of a command SIGPIPE ended."""
    # 200 kB of JSON, over a pipe's 64 kB buffer: the command is still writing when the reader has gone.
    argv = [sys.executable, "-m", "cnnzoo", "summary", "resnet152", "--format", "json"]
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = proc.stdout.read(10)
        proc.stdout.close()
        err = proc.stderr.read().decode()
        status = proc.wait(timeout=300)
    finally:
        proc.kill()
    assert first == b'{\n  "model'
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err, err
    assert status == 141


def test_a_broken_pipe_elsewhere_is_still_an_error_to_see():
    """Only stdout's reader leaving is quiet: a pipe to a worker or socket that breaks shows its traceback."""
    code = ("import sys, cnnzoo.cli.models_cmd as m\n"
            "def broken(args): raise BrokenPipeError(32, 'a worker went away')\n"
            "m.run = broken\n"
            "from cnnzoo.cli import main; sys.exit(main(['models']))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "BrokenPipeError: [Errno 32] a worker went away" in proc.stderr


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the command tree with its command path: ("cost", "conv"), ..."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_dash_o_is_the_model_option_in_every_command():
    with_o = []
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if "-o" in action.option_strings:
                with_o.append(path)
                assert action.dest == "model_option", f"cnnzoo {' '.join(path)}: -o is --{action.dest}"
                assert "--model-option" in action.option_strings and action.metavar == "KEY=VALUE"
    assert {("train",), ("summary",), ("arch",), ("compare",)} <= set(with_o)
