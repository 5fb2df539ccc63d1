"""`cnnzoo export` and `cnnzoo.export`: exported files compute what the PyTorch model computes (checked here
with onnxruntime, torch.jit and torch.export, independently of the export's own check), carry the
preprocessing as metadata, and an ONNX file predicts the same top-k as its checkpoint."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnnzoo.cli import main
from cnnzoo.models import create_model
from cnnzoo.predict import load
from cnnzoo.training.checkpoint import save_checkpoint

pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
ort = pytest.importorskip("onnxruntime")

from cnnzoo.export import TOLERANCE, export_model  # noqa: E402
from cnnzoo.predict import read_metadata, run_exported  # noqa: E402

CLASSES = [f"class{i}" for i in range(10)]


def make_checkpoint(root: Path, name: str, in_chans: int = 3, size: int = 32, **options) -> Path:
    """An untrained model's checkpoint with non-trivial BatchNorm statistics, so eval mode matters."""
    torch.manual_seed(0)
    model = create_model(name, num_classes=len(CLASSES), in_chans=in_chans, **options)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
    path = root / name / "best.pt"
    save_checkpoint(path, {
        "model": model.state_dict(), "eval_weights": "model", "config": {}, "model_name": name,
        "model_options": options, "classes": CLASSES, "mean": [0.5] * in_chans, "std": [0.25] * in_chans,
        "in_chans": in_chans, "image_size": [size, size],
    })  # fmt: skip
    return path


def assert_matches_pytorch(checkpoint: Path, exported: Path, fmt: str, batch: int) -> None:
    """Run the file on a fresh random batch and compare with the checkpoint's PyTorch model."""
    loaded = load(checkpoint)
    x = torch.randn(batch, loaded.in_chans, *loaded.image_size, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        expected = loaded.model(x)
        got = run_exported(exported, fmt)(x)
    assert got.shape == expected.shape == (batch, len(CLASSES))
    assert float((got - expected).abs().max()) <= TOLERANCE


# one model of every family, at a small input size
FAMILIES = [
    pytest.param("resnet20", {}, id="resnet20", marks=pytest.mark.slow),
    pytest.param("googlenet", {"small_input": True}, id="googlenet", marks=pytest.mark.slow),
    pytest.param("vgg11_bn", {"head": "small", "small_input": True}, id="vgg11_bn", marks=pytest.mark.slow),
    pytest.param("nin", {}, id="nin", marks=pytest.mark.slow),
    pytest.param("alexnet", {"small_input": True}, id="alexnet", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "exported-program"])
@pytest.mark.parametrize(("name", "options"), FAMILIES)
def test_every_family_exports_with_outputs_equal_to_pytorch(tmp_path, name, options, fmt):
    checkpoint = make_checkpoint(tmp_path, name, **options)
    result = export_model(checkpoint, fmt, tmp_path / f"{name}.{fmt}", dynamic_batch=True)
    assert result.path.is_file() and result.verified and result.check_batch == 3
    assert_matches_pytorch(checkpoint, result.path, fmt, batch=5)
    meta = read_metadata(result.path, fmt)["cnnzoo"]
    assert (meta["classes"], meta["mean"], meta["std"]) == (CLASSES, [0.5] * 3, [0.25] * 3)
    assert (meta["model_name"], meta["in_chans"], meta["image_size"]) == (name, 3, [32, 32])


@pytest.fixture(scope="module")
def grey(tmp_path_factory) -> dict[str, Path]:
    """An 8x8 grey resnet20 checkpoint, its ONNX exports (fixed batch of one, dynamic batch) and four images."""
    root = tmp_path_factory.mktemp("grey")
    checkpoint = make_checkpoint(root, "resnet20", in_chans=1, size=8)
    rng = np.random.default_rng(0)
    images = root / "images"
    images.mkdir()
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, size=(12, 10), dtype=np.uint8)).save(images / f"{i}.png")
    return {
        "checkpoint": checkpoint,
        "images": images,
        "fixed": export_model(checkpoint, "onnx").path,
        "dynamic": export_model(checkpoint, "onnx", root / "dynamic.onnx", dynamic_batch=True).path,
    }


