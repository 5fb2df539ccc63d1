"""`cnnzoo bench throughput`: training and inference images/s, cnnzoo's engine against plain PyTorch loops.

For each model, side by side in one process, same batch size, precision, memory format and compile mode:

| system | training | inference |
|---|---|---|
| cnnzoo engine | `training.loop.fit`, the epoch loop `cnnzoo train` runs | `training.loop.evaluate` |
| plain loop | the cnnzoo model in `plain_train_rates`: forward, loss, backward, SGD step | `plain_infer_rates` |
| torchvision | torchvision's same architecture in the plain loop | the same |
| timm | timm's same architecture in the plain loop (where timm is installed) | the same |

"Same architecture" is checked, not assumed: a counterpart whose parameter count differs from cnnzoo's model
is not measured, and the row says why. Every system reads the same synthetic data through cnnzoo's device
loader (random uint8 images and labels, the split on the device), so the data path costs all of them alike.
The first epoch (or pass) warms up (cuDNN autotuning, compilation) and is not counted; a figure is the median
of the timed epochs. The optimiser is SGD with Nesterov momentum 0.9 and weight decay 5e-4 at a small lr
(1e-3), so that no model diverges on random labels; speed does not depend on the lr.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from cnnzoo.data import Augment, DeviceLoader, ImageArrays, Loaders
from cnnzoo.errors import CnnzooError, check_choice
from cnnzoo.experiments.bench import BENCH_PRECISIONS, report
from cnnzoo.inspect.counts import count_macs, count_params
from cnnzoo.models import create_model, get_model_config
from cnnzoo.training.config import COMPILE_MODES, TrainConfig
from cnnzoo.training.loop import TrainingDiverged, autocast, compute_loss, evaluate, fit, quiet_compile_logs
from cnnzoo.training.runlog import RunDir
from cnnzoo.training.train import seed_everything

SYSTEMS = ("cnnzoo engine", "plain loop", "torchvision", "timm")
LR, MOMENTUM, WEIGHT_DECAY = 1e-3, 0.9, 5e-4
# Synthetic images are normalised with these (the values do not change the arithmetic's cost).
MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


@dataclass(frozen=True)
class BenchModel:
    """A cnnzoo model at one input size, and the builders of the same architecture in other libraries."""

    name: str
    options: dict = field(default_factory=dict)
    image_size: int = 32
    torchvision: str | None = None  # torchvision.models builder name
    timm: str | None = None  # timm model name
    small_stem: bool = False  # the counterpart needs cnnzoo's small-input stem: a 3x3/1 conv and no max pool

    @property
    def label(self) -> str:
        opts = ",".join(f"{k}={v}" for k, v in self.options.items())
        return self.name + (f" ({opts})" if opts else "")


# One model of every family at 32x32 (CIFAR-10's 10 classes), and the ImageNet models at 224x224 (1000 classes).
MODELS = (
    BenchModel("resnet20", image_size=32),
    BenchModel("resnet18", {"small_input": True}, 32, torchvision="resnet18", timm="resnet18", small_stem=True),
    BenchModel("vgg16_bn", {"small_input": True}, 32),
    BenchModel("nin", image_size=32),
    BenchModel("googlenet", {"small_input": True}, 32),
    BenchModel("alexnet", {"small_input": True}, 32),
    BenchModel("alexnet", image_size=224, torchvision="alexnet"),
    BenchModel("vgg16_bn", image_size=224, torchvision="vgg16_bn", timm="vgg16_bn"),
    BenchModel("googlenet", {"layout": "torchvision"}, 224, torchvision="googlenet"),
    BenchModel("resnet50", image_size=224, torchvision="resnet50", timm="resnet50"),
    BenchModel("nin", {"layout": "imagenet"}, 224),
)
SMOKE_MODELS = MODELS[:2]
# The CPU setting's models (issue 16): the CIFAR nets a CPU can train, one of each kind, at 32x32.
CPU_MODELS = (
    BenchModel("resnet20"),
    BenchModel("resnet56"),
    BenchModel("nin"),
    BenchModel("vgg11_bn", {"small_input": True, "head": "small"}),
    BenchModel("resnet18", {"small_input": True}),
)
# Keyword arguments a counterpart needs beyond num_classes (torchvision warns about GoogLeNet's init otherwise).
COUNTERPART_KWARGS: dict[tuple[str, str], dict[str, Any]] = {("torchvision", "googlenet"): {"init_weights": True}}


@dataclass(frozen=True)
class Variant:
    """One way to run the same model: precision, memory format, compile mode, threads; which systems run it."""

    precision: str
    channels_last: bool
    compile: str = "none"
    threads: int | None = None  # torch's intra-op threads; None: as the process has them
    engine: bool = False  # also time cnnzoo's engine (always the plain loop)

    @property
    def label(self) -> str:
        threads = "" if self.threads is None else f", {self.threads} thread{'s' if self.threads > 1 else ''}"
        compile = "eager" if self.compile == "none" else f"compile {self.compile}"
        return f"{self.precision}, {'channels-last' if self.channels_last else 'NCHW'}, {compile}{threads}"


@dataclass(frozen=True)
class ThroughputSetting:
    """What one invocation measures. The defaults are the GPU setting; SMOKE is the CPU one CI runs."""

    models: tuple[BenchModel, ...] = MODELS
    batch_size: int = 256
    precision: str = "bf16"
    channels_last: bool = True
    compile: str = "none"
    steps: int = 50  # training steps per epoch
    epochs: int = 3  # timed epochs (and inference passes), after one warm-up epoch
    device: str = "auto"
    inference: bool = True  # also time inference (the mfu mode needs training only)
    # A grid of settings measured side by side (the CPU setting); empty: the single setting above, every system.
    variants: tuple[Variant, ...] = ()
    mfu: bool = False  # add model FLOP utilisation against the fp32 and bf16 matrix-product peaks measured here

    def describe(self) -> dict[str, Any]:
        values = asdict(self)
        values["models"] = [m.label + f" @{m.image_size}" for m in self.models]
        if self.variants:
            values["variants"] = [v.label + (" (+ engine)" if v.engine else "") for v in self.variants]
            for name in ("precision", "channels_last", "compile"):
                del values[name]  # each variant sets its own
        else:
            del values["variants"]
        return values


SMOKE = ThroughputSetting(
    models=SMOKE_MODELS, batch_size=8, precision="fp32", channels_last=False, steps=2, epochs=1, device="cpu"
)
# The CPU setting (`cnnzoo bench throughput --device cpu`): the grid that picked the CPU default (device.py's
# choose_speed: bf16 + channels-last where the CPU has native bf16), the engine beside the plain loop at the
# default and at fp32; the first variant is the baseline of the "× fp32" column.
CPU_BASELINE = Variant("fp32", False, threads=2, engine=True)
CPU_VARIANTS = (
    CPU_BASELINE,
    Variant("fp32", False, threads=1),
    Variant("fp32", False, "default", threads=2),
    Variant("bf16", False, threads=2),
    Variant("bf16", True, threads=2, engine=True),
    Variant("bf16", True, threads=1),
    Variant("bf16", True, "default", threads=2),
)
CPU = ThroughputSetting(
    models=CPU_MODELS, batch_size=128, steps=4, epochs=3, device="cpu", variants=CPU_VARIANTS, mfu=True
)


def default_setting(device: str | None) -> ThroughputSetting:
    """Without --smoke: the CPU grid on a CPU (asked for, or what `auto` finds), else the GPU setting."""
    from cnnzoo.device import resolve_device

    return CPU if resolve_device(device or "auto").type == "cpu" else ThroughputSetting()


COLUMNS = [
    ("model", "model"), ("input", "input"), ("system", "system"), ("params", "params"),
    ("train_images_per_s", "train images/s"), ("train_ratio", "train × plain loop"),
    ("infer_images_per_s", "inference images/s"), ("infer_ratio", "inference × plain loop"),
]  # fmt: skip
# The grid adds its setting, the speed-up over the baseline variant and, with mfu, the utilisation columns.
VARIANT_COLUMNS = [
    ("model", "model"), ("input", "input"), ("setting", "setting"), ("system", "system"),
    ("train_images_per_s", "train images/s"), ("fp32_ratio", "train × fp32 NCHW eager (2 threads)"),
    ("train_ratio", "train × plain loop"), ("infer_images_per_s", "inference images/s"),
]  # fmt: skip
MFU_COLUMNS = [("train_gflops", "train GFLOP/s"), ("fp32_mfu", "MFU of fp32 peak"), ("bf16_mfu", "MFU of bf16 peak")]


# ==================================================================== synthetic data on the device
def synthetic_split(num_images: int, image_size: int, num_classes: int, seed: int = 0) -> ImageArrays:
    """Random uint8 images and labels: the shape of a real split, with nothing to read from disk."""
    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (num_images, 3, image_size, image_size), dtype=torch.uint8, generator=gen)
    labels = torch.randint(0, num_classes, (num_images,), generator=gen)
    return ImageArrays(images, labels, [f"class{i}" for i in range(num_classes)])


def synthetic_loader(
    data: ImageArrays, batch_size: int, device: torch.device, channels_last: bool, train: bool
) -> DeviceLoader:
    """cnnzoo's device loader over `data`; training batches are shuffled, flipped and (at 32x32) cropped."""
    small = data.images.shape[-1] <= 64
    augment = Augment(crop_padding=4 if small else 0, flip=True) if train else Augment()
    return DeviceLoader(
        data,
        batch_size,
        device=device,
        mean=MEAN,
        std=STD,
        shuffle=train,
        augment=augment,
        drop_last=train,
        channels_last=channels_last,
    )


