"""Regenerate the README's tables from the code and the committed results: `python tools/readme_tables.py` or `--check`.

Each generated block sits between `<!-- BEGIN name -->` and `<!-- END name -->` markers; the text between
them is replaced by what the code prints now, so nothing in those blocks is typed by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RESULTS = ROOT / "docs" / "results"

# The README's CIFAR-10 results: (row label, recipe, target test top-1). A row shows measured runs once their run
# directories' files are copied to docs/results/<recipe stem>/seed<k>/ by tools/record_result.py.
CIFAR10_TARGETS = (
    ("ResNet-20, 2-core CPU", "recipes/resnet20_cpu.yaml", 85.0),
    ("Network in Network, 2-core CPU", "recipes/nin_cpu.yaml", 80.0),
    ("ResNet-20", "recipes/resnet20_fast.yaml", 91.0),
    ("ResNet-18, small-input stem", "recipes/resnet18_cifar.yaml", 94.0),
)


def cli_output(*argv: str, fence: str | None = None) -> Callable[[], str]:
    """A block made of what `cnnzoo ARGV` prints, preceded by the command itself."""

    def make() -> str:
        from cnnzoo.cli import main

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            main(list(argv))
        body = out.getvalue().rstrip("\n")
        shown = f"```bash\ncnnzoo {' '.join(argv)}\n```\n\n"
        return shown + (f"```{fence}\n{body}\n```" if fence is not None else body)

    return make


def cifar10_results(results_dir: Path = RESULTS) -> str:
    """The measured CIFAR-10 rows (mean ± std over the recorded seeds), or 'not yet measured'."""
    from cnnzoo.inspect.render import render_table
    from cnnzoo.stats import format_mean_std, mean_std

    rows = []
    for label, recipe, target in CIFAR10_TARGETS:
        seeds = sorted((results_dir / Path(recipe).stem).glob("seed*/results.json"))
        if not seeds:
            rows.append((label, f"`{recipe}`", f"{target:.1f}%", "not yet measured", "", "", "", "", "", ""))
            continue
        results = [json.loads(path.read_text()) for path in seeds]
        env = json.loads((seeds[0].parent / "env.json").read_text())
        top1s = [r["test"]["top1"] for r in results]
        top1 = (format_mean_std(*mean_std(top1s)) if len(top1s) > 1 else f"{100 * top1s[0]:.2f}") + "%"  # no ± of one
        minutes = [r["wall_time_s"] / 60 for r in results]
        cpu_minutes = [r["cpu_time_s"] / 60 for r in results if r.get("cpu_time_s") is not None]  # older runs lack it
        hardware = env["device_name"] if env["device"].startswith("cuda") else f"{env['cpu']}, {env['cpu_count']} cores"
        rows.append(
            (
                label,
                f"`{recipe}`",
                f"{target:.1f}%",
                top1,
                len(results),
                results[0]["epochs"],
                minutes_range(minutes),
                minutes_range(cpu_minutes) if len(cpu_minutes) == len(results) else "",
                hardware,
                env.get("torch", ""),
            )
        )
    columns = (
        "model",
        "recipe",
        "target",
        "test top-1",
        "seeds",
        "epochs",
        "training time",
        "CPU time",
        "hardware",
        "torch",
    )
    return render_table(columns, rows, "markdown")


def minutes_range(minutes: list[float]) -> str:
    """One run's minutes, or the range over the seeds."""
    return f"{min(minutes):.1f}–{max(minutes):.1f} min" if len(minutes) > 1 else f"{minutes[0]:.1f} min"


def speed() -> str:
    """The Speed section: the committed `cnnzoo bench` results, GPU rows 'not measured' until they exist."""
    from cnnzoo.experiments.bench.report import speed_section

    return speed_section(ROOT / "benchmarks" / "results")


def included(path: str) -> Callable[[], str]:
    """A committed report, included as it is (its own heading dropped)."""
    return lambda: "\n".join(line for line in (ROOT / path).read_text().splitlines() if not line.startswith("# "))


SECTIONS: dict[str, Callable[[], str]] = {
    "models": cli_output("models", "--format", "markdown"),
    "summary": cli_output("summary", "resnet18", "--depth", "1", "--format", "markdown"),
    "arch-resnet": cli_output(
        "arch", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "--format", "markdown"
    ),
    "arch-cifar": cli_output("arch", "resnet56", "--format", "markdown"),
    "arch-googlenet": cli_output("arch", "googlenet", "--format", "markdown"),
    "cost-conv": cli_output(
        "cost", "conv", "--in", "14x14x480", "--kernel", "5", "--out", "48", "--format", "markdown"
    ),
    "cost-inception": cli_output(
        "cost",
        "inception",
        "--in",
        "28x28x256",
        "--branches",
        "1x1:128,3x3:192,5x5:96,pool",
        "--reduce",
        "3x3:96,5x5:16,pool:32",
        "--format",
        "markdown",
    ),
    "cifar10-results": cifar10_results,
    "data-benchmark": included("benchmarks/results/data_loading_cpu.md"),
    "speed": speed,
    "speed-cpu": included("benchmarks/results/throughput_cpu.md"),
    "engine-cpu": included("benchmarks/results/engine_vs_plain/throughput_cpu.md"),
}


# The README is the front door: its results and speed tables; the site's pages (tools/docs_pages.py) hold the rest.
README_SECTIONS = ("cifar10-results", "speed")


def regenerate(text: str) -> str:
    """The README text with every section present in it replaced by freshly generated content."""
    for name, make in SECTIONS.items():
        pattern = re.compile(rf"(<!-- BEGIN {re.escape(name)} -->\n)(.*?)(<!-- END {re.escape(name)} -->)", re.S)
        if pattern.search(text):
            text = pattern.sub(lambda m, make=make: m.group(1) + make().rstrip("\n") + "\n" + m.group(3), text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README's generated blocks are out of date")
    args = parser.parse_args()
    old = README.read_text()
    missing = [name for name in README_SECTIONS if f"<!-- BEGIN {name} -->" not in old]
    if missing:
        print(f"README.md lacks the generated sections: {', '.join(missing)}", file=sys.stderr)
        return 1
    new = regenerate(old)
    if args.check:
        if new != old:
            print("README.md is out of date: run `python tools/readme_tables.py`", file=sys.stderr)
            return 1
        print("README.md generated blocks are up to date")
        return 0
    README.write_text(new)
    print("README.md regenerated" if new != old else "README.md already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
