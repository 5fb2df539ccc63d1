"""The `cnnzoo` command: parses, validates, calls the API. Each command group lives in its own module."""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import TextIO

from cnnzoo import __version__
from cnnzoo.errors import CnnzooError


def build_parser() -> argparse.ArgumentParser:
    """The full parser; each command module adds its subcommands."""
    from cnnzoo.cli import inspect_cmd, models_cmd, train_cmd

    parser = argparse.ArgumentParser(
        prog="cnnzoo",
        description="The classic CNN image classifiers, built from their papers' tables, trained on small images.",
    )
    parser.add_argument("--version", action="version", version=version_line(), help="show the versions of cnnzoo, "
                        "torch, torchvision and Python, and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (models_cmd, inspect_cmd, train_cmd):
        module.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; bad input is one line on stderr and exit status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run_command(args)
    except CnnzooError as err:
        parser.exit(2, f"cnnzoo: error: {err}\n")
    except KeyboardInterrupt:
        parser.exit(130, "cnnzoo: interrupted\n")


def version_line() -> str:
    """What `cnnzoo --version` prints; versions come from the installed packages' metadata, so torch stays unimported."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(dist: str) -> str:
        try:
            return version(dist)
        except PackageNotFoundError:
            return "not installed"

    return (f"cnnzoo {__version__} (torch {installed('torch')}, torchvision {installed('torchvision')}, "
            f"Python {sys.version.split()[0]})")


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command; its warnings (cnnzoo's and libraries') show as one `cnnzoo: warning: ...` line each."""
    with warnings.catch_warnings():  # restores Python's own display afterwards, so the API keeps it
        warnings.showwarning = show_warning
        return int(args.run(args) or 0)


def show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: TextIO | None = None, line: str | None = None) -> None:
    """A `warnings.showwarning` for people: the message on one line, without the source file, line and code."""
    text = " ".join(str(message).split())
    print(f"cnnzoo: warning: {text}", file=file or sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
