"""The training config: precedence, conversion of YAML/CLI strings, one-line errors, and the shipped recipes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cnnzoo.errors import CnnzooError
from cnnzoo.models import parse_model_options
from cnnzoo.training.config import DEFAULT_VAL_SIZE, TrainConfig, load_yaml, resolve_config

RECIPES = sorted((Path(__file__).resolve().parents[2] / "recipes").glob("*.yaml"))


def _base(**extra):
    return {"model": "resnet20", "data": "digits", **extra}


def test_yaml_overrides_defaults_and_overrides_override_yaml(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model: resnet20\ndata: cifar10\nlr: 0.05\nepochs: 7\nmodel_options: {small_input: true}\n")
    cfg = resolve_config(recipe, {"lr": 0.2})
    assert cfg.lr == 0.2  # the override wins over the YAML
    assert cfg.epochs == 7  # the YAML wins over the default
    assert cfg.batch_size == TrainConfig().batch_size  # the default where neither says
    assert cfg.model_options == {"small_input": True}
    assert cfg.recipe == str(recipe)


def test_strings_are_converted_to_field_types():
    cfg = TrainConfig.from_dict(_base(lr="1e-3", epochs="12", flip="true", milestones=["30", "60"], val_size="0.1",
                                      grad_clip="none", betas=["0.8", "0.99"]))  # fmt: skip
    assert (cfg.lr, cfg.epochs, cfg.flip, cfg.milestones, cfg.val_size, cfg.grad_clip) == (
        1e-3,
        12,
        True,
        [30, 60],
        0.1,
        None,
    )
    assert cfg.betas == [0.8, 0.99]
    assert TrainConfig.from_dict(_base(val_size="5000")).val_size == 5000


@pytest.mark.parametrize(
    "values, message",
    [
        ({"epochs": -3}, "epochs must be at least 1"),
        ({"lr": 0}, "lr must be a positive number"),
        ({"lr": -0.1}, "lr must be a positive number"),
        ({"optimizer": "adamx"}, "invalid optimizer 'adamx'; valid choices: 'sgd', 'adamw'"),
        ({"schedule": "cosin"}, "invalid schedule 'cosin'"),
        ({"precision": "fp8"}, "invalid precision"),
        ({"epochs": "ten"}, "epochs must be an integer"),
        ({"label_smoothing": 1.5}, "label_smoothing must be in [0.0, 1.0)"),
        ({"schedule": "multistep"}, "needs --milestones"),
        ({"milestones": [60, 30], "schedule": "multistep"}, "increasing"),
        ({"warmup_epochs": 1, "warmup_steps": 10}, "not both"),
        ({"patience": 3, "full_train": True}, "needs a validation set"),
        ({"val_size": -1}, "val_size"),
        ({"device": "gpu"}, "invalid device"),
        ({"model": ""}, "no model given"),
        ({"compile": "fast"}, "invalid compile 'fast'; valid choices: 'none', 'default', 'reduce-overhead'"),
        ({"lr_scaling": "log"}, "invalid lr_scaling 'log'"),
        ({"lr_base_batch": 0}, "lr_base_batch must be at least 1"),
        ({"tta": "rotate"}, "invalid tta 'rotate'; valid choices: 'none', 'flip', 'flip-translate'"),
    ],
)
def test_bad_values_are_one_line_errors(values, message):
    with pytest.raises(CnnzooError) as err:
        TrainConfig.from_dict(_base(**values))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_key_suggests_the_closest():
    with pytest.raises(CnnzooError, match=r"unknown key 'weight_decy'.*Did you mean 'weight_decay'"):
        TrainConfig.from_dict(_base(weight_decy=1e-4))


def test_dashes_in_keys_are_accepted():
    assert TrainConfig.from_dict(_base(**{"crop-padding": 4})).crop_padding == 4


def test_bad_yaml_is_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: resnet20\n  lr: [0.1\n")
    with pytest.raises(CnnzooError, match="not valid YAML") as err:
        load_yaml(bad)
    assert "\n" not in str(err.value)
    with pytest.raises(CnnzooError, match="cannot read config file"):
        load_yaml(tmp_path / "missing.yaml")


def test_model_options_are_yaml_scalars():
    assert parse_model_options(["small_input=true", "dropout=0.5", "layout=paper"]) == {
        "small_input": True, "dropout": 0.5, "layout": "paper",
    }  # fmt: skip
    with pytest.raises(CnnzooError, match="KEY=VALUE"):
        parse_model_options(["small_input"])


def test_default_val_size_per_dataset():
    assert TrainConfig.from_dict(_base(data="cifar10")).resolved_val_size() == 5000
    assert TrainConfig.from_dict(_base(data="digits")).resolved_val_size() == 0.1
    assert TrainConfig.from_dict(_base(data="cifar10", full_train=True)).resolved_val_size() == 0
    assert set(DEFAULT_VAL_SIZE) == {"cifar10", "cifar100", "svhn", "mnist", "fashion_mnist", "imagefolder", "digits"}


def test_config_round_trips_through_yaml():
    cfg = TrainConfig.from_dict(
        _base(milestones=[32000, 48000], schedule="multistep", model_options={"small_input": True})
    )
    again = TrainConfig.from_dict(yaml.safe_load(yaml.safe_dump(cfg.to_dict())))
    assert again == cfg


@pytest.mark.parametrize("recipe", RECIPES, ids=[p.stem for p in RECIPES])
def test_every_recipe_loads_and_validates(recipe):
    from cnnzoo.data.datasets import DATASETS
    from cnnzoo.models import list_models, model_options

    assert recipe.read_text().startswith("#"), "each recipe starts with a comment header naming its source"
    cfg = resolve_config(recipe)
    assert cfg.model in list_models()
    assert set(cfg.model_options) <= set(model_options(cfg.model))
    assert cfg.data in DATASETS


def test_the_expected_recipes_exist():
    assert {p.stem for p in RECIPES} >= {"resnet20_paper", "resnet20_fast", "resnet18_cifar", "digits"}


def test_paper_recipe_matches_section_4_2():
    cfg = resolve_config(next(p for p in RECIPES if p.stem == "resnet20_paper"))
    assert (cfg.batch_size, cfg.lr, cfg.momentum, cfg.weight_decay) == (128, 0.1, 0.9, 1e-4)
    assert (cfg.schedule, cfg.milestones, cfg.milestone_unit, cfg.gamma, cfg.max_steps) == (
        "multistep",
        [32000, 48000],
        "steps",
        0.1,
        64000,
    )
    assert (cfg.crop_padding, cfg.flip, cfg.resolved_val_size()) == (4, True, 5000)


def test_compile_is_a_mode_and_old_booleans_still_load():
    """Recipes and checkpoints from before the modes said compile: true/false."""
    assert TrainConfig().compile == "none"
    for old, mode in ((True, "default"), (False, "none"), ("true", "default"), ("False", "none")):
        assert TrainConfig.from_dict(_base(compile=old)).compile == mode
    assert TrainConfig.from_dict(_base(compile="reduce-overhead")).compile == "reduce-overhead"


SPEEDRUNS = [p for p in RECIPES if p.stem.endswith("_speedrun")]


def test_speedrun_recipes_say_they_are_not_yet_measured():
    assert {p.stem for p in SPEEDRUNS} == {"resnet18_speedrun", "resnet20_speedrun"}
    for recipe in SPEEDRUNS:
        header = recipe.read_text().split("\nmodel:")[0]
        assert "not yet tuned or measured" in header and "validation split only" in header
        cfg = resolve_config(recipe)
        assert cfg.compile != "none" and cfg.tta != "none" and cfg.lr_scaling != "none"


@pytest.mark.slow
@pytest.mark.parametrize("recipe", SPEEDRUNS, ids=[p.stem for p in SPEEDRUNS])
def test_speedrun_recipe_runs_on_a_cpu_subset(recipe, tmp_path, cifar10_jpeg_dir):
    """The recipe as it is, shrunk to 64 CIFAR-10 images for one epoch on the CPU, fp32, eager."""
    from cnnzoo.training.engine import train

    overrides = {"data_dir": str(cifar10_jpeg_dir), "cache_dir": str(tmp_path / "cache"), "loader": "stream",
                 "workers": 0, "train_limit": 64, "eval_limit": 32, "val_size": 500, "batch_size": 32, "epochs": 1,
                 "device": "cpu", "precision": "fp32", "compile": "none", "channels_last": False,
                 "tensorboard": False, "plots": False, "run_dir": str(tmp_path / "run")}  # fmt: skip
    cfg = resolve_config(recipe, overrides)
    results = train(cfg, quiet=True)
    assert results["steps"] == 2 and results["test"]["count"] == 32
    assert results["test_tta"]["mode"] == cfg.tta
    assert results["lr_peak"] == pytest.approx(cfg.lr * 32 / cfg.lr_base_batch)
