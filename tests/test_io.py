"""cnnzoo.io: a write interrupted by Ctrl-C or SIGTERM finishes first, then the interruption takes its course."""

from __future__ import annotations

import os
import signal

import pytest
import torch

from cnnzoo.io import atomic_write, signals_deferred


def test_ctrl_c_in_the_middle_of_a_write_waits_for_the_whole_file(tmp_path):
    path = tmp_path / "last.pt"

    def write(f):
        f.write(b"a" * 1000)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while torch.save is halfway through
        f.write(b"b" * 1000)

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, write)
    assert path.read_bytes() == b"a" * 1000 + b"b" * 1000
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary file left behind


def test_a_torch_save_interrupted_by_sigterm_leaves_a_readable_checkpoint(tmp_path):
    path = tmp_path / "last.pt"
    terminated = []
    previous = signal.signal(signal.SIGTERM, lambda number, frame: terminated.append(number))
    try:

        def write(f):
            os.kill(os.getpid(), signal.SIGTERM)
            torch.save({"weights": torch.arange(100_000)}, f)

        atomic_write(path, write)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert terminated == [signal.SIGTERM]  # delivered to the process's own handler, once, after the write
    assert torch.equal(torch.load(path, weights_only=True)["weights"], torch.arange(100_000))


def test_handlers_are_restored_and_nothing_is_raised_without_a_signal():
    before = signal.getsignal(signal.SIGINT)
    with signals_deferred():
        pass
    assert signal.getsignal(signal.SIGINT) is before
