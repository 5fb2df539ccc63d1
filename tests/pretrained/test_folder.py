"""save_pretrained → load → predict: a pretrained folder round-trips, shares no path of this machine, and its model
card states the data, recipe, results (mean ± std over seed runs), hardware, licence and limitations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import cnnzoo
from cnnzoo.errors import CnnzooError
from cnnzoo.pretrained import pretrained_model, save_pretrained
from cnnzoo.pretrained.format import read_pretrained

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def seed_run(digits_run, tmp_path_factory) -> Path:
    """The shared digits run as seed 0 of three, the other two seeds' results beside it (as `--seeds 3` leaves them)."""
    root = tmp_path_factory.mktemp("seeds")
    run = root / "resnet20-digits-seed0"
    shutil.copytree(digits_run, run)
    for seed, top1 in ((1, 0.90), (2, 0.80)):
        other = root / f"resnet20-digits-seed{seed}"
        other.mkdir()
        results = json.loads((run / "results.json").read_text())
        results["test"] = {**results["test"], "top1": top1}
        (other / "results.json").write_text(json.dumps(results))
    return run


@pytest.fixture(scope="module")
def folder(seed_run, tmp_path_factory) -> Path:
    return save_pretrained(seed_run, tmp_path_factory.mktemp("shared") / "resnet20-digits", license="MIT")


def test_folder_round_trips_to_the_same_predictions(seed_run, folder):
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    images = np.random.default_rng(0).integers(0, 256, size=(5, 8, 8), dtype=np.uint8)
    original, shared = cnnzoo.load(seed_run), cnnzoo.load(folder)
    np.testing.assert_array_equal(shared.predict(list(images), probs=True), original.predict(list(images), probs=True))
    assert (shared.classes, shared.mean, shared.std, shared.image_size) == (
        original.classes, original.mean, original.std, original.image_size)  # fmt: skip
    config = json.loads((folder / "config.json").read_text())
    assert config["model_name"] == "resnet20" and config["num_classes"] == 10 and config["in_chans"] == 1
    assert config["num_params"] == sum(p.numel() for p in original.model.parameters())


def test_folder_holds_no_path_of_this_machine(seed_run, folder):
    machine = [str(seed_run.parent), str(REPO), str(Path.home())]
    for path in folder.iterdir():
        text = path.read_bytes().decode("utf-8", errors="replace")
        for place in machine:
            assert place not in text, f"{path.name} names {place}"
    train_config = json.loads((folder / "config.json").read_text())["train_config"]
    assert "data_dir" not in train_config and "run_dir" not in train_config and train_config["data"] == "digits"


def test_model_card_states_data_recipe_seeds_hardware_licence_limitations(seed_run, folder):
    card = (folder / "README.md").read_text()
    results = json.loads((seed_run / "results.json").read_text())
    mine = results["test"]["top1"]
    mean, std = np.mean([mine, 0.90, 0.80]), np.std([mine, 0.90, 0.80], ddof=1)
    assert card.startswith("---\nlibrary_name: cnnzoo\nlicense: mit\n")
    for heading in ("## Model", "## Data", "## Recipe", "## Results", "## Hardware", "## Licence", "## Limitations"):
        assert heading in card
    assert f"test top-1 {100 * mine:.2f}%" in card
    assert f"over 3 seeds [0, 1, 2]: test top-1 {100 * mean:.2f} ± {100 * std:.2f}%" in card
    assert "| epochs | 3 |" in card and "| schedule | cosine |" in card
    env = json.loads((seed_run / "env.json").read_text())
    assert f"Trained on {env['device_name']}" in card


def test_evaluate_takes_the_folder(folder, cli):
    code, out, _ = cli(["evaluate", str(folder), "--format", "json"])
    assert code == 0 and json.loads(out)["count"] == 300  # digits' 300 test images, normalised as in training


def test_create_model_pretrained_keeps_weights_and_replaces_a_head(folder):
    loaded = cnnzoo.load(folder)
    same = cnnzoo.create_model("resnet20", pretrained=folder).eval()  # the public API, as timm's create_model
    x = torch.randn(2, 1, 8, 8)
    torch.testing.assert_close(same(x), loaded.model(x))
    assert same.default_cfg.mean == loaded.mean
    four = pretrained_model("resnet20", folder, num_classes=4)
    assert cnnzoo.create_model("resnet20", num_classes=4).fc.weight.shape == (4, 64)  # untrained without pretrained=
    assert four.fc.weight.shape == (4, 64)
    torch.testing.assert_close(four.layer3[2].conv2.weight, loaded.model.layer3[2].conv2.weight)
    with pytest.raises(CnnzooError, match="holds a 'resnet20', not a 'resnet32'"):
        pretrained_model("resnet32", folder)


def test_broken_folders_are_one_line_errors(folder, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    (copy / "model.safetensors").write_bytes(b"truncated")
    with pytest.raises(CnnzooError, match="cannot read .*model.safetensors"):
        read_pretrained(copy)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "version": 99}))
    with pytest.raises(CnnzooError, match="version 99; this cnnzoo reads 1"):
        cnnzoo.load(copy)
