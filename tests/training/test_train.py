"""The training loop: losses, selection by validation only, NaN handling, fail-early, and exact resume."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import namedtuple

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml

from cnnzoo.errors import CnnzooError
from cnnzoo.models.registry import _REGISTRY, CIFAR_CFG, register_model
from cnnzoo.training import loop
from cnnzoo.training import train as train_module
from cnnzoo.training.checkpoint import read_checkpoint
from cnnzoo.training.loop import TrainingDiverged, compute_loss
from cnnzoo.training.progress import EpochProgress
from cnnzoo.training.train import train


# -------------------------------------------------------------------- a tiny registered model for fast runs
class _Tiny(nn.Module):
    """Conv → global pool → linear; with nan_after=N its training output turns NaN after N forward passes."""

    def __init__(self, num_classes: int = 10, in_chans: int = 1, *, nan_after: int = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_chans, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, num_classes)
        self.nan_after = nan_after
        self.calls = 0

    def forward(self, x):
        y = self.fc(F.adaptive_avg_pool2d(F.relu(self.bn(self.conv(x))), 1).flatten(1))
        if self.training:
            self.calls += 1
            if self.nan_after and self.calls > self.nan_after:
                y = y * float("nan")
        return y


@pytest.fixture(scope="module")
def tiny():
    @register_model(CIFAR_CFG, builds=_Tiny)
    def tiny_engine_net(**options) -> _Tiny:
        return _Tiny(**options)

    yield "tiny_engine_net"
    del _REGISTRY["tiny_engine_net"]


def _config(tmp_path, model, **extra) -> dict:
    return {"model": model, "data": "digits", "epochs": 2, "batch_size": 128, "lr": 0.05, "tensorboard": False,
            "plots": False, "run_dir": str(tmp_path / "run"), **extra}  # fmt: skip


# -------------------------------------------------------------------- losses
def test_label_smoothing_matches_the_smoothed_cross_entropy():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
    targets = torch.tensor([0, 1])
    eps, k = 0.1, 3
    q = torch.full((2, k), eps / k)
    q[torch.arange(2), targets] += 1 - eps
    expected = -(q * logits.log_softmax(dim=1)).sum(dim=1).mean()
    loss, main = compute_loss(logits, targets, label_smoothing=eps)
    torch.testing.assert_close(loss, expected)
    assert main is logits
    assert not torch.allclose(compute_loss(logits, targets)[0], expected)  # smoothing changed the loss


def test_auxiliary_losses_are_weighted():
    """GoogLeNet's auxiliary classifiers add 0.3 × their loss (Szegedy et al. 2015, section 5)."""
    torch.manual_seed(0)
    main, aux1, aux2 = (torch.randn(4, 5) for _ in range(3))
    targets = torch.tensor([0, 1, 2, 3])
    ce = lambda z: F.cross_entropy(z, targets)  # noqa: E731
    loss, logits = compute_loss((main, aux1, aux2), targets)
    torch.testing.assert_close(loss, ce(main) + 0.3 * (ce(aux1) + ce(aux2)))
    assert logits is main
    Outputs = namedtuple("Outputs", "logits aux_logits2 aux_logits1")
    loss, _ = compute_loss(Outputs(main, aux1, None), targets, aux_weight=0.5)  # a missing head is skipped
    torch.testing.assert_close(loss, ce(main) + 0.5 * ce(aux1))


