"""`cnnzoo train / evaluate / predict` end to end on the offline digits demo, and their one-line errors."""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

import pytest
import torch
from PIL import Image

from cnnzoo.cli import build_parser, main
from cnnzoo.cli.train_cmd import train_values
from cnnzoo.training.config import TrainConfig

DIGITS = "recipes/digits.yaml"  # the packaged recipe, as runs record it


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
    assert lines[0] == f"recipe: {DIGITS}; cpu: fp32, NCHW (as asked)"  # recipe, device and precision, first
    assert [line.split()[1] for line in lines[1:-1]] == ["1/5", "2/5", "3/5", "4/5", "5/5"]  # one plain line per epoch
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
    assert (cfg.lr, cfg.epochs, cfg.data.batch_size) == (0.2, 7, TrainConfig().data.batch_size)
    assert cfg.model_options == {"small_input": True, "zero_init_residual": True}
    assert cfg.data.augment.flip is False and cfg.milestones == [3, 5] and cfg.recipe == str(recipe)


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
    from cnnzoo.training import loop
    from cnnzoo.training import train as engine

    def diverge(*args, **kwargs):
        raise loop.TrainingDiverged("loss became NaN in epoch 2 (by step 30); training stopped, keep last.pt")

    monkeypatch.setattr(engine, "train", diverge)
    assert main(["train", "--model", "resnet20", "--data", "digits"]) == 1
    err = capsys.readouterr().err
    assert err == "cnnzoo: error: loss became NaN in epoch 2 (by step 30); training stopped, keep last.pt\n"


def test_evaluate_and_predict_errors_are_one_line(capsys, tmp_path):
    assert "no checkpoint or run directory" in _fails_with(capsys, ["evaluate", str(tmp_path / "nope")])
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    assert "not a cnnzoo checkpoint" in _fails_with(capsys, ["predict", str(bad), str(bad)])
    assert "not a cnnzoo checkpoint" in _fails_with(capsys, ["predict", str(bad), str(tmp_path / "missing.png")])
    assert "--topk must be a positive integer" in _fails_with(capsys, ["predict", str(bad), str(bad), "--topk", "0"])
    assert "invalid split 'train'" in _fails_with(capsys, ["evaluate", str(bad), "--split", "train"])


# -------------------------------------------------------------------- the run directory's life cycle
def _short_run(run_dir: Path, *extra: str) -> list[str]:
    return ["train", "--model", "resnet20", "--data", "digits", "--batch-size", "64", "--no-tensorboard",
            "--no-plots", "-q", "--run-dir", str(run_dir), *extra]  # fmt: skip


_HOLD_LOCK = (
    "import sys, time; from cnnzoo.training.runlog import RunDir; run = RunDir(sys.argv[1]); run.create(resume=True); "
    "print('locked', flush=True); time.sleep(60)"
)


