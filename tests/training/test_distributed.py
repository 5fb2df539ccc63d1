"""Distributed training: sharding, metric reduction, and 2 gloo processes matching 1 process on digits.

The multi-process runs go through torchrun (or `cnnzoo train --nproc`) in a subprocess with a timeout, so a
hang fails the test instead of the suite.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from ddp_runner import TinyNoBN, register  # tests/training/ddp_runner.py (pytest puts this folder on sys.path)

from cnnzoo.cli import main
from cnnzoo.data import DataSpec
from cnnzoo.data.base import shard_range
from cnnzoo.data.datasets import ImageArrays
from cnnzoo.data.device_loader import DeviceLoader
from cnnzoo.errors import CnnzooError
from cnnzoo.models.registry import _REGISTRY
from cnnzoo.training import distributed
from cnnzoo.training.checkpoint import read_checkpoint
from cnnzoo.training.train import train

TIMEOUT_S = 240  # a hang (a rank waiting on a dead one) fails the test instead of the suite
RUNNER = Path(__file__).with_name("ddp_runner.py")  # cnnzoo with the BatchNorm-free tiny_ddp_net registered
# A model without BatchNorm or dropout, so a rank's shard gives exactly its share of the gradient; digits at
# global batch 128: 10 steps an epoch, 2 epochs.
RUN = ["train", "--model", "tiny_ddp_net", "--data", "digits", "--batch-size", "128", "--epochs", "2",
       "--lr", "0.05", "--seed", "3", "--deterministic", "--precision", "fp32",  # bf16 rounding hides the sums
       "--no-tensorboard", "--no-plots", "--quiet"]  # fmt: skip
# Same arithmetic, different order of float sums (the gradient all-reduce averages two half-batch gradients):
# measured max |difference| of the weights after 20 SGD steps: 1.6e-7 (2 processes, accumulating 2), 6e-8
# (accumulating 2 in 1 process), 0 (resumed 2-process run). 1e-5 leaves room for other CPUs without hiding a
# wrong shard, batch, loss weighting or schedule, which moves the weights by ~1e-2.
ATOL = 1e-5


# -------------------------------------------------------------------- sharding (in process)
@pytest.mark.parametrize("size,world", [(128, 2), (10, 4), (3, 4), (7, 1)])
def test_shard_ranges_cover_each_global_batch_once(size, world):
    parts = [shard_range(5, 5 + size, r, world) for r in range(world)]
    covered = [i for lo, hi in parts for i in range(lo, hi)]
    assert covered == list(range(5, 5 + size))


def _arrays(n: int = 50) -> ImageArrays:
    images = torch.arange(n * 3 * 4 * 4, dtype=torch.int64).remainder(251).to(torch.uint8).view(n, 3, 4, 4)
    return ImageArrays(images, torch.arange(n) % 5, [str(i) for i in range(5)])


@pytest.mark.parametrize("shuffle", [True, False])
def test_device_loader_ranks_split_every_batch_of_the_same_permutation(shuffle):
    data = _arrays()
    kwargs = dict(mean=(0.5,) * 3, std=(0.25,) * 3, shuffle=shuffle, seed=4, drop_last=shuffle)
    whole = DeviceLoader(data, 12, **kwargs)
    ranks = [DeviceLoader(data, 12, rank=r, world=3, **kwargs) for r in range(3)]
    for loader in (whole, *ranks):
        loader.set_epoch(2)
    shards = [list(loader) for loader in ranks]
    whole_batches = list(whole)
    assert all(len(s) <= len(whole_batches) for s in shards)
    for i, (images, labels) in enumerate(whole_batches):
        parts = [s[i] for s in shards if i < len(s) and len(s[i][1])]
        assert torch.equal(torch.cat([p[0] for p in parts]), images)
        assert torch.equal(torch.cat([p[1] for p in parts]), labels)


def test_global_batch_must_divide_between_the_processes():
    with pytest.raises(CnnzooError, match="global batch.*multiple of 3"):
        DataSpec(name="digits", batch_size=128, rank=0, world=3, val_size=0)


def test_nproc_is_taken_out_of_the_command_torchrun_runs():
    argv = ["train", "--nproc", "2", "--model", "x", "--nproc=3", "--epochs", "1"]
    assert distributed.without_nproc(argv) == ["train", "--model", "x", "--epochs", "1"]


def test_train_help_documents_the_distributed_flags(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps the help lines
    assert "--nproc N train in N processes" in out and "--batch-size stays the global batch" in out
    assert "--accumulate ACCUMULATE split each batch into N micro-batches" in out
    assert "--sync-bn, --no-sync-bn several processes: BatchNorm statistics over the global batch" in out


def test_nproc_must_be_a_positive_count(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--nproc", "0", "--model", "resnet20", "--data", "digits"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("cnnzoo: error:") and "--nproc" in err, err


def test_single_process_needs_no_process_group():
    assert distributed.world() == 1 and distributed.is_main() and not distributed.active()
    model = torch.nn.Linear(2, 2)
    assert distributed.wrap(model, torch.device("cpu"), sync_bn=True) is model


# -------------------------------------------------------------------- gradient accumulation (in process)
@pytest.fixture(scope="module")
def tiny_no_bn():
    yield register()
    del _REGISTRY["tiny_ddp_net"]


def test_accumulating_two_micro_batches_takes_the_same_steps_as_the_whole_batch(tmp_path, tiny_no_bn, monkeypatch):
    common = dict(model=tiny_no_bn, data="digits", batch_size=128, epochs=1, lr=0.05, seed=3, max_steps=4,
                  precision="fp32", tensorboard=False, plots=False)  # fmt: skip
    whole = train({**common, "run_dir": str(tmp_path / "whole")}, quiet=True)
    sizes = []
    forward = TinyNoBN.forward
    monkeypatch.setattr(TinyNoBN, "forward", lambda self, x: (sizes.append(len(x)) if self.training else None,
                                                               forward(self, x))[1])  # fmt: skip
    split = train({**common, "run_dir": str(tmp_path / "split"), "accumulate": 2}, quiet=True)
    assert sizes == [64] * 8  # 4 steps of 2 micro-batches of half the batch
    assert split["steps"] == whole["steps"] == 4  # micro-batches are not steps: the same schedule
    # Without BatchNorm the summed, share-weighted micro-batch gradients are the batch's: the same weights.
    _assert_close(_weights(tmp_path / "whole"), _weights(tmp_path / "split"))


# -------------------------------------------------------------------- 2 processes (subprocesses)
def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", CNNZOO_DIST_TIMEOUT="60")
    return env


def _torchrun(args: list[str], nproc: int = 2, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
               str(RUNNER), *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, env={**_env(), **(env or {})})


def _cnnzoo(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    """RUNNER as the `cnnzoo` command (its `--nproc N` starts torchrun itself)."""
    command = [sys.executable, str(RUNNER), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, env={**_env(), **(env or {})})


def _weights(run_dir: Path) -> dict:
    return read_checkpoint(run_dir / "checkpoints" / "last.pt")["model"]


def _assert_close(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    worst = max((a[k].double() - b[k].double()).abs().max().item() for k in a if a[k].is_floating_point())
    assert worst <= ATOL, f"weights differ by up to {worst:.3g} (tolerance {ATOL})"
    print(f"max |weight difference| {worst:.3g}")
    return worst


@pytest.mark.slow
def test_two_gloo_processes_match_one_process_with_the_same_global_batch(tmp_path):
    one = _cnnzoo([*RUN, "--run-dir", str(tmp_path / "one")])
    assert one.returncode == 0, one.stderr
    # Accumulating 2 micro-batches per rank too: DDP all-reduces only on the last (no_sync on the first).
    loud = [a for a in RUN if a != "--quiet"]  # progress too: rank 0 alone prints it
    two = _cnnzoo([*loud, "--run-dir", str(tmp_path / "two"), "--nproc", "2", "--accumulate", "2"])
    assert two.returncode == 0, two.stderr
    assert two.stdout.count("recipe: ") == 1 and two.stdout.count("test top-1") == 1, two.stdout
    assert two.stdout.count("epoch 2/2") == 1, two.stdout
    _assert_close(_weights(tmp_path / "one"), _weights(tmp_path / "two"))

    res_one = json.loads((tmp_path / "one" / "results.json").read_text())
    res_two = json.loads((tmp_path / "two" / "results.json").read_text())
    assert res_two["steps"] == res_one["steps"] == 20  # the same schedule: 1,347 images // 128, twice
    assert res_two["test"]["count"] == res_one["test"]["count"]  # sharded evaluation, counts summed
    assert abs(res_two["test"]["top1"] - res_one["test"]["top1"]) <= 2 / res_one["test"]["count"]


@pytest.mark.slow
def test_resumed_two_process_run_matches_an_uninterrupted_one(tmp_path):
    # A constant lr makes "1 epoch, then resumed for a 2nd" the same arithmetic as 2 epochs straight: the
    # 1-epoch run's last.pt is what a run interrupted after its first epoch leaves, with epochs set to 2.
    constant = [*RUN, "--schedule", "constant"]
    whole = _torchrun([*constant, "--run-dir", str(tmp_path / "whole")])
    assert whole.returncode == 0, whole.stderr
    part = tmp_path / "part"
    first = _torchrun([*[("1" if a == "2" and constant[i - 1] == "--epochs" else a) for i, a in enumerate(constant)],
                       "--run-dir", str(part)])  # fmt: skip
    assert first.returncode == 0, first.stderr
    payload = read_checkpoint(part / "checkpoints" / "last.pt")
    assert payload["epoch"] == 1
    payload["config"]["epochs"] = 2
    torch.save(payload, part / "checkpoints" / "last.pt")
    (part / "results.json").unlink()
    resumed = _torchrun(["train", "--resume", str(part), "--quiet"])
    assert resumed.returncode == 0, resumed.stderr
    assert read_checkpoint(part / "checkpoints" / "last.pt")["epoch"] == 2
    _assert_close(_weights(tmp_path / "whole"), _weights(part))


@pytest.mark.slow
def test_seeds_under_two_processes_train_each_seed_in_one_process_group(tmp_path):
    # Every rank trains each seed in turn: the ranks share one process group for all of them (a second group on
    # torchrun's store could miss its peers) and rank 0 alone reports.
    loud = [a for a in RUN if a != "--quiet"]
    loud[loud.index("--epochs") + 1] = "1"
    seeds = _cnnzoo([*loud, "--run-dir", str(tmp_path / "run"), "--seeds", "2", "--nproc", "2"])
    assert seeds.returncode == 0, seeds.stderr
    for seed in (3, 4):
        assert seeds.stdout.count(f"training seed {seed} into") == 1, seeds.stdout
        assert (tmp_path / f"run-seed{seed}" / "results.json").is_file()
    assert seeds.stdout.count("mean ± std over 2 seeds") == 1, seeds.stdout


@pytest.mark.slow
def test_a_crashed_rank_stops_the_others_with_one_clear_line(tmp_path):
    # Rank 1 raises in its second step; rank 0 would wait for it in the gradient all-reduce. It must be stopped
    # (the timeout here turns a hang into a failure), say so in one line, and rank 1's traceback (the cause) shows.
    crashed = _cnnzoo([*RUN, "--run-dir", str(tmp_path / "run"), "--nproc", "2"], env={"CNNZOO_TEST_CRASH_RANK": "1"})
    assert crashed.returncode != 0
    assert "process 1 of 2 failed:" in crashed.stderr and "rank 1 crashed on purpose" in crashed.stderr
    summary = [line for line in crashed.stderr.splitlines() if line.startswith("cnnzoo: error:")]
    assert len(summary) == 1 and "another training process stopped" in summary[0], crashed.stderr
    assert "no checkpoint was written yet" in summary[0], crashed.stderr
    assert not (tmp_path / "run" / "results.json").exists()


def _rank_pid(launcher: int, rank: int) -> int:
    """The pid of the process `launcher` started for `rank` (its environment says RANK=rank)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            environ = (stat.parent / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue  # a process that ended meanwhile
        if ppid == launcher and f"RANK={rank}".encode() in environ:
            return int(stat.parent.name)
    raise AssertionError(f"no rank {rank} under process {launcher}")


def _launch_until_a_checkpoint(run_dir: Path) -> subprocess.Popen:
    """`--nproc 2` training for long enough (60 epochs of digits), returned once rank 0 wrote last.pt."""
    args = [*RUN, "--run-dir", str(run_dir), "--nproc", "2"]
    args[args.index("--epochs") + 1] = "60"
    proc = subprocess.Popen([sys.executable, str(RUNNER), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env(), start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + TIMEOUT_S
    while not (run_dir / "checkpoints" / "last.pt").is_file():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no checkpoint in time"
        time.sleep(0.2)
    return proc


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the rank's process through /proc")
def test_a_killed_rank_ends_in_one_line_from_rank_0_with_the_resume_command(tmp_path):
    # It printed a 30-line gloo traceback from the other rank, then a line without a resume hint.
    proc = _launch_until_a_checkpoint(tmp_path / "run")
    os.kill(_rank_pid(proc.pid, 1), signal.SIGKILL)
    _, err = proc.communicate(timeout=TIMEOUT_S)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 1 and len(lines) == 1, err
    assert lines[0].startswith("cnnzoo: error: another training process stopped"), err
    assert lines[0].endswith(f"resume with: cnnzoo train --resume {tmp_path / 'run'} --nproc 2"), err


@pytest.mark.slow
def test_ctrl_c_under_two_processes_is_one_line_with_the_resume_command(tmp_path):
    # It printed a 47-line traceback, or three "interrupted" lines.
    proc = _launch_until_a_checkpoint(tmp_path / "run")
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the launcher and every rank get it
    _, err = proc.communicate(timeout=TIMEOUT_S)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 130 and len(lines) == 1, err
    assert lines[0] == f"cnnzoo: interrupted; resume with: cnnzoo train --resume {tmp_path / 'run'} --nproc 2", err
