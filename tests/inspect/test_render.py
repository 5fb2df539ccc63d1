"""One table, four formats."""

from __future__ import annotations

import json

import pytest

from cnnzoo.inspect.render import FORMATS, render_table

COLUMNS = ("model", "params", "GMACs")
ROWS = [("a", 1234567, 0.5), ("b", 12, None)]


def test_four_formats():
    assert FORMATS == ("table", "markdown", "json", "csv")
    assert json.loads(render_table(COLUMNS, ROWS, "json")) == [
        {"model": "a", "params": 1234567, "GMACs": 0.5}, {"model": "b", "params": 12, "GMACs": None}
    ]
    assert render_table(COLUMNS, ROWS, "csv").splitlines() == ["model,params,GMACs", "a,1234567,0.5", "b,12,"]
    markdown = render_table(COLUMNS, ROWS, "markdown", title="T").splitlines()
    assert markdown[0] == "**T**" and markdown[3] == "|---|---:|---:|" and markdown[4] == "| a | 1,234,567 | 0.5 |"
    table = render_table(COLUMNS, ROWS, "table")
    assert "1,234,567" in table and "┃ model" in table


def test_unknown_format():
    with pytest.raises(ValueError, match="unknown format"):
        render_table(COLUMNS, ROWS, "html")