@contextmanager
def _held(run_dir: Path):
    """Another process holding the run directory's lock, as `cnnzoo train` does while it trains."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(run_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def _results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


def test_evaluate_counts_test_evaluations_and_says_when_the_test_set_was_seen(tmp_path, capsys, check_json):
    run_dir = tmp_path / "run"
    assert main(_short_run(run_dir, "--epochs", "1", "--max-steps", "2")) == 0
    assert _results(run_dir)["test_evaluations"] == 1  # the run's own final test
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["count"] == 300  # the result is still printed
    check_json(json.loads(out))  # snake_case keys (per_class is keyed by class name), numbers as numbers
    assert err == (
        "note: this run's test set has been evaluated 1 time(s) before; numbers from repeated test evaluations "
        "are no longer an unbiased estimate\n"
    )
    assert main(["evaluate", str(run_dir / "checkpoints" / "best.pt")]) == 0  # any of the run's weights count
    assert "evaluated 2 time(s) before" in capsys.readouterr().err
    assert main(["evaluate", str(run_dir), "--split", "val"]) == 0  # validation is not the test set
    assert capsys.readouterr().err == ""
    assert _results(run_dir)["test_evaluations"] == 3

    with _held(run_dir) as holder:
        err = _fails_with(capsys, ["evaluate", str(run_dir)])
    assert f"is in use by another cnnzoo process (pid {holder.pid})" in err
    assert _results(run_dir)["test_evaluations"] == 3


def test_resuming_a_finished_run_shows_its_recorded_result(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(_short_run(run_dir, "--epochs", "1", "--max-steps", "2")) == 0
    recorded = capsys.readouterr().out.strip()
    assert main(["train", "--resume", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert out == f"{run_dir} is finished (1 epoch); its recorded result: {recorded}\n"
    assert _results(run_dir)["test_evaluations"] == 1  # not tested again


def test_resume_takes_the_runs_last_pt_as_well_as_its_directory(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(_short_run(run_dir, "--epochs", "1", "--max-steps", "2")) == 0
    (run_dir / "results.json").unlink()  # killed after its last checkpoint, before the test: unfinished
    last = run_dir / "checkpoints" / "last.pt"
    capsys.readouterr()
    assert main(["train", "--resume", str(last), "-q"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"run: {run_dir}")
    assert _results(run_dir)["epochs"] == 1 and _results(run_dir)["test_evaluations"] == 1
    assert main(["train", "--resume", str(last)]) == 0
    assert capsys.readouterr().out.startswith(f"{run_dir} is finished (1 epoch)")
    err = _fails_with(capsys, ["train", "--resume", str(run_dir / "checkpoints" / "best.pt")])
    assert "--resume takes a run directory or its checkpoints/last.pt" in err and "--init-from" in err
    elsewhere = tmp_path / "last.pt"
    elsewhere.write_bytes(last.read_bytes())
    err = _fails_with(capsys, ["train", "--resume", str(elsewhere)])
    assert f"--resume takes a run directory or its checkpoints/last.pt, not {elsewhere}" in err


def test_a_runs_own_config_replays_as_a_new_run_beside_it(tmp_path, capsys):
    first = tmp_path / "runs" / "first"
    assert main(_short_run(first, "--epochs", "1", "--max-steps", "2", "--runs-root", str(tmp_path / "runs"))) == 0
    saved = str(first / "config.yaml")
    capsys.readouterr()
    assert main(["train", "--config", saved, "-q"]) == 0
    out, err = capsys.readouterr()
    replay = Path(out.strip().split("run: ")[-1])
    assert replay.parent == first.parent and replay != first and (replay / "results.json").is_file()
    said = [line for line in err.splitlines() if saved in line]
    assert len(said) == 1 and "new run" in said[0] and f"--resume {first}" in said[0]
    mine = tmp_path / "mine"  # an explicit --run-dir still decides
    with pytest.warns(UserWarning, match="starts a new run"):
        values = train_values(build_parser().parse_args(["train", "--config", saved, "--run-dir", str(mine)]))
    assert values["run_dir"] == str(mine)


def test_train_format_json_prints_only_the_results_record(tmp_path, capsys):
    run_dir = tmp_path / "run"
    argv = [arg for arg in _short_run(run_dir, "--epochs", "1", "--max-steps", "2") if arg != "-q"]  # not quiet
    assert main([*argv, "--format", "json"]) == 0
    out = capsys.readouterr().out
    record = json.loads(out)  # the whole of stdout is one JSON document: no recipe or epoch lines
    assert 0 <= record["test"]["top1"] <= 1 and record == _results(run_dir)
    assert main(["train", "--resume", str(run_dir), "--format", "json"]) == 0  # a finished run: the same record
    assert json.loads(capsys.readouterr().out) == record


def test_train_seeds_format_json_prints_one_document_with_every_run(tmp_path, capsys):
    argv = [arg for arg in _short_run(tmp_path / "run", "--epochs", "1", "--max-steps", "1") if arg != "-q"]
    assert main([*argv, "--seeds", "2", "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["seeds"] == [0, 1] and [Path(run["run_dir"]).name for run in record["runs"]] == [
        "run-seed0",
        "run-seed1",
    ]
    top1 = [run["test"]["top1"] for run in record["runs"]]
    assert record["top1_mean"] == pytest.approx(sum(top1) / 2)


def test_a_second_training_in_one_run_directory_is_refused(tmp_path, capsys):
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(tmp_path / "run")], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        err = _fails_with(capsys, _short_run(tmp_path / "run", "--epochs", "1"))
        assert f"is in use by another cnnzoo process (pid {holder.pid})" in err
    finally:
        holder.kill()
        holder.wait()
    assert not (tmp_path / "run" / "config.yaml").exists()


def test_a_full_disk_is_one_line_exit_1_and_the_run_resumes(tmp_path, capsys, monkeypatch):
    run_dir = tmp_path / "run"
    real_save = torch.save

    def disk_fills_in_epoch_2(obj, f, *args, **kwargs):
        if isinstance(obj, dict) and obj.get("epoch") == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", disk_fills_in_epoch_2)
    assert main(_short_run(run_dir, "--epochs", "2", "--train-limit", "128")) == 1
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert err.startswith(f"cnnzoo: error: no space left on device while writing {run_dir / 'checkpoints'}")
    assert err.endswith(f"free space and resume with: cnnzoo train --resume {run_dir}\n") and err.count("\n") == 1
    assert main(["train", "--resume", str(run_dir)]) == 0
    assert _results(run_dir)["epochs"] == 2


@pytest.mark.slow
@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_say_how_to_resume(tmp_path, signal_number):
    """A real process stopped after its first checkpoint: one line, status 128 + signal, and --resume finishes."""
    run_dir = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "cnnzoo", *_short_run(run_dir, "--epochs", "40", "--train-limit", "64")]
    # A shell that starts a job in the background without job control makes it ignore SIGINT, and Python keeps
    # an ignored SIGINT ignored (as it should: nohup and `cmd &` ask for that). Ctrl-C reaches a foreground
    # process, so the child gets the default disposition back (seen 2026-11-23: CI started by `bash -c '...' &`
    # trained all 40 epochs through the SIGINT and exited 0).
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not (run_dir / "checkpoints" / "last.pt").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no checkpoint in 5 minutes"
            time.sleep(0.02)
        proc.send_signal(signal_number)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal_number, err
    assert err == f"cnnzoo: interrupted; resume with: cnnzoo train --resume {run_dir}\n"
    assert not (run_dir / "results.json").exists()
    resumed = subprocess.run([sys.executable, "-m", "cnnzoo", "train", "--resume", str(run_dir), "-q"], env=env,
                             capture_output=True, text=True, timeout=600)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert _results(run_dir)["epochs"] == 40


# -------------------------------------------------------------------- what a new user broke (issue 20)
def test_evaluate_is_refused_while_train_still_writes_the_run(tmp_path, capsys):
    """A run still training has no results.json yet; evaluate used to print numbers and record nothing."""
    run_dir = tmp_path / "run"
    assert main(_short_run(run_dir, "--epochs", "1", "--max-steps", "2")) == 0
    (run_dir / "results.json").unlink()  # as it is while the run trains
    capsys.readouterr()
    with _held(run_dir) as holder:
        err = _fails_with(capsys, ["evaluate", str(run_dir)])
    assert f"is in use by another cnnzoo process (pid {holder.pid})" in err


def _folder(root: Path, size: int, classes: int = 3, per_class: int = 8) -> Path:
    """An image folder (train/ and test/ class folders) of grey squares, a shade per class."""
    for split in ("train", "test"):
        for c in range(classes):
            (root / split / f"c{c}").mkdir(parents=True)
            for k in range(per_class):
                Image.new("L", (size, size), color=40 * c + k).save(root / split / f"c{c}" / f"{k}.png")
    return root


def test_evaluate_on_larger_images_resizes_them_and_does_not_count_as_the_runs_test(tmp_path, capsys):
    """64x64 images for a model trained at 8x8 were evaluated at 64x64 without a word, and counted as a look at
    the run's own test set; now they are resized as --image-size resizes, and only the run's own split counts."""
    run_dir = tmp_path / "run"
    small = _folder(tmp_path / "small", 8)
    argv = [
        "train",
        "--model",
        "resnet20",
        "--data",
        "imagefolder",
        "--data-dir",
        str(small),
        "--val-size",
        "0",
        "--batch-size",
        "8",
        "--epochs",
        "1",
        "--no-tensorboard",
        "--no-plots",
        "-q",
        "--run-dir",
        str(run_dir),
    ]
    assert main(argv) == 0
    big = _folder(tmp_path / "big", 64)
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--data-dir", str(big), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["count"] == 24 and "note: this run's test set" not in err
    assert _results(run_dir)["test_evaluations"] == 1  # still only the run's own final test
    assert main(["evaluate", str(run_dir), "--format", "json"]) == 0  # its own test images do count
    assert _results(run_dir)["test_evaluations"] == 2


def test_sync_bn_on_the_cpu_is_refused_before_any_process_starts(tmp_path, capsys):
    err = _fails_with(capsys, _short_run(tmp_path / "run", "--nproc", "2", "--sync-bn", "--device", "cpu"))
    assert "--sync-bn needs CUDA" in err
    assert not (tmp_path / "run").exists()


def test_more_processes_than_cpu_cores_are_refused_before_any_starts(tmp_path, capsys, monkeypatch):
    # `--nproc 64` on 2 cores started for minutes, then hung in the first collective until killed.
    from cnnzoo.training import distributed

    monkeypatch.setattr(distributed, "launch", lambda *a: pytest.fail("processes started"))
    cores = distributed.usable_cpus()
    err = _fails_with(capsys, _short_run(tmp_path / "run", "--nproc", str(cores + 1), "--device", "cpu"))
    assert f"--nproc {cores + 1} asks for more processes than this machine's {cores} CPU cores" in err
    assert f"use --nproc {cores} or fewer" in err and not (tmp_path / "run").exists()


def test_a_device_this_machine_lacks_leaves_no_run_directory(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    err = _fails_with(capsys, _short_run(tmp_path / "run", "--device", "cuda"))
    assert "CUDA is not available here" in err
    assert not (tmp_path / "run").exists()


def test_a_full_disk_after_the_best_checkpoint_names_it(tmp_path, capsys, monkeypatch):
    """best.pt is written before last.pt: a disk that fills between them keeps best.pt, and the message says so."""
    run_dir = tmp_path / "run"
    real_save = torch.save
    checkpoints = []

    def last_pt_fails(obj, f, *args, **kwargs):
        if isinstance(obj, dict) and obj.get("format") == "cnnzoo-checkpoint":
            checkpoints.append(obj["epoch"])
            if len(checkpoints) == 2:  # epoch 1 writes best.pt, then last.pt
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", last_pt_fails)
    assert main(_short_run(run_dir, "--epochs", "1", "--train-limit", "128")) == 1
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert f"{run_dir / 'checkpoints' / 'best.pt'} holds the best weights so far" in err, err
    assert "no checkpoint was written yet" not in err and err.count("\n") == 1


def test_interrupting_train_seeds_says_to_rerun_the_same_command(tmp_path, capsys, monkeypatch):
    from cnnzoo.training import loop

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "train_one_epoch", interrupted)
    with pytest.raises(SystemExit) as exit_info:
        main(_short_run(tmp_path / "run", "--epochs", "1", "--seeds", "2"))
    assert exit_info.value.code == 130
    err = capsys.readouterr().err
    assert (
        err
        == "cnnzoo: interrupted; rerun the same command to resume: finished seeds are reused, the interrupted one resumed\n"
    )


def test_the_result_line_shows_the_test_time_augmentation(tmp_path, capsys):
    assert main(_short_run(tmp_path / "run", "--epochs", "1", "--max-steps", "2", "--flip", "--tta", "flip")) == 0
    out = capsys.readouterr().out
    assert "with tta flip: top-1 " in out


def test_exported_files_given_to_evaluate_or_init_from_are_named_for_what_they_are(tmp_path, capsys):
    """evaluate model.onnx said "pass --model NAME"; --init-from model.onnx said "116 tensors are missing"."""
    run_dir, exported = tmp_path / "run", tmp_path / "model.torchscript.pt"
    assert main(_short_run(run_dir, "--epochs", "1", "--max-steps", "2")) == 0
    assert main(["export", str(run_dir), "--format", "torchscript", "--output", str(exported)]) == 0
    capsys.readouterr()
    err = _fails_with(capsys, ["evaluate", str(exported)])
    assert "is an exported TorchScript file, which carries no training config" in err
    err = _fails_with(capsys, _short_run(tmp_path / "run2", "--epochs", "1", "--init-from", str(exported)))
    assert "is an exported TorchScript file, made for other runtimes" in err
