"""Report folders of experiments: report.md (a header, the setting, tables), results.json and PNG plots.

Plots are drawn with matplotlib's Agg canvas directly (no pyplot state), one point per row with error bars,
as the run directory's curves are.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def errorbar_plot(path: str | Path, points: Sequence[Point], *, xlabel: str, ylabel: str, title: str,
                  log_x: bool = False) -> Path:
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


def bar_chart(path: str | Path, groups: Sequence[str], series: dict[str, Sequence[float]], *, ylabel: str,
              title: str, log_y: bool = False) -> Path:
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


def write_report(folder: str | Path, *, title: str, setting: dict[str, Any], columns: Sequence[str],
                 rows: Sequence[Sequence[Any]], record: dict[str, Any], figures: Sequence[str] = (),
                 notes: Sequence[str] = ()) -> Path:
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
