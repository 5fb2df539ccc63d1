"""Seeded runs: identity by config hash, reuse of finished runs, resume of interrupted ones, mean ± std."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cnnzoo.errors import CnnzooError
from cnnzoo.experiments import runs as runs_mod
from cnnzoo.experiments.runs import (
    RESUMED,
    REUSED,
    TRAINED,
    experiment_run_dir,
    run_key,
    run_seeds,
)
from cnnzoo.stats import format_mean_std, mean_std

DIGITS = {"model": "resnet20", "data": "digits", "epochs": 1, "batch_size": 128, "train_limit": 256,
          "eval_limit": 64, "tensorboard": False, "plots": False, "device": "cpu"}  # fmt: skip


def test_run_key_ignores_paths_and_seed_but_not_the_arithmetic(tmp_path):
    base = run_key(DIGITS)
    assert run_key({**DIGITS, "seed": 7, "runs_root": str(tmp_path), "log_every": 3}) == base
    assert run_key({**DIGITS, "lr": 0.05}) != base
    assert run_key({**DIGITS, "model_options": {"zero_init_residual": True}}) != base
    assert experiment_run_dir(tmp_path, DIGITS, 2) == tmp_path / f"resnet20-{base}-seed2"


def test_run_key_depends_only_on_values_that_differ_from_the_defaults(monkeypatch):
    """A new config field at its default (the old behaviour) must not orphan the runs finished before it existed."""
    from cnnzoo.training.config import TrainConfig

    base = run_key(DIGITS)
    assert run_key({**DIGITS, "normalize": TrainConfig().data.normalize}) == base  # a field given at its default
    assert run_key({**DIGITS, "normalize": "pixel"}) != base
    real = TrainConfig.to_dict
    monkeypatch.setattr(TrainConfig, "to_dict", lambda self: {**real(self), "a_field_added_later": 1})
    assert run_key(DIGITS) == base  # the same new field in the config and the defaults


def test_mean_std_is_the_sample_deviation():
    assert mean_std([0.9, 0.92, 0.94]) == pytest.approx((0.92, 0.02))
    assert mean_std([0.5]) == (0.5, 0.0)
    assert format_mean_std(0.9125, 0.0018) == "91.25 ± 0.18"


@pytest.mark.slow
def test_finished_runs_are_reused_and_interrupted_ones_resumed(tmp_path, monkeypatch):
    from cnnzoo.training import loop as engine

    values = {**DIGITS, "epochs": 2}
    dirs = [experiment_run_dir(tmp_path, values, s) for s in (0, 1)]
    epochs_trained = []
    real_epoch = engine.train_one_epoch

    def interrupt_second_epoch_of_seed1(*args, **kwargs):
        cfg = args[3]
        if cfg.seed == 1 and len([e for e in epochs_trained if e == 1]) == 1:
            raise KeyboardInterrupt
        epochs_trained.append(cfg.seed)
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(engine, "train_one_epoch", interrupt_second_epoch_of_seed1)
    with pytest.raises(KeyboardInterrupt):
        run_seeds(values, [0, 1], dirs, quiet=True)
    assert epochs_trained == [0, 0, 1]  # seed 0 finished, seed 1 stopped in its second epoch
    assert (dirs[1] / "checkpoints" / "last.pt").is_file() and not (dirs[1] / "results.json").is_file()

    monkeypatch.setattr(
        engine, "train_one_epoch", lambda *a, **k: (epochs_trained.append("again"), real_epoch(*a, **k))[1]
    )
    runs = run_seeds(values, [0, 1], dirs, quiet=True)
    assert runs.status == [REUSED, RESUMED]
    assert epochs_trained[3:] == ["again"]  # only seed 1's missing epoch was trained
    assert [r["epochs"] for r in runs.results] == [2, 2]
    mean, std = runs.top1()
    assert 0 < mean <= 1 and std >= 0

    again = run_seeds(values, [0, 1], dirs, quiet=True)
    assert again.status == [REUSED, REUSED] and epochs_trained[3:] == ["again"]


def test_a_directory_of_another_setting_is_refused(tmp_path):
    dirs = [tmp_path / "r-seed0"]
    assert run_seeds(DIGITS, [0], dirs, quiet=True).status == [TRAINED]
    with pytest.raises(CnnzooError, match="holds a different run") as refused:
        run_seeds({**DIGITS, "lr": 0.05, "epochs": 2}, [0], dirs, quiet=True)
    message = str(refused.value)  # issue 20: it names what differs, both values, in one line
    assert "(epochs 1 there, 2 asked; lr 0.1 there, 0.05 asked)" in message and "\n" not in message
    assert "rerun with the same settings" in message


def test_a_refusal_lists_a_few_differences_and_cuts_long_values(tmp_path):
    import yaml

    from cnnzoo.training.config import TrainConfig

    (tmp_path / "config.yaml").write_text(yaml.safe_dump(TrainConfig.from_dict({**DIGITS, "seed": 1}).to_dict()))
    asked = {**DIGITS, "batch_size": 64, "lr": 0.05, "momentum": 0.8, "weight_decay": 0.0,
             "model_options": {"zero_init_residual": True, "stride_in_1x1": True}}  # fmt: skip
    with pytest.raises(CnnzooError) as refused:
        runs_mod._check_same_setting(tmp_path, asked, seed=0)
    message = str(refused.value)
    assert "(seed 1 there, 0 asked; batch_size 128 there, 64 asked; lr 0.1 there, 0.05 asked; " in message
    assert "model_options {} there, {'zero_init_residual': True... asked; and 2 more)" in message
    assert "\n" not in message


def test_model_recipe_is_the_models_own_recipe_file():
    values = runs_mod.model_recipe("resnet20")
    assert values["recipe"] == "recipes/resnet20_fast.yaml" and values["model"] == "resnet20"
    assert runs_mod.model_recipe("course_resnet50_layer4")["recipe"] == "recipes/course_cifar.yaml"


@pytest.mark.slow
def test_train_seeds_runs_sibling_directories_and_prints_mean_std(tmp_path):
    command = [sys.executable, "-m", "cnnzoo", "train", "--model", "resnet20", "--data", "digits", "--epochs", "1",
               "--train-limit", "256", "--eval-limit", "64", "--no-tensorboard", "--no-plots", "--device", "cpu",
               "--seeds", "2", "--run-dir", str(tmp_path / "r"), "-q"]  # fmt: skip
    first = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "r-seed0" / "results.json").is_file() and (tmp_path / "r-seed1" / "results.json").is_file()
    assert "seed 0 (trained)" in first.stdout and "seed 1 (trained)" in first.stdout
    assert "mean ± std over 2 seeds 0..1" in first.stdout
    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert "seed 0 (reused)" in second.stdout and "seed 1 (reused)" in second.stdout
    assert first.stdout.splitlines()[-1] == second.stdout.splitlines()[-1]
    bad = subprocess.run(command[:-1] + ["--seeds", "0"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.startswith("cnnzoo: error: --seeds must be a positive integer")


def _image_folder(root, seed: int, per_class: int = 4):
    """A 3-class image folder (train/ and test/) of 8x8 PNGs."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        for label in ("a", "b", "c"):
            (root / split / label).mkdir(parents=True)
            for i in range(per_class):
                Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(root / split / label / f"{i}.png")
    (root / "README.md").write_text("# a folder\n")
    return root


