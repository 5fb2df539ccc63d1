"""One device resolver for every command: 'auto' picks what exists, a missing device is one clear error."""

from __future__ import annotations

import pytest
import torch

from cnnzoo.device import resolve_device
from cnnzoo.errors import CnnzooError


def test_auto_is_cuda_when_available_else_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == resolve_device(None).type == expected


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
