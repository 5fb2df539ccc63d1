"""One device resolver for every command: 'auto' picks what exists, a missing device is one clear error."""

from __future__ import annotations

import pytest
import torch

from cnnzoo.device import resolve_device
from cnnzoo.errors import CnnzooError


def test_auto_is_cuda_when_available_else_cpu():
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert resolve_device("auto").type == resolve_device(None).type == expected


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_auto_prefers_cuda_then_apples_mps_then_the_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert resolve_device("auto") == resolve_device(None) == torch.device(expected)


def test_every_device_flag_of_the_cli_offers_mps():
    import argparse

    from cnnzoo.cli import build_parser

    def parsers(parser: argparse.ArgumentParser):
        yield parser.prog, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    yield from parsers(child)

    helps = {prog: action.help for prog, parser in parsers(build_parser()) for action in parser._actions
             if "--device" in action.option_strings}  # fmt: skip
    assert {"cnnzoo train", "cnnzoo evaluate", "cnnzoo predict", "cnnzoo reproduce"} <= set(helps)
    assert [prog for prog, text in helps.items() if "mps" not in text] == []


def test_bad_names_and_missing_gpus_are_errors():
    with pytest.raises(CnnzooError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")
    with pytest.raises(CnnzooError, match="does not exist|CUDA is not available"):
        resolve_device(f"cuda:{torch.cuda.device_count()}")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_loading_onto_a_missing_gpu_is_an_error_before_any_file_is_read(tmp_path):
    from cnnzoo.training.checkpoint import load

    with pytest.raises(CnnzooError, match="CUDA is not available"):
        load(tmp_path / "no-such-run", device="cuda")
