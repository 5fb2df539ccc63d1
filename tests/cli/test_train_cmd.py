"""`cnnzoo train / evaluate / predict` end to end on the offline digits demo, and their one-line errors."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import torch
from PIL import Image

from cnnzoo.cli import build_parser, main
from cnnzoo.cli.train_cmd import train_values
from cnnzoo.training.config import TrainConfig

REPO = Path(__file__).resolve().parents[2]
DIGITS = str(REPO / "recipes" / "digits.yaml")


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """One real training run through the CLI, shared by the evaluate and predict tests.

    One intra-op thread: on 8x8 images a second thread buys little, and on a busy 2-core machine two threads
    per process thrash (an epoch took ~20 s instead of ~2 s while other jobs ran).
    """
    run_dir = tmp_path_factory.mktemp("digits") / "run"
    out = io.StringIO()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with redirect_stdout(out):
            code = main(["train", "--config", DIGITS, "--run-dir", str(run_dir)])
    finally:
        torch.set_num_threads(threads)
    return run_dir, code, out.getvalue()


def _fails_with(capsys, argv: list[str], code: int = 2) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == code
    err = capsys.readouterr().err
    assert err.startswith("cnnzoo: error: ") and err.count("\n") == 1, err  # one line
    return err


# -------------------------------------------------------------------- train
@pytest.mark.slow
def test_train_resnet20_on_digits_reaches_95_percent_test_accuracy(digits_run):
    run_dir, code, out = digits_run
    assert code == 0
    results = json.loads((run_dir / "results.json").read_text())
    assert results["model"] == "resnet20" and results["data"] == "digits"
    assert results["test"]["count"] == 300
    assert results["test"]["top1"] >= 0.95, results["test"]
    lines = out.strip().splitlines()
    assert [line.split()[1] for line in lines[:-1]] == ["1/5", "2/5", "3/5", "4/5", "5/5"]  # one plain line per epoch
    assert lines[-1].startswith("test top-1 ") and str(run_dir) in lines[-1]
    config = TrainConfig.from_dict(__import__("yaml").safe_load((run_dir / "config.yaml").read_text()))
    assert config.recipe == DIGITS and config.model == "resnet20"


@pytest.mark.slow
def test_evaluate_reproduces_the_runs_test_and_validation_numbers(digits_run, capsys):
    run_dir, _, _ = digits_run
    results = json.loads((run_dir / "results.json").read_text())
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--format", "json"]) == 0
    test = json.loads(capsys.readouterr().out)
    assert test["split"] == "test" and test["count"] == 300
    assert test["top1"] == results["test"]["top1"] and test["top5"] == results["test"]["top5"]
    assert list(test["per_class"]) == [str(i) for i in range(10)]
    assert main(["evaluate", str(run_dir / "checkpoints" / "best.pt"), "--split", "val", "--format", "json"]) == 0
    val = json.loads(capsys.readouterr().out)
    assert val["count"] == 150  # 10% of digits' 1,497 training images
    assert val["top1"] == results["val_best"]["top1"]
    assert main(["evaluate", str(run_dir)]) == 0
    table = capsys.readouterr().out
    assert table.startswith("digits test: top-1 ") and "accuracy (%)" in table and "all" in table


@pytest.mark.slow
def test_predict_names_top_k_classes_with_probabilities(digits_run, tmp_path, capsys):
    from cnnzoo.data.datasets import load_split

    run_dir, _, _ = digits_run
    test = load_split("digits", "test")
    folder = tmp_path / "images"
    folder.mkdir()
    labels = {}
    for i in range(30):
        name = f"{i:02d}.png"
        Image.fromarray(test.images[i, 0].numpy(), mode="L").save(folder / name)
        labels[name] = test.classes[int(test.labels[i])]
    rgb = tmp_path / "rgb.png"  # the same first image as RGB: converted back to the model's one channel
    Image.fromarray(test.images[0, 0].numpy(), mode="L").convert("RGB").save(rgb)
    capsys.readouterr()
    assert main(["predict", str(run_dir), str(folder), str(rgb), "--topk", "3", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out) == 31
    for item in out:
        probs = [p["probability"] for p in item["predictions"]]
        assert len(probs) == 3 and probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6
    hits = sum(item["predictions"][0]["class"] == labels[Path(item["file"]).name] for item in out[:30])
    assert hits >= 27  # the model is ~98% accurate on these; preprocessing matches training
    assert out[30]["predictions"] == out[0]["predictions"]
    assert main(["predict", str(run_dir), str(rgb), "--topk", "2"]) == 0
    assert "probability" in capsys.readouterr().out


# -------------------------------------------------------------------- precedence and help
def test_flags_override_the_recipe_which_overrides_defaults(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "# test\nmodel: resnet18\ndata: cifar10\nlr: 0.05\nepochs: 7\nmodel_options: {small_input: true}\n"
    )
    args = build_parser().parse_args(["train", "--config", str(recipe), "--lr", "0.2", "-o", "zero_init_residual=true",
                                      "--no-flip", "--milestones", "3", "5"])  # fmt: skip
    cfg = TrainConfig.from_dict(train_values(args))
    assert (cfg.lr, cfg.epochs, cfg.batch_size) == (0.2, 7, TrainConfig().batch_size)
    assert cfg.model_options == {"small_input": True, "zero_init_residual": True}
    assert cfg.flip is False and cfg.milestones == [3, 5] and cfg.recipe == str(recipe)


def test_compile_takes_a_mode_and_alone_means_default():
    def compile_mode(*flags: str) -> str:
        args = build_parser().parse_args(["train", "--model", "resnet20", "--data", "digits", *flags])
        return TrainConfig.from_dict(train_values(args)).compile

    assert compile_mode() == "none"
    assert compile_mode("--compile") == "default"
    assert compile_mode("--compile", "reduce-overhead") == "reduce-overhead"


def test_help_groups_the_flags(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for group in (
        "model:",
        "data:",
        "optimisation:",
        "schedule:",
        "regularisation:",
        "precision/speed:",
        "run/output:",
    ):
        assert group in out
    assert "--label-smoothing" in out and "--model-option" in out and "--resume" in out


# -------------------------------------------------------------------- bad input: one line, exit 2
@pytest.mark.parametrize(
    "flags, message",
    [
        (["--epochs", "-3"], "epochs must be at least 1, got -3"),
        (["--lr", "0"], "lr must be a positive number"),
        (["--optimizer", "adamx"], "invalid optimizer 'adamx'"),
        (["--schedule", "cosin"], "invalid schedule 'cosin'"),
        (["--epochs", "ten"], "epochs must be an integer"),
        (["--model", "resnet21"], "unknown model 'resnet21'. Did you mean"),
        (["--data", "cifar11"], "unknown dataset 'cifar11'. Did you mean"),
        (["-o", "widht=2"], "has no option 'widht'"),
        (["--compile", "fastest"], "invalid compile 'fastest'"),
    ],
)
def test_bad_values_exit_2_with_one_line(capsys, tmp_path, flags, message):
    argv = ["train", "--model", "resnet20", "--data", "digits", "--run-dir", str(tmp_path / "run"), *flags]
    assert message in _fails_with(capsys, argv)
    assert not (tmp_path / "run").exists()


def test_bad_yaml_key_suggests_the_close_one(capsys, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model: resnet20\ndata: digits\nlabel_smothing: 0.1\n")
    err = _fails_with(capsys, ["train", "--config", str(recipe)])
    assert "unknown key 'label_smothing'" in err and "Did you mean 'label_smoothing'" in err


def test_resume_refuses_to_change_the_config(capsys, tmp_path):
    assert "drop --lr" in _fails_with(capsys, ["train", "--resume", str(tmp_path), "--lr", "0.1"])
    assert "no checkpoints/last.pt" in _fails_with(capsys, ["train", "--resume", str(tmp_path)])


def test_diverged_training_exits_1_with_one_line(capsys, monkeypatch):
    from cnnzoo.training import engine

    def diverge(*args, **kwargs):
        raise engine.TrainingDiverged("loss became NaN in epoch 2 (by step 30); training stopped, keep last.pt")

    monkeypatch.setattr(engine, "train", diverge)
    assert main(["train", "--model", "resnet20", "--data", "digits"]) == 1
    err = capsys.readouterr().err
    assert err == "cnnzoo: error: loss became NaN in epoch 2 (by step 30); training stopped, keep last.pt\n"


def test_evaluate_and_predict_errors_are_one_line(capsys, tmp_path):
    assert "no checkpoint or run directory" in _fails_with(capsys, ["evaluate", str(tmp_path / "nope")])
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    assert "not a cnnzoo checkpoint" in _fails_with(capsys, ["predict", str(bad), str(bad)])
    assert "no such image or folder" in _fails_with(capsys, ["predict", str(bad), str(tmp_path / "missing.png")])
    assert "--topk must be a positive integer" in _fails_with(capsys, ["predict", str(bad), str(bad), "--topk", "0"])
    assert "invalid split 'train'" in _fails_with(capsys, ["evaluate", str(bad), "--split", "train"])
