"""What the training reproductions share: budgets, the papers' numbers, seeded runs summarised, verdicts, plots.

Budgets are config values laid over a recipe, as the leaderboard's are (and its "quick" is the same subset, so
the two share runs):
- quick: a subset, one epoch, fp32 on the CPU: checks the machinery in minutes, says nothing about the paper;
- short: the recipe's schedule compressed to SHORT_FRACTION of its iterations (or epochs), milestones scaled;
- paper: the recipe as it is (for the CIFAR ResNets: recipes/resnet20_paper.yaml, He et al. 2016, section 4.2).

A claim of a paper ("plain-56 has a higher error than plain-20") is judged by the errors over seeds: it holds
when the means are ordered as claimed and mean ± std of the two do not overlap, does not hold when they are
ordered the other way without overlap, and is inconclusive otherwise (overlap, or one seed: no spread).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnzoo.errors import CnnzooError, check_choice
from cnnzoo.experiments.runs import REUSED, SeedRuns, experiment_run_dir, run_seeds
from cnnzoo.stats import format_mean_std, mean_std
from cnnzoo.visual.figures import new_figure, save_figure

# He et al. 2016, section 4.2: ResNet-110 starts at lr 0.01 "until the training error is below 80% (about 400
# iterations)", then 0.1. Here the 400 iterations are fixed, not triggered by the training error.
RESNET110_WARMUP = {"warmup_steps": 400, "warmup_factor": 0.1}
SHORT_FRACTION = 0.25  # --budget short: a quarter of the paper's 64k iterations, milestones 8k and 12k
BUDGET_NAMES = ("quick", "short", "paper")

# He et al. 2016, Table 6: CIFAR-10 test error (%). ResNet-110 is the best of 5 runs; their mean ± std below.
RESNET_TABLE6 = {20: 8.75, 32: 7.51, 44: 7.17, 56: 6.97, 110: 6.43}
RESNET110_MEAN_STD = (6.61, 0.16)
# He et al. 2016b (Identity Mappings), Table 2: ResNet-110 on CIFAR-10, test error (%), median of 5 runs.
UNITS_TABLE2 = {"original": 6.61, "bn_after_add": 8.17, "relu_before_add": 7.84, "relu_only_preact": 6.71,
                "preact": 6.37}  # fmt: skip

DATA_NOTE = (
    "The original CIFAR-10 is not available to the project's machines; its JPEG copy is, and accuracies on a "
    "re-encoded copy sit below the original's (one H100, the ResNet paper's schedule "
    "with per-channel normalisation, before its recipe subtracted the per-pixel mean: ResNet-20 87.35% on the copy "
    "against the paper's 91.25%). So the paper's number stands beside the measured one for reference, and the "
    "reproduction is judged by what the paper claims independently of the data's absolute level: orderings and gaps."
)


def paper_recipe() -> dict[str, Any]:
    """The ResNet paper's CIFAR schedule (recipes/resnet20_paper.yaml) as config values, model left to the caller."""
    from cnnzoo.training.config import load_yaml
    from cnnzoo.training.recipes import recipe_label, recipe_path

    path = recipe_path("resnet20_paper")
    return {**load_yaml(path), "recipe": recipe_label(path)}