def test_the_default_output_is_next_to_the_checkpoint_with_a_fixed_batch_of_one(grey):
    assert grey["fixed"] == grey["checkpoint"].parent / "model.onnx"
    session = ort.InferenceSession(str(grey["fixed"]), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == [1, 1, 8, 8]
    dynamic = ort.InferenceSession(str(grey["dynamic"]), providers=["CPUExecutionProvider"])
    assert isinstance(dynamic.get_inputs()[0].shape[0], str)


def test_onnx_metadata_props_carry_the_preprocessing(grey):
    import onnx

    props = {p.key: p.value for p in onnx.load(str(grey["dynamic"])).metadata_props}
    meta = json.loads(props["cnnzoo"])
    assert meta["classes"] == CLASSES and meta["mean"] == [0.5] and meta["std"] == [0.25]
    assert meta["image_size"] == [8, 8] and meta["in_chans"] == 1


@pytest.mark.parametrize("which", ["fixed", "dynamic"])
def test_a_loaded_onnx_file_gives_the_checkpoints_top_k(grey, which):
    files = sorted(grey["images"].iterdir())
    from_checkpoint = load(grey["checkpoint"]).predict(files, topk=3)
    from_onnx = load(grey[which]).predict(files, topk=3)  # 4 images: the fixed-batch file runs them one by one
    assert [[c for c, _ in row] for row in from_onnx] == [[c for c, _ in row] for row in from_checkpoint]
    assert np.allclose(
        [[p for _, p in row] for row in from_onnx], [[p for _, p in row] for row in from_checkpoint], atol=1e-5
    )


def test_predict_accepts_an_onnx_file(grey, capsys):
    argv = [str(grey["images"]), "--topk", "2", "--batch-size", "3", "--format", "json"]
    assert main(["predict", str(grey["checkpoint"]), *argv]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert main(["predict", str(grey["fixed"]), *argv]) == 0
    got = json.loads(capsys.readouterr().out)
    assert [[p["class"] for p in item["predictions"]] for item in got] == [
        [p["class"] for p in item["predictions"]] for item in expected
    ]
    assert len(got) == 4


def test_cli_export_reports_the_check(grey, tmp_path, capsys):
    out = tmp_path / "m.pt2"
    assert main(["export", str(grey["checkpoint"]), "--format", "exported-program", "--output", str(out)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"wrote {out} (exported-program); max abs difference from PyTorch") and line.endswith("(ok)")
    assert read_metadata(out, "exported-program")["cnnzoo"]["classes"] == CLASSES


@pytest.mark.parametrize(("argv", "message"), [
    (["--opset", "13"], "--opset must be between 18 and"),
    (["--opset", "x"], "--opset must be an integer"),
    (["--format", "torchscript", "--opset", "18"], "--opset applies to ONNX only"),
])  # fmt: skip
def test_bad_export_options_are_one_line_errors(grey, argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(["export", str(grey["checkpoint"]), "--output", str(grey["checkpoint"].parent / "never"), *argv])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.startswith(f"cnnzoo: error: {message}") and err.count("\n") == 1
    assert not (grey["checkpoint"].parent / "never").exists()


def test_an_onnx_file_without_cnnzoo_metadata_is_a_one_line_error(tmp_path, capsys):
    plain = tmp_path / "plain.onnx"
    torch.onnx.export(torch.nn.Linear(4, 2).eval(), (torch.randn(1, 4),), str(plain), dynamo=True, verbose=False)
    with pytest.raises(SystemExit) as info:
        main(["predict", str(plain), str(tmp_path)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "carries no cnnzoo metadata" in err and err.count("\n") == 1


@pytest.mark.parametrize("fmt", ["torchscript", "exported-program"])
def test_torchscript_and_exported_programs_load_with_their_metadata(grey, tmp_path, fmt):
    """cnnzoo's own model.torchscript.pt and model.pt2 load by content, and classify as their checkpoint does,
    in batches of any size (the program exported for a batch of one runs a batch of four in pieces)."""
    exported = export_model(grey["checkpoint"], fmt, tmp_path / "renamed.bin").path  # the name tells nothing
    files = sorted(grey["images"].iterdir())
    from_checkpoint = load(grey["checkpoint"]).predict(files, topk=3)
    loaded = load(exported)
    assert (loaded.classes, loaded.in_chans, loaded.image_size) == (CLASSES, 1, (8, 8))
    got = loaded.predict(files, topk=3)
    assert [[c for c, _ in row] for row in got] == [[c for c, _ in row] for row in from_checkpoint]
    assert np.allclose(
        [[p for _, p in row] for row in got], [[p for _, p in row] for row in from_checkpoint], atol=1e-5
    )


def _run_with_checkpoint(root: Path) -> Path:
    """RUN/checkpoints/best.pt: the layout `cnnzoo train` writes."""
    checkpoint = make_checkpoint(root, "resnet20", in_chans=1, size=8)
    run = root / "run"
    (run / "checkpoints").mkdir(parents=True)
    return checkpoint.rename(run / "checkpoints" / "best.pt")


def _error(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1
    return err


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_export_never_overwrites_the_runs_own_checkpoints(tmp_path, capsys, force):
    best = _run_with_checkpoint(tmp_path)
    before = best.read_bytes()
    for target in (best, best.parent / "best.pt"):
        err = _error(
            ["export", str(best.parent.parent), "--format", "torchscript", "--output", str(target), *force], capsys
        )
        assert err.startswith(f"cnnzoo: error: --output {target} is the run's own checkpoint")
    assert best.read_bytes() == before
    assert load(best.parent.parent).classes == CLASSES  # the run still evaluates


def test_export_overwrites_an_existing_file_only_with_force(tmp_path, capsys):
    best = _run_with_checkpoint(tmp_path)
    run = best.parent.parent
    default = run / "model.torchscript.pt"  # the default output: in the run directory, not in checkpoints/
    default.write_bytes(b"an earlier export")
    for source in (run, best):
        err = _error(["export", str(source), "--format", "torchscript"], capsys)
        assert err == f"cnnzoo: error: {default} exists; pass --force to overwrite it, or give another --output\n"
    assert default.read_bytes() == b"an earlier export"
    assert "is a folder; give a file name, e.g. " + str(run / "model.onnx") in _error(
        ["export", str(run), "--output", str(run)], capsys
    )
    assert "e.g. " + str(run / "model.torchscript.pt") in _error(
        ["export", str(run), "--format", "torchscript", "--output", str(run)], capsys
    )  # the hint's extension is the chosen format's
    assert main(["export", str(best), "--format", "torchscript", "--force"]) == 0
    assert load(default).classes == CLASSES


def test_an_exported_file_is_not_exported_again(grey, tmp_path, capsys):
    err = _error(["export", str(grey["fixed"]), "--format", "torchscript", "--output", str(tmp_path / "x.pt")], capsys)
    assert err.startswith(f"cnnzoo: error: {grey['fixed']} is an exported ONNX file, made for other runtimes")
    assert not (tmp_path / "x.pt").exists()


def _refuse_writes_in(folder: Path, monkeypatch) -> None:
    """Root writes into a 0o555 folder: make creating a file there fail as on a read-only file system."""
    for name in ("mkstemp", "TemporaryFile"):
        real = getattr(tempfile, name)

        def refuse(*args, real=real, **kwargs):
            if Path(kwargs.get("dir", "")) == folder:
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(folder / "tmp"))
            return real(*args, **kwargs)

        monkeypatch.setattr(tempfile, name, refuse)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "exported-program"])
@pytest.mark.parametrize("where", ["read-only folder", "under a file"])
def test_an_output_that_cannot_be_written_is_refused_before_any_work(grey, tmp_path, capsys, monkeypatch, where, fmt):
    folder = tmp_path / "out"
    folder.mkdir()
    if where == "read-only folder":
        out = folder / "m.bin"
        message = f"cannot write into --output's folder {folder} (read-only file system in {folder}); "
        folder.chmod(0o555)
        if os.access(folder, os.W_OK):  # root writes all the same: refuse as a read-only disk does
            _refuse_writes_in(folder, monkeypatch)
        else:
            message = message.replace("read-only file system", "permission denied")
    else:
        (folder / "model.pt").write_bytes(b"a file")
        out = folder / "model.pt" / "m.bin"
        message = f"--output's folder {folder / 'model.pt'} is a file, not a folder; "
    monkeypatch.setattr("cnnzoo.export.load", lambda *args: pytest.fail("exported before checking --output"))
    try:
        err = _error(["export", str(grey["checkpoint"]), "--format", fmt, "--output", str(out)], capsys)
    finally:
        folder.chmod(0o755)
    assert err.startswith(f"cnnzoo: error: {message}")
    assert sorted(p.name for p in folder.iterdir()) == ([] if where == "read-only folder" else ["model.pt"])


# The export in a process of its own: with a full disk, torch.export.save aborted the process (status 134).
# Its temporary file's writes go to /dev/full, which answers every write as a full disk does.
_FULL_DISK = """
import os, sys, tempfile
from cnnzoo.cli import main

real_mkstemp = tempfile.mkstemp

def full_disk(*args, **kwargs):
    fd, tmp = real_mkstemp(*args, **kwargs)
    full = os.open("/dev/full", os.O_WRONLY)
    os.dup2(full, fd)
    os.close(full)
    return fd, tmp

tempfile.mkstemp = full_disk
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "exported-program"])
def test_a_full_disk_is_one_line_and_leaves_nothing(grey, tmp_path, fmt):
    out = tmp_path / "m.bin"
    argv = ["export", str(grey["checkpoint"]), "--format", fmt, "--output", str(out)]
    done = subprocess.run([sys.executable, "-c", _FULL_DISK, *argv], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    message = f"no space left on device while writing {out}; free space or give another --output"
    assert done.stderr == f"cnnzoo: error: {message}\n"
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary


def test_a_disk_turned_read_only_during_the_export_is_one_line(grey, tmp_path, capsys, monkeypatch):
    out = tmp_path / "m.pt"

    def read_only(path, write):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))  # as atomic_write reports it

    monkeypatch.setattr("cnnzoo.export.atomic_write", read_only)
    err = _error(["export", str(grey["checkpoint"]), "--format", "torchscript", "--output", str(out)], capsys)
    assert err == f"cnnzoo: error: read-only file system while writing {out}; give another --output\n"
