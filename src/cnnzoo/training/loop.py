"""The training loop, top to bottom: the step, one epoch, evaluation, the epochs with their checkpoints, the test.

    TrainStep(...)(images, targets)   forward and loss, backward, clip, optimizer step, EMA, metric sums
    train_one_epoch(...)              the batches of one epoch: set the lr, run the step, refresh the progress
    evaluate(...)                     loss, top-1/top-5 and the confusion matrix on a loader (TTA optional)
    fit(...)                          the epochs: train, validate, checkpoint, stop early; then the test, once

Validation is the only thing that selects: the best checkpoint and early stopping look at validation top-1;
the test set is touched once, at the end, with the best-by-validation weights (with `full_train` there is no
validation, so the last weights are tested). Metrics accumulate on the device; the host reads them at a
progress refresh (every `log_every` iterations) and at the end of an epoch, which is also when a non-finite
loss is noticed.

With `compile` other than "none" the step is compiled once and replayed, so nothing that changes between
steps may be a Python number the compiled code reads (it would compile again): the lr of each parameter
group and the EMA's blending weight live in 0-d device tensors that the host overwrites with `fill_`.
The forward and loss form one graph (AOTAutograd compiles the matching backward), the update another
(PyTorch splits `optimizer.step()` into its own graph on purpose); with reduce-overhead or max-autotune on
CUDA each is recorded once as a CUDA graph. fp16's GradScaler reads a found-inf flag on the host, so there
only the forward is compiled. `compile="none"` runs the same step eagerly, operation for operation.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils._pytree import tree_map

from cnnzoo.data.datasets import indices_digest
from cnnzoo.device import SpeedSetting, choose_speed
from cnnzoo.training import distributed
from cnnzoo.training.checkpoint import (
    flat_mean_image,
    read_checkpoint,
    rng_state,
    save_checkpoint,
    save_safetensors,
    set_rng_state,
)
from cnnzoo.training.config import TrainConfig
from cnnzoo.training.metrics import ClassificationMeter, is_finite
from cnnzoo.training.optim import ModelEMA, Schedule, build_optimizer, build_schedule, remember_initial_lr, scaled_lr
from cnnzoo.training.progress import EpochProgress
from cnnzoo.training.runlog import RunDir
from cnnzoo.training.tta import like_format, tta_logits

# torch.compile's mode for each config value ("default" is torch's own default mode).
_TORCH_MODES = {"default": None, "reduce-overhead": "reduce-overhead", "max-autotune": "max-autotune"}
_CUDA_GRAPH_MODES = ("reduce-overhead", "max-autotune")


class TrainingStopped(RuntimeError):
    """Training cannot go on, through no fault of the input; the CLI prints the message and exits with status 1."""


class TrainingDiverged(TrainingStopped):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


# ==================================================================== loss and precision
def compute_loss(
    output: torch.Tensor | tuple, targets: torch.Tensor, label_smoothing: float = 0.0, aux_weight: float = 0.3
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of the logits plus `aux_weight` × each auxiliary classifier's (GoogLeNet's are 0.3).

    `targets` are class indices, or (B, classes) weights from mixup/cutmix: the cross-entropy of
    lam·onehot(a) + (1 - lam)·onehot(b) is lam·CE(a) + (1 - lam)·CE(b). A model with auxiliary heads returns
    (logits, aux1, aux2) in train mode, a tuple or a NamedTuple; missing heads may be None. Returns (loss, logits).
    """
    if isinstance(output, (tuple, list)):
        logits, *aux = output
    else:
        logits, aux = output, []
    loss = F.cross_entropy(logits.float(), targets, label_smoothing=label_smoothing)
    for head in aux:
        if head is not None:
            loss = loss + aux_weight * F.cross_entropy(head.float(), targets, label_smoothing=label_smoothing)
    return loss, logits