def resnet_values(
    model: str, budget: str, extra: dict[str, Any] | None = None, model_options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A CIFAR ResNet's config: the paper's schedule (with ResNet-110's warm-up) < the budget < `extra`."""
    recipe = paper_recipe()
    values = {**recipe, "model": model, "model_options": dict(model_options or {})}
    if model.endswith("110") and budget != "quick":  # quick's one epoch of 4 steps would be warm-up only
        values.update(RESNET110_WARMUP)
    values.update(budget_values(budget, recipe))
    values.update({"tensorboard": False, "plots": False, **(extra or {})})
    return values


def check_depths(depths: Sequence[int], allowed: Sequence[int], option: str = "--depths") -> list[int]:
    """The depths asked for, each one the paper trained; a one-line error otherwise."""
    bad = [d for d in depths if d not in allowed]
    if bad or not depths:
        raise CnnzooError(
            f"{option} takes depths among {', '.join(map(str, allowed))}; got {', '.join(map(str, depths)) or 'none'}"
        )
    return sorted(dict.fromkeys(depths))


def budget_values(budget: str, recipe: dict[str, Any]) -> dict[str, Any]:
    """The values `budget` lays over `recipe`: quick's subset, short's compressed schedule, or nothing (paper);
    the recipe's milestones and warm-up move with the shorter run (leaderboard.shortened)."""
    from cnnzoo.experiments.leaderboard import BUDGETS, shortened

    check_choice("budget", budget, BUDGET_NAMES)
    if budget == "quick":  # the leaderboard's subset: the two share runs
        return shortened(recipe, BUDGETS["quick"])
    if budget == "paper":
        return {}
    short: dict[str, Any] = {"epochs": max(1, math.ceil(recipe.get("epochs", 10) * SHORT_FRACTION))}
    if recipe.get("max_steps"):
        short["max_steps"] = round(recipe["max_steps"] * SHORT_FRACTION)
    return shortened(recipe, short)


def describe_budget(budget: str) -> str:
    """One line for the report: which budget, and what it means."""
    return {
        "quick": "quick: a subset (64 train, 32 val/test images), 1 epoch, fp32, lr milestones scaled alike - "
                 "checks the machinery only, no conclusion about the paper",
        "short": f"short: the recipe's schedule compressed to {SHORT_FRACTION:g} of its iterations, lr milestones "
                 "scaled alike",
        "paper": "paper: the recipe's full schedule",
    }[budget]  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """How a training reproduction gets its runs: seeds 0..N-1 of each setting under the shared runs root, trained
    (resumed, reused) or, with `train=False` (--report-only), only read back; `extra` lies over every run's config."""

    seeds: int = 1
    runs_root: str | Path = "runs/experiments"
    extra: dict[str, Any] = field(default_factory=dict)
    train: bool = True
    announce: Callable[[str], None] | None = None

    def entry(self, values: dict[str, Any]) -> dict[str, Any]:
        """One setting's runs (see run_setting), summarised for the report."""
        return summarise(run_setting(values, self.seeds, self.runs_root, train=self.train, announce=self.announce))


def run_setting(
    values: dict[str, Any],
    seeds: int,
    runs_root: str | Path,
    *,
    train: bool,
    announce: Callable[[str], None] | None = None,
) -> SeedRuns:
    """The runs of one setting at seeds 0..N-1 under the shared runs root: trained, resumed or reused.

    With `train=False` (--report-only) every run must already be finished; nothing is trained.
    """
    from cnnzoo.training.resume import finished_results

    dirs = [experiment_run_dir(runs_root, values, seed) for seed in range(seeds)]
    if train:
        return run_seeds(values, list(range(seeds)), dirs, quiet=True, announce=announce)
    runs = SeedRuns(dict(values), list(range(seeds)), dirs)
    for run_dir in dirs:
        results = finished_results(run_dir) if run_dir.is_dir() else None  # a damaged results.json is its error
        if results is None:
            raise CnnzooError(
                f"--report-only needs finished runs, but {run_dir} is missing or unfinished; run the reproduction "
                "without --report-only to train it"
            )
        runs.results.append(results)
        runs.status.append(REUSED)
    return runs


def summarise(runs: SeedRuns) -> dict[str, Any]:
    """A setting's errors over its seeds (fractions): test error per seed, mean, std, best, median; the curves."""
    from cnnzoo.training.runlog import RunDir

    errors = [1.0 - r["test"]["top1"] for r in runs.results]
    mean, std = mean_std(errors)
    histories = [RunDir(d).read_metrics() for d in runs.run_dirs]
    epochs = min(len(h) for h in histories)
    curves = {
        "epoch": [histories[0][i]["epoch"] for i in range(epochs)],
        "train_error": [_mean_of(histories, i, "train_acc") for i in range(epochs)],
        "val_error": [_mean_of(histories, i, "val_top1") for i in range(epochs)],
    }
    return {
        "model": runs.values["model"], "model_options": runs.values.get("model_options") or {},
        "test_error": errors, "mean": mean, "std": std, "best": min(errors), "median": statistics.median(errors),
        "train_error": [1.0 - h[-1]["train_acc"] for h in histories if h and h[-1].get("train_acc") is not None],
        "curves": curves,
        "wall_time_s": runs.mean_of("wall_time_s"), "recipe": runs.values.get("recipe"),
        "device": runs.results[0].get("device"),
        "seeds": runs.seeds, "run_dirs": [str(d) for d in runs.run_dirs], "status": runs.status,
    }  # fmt: skip


def _mean_of(histories: list[list[dict]], epoch: int, key: str) -> float | None:
    """1 - the seeds' mean of an accuracy at an epoch (an error); None where a run did not log it."""
    values = [h[epoch].get(key) for h in histories]
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
        return None
    return 1.0 - statistics.fmean(values)


def percent(entry: dict[str, Any], key: str = "test_error") -> str:
    """'8.12 ± 0.20': an entry's test error (or final training error) in %, mean ± std over its seeds."""
    return format_mean_std(*mean_std(entry[key])) if entry[key] else "n/a"


def verdict(lower: dict[str, Any], higher: dict[str, Any], key: str = "test_error") -> str:
    """Is `lower`'s error (test_error or final train_error, per seed) below `higher`'s, as a paper claims?

    holds / does not hold / inconclusive (why): the means must be apart by more than the two stds together.
    """
    a, b = lower[key], higher[key]
    if len(a) < 2 or len(b) < 2:
        return "inconclusive (one seed: no spread to judge by; use --seeds 3 or more)"
    (mean_a, std_a), (mean_b, std_b) = mean_std(a), mean_std(b)
    if abs(mean_a - mean_b) <= std_a + std_b:
        return "inconclusive (the seeds' spreads overlap)"
    return "holds" if mean_a < mean_b else "does not hold"


def verdict_all(verdicts: Sequence[str]) -> str:
    """A claim made of several comparisons: holds if all hold, does not hold if any does not, else inconclusive."""
    if all(v == "holds" for v in verdicts):
        return "holds"
    if any(v == "does not hold" for v in verdicts):
        return "does not hold"
    return next(v for v in verdicts if v.startswith("inconclusive"))


def claims_table(claims: Sequence[tuple[str, str]]) -> str:
    """The Markdown table of claims and their verdicts."""
    return markdown_table(("claim of the paper", "verdict"), claims)


def claims_section(claims: Sequence[tuple[str, str]], figure_note: str, alone: str = "nothing to compare") -> list[str]:
    """The report's closing lines: the claims with their verdicts (or why there are none), then the figure's note."""
    return ["## Claims", "", claims_table(claims) if claims else alone, "", figure_note]


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table, as every cnnzoo report draws one."""
    from cnnzoo.inspect.render import render_table

    return render_table(columns, rows, "markdown")


# ---------------------------------------------------------------- figures
def bar_figure(path: Path, entries: Sequence[tuple[str, dict[str, Any], float | None]], *, title: str) -> Path:
    """Measured test error per setting (bars, mean ± std over seeds) with the paper's number as a marker."""
    fig, (ax,) = new_figure()
    xs = range(len(entries))
    ax.bar(
        xs,
        [100 * e["mean"] for _, e, _ in entries],
        yerr=[100 * e["std"] for _, e, _ in entries],
        capsize=4,
        color="tab:blue",
        alpha=0.8,
        label="measured (mean ± std over seeds)",
    )
    papers = [(x, p) for x, (_, _, p) in zip(xs, entries) if p is not None]
    if papers:
        ax.plot([x for x, _ in papers], [p for _, p in papers], "D", color="tab:red", label="paper")
    ax.set_xticks(list(xs), [label for label, _, _ in entries])
    ax.set(ylabel="test error (%)", title=title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    return save_figure(fig, path)
