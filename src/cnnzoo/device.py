"""Where models run: one resolver for every command, so a device this machine lacks is one clear error; and
the precision a run uses there when it asks for "auto".
"""

from __future__ import annotations

from dataclasses import dataclass

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


# ==================================================================== precision: the fastest that trains as well
@dataclass(frozen=True)
class SpeedSetting:
    """The precision and memory format a run uses on its device, and why (env.json and the first line say it)."""

    precision: str  # fp32, bf16 or fp16
    channels_last: bool
    why: str

    def describe(self) -> str:
        """'bf16 autocast, channels-last (auto: ...)': how the run's first line names it."""
        name = "fp32" if self.precision == "fp32" else f"{self.precision} autocast"
        return f"{name}, {'channels-last' if self.channels_last else 'NCHW'} ({self.why})"


def cpu_bf16_instructions() -> list[str]:
    """The CPU's native bf16 instruction sets that PyTorch's kernels use (AVX512_BF16, AMX); empty if none."""
    checks = {"AVX512_BF16": "_is_avx512_bf16_supported", "AMX": "_is_amx_tile_supported"}
    found = []
    for name, check in checks.items():
        probe = getattr(torch.cpu, check, None)  # private probes of torch >= 2.3; absent means unknown, not present
        if probe is not None and probe():
            found.append(name)
    return found


def choose_speed(device: torch.device, precision: str = "auto", channels_last: bool | None = None) -> SpeedSetting:
    """Resolve `precision="auto"` and `channels_last=None` to what is fastest on `device` and trains as well.

    Measured on a 2-core AVX512_BF16 CPU (issue 16; benchmarks/results/throughput_cpu.md): bf16 autocast with
    channels-last trains ResNet-20 about 2x faster than fp32 and reaches the same validation accuracy; without
    native bf16 the CPU emulates it and fp32 is faster. CUDA GPUs with bf16 (Ampere and later) use it; Apple's
    MPS stays in fp32. channels-last follows the precision: it pays with bf16/fp16 kernels.
    """
    why = "as asked"
    if precision == "auto":
        if device.type == "cpu":
            native = cpu_bf16_instructions()
            precision = "bf16" if native else "fp32"
            why = (
                f"auto: this CPU has native bf16 ({', '.join(native)})"
                if native
                else "auto: this CPU has no native bf16 (AVX512_BF16 or AMX), so fp32 is faster"
            )
        elif device.type == "cuda" and torch.cuda.is_bf16_supported():
            precision, why = "bf16", "auto: this GPU computes in bf16"
        else:
            precision, why = "fp32", f"auto: fp32 on {device.type}"
    if channels_last is None:
        channels_last = precision != "fp32" and device.type in ("cpu", "cuda")
    return SpeedSetting(precision, channels_last, why)