def autocast(device: torch.device, precision: str):
    """bf16 autocast, or fp16 autocast (with the GradScaler), or nothing for fp32."""
    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def eval_logits(model: nn.Module, images: torch.Tensor, device: torch.device, precision: str) -> torch.Tensor:
    """The float logits of the main head (auxiliary heads are ignored)."""
    with autocast(device, precision):
        output = model(images)
    return (output[0] if isinstance(output, (tuple, list)) else output).float()


# ==================================================================== compiling
# torch's log lines that compiling prints on a CPU, which a user can do nothing about: a CUDA build of torch
# without a GPU, and the optimizer's profiler hook that dynamo skips.
_QUIET_TORCH_LOGGERS = ("torch.utils.cpp_extension", "torch._dynamo.variables.ctx_manager")


def quiet_compile_logs() -> None:
    """Silence torch's log lines in _QUIET_TORCH_LOGGERS (its errors still show)."""
    for name in _QUIET_TORCH_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def _compiler(mode: str, backend: str | Callable) -> Callable[[Callable], Callable]:
    """torch.compile with the config's mode and static shapes; a custom backend (tests) takes no mode."""
    quiet_compile_logs()
    options = {"mode": _TORCH_MODES[mode]} if backend == "inductor" else {"backend": backend}
    return lambda fn: torch.compile(fn, dynamic=False, **options)


def _uses_cuda_graphs(mode: str, device: torch.device) -> bool:
    return mode in _CUDA_GRAPH_MODES and device.type == "cuda"


_compiled_fits = 0  # compiled TrainSteps made in this process since the compile caches were last reset


def _make_room_for_a_compiled_fit() -> None:
    """Reset the compile caches only when this fit could overflow them, not before every fit.

    Graphs are cached per code object and guarded on the model's and optimizer's identity, so every fit
    compiles its own (up to two: a full batch and a ragged last one), and past torch._dynamo.config.recompile_limit
    torch silently runs the step eagerly.
    """
    global _compiled_fits
    if 2 * (_compiled_fits + 1) > torch._dynamo.config.recompile_limit:
        torch.compiler.reset()
        _compiled_fits = 0
    _compiled_fits += 1


def _static(tensor: torch.Tensor) -> torch.Tensor:
    """A tensor the compiled step reads or mutates in place at a fixed address (CUDA graphs keep pointers)."""
    torch._dynamo.mark_static_address(tensor)
    return tensor


