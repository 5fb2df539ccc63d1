"""One table, four formats."""

from __future__ import annotations

import io
import json
import os
import shutil
import sys

import pytest

from cnnzoo.inspect.render import FORMATS, render_table

COLUMNS = ("model", "params", ("gmacs", "GMACs"))
ROWS = [("a", 1234567, 0.5), ("b", 12, None)]


def test_four_formats():
    assert FORMATS == ("table", "markdown", "json", "csv")
    assert json.loads(render_table(COLUMNS, ROWS, "json")) == [
        {"model": "a", "params": 1234567, "gmacs": 0.5},
        {"model": "b", "params": 12, "gmacs": None},
    ]
    assert render_table(COLUMNS, ROWS, "csv").splitlines() == ["model,params,GMACs", "a,1234567,0.5", "b,12,"]
    markdown = render_table(COLUMNS, ROWS, "markdown", title="T").splitlines()
    assert markdown[0] == "**T**" and markdown[3] == "|---|---:|---:|" and markdown[4] == "| a | 1,234,567 | 0.5 |"
    table = render_table(COLUMNS, ROWS, "table")
    assert "1,234,567" in table and "┃ model" in table


def test_json_refuses_a_header_for_a_key():
    with pytest.raises(ValueError, match=r"columns \['GMACs'\] need snake_case JSON keys"):
        render_table(("model", "params", "GMACs"), ROWS, "json")
    assert "GMACs" in render_table(("model", "params", "GMACs"), ROWS, "markdown")  # tables show any header


def test_unknown_format():
    with pytest.raises(ValueError, match="unknown format"):
        render_table(COLUMNS, ROWS, "html")


class _Terminal(io.StringIO):
    """A stdout that says it is a terminal."""

    def isatty(self) -> bool:
        return True


WIDE_COLUMNS = ("model", "paper", "params")
WIDE_ROWS = [("course_resnet50_layer4", "a long citation " * 8, 8_898_826), ("nin", "Lin et al. 2014", 1_589_926)]


def test_a_table_fits_an_80_column_terminal(monkeypatch):
    monkeypatch.setattr(shutil, "get_terminal_size", lambda fallback=(80, 24): os.terminal_size((80, 24)))
    monkeypatch.setattr(sys, "stdout", _Terminal())
    lines = render_table(WIDE_COLUMNS, WIDE_ROWS, "table", title="models").splitlines()
    assert max(map(len, lines)) <= 80
    text = " ".join(lines)
    assert all(word in text for word in ("course_resnet50_layer4", "citation", "8,898,826"))  # folded, not cut
    assert max(map(len, render_table(WIDE_COLUMNS, WIDE_ROWS, "table", width=60).splitlines())) <= 60


def test_a_table_for_a_file_or_pipe_keeps_each_row_on_one_line(monkeypatch):
    monkeypatch.setattr(shutil, "get_terminal_size", lambda fallback=(80, 24): os.terminal_size((80, 24)))
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    lines = render_table(WIDE_COLUMNS, WIDE_ROWS * 2 + [("x" * 300, "", 1)], "table").splitlines()
    assert any(WIDE_ROWS[0][1].strip() in line and "8,898,826" in line for line in lines)
    assert any("x" * 300 in line for line in lines)  # wider than any terminal, still one line
