"""The run directory: every artifact of a real (short) CIFAR-10 run exists and parses; metrics files stay consistent."""

from __future__ import annotations

import csv
import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image

from cnnzoo.errors import CnnzooError
from cnnzoo.training import runlog
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

    from cnnzoo.predict import load
    from cnnzoo.training.checkpoint import read_checkpoint
    from cnnzoo.training.train import train

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


# -------------------------------------------------------------------- the commit env.json records
def _git(cwd, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_env_records_the_commit_only_of_a_checkout_that_tracks_cnnzoo(tmp_path):
    """A source copy inside an unrelated repository records no commit; a real checkout records its own, and dirt."""
    package = Path(runlog.__file__).resolve().parents[1]
    other = tmp_path / "someone-elses-project"
    other.mkdir()
    _git(other, "init", "-q")
    (other / "notes.txt").write_text("their file")
    _git(other, "add", "notes.txt")
    _git(other, "commit", "-q", "-m", "theirs")
    copy = other / "vendor" / "src" / "cnnzoo"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert runlog.git_state(copy) == {"git_commit": None, "git_dirty": None}

    checkout = tmp_path / "cnnzoo-checkout"
    shutil.copytree(package, checkout / "src" / "cnnzoo", ignore=shutil.ignore_patterns("__pycache__"))
    _git(checkout, "init", "-q")
    _git(checkout, "add", "src")
    _git(checkout, "commit", "-q", "-m", "cnnzoo")
    head = _git(checkout, "rev-parse", "HEAD")
    assert runlog.git_state(checkout / "src" / "cnnzoo") == {"git_commit": head, "git_dirty": False}
    (checkout / "README.md").write_text("an untracked file outside the package is not dirt in cnnzoo's source")
    assert runlog.git_state(checkout / "src" / "cnnzoo")["git_dirty"] is False
    with open(checkout / "src" / "cnnzoo" / "errors.py", "a") as f:
        f.write("# a local edit\n")
    assert runlog.git_state(checkout / "src" / "cnnzoo") == {"git_commit": head, "git_dirty": True}


# -------------------------------------------------------------------- one writer per run directory
_HOLD_LOCK = (
    "import sys, time; from cnnzoo.training.runlog import RunDir; run = RunDir(sys.argv[1]); run.create(); "
    "print('locked', flush=True); time.sleep(60)"
)


def _lock_holder(path) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
def test_a_second_writer_is_refused_until_the_holder_dies(tmp_path):
    holder = _lock_holder(tmp_path / "run")
    try:
        with pytest.raises(CnnzooError) as err:
            RunDir(tmp_path / "run").create()
        assert str(err.value) == (
            f"{tmp_path / 'run'} is in use by another cnnzoo process (pid {holder.pid}); wait for it to end "
            "or give another run directory"
        )
        with pytest.raises(CnnzooError, match="in use by another cnnzoo process"):
            RunDir(tmp_path / "run").create(resume=True)
    finally:
        holder.kill()  # SIGKILL: no cleanup code runs, the lock file stays behind
        holder.wait()
    assert (tmp_path / "run" / ".lock").exists()
    run = RunDir(tmp_path / "run")
    run.create()  # the dead holder's lock file does not block
    assert (tmp_path / "run" / ".lock").read_text() == f"{os.getpid()}\n"
    run.close()
    RunDir(tmp_path / "run").create()  # released on close


def test_append_metrics_never_leaves_half_a_row(tmp_path, monkeypatch):
    """A write that fails (a full disk) leaves the metrics files as they were, not with a partial line."""
    from cnnzoo import io as checkpoint

    run = RunDir(tmp_path)
    run.append_metrics(_row(1))
    before = run.metrics_csv.read_text(), run.metrics_jsonl.read_text()

    def full_disk(f, *args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint.os, "fsync", full_disk)
    with pytest.raises(OSError):
        run.append_metrics(_row(2))
    monkeypatch.undo()
    assert (run.metrics_csv.read_text(), run.metrics_jsonl.read_text()) == before


def test_a_truncated_results_file_is_an_error_not_a_missing_file(tmp_path):
    run = RunDir(tmp_path)
    assert run.read_results() is None  # not finished: no results.json
    run.results.write_text('{"test": {"top1": 0.9')  # cut by a crash or a full disk
    with pytest.raises(CnnzooError, match=r"results.json is not a results record \(truncated or not JSON\)"):
        run.read_results()
