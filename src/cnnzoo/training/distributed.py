"""Data-parallel training on several processes with PyTorch's own engine: torchrun (or launch) starts them, this
joins them.

    launch(nproc, argv)       `cnnzoo train --nproc N`: the same command in N processes, as torchrun starts them
    setup(device)             join the process group torchrun describes (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_*)
    teardown()                leave it again (at exit: every train() in the process shares the group)
    rank(), world(), is_main()  who this process is (read from torchrun's environment, valid before setup)
    wrap(model, sync_bn)      DistributedDataParallel, optionally with SyncBatchNorm
    all_reduce_(*tensors)     sum metric tensors over the ranks, in place; reduce_meter(meter) for a whole meter
    broadcast_module(module)  rank 0's weights to every rank
    barrier()                 wait for every rank

Global-batch semantics: `batch_size` is the batch of one optimisation step over ALL processes; each rank trains
on its shard (data/base.shard_range), DDP averages the gradients, so 1 or N processes take the same steps on
the same schedule. Backends: nccl on CUDA, gloo on CPU. Rank 0 alone writes the run directory.
A rank that dies makes torchrun stop the others; a rank that hangs makes the others' collectives fail after
CNNZOO_DIST_TIMEOUT seconds (default 1800) instead of waiting forever.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn as nn

from cnnzoo.errors import CnnzooError

TIMEOUT_ENV = "CNNZOO_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 1800
# What torchrun runs in each process for `--nproc N`; a script that registers models of its own and then calls
# cnnzoo.cli.main sets it to [its own path], so the processes know its models too.
ENTRY: list[str] = ["-m", "cnnzoo"]
_owned = False  # whether setup() created the process group (and teardown() should destroy it)


def world() -> int:
    """How many processes train together (1 when not started by torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's rank, 0 .. world() - 1."""
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    """Whether this process writes logs, metrics, plots and checkpoints (rank 0)."""
    return rank() == 0


def timeout() -> timedelta:
    """How long a collective waits for a missing rank before failing."""
    value = os.environ.get(TIMEOUT_ENV, str(DEFAULT_TIMEOUT_S))
    try:
        seconds = float(value)
    except ValueError:
        raise CnnzooError(f"{TIMEOUT_ENV} must be a number of seconds, got {value!r}") from None
    if seconds <= 0:
        raise CnnzooError(f"{TIMEOUT_ENV} must be a positive number of seconds, got {value!r}")
    return timedelta(seconds=seconds)


def setup(device: torch.device) -> torch.device:
    """Join torchrun's process group (nccl on CUDA, gloo on CPU); returns this rank's device.

    A no-op for a single process, or when the group already exists (the caller's, or an earlier train()'s).
    """
    global _owned
    if world() == 1:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise CnnzooError(f"distributed training runs on CUDA (nccl) or the CPU (gloo), not on {device}")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=timeout())
        _owned = True
        # Kept for the process's life: a second group on torchrun's same store can miss its peers (seen as a
        # barrier timeout when `train --seeds` trained its second seed), so train() calls share this one.
        atexit.register(teardown)
    return device


def teardown() -> None:
    """Leave the process group setup() created."""
    global _owned
    if _owned and dist.is_initialized():
        dist.destroy_process_group()
    _owned = False


def active() -> bool:
    """Whether collectives run: a process group with more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


@contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block first (e.g. downloads a dataset), the others after it, so they never race."""
    if active() and not is_main():
        dist.barrier()
    yield
    if active() and is_main():
        dist.barrier()


def wrap(model: nn.Module, device: torch.device, sync_bn: bool = False) -> nn.Module:
    """The model DDP trains (the module itself for one process); with sync_bn, BatchNorm over the global batch.

    SyncBatchNorm replaces the model's BatchNorm layers in place (same parameters and buffers, same state_dict
    keys), so it must run before the optimizer is built; the caller keeps checkpointing the unwrapped model.
    """
    if not active():
        return model
    if sync_bn:
        check_sync_bn(device)
        for name, child in list(model.named_children()):
            setattr(model, name, nn.SyncBatchNorm.convert_sync_batchnorm(child))
    return nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def check_sync_bn(device: torch.device) -> None:
    """PyTorch's DDP accepts SyncBatchNorm only in GPU modules: on the CPU it is an error, said before launching."""
    if device.type != "cuda":
        raise CnnzooError("--sync-bn needs CUDA; on the CPU drop it (each process normalises its own shard)")


def check_nproc(nproc: int, device: torch.device) -> None:
    """Refuse more processes than the device has GPUs or (on the CPU) cores: they would only wait for each other
    (64 processes on 2 cores started for minutes, then hung in their first collective)."""
    if device.type == "cuda":
        have, what = torch.cuda.device_count(), "GPUs"
    else:
        have, what = usable_cpus(), "CPU cores"
    if nproc > have:
        raise CnnzooError(f"--nproc {nproc} asks for more processes than this machine's {have} {what}; "
                          f"use --nproc {have} or fewer")  # fmt: skip


def usable_cpus() -> int:
    """The CPU cores this process may run on (its affinity where the OS tells it, else the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def lost_a_peer(err: BaseException) -> bool:
    """Whether an error is a collective's failing because another process of the group has gone."""
    return world() > 1 and isinstance(err, RuntimeError) and (isinstance(err, dist.DistError) or "gloo" in str(err))


