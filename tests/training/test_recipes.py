"""The packaged recipes: found by name or path from any directory; every model names one that fits it."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

import cnnzoo
from cnnzoo.cli import main, train_cmd
from cnnzoo.errors import CnnzooError
from cnnzoo.models import list_models
from cnnzoo.training.config import load_yaml, resolve_config
from cnnzoo.training.recipes import find_recipe, list_recipes, model_recipe, recipe_label, recipe_names, recipes_dir


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
    values = train_cmd.train_values(_train_args("--model", "nin", "--config", str(recipes_dir() / "digits.yaml")))
    assert values["recipe"] == "recipes/digits.yaml" and values["model"] == "nin"


def test_recipes_ship_inside_the_package():
    package = Path(cnnzoo.__file__).resolve().parent
    assert recipes_dir().resolve() == package / "recipes"  # read through importlib.resources, not the source tree
    assert {"digits", "resnet20_paper", "resnet20_fast"} <= set(recipe_names())


@pytest.mark.parametrize("ref", ["digits", "digits.yaml", "recipes/digits.yaml"])
def test_config_finds_a_packaged_recipe_by_name_from_any_directory(ref, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no recipes/ folder here
    values = train_cmd.train_values(_train_args("--config", ref))
    assert values["recipe"] == "recipes/digits.yaml" and values["data"] == "digits"
    assert resolve_config(ref).recipe == "recipes/digits.yaml"  # the API takes the same names


def test_a_file_given_to_config_wins_over_a_packaged_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "digits.yaml").write_text("model: resnet20\ndata: digits\nepochs: 2\n")
    values = train_cmd.train_values(_train_args("--config", "recipes/digits.yaml"))
    assert values["epochs"] == 2 and values["recipe"] == "recipes/digits.yaml"
    assert find_recipe("recipes/digits.yaml") == Path("recipes/digits.yaml")
    assert recipe_label(find_recipe("digits")) == "recipes/digits.yaml"


def test_an_unknown_recipe_is_one_line_naming_the_packaged_ones(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CnnzooError, match=r"no such recipe file or packaged recipe: resnet99_cpu; packaged: .*digits"):
        train_cmd.train_values(_train_args("--config", "resnet99_cpu"))


def test_every_recipe_starts_with_its_purpose_in_one_sentence():
    for recipe in list_recipes():
        assert re.fullmatch(r"[A-Z].{20,110}\.", recipe["purpose"]), recipe
        assert recipe["model"] and recipe["data"] and Path(recipe["file"]).is_file()


def test_recipes_command_lists_every_recipe_with_its_file(capsys):
    assert main(["recipes", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    for name in recipe_names():
        assert f"{name}," in out and str(recipes_dir() / f"{name}.yaml") in out
