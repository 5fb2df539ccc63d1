"""The `cnnzoo` command: parses, validates, calls the API. Each command group lives in its own module."""

from __future__ import annotations

import argparse
import sys

from cnnzoo.errors import CnnzooError


def build_parser() -> argparse.ArgumentParser:
    """The full parser; each command module adds its subcommands."""
    from cnnzoo.cli import bench_cmd, inspect_cmd, models_cmd, train_cmd

    parser = argparse.ArgumentParser(
        prog="cnnzoo",
        description="The classic CNN image classifiers, built from their papers' tables, trained on small images.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (models_cmd, inspect_cmd, train_cmd, bench_cmd):
        module.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; bad input is one line on stderr and exit status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except CnnzooError as err:
        parser.exit(2, f"cnnzoo: error: {err}\n")
    except KeyboardInterrupt:
        parser.exit(130, "cnnzoo: interrupted\n")


if __name__ == "__main__":
    sys.exit(main())
