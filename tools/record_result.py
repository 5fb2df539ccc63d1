"""Record a finished run as a published result: `python tools/record_result.py RUN_DIR`.

Copies the run's results.json, env.json, config.yaml and metrics.csv (small text files, no weights) to
docs/results/<recipe stem>/, then regenerates the README, whose results table reads them. A result enters
the README only this way, from a real run directory, never typed by hand.
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
    parser.add_argument("run_dir", type=Path, help="a finished run directory (it has results.json)")
    parser.add_argument("--name", help="the record's name (default: the stem of the run's recipe)")
    parser.add_argument("--into", type=Path, default=ROOT / "docs" / "results",
                        help="where records live (default: docs/results; the README is regenerated only then)")
    args = parser.parse_args()
    missing = [name for name in RECORDED if not (args.run_dir / name).is_file()]
    if missing:
        parser.error(f"{args.run_dir} is not a finished run: no {', '.join(missing)}")
    results = json.loads((args.run_dir / "results.json").read_text())
    name = args.name or (Path(results["recipe"]).stem if results.get("recipe") else None)
    if not name:
        parser.error("the run has no recipe; give --name")
    target = args.into / name
    target.mkdir(parents=True, exist_ok=True)
    for file in RECORDED:
        shutil.copyfile(args.run_dir / file, target / file)
    print(f"recorded {args.run_dir} as {target}")
    if args.into.resolve() != (ROOT / "docs" / "results").resolve():
        return 0
    return subprocess.call([sys.executable, str(ROOT / "tools" / "readme_tables.py")])


if __name__ == "__main__":
    sys.exit(main())
