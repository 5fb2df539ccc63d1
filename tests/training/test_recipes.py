"""The models' own recipes (issue 9): every model names one that exists and fits it; the CLI applies it."""

from __future__ import annotations

import argparse

from cnnzoo.cli import train_cmd
from cnnzoo.models import list_models
from cnnzoo.training.config import load_yaml, resolve_config
from cnnzoo.training.recipes import RECIPES_DIR, model_recipe


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
