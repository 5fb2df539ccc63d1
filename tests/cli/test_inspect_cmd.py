"""`cnnzoo summary | arch | cost | compare` through the real entry point: output, --help, and errors for people."""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cnnzoo.cli import build_parser

REPO = Path(__file__).resolve().parents[2]


def test_summary(cli):
    code, out, _ = cli(["summary", "resnet20", "--depth", "1"])
    assert code == 0
    for text in (
        "Conv2d (conv1): 1-1",
        "Sequential (layer3): 1-6",
        "Total params: 269,722",
        "Forward/backward pass size (MB)",
    ):
        assert text in out


def test_summary_one_channel_json(cli):
    code, out, _ = cli(["summary", "resnet20", "--input", "1x28x28", "--format", "json", "--depth", "1"])
    data = json.loads(out)
    assert code == 0 and data["input_size"] == [1, 1, 28, 28] and data["layers"][1]["input_shape"] == [1, 1, 28, 28]


def test_summary_train_mode_with_aux_heads(cli):
    code, out, _ = cli(["summary", "googlenet", "--mode", "train", "--depth", "1", "--format", "csv"])
    assert code == 0 and "aux1,InceptionAux" in out and "aux2,InceptionAux" in out


def test_arch(cli):
    code, out, _ = cli(["arch", "resnet18", "resnet50", "--format", "markdown"])
    assert code == 0
    assert "| conv1 | 112×112 | 7×7, 64, stride 2 | 7×7, 64, stride 2 |" in out
    assert "| FLOPs |  | 1.81×10^9 | 3.86×10^9 |" in out and "| FLOPs (paper) |  | 1.8×10^9 | 3.8×10^9 |" in out


def test_arch_options_reach_the_model(cli):
    code, out, _ = cli(["arch", "resnet50", "-o", "stride_in_1x1=false", "--format", "json"])
    (table,) = json.loads(out)
    flops = next(row["resnet50"] for row in table["rows"] if row["layer_name"] == "FLOPs")
    assert code == 0 and round(flops / 1e9, 2) == 4.09  # torchvision's placement; the paper's costs 3.86


def test_cost_conv(cli):
    code, out, _ = cli(["cost", "conv", "--in", "28x28x256", "--kernel", "3", "--out", "192", "--format", "csv"])
    assert code == 0
    rows = {row[0]: row[1] for row in csv.reader(out.splitlines()[1:])}  # the table's quantities, one a row
    assert rows["output (HxWxC)"] == "28x28x192"
    assert rows["weights"] == "442368" and rows["parameters"] == "442560"
    assert rows["parameters, course convention"] == str((9 + 1) * 256 * 192)
    assert rows["multiply-adds"] == "346816512"


def test_cost_inception_naive_and_reduced(cli):
    code, out, _ = cli(["cost", "inception", "--in", "28x28x256", "--branches", "1x1:128,3x3:192,5x5:96,pool"])
    assert code == 0 and "854,196,224" in out and "854M multiply-adds" in out and "28x28x672" in out
    argv = [
        "cost",
        "inception",
        "--in",
        "28x28x192",
        "--branches",
        "1x1:64,3x3:128,5x5:32,pool",
        "--reduce",
        "3x3:96,5x5:16,pool:32",
        "--format",
        "markdown",
    ]
    code, out, _ = cli(argv)
    assert code == 0
    assert "| with 1x1 reductions | 28x28x256 | 163,328 | 163,696 | 128,049,152 |" in out
    assert "| naive | 28x28x416 | 387,072 | 387,296 | 303,464,448 |" in out


def test_compare(cli):
    argv = [
        "compare",
        "resnet20",
        "--input",
        "3x8x8",
        "--device",
        "cpu",
        "--batch-size",
        "1",
        "--seconds",
        "0.01",
        "--format",
        "json",
    ]
    code, out, _ = cli(argv)
    (row,) = json.loads(out)
    assert code == 0 and row["model"] == "resnet20" and row["input"] == "3x8x8"
    assert row["depth"] == 20 and row["params"] == 269_722 and row["images_per_s"] > 0


def _subparser(path: list[str]) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


