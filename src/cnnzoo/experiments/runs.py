"""Seeded runs that are shared, reused when finished and resumed when interrupted; mean ± std over seeds.

A run is identified by its resolved config without the fields that change nothing in its arithmetic (where
the data and runs live, how progress shows: training.resume's RESUME_OVERRIDABLE and RESUME_IGNORED) and without
the seed, and by the identity of the data it reads: where --data-dir names a copy, the listing of its files
(names and sizes), so a run trained on one copy is never reused for another folder of the same dataset name,
while the same files in another place find it. `experiment_run_dir` names it ROOT/<model>-<hash>-seed<k>, so
the seeds of one setting are sibling directories and two experiments asking for the same setting (the
leaderboard's ResNet-20 and a reproduction's) find the same directories.
"""

from __future__ import annotations

import functools
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

    config, defaults = TrainConfig.from_dict(values).to_dict(), TrainConfig().to_dict()
    kept = {k: v for k, v in _setting(config).items() if v != defaults.get(k, object())}
    if config.get("data_dir"):  # the data's identity, not its path: runs without --data-dir keep their keys
        kept["data_listing"] = data_listing(config["data"], str(Path(config["data_dir"]).resolve()))
    text = json.dumps(kept, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _setting(config: dict[str, Any]) -> dict[str, Any]:
    """A resolved config without the fields that change nothing in a run's arithmetic, nor the seed."""
    from cnnzoo.training.resume import RESUME_IGNORED, RESUME_OVERRIDABLE

    ignored = {*RESUME_OVERRIDABLE, *RESUME_IGNORED, "seed"}
    return {k: v for k, v in sorted(config.items()) if k not in ignored}


@functools.lru_cache(maxsize=16)
def data_listing(name: str, data_dir: str) -> str:
    """A hash of the files a run reads from `data_dir`: each one's name (relative to it) and size.

    An image folder's train/ and test/ are listed (its README and the like are not data); another layout
    (torchvision's files) is listed whole. Once per folder and process: a leaderboard asks for every run.
    """
    from cnnzoo.data.cache import files_under
    from cnnzoo.data.datasets import SPLITS, folder_root

    root = Path(data_dir)
    folder = folder_root(name, root)  # a missing folder is a one-line error here, before any training
    tops = [folder / split for split in SPLITS if (folder / split).is_dir()] if folder is not None else [root]
    digest = hashlib.sha256()
    for top in tops:
        for path in files_under(top):
            digest.update(f"{path.relative_to(root).as_posix()}\0{path.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


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
    for seed, run_dir in zip(runs.seeds, runs.run_dirs):
        config = TrainConfig.from_dict({**values, "seed": seed, "run_dir": str(run_dir)})
        last = run_dir / "checkpoints" / "last.pt"
        if last.is_file():
            _check_same_setting(run_dir, values, seed)
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


def _check_same_setting(run_dir: Path, values: dict[str, Any], seed: int) -> None:
    """Refuse a run directory whose saved config is another setting or another seed.

    The data is compared through the directory's name, whose key was made from the data's listing: the saved
    config is read with today's data folder, as the copy it was trained on may have moved since.
    """
    from cnnzoo.training.config import TrainConfig

    try:
        saved = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        saved = None
    same_data = {"data_dir": values.get("data_dir")} if isinstance(saved, dict) else {}
    if not isinstance(saved, dict) or run_key({**saved, **same_data}) != run_key(values) or saved.get("seed") != seed:
        diffs = []  # (name, value there, value asked) of each setting that differs
        if isinstance(saved, dict):
            try:
                there, asked = (_setting(TrainConfig.from_dict(v).to_dict()) for v in ({**saved, **same_data}, values))
            except CnnzooError:  # a config another version wrote: the refusal, without the differences
                there, asked = {}, {}
            seeds = [("seed", saved.get("seed"), seed)] if saved.get("seed") != seed else []
            diffs = seeds + [(k, there.get(k), v) for k, v in asked.items() if there.get(k) != v]
        shown = "; ".join(f"{k} {_short(a)} there, {_short(b)} asked" for k, a, b in diffs[:4])
        more = f"; and {len(diffs) - 4} more" if len(diffs) > 4 else ""
        what = f"({shown}{more})" if diffs else f"than the one asked for (seed {seed})"
        raise CnnzooError(
            f"{run_dir} holds a different run {what}; rerun with the same settings to reuse or resume it, "
            "or pick another run directory"
        )


def _short(value: Any, width: int = 30) -> str:
    """A config value for a one-line message, cut short when long."""
    text = str(value).replace("\n", " ")
    return text if len(text) <= width else text[: width - 3] + "..."
