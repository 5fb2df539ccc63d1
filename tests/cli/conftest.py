"""The CLI tests' fixtures: the check every command's JSON output passes (`cli`, `cnnzoo ARGS` in this process, is
tests/conftest.py's)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

JSON_KEY = re.compile(r"[a-z][a-z0-9_]*")
# A number written as text, the way tables show them: 0.041, 1,000, 2.7K, 54M, 1.8×10^9. Plain digits ("3",
# "4096") are left alone: class names and the lengths of flat vectors are text that may be digits.
NUMBER_TEXT = re.compile(r"-?\d[\d,]*\.\d+|-?\d{1,3}(,\d{3})+|-?\d[\d.]*(×10\^\d+|[KMG])")


def check_json_fields(data: Any, keyed_by_data: tuple[str, ...] = ("per_class",), where: str = "") -> None:
    """Every key is snake_case and no number is written as text; `keyed_by_data` maps have class names for keys."""
    if isinstance(data, dict):
        for key, value in data.items():
            assert JSON_KEY.fullmatch(key), f"key {key!r} at {where or 'top'} is not snake_case"
            if key in keyed_by_data:
                value = list(value.values())
            check_json_fields(value, keyed_by_data, f"{where}.{key}")
    elif isinstance(data, list):
        for i, item in enumerate(data):
            check_json_fields(item, keyed_by_data, f"{where}[{i}]")
    elif isinstance(data, str):
        assert not NUMBER_TEXT.fullmatch(data), f"{where} is the number {data!r} written as text"


@pytest.fixture
def check_json() -> Callable[..., None]:
    """The check of JSON output, for tests in other files."""
    return check_json_fields
