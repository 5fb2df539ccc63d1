"""`cnnzoo bench mfu`: ResNet-50 training images/s and model FLOP utilisation, against the peak measured here.

- Training FLOPs per image = 3 × the forward pass's FLOPs, the usual convention (the backward pass costs
  twice the forward: gradients with respect to the inputs and to the weights). Forward FLOPs = 2 × the
  multiply-adds of `cnnzoo.inspect.counts.count_macs` (convolutions and linear layers, PyTorch's counter):
  for ResNet-50 at 224×224 that is 3 × 2 × 4.089 G = 24.5 GFLOPs per image. (PyTorch's counter run over a
  real forward + backward gives 24.3 G: the first convolution needs no gradient for its input.)
- Peak: the median rate of large square matrix products in the training precision's dtype (bf16 for bf16,
  fp32 for fp32) on random inputs, measured in the same invocation: 8192³ on the GPU.
- MFU = achieved training FLOP/s (images/s × FLOPs per image) / measured peak.

Training images/s come from the throughput mode's machinery: cnnzoo's engine (`fit`) and the plain loop on
the same model and synthetic data, median of the timed epochs after a warm-up epoch.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from cnnzoo.errors import CnnzooError, check_choice
from cnnzoo.experiments.bench import BENCH_PRECISIONS, report
from cnnzoo.experiments.bench.throughput import BenchModel, ThroughputSetting, matmul_peak, measure_model
from cnnzoo.inspect.counts import count_macs
from cnnzoo.models import create_model, get_model_config
from cnnzoo.training.config import COMPILE_MODES

PEAK_DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32}
MAX_MATMUL_SIZE = 16384  # beyond the peak's size a product only takes more memory and time


@dataclass(frozen=True)
class MfuSetting:
    """What one invocation measures. The defaults are the GPU setting; SMOKE is the CPU one CI runs."""

    model: str = "resnet50"
    image_size: int = 224
    batch_size: int = 256
    precision: str = "bf16"
    channels_last: bool = True
    compile: str = "none"
    steps: int = 30
    epochs: int = 3
    matmul_size: int = 8192
    matmul_reps: int = 20
    device: str = "auto"

    def describe(self) -> dict[str, Any]:
        return asdict(self)


SMOKE = MfuSetting(
    image_size=32,
    batch_size=4,
    precision="fp32",
    channels_last=False,
    steps=2,
    epochs=1,
    matmul_size=512,
    matmul_reps=5,
    device="cpu",
)

COLUMNS = [
    ("model", "model"), ("input", "input"), ("system", "system"), ("train_images_per_s", "train images/s"),
    ("train_gflops_per_image", "train GFLOPs/image"), ("achieved_tflops", "achieved TFLOP/s"),
    ("peak_tflops", "measured peak TFLOP/s"), ("mfu", "MFU"),
]  # fmt: skip


def run(setting: MfuSetting, *, smoke: bool, command: str, out_dir: str | Path) -> dict:
    """Measure the training rate and the matmul peak, write the result files under `out_dir`, return the record."""
    check_choice("precision", setting.precision, BENCH_PRECISIONS)
    check_choice("compile mode", setting.compile, COMPILE_MODES)
    for name in ("image_size", "batch_size", "steps", "epochs", "matmul_size", "matmul_reps"):
        if getattr(setting, name) < 1:
            raise CnnzooError(f"{name.replace('_', '-')} must be at least 1, got {getattr(setting, name)}")
    smallest = get_model_config(setting.model).min_input_size[1]
    if setting.image_size < smallest:  # smaller inputs vanish in its strided stages: the loss is NaN, not a rate
        raise CnnzooError(
            f"--image-size must be at least {smallest}, the smallest input {setting.model} takes, "
            f"got {setting.image_size}"
        )
    if setting.matmul_size > MAX_MATMUL_SIZE:
        raise CnnzooError(
            f"--matmul-size must be at most {MAX_MATMUL_SIZE}, got {setting.matmul_size}: the products "
            f"only measure the peak (the GPU setting uses {MfuSetting.matmul_size}, --smoke "
            f"{SMOKE.matmul_size})"
        )
    setting, device, record = report.start(
        "mfu",
        f"Model FLOP utilisation: {setting.model} training",
        setting,
        smoke=smoke,
        command=command,
        columns=COLUMNS,
        out_dir=out_dir,
        gpu_setting=not smoke,
    )
    with torch.device("meta"):
        meta_model = create_model(setting.model)
    check_fits_in_memory(setting, meta_model, device)
    flops = 3 * 2 * count_macs(meta_model, (3, setting.image_size, setting.image_size))
    peak = matmul_peak(device, PEAK_DTYPES[setting.precision], setting.matmul_size, setting.matmul_reps)
    spec = BenchModel(setting.model, image_size=setting.image_size)
    throughput = ThroughputSetting(
        models=(spec,),
        batch_size=setting.batch_size,
        precision=setting.precision,
        channels_last=setting.channels_last,
        compile=setting.compile,
        steps=setting.steps,
        epochs=setting.epochs,
        device=str(device),
        inference=False,
    )
    with tempfile.TemporaryDirectory(prefix="cnnzoo-bench-") as tmp:
        rows, skipped = measure_model(spec, throughput, device, Path(tmp))
    for row in rows:  # the engine and the plain loop (no counterparts are listed for `spec`)
        achieved = row["train_images_per_s"] * flops
        record["rows"].append({
            "model": row["model"], "input": row["input"], "system": row["system"],
            "train_images_per_s": row["train_images_per_s"], "train_gflops_per_image": flops / 1e9,
            "achieved_tflops": achieved / 1e12, "peak_tflops": peak / 1e12, "mfu": achieved / peak,
        })  # fmt: skip
    record["skipped"] = skipped
    record["notes"] = [
        "training FLOPs per image = 3 × forward FLOPs (forward = 2 × count_macs: convolutions and linear layers).",
        f"peak: median of {setting.matmul_reps} {setting.matmul_size}³ {setting.precision} matrix products on "
        "random inputs, measured in this invocation.",
    ]
    report.write(record, out_dir)
    return record


def check_fits_in_memory(setting: MfuSetting, meta_model: torch.nn.Module, device: torch.device) -> None:
    """Refuse, before measuring, sizes within their ranges that would not fit the device's memory: the peak's
    three matrices, and the activations training keeps (float32 sizes, an upper bound); say which flag to lower."""
    from cnnzoo.data.base import human_bytes, physical_memory
    from cnnzoo.inspect.summary import summary

    limit = physical_memory(device) // 2
    side, n = setting.image_size, setting.matmul_size
    matrices = 3 * n * n * PEAK_DTYPES[setting.precision].itemsize
    if matrices > limit:
        raise CnnzooError(
            f"--matmul-size {n} needs {human_bytes(matrices)} for three {n}x{n} {setting.precision} "
            f"matrices, more than half the memory of {device} ({human_bytes(2 * limit)}); lower "
            f"--matmul-size (the GPU setting uses {MfuSetting.matmul_size})"
        )
    activations = summary(meta_model, (3, side, side), depth=0).pass_bytes * setting.batch_size
    if activations > limit:
        raise CnnzooError(
            f"training {setting.model} at {side}x{side} in batches of {setting.batch_size} keeps "
            f"{human_bytes(activations)} of activations, more than half the memory of {device} "
            f"({human_bytes(2 * limit)}); lower --image-size or --batch-size"
        )
