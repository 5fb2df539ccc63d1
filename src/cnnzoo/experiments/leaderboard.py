"""`cnnzoo leaderboard`: one or two models of every family, each with its recipe, for N seeds, in one report.

Columns, so each means one thing:
- test top-1: mean ± sample standard deviation over the seeds, of each run's single test evaluation.
- params, MACs: parameters and multiply-adds of one forward pass for one image at the data's size
  (`inspect.counts`, the papers' convention).
- train time: mean over the seeds of the run's training wall-clock (results.json wall_time_s).
- train images/s: mean over the seeds of the runs' training throughput (results.json images_per_s).
- infer images/s: eval-mode forward passes without autograd of seed 0's trained model on the run's device at
  its evaluation batch size, random inputs of the data's size, after warm-up (`inspect.compare.measure_throughput`).

Runs live under RUNS_ROOT as `runs.experiment_run_dir` names them: finished ones are reused, interrupted ones
resume from their checkpoints, and the reproductions share them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cnnzoo.errors import CnnzooError, check_choice, unknown_choice
from cnnzoo.experiments.report import Point, errorbar_plot, write_report
from cnnzoo.experiments.runs import experiment_run_dir, model_recipe, run_seeds
from cnnzoo.io import check_output_folder
from cnnzoo.stats import format_mean_std

# One or two of every family, the course's two networks included (a test checks each is registered).
DEFAULT_MODELS = (
    "resnet20", "resnet56", "resnet110", "preact_resnet110", "resnet18", "vgg11_bn", "vgg16_bn", "nin",
    "googlenet", "alexnet", "course_resnet18", "course_resnet50_layer4",
)  # fmt: skip

# Budgets: config values laid over each model's recipe, its schedule shortened alike (`shortened`). "full" is the
# recipes as they are, sized for a GPU; "quick" checks the machinery on a CPU in minutes: four steps on a subset
# (enough for a schedule's milestones to land), one epoch, fp32, no compilation, small evaluation batches (the
# inference column is timed at them); 1% held out: CIFAR-10's 500 images, and still one of a 60-image folder.
BUDGETS: dict[str, dict[str, Any]] = {
    "quick": {
        "train_limit": 64, "eval_limit": 32, "val_size": 0.01, "epochs": 1, "batch_size": 16,
        "eval_batch_size": 32, "loader": "stream", "workers": 0, "precision": "fp32", "compile": "none",
        "channels_last": False, "max_steps": None,
    },
    "full": {},
}  # fmt: skip

COLUMNS = ("model", "test top-1 (%)", "params", "GMACs", "train time (s)", "train images/s", "infer images/s",
           "recipe", "epochs")  # fmt: skip
FIGURES = ("accuracy_vs_macs.png", "accuracy_vs_train_time.png")


def model_values(name: str, data: str, budget: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A model's config in the leaderboard: small-image stem where offered < its recipe < the budget < `extra`."""
    from cnnzoo.models import model_options

    recipe = model_recipe(name)
    options = {"small_input": True} if "small_input" in model_options(name) else {}
    options.update(recipe.get("model_options") or {})
    values = {**recipe, "model": name, "data": data, "model_options": options, "recipe": recipe_name(name)}
    values.update(shortened(recipe, BUDGETS[budget]))
    values.update({"tensorboard": False, "plots": False, **(extra or {})})
    return values


