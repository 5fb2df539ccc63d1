"""`cnnzoo models`: every registered model with its parameters and multiply-adds; one model's options by name."""

from __future__ import annotations

import argparse
import fnmatch
import json
from typing import Any

from cnnzoo.inspect.render import FORMATS, records, render_table

COLUMNS = ("model", "family", "input", "classes", "params", ("gmacs", "GMACs"), "paper")
GMACS = COLUMNS.index(("gmacs", "GMACs"))
OPTION_COLUMNS = ("option", "accepts", "default", "description")


def model_rows(names: list[str]) -> list[tuple]:
    """One row per model at its default config, GMACs a number (to 3 decimals); the README's model table is these rows."""
    from cnnzoo.inspect.counts import default_counts
    from cnnzoo.models import get_model_config

    rows, counts = [], default_counts(names)
    for name in names:
        cfg = get_model_config(name)
        params, macs = counts[name]
        size = "x".join(map(str, cfg.input_size))
        rows.append((name, cfg.family, size, cfg.num_classes, params, round(macs / 1e9, 3), cfg.paper))
    return rows


def matching_models(pattern: str | None) -> list[str]:
    """The models a name or shell-style pattern names, matched case-insensitively where as given none match
    ('RESNET20' is resnet20); none at all is a one-line error suggesting the closest names."""
    from cnnzoo.errors import unknown_choice
    from cnnzoo.models import list_models

    if pattern is None:
        return list_models()
    names = list_models(pattern) or [n for n in list_models() if fnmatch.fnmatchcase(n.lower(), pattern.lower())]
    if not names:
        raise unknown_choice("model name or pattern", pattern.lower(), list_models())
    return names


def _shown_rows(rows: list[tuple], fmt: str) -> list[tuple]:
    """Tables print GMACs with three decimals (0.041, 1.583), the README's model table as it always read."""
    if fmt in ("json", "csv"):
        return rows
    return [(*row[:GMACS], f"{row[GMACS]:.3f}", *row[GMACS + 1 :]) for row in rows]


def _shown(value: Any) -> str:
    """A default as one would type it after -o: true/false, auto for None (decided by the other options)."""
    if value is None:
        return "auto"
    return str(value).lower() if isinstance(value, bool) else str(value)


def option_rows(name: str) -> list[tuple]:
    """One row per option of a model: name, allowed values, this model's default and what it does."""
    from cnnzoo.models import option_specs

    return [(key, spec.accepts(), _shown(default), spec.description) for key, spec, default in option_specs(name)]


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the registered models with parameters and multiply-adds; a model's options",
        description="List the registered models at their default config (input size, classes) with parameter "
        "counts and multiply-adds of one forward pass (PyTorch's FLOP counter / 2). Given one model's exact "
        "name, also list its options (-o KEY=VALUE): accepted values, default and description.",
    )
    p.add_argument(
        "pattern",
        nargs="?",
        help="a model name (shows its options) or a shell-style filter, e.g. "
        "'resnet*'; matched case-insensitively where as given nothing matches",
    )
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cnnzoo.models import option_specs

    names = matching_models(args.pattern)
    rows = model_rows(names)
    wildcard = args.pattern is not None and any(c in args.pattern for c in "*?[")
    if args.pattern is None or wildcard or len(names) != 1:  # a pattern, or no argument: the table of models
        print(render_table(COLUMNS, _shown_rows(rows, args.format), args.format))
        return 0
    (name,) = names
    options = option_rows(name)
    if args.format == "json":
        specs = option_specs(name)
        listed = [
            {"option": key, "accepts": spec.accepts(), "default": default, "description": spec.description}
            for key, spec, default in specs
        ]
        print(json.dumps({**records(COLUMNS, rows)[0], "options": listed}, indent=2))
        return 0
    title = f"options of {name} (-o KEY=VALUE)"
    print(render_table(COLUMNS, _shown_rows(rows, args.format), args.format))
    print()
    print(render_table(OPTION_COLUMNS, options, args.format, title=title))
    return 0
