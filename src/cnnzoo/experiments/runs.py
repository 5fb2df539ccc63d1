"""Seeded runs that are shared, reused when finished and resumed when interrupted; mean ± std over seeds.

A run is identified by its resolved config without the fields that change nothing in its arithmetic (where
the data and runs live, how progress shows: the engine's RESUME_OVERRIDABLE and RESUME_IGNORED) and without
the seed. `experiment_run_dir` names it ROOT/<model>-<hash>-seed<k>, so the seeds of one setting are sibling
directories and two experiments asking for the same setting (the leaderboard's ResNet-20 and a
reproduction's) find the same directories.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cnnzoo.errors import CnnzooError
from cnnzoo.stats import mean_std

# How a run of run_seeds came to have its results.
TRAINED, RESUMED, REUSED = "trained", "resumed", "reused"


def model_recipe(name: str) -> dict[str, Any]:
    """The training settings recommended for a model (its own recipe's values, the `recipe` key naming the file);
    {} where it names none, i.e. TrainConfig's defaults."""
    from cnnzoo.training.config import load_yaml
    from cnnzoo.training.recipes import model_recipe as recipe_file
    from cnnzoo.training.recipes import recipe_label

    path = recipe_file(name)
    if path is None:
        return {}
    values = load_yaml(path)
    values["recipe"] = recipe_label(path)
    return values


def run_key(values: dict[str, Any]) -> str:
    """A short stable hash of what decides a run's arithmetic: the resolved config without paths and the seed.

    Only values that differ from TrainConfig's defaults enter the hash, so a new config field whose default keeps
    the old behaviour leaves every finished run's key, and its reuse, as it was.
    """
    from cnnzoo.training.config import TrainConfig
    from cnnzoo.training.resume import RESUME_IGNORED, RESUME_OVERRIDABLE

    config, defaults = TrainConfig.from_dict(values).to_dict(), TrainConfig().to_dict()
    ignored = {*RESUME_OVERRIDABLE, *RESUME_IGNORED, "seed"}
    kept = {k: v for k, v in sorted(config.items()) if k not in ignored and v != defaults.get(k, object())}
    text = json.dumps(kept, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def experiment_run_dir(root: str | Path, values: dict[str, Any], seed: int) -> Path:
    """ROOT/<model>-<hash>-seed<k>: the shared directory of this setting at this seed."""
    return Path(root) / f"{values['model']}-{run_key(values)}-seed{seed}"


def sibling_run_dirs(base: str | Path, seeds: Sequence[int]) -> list[Path]:
    """BASE-seed0, BASE-seed1, ...: the directories of `cnnzoo train --seeds N` beside each other."""
    base = Path(base)
    return [base.with_name(f"{base.name}-seed{seed}") for seed in seeds]


@dataclass
class SeedRuns:
    """The runs of one setting at several seeds, and how each was obtained (trained, resumed or reused)."""

    values: dict[str, Any]
    seeds: list[int]
    run_dirs: list[Path]
    results: list[dict] = field(default_factory=list)
    status: list[str] = field(default_factory=list)

    def top1(self) -> tuple[float, float]:
        """Test top-1 (a fraction) as mean and sample standard deviation over the seeds."""
        return mean_std([r["test"]["top1"] for r in self.results])

    def mean_of(self, key: str) -> float | None:
        """The mean of a number every run's results.json holds (wall_time_s, images_per_s), None if any lacks it."""
        numbers = [r.get(key) for r in self.results]
        return None if any(n is None for n in numbers) else statistics.fmean(numbers)


def run_seeds(
    values: dict[str, Any],
    seeds: Sequence[int],
    run_dirs: Sequence[str | Path],
    *,
    quiet: bool = False,
    announce: Callable[[str], None] | None = None,
) -> SeedRuns:
    """Train `values` once per seed into `run_dirs`: a finished run is reused, an interrupted one resumed.

    A directory that holds a different setting is refused rather than reused, so a reused number is always
    the number of the setting asked for.
    """
    from cnnzoo.training.config import TrainConfig
    from cnnzoo.training.resume import finished_results
    from cnnzoo.training.train import train

    if len(seeds) != len(run_dirs):
        raise ValueError("one run directory per seed")
    runs = SeedRuns(dict(values), list(seeds), [Path(d) for d in run_dirs])
    wanted = run_key(values)
    for seed, run_dir in zip(runs.seeds, runs.run_dirs):
        config = TrainConfig.from_dict({**values, "seed": seed, "run_dir": str(run_dir)})
        last = run_dir / "checkpoints" / "last.pt"
        if last.is_file():
            _check_same_setting(run_dir, wanted, seed)
            results = finished_results(run_dir)
            status = REUSED if results is not None else RESUMED
            if results is not None and announce:
                announce(f"reusing the finished run {run_dir}")
            if results is None:
                if announce:
                    announce(f"resuming {run_dir}")
                overrides = {k: config.to_dict()[k] for k in ("data_dir", "cache_dir", "workers", "log_every")}
                results = train(overrides, resume=run_dir, quiet=quiet)
        else:
            if announce:
                announce(f"training seed {seed} into {run_dir}")
            results = train(config, quiet=quiet)
            status = TRAINED
        runs.results.append(results)
        runs.status.append(status)
    return runs


def _check_same_setting(run_dir: Path, wanted: str, seed: int) -> None:
    """Refuse a run directory whose saved config is another setting or another seed."""
    try:
        saved = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        saved = None
    if not isinstance(saved, dict) or run_key(saved) != wanted or saved.get("seed") != seed:
        raise CnnzooError(
            f"{run_dir} holds a different run than the one asked for (seed {seed}); pick another run directory"
        )
