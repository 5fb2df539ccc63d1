"""The run directory: every artifact of a real (short) CIFAR-10 run exists and parses; metrics files stay consistent."""

from __future__ import annotations

import csv
import json

import pytest
import torch
import yaml
from PIL import Image

from cnnzoo.errors import CnnzooError
from cnnzoo.training.runlog import METRIC_COLUMNS, RunDir, default_run_dir


def _row(epoch: int, **extra) -> dict:
    row = {"epoch": epoch, "step": 10 * epoch, "lr": 0.1, "train_loss": 1.0 / epoch, "train_acc": 0.5, "time": 1.5}
    return {**row, "val_loss": None, "val_top1": None, "val_top5": None, "images_per_s": 100.0, **extra}


def test_rewrite_then_append_keeps_one_row_per_epoch(tmp_path):
    run = RunDir(tmp_path)
    for epoch in (1, 2, 3):
        run.append_metrics(_row(epoch))
    run.rewrite_metrics([_row(1), _row(2)])  # a resume from the epoch-2 checkpoint drops the stray epoch 3
    run.append_metrics(_row(3, train_loss=0.25))
    with open(run.metrics_csv) as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"] and rows[2]["train_loss"] == "0.25"
    assert list(rows[0]) == list(METRIC_COLUMNS) and rows[0]["val_top1"] == ""
    assert [r["epoch"] for r in run.read_metrics()] == [1, 2, 3]


def test_default_run_dir_names_model_data_and_time_and_never_collides(tmp_path):
    first = default_run_dir(tmp_path, "resnet20", "cifar10")
    assert first.name.startswith("resnet20-cifar10-")
    first.mkdir()
    second = default_run_dir(tmp_path, "resnet20", "cifar10")
    assert second != first and not second.exists()


def test_create_refuses_a_file_in_the_way(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(CnnzooError, match="not writable"):
        RunDir(tmp_path / "f" / "run").create()


@pytest.mark.slow
def test_short_cifar10_run_writes_the_whole_run_directory(tmp_path, cifar10_jpeg_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from cnnzoo.training.checkpoint import load, read_checkpoint
    from cnnzoo.training.engine import train

    run_dir = tmp_path / "run"
    results = train(
        {
            "model": "resnet20",
            "data": "imagefolder",
            "data_dir": str(cifar10_jpeg_dir),
            "cache_dir": str(tmp_path / "cache"),
            "loader": "stream",
            "workers": 0,
            "train_limit": 256,
            "eval_limit": 128,
            "val_size": 500,
            "epochs": 1,
            "batch_size": 64,
            "crop_padding": 4,
            "flip": True,
            "run_dir": str(run_dir),
        },  # fmt: skip
        quiet=True,
    )
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["model"] == "resnet20" and config["train_limit"] == 256 and config["run_dir"] == str(run_dir)

    env = json.loads((run_dir / "env.json").read_text())
    for key in (
        "cnnzoo",
        "torch",
        "torchvision",
        "python",
        "cuda",
        "device_name",
        "cpu",
        "git_commit",
        "hostname",
        "command",
    ):
        assert key in env
    assert env["torch"] == torch.__version__

    with open(run_dir / "metrics.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert row["epoch"] == "1" and int(row["step"]) == 256 // 64 and 0 <= float(row["val_top1"]) <= 1
    (line,) = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert set(json.loads(line)) == set(METRIC_COLUMNS) and json.loads(line)["images_per_s"] > 0

    events = EventAccumulator(str(run_dir / "tb"))
    events.Reload()
    assert {"train/train_loss", "val/val_top1", "misc/lr", "test/top1"} <= set(events.Tags()["scalars"])

    for png in ("curves.png", "confusion.png"):
        with Image.open(run_dir / png) as image:
            assert image.format == "PNG" and image.size[0] > 100

    last = read_checkpoint(run_dir / "checkpoints" / "last.pt")
    best = read_checkpoint(run_dir / "checkpoints" / "best.pt")
    for key in ("model", "optimizer", "scheduler", "scaler", "ema", "rng", "epoch", "step", "config", "best", "classes",
                "mean", "std", "model_name", "model_options", "in_chans", "image_size"):  # fmt: skip
        assert key in last, key
    assert last["classes"] == classes and last["in_chans"] == 3 and last["image_size"] == [32, 32]
    assert best["epoch"] == last["epoch"] == 1

    from safetensors.torch import load_file

    weights = load_file(str(run_dir / "model.safetensors"))
    assert weights.keys() == best["model"].keys()
    assert all(torch.equal(weights[k], best["model"][k]) for k in weights)

    saved = json.loads((run_dir / "results.json").read_text())
    assert saved["test"]["count"] == 128 and 0 <= saved["test"]["top1"] <= saved["test"]["top5"] <= 1
    assert saved["classes"] == classes and list(saved["per_class"]) == classes
    assert len(saved["confusion"]) == 10 and sum(map(sum, saved["confusion"])) == 128
    assert saved["val_best"]["epoch"] == 1 and saved["epochs"] == 1 and saved["device"] == "cpu"
    assert saved["test"] == results["test"]

    loaded = load(run_dir)
    first = next((cifar10_jpeg_dir / "test" / "cat").iterdir())
    (preds,) = loaded.predict([first], topk=5)
    assert len(preds) == 5 and all(c in classes for c, _ in preds)
