"""Result files and the README's Speed section: rendered from the records alone, GPU rows 'not measured'."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from cnnzoo.cli import build_parser
from cnnzoo.cli.bench_cmd import command_line
from cnnzoo.experiments.bench import report

REPO = Path(__file__).resolve().parents[3]


def _record(mode: str = "mfu") -> dict:
    record = report.new_record(
        mode,
        "a title",
        torch.device("cpu"),
        smoke=True,
        command="cnnzoo bench mfu --smoke",
        setting={"batch_size": 4},
        columns=[("system", "system"), ("mfu", "MFU")],
    )
    record["rows"].append({"system": "plain loop", "mfu": 0.1234, "train_images_per_s": 12.5})
    return record


def test_write_names_the_files_by_mode_and_device(tmp_path):
    json_path, md_path = report.write(_record("time-to-accuracy"), tmp_path)
    assert (json_path.name, md_path.name) == ("time_to_accuracy_cpu.json", "time_to_accuracy_cpu.md")
    md = md_path.read_text()
    assert "| system | MFU |" in md and "| plain loop | 12.34% |" in md
    assert "Command: `cnnzoo bench mfu --smoke`" in md and json.loads(json_path.read_text())["rows"][0]["mfu"] == 0.1234


def test_speed_section_marks_missing_gpu_results_not_measured(tmp_path):
    report.write(_record(), tmp_path)
    table = report.speed_section(tmp_path)
    lines = table.splitlines()
    for mode, command in report.GPU_COMMANDS.items():
        assert any(line.startswith(f"| {mode} | GPU | not measured | `{command}` |") for line in lines)
    mfu_cpu = next(line for line in lines if line.startswith("| mfu | CPU"))
    assert "plain loop 12.5 images/s, MFU 12.34%" in mfu_cpu and "`cnnzoo bench mfu --smoke`" in mfu_cpu


def test_readme_speed_section_comes_from_the_committed_results():
    sys.path.insert(0, str(REPO / "tools"))
    import readme_tables

    assert "speed" in readme_tables.SECTIONS
    expected = report.speed_section(REPO / "benchmarks" / "results")
    assert expected in (REPO / "README.md").read_text()
    for mode in report.GPU_COMMANDS:
        assert (REPO / "benchmarks" / "results" / f"{mode.replace('-', '_')}_cpu.json").is_file()


def test_the_recorded_command_repeats_the_flags_given():
    args = build_parser().parse_args(
        [
            "bench",
            "time-to-accuracy",
            "--smoke",
            "--no-airbench",
            "--recipe",
            "a b.yaml",
            "--recipe",
            "c.yaml",
            "--runs",
            "1",
        ]
    )
    assert isinstance(args, argparse.Namespace)
    assert command_line(args) == (
        "cnnzoo bench time-to-accuracy --smoke --recipe 'a b.yaml' --recipe c.yaml --runs 1 --no-airbench"
    )
    args = build_parser().parse_args(["bench", "throughput", "--no-channels-last", "--batch-size", "32"])
    assert command_line(args) == "cnnzoo bench throughput --batch-size 32 --no-channels-last"