def shortened(recipe: dict[str, Any], budget: dict[str, Any]) -> dict[str, Any]:
    """A budget's values for `recipe`, its warm-up and lr milestones moved to the same fractions of the shorter run.

    A budget that shortens a recipe (fewer epochs, fewer steps) shortens its schedule alike: quick's one epoch
    would otherwise be warm-up only, and the paper's milestone at step 32,000 would come after quick's last
    step. A run's length is its max_steps where the budget or recipe counts steps, else its epochs; steps are
    re-expressed in epochs where the shorter run has no step count.
    """
    from cnnzoo.training.config import TrainConfig

    epochs, steps = recipe.get("epochs", TrainConfig().epochs), recipe.get("max_steps")
    short_epochs, short_steps = budget.get("epochs", epochs), budget.get("max_steps", steps)
    if (short_epochs, short_steps) == (epochs, steps):
        return dict(budget)

    def moved(amount: float, unit: str) -> tuple[float, str]:
        """`amount` of the recipe's `unit` as the same fraction of the shorter run, in its unit."""
        if unit == "steps" and steps and short_steps:
            return max(1, round(amount * short_steps / steps)), "steps"
        fraction = amount / steps if unit == "steps" and steps else amount / epochs
        return round(fraction * short_epochs, 4), "epochs"

    values = dict(budget)
    unit = recipe.get("milestone_unit", "epochs")
    if recipe.get("milestones"):
        moved_milestones = [moved(m, unit) for m in recipe["milestones"]]
        values["milestones"] = [m for m, _ in moved_milestones]
        values["milestone_unit"] = moved_milestones[0][1]
    if recipe.get("warmup_steps"):
        warmup, warmup_unit = moved(recipe["warmup_steps"], "steps")
        values.update(
            {"warmup_steps": warmup, "warmup_epochs": 0.0}
            if warmup_unit == "steps"
            else {"warmup_steps": 0, "warmup_epochs": warmup}
        )
    elif recipe.get("warmup_epochs"):
        values["warmup_epochs"] = moved(recipe["warmup_epochs"], "epochs")[0]
    return values


def warn_if_on_cpu(budget: str, device: str | None) -> None:
    """A budget sized for a GPU about to train on the CPU: a warning before the long runs start, naming quick."""
    import warnings

    from cnnzoo.device import resolve_device

    if budget != "quick" and resolve_device(device or "auto").type == "cpu":
        warnings.warn(
            f"--budget {budget} is sized for a GPU: on this CPU each run trains for many hours; --budget "
            "quick checks the machinery in minutes",
            stacklevel=3,
        )


def recipe_name(name: str) -> str:
    """How the report names the recipe a model trained with."""
    return model_recipe(name).get("recipe") or ("recipe of " + name if model_recipe(name) else "defaults")


