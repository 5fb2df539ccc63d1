"""Report folders of experiments: report.md (a header, the setting, tables), results.json and PNG plots.

Plots are drawn with matplotlib's Agg canvas directly (no pyplot state), one point per row with error bars,
as the run directory's curves are. A folder is checked before any work (`cnnzoo.io.check_output_folder`), and
a results.json is checked when it is read back (`read_results`), for the leaderboard, the reproductions and
the benchmarks alike.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnzoo.errors import CnnzooError
from cnnzoo.inspect.render import render_table
from cnnzoo.io import atomic_write
from cnnzoo.visual.figures import new_figure, save_figure
from cnnzoo.visual.report_html import markdown_twin


@dataclass
class Point:
    """One labelled point of a plot: x, and y with its standard deviation (the error bar)."""

    label: str
    x: float
    y: float
    y_err: float = 0.0


def errorbar_plot(
    path: str | Path, points: Sequence[Point], *, xlabel: str, ylabel: str, title: str, log_x: bool = False
) -> Path:
    """A PNG of labelled points with vertical error bars (mean ± std over seeds)."""
    fig, (ax,) = new_figure()
    for point in points:
        ax.errorbar([point.x], [point.y], yerr=[point.y_err], fmt="o", capsize=3)
        ax.annotate(point.label, (point.x, point.y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    if log_x and all(p.x > 0 for p in points):
        ax.set_xscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def bar_chart(
    path: str | Path,
    groups: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    ylabel: str,
    title: str,
    log_y: bool = False,
) -> Path:
    """A PNG of grouped bars: one group per entry of `groups`, one bar per series (a legend names them)."""
    fig, (ax,) = new_figure(width=max(6.0, 1.2 * len(groups) + 2))
    width = 0.8 / max(len(series), 1)
    for i, (name, values) in enumerate(series.items()):
        ax.bar([g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))], values, width, label=name)
    ax.set_xticks(range(len(groups)), groups, rotation=20, ha="right")
    if log_y:
        ax.set_yscale("log")
    ax.set(ylabel=ylabel, title=title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def setting_lines(setting: dict[str, Any]) -> list[str]:
    """'- **key**: value' lines, in the dict's order: the data, hardware, versions, budget, seeds, wall-clock."""
    return [f"- **{key}**: {value}" for key, value in setting.items()]


def write_report(
    folder: str | Path,
    *,
    title: str,
    setting: dict[str, Any],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    record: dict[str, Any],
    figures: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> Path:
    """Write FOLDER/report.md (title, setting, the table, figures, notes), its report.html twin and results.json."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    parts = [f"# {title}", "", *setting_lines(setting), "", render_table(columns, rows, "markdown"), ""]
    parts += [f"![{name}]({name})" for name in figures]
    parts += ["", *notes] if notes else []
    text = "\n".join(parts).rstrip() + "\n"
    atomic_write(folder / "report.md", lambda f: f.write(text.encode()))
    data = json.dumps(record, indent=2, default=str)
    atomic_write(folder / "results.json", lambda f: f.write(data.encode()))
    markdown_twin(folder / "report.md")  # report.html: the same report, figures inside, for a browser
    return folder / "report.md"


# ---------------------------------------------------------------- before the work, and reading back
def read_results(path: str | Path, schema: Any = dict, *, fix: str) -> dict[str, Any]:
    """A results.json read back and checked against `schema` (see `schema_problem`) before anything uses it.

    A missing file, a truncated one (not JSON) and one of another shape are each a one-line error saying
    which, followed by `fix` (how to get a good one).
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise CnnzooError(f"{path} does not exist; {fix}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise CnnzooError(f"cannot read {path} ({getattr(err, 'strerror', None) or err}); {fix}") from None
    try:
        results = json.loads(text)
    except ValueError as err:
        raise CnnzooError(f"{path} is truncated or not JSON ({err}, of {len(text)} characters); {fix}") from None
    return check_results(results, schema, path, fix=fix)


def check_results(results: Any, schema: Any, path: str | Path, *, fix: str) -> dict[str, Any]:
    """`results` (read from `path`) if it fits `schema`; otherwise a one-line error saying where it does not."""
    problem = schema_problem(results, schema)
    if problem:
        raise CnnzooError(f"{path} is not the results expected here: {problem}; {fix}")
    return results


def schema_problem(value: Any, schema: Any, where: str = "it") -> str | None:
    """What in `value` does not fit `schema` (the first thing found), or None.

    A schema is a type or a tuple of types (checked with isinstance; an int is a float, a bool is neither),
    `{key: schema, ...}` (a mapping holding at least those keys), `{str: schema}` (a mapping of any keys, each
    value fitting) or `[schema]` (a list whose every item fits).
    """
    if isinstance(schema, list):
        if not isinstance(value, list):
            return f"{where} is {_kind(value)}, not a list"
        return next(
            (p for i, item in enumerate(value) if (p := schema_problem(item, schema[0], f"{where}[{i}]"))), None
        )
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return f"{where} is {_kind(value)}, not a mapping"
        if list(schema) == [str]:
            return next((p for k, v in value.items() if (p := schema_problem(v, schema[str], f"{where}[{k!r}]"))), None)
        missing = [key for key in schema if key not in value]
        if missing:
            return f"{where} has no {', '.join(map(repr, missing))}"
        return next(
            (p for key, sub in schema.items() if (p := schema_problem(value[key], sub, f"{where}[{key!r}]"))), None
        )
    types = schema if isinstance(schema, tuple) else (schema,)
    accepted = (*types, int) if float in types else types
    if isinstance(value, bool) and bool not in types or not isinstance(value, accepted):
        return f"{where} is {_kind(value)}, not {' or '.join(_name(t) for t in types)}"
    return None


def _kind(value: Any) -> str:
    return "null" if value is None else f"{_name(type(value))} ({json.dumps(value, default=str)[:40]})"


def _name(kind: type) -> str:
    return {type(None): "null", dict: "a mapping", str: "text", int: "an integer", float: "a number",
            list: "a list", bool: "true or false"}.get(kind, kind.__name__)  # fmt: skip
