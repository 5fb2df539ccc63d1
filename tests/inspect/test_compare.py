"""`compare`: one row per model with the counts it claims; throughput is measured, not asserted."""

from __future__ import annotations

import pytest
import torch

import cnnzoo
from cnnzoo.device import resolve_device
from cnnzoo.errors import CnnzooError
from cnnzoo.inspect.compare import COLUMNS, compare, measure_throughput
from cnnzoo.inspect.counts import count_macs, count_params
from cnnzoo.inspect.summary import summary


def test_rows_carry_the_counts_and_a_positive_throughput():
    rows = compare(["resnet20", "nin"], (3, 16, 16), device="cpu", batch_size=2, seconds=0.01)
    assert [r[0] for r in rows] == ["resnet20", "nin"] and len(rows[0]) == len(COLUMNS)
    for row in rows:
        model = cnnzoo.create_model(row[0])
        assert row[1] == "3x16x16"
        assert row[2] == count_params(model)
        assert row[3] == round(count_macs(model, (3, 16, 16)) / 1e9, 3)
        assert row[5] == round(summary(model, (3, 16, 16)).pass_bytes / 1e6, 2)
        assert row[6] > 0
    assert rows[0][4] == 20 and rows[1][4] == 12


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"seconds": float("nan")}, "timing seconds must be positive and at most 3600, got nan"),
        ({"seconds": float("inf")}, "timing seconds must be positive and at most 3600, got inf"),
        ({"seconds": 3601}, "at most 3600"),
        ({"seconds": -1}, "must be positive"),
        ({"batch_size": 10**7}, "batch size must be at least 1 and at most 65536"),
    ],
)
def test_timings_that_would_never_end_are_refused_before_any_work(kwargs, message, monkeypatch):
    monkeypatch.setattr("cnnzoo.inspect.compare.measure_throughput", lambda *a, **k: pytest.fail("timing started"))
    with pytest.raises(CnnzooError, match=message):
        compare(["resnet20"], (3, 8, 8), device="cpu", **{"batch_size": 1, "seconds": 0.01, **kwargs})


def test_one_channel_input_builds_one_channel_models():
    (row,) = compare(["resnet20"], (1, 8, 8), device="cpu", batch_size=1, seconds=0.01)
    assert row[2] == count_params(cnnzoo.create_model("resnet20", in_chans=1))


def test_measure_throughput_times_at_least_two_passes():
    calls = []
    model = torch.nn.Sequential(torch.nn.Flatten())
    model.register_forward_hook(lambda *args: calls.append(1))
    assert measure_throughput(model, (1, 2, 2), 3, torch.device("cpu"), seconds=0.0, warmup=1) > 0
    assert len(calls) == 3


def test_bad_devices_and_arguments():
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(CnnzooError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(CnnzooError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(CnnzooError, match="batch size"):
        compare(["resnet20"], batch_size=0)
    with pytest.raises(CnnzooError, match="at least one"):
        compare([])