def test_runs_are_keyed_by_the_data_they_read_not_its_name(tmp_path):
    """Issue 20: another folder of the same dataset name must not reuse a run trained on the first."""
    import shutil

    first = _image_folder(tmp_path / "first", seed=0)
    other = _image_folder(tmp_path / "other", seed=1, per_class=3)
    copy = shutil.copytree(first, tmp_path / "elsewhere" / "copy")  # the same files in another place
    (copy / "README.md").write_text("# notes are not data\n")
    values = {**DIGITS, "data": "imagefolder", "val_size": 0.25, "eval_limit": None, "batch_size": 4}
    runs_root = tmp_path / "runs"
    key = {
        name: experiment_run_dir(runs_root, {**values, "data_dir": str(folder)}, 0)
        for name, folder in (("first", first), ("other", other), ("copy", copy))
    }
    assert key["first"] != key["other"] and key["first"] == key["copy"]
    assert run_key(DIGITS) == run_key({**DIGITS, "data_dir": None})  # runs without --data-dir keep their keys
    trained = run_seeds({**values, "data_dir": str(first)}, [0], [key["first"]], quiet=True)
    reused = run_seeds({**values, "data_dir": str(copy)}, [0], [key["copy"]], quiet=True)
    assert (trained.status, reused.status) == ([TRAINED], [REUSED])
    with pytest.raises(CnnzooError, match="does not exist or is not a folder"):
        run_key({**values, "data_dir": str(tmp_path / "missing")})
