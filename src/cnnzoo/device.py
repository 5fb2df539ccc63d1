"""Where models run: one resolver for every command, so a device this machine lacks is one clear error."""

from __future__ import annotations

import torch

from cnnzoo.errors import CnnzooError


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """'auto' (or None) is CUDA, else Apple's MPS, else the CPU; CUDA or MPS that this machine lacks is an error."""
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if torch.backends.mps.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError) as err:
        raise CnnzooError(f"unknown device {str(device)!r}; use auto, cpu, cuda, cuda:N or mps") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise CnnzooError(f"device {str(device)!r} asked for, but CUDA is not available here; use --device cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise CnnzooError(f"device {str(device)!r} does not exist; this machine has {torch.cuda.device_count()} GPU(s)")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise CnnzooError(f"device {str(device)!r} asked for, but MPS is not available here; use --device cpu")
    return dev
