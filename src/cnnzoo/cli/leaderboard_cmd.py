"""`cnnzoo leaderboard`: every family with its recipe for N seeds; a report folder with a table and two plots."""

from __future__ import annotations

import argparse

from cnnzoo.cli.args import add_experiment_args, positive_int, rerun_to_resume


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add leaderboard."""
    p = sub.add_parser(
        "leaderboard",
        help="train one or two models of every family for N seeds; write report.md, results.json and plots",
        description="Trains each model with its recipe for N seeds and writes OUT/report.md (one row per model: "
        "test top-1 mean ± std, params, multiply-adds, training time, training and inference images/s, recipe, "
        "epochs), OUT/results.json and two plots (accuracy against multiply-adds and against training time). "
        "Resumable: finished runs under RUNS_ROOT are reused, interrupted ones resume from their checkpoints. "
        "Inference images/s: eval-mode forward passes of seed 0's model on its device at its evaluation batch size.",
    )
    p.add_argument("--models", nargs="+", metavar="NAME", help="models to train (default: one or two per family)")
    p.add_argument("--seeds", default="3", help="seeds 0..N-1 per model (default: 3)")
    p.add_argument(
        "--budget",
        default="full",
        help="quick (a subset, 1 epoch: a CPU check in minutes) or full (the "
        "recipes, sized for a GPU: a warning on a CPU; default)",
    )
    p.add_argument("--data", default="cifar10", help="dataset (default: cifar10)")
    add_experiment_args(p, device_default=None, out_default="runs/leaderboard-BUDGET")
    p.set_defaults(run=run_leaderboard)


def run_leaderboard(args: argparse.Namespace) -> int:
    from cnnzoo.errors import check_choice
    from cnnzoo.experiments import leaderboard

    check_choice("budget", args.budget, tuple(leaderboard.BUDGETS))
    seeds = positive_int("seeds", args.seeds)
    extra = {k: getattr(args, k) for k in ("data_dir", "cache_dir", "device") if getattr(args, k) is not None}
    out = args.out or f"runs/leaderboard-{args.budget}"
    with rerun_to_resume():
        leaderboard.run_leaderboard(
            args.models, seeds=seeds, budget=args.budget, data=args.data, out=out, runs_root=args.runs_root,
            extra=extra, quiet=True, announce=None if args.quiet else print,
        )  # fmt: skip
    print(f"report: {out}/report.md")
    return 0
