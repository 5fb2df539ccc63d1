"""Data-parallel training on several processes with PyTorch's own engine: torchrun starts them, this joins them.

    launch(nproc, argv)       `cnnzoo train --nproc N`: run the same command under torchrun on this machine
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
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

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
def launch(nproc: int, argv: list[str]) -> int:
    """Run `cnnzoo ARGV` in `nproc` processes on this machine under torchrun; returns the exit status.

    torchrun stops the other processes when one fails and names the failed rank; a one-line summary follows.
    """
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
        *ENTRY, *argv,
    ]  # fmt: skip
    status = subprocess.run(command).returncode
    if status != 0:
        print(
            f"cnnzoo: error: distributed training failed (torchrun exit status {status}); the other processes "
            "were stopped; the failed rank's message is above",
            file=sys.stderr,
        )
    return status


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
