"""One table, four formats: a terminal table (rich), Markdown, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from collections.abc import Sequence
from typing import Any

FORMATS = ("table", "markdown", "json", "csv")
# summary.py's columns live here, with no torch import, so that `cnnzoo summary --help` can list them cheaply.
SUMMARY_COLUMNS = ("kernel_size", "input_size", "output_size", "num_params", "mult_adds", "trainable")
NO_LIMIT = 100_000  # the width of a table for a file or pipe: wide enough that no row is ever folded


def terminal_width() -> int | None:
    """The terminal's width when stdout is one; None for files and pipes, whose readers fold nothing."""
    stdout = sys.stdout
    return shutil.get_terminal_size().columns if stdout is not None and stdout.isatty() else None


def render_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "table", title: str | None = None,
                 width: int | None = None) -> str:
    """Render rows under column headers; JSON gives a list of objects keyed by column.

    A "table" is at most `width` characters wide, its cells folded to fit; by default the terminal's width
    when stdout is a terminal, else unlimited (one line per row, as files and pipes want them).
    """
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
            table.add_column(col, justify="right" if _numeric(rows, i) else "left", overflow="fold")
        for row in cells:
            table.add_row(*row)
        console = Console(width=width or terminal_width() or NO_LIMIT, record=True, file=io.StringIO())
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
