"""One table, four formats: a terminal table (rich), Markdown, JSON and CSV.

A column is a header, or a (JSON key, header) pair: tables, Markdown and CSV show the header ("GMACs",
"activations (MB)"), JSON uses the key ("gmacs", "activations_mb"), snake_case with the unit in its name, the
same key for the same quantity in every command.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sys
from collections.abc import Sequence
from typing import Any

FORMATS = ("table", "markdown", "json", "csv")
Column = str | tuple[str, str]  # a header that is its own JSON key ("params"), or (key, header)
JSON_KEY = re.compile(r"[a-z][a-z0-9_]*")
# summary.py's columns live here, with no torch import, so that `cnnzoo summary --help` can list them cheaply.
SUMMARY_COLUMNS = ("kernel_size", "input_size", "output_size", "num_params", "mult_adds", "trainable")
NO_LIMIT = 100_000  # the width of a table for a file or pipe: wide enough that no row is ever folded


def terminal_width() -> int | None:
    """The terminal's width when stdout is one; None for files and pipes, whose readers fold nothing."""
    stdout = sys.stdout
    return shutil.get_terminal_size().columns if stdout is not None and stdout.isatty() else None


def records(columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """The rows as JSON objects under the columns' keys."""
    keys = [key for key, _ in map(_split, columns)]
    unkeyed = [header for key, header in map(_split, columns) if not JSON_KEY.fullmatch(key)]
    if unkeyed:  # a programming error: every command's JSON keeps to one style
        raise ValueError(f"columns {unkeyed} need snake_case JSON keys: give each as (key, header)")
    return [dict(zip(keys, row)) for row in rows]


def _split(column: Column) -> tuple[str, str]:
    return (column, column) if isinstance(column, str) else column


def render_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    fmt: str = "table",
    title: str | None = None,
    width: int | None = None,
) -> str:
    """Render rows under column headers; JSON gives a list of objects under the columns' keys.

    A "table" is at most `width` characters wide, its cells folded to fit; by default the terminal's width
    when stdout is a terminal, else unlimited (one line per row, as files and pipes want them).
    """
    if fmt == "json":
        return json.dumps(records(columns, rows), indent=2)
    columns = [header for _, header in map(_split, columns)]
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
