"""`cnnzoo recipes`: the training recipes shipped in the package, each with its one-line purpose and file."""

from __future__ import annotations

import argparse

from cnnzoo.inspect.render import FORMATS, render_table

COLUMNS = ("name", "model", "data", "purpose", "file")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add recipes."""
    p = sub.add_parser(
        "recipes",
        help="list the packaged training recipes: name, model, dataset, purpose, file",
        description="The YAML training recipes shipped inside cnnzoo. `cnnzoo train --config NAME` runs one by "
        "name (flags override it); copy its file to change it and pass the copy's path to --config.",
    )
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cnnzoo.training.recipes import list_recipes

    listed = list_recipes()
    print(render_table(COLUMNS, [tuple(r[c] for c in COLUMNS) for r in listed], args.format))
    return 0