@pytest.mark.parametrize(
    "path", [["summary"], ["arch"], ["cost"], ["cost", "conv"], ["cost", "inception"], ["compare"]]
)
def test_help_describes_every_flag_with_an_example(path, cli):
    parser = _subparser(path)
    assert parser.description and "examples:" in (parser.epilog or "")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            assert all(choice.help for choice in action._choices_actions)
        else:
            assert action.help and action.help != argparse.SUPPRESS, action.dest
    code, out, _ = cli([*path, "--help"])
    assert code == 0 and "examples:" in out and "cnnzoo" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["summary", "resnet19"], "unknown model 'resnet19'. Did you mean"),
        (["arch", "resnet18", "vgg17"], "unknown model 'vgg17'"),
        (["compare", "nosuchnet", "--device", "cpu"], "unknown model 'nosuchnet'"),
        (["summary", "resnet20", "--input", "3x32"], "malformed shape '3x32': expected 3 numbers as CxHxW"),
        (["summary", "resnet20", "--input", "3x-32x32"], "has a size below 1"),
        (["arch", "resnet20", "--input", "3x32x0"], "has a size below 1"),
        (["summary", "resnet20", "--depth", "-1"], "depth must be 0 or more"),
        (["summary", "resnet20", "--batch-size", "-2"], "batch size must be at least 1"),
        (["summary", "resnet20", "--columns", "flops"], "invalid column 'flops'"),
        (["summary", "resnet20", "-o", "small_input"], "malformed option 'small_input'"),
        (["summary", "resnet20", "-o", "depth=3"], "has no option 'depth'"),
        (["summary", "vgg16", "--input", "3x8x8"], "vgg16 cannot run on input"),
        (["cost", "conv", "--in", "28x28", "--kernel", "3", "--out", "8"], "malformed shape '28x28'"),
        (["cost", "conv", "--in", "28x28x-3", "--kernel", "3", "--out", "8"], "size below 1"),
        (["cost", "conv", "--in", "28x28x3", "--kernel", "-3", "--out", "8"], "kernel must be a positive number"),
        (["cost", "conv", "--in", "28x28x3", "--kernel", "3", "--out", "8", "--padding", "full"], "padding must be"),
        (["cost", "inception", "--in", "28x28x3", "--branches", "1x1:8,4x4:2"], "odd square kernel"),
        (["cost", "inception", "--in", "28x28x3", "--branches", "3x3:8", "--reduce", "5x5:2"], "name no branch"),
        (["compare", "resnet20", "--device", "tpu9"], "unknown device 'tpu9'"),
        (["compare", "resnet20", "--device", "cpu", "--seconds", "0"], "--seconds must be a positive number, got '0'"),
        (["summary", "resnet20", "--input", "-3x32x32"], "shape '-3x32x32' has a size below 1"),
        (["arch", "resnet20", "--input", "-3x32x32"], "shape '-3x32x32' has a size below 1"),
        (["compare", "resnet20", "--input", "-3x32x32"], "shape '-3x32x32' has a size below 1"),
        (["cost", "conv", "--in", "-28x28x3", "--kernel", "3", "--out", "8"], "shape '-28x28x3' has a size below 1"),
        (["cost", "inception", "--in", "-28x28x3", "--branches", "3x3:8"], "shape '-28x28x3' has a size below 1"),
        (["cost", "conv", "--in", "8x8x3", "--kernel", "4", "--out", "8"], "padding 'same' keeps HxW only with an odd"),
        (["summary", "vgg11", "-o", "dropout=abc"], "vgg11: option dropout must be a number in [0, 1], got 'abc'"),
        (["summary", "vgg11", "-o", "dropout=1.5"], "vgg11: option dropout must be a number in [0, 1], got 1.5"),
        (["summary", "vgg11", "-o", "small_input=maybe"], "option small_input must be true or false, got 'maybe'"),
        (["arch", "resnet20", "-o", "shortcut=D"], "invalid shortcut 'D'"),
        (["compare", "resnet20", "--device", "cpu", "-o", "zero_init_residual=2"], "must be true or false, got 2"),
        (["summary", "resnet20", "--num-classes", "0"], "option num_classes must be an integer in [1, 100000], got 0"),
        (["summary", "resnet20", "--batch-size", "100000000"], "at most 65536"),
    ],
)
def test_bad_arguments_are_one_line_errors_with_status_2(argv, message, cli):
    code, out, err = cli(argv)
    assert code == 2 and out == ""
    assert err.startswith("cnnzoo: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["summary"],
        ["cost", "conv", "--kernel", "3", "--out", "8"],
        ["summary", "resnet20", "--format", "html"],
        ["cost", "conv", "--in", "8x8x3", "--kernel", "three", "--out", "8"],
        ["cost"],
    ],
)
def test_argparse_errors_exit_2_without_traceback(argv, cli):
    code, _, err = cli(argv)
    assert code == 2 and "error:" in err and "Traceback" not in err


@pytest.mark.parametrize(("seconds", "message"), [
    ("nan", "--seconds must be a positive number, got 'nan'"),
    ("inf", "--seconds must be a positive number, got 'inf'"),
    ("1e9", "timing seconds must be positive and at most 3600, got 1000000000.0"),
])  # fmt: skip
def test_compare_with_endless_seconds_fails_at_once_instead_of_hanging(seconds, message):
    """These used to time forever: the time limit fails this test, not the suite."""
    argv = [sys.executable, "-m", "cnnzoo", "compare", "resnet20", "--device", "cpu", "--seconds", seconds]
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"cnnzoo: error: {message}\n"


def test_a_seconds_typo_is_refused_before_torch_is_imported():
    """`compare --seconds nan` took 5 s to fail: the import of torch came before the check."""
    code = (
        "import sys\nfrom cnnzoo.cli import main\ntry:\n    main(['compare', 'resnet20', '--seconds', 'nan'])\n"
        "except SystemExit as done:\n    print(done.code, 'torch' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.stdout == "2 False\n", proc.stderr


def test_errors_through_a_real_process():
    proc = subprocess.run(
        [sys.executable, "-m", "cnnzoo", "summary", "resnet20", "--input", "3x32"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "cnnzoo: error: malformed shape '3x32': expected 3 numbers as CxHxW, e.g. 3x32x32\n"
