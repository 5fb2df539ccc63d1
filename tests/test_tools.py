"""The tools that keep the README honest: a recorded run becomes a results row, nothing else does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import readme_tables  # noqa: E402


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> Path:
    from cnnzoo.training.engine import train

    run_dir = tmp_path_factory.mktemp("runs") / "run"
    train({"model": "resnet20", "data": "digits", "epochs": 1, "run_dir": str(run_dir), "tensorboard": False,
           "plots": False, "recipe": "recipes/resnet20_fast.yaml"}, quiet=True)
    return run_dir


def test_unrecorded_targets_read_not_yet_measured(tmp_path):
    table = readme_tables.cifar10_results(tmp_path)
    assert table.count("not yet measured") == len(readme_tables.CIFAR10_TARGETS)


def test_a_recorded_run_fills_its_row(digits_run, tmp_path):
    proc = subprocess.run([sys.executable, "tools/record_result.py", str(digits_run), "--into", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    record = tmp_path / "resnet20_fast"
    assert sorted(p.name for p in record.iterdir()) == ["config.yaml", "env.json", "metrics.csv", "results.json"]
    top1 = json.loads((record / "results.json").read_text())["test"]["top1"]
    row = next(line for line in readme_tables.cifar10_results(tmp_path).splitlines() if "ResNet-20" in line)
    assert f"{100 * top1:.2f}%" in row and "not yet measured" not in row and "| cpu |" in row


def test_recording_an_unfinished_run_is_refused(tmp_path):
    proc = subprocess.run([sys.executable, "tools/record_result.py", str(tmp_path), "--into", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2 and "not a finished run" in proc.stderr
