"""`cnnzoo.cli.main` and `build_parser`: what holds for every command."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cnnzoo.cli import build_parser

REPO = Path(__file__).resolve().parents[2]


def test_a_reader_that_leaves_early_ends_the_command_quietly():
    """`cnnzoo summary resnet152 --format json | head -c 10`: no traceback, the status of a command SIGPIPE ended."""
    # 200 kB of JSON, over a pipe's 64 kB buffer: the command is still writing when the reader has gone.
    argv = [sys.executable, "-m", "cnnzoo", "summary", "resnet152", "--format", "json"]
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = proc.stdout.read(10)
        proc.stdout.close()
        err = proc.stderr.read().decode()
        status = proc.wait(timeout=300)
    finally:
        proc.kill()
    assert first == b'{\n  "model'
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err, err
    assert status == 141


def test_a_broken_pipe_elsewhere_is_still_an_error_to_see():
    """Only stdout's reader leaving is quiet: a pipe to a worker or socket that breaks shows its traceback."""
    code = (
        "import sys, cnnzoo.cli.models_cmd as m\n"
        "def broken(args): raise BrokenPipeError(32, 'a worker went away')\n"
        "m.run = broken\n"
        "from cnnzoo.cli import main; sys.exit(main(['models']))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "BrokenPipeError: [Errno 32] a worker went away" in proc.stderr


def _parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the command tree with its command path: ("cost", "conv"), ..."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_dash_o_is_the_model_option_in_every_command():
    with_o = []
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if "-o" in action.option_strings:
                with_o.append(path)
                assert action.dest == "model_option", f"cnnzoo {' '.join(path)}: -o is --{action.dest}"
                assert "--model-option" in action.option_strings and action.metavar == "KEY=VALUE"
    assert {("train",), ("summary",), ("arch",), ("compare",)} <= set(with_o)


JSON_COMMANDS = [
    ["models", "resnet2*"],
    ["models", "resnet20"],
    ["summary", "resnet20", "--depth", "2"],
    ["arch", "resnet20", "resnet18", "googlenet", "alexnet"],
    ["cost", "conv", "--in", "28x28x256", "--kernel", "3", "--out", "192"],
    ["cost", "inception", "--in", "28x28x256", "--branches", "1x1:128,3x3:192,5x5:96,pool"],
    [
        "cost",
        "inception",
        "--in",
        "28x28x192",
        "--branches",
        "1x1:64,3x3:128,5x5:32,pool",
        "--reduce",
        "3x3:96,5x5:16,pool:32",
    ],
    ["compare", "resnet20", "--input", "3x8x8", "--device", "cpu", "--batch-size", "1", "--seconds", "0.01"],
]


@pytest.mark.parametrize("argv", JSON_COMMANDS, ids=" ".join)
def test_json_output_is_one_document_with_snake_case_keys_and_numbers_as_numbers(argv, cli, check_json):
    code, out, _ = cli([*argv, "--format", "json"])
    assert code == 0
    check_json(json.loads(out))


def test_models_and_compare_give_gmacs_and_params_under_one_key_and_type(cli):
    _, models_out, _ = cli(["models", "resnet20", "--format", "json"])
    _, compare_out, _ = cli(
        ["compare", "resnet20", "--device", "cpu", "--batch-size", "1", "--seconds", "0.01", "--format", "json"]
    )
    listed, (compared,) = json.loads(models_out), json.loads(compare_out)
    for key, kind in (("gmacs", float), ("params", int)):
        assert type(listed[key]) is kind and type(compared[key]) is kind and listed[key] == compared[key], key
    assert 0 < listed["gmacs"] < 1  # resnet20 at 32x32: a few hundredths of a GMAC, not MACs nor text


def test_parameters_and_multiply_adds_have_one_key_in_every_command(cli):
    """`params` and `macs` wherever a command counts them: summary's layers, cost's convolutions, arch's rows."""

    def run(*argv: str):
        code, out, _ = cli([*argv, "--format", "json"])
        assert code == 0
        return json.loads(out)

    summary = run("summary", "resnet20", "--depth", "1")
    for key in ("params", "macs"):
        assert summary["totals"][f"total_{key}"] == sum(layer[key] or 0 for layer in summary["layers"]), key
    conv = run("cost", "conv", "--in", "14x14x480", "--kernel", "5", "--out", "48")
    assert conv["params"] == conv["weights"] + conv["biases"] and conv["macs"] == 14 * 14 * conv["weights"]
    inception = run(
        "cost",
        "inception",
        "--in",
        "28x28x256",
        "--branches",
        "1x1:128,3x3:192,5x5:96,pool",
        "--reduce",
        "3x3:96,5x5:16,pool:32",
    )
    (googlenet,) = run("arch", "googlenet")
    for rows in (inception["layers"], googlenet["rows"]):
        *parts, total = rows
        for key in ("params", "macs"):
            assert total[key] == sum(part[key] for part in parts), key
    naive, reduced, _ratio = inception["modules"]
    assert reduced["macs"] == inception["layers"][-1]["macs"] < naive["macs"]
