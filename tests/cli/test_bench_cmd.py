"""`cnnzoo bench`: where results go, what is refused before any measuring, and what a long CPU run says on stderr."""

from __future__ import annotations

import re

import pytest

from cnnzoo.experiments.bench import mfu, throughput
from cnnzoo.experiments.bench.throughput import BenchModel, Variant


@pytest.fixture
def nothing_measured(monkeypatch):
    """Measuring fails the test: a refusal must come before it (and no huge matrix is ever allocated)."""

    def measured(*args, **kwargs):
        raise AssertionError("measured before refusing")

    for name in ("matmul_peak", "measure_model"):
        monkeypatch.setattr(mfu, name, measured)


def _refused(cli, argv: list[str]) -> str:
    status, out, err = cli(argv)
    assert status == 2 and out == "" and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize(("flags", "message"), [
    (["--matmul-size", "100000"], "--matmul-size must be at most 16384, got 100000: the products only measure"),
    (["--image-size", "1"], "--image-size must be at least 32, the smallest input resnet50 takes, got 1"),
    (["--image-size", "100000"], "training resnet50 at 100000x100000 in batches of 4 keeps"),
    (["--batch-size", "100000000"], "training resnet50 at 32x32 in batches of 100000000 keeps"),
])  # fmt: skip
def test_mfu_sizes_that_would_exhaust_memory_are_refused_naming_the_flag(
    cli, nothing_measured, tmp_path, flags, message
):
    err = _refused(cli, ["bench", "mfu", "--smoke", "--out", str(tmp_path), *flags])
    assert err.startswith(f"cnnzoo: error: {message}")


def test_an_output_that_cannot_be_a_folder_is_refused_before_measuring(cli, nothing_measured, tmp_path):
    taken = tmp_path / "a-file"
    taken.write_text("")
    for out in (taken, taken / "below"):
        err = _refused(cli, ["bench", "mfu", "--smoke", "--out", str(out)])
        assert err.startswith("cnnzoo: error: ") and str(taken) in err


def test_committed_results_change_only_when_asked(cli, monkeypatch, tmp_path):
    """Run from a checkout, the README's `--smoke` commands must not rewrite benchmarks/results."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    written = []
    monkeypatch.setattr(
        mfu,
        "run",
        lambda setting, *, smoke, command, out_dir: (
            written.append(str(out_dir)) or {"columns": [], "rows": [], "skipped": []}
        ),
    )
    for argv in ([], ["--update-results"], ["--out", "benchmarks/results"], ["--out", "elsewhere"]):
        status, out, _ = cli(["bench", "mfu", "--smoke", *argv])
        assert status == 0 and out.endswith(f"results written to {written[-1]}/\n")
    assert written == ["runs/bench", "benchmarks/results", "benchmarks/results", "elsewhere"]
    err = _refused(cli, ["bench", "mfu", "--smoke", "--update-results", "--out", "elsewhere"])
    assert "--update-results writes into benchmarks/results" in err


def test_the_cpu_grid_reports_progress_on_stderr(cli, monkeypatch, tmp_path):
    """`bench throughput` on a CPU runs for minutes: it must say what it measures while it does (issue 20)."""
    tiny = throughput.ThroughputSetting(
        models=(BenchModel("resnet20"),),
        batch_size=2,
        steps=1,
        epochs=1,
        device="cpu",
        inference=False,
        variants=(Variant("fp32", False, threads=1), Variant("fp32", False, threads=2)),
    )
    monkeypatch.setattr(throughput, "CPU", tiny)
    status, out, err = cli(["bench", "throughput", "--device", "cpu", "--out", str(tmp_path)])
    assert status == 0 and "train images/s" in out
    lines = err.splitlines()
    assert lines[0] == "bench: 2 measurements, one after another; the time left is estimated after each"
    assert lines[1] == "bench: [1/2] resnet20 @32, fp32, NCHW, eager, 1 thread (0 s so far)"
    assert lines[2].startswith("bench:     plain loop: ") and lines[2].endswith(" training images/s")
    assert re.fullmatch(
        r"bench: \[2/2\] resnet20 @32, fp32, NCHW, eager, 2 threads \(\d+ s so far, about \d+ min left\)", lines[3]
    )


def test_a_gpu_setting_on_a_cpu_warns_before_it_starts(cli, monkeypatch, tmp_path):
    monkeypatch.setattr(mfu, "matmul_peak", lambda *a: 1e12)
    monkeypatch.setattr(mfu, "measure_model", lambda *a: ([], []))
    status, _, err = cli(
        ["bench", "mfu", "--device", "cpu", "--out", str(tmp_path), "--image-size", "32", "--batch-size", "2"]
    )
    assert status == 0
    assert (
        err == "cnnzoo: warning: `cnnzoo bench mfu` runs its GPU setting on the CPU: sized for a GPU, it may "
        "take hours here; add --smoke for the CPU smoke setting\n"
    )
