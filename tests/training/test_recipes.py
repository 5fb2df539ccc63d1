"""Every family trains with its own recipe: the test that would have caught NiN and GoogLeNet (issue 9).

Each recipe is shortened (a few hundred CIFAR-10 JPEGs resized to 16x16, a few epochs, fp32 on the CPU) but
otherwise used as it is: optimizer, lr, schedule, augmentation and model options come from the recipe.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

import pytest

from cnnzoo.cli import train_cmd
from cnnzoo.models import get_model_config, list_models
from cnnzoo.training.config import load_yaml, resolve_config
from cnnzoo.training.engine import train
from cnnzoo.training.recipes import RECIPES_DIR, model_recipe

TRAIN_PER_CLASS, TEST_PER_CLASS, EPOCHS = 30, 20, 3


def test_every_model_names_a_recipe_that_exists_and_fits_it():
    for name in list_models():
        path = model_recipe(name)
        assert path is not None and path.is_file(), name
        values = load_yaml(path)
        assert values["data"] == "cifar10", name
        assert "not yet measured on a GPU" in path.read_text(), path  # or cites a measurement beside it
        resolve_config(path, {"model": name})  # the recipe's options are valid for every model naming it


def _train_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    train_cmd.add_commands(parser.add_subparsers())
    return parser.parse_args(["train", *argv])


def test_cli_uses_the_models_recipe_and_flags_override_it():
    values = train_cmd.train_values(_train_args("--model", "googlenet", "--lr", "0.01", "-o", "batch_norm=true"))
    assert values["recipe"] == "recipes/googlenet_cifar.yaml"
    assert values["lr"] == "0.01"  # the flag wins (converted by the config)
    assert values["aux_weight"] == 0.3 and values["data"] == "cifar10"
    assert values["model_options"] == {"small_input": True, "batch_norm": True}  # the recipe's, then -o


def test_cli_recipe_none_and_other_datasets_keep_the_defaults():
    assert "aux_weight" not in train_cmd.train_values(_train_args("--model", "googlenet", "--recipe", "none"))
    values = train_cmd.train_values(_train_args("--model", "resnet20", "--data", "digits"))
    assert "recipe" not in values and "batch_size" not in values


def test_cli_config_replaces_the_models_recipe():
    values = train_cmd.train_values(_train_args("--model", "nin", "--config", str(RECIPES_DIR / "digits.yaml")))
    assert values["recipe"].endswith("digits.yaml") and values["model"] == "nin"


@pytest.fixture(scope="module")
def tiny_cifar(cifar10_jpeg_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A class-folder copy of a few hundred images of the JPEG copy (symlinks)."""
    root = tmp_path_factory.mktemp("tiny-cifar")
    for split, count in (("train", TRAIN_PER_CLASS), ("test", TEST_PER_CLASS)):
        for folder in sorted((cifar10_jpeg_dir / split).iterdir()):
            (root / split / folder.name).mkdir(parents=True)
            for image in sorted(folder.iterdir())[:count]:
                (root / split / folder.name / image.name).symlink_to(image)
    return root


SMALL_INPUT_FAMILIES = [
    "alexnet",
    "vgg11_bn",
    pytest.param("nin", marks=pytest.mark.xfail(reason="issue 9: NiN's paper layout not yet fixed", strict=False)),
    pytest.param(
        "googlenet",
        marks=pytest.mark.xfail(reason="issue 9: no NaN now, but still at chance after 27 CPU steps", strict=False),
    ),
    "resnet20",
    "resnet18",
    "preact_resnet18",
]


@pytest.mark.slow
@pytest.mark.parametrize("model", SMALL_INPUT_FAMILIES)
def test_each_family_learns_with_its_own_recipe(model: str, tiny_cifar: Path, tmp_path: Path):
    path = model_recipe(model)
    recipe = load_yaml(path)
    shortened = {
        "model": model,
        "data": "imagefolder",
        "data_dir": str(tiny_cifar),
        "image_size": 16,
        "val_size": 0,
        "epochs": EPOCHS,
        "batch_size": 32,
        "eval_batch_size": 200,
        "warmup_epochs": recipe.get("warmup_epochs", 0) * EPOCHS / recipe["epochs"],
        "precision": "fp32",
        "channels_last": False,
        "compile": "none",
        "device": "cpu",
        "tensorboard": False,
        "plots": False,
        "run_dir": str(tmp_path / "run"),
        "cache_dir": str(tmp_path / "cache"),
    }
    cfg = resolve_config(path, shortened)
    assert cfg.model_options == recipe.get("model_options", {})
    results = train(cfg, quiet=True)
    with open(Path(results["run_dir"]) / "metrics.csv", newline="") as f:
        losses = [float(row["train_loss"]) for row in csv.DictReader(f)]
    assert all(math.isfinite(loss) for loss in losses), losses
    assert losses[-1] < losses[0] - 0.05, losses
    assert results["test"]["top1"] >= 0.2, results["test"]  # chance is 0.1 on 200 test images
    assert get_model_config(model).recipe == path.stem
