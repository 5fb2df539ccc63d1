"""`cnnzoo models`: every registered model with its parameters and multiply-adds."""

from __future__ import annotations

import argparse

from cnnzoo.inspect.render import FORMATS, render_table

COLUMNS = ("model", "family", "input", "classes", "params", "GMACs", "paper")


def model_rows(pattern: str | None = None) -> list[tuple]:
    """One row per model at its default config; the README's model table is these rows."""
    import torch

    from cnnzoo.inspect.counts import count_macs, count_params
    from cnnzoo.models import create_model, get_model_config, list_models

    rows = []
    for name in list_models(pattern):
        cfg = get_model_config(name)
        with torch.device("meta"):  # no memory, no initialisation arithmetic
            model = create_model(name)
        macs = count_macs(model, cfg.input_size)
        size = "x".join(map(str, cfg.input_size))
        rows.append((name, cfg.family, size, cfg.num_classes, count_params(model), f"{macs / 1e9:.3f}", cfg.paper))
    return rows


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the registered models with parameters and multiply-adds",
        description="List the registered models at their default config (input size, classes) with parameter "
        "counts and multiply-adds of one forward pass (PyTorch's FLOP counter / 2).",
    )
    p.add_argument("pattern", nargs="?", help="shell-style filter on names, e.g. 'resnet*'")
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    rows = model_rows(args.pattern)
    print(render_table(COLUMNS, rows, args.format))
    return 0
