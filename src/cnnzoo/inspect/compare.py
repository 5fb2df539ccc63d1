"""Several models side by side: size, cost, depth, activation memory and measured forward throughput.

Definitions, so the columns mean one thing:
- params: all parameters of the model as built (auxiliary heads included).
- GMACs: multiply-adds of one forward pass for one image in eval mode, ×10^-9 (`counts.count_macs`: conv
  and matmul weights, the papers' convention).
- depth: weight layers (convolutions and linear layers) on the longest path from input to output
  (`counts.count_depth`): 18 for ResNet-18, 16 for VGG-16, 22 for GoogLeNet, as the papers count.
- activations (MB): the layer summary's forward/backward pass size for one image: outputs of every layer with
  parameters, stored for the backward pass, and their gradients (×2), float32, MB of 10^6 bytes.
- images/s: measured forward passes in eval mode without autograd on the chosen device, after warm-up.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import torch

from cnnzoo.device import resolve_device
from cnnzoo.errors import CnnzooError
from cnnzoo.inspect.counts import count_depth, count_macs, count_params
from cnnzoo.inspect.summary import summary

COLUMNS = (
    "model",
    "input",
    "params",
    ("gmacs", "GMACs"),
    "depth",
    ("activations_mb", "activations (MB)"),
    ("images_per_s", "images/s"),
)  # (JSON key, header): see render.py
MAX_SECONDS = 3600.0  # timing one model for longer than an hour is a typo, not a measurement
MAX_BATCH_SIZE = 65536


def measure_throughput(
    model: torch.nn.Module,
    input_size: Sequence[int],
    batch_size: int,
    device: torch.device,
    seconds: float = 1.0,
    warmup: int = 2,
) -> float:
    """Images per second of eval-mode forward passes, timed for about `seconds` (at least two passes)."""
    model.eval()
    x = torch.randn(batch_size, *input_size, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        sync()
        passes = 0
        start = time.perf_counter()
        while True:
            model(x)
            passes += 1
            sync()
            elapsed = time.perf_counter() - start
            if passes >= 2 and elapsed >= seconds:
                break
    return passes * batch_size / elapsed


def compare(
    names: Sequence[str],
    input_size: Sequence[int] | None = None,
    device: str | torch.device | None = None,
    batch_size: int = 8,
    seconds: float = 1.0,
    options: dict[str, Any] | None = None,
) -> list[tuple]:
    """One row per model (see COLUMNS); `input_size` (C, H, W) overrides each model's default."""
    from cnnzoo.models import create_model, get_model_config

    if not names:
        raise CnnzooError("give at least one model name")
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise CnnzooError(f"batch size must be at least 1 and at most {MAX_BATCH_SIZE}, got {batch_size}")
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_SECONDS):  # nan or inf would time forever
        raise CnnzooError(f"timing seconds must be positive and at most {MAX_SECONDS:g}, got {seconds}")
    dev = resolve_device(device)
    rows = []
    for name in names:
        opts = dict(options or {})
        if (
            input_size is not None
            and "in_chans" not in opts
            and input_size[0] != get_model_config(name, **opts).input_size[0]
        ):
            opts["in_chans"] = input_size[0]
        with torch.device("meta"):
            meta_model = create_model(name, **opts)
        size = tuple(input_size) if input_size is not None else meta_model.default_cfg.input_size
        layers = summary(meta_model, size, depth=0)
        row_counts = (
            count_params(meta_model),
            round(count_macs(meta_model, size) / 1e9, 3),
            count_depth(meta_model, size),
        )
        del meta_model
        with torch.device(dev):
            model = create_model(name, **opts)
        speed = measure_throughput(model, size, batch_size, dev, seconds)
        del model
        rows.append((name, "x".join(map(str, size)), *row_counts, round(layers.pass_bytes / 1e6, 2), round(speed, 1)))
    return rows
