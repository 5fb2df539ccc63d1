"""`cnnzoo bench mfu`: training FLOPs from cnnzoo's counter over a peak measured in the same run."""

from __future__ import annotations

import math

import pytest
import torch
from bench_checks import assert_metadata, assert_positive_finite, load_results

from cnnzoo.experiments.bench import mfu
from cnnzoo.inspect.counts import count_macs
from cnnzoo.models import create_model


@pytest.mark.slow
def test_smoke_run_writes_positive_finite_figures(run_cli, tmp_path):
    status, _ = run_cli("bench", "mfu", "--smoke", "--out", str(tmp_path))
    assert status == 0
    record, md = load_results(tmp_path, "mfu_cpu")
    assert_metadata(record, "mfu", f"cnnzoo bench mfu --smoke --out {tmp_path}")
    keys = ("train_images_per_s", "train_gflops_per_image", "achieved_tflops", "peak_tflops", "mfu")
    assert_positive_finite(record, keys)
    assert [row["system"] for row in record["rows"]] == ["cnnzoo engine", "plain loop"]
    size = mfu.SMOKE.image_size
    with torch.device("meta"):
        macs = count_macs(create_model("resnet50"), (3, size, size))
    for row in record["rows"]:
        assert row["train_gflops_per_image"] == pytest.approx(6 * macs / 1e9)  # 3 × forward, 2 FLOPs per MAC
        assert row["mfu"] == pytest.approx(row["achieved_tflops"] / row["peak_tflops"])
        assert row["achieved_tflops"] == pytest.approx(row["train_images_per_s"] * 6 * macs / 1e12)
    assert "| model | input | system | train images/s |" in md and "MFU" in md


def test_matmul_peak_is_a_finite_positive_rate():
    rate = mfu.matmul_peak(torch.device("cpu"), torch.float32, 128, 3)
    assert math.isfinite(rate) and rate > 1e6  # any CPU does more than a megaflop per second
