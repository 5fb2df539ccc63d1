"""Report folders: checked before any work, and their results.json checked when read back."""

from __future__ import annotations

import os

import pytest

from cnnzoo.errors import CnnzooError
from cnnzoo.experiments import leaderboard
from cnnzoo.experiments.report import read_results, schema_problem
from cnnzoo.io import check_output_folder


@pytest.fixture
def no_training(monkeypatch):
    """Training fails the test: a refusal must come before it."""

    def trained(*args, **kwargs):
        raise AssertionError("trained before refusing")

    monkeypatch.setattr(leaderboard, "run_seeds", trained)


def test_leaderboard_refuses_an_output_it_cannot_write_before_any_training(tmp_path, no_training):
    taken = tmp_path / "a-file"
    taken.write_text("")
    for out, runs_root, message in [
        (taken, tmp_path / "runs", f"--out {taken} is a file, not a folder"),
        (
            taken / "report",
            tmp_path / "runs",
            f"--out {taken / 'report'} cannot be made: {taken} is a file, not a folder",
        ),
        (tmp_path / "report", taken, f"--runs-root {taken} is a file, not a folder"),
    ]:
        with pytest.raises(CnnzooError, match=f"^{message}; give a folder to write into$"):
            leaderboard.run_leaderboard(["resnet20"], seeds=1, budget="quick", out=out, runs_root=runs_root)
    assert not (tmp_path / "report").exists() and not (tmp_path / "runs").exists()  # the check creates nothing


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    with pytest.raises(CnnzooError, match=r"^cannot write into --out .*locked/report \(permission denied in"):
        check_output_folder(locked / "report")


def test_read_results_says_missing_truncated_or_of_another_shape(tmp_path):
    path = tmp_path / "results.json"
    fix = "measure it again"
    with pytest.raises(CnnzooError, match=rf"^{path} does not exist; measure it again$"):
        read_results(path, fix=fix)
    path.write_text('{"models": [{"label": "ResNet-18", "ma')
    truncated = rf"^{path} is truncated or not JSON \(Unterminated string .* of 38 characters\); "
    with pytest.raises(CnnzooError, match=truncated):
        read_results(path, fix=fix)
    path.write_text('{"models": [{"label": 3}]}')
    with pytest.raises(
        CnnzooError,
        match=r"is not the results expected here: it\['models'\]\[0\]\['label'\] is "
        r"an integer \(3\), not text; measure it again$",
    ):
        read_results(path, {"models": [{"label": str}]}, fix=fix)


def test_schema_problems_name_the_first_misfit():
    schema = {"n": int, "x": float, "rows": {str: [{"t": [float]}]}, "maybe": (str, type(None))}
    good = {"n": 1, "x": 2, "rows": {"a": [{"t": [1.5, 2]}]}, "maybe": None, "more": "kept"}
    assert schema_problem(good, schema) is None
    assert schema_problem({**good, "n": True}, schema) == "it['n'] is true or false (true), not an integer"
    assert (
        schema_problem({**good, "rows": {"a": [{"t": "x"}]}}, schema)
        == "it['rows']['a'][0]['t'] is text (\"x\"), not a list"
    )
    assert schema_problem({}, schema) == "it has no 'n', 'x', 'rows', 'maybe'"
    assert schema_problem([], schema) == "it is a list ([]), not a mapping"
