"""`cnnzoo reproduce NAME`: the papers' experiments, each measured beside the paper's numbers, as a report folder.

Every reproduction is a module with the same surface:

    measure(budget: str = "quick", device: str = "cpu", ...) -> dict      # JSON-able results
    report(results: dict) -> str                                          # Markdown body: tables + explanation
    figures(results: dict, out_dir: Path) -> list[Path]                   # PNGs written into out_dir

Those that train (`TRAINS = True`) also take a `plan` (common.Plan: seeds, the shared runs root, config values
for every run such as data folder, cache and device, `train=False` for --report-only) and their own options
(`OPTIONS`, e.g. depths); their results hold `entries`, one summary per trained setting (common.summarise).
This module finds a reproduction by name (imported only when asked for), runs it and writes OUT/report.md (the
setting: budget, data, seeds, hardware, versions, wall-clock; the module's body; the figures; the data note),
OUT/results.json (tagged with the experiment's name) and the PNGs.
--report-only rebuilds all three from finished runs (training reproductions) or from OUT/results.json, checked
against the module's `RESULTS` schema (experiments.report.schema_problem) before its report reads it.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from cnnzoo.errors import CnnzooError, unknown_choice

# name -> module under cnnzoo.experiments.reproduce
REPRODUCTIONS: dict[str, str] = {
    "degradation": "degradation",
    "cifar-resnets": "cifar_resnets",
    "residual-units": "residual_units",
    "aux-classifiers": "aux_classifiers",
    "flops": "flops",
    "bottleneck": "bottleneck",
}
MAX_SEEDS = 100


def load(name: str) -> ModuleType:
    """The module of a reproduction, imported now; a name not known or a module not installed is a one-line error."""
    if name not in REPRODUCTIONS:
        raise unknown_choice("reproduction", name, REPRODUCTIONS)
    module_name = f"{__name__}.{REPRODUCTIONS[name]}"
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise
        raise CnnzooError(
            f"reproduction {name!r} is not part of this cnnzoo ({module_name} is missing); "
            "update cnnzoo or pick another: " + ", ".join(REPRODUCTIONS)
        ) from None


def reproduce(
    name: str,
    *,
    budget: str = "quick",
    seeds: int = 1,
    out: str | Path | None = None,
    runs_root: str | Path = "runs/experiments",
    device: str = "auto",
    data_dir: str | None = None,
    cache_dir: str | None = None,
    report_only: bool = False,
    options: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    announce: Callable[[str], None] | None = None,
) -> Path:
    """Run (or with `report_only`, re-read) a reproduction and write its report folder; returns report.md's path.

    `config` holds config values for every run, laid over the budget (e.g. a smaller train_limit for a check).
    """
    from cnnzoo.experiments.leaderboard import warn_if_on_cpu
    from cnnzoo.experiments.reproduce import common
    from cnnzoo.io import check_output_folder

    module = load(name)
    if budget not in common.BUDGET_NAMES:
        raise unknown_choice("budget", budget, common.BUDGET_NAMES)
    if not 1 <= seeds <= MAX_SEEDS:
        raise CnnzooError(f"--seeds must be a whole number from 1 to {MAX_SEEDS}, got {seeds}")
    options = {k: v for k, v in (options or {}).items() if v is not None}
    accepted = getattr(module, "OPTIONS", ())
    for key in options:
        if key not in accepted:
            flag = "--" + key.replace("_", "-")
            raise CnnzooError(
                f"{flag} does not apply to `cnnzoo reproduce {name}`; leave it out"
                + (f" (its options: {', '.join('--' + a.replace('_', '-') for a in accepted)})" if accepted else "")
            )
    trains = getattr(module, "TRAINS", False)
    if not trains and (config or seeds != 1):
        flags = ["--" + k.replace("_", "-") for k in config or {}] + (["--seeds"] if seeds != 1 else [])
        raise CnnzooError(
            f"{', '.join(flags)} does not apply to `cnnzoo reproduce {name}`: it trains nothing; leave it out"
        )
    out = check_output_folder(out or f"runs/reproduce/{name}-{budget}")  # before any work
    if trains and not report_only:
        check_output_folder(runs_root, "--runs-root")
        warn_if_on_cpu(budget, device)
    start = time.perf_counter()
    if trains:
        extra = {k: v for k, v in {"data_dir": data_dir, "cache_dir": cache_dir, "device": device}.items() if v}
        extra.update(config or {})
        plan = common.Plan(seeds, runs_root, extra, train=not report_only, announce=announce)
        results = module.measure(budget, device, plan=plan, **options)
    elif report_only:
        results = _read_results(name, module, out)
    else:
        from cnnzoo.device import resolve_device

        results = module.measure(budget=budget, device=str(resolve_device(device)))
    if not (report_only and not trains):
        results["setting"] = _setting(
            name, budget, seeds, results, data_dir, device, runs_root, time.perf_counter() - start, trains
        )
    return write_report_folder(name, module, results, out)


def write_report_folder(name: str, module: ModuleType, results: dict[str, Any], out: Path) -> Path:
    """OUT/report.md (title, setting, the module's body, figures, data note), its report.html twin, results.json, figures."""
    from cnnzoo.experiments.report import setting_lines
    from cnnzoo.experiments.reproduce.common import DATA_NOTE
    from cnnzoo.io import atomic_write
    from cnnzoo.visual.report_html import markdown_twin

    out.mkdir(parents=True, exist_ok=True)
    results = {"experiment": name, **results}
    figures = module.figures(results, out)
    parts = [
        f"# cnnzoo reproduce {name}",
        "",
        *setting_lines(results.get("setting", {})),
        "",
        module.report(results).strip(),
        "",
    ]
    parts += [f"![{Path(f).name}]({Path(f).name})" for f in figures]
    if getattr(module, "TRAINS", False):
        parts += ["", "**Data.** " + DATA_NOTE]
    text = "\n".join(parts).rstrip() + "\n"
    atomic_write(out / "report.md", lambda f: f.write(text.encode()))
    data = json.dumps(results, indent=2, default=str)
    atomic_write(out / "results.json", lambda f: f.write(data.encode()))
    markdown_twin(out / "report.md")  # report.html: the same report, figures inside, for a browser
    return out / "report.md"


def _read_results(name: str, module: ModuleType, out: Path) -> dict[str, Any]:
    """OUT/results.json of an earlier run of this reproduction, for --report-only: missing, truncated, another
    experiment's or malformed is a one-line error saying which."""
    from cnnzoo.experiments.report import check_results, read_results

    path = out / "results.json"
    fix = f"run `cnnzoo reproduce {name}` without --report-only to measure it again, or give its folder with --out"
    results = read_results(path, fix=fix)
    if results.get("experiment", name) != name:
        raise CnnzooError(
            f"{path} holds the results of `cnnzoo reproduce {results['experiment']}`, not of {name}; " + fix
        )
    return check_results(results, getattr(module, "RESULTS", dict), path, fix=fix)


def _setting(
    name: str,
    budget: str,
    seeds: int,
    results: dict[str, Any],
    data_dir: str | None,
    device: str,
    runs_root: str | Path,
    seconds: float,
    trains: bool,
) -> dict[str, str]:
    """The report's header lines: budget, data, seeds, hardware, versions, wall-clock (and the runs' own)."""
    from cnnzoo.experiments.leaderboard import count_status, data_note
    from cnnzoo.experiments.reproduce.common import describe_budget
    from cnnzoo.training.runlog import environment

    entries = list(results.get("entries", {}).values())
    run_device = next((e.get("device") for e in entries if e.get("device")), None)
    env = environment(run_device or ("cpu" if device == "auto" else device))
    setting = {"budget": describe_budget(budget) if trains else f"{budget}: what it covers is said below the tables"}
    if trains:
        recipes = sorted({str(e.get("recipe")) for e in entries})
        training_s = sum((e.get("wall_time_s") or 0.0) * len(e["seeds"]) for e in entries)
        setting |= {
            "data": f"cifar10 from {data_dir or 'the cache'}" + data_note(data_dir),
            "recipe": ", ".join(recipes) + f"; the budget laid over it: {results.get('budget_values')}",
            "seeds": f"{seeds} (0..{seeds - 1}); measured: mean ± sample std over the seeds, beside the paper's "
                     "own statistic",
            "runs": f"under {runs_root}, shared between reproductions: " + count_status(entries),
        }  # fmt: skip
    setting |= {
        "hardware": f"{env['device_name']} ({env['device']}), CPU {env['cpu']} × {env['cpu_count']}",
        "versions": f"cnnzoo {env['cnnzoo']}, torch {env['torch']}, torchvision {env['torchvision']}, "
                    f"Python {env['python']}, commit {env.get('git_commit') or 'unknown'}",
        "wall-clock": f"{seconds:.1f} s for this command"
                      + (f"; the runs' training took {training_s:.1f} s in all" if trains else ""),
    }  # fmt: skip
    return setting
