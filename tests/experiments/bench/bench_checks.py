"""Checks shared by the bench tests: read a mode's result files and check every figure in them."""

from __future__ import annotations

import json
import math
from pathlib import Path


def load_results(out: Path, stem: str) -> tuple[dict, str]:
    """The JSON record and the Markdown report a smoke run wrote under `out`."""
    return json.loads((out / f"{stem}.json").read_text()), (out / f"{stem}.md").read_text()


def assert_positive_finite(record: dict, keys: tuple[str, ...]) -> None:
    """Every row has each of `keys` as a positive, finite number."""
    assert record["rows"], "no rows measured"
    for row in record["rows"]:
        for key in keys:
            value = row[key]
            assert isinstance(value, (int, float)) and math.isfinite(value) and value > 0, (key, row)


def assert_metadata(record: dict, mode: str, command: str) -> None:
    env = record["environment"]
    assert record["mode"] == mode and record["smoke"] is True and record["command"] == command
    assert env["device"] == "cpu" and env["torch"] and env["torchvision"] and env["cnnzoo"] and env["cpu"]
    assert record["date"][:2] == "20"
