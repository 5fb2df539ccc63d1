"""The README's front door stays true: generated tables match the code, the two commands are the CI's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_readme_tables_are_regenerated_from_code():
    proc = subprocess.run(
        [sys.executable, "tools/readme_tables.py", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_ci_runs_the_readme_commands():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    for command in ('pip install -q -e ".[test]"', "cnnzoo train --config digits", "python -m pytest"):
        assert command.replace(" -q", "") in readme, command
        assert command in ci, command
