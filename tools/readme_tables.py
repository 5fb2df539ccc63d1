"""Regenerate the README's tables and examples from the code: `python tools/readme_tables.py` or `--check`.

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

# The README's CIFAR-10 results: (row label, recipe, target test top-1). A row shows a measured run once its
# run directory's results.json and env.json are copied to docs/results/<recipe stem>/.
CIFAR10_TARGETS = (
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
    """The measured CIFAR-10 rows, or 'not yet measured' where no run has been recorded."""
    from cnnzoo.inspect.render import render_table

    rows = []
    for label, recipe, target in CIFAR10_TARGETS:
        record = results_dir / Path(recipe).stem
        if (record / "results.json").is_file():
            res = json.loads((record / "results.json").read_text())
            env = json.loads((record / "env.json").read_text())
            rows.append((label, f"`{recipe}`", f"{target:.1f}%", f"{100 * res['test']['top1']:.2f}%", res["epochs"],
                         f"{res['wall_time_s'] / 60:.1f} min", res["device_name"], env.get("torch", "")))
        else:
            rows.append((label, f"`{recipe}`", f"{target:.1f}%", "not yet measured", "", "", "", ""))
    columns = ("model", "recipe", "target", "test top-1", "epochs", "wall-clock", "hardware", "torch")
    return render_table(columns, rows, "markdown")


def speed() -> str:
    """The Speed section: the committed `cnnzoo bench` results, GPU rows 'not measured' until they exist."""
    from cnnzoo.bench.report import speed_section

    return speed_section(ROOT / "benchmarks" / "results")


def included(path: str) -> Callable[[], str]:
    """A committed report, included as it is (its own heading dropped)."""
    return lambda: "\n".join(line for line in (ROOT / path).read_text().splitlines() if not line.startswith("# "))


SECTIONS: dict[str, Callable[[], str]] = {
    "models": cli_output("models", "--format", "markdown"),
    "summary": cli_output("summary", "resnet18", "--depth", "1", "--format", "markdown"),
    "arch-resnet": cli_output("arch", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "--format", "markdown"),
    "arch-cifar": cli_output("arch", "resnet56", "--format", "markdown"),
    "arch-googlenet": cli_output("arch", "googlenet", "--format", "markdown"),
    "cost-conv": cli_output("cost", "conv", "--in", "14x14x480", "--kernel", "5", "--out", "48", "--format", "markdown"),
    "cost-inception": cli_output(
        "cost", "inception", "--in", "28x28x256", "--branches", "1x1:128,3x3:192,5x5:96,pool",
        "--reduce", "3x3:96,5x5:16,pool:32", "--format", "markdown",
    ),
    "cifar10-results": cifar10_results,
    "data-benchmark": included("benchmarks/results/data_loading_cpu.md"),
    "speed": speed,
}


def regenerate(text: str) -> str:
    """The README text with every section present in it replaced by freshly generated content."""
    for name, make in SECTIONS.items():
        pattern = re.compile(rf"(<!-- BEGIN {re.escape(name)} -->\n)(.*?)(<!-- END {re.escape(name)} -->)", re.S)
        if pattern.search(text):
            text = pattern.sub(lambda m: m.group(1) + make().rstrip("\n") + "\n" + m.group(3), text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README's generated blocks are out of date")
    args = parser.parse_args()
    old = README.read_text()
    missing = [name for name in SECTIONS if f"<!-- BEGIN {name} -->" not in old]
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
