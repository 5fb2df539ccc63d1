"""One device resolver for every command: 'auto' picks what exists, a missing device is one clear error."""

from __future__ import annotations

import pytest
import torch

from cnnzoo.device import SpeedSetting, choose_speed, resolve_device
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
    from cnnzoo.predict import load

    with pytest.raises(CnnzooError, match="CUDA is not available"):
        load(tmp_path / "no-such-run", device="cuda")


# -------------------------------------------------------------------- precision "auto"
@pytest.mark.parametrize(
    ("avx512_bf16", "amx", "expected"),
    [(True, False, ("bf16", True)), (False, True, ("bf16", True)), (False, False, ("fp32", False))],
)
def test_auto_precision_on_a_cpu_is_bf16_exactly_where_it_is_native(monkeypatch, avx512_bf16, amx, expected):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    speed = choose_speed(torch.device("cpu"))
    assert (speed.precision, speed.channels_last) == expected
    native = [name for name, on in (("AVX512_BF16", avx512_bf16), ("AMX", amx)) if on]
    assert speed.why == (
        f"auto: this CPU has native bf16 ({native[0]})"
        if native
        else "auto: this CPU has no native bf16 (AVX512_BF16 or AMX), so fp32 is faster"
    )


def test_auto_precision_without_the_probes_is_fp32(monkeypatch):
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)  # an older or other torch
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    assert choose_speed(torch.device("cpu")).precision == "fp32"


def test_auto_precision_on_gpus_and_what_was_asked_stays(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert choose_speed(torch.device("cuda")) == SpeedSetting("bf16", True, "auto: this GPU computes in bf16")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert choose_speed(torch.device("cuda")).precision == "fp32"
    assert choose_speed(torch.device("mps")) == SpeedSetting("fp32", False, "auto: fp32 on mps")
    assert choose_speed(torch.device("cpu"), "fp32") == SpeedSetting("fp32", False, "as asked")
    assert choose_speed(torch.device("cpu"), "bf16", False) == SpeedSetting("bf16", False, "as asked")
    assert choose_speed(torch.device("cpu"), "fp32", True).channels_last


def test_the_config_default_is_auto_and_channels_last_follows_it():
    from cnnzoo.training.config import TrainConfig

    cfg = TrainConfig.from_dict({"model": "resnet20", "data": "digits"})
    assert cfg.precision == "auto" and cfg.channels_last is None
    assert TrainConfig.from_dict({"model": "resnet20", "data": "digits", "channels_last": "auto"}).channels_last is None
    assert TrainConfig.from_dict({"model": "resnet20", "data": "digits", "channels_last": "true"}).channels_last
