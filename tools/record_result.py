"""Record finished runs as a published result: `python tools/record_result.py RUN_DIR [RUN_DIR ...]`.

Copies each run's results.json, env.json, config.yaml and metrics.csv (small text files, no weights) to
docs/results/<recipe stem>/seed<k>/, then regenerates the README, whose results table reads them: test top-1
as mean ± standard deviation over the recorded seeds. A result enters the README only this way, from real run
directories, never typed by hand. Recording a recipe again replaces its earlier record.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ("results.json", "env.json", "config.yaml", "metrics.csv")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "run_dirs",
        type=Path,
        nargs="+",
        metavar="RUN_DIR",
        help="finished run directories (each has results.json): one recipe, one run per seed",
    )
    parser.add_argument("--name", help="the record's name (default: the stem of the runs' recipe)")
    parser.add_argument(
        "--into",
        type=Path,
        default=ROOT / "docs" / "results",
        help="where records live (default: docs/results; the README is regenerated only then)",
    )
    args = parser.parse_args()
    runs = []
    for run_dir in args.run_dirs:
        missing = [name for name in RECORDED if not (run_dir / name).is_file()]
        if missing:
            parser.error(f"{run_dir} is not a finished run: no {', '.join(missing)}")
        runs.append((run_dir, json.loads((run_dir / "results.json").read_text())))
    recipes = {results.get("recipe") for _, results in runs}
    if len(recipes) > 1:
        parser.error(f"the runs come from different recipes ({', '.join(map(str, recipes))}); record each apart")
    seeds = [_seed(run_dir) for run_dir, _ in runs]
    if len(set(seeds)) != len(seeds):
        parser.error(f"two runs of the same seed: {seeds}")
    recipe = recipes.pop()
    name = args.name or (Path(recipe).stem if recipe else None)
    if not name:
        parser.error("the runs have no recipe; give --name")
    target = args.into / name
    shutil.rmtree(target, ignore_errors=True)  # a record is one set of seeds, never a mix of two
    for (run_dir, _), seed in zip(runs, seeds):
        (target / f"seed{seed}").mkdir(parents=True)
        for file in RECORDED:
            shutil.copyfile(run_dir / file, target / f"seed{seed}" / file)
    print(f"recorded {len(runs)} run(s) of {recipe or name} as {target} (seeds {', '.join(map(str, seeds))})")
    if args.into.resolve() != (ROOT / "docs" / "results").resolve():
        return 0
    return subprocess.call([sys.executable, str(ROOT / "tools" / "readme_tables.py")])


def _seed(run_dir: Path) -> int:
    """The run's seed, as its saved config holds it."""
    import yaml

    return int((yaml.safe_load((run_dir / "config.yaml").read_text()) or {}).get("seed", 0))


if __name__ == "__main__":
    sys.exit(main())
