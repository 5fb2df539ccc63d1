"""The tools that keep the README honest: a recorded run becomes a results row, nothing else does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import readme_tables  # noqa: E402


@pytest.fixture(scope="module")
def digits_runs(tmp_path_factory) -> list[Path]:
    """Two finished runs (seeds 0 and 1) labelled with the ResNet-20 CPU recipe, as a recorded result would be."""
    from cnnzoo.training.train import train

    root = tmp_path_factory.mktemp("runs")
    for seed in (0, 1):
        train(
            {
                "model": "resnet20",
                "data": "digits",
                "epochs": 1,
                "seed": seed,
                "run_dir": str(root / f"run-seed{seed}"),
                "tensorboard": False,
                "plots": False,
                "recipe": "recipes/resnet20_cpu.yaml",
            },
            quiet=True,
        )
    return [root / "run-seed0", root / "run-seed1"]


def _record(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "tools/record_result.py", *map(str, args)], cwd=REPO, capture_output=True, text=True
    )


def test_unrecorded_targets_read_not_yet_measured(tmp_path):
    table = readme_tables.cifar10_results(tmp_path)
    assert table.count("not yet measured") == len(readme_tables.CIFAR10_TARGETS)


def test_a_recorded_run_fills_its_row(digits_runs, tmp_path):
    proc = _record(digits_runs[0], "--into", tmp_path)
    assert proc.returncode == 0, proc.stderr
    record = tmp_path / "resnet20_cpu"
    assert sorted(p.name for p in (record / "seed0").iterdir()) == [
        "config.yaml",
        "env.json",
        "metrics.csv",
        "results.json",
    ]
    result = json.loads((record / "seed0" / "results.json").read_text())
    row = next(line for line in readme_tables.cifar10_results(tmp_path).splitlines() if "2-core CPU" in line)
    assert (
        f"| {100 * result['test']['top1']:.2f}% | 1 |" in row
        and "±" not in row
        and "not yet measured" not in row
        and " cores |" in row
    )
    wall, cpu = result["wall_time_s"] / 60, result["cpu_time_s"] / 60
    assert f"| {wall:.1f} min | {cpu:.1f} min |" in row  # training time, then CPU time


def test_seeds_are_recorded_together_as_mean_and_std(digits_runs, tmp_path):
    from cnnzoo.stats import format_mean_std, mean_std

    assert _record(*digits_runs, "--into", tmp_path).returncode == 0
    top1 = [json.loads((p / "results.json").read_text())["test"]["top1"] for p in digits_runs]
    row = next(line for line in readme_tables.cifar10_results(tmp_path).splitlines() if "2-core CPU" in line)
    assert f"| {format_mean_std(*mean_std(top1))}% | 2 | 1 |" in row
    assert _record(digits_runs[1], "--into", tmp_path).returncode == 0  # recording again replaces the record
    assert [p.name for p in (tmp_path / "resnet20_cpu").iterdir()] == ["seed1"]


def test_recording_an_unfinished_run_or_two_of_one_seed_is_refused(digits_runs, tmp_path):
    proc = _record(tmp_path, "--into", tmp_path)
    assert proc.returncode == 2 and "not a finished run" in proc.stderr
    proc = _record(digits_runs[0], digits_runs[0], "--into", tmp_path)
    assert proc.returncode == 2 and "two runs of the same seed" in proc.stderr


def test_the_gpu_check_runs_every_cuda_path_with_commands_that_parse(tmp_path):
    """tools/gpu_check.sh waits for a GPU: until then its commands are checked here, as the parser reads them."""
    from cnnzoo.cli import build_parser

    proc = subprocess.run(
        ["bash", "tools/gpu_check.sh"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "GPU_CHECK_DRY_RUN": "1", "OUT": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    commands = [line.strip("\0").split("\0") for line in proc.stdout.splitlines() if line.strip("\0")]
    words = [" ".join(c) for c in commands]
    for needed in (
        "--compile reduce-overhead",
        "--precision bf16",
        "--channels-last",
        "--ema",
        "--precision fp16",
        "--tta flip-translate",
        "--loader device",
        "predict",
        "--device cuda",
        "bench throughput",
        "bench time-to-accuracy",
    ):
        assert any(needed in w for w in words), needed
    for command in commands:
        args = command[command.index("-m") + 2 :] if "-m" in command else command[2:]  # cnnzoo's own arguments
        build_parser().parse_args(args)  # exits (fails the test) on any argument the CLI does not take


@pytest.mark.slow
def test_the_engine_bench_writes_one_engine_and_one_plain_row_per_setting(tmp_path):
    # benchmarks/engine_vs_plain.py: the figures docs/speed.md quotes for the engine's ≥ 0.95× of a plain loop.
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import engine_vs_plain
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    assert engine_vs_plain.main(["--model", "resnet20", "--steps", "1", "--epochs", "1", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "throughput_cpu.json").read_text())
    systems = sorted((row["setting"], row["system"]) for row in record["rows"])
    settings = sorted({setting for setting, _ in systems})
    assert len(settings) == 2 and systems == sorted(
        (s, kind) for s in settings for kind in ("cnnzoo engine", "plain loop")
    )
    assert all(row["train_images_per_s"] > 0 for row in record["rows"]), record["rows"]
