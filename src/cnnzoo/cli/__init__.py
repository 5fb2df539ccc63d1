"""The `cnnzoo` command: parses, validates, calls the API. Each command group lives in its own module."""

from __future__ import annotations

import argparse
import os
import select
import signal
import sys
import warnings
from pathlib import Path
from typing import TextIO

from cnnzoo import __version__
from cnnzoo.errors import CnnzooError, Interrupted

# 128 + SIGPIPE (13): the status the shell reports for `git log | head`'s git, so scripts can tell a cut-off
# output from a finished one (0) and from an error (1, 2); the 128 + signal convention of Ctrl-C (130) and SIGTERM.
PIPE_CLOSED_STATUS = 141


def build_parser() -> argparse.ArgumentParser:
    """The full parser; each command module adds its subcommands."""
    from cnnzoo.cli import (
        bench_cmd,
        draw_cmd,
        explain_cmd,
        export_cmd,
        inspect_cmd,
        leaderboard_cmd,
        models_cmd,
        predict_cmd,
        pretrained_cmd,
        recipes_cmd,
        report_cmd,
        reproduce_cmd,
        train_cmd,
    )

    parser = argparse.ArgumentParser(
        prog="cnnzoo",
        description="The classic CNN image classifiers, built from their papers' tables, trained on small images.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=version_line(),
        help="show the versions of cnnzoo, torch, torchvision and Python, and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (
        models_cmd,
        recipes_cmd,
        inspect_cmd,
        draw_cmd,
        train_cmd,
        predict_cmd,
        explain_cmd,
        export_cmd,
        pretrained_cmd,
        bench_cmd,
        leaderboard_cmd,
        reproduce_cmd,
        report_cmd,
    ):
        module.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; bad input is one line on stderr and exit status 2.

    Ctrl-C and SIGTERM end a command the same way: one line (naming the run to resume, when training) and
    exit status 128 + the signal number (130, 143). A reader of stdout that leaves early (`cnnzoo ... | head`)
    ends it quietly with 141, as `git log | head` ends.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # `train --nproc N` runs it again in N processes
    previous = _on_sigterm(_raise_interrupted)
    try:
        status = run_command(args)
        sys.stdout.flush()  # a closed pipe shows here, where it can end quietly, not in Python's flush at exit
        return status
    except BrokenPipeError:
        if not _stdout_closed():  # another pipe broke (a worker, a socket): that is an error to show
            raise
        return _reader_gone()
    except CnnzooError as err:
        parser.exit(2, f"cnnzoo: error: {err}\n")
    except KeyboardInterrupt as err:
        signal_number = getattr(err, "signal_number", signal.SIGINT)
        run_dir = getattr(err, "run_dir", None)
        hint = ""
        if getattr(err, "hint", None):
            hint = f"; {err.hint}"
        elif run_dir and Path(run_dir, "checkpoints", "last.pt").is_file():
            hint = f"; resume with: cnnzoo train --resume {run_dir}" + nproc_flag()
        elif run_dir:
            hint = f" before the first checkpoint of {run_dir}; start it again"
        parser.exit(128 + signal_number, f"cnnzoo: interrupted{hint}\n")
    finally:
        _on_sigterm(previous)


def nproc_flag() -> str:
    """` --nproc N` where this process is one of N training together, for a resume command; else ""."""
    from cnnzoo.training.distributed import world

    return f" --nproc {world()}" if world() > 1 else ""


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone; where poll() can't tell (Windows), assume it is."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # a StringIO or no stdout at all: not a pipe
        return False
    if not hasattr(select, "poll"):
        return True
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def _reader_gone() -> int:
    """stdout's reader has closed the pipe: print nothing more, no traceback, and exit like a SIGPIPE'd command."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # Python's flush at exit would meet the closed pipe again and complain
    return PIPE_CLOSED_STATUS


def _raise_interrupted(signal_number: int, frame: object) -> None:
    """SIGTERM (a job scheduler, `kill`) takes Ctrl-C's way out: checkpoints stay whole, the run is named."""
    raise Interrupted(signal_number)


def _on_sigterm(handler):
    """Install a SIGTERM handler and return the previous one (only the main thread may; elsewhere, nothing)."""
    try:
        return signal.signal(signal.SIGTERM, handler if handler is not None else signal.SIG_DFL)
    except ValueError:
        return handler


def version_line() -> str:
    """What `cnnzoo --version` prints; versions come from the installed packages' metadata, so torch stays unimported."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(dist: str) -> str:
        try:
            return version(dist)
        except PackageNotFoundError:
            return "not installed"

    return (
        f"cnnzoo {__version__} (torch {installed('torch')}, torchvision {installed('torchvision')}, "
        f"Python {sys.version.split()[0]})"
    )


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command; its warnings (cnnzoo's and libraries') show as one `cnnzoo: warning: ...` line each."""
    with warnings.catch_warnings():  # restores Python's own display afterwards, so the API keeps it
        warnings.showwarning = show_warning
        return int(args.run(args) or 0)


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """A `warnings.showwarning` for people: the message on one line, without the source file, line and code."""
    text = " ".join(str(message).split())
    print(f"cnnzoo: warning: {text}", file=file or sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