def compiled(model: nn.Module, mode: str) -> nn.Module:
    """`model` under torch.compile in `mode` ('none': the model itself)."""
    if mode == "none":
        return model
    quiet_compile_logs()
    return torch.compile(model) if mode == "default" else torch.compile(model, mode=mode)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device: torch.device, dtype: torch.dtype, size: int, reps: int) -> float:
    """FLOP/s of `size`³ matrix products (2·size³ FLOPs each) on random inputs: median over `reps` after warm-up."""
    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(size, size, device=device, dtype=dtype, generator=gen)
    b = torch.randn(size, size, device=device, dtype=dtype, generator=gen)
    for _ in range(3):
        a @ b
    synchronize(device)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        a @ b
        synchronize(device)
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times)


# ==================================================================== the systems
def engine_train_rates(
    model: nn.Module,
    train_loader: DeviceLoader,
    test_loader: DeviceLoader,
    setting: ThroughputSetting,
    spec: BenchModel,
    device: torch.device,
    workdir: Path,
) -> list[float]:
    """Training images/s per timed epoch of the engine's own epoch loop (`fit`), as `cnnzoo train` runs it."""
    cfg = TrainConfig.from_dict({
        "model": spec.name, "model_options": dict(spec.options), "data": "synthetic", "batch_size": setting.batch_size,
        "epochs": 1 + setting.epochs, "lr": LR, "momentum": MOMENTUM, "nesterov": True, "weight_decay": WEIGHT_DECAY,
        "schedule": "constant", "full_train": True, "precision": setting.precision,
        "channels_last": setting.channels_last, "compile": setting.compile,
        "device": str(device), "tensorboard": False, "plots": False, "run_dir": str(workdir),
    })  # fmt: skip
    classes = train_loader.classes
    loaders = Loaders(
        train=train_loader,
        val=None,
        test=test_loader,
        classes=classes,
        mean=MEAN,
        std=STD,
        in_chans=3,
        image_size=spec.image_size,
    )
    run = RunDir(workdir)
    run.create()
    try:
        fit(model, loaders, cfg, run, device, quiet=True)
        return [row["images_per_s"] for row in run.read_metrics()][1:]
    finally:
        run.close()


