"""Checkpoints: atomic writes, clear errors for broken files, RNG round trips, and loading a model back."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from PIL import Image

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
    real_replace = ckpt.os.replace

    def spy(src, dst):
        seen.append((src, dst))
        assert ckpt.read_checkpoint(src)["epoch"] == 5  # complete before it is moved into place
        real_replace(src, dst)

    monkeypatch.setattr(ckpt.os, "replace", spy)
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
    loaded = ckpt.load(run)  # a run directory: its best checkpoint
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
    loaded = ckpt.load(path)
    key = "fc.weight" if "fc.weight" in ema.state_dict() else next(iter(ema.state_dict()))
    assert torch.equal(loaded.model.state_dict()[key], ema.state_dict()[key])


def test_safetensors_carry_what_load_needs(tmp_path):
    model = create_model("resnet20", num_classes=10, in_chans=1)
    payload = _payload(model)
    ckpt.save_safetensors(
        tmp_path / "model.safetensors", model.state_dict(), ckpt.model_meta(payload), payload["config"]
    )
    loaded = ckpt.load(tmp_path / "model.safetensors")
    assert loaded.in_chans == 1 and loaded.image_size == (8, 8) and loaded.config["data"] == "digits"
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value)


def test_weights_of_another_model_are_a_clear_error(tmp_path):
    model = create_model("resnet20", num_classes=10, in_chans=1)
    path = tmp_path / "best.pt"
    ckpt.save_checkpoint(path, _payload(model, model_name="resnet32"))
    with pytest.raises(CnnzooError, match="do not fit model 'resnet32'"):
        ckpt.load(path)
