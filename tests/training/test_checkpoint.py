"""Checkpoints: atomic writes, clear errors for broken files, RNG round trips, and loading a model back."""

from __future__ import annotations

import errno
import io
import os
import random
import stat

import numpy as np
import pytest
import torch
from PIL import Image

from cnnzoo import io as cio
from cnnzoo import predict
from cnnzoo.errors import CnnzooError
from cnnzoo.models import create_model
from cnnzoo.training import checkpoint as ckpt


def _payload(model, **extra) -> dict:
    return {
        "model": model.state_dict(),
        "eval_weights": "model",
        "config": {"model": "resnet20", "data": "digits"},
        "model_name": "resnet20",
        "model_options": {},
        "classes": [str(i) for i in range(10)],
        "mean": [0.25],
        "std": [0.5],
        "in_chans": 1,
        "image_size": [8, 8],
        **extra,
    }


def test_failure_mid_write_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    ckpt.save_checkpoint(path, {"epoch": 1, "weights": torch.ones(3)})

    def crash_mid_write(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a zip")  # some bytes reach the temporary file...
        raise OSError("disk full")  # ...then the write fails

    monkeypatch.setattr(torch, "save", crash_mid_write)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint(path, {"epoch": 2, "weights": torch.zeros(3)})
    monkeypatch.undo()
    payload = ckpt.read_checkpoint(path)
    assert payload["epoch"] == 1 and torch.equal(payload["weights"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary file left behind


def test_write_replaces_atomically(tmp_path, monkeypatch):
    """The new file appears only through os.replace of a fully written temporary file in the same folder."""
    path = tmp_path / "ck.pt"
    seen = []
    real_replace = cio.os.replace

    def spy(src, dst):
        seen.append((src, dst))
        assert ckpt.read_checkpoint(src)["epoch"] == 5  # complete before it is moved into place
        real_replace(src, dst)

    monkeypatch.setattr(cio.os, "replace", spy)
    ckpt.save_checkpoint(path, {"epoch": 5})
    ((src, dst),) = seen
    assert str(src).startswith(str(tmp_path)) and dst == path


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "last.pt"
    ckpt.save_checkpoint(path, {"epoch": 1, "weights": torch.randn(1000)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CnnzooError, match="truncated or not a cnnzoo checkpoint") as err:
        ckpt.read_checkpoint(path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("content", ["text", "foreign_torch", "pickle"])
def test_foreign_files_are_clear_errors(tmp_path, content):
    path = tmp_path / "x.pt"
    if content == "text":
        path.write_text("not a checkpoint at all")
    elif content == "foreign_torch":
        torch.save({"state_dict": {"w": torch.ones(1)}}, path)  # a torch file, not ours
    else:
        import pickle

        path.write_bytes(pickle.dumps(Image.new("L", (2, 2)), protocol=2))  # arbitrary objects: refused by weights_only
    with pytest.raises(CnnzooError, match="not a cnnzoo checkpoint"):
        ckpt.read_checkpoint(path)


def test_missing_checkpoint_and_run_dir_errors(tmp_path):
    with pytest.raises(CnnzooError, match="no checkpoint"):
        ckpt.read_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(CnnzooError, match="no checkpoints/best.pt or last.pt"):
        ckpt.find_checkpoint(tmp_path)


def test_rng_states_round_trip_through_a_weights_only_file(tmp_path):
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    ckpt.save_checkpoint(tmp_path / "r.pt", {"rng": ckpt.rng_state()})
    expected = (random.random(), np.random.rand(), torch.rand(1))
    random.seed(99), np.random.seed(99), torch.manual_seed(99)
    ckpt.set_rng_state(ckpt.read_checkpoint(tmp_path / "r.pt")["rng"])
    assert (random.random(), np.random.rand()) == expected[:2]
    assert torch.equal(torch.rand(1), expected[2])


def test_load_gives_an_eval_model_with_its_preprocessing(tmp_path):
    model = create_model("resnet20", num_classes=10, in_chans=1)
    run = tmp_path / "run"
    ckpt.save_checkpoint(run / "checkpoints" / "best.pt", _payload(model))
    loaded = predict.load(run)  # a run directory: its best checkpoint
    assert not loaded.model.training
    assert loaded.classes == [str(i) for i in range(10)]
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value)
    # preprocessing: grey conversion, resize to the training size, (x/255 - mean) / std
    image = Image.new("RGB", (16, 16), (255, 255, 255))
    x = loaded.preprocess(image)
    assert x.shape == (1, 8, 8)
    torch.testing.assert_close(x, torch.full((1, 8, 8), (1.0 - 0.25) / 0.5))
    preds = loaded.predict([np.zeros((8, 8), dtype=np.uint8)], topk=3)
    assert len(preds[0]) == 3 and all(c in loaded.classes for c, _ in preds[0])
    assert preds[0][0][1] >= preds[0][1][1] >= preds[0][2][1]


def test_load_uses_ema_weights_when_the_run_evaluated_them(tmp_path):
    model = create_model("resnet20", num_classes=10, in_chans=1)
    ema = create_model("resnet20", num_classes=10, in_chans=1)
    path = tmp_path / "best.pt"
    ckpt.save_checkpoint(path, _payload(model, eval_weights="ema", ema={"module": ema.state_dict(), "updates": 1}))
    loaded = predict.load(path)
    key = "fc.weight" if "fc.weight" in ema.state_dict() else next(iter(ema.state_dict()))
    assert torch.equal(loaded.model.state_dict()[key], ema.state_dict()[key])


def test_safetensors_carry_what_load_needs(tmp_path):
    model = create_model("resnet20", num_classes=10, in_chans=1)
    payload = _payload(model)
    ckpt.save_safetensors(
        tmp_path / "model.safetensors", model.state_dict(), ckpt.model_meta(payload), payload["config"]
    )
    loaded = predict.load(tmp_path / "model.safetensors")
    assert loaded.in_chans == 1 and loaded.image_size == (8, 8) and loaded.config["data"] == "digits"
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value)


def test_weights_of_another_model_are_a_clear_error(tmp_path):
    model = create_model("resnet20", num_classes=10, in_chans=1)
    path = tmp_path / "best.pt"
    ckpt.save_checkpoint(path, _payload(model, model_name="resnet32"))
    with pytest.raises(CnnzooError, match="do not fit model 'resnet32'"):
        predict.load(path)


# -------------------------------------------------------------------- file modes, full disks, messages
def test_written_files_get_the_umask_mode_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        ckpt.save_checkpoint(tmp_path / "a.pt", {"epoch": 1})
        os.umask(0o077)
        cio.atomic_write(tmp_path / "b.txt", lambda f: f.write(b"x"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.pt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == 0o600


def test_atomic_write_needs_no_fchmod_which_windows_lacks_before_python_3_13(tmp_path, monkeypatch):
    if hasattr(os, "fchmod"):
        monkeypatch.delattr(os, "fchmod")
    old = os.umask(0o027)
    try:
        cio.atomic_write(tmp_path / "c.json", lambda f: f.write(b"{}"))
    finally:
        os.umask(old)
    assert (tmp_path / "c.json").read_bytes() == b"{}"
    if os.name == "posix":
        assert stat.S_IMODE((tmp_path / "c.json").stat().st_mode) == 0o640


class _FullDisk(io.RawIOBase):
    """A real file on a disk with room for `room` more bytes: then writes fail as on a full disk."""

    def __init__(self, file, room: int) -> None:
        self.file, self.room = file, room

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.file.fileno()

    def write(self, data) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.file.write(data)

    def close(self) -> None:
        self.file.close()
        super().close()


def test_a_full_disk_inside_torch_save_is_an_oserror_naming_the_file(tmp_path, monkeypatch):
    """torch.save turns the OS error into a RuntimeError ('unexpected pos'); the errno and the path come back."""
    path = tmp_path / "last.pt"
    ckpt.save_checkpoint(path, {"epoch": 1, "weights": torch.ones(3)})
    real_fdopen = cio.os.fdopen
    monkeypatch.setattr(cio.os, "fdopen", lambda fd, mode: _FullDisk(real_fdopen(fd, mode), room=2000))
    with pytest.raises(OSError) as err:
        ckpt.save_checkpoint(path, {"epoch": 2, "weights": torch.zeros(10_000)})
    monkeypatch.undo()
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(path)
    assert cio.write_error_message(err.value) == f"no space left on device while writing {path}"
    assert ckpt.read_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


@pytest.mark.parametrize(
    "content, reason",
    [
        ("truncated", "its zip archive is incomplete or damaged"),
        ("text", "it is not a file torch.save wrote"),
        (
            "pickle",
            "it holds Python objects that weights-only loading refuses to unpickle (loading them could run code)",
        ),
        (
            "zip of objects",
            "it holds Python objects that weights-only loading refuses to unpickle (loading them could run code)",
        ),  # was "damaged"
        ("empty", "the file is empty"),
    ],
)
def test_unreadable_checkpoints_are_one_complete_sentence(tmp_path, content, reason):
    path = tmp_path / "x.pt"
    if content == "truncated":
        ckpt.save_checkpoint(path, {"epoch": 1, "weights": torch.randn(1000)})
        path.write_bytes(path.read_bytes()[:600])
    elif content == "text":
        path.write_text("not a checkpoint at all")
    elif content == "pickle":
        import pickle

        path.write_bytes(pickle.dumps(Image.new("L", (2, 2)), protocol=2))
    elif content == "zip of objects":  # torch.save of a foreign class: a whole zip whose pickle names it
        torch.save({"payload": Image.new("L", (2, 2))}, path)
    else:
        path.write_bytes(b"")
    with pytest.raises(CnnzooError) as err:
        ckpt.read_checkpoint(path)
    message = str(err.value)
    assert message == (
        f"cannot read checkpoint {path}: {reason}; it is truncated or not a cnnzoo checkpoint "
        "(a run's checkpoints/last.pt and best.pt are)"
    )


def test_a_tagged_checkpoint_without_a_model_is_one_line(tmp_path):
    path = tmp_path / "odd.pt"
    ckpt.save_checkpoint(path, {"epoch": 3})  # cnnzoo's format tags, nothing to build a model from
    with pytest.raises(CnnzooError) as err:
        predict.load(path)
    assert "is a cnnzoo checkpoint without model_name, model_options, classes" in str(err.value)
    assert "model weights, so no model can be built" in str(err.value) and "\n" not in str(err.value)
    ema_less = tmp_path / "ema.pt"
    ckpt.save_checkpoint(ema_less, _payload(create_model("resnet20", num_classes=10, in_chans=1), eval_weights="ema"))
    with pytest.raises(CnnzooError, match="without its EMA weights"):
        predict.load(ema_less)


def test_weights_that_do_not_fit_say_how_in_one_sentence(tmp_path):
    small = create_model("resnet20", num_classes=10, in_chans=1)
    path = tmp_path / "best.pt"
    ckpt.save_checkpoint(path, _payload(small, model_name="resnet56"))  # resnet20's weights labelled resnet56
    with pytest.raises(CnnzooError) as err:
        predict.load(path)
    message = str(err.value)
    big_keys = set(create_model("resnet56", num_classes=10, in_chans=1).state_dict())
    missing = len(big_keys - set(small.state_dict()))
    assert f"do not fit model 'resnet56' that its metadata names: {missing} of the model's tensors are missing" in (
        message
    )
    assert message.endswith("Were they saved for another model, other model options or another number of classes?")
    assert "Error(s)" not in message and "\n" not in message

    ckpt.save_checkpoint(path, _payload(small, classes=[str(i) for i in range(12)]))  # 12 classes, a 10-way head
    with pytest.raises(CnnzooError) as err:
        predict.load(path)
    assert "differ in shape (first: fc.weight is [10, 64] in the file but [12, 64] in the model)" in str(err.value)
