"""`cnnzoo leaderboard --budget quick` on the CIFAR-10 JPEG copy: the report's rows, mean ± std and plots."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import torch
from PIL import Image

from cnnzoo.experiments import leaderboard


def test_default_models_are_registered_and_cover_every_family():
    from cnnzoo.models import get_model_config, list_models

    assert set(leaderboard.DEFAULT_MODELS) <= set(list_models())
    assert {
        "resnet20",
        "resnet56",
        "resnet110",
        "preact_resnet110",
        "resnet18",
        "vgg11_bn",
        "vgg16_bn",
        "nin",
        "googlenet",
        "alexnet",
        "course_resnet18",
        "course_resnet50_layer4",
    } <= set(leaderboard.DEFAULT_MODELS)
    families = {get_model_config(name).family for name in list_models()}
    assert families == {get_model_config(name).family for name in leaderboard.DEFAULT_MODELS}


def test_model_values_use_the_small_stem_and_the_budget():
    values = leaderboard.model_values("alexnet", "cifar10", "quick", {"device": "cpu"})
    assert values["model_options"] == {"small_input": True} and values["epochs"] == 1
    assert values["train_limit"] == leaderboard.BUDGETS["quick"]["train_limit"] and values["device"] == "cpu"


@pytest.mark.slow
def test_unknown_budget_and_model_are_one_line_errors(tmp_path):
    for args in (["--budget", "fast"], ["--models", "resnet21", "--budget", "quick"], ["--seeds", "x"]):
        done = subprocess.run(
            [sys.executable, "-m", "cnnzoo", "leaderboard", *args, "--out", str(tmp_path / "o")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2 and done.stderr.startswith("cnnzoo: error:") and done.stderr.count("\n") == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_quick_leaderboard_writes_the_report_and_reuses_its_runs(tmp_path, cifar10_jpeg_dir):
    command = [sys.executable, "-m", "cnnzoo", "leaderboard", "--budget", "quick", "--seeds", "2",
               "--models", "resnet20", "plain20", "--data-dir", str(cifar10_jpeg_dir), "--device", "cpu",
               "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "report"),
               "--runs-root", str(tmp_path / "runs")]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("training seed") == 4

    report = (tmp_path / "report" / "report.md").read_text()
    rows = [line for line in report.splitlines() if re.match(r"\| (resnet20|plain20) \|", line)]
    assert len(rows) == 2
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert (
            re.fullmatch(r"\d+\.\d\d ± \d+\.\d\d", cells[1])
            and cells[-1] == "1"
            and cells[-2] == "recipes/resnet20_fast.yaml"
        )
    assert "CIFAR-10, JPEG copy" in report and "quick" in report and "4 trained, 0 resumed, 0 reused" in report

    record = json.loads((tmp_path / "report" / "results.json").read_text())
    assert [m["model"] for m in record["models"]] == ["resnet20", "plain20"]
    resnet20 = record["models"][0]
    assert resnet20["params"] == 269_722 and resnet20["macs"] > 0 and resnet20["infer_images_per_s"] > 0
    assert len(resnet20["top1"]) == 2 and resnet20["top1_mean"] == pytest.approx(sum(resnet20["top1"]) / 2)
    for name in leaderboard.FIGURES:
        path = tmp_path / "report" / name
        assert path.stat().st_size > 0
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size[0] > 100 and image.size[1] > 100

    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "training seed" not in again.stdout and again.stdout.count("reusing") == 4
    assert "0 trained, 0 resumed, 4 reused" in (tmp_path / "report" / "report.md").read_text()


def test_quick_budgets_load_data_that_is_not_an_image_folder():
    """Regression (issue 20): quick's `loader: stream` on digits said "--loader stream reads image folders only";
    array datasets are held in memory whatever the loader asked for."""
    from cnnzoo.data import DataSpec, build_loaders

    quick = leaderboard.BUDGETS["quick"]
    fields = ("batch_size", "eval_batch_size", "val_size", "loader", "workers", "train_limit", "eval_limit")
    loaders = build_loaders(DataSpec("digits", **{key: quick[key] for key in fields}))
    assert quick["loader"] == "stream" and loaders.train.num_samples == quick["train_limit"]


def test_quick_budgets_hold_out_a_share_that_small_folders_have(tmp_path):
    # A 500-image validation set failed on a 60-image folder, naming no flag leaderboard or reproduce has.
    from cnnzoo.data import DataSpec, build_loaders
    from cnnzoo.data.datasets import holdout_indices

    for split, count in (("train", 6), ("test", 2)):  # 10 classes: 60 training images
        for k in range(10):
            (tmp_path / "small" / split / f"c{k}").mkdir(parents=True)
            for i in range(count):
                Image.new("RGB", (8, 8), (25 * k, i, 9 * i + k)).save(tmp_path / "small" / split / f"c{k}" / f"{i}.png")
    quick = leaderboard.BUDGETS["quick"]
    fields = ("batch_size", "eval_batch_size", "val_size", "loader", "workers", "train_limit", "eval_limit")
    values = {key: quick[key] for key in fields}
    loaders = build_loaders(DataSpec("imagefolder", data_dir=str(tmp_path / "small"), **values))
    assert loaders.val is not None and loaders.val.num_samples == 1
    labels = torch.arange(50_000) % 10  # CIFAR-10's training split: the 500 images quick always held out
    assert len(holdout_indices(labels, quick["val_size"], 0)[1]) == 500


def test_quick_budgets_shorten_each_recipes_schedule_without_a_warning():
    """Issue 20: quick's four steps were all warm-up (42 warnings naming --warmup-epochs, which leaderboard lacks)
    and reproduce's milestones 32000/48000 fell after its last step: the schedule now shrinks with the run."""
    from cnnzoo.experiments.reproduce import common
    from cnnzoo.training.config import TrainConfig

    quick = leaderboard.BUDGETS["quick"]
    steps = quick["train_limit"] // quick["batch_size"]
    configs = {name: leaderboard.model_values(name, "cifar10", "quick") for name in leaderboard.DEFAULT_MODELS}
    configs["paper recipe"] = common.resnet_values("resnet110", "quick")
    for name, values in configs.items():
        assert TrainConfig.from_dict(values).run_warnings(quick["train_limit"], steps) == [], name
    paper = common.budget_values("quick", common.paper_recipe())
    assert (paper["milestones"], paper["milestone_unit"]) == ([0.5, 0.75], "epochs")  # 32k and 48k of 64k steps
    alexnet = configs["alexnet"]  # milestones 15 and 23 of 30 epochs, warm-up 1 epoch, in one epoch
    assert alexnet["milestones"] == [0.5, round(23 / 30, 4)] and alexnet["warmup_epochs"] == round(1 / 30, 4)
    warm = leaderboard.shortened({"epochs": 100, "max_steps": 64000, "warmup_steps": 400}, {"max_steps": 16000})
    assert (warm["warmup_steps"], warm["warmup_epochs"]) == (100, 0.0)


