"""The training config: precedence, conversion of YAML/CLI strings, one-line errors, and the shipped recipes."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from cnnzoo.errors import CnnzooError
from cnnzoo.models import parse_model_options
from cnnzoo.training.config import DEFAULT_VAL_SIZE, SettingWarning, TrainConfig, load_yaml, resolve_config
from cnnzoo.training.recipes import recipes_dir

RECIPES = sorted(recipes_dir().glob("*.yaml"))
assert RECIPES, "no packaged recipes found"  # an empty list would skip the tests that read them


def _base(**extra):
    return {"model": "resnet20", "data": "digits", **extra}


def test_yaml_overrides_defaults_and_overrides_override_yaml(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model: resnet20\ndata: cifar10\nlr: 0.05\nepochs: 7\nmodel_options: {small_input: true}\n")
    cfg = resolve_config(recipe, {"lr": 0.2})
    assert cfg.lr == 0.2  # the override wins over the YAML
    assert cfg.epochs == 7  # the YAML wins over the default
    assert cfg.data.batch_size == TrainConfig().data.batch_size  # the default where neither says
    assert cfg.model_options == {"small_input": True}
    assert cfg.recipe == str(recipe)


def test_strings_are_converted_to_field_types():
    cfg = TrainConfig.from_dict(_base(lr="1e-3", epochs="12", flip="true", milestones=["30", "60"], val_size="0.1",
                                      grad_clip="none", betas=["0.8", "0.99"]))  # fmt: skip
    assert (cfg.lr, cfg.epochs, cfg.data.augment.flip, cfg.milestones, cfg.data.val_size, cfg.grad_clip) == (
        1e-3,
        12,
        True,
        [30, 60],
        0.1,
        None,
    )
    assert cfg.betas == [0.8, 0.99]
    assert TrainConfig.from_dict(_base(val_size="5000")).data.val_size == 5000


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


@pytest.mark.parametrize(
    "values, message",
    [
        ({"epochs": "1e30"}, "epochs must be at most 100,000, got 1,000,000,000,000,000,019,884,624,838,656"),
        ({"epochs": 100_001}, "epochs must be at most 100,000"),
        ({"max_steps": "1e12"}, "max_steps must be at most 1,000,000,000"),
        ({"batch_size": 10**6}, "batch_size must be at most 65,536"),
        ({"eval_batch_size": 10**6}, "eval_batch_size must be at most 65,536"),
        ({"warmup_steps": 10**12}, "warmup_steps must be at most"),
        ({"image_size": 10**5}, "image_size must be at most 4,096"),
        ({"seed": 2**64}, "seed must be at most 9,223,372,036,854,775,807"),
        ({"seed": -1}, "seed must be at least 0"),
        ({"lr": "nan"}, "lr must be a positive number, got nan"),
        ({"warmup_epochs": "inf"}, "warmup_epochs must be a finite number, got inf"),
        ({"warmup_epochs": 1e6}, "warmup_epochs must be in [0.0, 100000]"),
        ({"weight_decay": "inf"}, "weight_decay must be a finite number"),
        ({"onecycle_div": "inf"}, "onecycle_div must be a finite number"),
        ({"aux_weight": "nan"}, "aux_weight must be a finite number"),
        ({"grad_clip": "inf"}, "grad_clip must be a positive number, got inf"),
        ({"milestones": ["nan"], "schedule": "multistep"}, "milestones must be positive, finite and increasing"),
        ({"milestones": [10, "inf"], "schedule": "multistep"}, "milestones must be positive, finite and increasing"),
    ],
)
def test_non_finite_and_absurd_values_are_refused(values, message):
    with pytest.raises(CnnzooError) as err:
        TrainConfig.from_dict(_base(**values))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_seeds_at_the_edges_of_64_bits_are_accepted():
    assert TrainConfig.from_dict(_base(seed=2**63 - 1)).seed == 2**63 - 1
    assert TrainConfig.from_dict(_base(seed="0")).seed == 0


@pytest.mark.parametrize(
    "written, value",
    [("5000", 5000), (5000, 5000), ("1", 1), ("0", 0), (0, 0), ("0.1", 0.1), (0.1, 0.1), ("1e-1", 0.1), (0.0, 0.0)],
)
def test_val_size_is_a_count_or_a_fraction_as_written(written, value):
    got = TrainConfig.from_dict(_base(val_size=written)).data.val_size
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    "written, message",
    [
        ("1.0", "val_size 1.0 is ambiguous: write 1 for 1 image or a fraction below 1 such as 0.1"),
        (1.0, "val_size 1.0 is ambiguous: write 1 for 1 image or a fraction below 1 such as 0.1"),
        ("5000.0", "val_size 5000.0 is ambiguous: write 5000 for 5000 images or a fraction below 1"),
        ("2.5", "val_size must be a fraction in (0, 1) such as 0.1, or a whole image count, got 2.5"),
        ("1e3", "val_size 1000.0 is ambiguous"),
        ("nan", "val_size must be a fraction in (0, 1)"),
        (True, "val_size must be an image count such as 5000 or a fraction such as 0.1, got True"),
        (-1, "val_size must be an image count >= 0"),
    ],
)
def test_an_ambiguous_or_bad_val_size_is_refused(written, message):
    with pytest.raises(CnnzooError) as err:
        TrainConfig.from_dict(_base(val_size=written))
    assert message in str(err.value)


def test_val_size_in_a_yaml_recipe_follows_the_same_rule(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model: resnet20\ndata: digits\nval_size: 1.0\n")
    with pytest.raises(CnnzooError, match="val_size 1.0 is ambiguous"):
        resolve_config(recipe)
    recipe.write_text("model: resnet20\ndata: digits\nval_size: 1\n")
    assert resolve_config(recipe).data.val_size == 1


def test_a_schedule_the_data_defeats_is_warned_about():
    cfg = TrainConfig.from_dict(_base(batch_size=512, epochs=1, warmup_epochs=100))
    with pytest.warns(SettingWarning) as caught:
        messages = cfg.run_warnings(train_size=300, steps_per_epoch=1)
    assert messages == [str(w.message) for w in caught] and len(messages) == 2
    assert messages[0].startswith("batch_size 512 is larger than the 300 training images: each epoch is one step")
    assert messages[1].startswith("the warm-up (100 steps) lasts the whole run (1 steps): the lr only rises")
    cfg = TrainConfig.from_dict(_base(schedule="multistep", milestones=[2, 30], epochs=10))
    with pytest.warns(SettingWarning, match=r"milestones \[30\] \(epochs\) fall after the last of 50 steps"):
        cfg.run_warnings(train_size=640, steps_per_epoch=5)


def test_a_sound_schedule_gives_no_warning(recwarn):
    cfg = TrainConfig.from_dict(_base(batch_size=128, epochs=10, warmup_epochs=1))
    assert cfg.run_warnings(train_size=1000, steps_per_epoch=8) == []
    assert not [w for w in recwarn if issubclass(w.category, SettingWarning)]


@pytest.mark.parametrize(
    "flags",
    [["--epochs", "1e30"], ["--seed", str(2**64)], ["--val-size", "1.0"], ["--epochs", "1", "-o", "small_input=maybe"]],
)
def test_train_refuses_endless_or_ambiguous_values_at_once(flags, tmp_path):
    """--epochs 1e30 used to train forever: the time limit fails this test, not the suite."""
    argv = [
        sys.executable,
        "-m",
        "cnnzoo",
        "train",
        "--model",
        "resnet20",
        "--data",
        "digits",
        "--device",
        "cpu",
        "--run-dir",
        str(tmp_path / "run"),
        "--train-limit",
        "20",
        "--eval-limit",
        "20",
        "-q",
        *flags,
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("cnnzoo: error: ") and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


def test_unknown_key_suggests_the_closest():
    with pytest.raises(CnnzooError, match=r"unknown key 'weight_decy'.*Did you mean 'weight_decay'"):
        TrainConfig.from_dict(_base(weight_decy=1e-4))


def test_dashes_in_keys_are_accepted():
    assert TrainConfig.from_dict(_base(**{"crop-padding": 4})).data.augment.crop_padding == 4


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
    assert TrainConfig.from_dict(_base(data="cifar10")).data.resolved_val_size() == 5000
    assert TrainConfig.from_dict(_base(data="digits")).data.resolved_val_size() == 0.1
    assert TrainConfig.from_dict(_base(data="cifar10", full_train=True)).data.resolved_val_size() == 0
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
    assert cfg.data.name in DATASETS


def test_the_expected_recipes_exist():
    assert {p.stem for p in RECIPES} >= {"resnet20_paper", "resnet20_fast", "resnet18_cifar", "digits"}


def test_paper_recipe_matches_section_4_2():
    cfg = resolve_config(next(p for p in RECIPES if p.stem == "resnet20_paper"))
    assert (cfg.data.batch_size, cfg.lr, cfg.momentum, cfg.weight_decay) == (128, 0.1, 0.9, 1e-4)
    assert (cfg.schedule, cfg.milestones, cfg.milestone_unit, cfg.gamma, cfg.max_steps) == (
        "multistep",
        [32000, 48000],
        "steps",
        0.1,
        64000,
    )
    assert (cfg.data.augment.crop_padding, cfg.data.augment.flip, cfg.data.resolved_val_size()) == (4, True, 5000)
    assert cfg.data.normalize == "pixel"  # "with the per-pixel mean subtracted"


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
    from cnnzoo.training.train import train

    overrides = {"data_dir": str(cifar10_jpeg_dir), "cache_dir": str(tmp_path / "cache"), "loader": "stream",
                 "workers": 0, "train_limit": 64, "eval_limit": 32, "val_size": 500, "batch_size": 32, "epochs": 1,
                 "device": "cpu", "precision": "fp32", "compile": "none", "channels_last": False,
                 "tensorboard": False, "plots": False, "run_dir": str(tmp_path / "run")}  # fmt: skip
    cfg = resolve_config(recipe, overrides)
    results = train(cfg, quiet=True)
    assert results["steps"] == 2 and results["test"]["count"] == 32
    assert results["test_tta"]["mode"] == cfg.tta
    assert results["lr_peak"] == pytest.approx(cfg.lr * 32 / cfg.lr_base_batch)


# -------------------------------------------------------------------- what a new user broke (issue 20)
def test_a_key_given_twice_in_a_recipe_is_an_error_naming_both_lines(tmp_path):
    recipe = tmp_path / "twice.yaml"
    recipe.write_text("model: resnet20\ndata: digits\nepochs: 1\nepochs: 3\n")
    with pytest.raises(CnnzooError, match=r"key 'epochs' is given twice \(lines 3 and 4\)"):
        resolve_config(recipe)


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path):
    """Nine levels of aliases under model_options grew to 2.3 GB and never returned; now the first alias is refused."""
    lines = ["model: resnet20", "data: digits", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    lines += ["model_options:", "  x: *a8"]
    recipe = tmp_path / "bomb.yaml"
    recipe.write_text("\n".join(lines) + "\n")
    command = [sys.executable, "-m", "cnnzoo", "train", "--config", str(recipe), "--run-dir", str(tmp_path / "run")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)  # a hang fails here, not the suite
    assert done.returncode == 2
    assert "may not use YAML aliases" in done.stderr and len(done.stderr) < 600


def test_integers_are_read_as_integers_not_through_a_float():
    assert TrainConfig.from_dict(_base(seed="9007199254740993")).seed == 9007199254740993  # 2**53 + 1
    assert TrainConfig.from_dict(_base(epochs="1e2")).epochs == 100  # a float's notation still works


def test_a_message_quoting_a_huge_value_is_cut_to_one_short_line():
    with pytest.raises(CnnzooError) as err:
        TrainConfig.from_dict(_base(milestones=list(range(100_000, 0, -1))))
    message = str(err.value)
    assert message.startswith("milestones must be positive, finite and increasing") and len(message) < 700
    assert "characters cut" in message and "\n" not in message


@pytest.mark.parametrize(
    "values, message",
    [
        ({"accumulate": 1000, "batch_size": 64}, "accumulate 1000 splits each batch of 64 images into micro-batches"),
        ({"weight_decay": 1e300}, r"weight_decay must be in \[0.0, 1.0\)"),
        ({"data_dir": "/tmp"}, "digits is scikit-learn's bundled 8x8 data: --data-dir does not apply"),
        ({"image_size": 16}, "digits is scikit-learn's bundled 8x8 data: --image-size does not apply"),
    ],
)
def test_values_that_would_do_nothing_or_too_much_are_refused(values, message):
    with pytest.raises(CnnzooError, match=message):
        TrainConfig.from_dict(_base(data="digits", **values))


def test_settings_without_effect_or_against_each_other_are_warned_about():
    cfg = TrainConfig.from_dict(_base(mix_prob=0.5, tta="flip-translate"))
    with pytest.warns(SettingWarning) as caught:
        cfg.run_warnings(train_size=1000, steps_per_epoch=8)
    text = " ".join(str(w.message) for w in caught)
    assert "mix_prob and cutmix_prob apply to mixup and cutmix, which are off" in text
    assert "trains without --flip" in text
