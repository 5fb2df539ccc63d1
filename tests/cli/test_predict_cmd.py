"""`cnnzoo predict`: unreadable images are skipped and counted (or, with --strict, an error), and a wrong
checkpoint is reported before anything about the images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnzoo.cli import main
from cnnzoo.models import create_model
from cnnzoo.training.checkpoint import save_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """An untrained resnet20 for 8×8 grey images: predictions need not be right, only present."""
    model = create_model("resnet20", num_classes=10, in_chans=1)
    path = tmp_path_factory.mktemp("ckpt") / "best.pt"
    save_checkpoint(path, {
        "model": model.state_dict(), "eval_weights": "model", "config": {}, "model_name": "resnet20",
        "model_options": {}, "classes": [str(i) for i in range(10)], "mean": [0.5], "std": [0.25],
        "in_chans": 1, "image_size": [8, 8],
    })  # fmt: skip
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    """images/ with three good PNGs and two unreadable files that look like images."""
    root = tmp_path / "images"
    root.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.png", "c.png", "e.png"):
        Image.fromarray(rng.integers(0, 256, size=(8, 8), dtype=np.uint8)).save(root / name)
    (root / "b.png").write_bytes(b"not a png at all")
    payload = (root / "a.png").read_bytes()
    (root / "d.png").write_bytes(payload[: len(payload) // 2])  # truncated
    return root


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return info.value.code


def test_unreadable_images_are_skipped_with_a_warning_each_and_a_count(checkpoint, folder, capsys):
    assert main(["predict", str(checkpoint), str(folder), "--topk", "2", "--format", "json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert [Path(item["file"]).name for item in out] == ["a.png", "c.png", "e.png"]
    assert all(len(item["predictions"]) == 2 for item in out)
    lines = captured.err.splitlines()
    assert len(lines) == 3
    for line, name in zip(lines, ("b.png", "d.png")):
        assert line.startswith(f"cnnzoo: warning: skipped unreadable image {folder / name} (")
    assert lines[-1] == "cnnzoo: warning: skipped 2 unreadable image(s)"


def test_json_has_snake_case_keys_and_probabilities_as_numbers(checkpoint, folder, capsys, check_json):
    assert main(["predict", str(checkpoint), str(folder / "a.png"), "--topk", "3", "--format", "json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)
    check_json(item)
    assert [type(p["probability"]) for p in item["predictions"]] == [float] * 3


def test_table_rows_only_for_readable_images(checkpoint, folder, capsys):
    assert main(["predict", str(checkpoint), str(folder), "--topk", "1", "--batch-size", "2"]) == 0
    out = capsys.readouterr().out
    assert all(str(folder / name) in out for name in ("a.png", "c.png", "e.png"))
    assert "b.png" not in out and "d.png" not in out


def test_strict_stops_at_the_first_unreadable_image(checkpoint, folder, capsys):
    assert _exit_code(["predict", str(checkpoint), str(folder), "--strict"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"cnnzoo: error: cannot read image {folder / 'b.png'} (")
    assert captured.err.count("\n") == 1 and "--strict" in captured.err


def test_only_unreadable_images_is_an_error(checkpoint, folder, capsys):
    assert _exit_code(["predict", str(checkpoint), str(folder / "b.png"), str(folder / "d.png")]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[-2:] == [
        "cnnzoo: warning: skipped 2 unreadable image(s)",
        "cnnzoo: error: none of the 2 image(s) could be read; see the warnings above",
    ]


def test_a_missing_checkpoint_is_reported_before_the_images(tmp_path, capsys):
    assert _exit_code(["predict", str(tmp_path / "no-run"), str(tmp_path / "missing.png")]) == 2
    err = capsys.readouterr().err
    assert err == f"cnnzoo: error: no checkpoint or run directory at {tmp_path / 'no-run'}\n"


def test_a_missing_image_path_is_still_an_error(checkpoint, tmp_path, capsys):
    assert _exit_code(["predict", str(checkpoint), str(tmp_path / "missing.png")]) == 2
    assert capsys.readouterr().err == f"cnnzoo: error: no such image or folder: {tmp_path / 'missing.png'}\n"


def test_16_bit_png_predicts_like_its_8_bit_copy(checkpoint, tmp_path, capsys):
    pixels = np.linspace(0, 65535, 64).round().astype(np.uint16).reshape(8, 8)
    Image.fromarray(pixels).save(tmp_path / "scan16.png")
    Image.fromarray(np.rint(pixels / 257).astype(np.uint8)).save(tmp_path / "scan8.png")
    assert main(["predict", str(checkpoint), str(tmp_path / "scan16.png"), str(tmp_path / "scan8.png"),
                 "--format", "json"]) == 0  # fmt: skip
    first, second = json.loads(capsys.readouterr().out)
    assert first["predictions"] == second["predictions"]


def test_folders_are_searched_through_symlinks_and_gif_counts(checkpoint, tmp_path, capsys):
    real = tmp_path / "real"
    real.mkdir()
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(real / "a.png")
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(real / "b.gif")
    top = tmp_path / "top"
    top.mkdir()
    (top / "linked").symlink_to(real, target_is_directory=True)
    (top / "linked" / "loop").symlink_to(top, target_is_directory=True)  # a loop ends, each folder read once
    assert main(["predict", str(checkpoint), str(top), "--format", "json"]) == 0
    found = [Path(item["file"]).relative_to(top).as_posix() for item in json.loads(capsys.readouterr().out)]
    assert found == ["linked/a.png", "linked/b.gif"]


def test_a_fifo_or_a_broken_link_is_no_missing_image(checkpoint, tmp_path, capsys):
    import os

    fifo, link = tmp_path / "pipe.png", tmp_path / "link.png"
    os.mkfifo(fifo)
    link.symlink_to(tmp_path / "gone.png")
    assert _exit_code(["predict", str(checkpoint), str(fifo)]) == 2
    assert (
        capsys.readouterr().err == f"cnnzoo: error: {fifo} is a FIFO (named pipe), not a file; give image "
        "files or folders of them\n"
    )
    assert _exit_code(["predict", str(checkpoint), str(link)]) == 2
    assert capsys.readouterr().err.startswith(f"cnnzoo: error: {link} is a broken symbolic link to ")
