"""Shared fixtures: a fixed seed, few threads (CI has 2 cores), and the shared CIFAR-10 JPEG copy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    yield


def pytest_configure(config):
    torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def cifar10_jpeg_dir() -> Path:
    """The CIFAR-10 JPEG copy in ImageFolder layout; skip where absent, fail where CI requires it."""
    path = Path(os.environ.get("CNNZOO_CIFAR10_JPEG", REPO.parent / "shared" / "datasets" / "cifar10-jpeg"))
    if not (path / "train").is_dir():
        if os.environ.get("CNNZOO_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(f"CNNZOO_REQUIRE_SHARED_DATA=1 but no CIFAR-10 JPEG copy at {path}")
        pytest.skip(f"no CIFAR-10 JPEG copy at {path} (set CNNZOO_CIFAR10_JPEG)")
    return path


@pytest.fixture(scope="session")
def cifar10_cache(tmp_path_factory) -> Path:
    """One decoded-image cache for the tests that train on the JPEG copy: each split is decoded once a session
    (~14 s on 2 cores), not once a test; tests of the cache itself keep their own."""
    return tmp_path_factory.mktemp("cifar10-cache")


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory) -> Path:
    """One short trained run (ResNet-20 on the 8×8 digits, 3 epochs) for the tests that read a run:
    explain, report and the browser test share it."""
    from cnnzoo import train

    run = tmp_path_factory.mktemp("digits") / "run"
    train(
        {
            "model": "resnet20",
            "data": "digits",
            "epochs": 3,
            "batch_size": 64,
            "lr": 0.1,
            "schedule": "cosine",
            "precision": "fp32",
            "tensorboard": False,
            "run_dir": str(run),
        },
        quiet=True,
    )
    return run


@pytest.fixture
def cli(capsys):
    """cli(argv) -> (exit status, stdout, stderr) of `cnnzoo ARGV` in this process; a one-line error's SystemExit
    becomes its status."""
    from cnnzoo.cli import main

    def run(argv: list[str]) -> tuple[int, str, str]:
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code
        out, err = capsys.readouterr()
        return code, out, err

    return run
