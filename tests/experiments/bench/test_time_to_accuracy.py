"""`cnnzoo bench time-to-accuracy`: cnnzoo's recipes and airbench94 on the same data, in its cache format."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from bench_checks import assert_metadata, assert_positive_finite, load_results

from cnnzoo.data import load_split
from cnnzoo.errors import CnnzooError
from cnnzoo.experiments.bench import time_to_accuracy
from cnnzoo.training.recipes import find_recipe, recipes_dir


@pytest.mark.slow
def test_smoke_run_writes_positive_finite_figures(run_cli, tmp_path, cifar10_jpeg_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the recipes are packaged: any working directory will do
    status, _ = run_cli(
        "bench", "time-to-accuracy", "--smoke", "--out", str(tmp_path), "--data-dir", str(cifar10_jpeg_dir)
    )
    assert status == 0
    record, md = load_results(tmp_path, "time_to_accuracy_cpu")
    assert_metadata(
        record,
        "time-to-accuracy",
        f"cnnzoo bench time-to-accuracy --smoke --out {tmp_path} --data-dir {cifar10_jpeg_dir}",
    )
    assert_positive_finite(record, ("top1_mean", "seconds_mean", "runs"))
    cnnzoo_rows = [row for row in record["rows"] if row["system"] == "cnnzoo"]
    assert len(cnnzoo_rows) == len(time_to_accuracy.SMOKE.recipes)
    for row in cnnzoo_rows:
        assert row["runs"] == time_to_accuracy.SMOKE.runs == len(row["per_run"])
        assert 0 < row["top1_mean"] <= 1
    # On a CPU airbench94 cannot run: it is named with the reason, never silently missing.
    assert any(s["what"] == "airbench94" and "CUDA" in s["reason"] for s in record["skipped"])
    assert "| system | recipe | runs | test top-1 |" in md and "airbench94: it needs a CUDA GPU" in md


def test_airbench_cache_holds_the_arrays_cnnzoo_trains_on(tmp_path, cifar10_jpeg_dir):
    folder = time_to_accuracy.write_airbench_cache(tmp_path, cifar10_jpeg_dir, train_limit=100)
    assert folder == tmp_path / "cifar10"
    train, test = torch.load(folder / "train.pt"), torch.load(folder / "test.pt")
    ours = load_split("cifar10", "test", cifar10_jpeg_dir)
    assert test["images"].dtype == torch.uint8 and test["images"].shape == (len(ours), 32, 32, 3)  # NHWC
    assert torch.equal(test["images"], ours.images.permute(0, 2, 3, 1)) and torch.equal(test["labels"], ours.labels)
    assert test["classes"] == ours.classes == train["classes"]
    assert train["images"].shape == (100, 32, 32, 3) and train["labels"].dtype == torch.int64
    assert train["labels"].bincount(minlength=10).min() == 10  # a class-stratified subset


def test_recipes_are_the_packaged_ones_by_name_and_a_wrong_name_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside the checkout: packaged recipes need no source tree
    for name in time_to_accuracy.RECIPES:
        assert find_recipe(name).is_relative_to(recipes_dir())
    setting = replace(time_to_accuracy.SMOKE, recipes=("recipes/nope.yaml",))
    with pytest.raises(CnnzooError, match="no such recipe file or packaged recipe: recipes/nope.yaml"):
        time_to_accuracy.run(setting, smoke=True, command="cnnzoo bench time-to-accuracy", out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()
