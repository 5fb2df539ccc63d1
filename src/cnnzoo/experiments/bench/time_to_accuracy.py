"""`cnnzoo bench time-to-accuracy`: cnnzoo's speedrun recipes against airbench94, same data, same invocation.

cnnzoo's side trains each recipe with `cnnzoo.train` (the recipe as it is, plus where the data lives, a seed
per run and the setting's overrides) and reports the plain test top-1 and `wall_time_s`, the engine's own
clock of the training: the epochs, their validation and checkpoints, and the test evaluation.

airbench94 (`pip install airbench`, the package's `train94`) reads CIFAR-10 from `cifar10/train.pt` and
`cifar10/test.pt`: dicts of uint8 NHWC images, int64 labels and class names, looked up relative to the
working directory. `write_airbench_cache` writes those files from the very arrays cnnzoo trains on
(`cnnzoo.data.load_split`), so both read the same copy (the JPEG copy with `--data-dir`). Its seconds are the
wall-clock of `train94(verbose=False)` with the GPU synchronised before and after (its network construction
and test-set load included, its evaluation not); its accuracy is measured afterwards with the package's
`evaluate`, without and with its test-time augmentation (flip + 1-pixel translations). airbench94 builds its
network in fp16 on CUDA, so it runs on a CUDA GPU only: elsewhere its row is skipped with that reason.

Each system runs `warmup_runs` untimed runs first (cuDNN autotuning, compilation), then `runs` timed ones;
figures are means (and standard deviations) over the timed runs, and the ratio is cnnzoo's mean seconds over
airbench94's, measured in this invocation.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from cnnzoo.errors import CnnzooError, check_choice
from cnnzoo.experiments.bench import report
from cnnzoo.training.config import COMPILE_MODES, resolve_config
from cnnzoo.training.recipes import find_recipe, recipe_label
from cnnzoo.training.train import train

RECIPES = ("resnet18_speedrun", "resnet20_speedrun")  # packaged recipes (`cnnzoo recipes`)


@dataclass(frozen=True)
class TimeToAccuracySetting:
    """What one invocation measures. The defaults are the GPU setting; SMOKE is the CPU one CI runs."""

    recipes: tuple[str, ...] = RECIPES
    runs: int = 3
    warmup_runs: int = 1
    data_dir: str | None = None  # the CIFAR-10 copy; None: cnnzoo's default (downloaded) one
    airbench: bool = True
    device: str = "auto"
    compile: str | None = None  # None: the recipe's own
    overrides: dict = field(default_factory=dict)  # config values put over every recipe (the smoke sizes)

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, {})}


SMOKE = TimeToAccuracySetting(
    recipes=("resnet20_speedrun",), runs=2, warmup_runs=0, device="cpu", compile="none",
    overrides={"epochs": 1, "train_limit": 256, "eval_limit": 200, "val_size": 0, "batch_size": 64,
               "eval_batch_size": 200, "precision": "fp32", "channels_last": False},
)  # fmt: skip

COLUMNS = [
    ("system", "system"), ("recipe", "recipe"), ("runs", "runs"), ("top1_mean", "test top-1"),
    ("top1_std", "± (std)"), ("tta_top1_mean", "test top-1 with TTA"), ("seconds_mean", "training s"),
    ("seconds_std", "± (std)"), ("seconds_ratio", "seconds × airbench94"),
]  # fmt: skip


# ==================================================================== the data, as airbench reads it
def write_airbench_cache(
    directory: str | Path, data_dir: str | Path | None, train_limit: int | None = None, seed: int = 0
) -> Path:
    """Write `directory/cifar10/train.pt` and `test.pt` in airbench's format from cnnzoo's decoded CIFAR-10.

    `train_limit` keeps a seeded, class-stratified subset of the training images (as `--train-limit` does).
    Returns the `cifar10` folder.
    """
    from cnnzoo.data import load_split, random_subset

    folder = Path(directory) / "cifar10"
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        arrays = load_split("cifar10", split, data_dir)
        if split == "train":
            arrays = random_subset(arrays, train_limit, seed)
        torch.save(
            {
                "images": arrays.images.permute(0, 2, 3, 1).contiguous(),
                "labels": arrays.labels.long(),
                "classes": list(arrays.classes),
            },
            folder / f"{split}.pt",
        )
    return folder


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    """airbench94 opens its test set as the relative path `cifar10/test.pt`."""
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


# ==================================================================== the systems
def cnnzoo_runs(recipe: Path, setting: TimeToAccuracySetting, device: torch.device, workdir: Path) -> list[dict]:
    """One result per timed run of `recipe` through `cnnzoo.train` (warm-up runs first, not returned)."""
    results = []
    for i in range(setting.warmup_runs + setting.runs):
        values: dict[str, Any] = {
            **setting.overrides, "seed": i, "device": str(device), "tensorboard": False, "plots": False,
            "run_dir": str(workdir / f"{recipe.stem}-{i}"),
        }  # fmt: skip
        if setting.data_dir is not None:
            values["data_dir"] = setting.data_dir
        if setting.compile is not None:
            values["compile"] = setting.compile
        out = train(resolve_config(recipe, values), quiet=True)
        if i >= setting.warmup_runs:
            tta = out.get("test_tta") or {}
            results.append({"top1": out["test"]["top1"], "tta_top1": tta.get("top1"), "seconds": out["wall_time_s"]})
    return results


def airbench_runs(setting: TimeToAccuracySetting, device: torch.device, workdir: Path) -> list[dict]:
    """One result per timed airbench94 run on the same CIFAR-10 copy, written in its cache format."""
    import airbench
    from airbench.lib_airbench94 import hyp

    write_airbench_cache(workdir, setting.data_dir, setting.overrides.get("train_limit"))
    results = []
    with working_directory(workdir):
        loader = airbench.CifarLoader(
            "cifar10", train=True, batch_size=hyp["opt"]["batch_size"], aug=hyp["aug"], altflip=True
        )
        test_loader = airbench.CifarLoader("cifar10", train=False, batch_size=2000)
        epochs = setting.overrides.get("epochs", hyp["opt"]["train_epochs"])
        for i in range(setting.warmup_runs + setting.runs):
            torch.cuda.synchronize(device)
            start = time.perf_counter()
            model = airbench.train94(loader, epochs=epochs, verbose=False)
            torch.cuda.synchronize(device)
            seconds = time.perf_counter() - start
            if i >= setting.warmup_runs:
                results.append({
                    "top1": airbench.evaluate(model, test_loader, tta_level=0), "seconds": seconds,
                    "tta_top1": airbench.evaluate(model, test_loader, tta_level=hyp["net"]["tta_level"]),
                })  # fmt: skip
    return results


def summarise(system: str, recipe: str, runs: list[dict]) -> dict[str, Any]:
    """Means and standard deviations over the timed runs."""

    def spread(values: list[float]) -> float | None:
        return statistics.stdev(values) if len(values) > 1 else None

    top1 = [r["top1"] for r in runs]
    seconds = [r["seconds"] for r in runs]
    tta = [r["tta_top1"] for r in runs if r.get("tta_top1") is not None]
    return {
        "system": system, "recipe": recipe, "runs": len(runs), "top1_mean": statistics.fmean(top1),
        "top1_std": spread(top1), "tta_top1_mean": statistics.fmean(tta) if tta else None,
        "seconds_mean": statistics.fmean(seconds), "seconds_std": spread(seconds), "per_run": runs,
    }  # fmt: skip


def run(setting: TimeToAccuracySetting, *, smoke: bool, command: str, out_dir: str | Path) -> dict:
    """Train every recipe and airbench94 `runs` times each, write the result files, return the record."""
    if setting.runs < 1 or setting.warmup_runs < 0:
        raise CnnzooError(
            f"runs must be at least 1 and warm-up runs at least 0, got {setting.runs}, {setting.warmup_runs}"
        )
    if setting.compile is not None:
        check_choice("compile mode", setting.compile, COMPILE_MODES)
    recipes = [find_recipe(r) for r in setting.recipes]  # a missing recipe fails before any training
    setting, device, record = report.start(
        "time-to-accuracy",
        "Time to accuracy: cnnzoo's speedrun recipes vs airbench94",
        setting,
        smoke=smoke,
        command=command,
        columns=COLUMNS,
        out_dir=out_dir,
        gpu_setting=not smoke,
        optional=("airbench",),
    )
    with tempfile.TemporaryDirectory(prefix="cnnzoo-bench-") as tmp:
        workdir = Path(tmp)
        airbench_row = None
        if not setting.airbench:
            record["skipped"].append({"what": "airbench94", "reason": "left out by --no-airbench"})
        elif device.type != "cuda":
            record["skipped"].append(
                {
                    "what": "airbench94",
                    "reason": "it needs a CUDA GPU (its network is built in "
                    f"fp16 with .cuda() and timed with CUDA events); this run is on {device}",
                }
            )
        else:
            try:
                airbench_row = summarise("airbench94", "airbench.train94", airbench_runs(setting, device, workdir))
            except ImportError:
                record["skipped"].append(
                    {
                        "what": "airbench94",
                        "reason": "the airbench package is not installed "
                        "(pip install airbench, or pip install -e '.[bench]')",
                    }
                )
        for path in recipes:
            record["rows"].append(summarise("cnnzoo", recipe_label(path), cnnzoo_runs(path, setting, device, workdir)))
        if airbench_row is not None:
            airbench_row["seconds_ratio"] = 1.0
            for row in record["rows"]:
                row["seconds_ratio"] = row["seconds_mean"] / airbench_row["seconds_mean"]
            record["rows"].append(airbench_row)
    record["notes"] += [
        "cnnzoo: plain test top-1 of the tested weights; training s = the run's wall_time_s (epochs, validation, "
        "checkpoints and the test evaluation).",
        "airbench94: test top-1 without and with its TTA; training s = wall-clock of train94 (no evaluation).",
    ]
    if setting.overrides:
        record["notes"].append(
            "overrides on every cnnzoo recipe: " + ", ".join(f"{k}={v}" for k, v in setting.overrides.items())
        )
    report.write(record, out_dir)
    return record
