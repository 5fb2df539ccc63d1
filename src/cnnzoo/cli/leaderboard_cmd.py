"""`cnnzoo leaderboard`: every family with its recipe for N seeds; a report folder with a table and two plots."""

from __future__ import annotations

import argparse


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
    p.add_argument("--budget", default="full", help="quick (a subset, 1 epoch: a CPU check) or full (the recipes; "
                   "default)")
    p.add_argument("--data", default="cifar10", help="dataset (default: cifar10)")
    add_experiment_args(p, device_default=None, out_default="runs/leaderboard-BUDGET")
    p.set_defaults(run=run_leaderboard)


def add_experiment_args(p: argparse.ArgumentParser, device_default: str | None, out_default: str) -> None:
    """Where an experiment's runs read their data, run, live and report: shared by leaderboard and reproduce."""
    p.add_argument("--data-dir", help="dataset copy, e.g. ../shared/datasets/cifar10-jpeg")
    p.add_argument("--cache-dir", help="decoded-image cache directory")
    p.add_argument("--device", default=device_default, help="auto, cpu, cuda, cuda:N (default: "
                   + (device_default or "each recipe's, auto") + ")")
    p.add_argument("--out", default=None, help=f"report folder (default: {out_default})")
    p.add_argument("--runs-root", default="runs/experiments", help="where the runs live, shared with other "
                   "experiments (default: runs/experiments)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output; print only the report's path")


def run_leaderboard(args: argparse.Namespace) -> int:
    from cnnzoo.cli.train_cmd import _positive_int
    from cnnzoo.errors import check_choice
    from cnnzoo.experiments import leaderboard

    check_choice("budget", args.budget, tuple(leaderboard.BUDGETS))
    seeds = _positive_int("seeds", args.seeds)
    extra = {k: getattr(args, k) for k in ("data_dir", "cache_dir", "device") if getattr(args, k) is not None}
    out = args.out or f"runs/leaderboard-{args.budget}"
    leaderboard.run_leaderboard(
        args.models, seeds=seeds, budget=args.budget, data=args.data, out=out, runs_root=args.runs_root,
        extra=extra, quiet=True, announce=None if args.quiet else print,
    )  # fmt: skip
    print(f"report: {out}/report.md")
    return 0
