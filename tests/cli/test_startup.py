"""What a new user meets first: `cnnzoo --version`, a start without torch's import cost, warnings as one line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cnnzoo
from cnnzoo.cli import main, models_cmd

REPO = Path(__file__).resolve().parents[2]


def python(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd)


def imported_modules(importtime_log: str) -> set[str]:
    """The modules a `python -X importtime` run imported, read from its stderr."""
    return {line.rsplit("|", 1)[1].strip() for line in importtime_log.splitlines() if line.startswith("import time:")}


# -- --version -----------------------------------------------------------------------------------------------


def test_version_names_cnnzoo_torch_and_torchvision(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"cnnzoo {cnnzoo.__version__} (torch {version('torch')}, torchvision {version('torchvision')}, "
    )
    assert out.count("\n") == 1


def test_the_package_version_has_one_source():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "cnnzoo.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", cnnzoo.__version__)


# -- starting without torch ----------------------------------------------------------------------------------


def test_import_cnnzoo_leaves_torch_unimported_until_a_model_is_made():
    code = (
        "import sys, cnnzoo\n"
        "assert cnnzoo.__version__ and issubclass(cnnzoo.CnnzooError, ValueError)\n"
        "print('torch' in sys.modules)\n"
        "from cnnzoo import create_model\n"
        "model = create_model('resnet20')\n"
        "import torch\n"
        "print(isinstance(model, torch.nn.Module), model.default_cfg.input_size)\n"
    )
    proc = python("-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["False", "True (3, 32, 32)"]


@pytest.mark.parametrize(
    "args, status",
    [
        (["--version"], 0),
        (["--help"], 0),
        (["train", "--help"], 0),  # one flag per TrainConfig field
        (["summary", "--help"], 0),
        (["summary"], 2),  # an argument error: the model is missing
        (["train", "--epochs"], 2),
    ],
)
def test_the_parser_does_not_import_torch(args, status):
    proc = python("-X", "importtime", "-m", "cnnzoo", *args)
    assert proc.returncode == status, proc.stderr[-2000:]
    modules = imported_modules(proc.stderr)
    assert "cnnzoo.cli.train_cmd" in modules  # the log is read right: the whole parser was built
    assert "torch" not in modules


def test_the_lazy_names_resolve_to_their_definitions():
    from cnnzoo.inspect.summary import summary
    from cnnzoo.models import ModelConfig
    from cnnzoo.predict import load
    from cnnzoo.pretrained import create_model
    from cnnzoo.training.config import TrainConfig
    from cnnzoo.training.train import train

    assert (cnnzoo.create_model, cnnzoo.summary, cnnzoo.load, cnnzoo.train) == (create_model, summary, load, train)
    assert (cnnzoo.ModelConfig, cnnzoo.TrainConfig) == (ModelConfig, TrainConfig)
    assert all(hasattr(cnnzoo, name) for name in cnnzoo.__all__)
    assert set(cnnzoo.__all__) <= set(dir(cnnzoo))
    with pytest.raises(AttributeError, match="no attribute 'create_modle'"):
        cnnzoo.create_modle  # noqa: B018


# -- warnings --------------------------------------------------------------------------------------------------


def test_a_commands_warnings_are_one_line_each(monkeypatch, capsys):
    def run(args):
        warnings.warn("cnnzoo's own warning", UserWarning, stacklevel=2)
        warnings.warn_explicit("a library's warning\n  on two lines", RuntimeWarning, "/site-packages/lib.py", 7)
        return 0

    monkeypatch.setattr(models_cmd, "run", run)
    shown = warnings.showwarning
    assert main(["models"]) == 0
    err = capsys.readouterr().err
    assert err == "cnnzoo: warning: cnnzoo's own warning\ncnnzoo: warning: a library's warning on two lines\n"
    assert warnings.showwarning is shown  # the API keeps Python's display


def write_folder_with_a_corrupt_image(root: Path) -> Path:
    """root/{train,test}/{cat,dog}/ of 8x8 PNGs, and one file in train/cat that is no image."""
    rng = np.random.default_rng(0)
    for split, count in (("train", 4), ("test", 2)):
        for name in ("cat", "dog"):
            (root / split / name).mkdir(parents=True)
            for i in range(count):
                Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(root / split / name / f"{i}.png")
    broken = root / "train" / "cat" / "broken.png"
    broken.write_bytes(b"not an image")
    return broken


@pytest.mark.slow  # a real training run in a fresh interpreter: torch's import and one epoch, ~6 s
def test_skip_corrupt_warns_in_one_line(tmp_path):
    write_folder_with_a_corrupt_image(tmp_path / "folder")
    proc = python(
        "-m", "cnnzoo", "train", "--model", "resnet20", "--data", "imagefolder", "--data-dir", "folder",
        "--skip-corrupt", "--epochs", "1", "--batch-size", "4", "--full-train", "--device", "cpu", "--run-dir", "run",
        "--cache-dir", "cache", "--no-tensorboard", "--no-plots", "-q",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    folder = os.path.abspath(tmp_path / "folder")  # a run stores its data_dir as an absolute path
    warning = f"cnnzoo: warning: skipped 1 unreadable image(s) under {folder}/train, e.g. {folder}/train/cat/broken.png"
    assert warning in proc.stderr.splitlines()
    assert all(line.startswith("cnnzoo: ") for line in proc.stderr.splitlines())  # no source paths, no code echo