# ==================================================================== the step
class TrainStep:
    """The whole training step for one fit; call it once per batch.

    Loss and correct-prediction sums accumulate in `loss_sum` (float64) and `correct` (int64) on the device;
    the host reads them only when it asks (`epoch_start` zeroes them in place).
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        device: torch.device,
        *,
        scaler: torch.amp.GradScaler | None = None,
        ema: ModelEMA | None = None,
        precision: str = "fp32",
        label_smoothing: float = 0.0,
        aux_weight: float = 0.3,
        grad_clip: float | None = None,
        compile: str = "none",
        backend: str | Callable = "inductor",
        accumulate: int = 1,
    ) -> None:
        self.model, self.optimizer, self.ema = model, optimizer, ema
        self.device = torch.device(device)
        self.scaler = scaler if scaler is not None else torch.amp.GradScaler(self.device.type, enabled=False)
        self.precision, self.label_smoothing, self.aux_weight = precision, label_smoothing, aux_weight
        self.grad_clip, self.accumulate, self.mode = grad_clip, accumulate, compile
        self.cuda_graphs = _uses_cuda_graphs(compile, self.device)
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        self.correct = torch.zeros((), dtype=torch.int64, device=self.device)
        compiled = compile != "none"
        self.compiled_update = compiled and not self.scaler.is_enabled()  # the scaler's step syncs with the host
        self._ema_weight = None
        if self.compiled_update:
            self._prepare_for_graphs()
        if compiled:
            _make_room_for_a_compiled_fit()
        compile_fn = _compiler(compile, backend) if compiled else (lambda fn: fn)
        self._forward = compile_fn(self._forward_loss)
        self._update = compile_fn(self._update_graph) if self.compiled_update else self._update_eager

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Train on one batch; returns the batch's mean loss (a device tensor; reading it syncs)."""
        if self.cuda_graphs:
            torch.compiler.cudagraph_mark_step_begin()  # the previous step's graph outputs are dead now
        if self._ema_weight is not None:
            self._ema_weight.fill_(self.ema.next_weight())
        if self.accumulate > 1:
            loss, logits = self._accumulate_gradients(images, targets)
        else:
            loss, logits = self._forward(images, targets)  # forward and loss under autocast
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
        loss = loss.detach()
        self._update(loss, logits.detach(), targets)  # clip, optimizer step, EMA, metric sums
        return loss

    def epoch_start(self) -> None:
        """Zero the metric sums in place (the compiled step holds their addresses)."""
        self.loss_sum.zero_()
        self.correct.zero_()

    def _forward_loss(self, images: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with autocast(self.device, self.precision):
            output = self.model(images)
            return compute_loss(output, targets, self.label_smoothing, self.aux_weight)

    def _update_eager(self, loss: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> None:
        if self.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.ema is not None:
            self.ema.update(self.model)
        self._accumulate(loss, logits, targets)

    def _update_graph(self, loss: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> None:
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optimizer.step()
        if self.ema is not None:
            self.ema.blend(self._ema_pairs, self._ema_weight)
        self._accumulate(loss, logits, targets)

    def _accumulate(self, loss: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> None:
        self.loss_sum += loss.double() * targets.shape[0]  # on the device: no host sync per step
        labels = targets.argmax(dim=1) if targets.ndim == 2 else targets  # mixed: the dominant label
        self.correct += (logits.argmax(dim=1) == labels).sum()

    def _accumulate_gradients(self, images: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch's gradient from `accumulate` micro-batches (less activation memory, the same optimizer step).

        Each micro-batch's loss is weighted by its share of the batch, so the summed gradient is the batch
        mean's (exactly so without BatchNorm, which sees the smaller batches). Under DDP only the last backward
        all-reduces (`no_sync` on the others). Returns the batch's mean loss and its logits.
        """
        self.optimizer.zero_grad(set_to_none=True)
        parts = list(zip(images.chunk(self.accumulate), targets.chunk(self.accumulate)))
        losses, all_logits = [], []
        for i, (x, y) in enumerate(parts):
            last = i == len(parts) - 1
            with nullcontext() if last or not hasattr(self.model, "no_sync") else self.model.no_sync():
                loss, logits = self._forward(x, y)
                share = y.shape[0] / targets.shape[0]
                self.scaler.scale(loss * share).backward()
            losses.append(loss.detach() * share)
            all_logits.append(logits.detach().clone())  # a replayed CUDA graph reuses its output buffer
        return torch.stack(losses).sum(), torch.cat(all_logits)

    def _prepare_for_graphs(self) -> None:
        """Static metric sums, tensor lrs and momentum buffers, and the EMA's blend tensors, before compiling.

        SGD's momentum buffers are created as zeros, the same arithmetic as PyTorch's lazy `grad.clone()`
        (dampening 0) without a second compilation once they exist. The blend mutates the EMA copy in place:
        static inputs at fixed addresses, not "mutated inputs" that make CUDA graphs skip the update.
        """
        _static(self.loss_sum), _static(self.correct)
        for group in self.optimizer.param_groups:
            group["lr"] = _static(torch.tensor(float(group["lr"]), dtype=torch.float32, device=self.device))
            if isinstance(self.optimizer, torch.optim.SGD) and group["momentum"] != 0:
                for p in group["params"]:
                    state = self.optimizer.state[p]
                    if state.get("momentum_buffer") is None:
                        state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if self.ema is not None:
            self._ema_weight = _static(torch.zeros((), device=self.device))
            self._ema_pairs = tuple([_static(t) for t in group] for group in self.ema.pairs(self.model))


class EvalForward:
    """`eval_logits` of one model, compiled for one batch shape: a short batch is padded, its padding dropped.

    The static shape is the largest batch seen (the loader's first batch is a full one), so a split's last
    partial batch replays the same graph. Padding rows are zeros; in eval mode no layer mixes rows of a batch.
    """

    def __init__(
        self,
        model: nn.Module,
        device: torch.device,
        precision: str = "fp32",
        *,
        compile: str = "default",
        backend: str | Callable = "inductor",
    ) -> None:
        self.model, self.device, self.precision = model, torch.device(device), precision
        self.cuda_graphs = _uses_cuda_graphs(compile, self.device)
        self.batch_size = 0
        self._logits = _compiler(compile, backend)(self._eval_logits)

    def _eval_logits(self, images: torch.Tensor) -> torch.Tensor:
        return eval_logits(self.model, images, self.device, self.precision)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        n = images.shape[0]
        self.batch_size = max(self.batch_size, n)
        if n < self.batch_size:
            pad = images.new_zeros((self.batch_size - n, *images.shape[1:]))
            images = like_format(torch.cat([images, pad]), images)
        if self.cuda_graphs:
            torch.compiler.cudagraph_mark_step_begin()
        return self._logits(images)[:n]


# ==================================================================== one epoch of training
def train_one_epoch(
    train_step: TrainStep,
    loader,
    schedule: Schedule,
    cfg: TrainConfig,
    state: dict,
    *,
    total_steps: int,
    epoch: int,
    progress: EpochProgress,
    on_diverged: Callable[[str], str] = lambda kept: kept,
) -> dict:
    """One pass over the training batches: set the lr, run the step; the host reads only at a refresh."""
    train_step.model.train()
    train_step.epoch_start()
    seen = 0
    lr = float(train_step.optimizer.param_groups[0]["lr"])
    start = time.perf_counter()
    progress.epoch_start(epoch)
    for i, (images, targets) in enumerate(loader):
        if state["step"] >= total_steps:
            break
        lr = schedule.apply(train_step.optimizer, state["step"])
        train_step(images, targets)  # forward, backward, clip, optimizer step, EMA: TrainStep.__call__ above
        state["step"] += 1
        seen += targets.shape[0]
        if (i + 1) % cfg.log_every == 0:  # a progress refresh: the one place the host reads the device
            check_finite(train_step.loss_sum, epoch, state["step"], on_diverged)
            rate = seen / (time.perf_counter() - start)
            progress.refresh(i + 1, train_step.loss_sum.item() / seen, train_step.correct.item() / seen, rate, lr)
    distributed.all_reduce_(train_step.loss_sum, train_step.correct)  # the epoch's sums over all ranks
    seen *= distributed.world()
    check_finite(train_step.loss_sum, epoch, state["step"], on_diverged)
    seconds = time.perf_counter() - start
    return {
        "loss": train_step.loss_sum.item() / max(seen, 1),
        "acc": train_step.correct.item() / max(seen, 1),
        "lr": lr,
        "images_per_s": seen / seconds if seconds > 0 else None,
        "seconds": seconds,
    }


def check_finite(loss_sum: torch.Tensor, epoch: int, step: int, kept: Callable[[str], str] = lambda s: s) -> None:
    """A NaN or infinite loss stops training; `kept` says which checkpoint is left and how to go on."""
    if is_finite(loss_sum):
        return
    value = "NaN" if torch.isnan(loss_sum).item() else "infinite"
    raise TrainingDiverged(kept(f"loss became {value} in epoch {epoch + 1} (by step {step}); training stopped, "))


# ==================================================================== evaluation
@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader,
    num_classes: int,
    device: torch.device | str,
    precision: str = "fp32",
    *,
    confusion: bool = True,
    forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
    tta: str = "none",
) -> dict:
    """Loss (plain cross-entropy), top-1, top-5, and optionally the confusion matrix and per-class accuracy.

    `forward` computes the model's float logits of a batch (a compiled EvalForward; default: eagerly);
    `tta` averages them over test-time views (tta.py).
    """
    device = torch.device(device)
    if forward is None:
        forward = lambda images: eval_logits(model, images, device, precision)  # noqa: E731
    was_training = model.training
    model.eval()
    meter = ClassificationMeter(num_classes, device, confusion=confusion)
    for images, targets in loader:
        logits = tta_logits(forward, images, tta)
        meter.update(logits, targets, F.cross_entropy(logits, targets))
    model.train(was_training)
    distributed.reduce_meter(meter)  # each rank evaluated its shard of the split
    return meter.compute()


# ==================================================================== the epochs
@dataclass
class Parts:
    """What one fit trains with: built once from the config, restored from last.pt when resuming."""

    model: nn.Module
    trained: nn.Module  # what the step calls: the model, or its DDP wrapper under several processes
    eval_model: nn.Module  # the EMA copy when there is one: what validation, best.pt and the test use
    optimizer: torch.optim.Optimizer
    schedule: Schedule
    scaler: torch.amp.GradScaler
    ema: ModelEMA | None
    epochs: int
    steps_per_epoch: int
    total_steps: int


def total_steps(cfg: TrainConfig, steps_per_epoch: int) -> int:
    """Iterations the run trains for: its epochs, or fewer when max_steps says so."""
    return min(cfg.epochs * steps_per_epoch, cfg.max_steps or math.inf)


def build_parts(model: nn.Module, loaders, cfg: TrainConfig, device: torch.device, speed: SpeedSetting) -> Parts:
    """Move the model to the device in its memory format; build the optimizer, schedule, EMA and step."""
    model.to(device)
    if speed.channels_last:
        model.to(memory_format=torch.channels_last)
    trained = distributed.wrap(model, device, cfg.sync_bn)  # DDP (and SyncBatchNorm) with several processes
    optimizer = build_optimizer(model, cfg, graphs=cfg.compile != "none" and speed.precision != "fp16")
    remember_initial_lr(optimizer)
    steps_per_epoch = len(loaders.train)
    steps = total_steps(cfg, steps_per_epoch)
    cfg.run_warnings(loaders.train.num_samples, steps_per_epoch)  # settings that defeat the schedule or each other
    scaler = torch.amp.GradScaler(device.type, enabled=speed.precision == "fp16")
    ema = ModelEMA(model, cfg.ema_decay) if cfg.ema else None
    schedule = build_schedule(cfg, steps_per_epoch, steps)
    return Parts(
        model=model, trained=trained, eval_model=ema.module if ema is not None else model, optimizer=optimizer, schedule=schedule,
        scaler=scaler, ema=ema,
        epochs=math.ceil(steps / steps_per_epoch), steps_per_epoch=steps_per_epoch, total_steps=steps,
    )  # fmt: skip


def restore_or_start(parts: Parts, resume_payload: dict | None, run: RunDir) -> dict:
    """The loop's state, fresh or restored with the weights, optimizer, scaler, EMA and RNGs from last.pt."""
    state: dict[str, Any] = {
        "epoch": 0, "step": 0, "best": None, "bad_epochs": 0, "stopped_early": False, "history": [], "wall_time": 0.0,
        "cpu_time": 0.0,  # the process's CPU seconds (all threads): on a CPU, what the run cost beside its wall time
    }  # fmt: skip
    if resume_payload is not None:
        parts.model.load_state_dict(resume_payload["model"])
        parts.optimizer.load_state_dict(resume_payload["optimizer"])
        if resume_payload.get("scaler"):
            parts.scaler.load_state_dict(resume_payload["scaler"])
        if parts.ema is not None:
            parts.ema.load_state_dict(resume_payload["ema"])
        state.update({k: resume_payload.get(k, state[k]) for k in state})  # checkpoints before cpu_time lack it
        if distributed.is_main():
            run.rewrite_metrics(state["history"])  # drop rows an interrupted epoch may have left after the checkpoint
        set_rng_state(resume_payload["rng"])  # last: nothing above may draw from the restored generators
    return state


def fit(
    model: nn.Module,
    loaders,
    cfg: TrainConfig,
    run: RunDir,
    device: torch.device,
    *,
    resume_payload: dict | None = None,
    quiet: bool = False,
) -> dict:
    """Train for the config's epochs (or max_steps), validating and checkpointing every epoch; test once."""
    speed = choose_speed(device, cfg.precision, cfg.channels_last)  # "auto": what this device trains fastest in
    parts = build_parts(model, loaders, cfg, device, speed)
    state = restore_or_start(parts, resume_payload, run)
    step = TrainStep(  # on the restored optimizer: a compiled step holds its tensors' addresses
        parts.trained, parts.optimizer, device, scaler=parts.scaler, ema=parts.ema, precision=speed.precision,
        label_smoothing=cfg.label_smoothing, aux_weight=cfg.aux_weight, grad_clip=cfg.grad_clip, compile=cfg.compile,
        accumulate=cfg.accumulate,
    )  # fmt: skip
    forward = (
        EvalForward(parts.eval_model, device, speed.precision, compile=cfg.compile) if cfg.compile != "none" else None
    )
    checkpoints = Checkpoints(
        run, cfg, run_meta(cfg, loaders), resumed_epoch=state["epoch"] if resume_payload else None
    )
    progress = EpochProgress(quiet=quiet, epochs=parts.epochs, steps_per_epoch=parts.steps_per_epoch)
    clock = Clock(state)
    for epoch in range(state["epoch"], parts.epochs):
        if state["stopped_early"]:
            break
        epoch_start = time.perf_counter()
        loaders.train.set_epoch(epoch)
        train = train_one_epoch(
            step, loaders.train, parts.schedule, cfg, state, total_steps=parts.total_steps, epoch=epoch,
            progress=progress, on_diverged=checkpoints.diverged_message(speed.precision),
        )  # fmt: skip
        val = None
        if loaders.val is not None:
            val = evaluate(parts.eval_model, loaders.val, len(loaders.classes), device, speed.precision,
                           confusion=False, forward=forward)  # fmt: skip
        row = epoch_row(epoch, state, train, val, time.perf_counter() - epoch_start)
        improved = track_best(state, row, cfg.patience)
        state["epoch"] = epoch + 1
        state["history"].append(row)
        clock.tick()
        last = epoch + 1 == parts.epochs or state["stopped_early"]
        checkpoints.epoch_end(
            epoch, last_payload(parts, cfg, state, checkpoints.meta), parts.eval_model, improved, last
        )
        log_epoch(run, cfg, row, state, progress, improved and val is not None, resume_payload)
    test, test_tta = test_once(parts.eval_model, parts.ema, forward, loaders, cfg, run, device, speed.precision)
    clock.tick()
    results = results_record(cfg, run, loaders, state, test, test_tta, device, speed, ema=parts.ema is not None)
    if distributed.is_main():
        run.write_results(results)
        if cfg.plots:
            run.plot_confusion(test["confusion"], list(loaders.classes))
        if cfg.tensorboard:
            run.tensorboard_final(results)
    distributed.barrier()  # leave the group together: gloo can abort a rank that tears down while another works
    return results


def run_meta(cfg: TrainConfig, loaders) -> dict:
    """What rebuilds the model and its preprocessing: in every checkpoint and in model.safetensors."""
    meta = {
        "model_name": cfg.model,
        "model_options": dict(cfg.model_options),
        "classes": list(loaders.classes),
        "mean": [float(v) for v in loaders.mean],
        "std": [float(v) for v in loaders.std],
        "in_chans": int(loaders.in_chans),
        "image_size": list(image_hw(loaders)),
    }
    if getattr(loaders, "mean_image", None) is not None:
        meta["mean_image"] = flat_mean_image(loaders.mean_image)
    return meta


def image_hw(loaders) -> tuple[int, int]:
    """(height, width) of the loaders' images."""
    height = int(loaders.image_size)
    return height, int(getattr(loaders, "image_width", None) or height)


class Clock:
    """Wall and CPU seconds of training, added into the loop's state (a resumed run goes on counting)."""

    def __init__(self, state: dict) -> None:
        self.state = state
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def tick(self) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.state["wall_time"] += now - self.wall
        self.state["cpu_time"] += cpu - self.cpu
        self.wall, self.cpu = now, cpu


def epoch_row(epoch: int, state: dict, train: dict, val: dict | None, seconds: float) -> dict:
    """One line of metrics.csv."""
    return {
        "epoch": epoch + 1,
        "step": state["step"],
        "lr": train["lr"],
        "train_loss": train["loss"],
        "train_acc": train["acc"],
        "val_loss": val["loss"] if val else None,
        "val_top1": val["top1"] if val else None,
        "val_top5": val["top5"] if val else None,
        "time": seconds,
        "images_per_s": train["images_per_s"],
    }


def track_best(state: dict, row: dict, patience: int | None) -> bool:
    """Whether this epoch's validation top-1 is the best yet (always, without validation); early stopping."""
    improved = row["val_top1"] is None or state["best"] is None or row["val_top1"] > state["best"]["top1"]
    if improved:
        val = {"top1": row["val_top1"], "top5": row["val_top5"], "loss": row["val_loss"]}
        state["best"] = {"epoch": row["epoch"], **(val if row["val_top1"] is not None else {})}
        state["bad_epochs"] = 0
    else:
        state["bad_epochs"] += 1
    if patience is not None and state["bad_epochs"] >= patience:
        state["stopped_early"] = True
    return improved


def last_payload(parts: Parts, cfg: TrainConfig, state: dict, meta: dict) -> dict:
    """last.pt: everything a resumed run needs to continue exactly (weights, optimizer, schedule, RNG, state)."""
    return {
        "model": parts.model.state_dict(),
        "optimizer": parts.optimizer.state_dict(),
        "scheduler": parts.schedule.state_dict(),
        "scaler": parts.scaler.state_dict(),
        "ema": parts.ema.state_dict() if parts.ema is not None else None,
        "eval_weights": "ema" if parts.ema is not None else "model",
        "rng": rng_state(),
        "config": cfg.to_dict(),
        **{k: state[k] for k in state},
        **meta,
    }


def log_epoch(
    run: RunDir,
    cfg: TrainConfig,
    row: dict,
    state: dict,
    progress: EpochProgress,
    improved: bool,
    resume_payload: dict | None,
) -> None:
    """metrics.csv, TensorBoard, the progress line and curves.png, after the checkpoint: what they say is saved."""
    main = distributed.is_main()  # rank 0 alone writes the run directory
    if main:
        run.rewrite_metrics(state["history"])  # atomic: a full disk cannot leave half a row
    if cfg.tensorboard and main:
        run.tensorboard(row, purge_epoch=resume_payload["epoch"] + 1 if resume_payload is not None else None)
    progress.epoch_done(row, improved)
    if cfg.plots and main:
        run.plot_curves(state["history"])
    if state["stopped_early"] and not progress.quiet:
        print(f"early stopping: no better val top-1 for {cfg.patience} epochs", flush=True)


class Checkpoints:
    """best.pt, model.safetensors and last.pt, written every `checkpoint_every` epochs and after the last.

    A best epoch between writes waits in memory as a copy (the live tensors move on); best is written before
    last, so a crash between the writes leaves last.pt behind, never ahead. Rank 0 alone writes.
    """

    def __init__(self, run: RunDir, cfg: TrainConfig, meta: dict, resumed_epoch: int | None) -> None:
        self.run, self.cfg, self.meta = run, cfg, meta
        self.every = cfg.checkpoint_every
        self.main = distributed.is_main()
        self.best_pending: tuple[dict, dict] | None = None
        self.last_saved_epoch = resumed_epoch

    def epoch_end(self, epoch: int, payload: dict, eval_model: nn.Module, improved: bool, last: bool) -> None:
        due = (epoch + 1) % self.every == 0 or last
        if improved and self.main:
            best = (payload, eval_model.state_dict())
            self.best_pending = best if due else _snapshot(best)
        if due and self.main:
            if self.best_pending is not None:
                save_checkpoint(self.run.best, self.best_pending[0])
                save_safetensors(self.run.safetensors, self.best_pending[1], self.meta, self.cfg.to_dict())
                self.best_pending = None
            save_checkpoint(self.run.last, payload)
        if due:
            self.last_saved_epoch = epoch + 1

    def diverged_message(self, precision: str) -> Callable[[str], str]:
        """How a NaN loss's message ends: which checkpoint is kept and what to try."""
        saved = self.last_saved_epoch
        kept = (
            f"the last good checkpoint is {self.run.last} (epoch {saved})" if saved else "no checkpoint was written yet"
        )
        retry = f"--init-from {self.run.last}" if saved else "a new run"
        tries = "a lower --lr, --grad-clip" + (" or --precision fp32" if precision != "fp32" else "")
        return lambda start: f"{start}{kept}. Try {tries}, starting from {retry} (--resume keeps the settings)"


def _snapshot(tree: Any) -> Any:
    """A copy of a nest of dicts, lists and tensors whose tensors no longer alias the live model's."""
    return tree_map(lambda x: x.detach().clone() if isinstance(x, torch.Tensor) else x, tree)


def test_once(
    model: nn.Module,
    ema: ModelEMA | None,
    forward: EvalForward | None,
    loaders,
    cfg: TrainConfig,
    run: RunDir,
    device: torch.device,
    precision: str,
) -> tuple[dict, dict | None]:
    """The test split, once, with the best-by-validation weights (the last ones without validation)."""
    if loaders.val is not None and run.best.is_file():
        best = read_checkpoint(run.best, map_location=device)
        model.load_state_dict(best["ema"]["module"] if ema is not None else best["model"])
    distributed.broadcast_module(model)  # rank 0's reading of best.pt (other nodes may not see the file)
    num_classes = len(loaders.classes)
    test = evaluate(model, loaders.test, num_classes, device, precision, forward=forward)
    test_tta = None
    if cfg.tta != "none":
        test_tta = evaluate(model, loaders.test, num_classes, device, precision, confusion=False, forward=forward,
                            tta=cfg.tta)  # fmt: skip
    return test, test_tta


def results_record(
    cfg: TrainConfig,
    run: RunDir,
    loaders,
    state: dict,
    test: dict,
    test_tta: dict | None,
    device: torch.device,
    speed: SpeedSetting,
    *,
    ema: bool,
) -> dict:
    """results.json: the test numbers, what was tested, the split, the time and the hardware."""
    rates = [r["images_per_s"] for r in state["history"] if r.get("images_per_s")]
    metrics = ("top1", "top5", "loss", "count")
    return {
        "model": cfg.model,
        "model_options": dict(cfg.model_options),
        "data": cfg.data.name,
        "run_dir": str(run.path),
        "recipe": cfg.recipe,
        "epochs": state["epoch"],
        "steps": state["step"],
        "stopped_early": state["stopped_early"],
        "val_best": state["best"] if loaders.val is not None else None,
        "tested_weights": ("best-val" if loaders.val is not None else "last") + ("-ema" if ema else ""),
        "test": {k: test[k] for k in metrics},
        "test_evaluations": ((run.read_results() or {}).get("test_evaluations") or 0) + 1,
        "split": split_record(cfg, loaders),
        "test_tta": {"mode": cfg.tta, **{k: test_tta[k] for k in metrics}} if test_tta else None,
        "lr_peak": scaled_lr(cfg),
        "classes": list(loaders.classes),
        "per_class": dict(zip(loaders.classes, test["per_class"])),
        "confusion": test["confusion"],
        "wall_time_s": state["wall_time"],
        "cpu_time_s": state["cpu_time"],
        "images_per_s": sum(rates) / len(rates) if rates else None,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "precision": speed.precision,
        "channels_last": speed.channels_last,
    }


def split_record(cfg: TrainConfig, loaders) -> dict:
    """How the validation images were drawn: their count, the seed, and a digest to check a split against."""
    indices = loaders.val_indices
    return {
        "val_size": len(indices) if indices is not None else cfg.data.resolved_val_size(),
        "val_seed": cfg.seed,
        "val_indices_sha256": indices_digest(indices) if indices is not None else None,
    }