def first_line(err: BaseException) -> str:
    """An error's message, first line only (gloo's run to several, with C++ frames), cut at a word."""
    line = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return textwrap.shorten(line, 200, placeholder=" ...")


def exit_now(status: int) -> None:
    """End this process at once, its output flushed: no interpreter clean-up, which on a process group broken by a
    lost peer can abort in gloo's C++ threads ("terminate called without an active exception")."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def barrier() -> None:
    """Wait until every rank gets here (nothing with one process)."""
    if active():
        dist.barrier()


def all_reduce_(*tensors: torch.Tensor | None) -> None:
    """Sum each tensor over the ranks, in place (None entries are skipped)."""
    if active():
        for tensor in tensors:
            if tensor is not None:
                dist.all_reduce(tensor)


def reduce_meter(meter) -> None:
    """Sum a metrics.ClassificationMeter's counts over the ranks: each evaluated its shard of the split."""
    all_reduce_(meter.loss_sum, meter.correct1, meter.correctk, meter.count, meter.confusion)


def broadcast_module(module: nn.Module) -> None:
    """Give every rank rank 0's parameters and buffers (e.g. the best weights only rank 0 read from disk)."""
    if active():
        for tensor in module.state_dict().values():
            dist.broadcast(tensor, src=0)


# ==================================================================== the launcher
GRACE_S = 30.0  # after a process fails or Ctrl-C: how long the others may take to save and stop on their own


def launch(nproc: int, argv: list[str]) -> int:
    """Run `cnnzoo ARGV` in `nproc` processes on this machine, as `torchrun --standalone` would; returns rank 0's
    exit status (or the first failed process's where rank 0 itself was killed).

    Rank 0 speaks for all: its output shows; the others' goes to files, shown only where one failed on its own
    with a traceback (the cause). When a process fails or is killed the others are stopped; Ctrl-C reaches every
    process (one process group) and rank 0 alone says how to resume. `torchrun -m cnnzoo train ...` works too.
    """
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()),
           "WORLD_SIZE": str(nproc), "LOCAL_WORLD_SIZE": str(nproc), "GROUP_RANK": "0"}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="cnnzoo-ranks-") as logs:
        outputs = [None] + [open(Path(logs, f"rank{r}.log"), "w+") for r in range(1, nproc)]
        procs = [
            subprocess.Popen(
                [sys.executable, *ENTRY, *argv],
                env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
                stdout=outputs[r],
                stderr=subprocess.STDOUT if outputs[r] else None,
            )
            for r in range(nproc)
        ]
        try:
            failed = _wait_for_a_failure(procs)
            _stop(procs, grace=GRACE_S if failed is not None else None)
        except KeyboardInterrupt:  # every process got it too: give them time to save and say so
            failed = None
            try:
                _stop(procs, grace=GRACE_S)
            except KeyboardInterrupt:  # a second Ctrl-C: stop now
                _stop(procs, grace=0)
        # The cause: a rank's own traceback, whichever process the launcher saw end first (rank 0 may have
        # reported the lost peer before the failed rank's exit was seen).
        tracebacks = [(r, _failure_output(outputs[r])) for r in range(1, nproc)] if failed is not None else []
        cause = next(((r, text) for r, text in tracebacks if text), None)
        for out in outputs[1:]:
            out.close()
    status = procs[0].returncode
    if failed is None:  # all ended well, or Ctrl-C
        return status
    if cause:
        print(f"process {cause[0]} of {nproc} failed:\n{cause[1]}", file=sys.stderr, end="")
    if status > 0:  # rank 0 said why in its one line (a lost peer: with the resume command)
        return status
    code = procs[failed].returncode
    how = f"was killed ({_signal_name(-code)})" if code < 0 else f"failed (exit status {code})"
    print(
        f"cnnzoo: error: training process {failed} of {nproc} {how}; the others were stopped; resume with: "
        f"cnnzoo train --resume RUN_DIR --nproc {nproc} (the run directory named above)",
        file=sys.stderr,
    )
    return code if code > 0 else 128 - code


def _wait_for_a_failure(procs: list[subprocess.Popen]) -> int | None:
    """Wait until every process has ended well (None) or one has failed (its rank)."""
    while True:
        for rank_, proc in enumerate(procs):
            if proc.poll() not in (None, 0):
                return rank_
        if all(proc.returncode == 0 for proc in procs):
            return None
        time.sleep(0.1)


def _stop(procs: list[subprocess.Popen], grace: float | None) -> None:
    """Wait for the processes (`grace` seconds at most, None: as long as they run), then terminate, then kill."""
    deadline = None if grace is None else time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for sig_method, wait_s in ((subprocess.Popen.terminate, 10.0), (subprocess.Popen.kill, None)):
        alive = [proc for proc in procs if proc.poll() is None]
        for proc in alive:
            sig_method(proc)
        for proc in alive:
            try:
                proc.wait(wait_s)
            except subprocess.TimeoutExpired:
                pass


def _failure_output(output) -> str:
    """A failed process's own traceback (an error of its own); "" for a one-line error rank 0 prints as well."""
    output.seek(0)
    text = output.read()
    return text if "Traceback (most recent call last)" in text else ""


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _free_port() -> int:
    """A TCP port free now on this machine, for rank 0's rendezvous store (as torchrun --standalone picks one)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def without_nproc(argv: list[str]) -> list[str]:
    """ARGV without its --nproc option, for the processes torchrun starts."""
    out, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == "--nproc":
            skip = True
        elif not item.startswith("--nproc="):
            out.append(item)
    return out
