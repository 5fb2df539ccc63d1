"""Every command that reads data says the same thing when CIFAR-10 is neither cached nor downloadable."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import pytest
import torchvision

from cnnzoo.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def offline(tmp_path, monkeypatch) -> Path:
    """An empty cache ($CNNZOO_CACHE) and a CIFAR-10 download that fails as it does without a network."""

    class Offline:
        def __init__(self, root, train=True, download=False):
            raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", Offline)
    cache = tmp_path / "cache"
    monkeypatch.setenv("CNNZOO_CACHE", str(cache))
    return cache


def _digits_run(run_dir: Path) -> Path:
    """A two-step digits run, for `evaluate --data cifar10` to start from."""
    argv = ["train", "--model", "resnet20", "--data", "digits", "--epochs", "1", "--max-steps", "2",
            "--batch-size", "64", "--no-tensorboard", "--no-plots", "-q", "--run-dir", str(run_dir)]  # fmt: skip
    assert main(argv) == 0
    return run_dir


COMMANDS = {
    "train": lambda tmp: ["train", "--model", "resnet20", "--data", "cifar10", "--runs-root", str(tmp / "runs")],
    "evaluate": lambda tmp: ["evaluate", str(_digits_run(tmp / "digits")), "--data", "cifar10"],
    "leaderboard": lambda tmp: ["leaderboard", "--budget", "quick", "--models", "resnet20", "--seeds", "1",
                                "--device", "cpu", "--runs-root", str(tmp / "runs"), "--out", str(tmp / "out")],
    "reproduce": lambda tmp: ["reproduce", "degradation", "--budget", "quick", "--depths", "20", "--device", "cpu",
                              "--runs-root", str(tmp / "runs"), "--out", str(tmp / "out")],
    "bench": lambda tmp: ["bench", "time-to-accuracy", "--smoke", "--no-airbench", "--out", str(tmp / "out")],
}  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_cifar10_names_the_path_and_data_dir_never_the_loader(command, offline, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)  # bench finds its recipes relative to the repository
    argv = COMMANDS[command](tmp_path)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err
    error = err.splitlines()[-1]  # after any progress note
    assert error.startswith(f"cnnzoo: error: could not download or read cifar10 at {offline / 'datasets' / 'cifar10'}")
    assert "pass --data-dir" in error and "--loader" not in err