def run_leaderboard(
    models: Sequence[str] | None = None,
    *,
    seeds: int = 3,
    budget: str = "quick",
    data: str = "cifar10",
    out: str | Path = "runs/leaderboard",
    runs_root: str | Path = "runs/experiments",
    extra: dict[str, Any] | None = None,
    quiet: bool = True,
    announce: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train (or reuse) every model for `seeds` seeds and write the report folder `out`; returns results.json's record.

    `extra` holds config values for every run (data_dir, cache_dir, device, ...), laid over the budget.
    """
    import torch

    from cnnzoo.device import resolve_device
    from cnnzoo.inspect.compare import measure_throughput
    from cnnzoo.inspect.counts import count_macs, count_params
    from cnnzoo.models import list_models
    from cnnzoo.predict import load
    from cnnzoo.training.runlog import environment

    check_choice("budget", budget, tuple(BUDGETS))
    if not 1 <= seeds <= 100:
        raise CnnzooError(f"--seeds must be a whole number from 1 to 100, got {seeds}")
    if models is None:
        models = list(DEFAULT_MODELS)
    for name in models:
        if name not in list_models():
            raise unknown_choice("model", name, list_models())
    out = check_output_folder(out)  # before any training: not a traceback after all of it
    check_output_folder(runs_root, "--runs-root")
    warn_if_on_cpu(budget, (extra or {}).get("device"))
    start = time.perf_counter()
    rows, entries, points_macs, points_time = [], [], [], []
    device = None
    for name in models:
        values = model_values(name, data, budget, extra)
        dirs = [experiment_run_dir(runs_root, values, seed) for seed in range(seeds)]
        runs = run_seeds(values, list(range(seeds)), dirs, quiet=quiet, announce=announce)
        first = runs.results[0]
        device = resolve_device(first.get("device") or "cpu")
        loaded = load(runs.run_dirs[0], device=device)
        size = (loaded.in_chans, *loaded.image_size)
        params, macs = count_params(loaded.model), count_macs(loaded.model, size)
        batch = values.get("eval_batch_size") or 2 * values.get("batch_size", 128)
        infer = measure_throughput(loaded.model, size, batch, device, seconds=0.3 if budget == "quick" else 2.0)
        del loaded
        top1, std = runs.top1()
        train_time, train_rate = runs.mean_of("wall_time_s"), runs.mean_of("images_per_s")
        epochs = first["epochs"]
        entries.append({
            "model": name, "model_options": values["model_options"], "recipe": values["recipe"], "epochs": epochs,
            "top1_mean": top1, "top1_std": std, "top1": [r["test"]["top1"] for r in runs.results],
            "params": params, "macs": macs, "train_time_s": train_time, "train_images_per_s": train_rate,
            "infer_images_per_s": infer, "seeds": runs.seeds, "run_dirs": [str(d) for d in runs.run_dirs],
            "status": runs.status,
        })  # fmt: skip
        rows.append(
            (
                name,
                format_mean_std(top1, std),
                params,
                round(macs / 1e9, 3),
                _round(train_time),
                _round(train_rate),
                round(infer, 1),
                values["recipe"],
                epochs,
            )
        )
        points_macs.append(Point(name, macs / 1e9, 100 * top1, 100 * std))
        points_time.append(Point(name, train_time or 0.0, 100 * top1, 100 * std))
        del runs
        if device.type == "cuda":
            torch.cuda.empty_cache()
    errorbar_plot(
        out / FIGURES[0],
        points_macs,
        xlabel="multiply-adds per image (G)",
        ylabel="test top-1 (%)",
        title="test accuracy against multiply-adds (mean ± std over seeds)",
        log_x=True,
    )
    errorbar_plot(
        out / FIGURES[1],
        points_time,
        xlabel="training time (s)",
        ylabel="test top-1 (%)",
        title="test accuracy against training time (mean ± std over seeds)",
        log_x=True,
    )
    env = environment(device or "cpu")
    extra = extra or {}
    setting = {
        "data": f"{data} from {extra.get('data_dir') or 'the cache'}" + data_note(extra.get("data_dir")),
        "budget": f"{budget} ({_describe_budget(budget)})",
        "seeds": f"{seeds} (0..{seeds - 1}); test top-1 is mean ± sample standard deviation",
        "hardware": f"{env['device_name']} ({env['device']}), CPU {env['cpu']} × {env['cpu_count']}",
        "versions": f"cnnzoo {env['cnnzoo']}, torch {env['torch']}, torchvision {env['torchvision']}, "
                    f"Python {env['python']}, commit {env.get('git_commit') or 'unknown'}",
        "wall-clock": f"{time.perf_counter() - start:.1f} s for this command; runs " + count_status(entries),
    }  # fmt: skip
    notes = ["Columns: see `cnnzoo leaderboard --help`; runs live under " + str(runs_root) + "."]
    record = {"setting": setting, "budget": budget, "seeds": seeds, "data": data, "models": entries,
              "env": env}  # fmt: skip
    write_report(
        out,
        title=f"cnnzoo leaderboard ({budget} budget)",
        setting=setting,
        columns=COLUMNS,
        rows=rows,
        record=record,
        figures=FIGURES,
        notes=notes,
    )
    return record


def count_status(entries: list[dict]) -> str:
    """'6 trained, 0 resumed, 2 reused': how this command obtained its runs."""
    from cnnzoo.experiments.runs import RESUMED, REUSED, TRAINED

    every = [s for e in entries for s in e["status"]]
    return ", ".join(f"{every.count(s)} {s}" for s in (TRAINED, RESUMED, REUSED))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _describe_budget(budget: str) -> str:
    given = BUDGETS[budget]
    return ", ".join(f"{k} {v}" for k, v in given.items()) if given else "each model's recipe as it is"


def data_note(data_dir: str | None) -> str:
    """The data copy's own title (the first line of its README.md), e.g. 'CIFAR-10, JPEG copy (ImageFolder layout)'."""
    readme = Path(data_dir) / "README.md" if data_dir else None
    if readme is None or not readme.is_file():
        return ""
    first = next((line.strip("# ").strip() for line in readme.read_text().splitlines() if line.strip()), "")
    return f" ({first}; accuracies on a re-encoded copy differ from the original's: compare models within it)"
