"""A plain `pip install` works anywhere: the wheel holds everything cnnzoo reads at run time (issue 15)."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cnnzoo.training.recipes import recipe_names

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "cnnzoo"
# The one module that may look at its own location: env.json records the commit only of cnnzoo's own checkout.
FILE_ALLOWED = {SRC / "training" / "runlog.py"}


def test_no_module_reads_files_beside_the_source_tree():
    for path in SRC.rglob("*.py"):
        if path not in FILE_ALLOWED:
            assert "__file__" not in path.read_text(), f"{path} locates files by __file__; use importlib.resources"


@pytest.mark.slow
def test_the_wheel_ships_recipes_types_and_licence(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("cnnzoo-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = archive.read(metadata).decode()
    assert {f"cnnzoo/recipes/{name}.yaml" for name in recipe_names()} <= names
    assert "cnnzoo/py.typed" in names
    assert any(re.fullmatch(r"cnnzoo-[^/]+\.dist-info/licenses/LICENSE", n) for n in names)
    assert "License-Expression: MIT" in meta
    requires = [line for line in meta.splitlines() if line.startswith("Requires-Dist: torch")]
    assert requires and not any("<" in line for line in requires)  # no cap that nothing is known to need