def plain_train_rates(
    model: nn.Module, loader: DeviceLoader, setting: ThroughputSetting, device: torch.device
) -> list[float]:
    """Training images/s per timed epoch of a minimal loop: forward, cross-entropy, backward, SGD step.

    The loss is the engine's `compute_loss` only so that models with auxiliary heads (GoogLeNet) do the same
    arithmetic in both loops; everything else the engine adds (schedule, metrics, checks) is left out.
    """
    model.to(device)
    if setting.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True, weight_decay=WEIGHT_DECAY)
    step_model = compiled(model, setting.compile)
    step_model.train()
    rates = []
    for epoch in range(1 + setting.epochs):
        loader.set_epoch(epoch)
        seen, start = 0, time.perf_counter()
        for images, targets in loader:
            with autocast(device, setting.precision):
                loss, _ = compute_loss(step_model(images), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            seen += targets.shape[0]
        synchronize(device)
        rates.append(seen / (time.perf_counter() - start))
    return rates[1:]


def timed_passes(run_pass: Callable[[], int], passes: int, device: torch.device) -> list[float]:
    """Images/s of `passes` timed calls of `run_pass` (which returns the images it saw), after one warm-up call."""
    rates = []
    for i in range(1 + passes):
        start = time.perf_counter()
        seen = run_pass()
        synchronize(device)
        if i:
            rates.append(seen / (time.perf_counter() - start))
    return rates


def plain_infer_rates(
    model: nn.Module, loader: DeviceLoader, setting: ThroughputSetting, device: torch.device
) -> list[float]:
    """Inference images/s of eval-mode forward passes under inference_mode, over the whole loader."""
    infer_model = compiled(model, setting.compile)
    infer_model.eval()

    def one_pass() -> int:
        seen = 0
        with torch.inference_mode():
            for images, _ in loader:
                with autocast(device, setting.precision):
                    infer_model(images)
                seen += images.shape[0]
        return seen

    return timed_passes(one_pass, setting.epochs, device)


def engine_infer_rates(
    model: nn.Module, loader: DeviceLoader, setting: ThroughputSetting, device: torch.device
) -> list[float]:
    """Inference images/s of the engine's `evaluate` (loss, top-1/top-5 accumulated on the device)."""
    infer_model = compiled(model, setting.compile)
    num_classes = len(loader.classes)

    def one_pass() -> int:
        return evaluate(infer_model, loader, num_classes, device, setting.precision, confusion=False)["count"]

    return timed_passes(one_pass, setting.epochs, device)


# ==================================================================== counterparts
def counterpart(library: str, spec: BenchModel, num_classes: int) -> nn.Module:
    """torchvision's or timm's builder of the same architecture; ImportError when the library is absent."""
    builder_name = spec.torchvision if library == "torchvision" else spec.timm
    kwargs = {"num_classes": num_classes, **COUNTERPART_KWARGS.get((library, builder_name), {})}
    if library == "torchvision":
        import torchvision.models

        model = getattr(torchvision.models, builder_name)(**kwargs)
    else:
        import timm

        model = timm.create_model(builder_name, pretrained=False, **kwargs)
    if spec.small_stem:
        model.conv1 = nn.Conv2d(3, model.conv1.out_channels, 3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    return model


# ==================================================================== one model, every system
def measure_model(
    spec: BenchModel,
    setting: ThroughputSetting,
    device: torch.device,
    workdir: Path,
    systems: tuple[str, ...] = SYSTEMS,
) -> tuple[list[dict], list[dict]]:
    """(rows, skipped) for one model: the engine and the plain loop on cnnzoo's model, then the counterparts."""
    num_classes = get_model_config(spec.name, **spec.options).num_classes
    size = spec.image_size
    data = synthetic_split(setting.steps * setting.batch_size, size, num_classes)
    train_loader = synthetic_loader(data, setting.batch_size, device, setting.channels_last, train=True)
    infer_loader = synthetic_loader(data, setting.batch_size, device, setting.channels_last, train=False)
    test_loader = synthetic_loader(
        data.subset(torch.arange(setting.batch_size)), setting.batch_size, device, setting.channels_last, train=False
    )
    base = {"model": spec.label, "input": f"3x{size}x{size}"}
    rows, skipped = [], []

    def build(system: str) -> nn.Module:
        torch.manual_seed(0)
        if system in ("cnnzoo engine", "plain loop"):
            return create_model(spec.name, num_classes=num_classes, **spec.options)
        return counterpart(system, spec, num_classes)

    cnnzoo_params = None
    for system in systems:
        what = f"{spec.label} @{size}, {system}"
        if system in ("torchvision", "timm") and getattr(spec, system) is None:
            continue  # no counterpart listed: nothing to say per run
        seed_everything(0, False, device)  # as `cnnzoo train` does: cuDNN autotuning on
        try:
            model = build(system)
        except ImportError:
            skipped.append({"what": what, "reason": f"{system} is not installed (pip install {system})"})
            continue
        params = count_params(model)
        cnnzoo_params = params if cnnzoo_params is None else cnnzoo_params
        if params != cnnzoo_params:
            skipped.append(
                {
                    "what": what,
                    "reason": f"{system}'s {getattr(spec, system)} has {params:,} parameters, "
                    f"cnnzoo's {cnnzoo_params:,}: not the same architecture",
                }
            )
            continue
        try:
            if system == "cnnzoo engine":
                train = engine_train_rates(
                    model, train_loader, test_loader, setting, spec, device, workdir / f"{spec.name}-{size}"
                )
                infer_rates = engine_infer_rates
            else:
                train = plain_train_rates(model, train_loader, setting, device)
                infer_rates = plain_infer_rates
        except TrainingDiverged as err:
            skipped.append({"what": what, "reason": f"the loss diverged on random data ({err})"})
            continue
        row = {**base, "system": system, "params": params, "train_images_per_s": statistics.median(train)}
        if setting.inference:
            row["infer_images_per_s"] = statistics.median(infer_rates(model, infer_loader, setting, device))
        rows.append(row)
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    _ratios(rows)
    return rows, skipped


def _ratios(rows: list[dict]) -> None:
    """Each row's images/s over the plain loop's ("train_ratio", "infer_ratio")."""
    plain = next((r for r in rows if r["system"] == "plain loop"), None)
    for row in rows if plain is not None else []:
        for kind in ("train", "infer"):
            if f"{kind}_images_per_s" in row:
                row[f"{kind}_ratio"] = row[f"{kind}_images_per_s"] / plain[f"{kind}_images_per_s"]


def select_models(names: Iterable[str], models: tuple[BenchModel, ...] = MODELS) -> tuple[BenchModel, ...]:
    """The bench models of `models` (every input size) whose name is in `names`; an unknown name is an error."""
    known = {m.name for m in models}
    for name in names:
        if name not in known:
            raise CnnzooError(f"no bench model named {name!r}; choose from {', '.join(sorted(known))}")
    return tuple(m for m in models if m.name in set(names))


def run(
    setting: ThroughputSetting,
    *,
    smoke: bool,
    command: str,
    out_dir: str | Path,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Measure every model of `setting`, write the result files under `out_dir`, return the record.

    `progress` is told what is measured next and what it gave (the CLI prints it on stderr): the CPU grid runs
    for minutes.
    """
    check_choice("precision", setting.precision, BENCH_PRECISIONS)
    check_choice("compile mode", setting.compile, COMPILE_MODES)
    for name in ("batch_size", "steps", "epochs"):
        if getattr(setting, name) < 1:
            raise CnnzooError(f"{name.replace('_', '-')} must be at least 1, got {getattr(setting, name)}")
    for variant in setting.variants:
        check_choice("precision", variant.precision, BENCH_PRECISIONS)
        check_choice("compile mode", variant.compile, COMPILE_MODES)
    columns = VARIANT_COLUMNS if setting.variants else COLUMNS
    setting, device, record = report.start(
        "throughput",
        "Training and inference throughput: cnnzoo's engine vs plain loops",
        setting,
        smoke=smoke,
        command=command,
        columns=columns + (MFU_COLUMNS if setting.mfu else []),
        out_dir=out_dir,
        gpu_setting=not smoke and not setting.variants,
        optional=("timm",),
    )
    say = progress or (lambda message: None)
    peaks = dense_peaks(device) if setting.mfu else {}
    if peaks:
        say("dense-kernel peaks: " + ", ".join(f"{k} {v / 1e9:,.0f} GFLOP/s" for k, v in peaks.items()))
    grid = [(spec, v) for spec in setting.models for v in setting.variants] or [(spec, None) for spec in setting.models]
    started = time.perf_counter()
    if len(grid) > 1:
        say(f"{len(grid)} measurements, one after another; the time left is estimated after each")
    with tempfile.TemporaryDirectory(prefix="cnnzoo-bench-") as tmp:
        for i, (spec, variant) in enumerate(grid, 1):
            say(
                f"[{i}/{len(grid)}] {spec.label} @{spec.image_size}"
                + (f", {variant.label}" if variant else "")
                + _time_left(time.perf_counter() - started, done=i - 1, total=len(grid))
            )
            rows, skipped = _measure(spec, variant, setting, device, Path(tmp) / str(i))  # a run dir each
            for row in rows:
                say(f"    {row['system']}: {row['train_images_per_s']:,.1f} training images/s")
            record["rows"] += rows
            record["skipped"] += skipped
    if setting.variants:
        _speedups(record["rows"], setting.variants[0])
    if peaks:
        _utilisation(record["rows"], setting.models, peaks)
    record["notes"] = [
        "train/inference × plain loop: the row's images/s over the plain loop's on cnnzoo's same model, "
        "measured in this invocation" + (" at the same setting." if setting.variants else "."),
        f"Median of {setting.epochs} timed epoch(s) of {setting.steps} steps after one warm-up epoch; synthetic "
        "uint8 data on the device through cnnzoo's loader (crop+flip at 32x32, flip at 224x224).",
    ]
    if setting.variants:
        record["notes"].append(
            f"train × fp32 NCHW eager: over the plain loop's rate at {setting.variants[0].label}, "
            "same model; threads: torch.set_num_threads for that row. Where the engine is "
            "measured, it and the plain loop ran twice, in turn (engine, plain, plain, engine), "
            "and each row is the mean of its two medians."
        )
    if peaks:
        record["notes"].append(
            "MFU: training FLOP/s (images/s × 3 × forward FLOPs, forward = 2 × multiply-adds of convolutions and "
            "linear layers) over the peak measured in this invocation with every thread, the best of a 2048³ "
            f"matrix product and a 3×3 256-channel convolution: fp32 {peaks['fp32'] / 1e9:,.0f} GFLOP/s, bf16 "
            f"{peaks['bf16'] / 1e9:,.0f} GFLOP/s (best of {PEAK_REPS}). Read a row against its own precision's "
            "peak: a bf16 row may well exceed the fp32 one."
        )
    report.write(record, out_dir)
    return record


def _time_left(elapsed: float, done: int, total: int) -> str:
    """' (N s so far, about M min left)': the measurements so far, averaged, times those still to come."""
    left = f", about {elapsed / done * (total - done) / 60:.0f} min left" if done else ""
    return f" ({elapsed:.0f} s so far{left})"


PEAK_REPS = 10  # best of: a peak is what the hardware can reach, not what it usually does


def dense_peaks(device: torch.device) -> dict[str, float]:
    """The fastest FLOP/s of fp32 and bf16 dense kernels on `device`, measured now: the MFU denominators.

    The best of a 2048³ matrix product and a 3x3 convolution (batch 128, 256 -> 256 channels, 16x16,
    channels-last): on a CPU, oneDNN's convolutions outrun MKL's matrix product (215 against 188 GFLOP/s in fp32
    on the project's 2-core EPYC), and a peak below what a network reaches would put its MFU above 100%.
    """
    peaks = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        gen = torch.Generator(device=device).manual_seed(0)
        a, b = (torch.randn(2048, 2048, device=device, dtype=dtype, generator=gen) for _ in range(2))
        x = torch.randn(128, 256, 16, 16, device=device, dtype=dtype, generator=gen).to(
            memory_format=torch.channels_last
        )
        w = torch.randn(256, 256, 3, 3, device=device, dtype=dtype, generator=gen).to(memory_format=torch.channels_last)
        kernels = [
            (lambda a=a, b=b: a @ b, 2 * 2048**3),
            (lambda x=x, w=w: torch.nn.functional.conv2d(x, w, padding=1), 2 * 128 * 256 * 16 * 16 * 256 * 9),
        ]
        peaks[name] = max(flops / _best_seconds(kernel, device) for kernel, flops in kernels)
    return peaks


def _best_seconds(kernel: Callable[[], Any], device: torch.device) -> float:
    """The shortest of PEAK_REPS timed calls of `kernel`, after three warm-up calls."""
    for _ in range(3):
        kernel()
    synchronize(device)
    times = []
    for _ in range(PEAK_REPS):
        start = time.perf_counter()
        kernel()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times)


def _measure(
    spec: BenchModel, variant: Variant | None, setting: ThroughputSetting, device: torch.device, workdir: Path
) -> tuple[list[dict], list[dict]]:
    """One model at one variant (its threads set for the call), or at the setting itself with every system."""
    if variant is None:
        return measure_model(spec, setting, device, workdir)
    at = replace(setting, precision=variant.precision, channels_last=variant.channels_last, compile=variant.compile)
    threads = torch.get_num_threads()
    torch.set_num_threads(variant.threads or threads)
    try:
        if variant.engine:  # engine and plain loop twice, in turn (ABBA): a shared machine's speed drifts
            first, skipped = measure_model(spec, at, device, workdir / "a", ("cnnzoo engine", "plain loop"))
            second, _ = measure_model(spec, at, device, workdir / "b", ("plain loop", "cnnzoo engine"))
            rows = _mean_rows(first, second)
        else:
            rows, skipped = measure_model(spec, at, device, workdir, ("plain loop",))
    finally:
        torch.set_num_threads(threads)
    for row in rows:
        row["setting"] = variant.label
    return rows, skipped


def _mean_rows(first: list[dict], second: list[dict]) -> list[dict]:
    """The rows of two measurements of the same systems, their rates averaged and the ratios taken again."""
    other = {r["system"]: r for r in second}
    rows = []
    for row in first:
        merged = dict(row)
        for key in ("train_images_per_s", "infer_images_per_s"):
            if key in row and key in other.get(row["system"], {}):
                merged[key] = (row[key] + other[row["system"]][key]) / 2
        rows.append(merged)
    _ratios(rows)
    return rows


def _speedups(rows: list[dict], baseline: Variant) -> None:
    """Each row's training rate over the baseline variant's plain loop on the same model ("fp32_ratio")."""
    base = {
        r["model"]: r["train_images_per_s"]
        for r in rows
        if r["system"] == "plain loop" and r["setting"] == baseline.label
    }
    for row in rows:
        if row["model"] in base:
            row["fp32_ratio"] = row["train_images_per_s"] / base[row["model"]]


def _utilisation(rows: list[dict], models: tuple[BenchModel, ...], peaks: dict[str, float]) -> None:
    """Training GFLOP/s and its share of the measured fp32 and bf16 peaks, for every row."""
    flops = {}
    for spec in models:
        with torch.device("meta"):
            model = create_model(
                spec.name, num_classes=get_model_config(spec.name, **spec.options).num_classes, **spec.options
            )
        flops[(spec.label, f"3x{spec.image_size}x{spec.image_size}")] = (
            3 * 2 * count_macs(model, (3, spec.image_size, spec.image_size))
        )
    for row in rows:
        achieved = row["train_images_per_s"] * flops[(row["model"], row["input"])]
        row["train_gflops"] = achieved / 1e9
        row["fp32_mfu"], row["bf16_mfu"] = achieved / peaks["fp32"], achieved / peaks["bf16"]