def test_a_budget_sized_for_a_gpu_warns_on_a_cpu_before_training(tmp_path, monkeypatch):
    def trained(*args, **kwargs):
        raise AssertionError("trained")

    monkeypatch.setattr(leaderboard, "run_seeds", trained)
    with pytest.warns(
        UserWarning,
        match="--budget full is sized for a GPU: on this CPU each run trains for many "
        "hours; --budget quick checks the machinery in minutes",
    ):
        with pytest.raises(AssertionError, match="trained"):
            leaderboard.run_leaderboard(
                ["resnet20"],
                seeds=1,
                budget="full",
                out=tmp_path / "o",
                runs_root=tmp_path / "r",
                extra={"device": "cpu"},
            )


def test_an_interrupted_leaderboard_says_to_run_the_same_command_again(tmp_path, monkeypatch, capsys):
    """Not `train --resume` of the one run it was training: the same command resumes every run."""
    from cnnzoo.cli import main
    from cnnzoo.errors import Interrupted

    run_dir = tmp_path / "runs" / "resnet20-abc-seed1"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "last.pt").write_bytes(b"")

    def interrupted(*args, **kwargs):
        raise Interrupted(15, str(run_dir))

    monkeypatch.setattr(leaderboard, "run_leaderboard", interrupted)
    with pytest.raises(SystemExit) as info:
        main(["leaderboard", "--budget", "quick", "--models", "resnet20", "--out", str(tmp_path / "o")])
    assert info.value.code == 128 + 15
    assert capsys.readouterr().err == (
        "cnnzoo: interrupted; rerun the same command to resume: finished runs are reused, the interrupted one resumed\n"
    )
