"""`cnnzoo reproduce NAME`: one paper experiment, measured beside the paper's numbers, as a report folder."""

from __future__ import annotations

import argparse

from cnnzoo.cli.args import add_experiment_args, positive_int, rerun_to_resume


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add reproduce."""
    from cnnzoo.experiments.reproduce import REPRODUCTIONS

    p = sub.add_parser(
        "reproduce",
        help="reproduce a paper's experiment; write report.md (paper beside measured), results.json and figures",
        description="Trains (or reuses) the networks of one of the papers' experiments for N seeds and writes "
        "OUT/report.md (the paper's numbers beside the measured ones, a verdict per claim, the recipe, budget, "
        "data, hardware, versions, seeds, wall-clock), OUT/results.json and PNG figures. Resumable: finished runs "
        "under RUNS_ROOT are reused (also by other reproductions and the leaderboard), interrupted ones resume.",
    )
    p.add_argument("name", metavar="NAME", help="the experiment: " + ", ".join(REPRODUCTIONS))
    p.add_argument(
        "--budget",
        default="paper",
        help="quick (a subset, 1 epoch: a CPU check in minutes), short (the "
        "paper's schedule compressed to a quarter, milestones scaled) or paper (the paper's schedule; "
        "default); short and paper are sized for a GPU: a warning on a CPU",
    )
    p.add_argument("--seeds", default="1", help="seeds 0..N-1 per network (default: 1; 3 or more for verdicts)")
    p.add_argument(
        "--depths",
        nargs="+",
        metavar="N",
        help="degradation, cifar-resnets: the depths to train (default: 20 56, and 20 32 44 56 110)",
    )
    p.add_argument("--depth", help="residual-units: the ResNet's depth (default: 110, the paper's)")
    p.add_argument("--aux-weight", help="aux-classifiers: weight of the auxiliary losses (default: 0.3, the paper's)")
    p.add_argument(
        "--normalize",
        help="input normalisation of every run: pixel (the per-pixel mean subtracted, "
        "as the ResNet paper; the recipe's) or channel (per-channel mean and std)",
    )
    p.add_argument("--report-only", action="store_true", help="rebuild the report from finished runs; train nothing")
    add_experiment_args(p, device_default="auto", out_default="runs/reproduce/NAME-BUDGET")
    p.set_defaults(run=run_reproduce)


def run_reproduce(args: argparse.Namespace) -> int:
    from cnnzoo.data.spec import NORMALIZATIONS
    from cnnzoo.errors import CnnzooError, check_choice
    from cnnzoo.experiments.reproduce import reproduce

    options = {
        "depths": [positive_int("depths", d) for d in args.depths] if args.depths else None,
        "depth": positive_int("depth", args.depth) if args.depth is not None else None,
        "aux_weight": None,
    }
    if args.aux_weight is not None:
        try:
            options["aux_weight"] = float(args.aux_weight)
        except ValueError:
            raise CnnzooError(f"--aux-weight must be a number such as 0.3, got {args.aux_weight!r}") from None
    config = {}
    if args.normalize is not None:
        check_choice("normalize", args.normalize, NORMALIZATIONS)
        config["normalize"] = args.normalize
    with rerun_to_resume():
        path = reproduce(
            args.name, budget=args.budget, seeds=positive_int("seeds", args.seeds), out=args.out,
            runs_root=args.runs_root, device=args.device, data_dir=args.data_dir, cache_dir=args.cache_dir,
            report_only=args.report_only, options=options, config=config, announce=None if args.quiet else print,
        )  # fmt: skip
    print(f"report: {path}")
    return 0
