"""One table, four formats: a terminal table (rich), Markdown, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

FORMATS = ("table", "markdown", "json", "csv")
# summary.py's columns live here, with no torch import, so that `cnnzoo summary --help` can list them cheaply.
SUMMARY_COLUMNS = ("kernel_size", "input_size", "output_size", "num_params", "mult_adds", "trainable")


def render_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "table", title: str | None = None) -> str:
    """Render rows under column headers; JSON gives a list of objects keyed by column."""
    if fmt == "json":
        return json.dumps([dict(zip(columns, row)) for row in rows], indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    cells = [[_cell(v) for v in row] for row in rows]
    if fmt == "markdown":
        lines = [f"**{title}**", ""] if title else []
        lines.append("| " + " | ".join(columns) + " |")
        lines.append("|" + "|".join("---:" if _numeric(rows, i) else "---" for i in range(len(columns))) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in cells]
        return "\n".join(lines)
    if fmt == "table":
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for i, col in enumerate(columns):
            table.add_column(col, justify="right" if _numeric(rows, i) else "left")
        for row in cells:
            table.add_row(*row)
        console = Console(width=250, record=True, file=io.StringIO())
        console.print(table)
        return "\n".join(line.rstrip() for line in console.export_text().rstrip("\n").splitlines())
    raise ValueError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")


def _numeric(rows: Sequence[Sequence[Any]], i: int) -> bool:
    return bool(rows) and all(isinstance(row[i], (int, float)) for row in rows if row[i] is not None)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)