# -------------------------------------------------------------------- failing early and failing safely
def test_unwritable_run_dir_fails_before_any_data_or_training(tmp_path, tiny, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")

    def no_loading(*args, **kwargs):
        raise AssertionError("data was loaded before the run directory was checked")

    monkeypatch.setattr(train_module, "make_loaders", no_loading)
    with pytest.raises(CnnzooError, match="is not writable") as err:
        train(_config(tmp_path, tiny, run_dir=str(blocker / "run")))
    assert "\n" not in str(err.value)


def test_existing_run_is_not_overwritten(tmp_path, tiny, monkeypatch):
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints" / "last.pt").write_bytes(b"x")
    monkeypatch.setattr(train_module, "make_loaders", lambda *a, **k: pytest.fail("loaded data"))
    with pytest.raises(CnnzooError, match="already holds a run; continue it with --resume"):
        train(_config(tmp_path, tiny))


def test_unknown_model_and_dataset_suggest_names_before_any_directory(tmp_path):
    with pytest.raises(CnnzooError, match=r"Did you mean .*'resnet20'"):
        train(_config(tmp_path, "resnet21"))
    with pytest.raises(CnnzooError, match=r"Did you mean .*'cifar10'"):
        train(_config(tmp_path, "resnet20", data="cifar11"))
    with pytest.raises(CnnzooError, match="has no option 'width'"):
        train(_config(tmp_path, "resnet20", model_options={"width": 2}))
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_nan_loss_stops_with_a_message_and_keeps_the_last_good_checkpoint(tmp_path, tiny, precision):
    # digits: 1,347 training images at batch 128 → 10 iterations per epoch; NaN from the 15th, in epoch 2.
    with pytest.raises(TrainingDiverged) as err:
        train(_config(tmp_path, tiny, epochs=3, precision=precision, model_options={"nan_after": 15}), quiet=True)
    message = str(err.value)
    assert "loss became NaN in epoch 2" in message and "last.pt (epoch 1)" in message and "\n" not in message
    assert ("--precision fp32" in message) == (precision != "fp32")  # not advised to a run already in fp32
    assert f"starting from --init-from {tmp_path / 'run' / 'checkpoints' / 'last.pt'}" in message
    last = read_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert last["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in last["model"].values() if v.is_floating_point())
    assert not (tmp_path / "run" / "results.json").exists()
    rows = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["epoch"] for r in rows] == [1]


# -------------------------------------------------------------------- validation selects, test is touched once
def test_best_checkpoint_and_early_stopping_follow_validation_and_test_runs_once(tmp_path, tiny, monkeypatch):
    """Val top-1 goes 0.5, 0.6, 0.55, 0.55: best is epoch 2, patience 2 stops after epoch 4, test uses epoch 2."""
    val_scores = iter([0.5, 0.6, 0.55, 0.55])
    calls = []
    real_evaluate = loop.evaluate

    def fake_evaluate(model, loader, num_classes, device, precision="fp32", *, confusion=True, **options):
        result = real_evaluate(model, loader, num_classes, device, precision, confusion=confusion, **options)
        if confusion:  # the test evaluation
            calls.append(("test", {k: v.clone() for k, v in model.state_dict().items()}))
            return result
        calls.append(("val", None))
        return {**result, "top1": next(val_scores)}

    monkeypatch.setattr(loop, "evaluate", fake_evaluate)
    results = train(_config(tmp_path, tiny, epochs=10, patience=2), quiet=True)
    assert [kind for kind, _ in calls] == ["val"] * 4 + ["test"]
    assert results["epochs"] == 4 and results["stopped_early"] is True
    assert results["val_best"]["epoch"] == 2 and results["val_best"]["top1"] == 0.6
    best = read_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")
    last = read_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert best["epoch"] == 2 and last["epoch"] == 4
    tested = calls[-1][1]
    assert all(torch.equal(tested[k], best["model"][k]) for k in tested)
    assert not all(torch.equal(tested[k], last["model"][k]) for k in tested)


def test_full_train_has_no_validation_and_tests_the_last_weights(tmp_path, tiny):
    results = train(_config(tmp_path, tiny, epochs=1, full_train=True, max_steps=3), quiet=True)
    assert results["val_best"] is None and results["tested_weights"] == "last"
    assert results["steps"] == 3  # max_steps stops inside the epoch
    rows = [json.loads(r) for r in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rows[0]["val_top1"] is None and rows[0]["step"] == 3


# -------------------------------------------------------------------- the public API
def test_public_api_is_the_engine_and_loader():
    """`cnnzoo.train` and `cnnzoo.load` are the functions; the modules live in `cnnzoo.training`, unshadowed."""
    import cnnzoo
    import cnnzoo.training.train as engine_module
    from cnnzoo.predict import load

    assert cnnzoo.train is train is engine_module.train
    assert cnnzoo.load is load


# -------------------------------------------------------------------- SIGKILL mid-epoch, resume, same weights
def _cnnzoo(*args: str) -> list[str]:
    return [sys.executable, "-m", "cnnzoo", *args]


@pytest.mark.slow
def test_resume_after_sigkill_mid_epoch_gives_the_same_weights(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # same arithmetic in every process
    common = ["train", "--config", "digits", "--epochs", "3", "--deterministic",
              "--no-tensorboard", "--no-plots", "-q"]  # fmt: skip
    straight_dir, killed_dir = tmp_path / "straight", tmp_path / "killed"
    straight = subprocess.Popen(_cnnzoo(*common, "--run-dir", str(straight_dir)), env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    killed = subprocess.Popen(_cnnzoo(*common, "--run-dir", str(killed_dir)), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        metrics = killed_dir / "metrics.jsonl"
        deadline = time.monotonic() + 600
        while not (metrics.exists() and metrics.read_text().count("\n") >= 1):
            assert killed.poll() is None, "the run ended before its first epoch was checkpointed"
            assert time.monotonic() < deadline, "no epoch finished in 10 minutes"
            time.sleep(0.05)
        epoch_seconds = json.loads(metrics.read_text().splitlines()[0])["time"]
        time.sleep(0.4 * epoch_seconds)  # part-way into epoch 2
        assert killed.poll() is None, "the run finished before it could be killed"
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
    finally:
        if killed.poll() is None:
            killed.kill()
    assert killed.returncode == -signal.SIGKILL
    assert not (killed_dir / "results.json").exists()
    assert read_checkpoint(killed_dir / "checkpoints" / "last.pt")["epoch"] < 3

    out, _ = straight.communicate(timeout=600)
    assert straight.returncode == 0, out.decode()
    resumed = subprocess.run(_cnnzoo("train", "--resume", str(killed_dir), "-q"), env=env, capture_output=True,
                             text=True, timeout=600)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr

    a = read_checkpoint(straight_dir / "checkpoints" / "last.pt")
    b = read_checkpoint(killed_dir / "checkpoints" / "last.pt")
    assert a["epoch"] == b["epoch"] == 3 and a["step"] == b["step"]
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    rows_a = [json.loads(r) for r in (straight_dir / "metrics.jsonl").read_text().splitlines()]
    rows_b = [json.loads(r) for r in (killed_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows_b] == [1, 2, 3]  # appended, no duplicate epoch
    assert [r["train_loss"] for r in rows_b] == [r["train_loss"] for r in rows_a]
    assert (killed_dir / "metrics.csv").read_text().count("\n") == 4  # header + 3 epochs
    assert (
        json.loads((killed_dir / "results.json").read_text())["test"]
        == json.loads((straight_dir / "results.json").read_text())["test"]
    )


# -------------------------------------------------------------------- progress output
_ROW = {"epoch": 1, "step": 10, "lr": 0.1, "train_loss": 0.5, "train_acc": 0.8, "val_loss": 0.6, "val_top1": 0.75,
        "val_top5": 0.99, "time": 2.0, "images_per_s": 640.0}  # fmt: skip


def test_progress_is_one_plain_line_per_epoch_off_a_terminal(capsys):
    progress = EpochProgress(quiet=False, epochs=3, steps_per_epoch=10)
    assert not progress.live  # pytest's stderr is not a terminal
    progress.epoch_start(0)
    progress.refresh(5, 0.5, 0.8, 640.0, 0.1)
    progress.epoch_done(_ROW, improved=True)
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and err == ""
    assert (
        out.startswith("epoch 1/3  step 10")
        and "val loss 0.6000 top1 75.00% top5 99.00% *" in out
        and "640 img/s" in out
    )


def test_progress_draws_a_bar_on_a_terminal_and_nothing_when_quiet(capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    progress = EpochProgress(quiet=False, epochs=3, steps_per_epoch=10)
    progress.epoch_start(0)
    progress.refresh(5, 0.5, 0.8, 640.0, 0.1)
    progress.epoch_done(_ROW, improved=False)
    out, err = capsys.readouterr()
    assert "epoch 1/3" in err and "acc=80.00%" in err  # the tqdm bar with live loss/accuracy
    assert out.startswith("epoch 1/3") and "*" not in out
    quiet = EpochProgress(quiet=True, epochs=3, steps_per_epoch=10)
    quiet.epoch_start(0)
    quiet.epoch_done(_ROW, improved=True)
    assert capsys.readouterr() == ("", "")


def test_resume_restores_ema_and_optimizer_state_exactly(tmp_path, tiny, monkeypatch):
    """A crash in epoch 2 (here an exception), then --resume: weights and EMA equal an uninterrupted run's."""
    config = dict(epochs=3, ema=True, ema_decay=0.9, optimizer="adamw", lr=1e-2, deterministic=True)
    straight = train(_config(tmp_path / "a", tiny, **config), quiet=True)

    real_epoch = loop.train_one_epoch

    def crash_in_epoch_2(*args, epoch, **kwargs):
        if epoch == 1:
            raise KeyboardInterrupt
        return real_epoch(*args, epoch=epoch, **kwargs)

    monkeypatch.setattr(loop, "train_one_epoch", crash_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train(_config(tmp_path / "b", tiny, **config), quiet=True)
    monkeypatch.undo()
    resumed = train(resume=tmp_path / "b" / "run", quiet=True)

    a = read_checkpoint(tmp_path / "a" / "run" / "checkpoints" / "last.pt")
    b = read_checkpoint(tmp_path / "b" / "run" / "checkpoints" / "last.pt")
    for part in ("model", "ema"):
        sa, sb = (a[part], b[part]) if part == "model" else (a[part]["module"], b[part]["module"])
        assert all(torch.equal(sa[k], sb[k]) for k in sa), part
    assert a["ema"]["updates"] == b["ema"]["updates"] == a["step"]
    assert resumed["test"] == straight["test"] and resumed["tested_weights"] == "best-val-ema"


# -------------------------------------------------------------------- a full disk mid-run
def test_a_full_disk_mid_run_keeps_last_pt_and_the_run_resumes(tmp_path, tiny, monkeypatch):
    real_save = torch.save

    def disk_fills_in_epoch_2(obj, f, *args, **kwargs):
        if isinstance(obj, dict) and obj.get("epoch") == 2:
            f.write(b"PK\x03\x04 the first bytes fit")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", disk_fills_in_epoch_2)
    run = tmp_path / "run"
    with pytest.raises(train_module.RunWriteFailed) as err:
        train(_config(tmp_path, tiny, epochs=3), quiet=True)
    monkeypatch.undo()
    message = str(err.value)
    assert message.startswith("no space left on device while writing " + str(run / "checkpoints"))
    assert message.endswith(f"{run / 'checkpoints' / 'last.pt'} is intact; free space and resume with: "
                            f"cnnzoo train --resume {run}")  # fmt: skip
    assert read_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 1
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.endswith(".tmp")]
    results = train(resume=run, quiet=True)
    assert results["epochs"] == 3 and read_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 3


# -------------------------------------------------------------------- the record of a run's splits and tests
def test_results_record_the_validation_split_and_one_test_evaluation(tmp_path, tiny):
    from cnnzoo.data.datasets import holdout_indices, indices_digest, load_split

    results = train(_config(tmp_path, tiny, epochs=1, max_steps=2, seed=7), quiet=True)
    labels = load_split("digits", "train").labels
    _, held = holdout_indices(labels, 0.1, 7)  # digits' default validation size: 10%, drawn with the run's seed
    expected = hashlib.sha256(",".join(map(str, held.tolist())).encode()).hexdigest()
    assert indices_digest(held) == expected
    assert results["split"] == {"val_size": 150, "val_seed": 7, "val_indices_sha256": expected}
    assert results["test_evaluations"] == 1
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["split"] == results["split"] and saved["test_evaluations"] == 1


def test_resuming_a_finished_run_does_not_test_again(tmp_path, tiny, monkeypatch):
    first = train(_config(tmp_path, tiny, epochs=1, max_steps=2), quiet=True)
    monkeypatch.setattr(loop, "evaluate", lambda *a, **k: pytest.fail("the test set was evaluated again"))
    again = train(resume=tmp_path / "run", quiet=True)
    assert again == json.loads((tmp_path / "run" / "results.json").read_text())
    assert again["test"] == first["test"] and again["test_evaluations"] == 1


def test_an_interrupt_names_the_run_to_resume(tmp_path, tiny, monkeypatch):
    from cnnzoo.errors import Interrupted

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "fit", interrupted)
    with pytest.raises(Interrupted) as err:
        train(_config(tmp_path, tiny), quiet=True)
    assert err.value.run_dir == str(tmp_path / "run") and err.value.signal_number == signal.SIGINT


def test_a_second_interrupt_while_the_run_closes_still_names_the_run(tmp_path, tiny, monkeypatch):
    # A second Ctrl-C during the cleanup (TensorBoard's writer joining) ended in a bare "cnnzoo: interrupted".
    from cnnzoo.errors import Interrupted
    from cnnzoo.training.runlog import RunDir

    real_close = RunDir.close

    def close_interrupted(self):
        real_close(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(RunDir, "close", close_interrupted)
    with pytest.raises(Interrupted) as err:
        train(_config(tmp_path, tiny, epochs=1, max_steps=2), quiet=True)
    assert err.value.run_dir == str(tmp_path / "run")


# -------------------------------------------------------------------- --init-from: new settings, trained weights
def test_init_from_starts_a_new_run_from_trained_weights(tmp_path, tiny, monkeypatch):
    train(_config(tmp_path / "a", tiny, epochs=1, max_steps=3), quiet=True)
    source = tmp_path / "a" / "run" / "checkpoints" / "last.pt"
    trained = read_checkpoint(source)["model"]
    started_with = {}
    real_fit = train_module.fit

    def spy(model, *args, **kwargs):
        started_with.update({k: v.clone() for k, v in model.state_dict().items()})
        return real_fit(model, *args, **kwargs)

    monkeypatch.setattr(train_module, "fit", spy)
    results = train(_config(tmp_path / "b", tiny, epochs=1, max_steps=1, lr=0.01, init_from=str(source)), quiet=True)
    assert started_with.keys() == trained.keys()
    assert all(torch.equal(started_with[k], trained[k]) for k in trained)
    config = yaml.safe_load((tmp_path / "b" / "run" / "config.yaml").read_text())
    assert config["init_from"] == str(source.resolve()) and config["lr"] == 0.01
    assert results["steps"] == 1  # a new run: its own step count, optimiser and schedule


def test_init_from_weights_of_another_model_is_one_line(tmp_path, tiny):
    train(_config(tmp_path / "a", tiny, epochs=1, max_steps=1), quiet=True)
    with pytest.raises(CnnzooError) as err:
        train(_config(tmp_path / "b", "resnet20", init_from=str(tmp_path / "a" / "run")), quiet=True)
    message = str(err.value)
    assert message.startswith(f"--init-from {tmp_path / 'a' / 'run'} holds 'tiny_engine_net' with options {{}}")
    assert "but this run builds 'resnet20'" in message and "\n" not in message
    assert not (tmp_path / "b" / "run").exists()


# -------------------------------------------------------------------- precision "auto"
def test_auto_precision_is_chosen_recorded_and_said_first(tiny, tmp_path, capsys):
    from cnnzoo.device import choose_speed

    expected = choose_speed(torch.device("cpu"))  # bf16 + channels-last where this CPU has native bf16
    results = train(_config(tmp_path, tiny, epochs=1, device="cpu"))
    first = capsys.readouterr().out.splitlines()[0]
    assert first == f"recipe: none (defaults < flags); cpu: {expected.describe()}"
    env = json.loads((tmp_path / "run" / "env.json").read_text())
    assert env["precision"] == {
        "used": expected.precision,
        "channels_last": expected.channels_last,
        "why": expected.why,
    }
    assert (results["precision"], results["channels_last"]) == (expected.precision, expected.channels_last)
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["precision"] == "auto" and saved["channels_last"] is None  # as asked: a replay chooses again


def test_auto_precision_runs_bf16_autocast_when_the_cpu_has_it(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    seen = set()
    real = _Tiny.forward

    def forward(self, x):
        if self.training:  # the training step's forward: under bf16 autocast, on channels-last batches
            seen.add(
                (
                    torch.is_autocast_enabled("cpu"),
                    torch.get_autocast_dtype("cpu"),
                    x.is_contiguous(memory_format=torch.channels_last),
                )
            )
        return real(self, x)

    monkeypatch.setattr(_Tiny, "forward", forward)
    results = train(_config(tmp_path, tiny, epochs=1, device="cpu"), quiet=True)
    assert results["precision"] == "bf16" and seen == {(True, torch.bfloat16, True)}


# -------------------------------------------------------------------- checkpoint interval (speedruns)
def test_checkpoints_every_n_epochs_keep_the_best_weights_and_resume(tiny, tmp_path, monkeypatch):
    written = []
    real = loop.save_checkpoint
    monkeypatch.setattr(
        loop,
        "save_checkpoint",
        lambda path, payload: (written.append((path.name, payload["epoch"])), real(path, payload))[1],
    )
    config = _config(tmp_path, tiny, epochs=5, device="cpu", deterministic=True)
    results = train({**config, "checkpoint_every": 2}, quiet=True)
    assert [e for name, e in written if name == "last.pt"] == [2, 4, 5]  # every 2nd epoch and the last
    every = train({**config, "run_dir": str(tmp_path / "every")}, quiet=True)  # the same run, written every epoch
    assert every["val_best"] == results["val_best"] and every["test"] == results["test"]
    best = read_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")
    reference = read_checkpoint(tmp_path / "every" / "checkpoints" / "best.pt")
    assert best["epoch"] == results["val_best"]["epoch"]  # the best epoch's own weights, even between writes
    assert all(torch.equal(best["model"][k], reference["model"][k]) for k in reference["model"])
    assert train(None, resume=tmp_path / "run", quiet=True)["test"] == results["test"]  # finished: recorded result
