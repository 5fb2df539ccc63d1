"""`cnnzoo.cli.main` and `build_parser`: what holds for every command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
