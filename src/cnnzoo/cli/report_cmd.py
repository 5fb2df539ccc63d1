"""`cnnzoo report`: a finished run as one self-contained report.html, to open in a browser."""

from __future__ import annotations

import argparse

from cnnzoo.cli.args import positive_int


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add report."""
    p = sub.add_parser(
        "report",
        help="write a run's report.html: curves, confusion matrix, per-class accuracy, worst test images, config",
        description="Write one HTML file that needs nothing else to open (figures inside it): the training "
        "curves, the test confusion matrix and per-class accuracy, the misclassified test images the model was "
        "surest of with the Grad-CAM of its guess and of the true class, and the run's config, environment and "
        "results. The leaderboard and `cnnzoo reproduce` write report.html beside their report.md themselves.",
    )
    p.add_argument("run_dir", metavar="RUN", help="a finished run directory (with results.json)")
    p.add_argument("--output", metavar="FILE", help="where to write (default: RUN/report.html)")
    p.add_argument("--worst", default="8", help="how many misclassified test images to show (default: 8)")
    p.add_argument(
        "--device",
        default="cpu",
        help="cpu, cuda, cuda:N, mps: where the test images are classified again (default: cpu)",
    )
    p.set_defaults(run=run_report)


def run_report(args: argparse.Namespace) -> int:
    from cnnzoo.visual.report_html import run_report as write

    path = write(args.run_dir, args.output, worst=positive_int("worst", args.worst), device=args.device)
    print(f"wrote {path}")
    return 0
