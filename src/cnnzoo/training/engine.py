"""The training loop, top to bottom: config → data → model → epochs (train, validate, checkpoint) → test once.

    train(config)          resolve the config, make the run directory, build loaders and model, call fit
    fit(...)               the epochs: train_one_epoch, evaluate on validation, checkpoint, early stopping;
                           then the test set, evaluated ONCE with the best-by-validation weights
    train_one_epoch(...)   one pass over the training batches; the lr is set per iteration, the step itself
                           (eager, or compiled into replayable graphs) is a step.TrainStep
    evaluate(...)          loss, top-1/top-5 and the confusion matrix of a model on a loader (optionally with
                           test-time augmentation, tta.py)

Validation is the only thing that selects: the best checkpoint and early stopping look at validation top-1;
the test set is touched once at the end and reported separately (with `full_train` there is no validation,
so the last weights are tested); results.json counts the test evaluations and records the validation split.
Metrics accumulate on the device; the host reads them at a progress refresh (every `log_every` iterations)
and at the end of an epoch, which is also when a non-finite loss is noticed. The run directory is locked for
the run's life; Ctrl-C, SIGTERM and a full disk stop the run with the last checkpoint intact, saying how to
resume.
"""

from __future__ import annotations

import math
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils._pytree import tree_map

from cnnzoo.device import choose_speed, resolve_device
from cnnzoo.training import distributed
from cnnzoo.errors import CnnzooError, Interrupted, unknown_choice
from cnnzoo.io import write_error_message
from cnnzoo.training.checkpoint import (
    fit_weights,
    flat_mean_image,
    read_checkpoint,
    rng_state,
    save_checkpoint,
    save_safetensors,
    set_rng_state,
)
from cnnzoo.training.config import TrainConfig, coerce, normalise_keys, resolve_config
from cnnzoo.training.metrics import ClassificationMeter, is_finite
from cnnzoo.training.optim import ModelEMA, build_optimizer, build_schedule, remember_initial_lr, scaled_lr
from cnnzoo.training.runlog import RunDir, default_run_dir
from cnnzoo.training.step import EvalForward, TrainStep, autocast, compute_loss, eval_logits  # noqa: F401
from cnnzoo.training.tta import tta_logits

# Fields a resumed run may change: where things are read from and how progress is shown, nothing that
# changes the arithmetic.
RESUME_OVERRIDABLE = (
    "data_dir", "cache_dir", "download", "workers", "log_every", "tensorboard", "plots", "checkpoint_every",
)
# Fields a resumed run ignores when given: the run directory is the resumed one, and where new runs would go
# or which recipe file was named says nothing about this run's arithmetic.
RESUME_IGNORED = ("run_dir", "runs_root", "recipe")


class TrainingStopped(RuntimeError):
    """Training cannot go on, through no fault of the input; the CLI prints the message and exits with status 1."""


class TrainingDiverged(TrainingStopped):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class RunWriteFailed(TrainingStopped):
    """A file of the run could not be written (a full disk); the previous checkpoint is kept."""


# ==================================================================== entry point
def train(
    config: TrainConfig | dict | str | Path | None = None,
    *,
    resume: str | Path | None = None,
    quiet: bool = False,
) -> dict:
    """Train a model as the config says and return the results (also written to RUN_DIR/results.json).

    `config` is a TrainConfig, a dict of its fields, or a YAML recipe path. `resume=RUN_DIR` (or
    RUN_DIR/checkpoints/last.pt) continues that run from last.pt with its saved config (`config` may then only
    change RESUME_OVERRIDABLE); a finished run is not trained or tested again: its recorded results are returned.
    """
    payload = None
    if resume is not None:
        run = RunDir(resume_run_dir(resume))
        if not run.last.is_file():
            raise CnnzooError(f"cannot resume {run.path}: no checkpoints/last.pt there")
        payload = read_checkpoint(run.last)
        cfg = _resumed_config(payload["config"], config, run.path)
        finished = finished_results(run.path, payload["epoch"])
        if finished is not None:
            return finished
    else:
        if config is None:
            raise CnnzooError("train needs a config (a TrainConfig, a dict or a YAML recipe path)")
        cfg = resolve_config(config)
        _check_names(cfg)
        run = RunDir(cfg.run_dir or default_run_dir(cfg.runs_root, cfg.model, cfg.data))
        cfg.run_dir = str(run.path)
    existed = run.path.exists()
    quiet = quiet or not distributed.is_main()  # rank 0 alone prints and writes the run directory
    if distributed.is_main():
        run.create(resume=resume is not None)  # an unwritable or busy directory fails here, before any work

    deterministic_before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    cudnn_before = (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
    try:
        device = distributed.setup(resolve_device(cfg.device))
        speed = choose_speed(device, cfg.precision, cfg.channels_last)  # config.yaml keeps "auto" as asked
        if not quiet:
            print(f"recipe: {cfg.recipe or 'none (defaults < flags)'}; {device}: {speed.describe()}", flush=True)
        seed_everything(cfg.seed, cfg.deterministic, device)
        try:
            with distributed.main_first():  # rank 0 downloads and caches, the others read its cache
                loaders = make_loaders(cfg, device)
            model = make_model(cfg, loaders)
            if cfg.init_from and payload is None:
                cfg.init_from = init_weights(model, cfg.init_from, cfg, loaders)
        except CnnzooError:
            if not existed and distributed.is_main():
                _remove_empty_run_dir(run)
            raise
        if payload is None and distributed.is_main():
            run.write_config(cfg.to_dict())
            run.write_env(device, speed)
        return fit(model, loaders, cfg, run, device, resume_payload=payload, quiet=quiet)
    except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM turned into one by the CLI: name the run to resume
        raise Interrupted(getattr(err, "signal_number", signal.SIGINT), str(run.path)) from None
    except OSError as err:
        if not (err.filename and Path(err.filename).resolve().is_relative_to(run.path.resolve())):
            raise
        kept = (
            f"{run.last} is intact; free space and resume with: cnnzoo train --resume {run.path}"
            if run.last.is_file()
            else f"no checkpoint was written yet; free space and start again (--run-dir {run.path})"
        )
        raise RunWriteFailed(f"{write_error_message(err)}; {kept}") from None
    finally:
        _set_deterministic_algorithms(*deterministic_before)
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = cudnn_before
        run.close()


def resume_run_dir(path: str | Path) -> Path:
    """The run directory `--resume PATH` continues: PATH itself, or the run whose checkpoints/last.pt PATH is.

    Only last.pt holds where training stopped (optimiser, schedule, RNG states); best.pt is an earlier epoch's.
    """
    path = Path(path)
    if not path.is_file():
        return path
    if path.name == "last.pt" and path.parent.name == "checkpoints":
        return path.parent.parent
    hint = "; to start a new run from its weights, pass --init-from" if path.suffix == ".pt" else ""
    raise CnnzooError(f"--resume takes a run directory or its checkpoints/last.pt, not {path}{hint}")


def _check_names(cfg: TrainConfig) -> None:
    """Unknown model or dataset names fail before a run directory is made, naming the closest valid ones."""
    from cnnzoo.data.datasets import DATASETS
    from cnnzoo.models import check_model_options

    check_model_options(cfg.model, cfg.model_options)
    if cfg.data not in DATASETS:
        raise unknown_choice("dataset", cfg.data, DATASETS)


def _resumed_config(saved: dict, given: TrainConfig | dict | str | Path | None, run_path: Path) -> TrainConfig:
    """The checkpoint's config; a given config may only change where data lives and how progress shows."""
    origin = f"the config saved in {run_path}"
    values = TrainConfig.from_dict(saved, origin=origin).to_dict()  # older runs' values in today's form
    if given is not None:
        if isinstance(given, dict):
            changes = {key: coerce(key, value) for key, value in normalise_keys(given).items()}
        else:
            changes = resolve_config(given).to_dict()
        for key, value in changes.items():
            if values.get(key) != value and key not in RESUME_OVERRIDABLE and key not in RESUME_IGNORED:
                raise CnnzooError(
                    f"--resume continues a run with its saved config; {key} cannot change "
                    f"(saved {values.get(key)!r}, given {value!r}). Start a new run instead"
                )
            if key in RESUME_OVERRIDABLE:
                values[key] = value
    values["run_dir"] = str(run_path)
    return TrainConfig.from_dict(values, origin=origin)


def finished_results(run_dir: str | Path, last_epoch: int | None = None) -> dict | None:
    """The recorded results of a finished run, or None when it has more to do.

    A run is finished when results.json was written for the epoch its last.pt holds (`last_epoch`, read from
    last.pt when not given): results.json is written only after the last checkpoint, never before.
    """
    run = RunDir(run_dir)
    results = run.read_results()
    if results is None or "test" not in results or not run.last.is_file():
        return None
    if last_epoch is None:
        last_epoch = read_checkpoint(run.last)["epoch"]
    return results if results.get("epochs") == last_epoch else None


def init_weights(model: nn.Module, source: str, cfg: TrainConfig, loaders) -> str:
    """--init-from: start a new run from trained weights (its own optimiser, schedule and epochs).

    The source must be the same model, options, classes and channels; returns the file the weights came from,
    which config.yaml records.
    """
    from cnnzoo.predict import load

    loaded = load(source)
    theirs = (loaded.model_name, loaded.model_options, list(loaded.classes), loaded.in_chans)
    ours = (cfg.model, dict(cfg.model_options), list(loaders.classes), int(loaders.in_chans))
    if theirs != ours:
        raise CnnzooError(
            f"--init-from {source} holds {_describe(*theirs)}, but this run builds {_describe(*ours)}; "
            "give the same --model, -o options and --data, or drop --init-from"
        )
    fit_weights(model, loaded.model.state_dict(), loaded.path, f"model {cfg.model!r}")
    return str(Path(loaded.path).resolve())


def _describe(model: str, options: dict, classes: list[str], in_chans: int) -> str:
    """A model as --init-from compares it: name, options, classes (count and first name), channels."""
    first = f" from {classes[0]!r}" if classes else ""
    return f"{model!r} with options {options}, {len(classes)} classes{first}, {in_chans} channels"


def _remove_empty_run_dir(run: RunDir) -> None:
    run.lock_file.unlink(missing_ok=True)  # ours, held: nobody else can be using this new directory
    for path in (run.checkpoints, run.path):
        try:
            path.rmdir()
        except OSError:
            pass


# ==================================================================== setup
def seed_everything(seed: int, deterministic: bool, device: torch.device | None = None) -> None:
    """Seed Python, NumPy and torch; deterministic mode also forbids nondeterministic kernels.

    With `deterministic`, a run and its resumed continuation compute bitwise the same weights on the CPU (same
    thread count). On CUDA a few kernels have no deterministic version (e.g. the backward of adaptive average
    pooling): they warn instead of failing, so CUDA runs are as reproducible as PyTorch allows, not bitwise.
    Without `deterministic`, cuDNN benchmarks and picks the fastest, possibly nondeterministic, kernels.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS reproducibility (CUDA >= 10.2)
    _set_deterministic_algorithms(deterministic, warn_only=device is not None and device.type != "cpu")
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic


def _set_deterministic_algorithms(on: bool, warn_only: bool = False) -> None:
    """Only when it changes: the call imports torch's compiler stack, seconds on a cold process."""
    now = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    if now != (on, warn_only and on):
        torch.use_deterministic_algorithms(on, warn_only=warn_only and on)


def make_loaders(cfg: TrainConfig, device: torch.device, **changes: Any):
    """The data package's loaders for this config; `changes` override DataSpec fields (e.g. test_only)."""
    from cnnzoo.data import Augment, DataSpec, build_loaders

    fields = dict(
        name=cfg.data,
        data_dir=cfg.data_dir,
        batch_size=cfg.batch_size,
        eval_batch_size=cfg.eval_batch_size or 2 * cfg.batch_size,
        val_size=cfg.resolved_val_size(),
        full_train=cfg.full_train,
        augment=Augment(
            crop_padding=cfg.crop_padding, flip=cfg.flip, cutout=cfg.cutout, auto_augment=cfg.auto_augment,
            mixup=cfg.mixup, cutmix=cfg.cutmix, mix_prob=cfg.mix_prob, cutmix_prob=cfg.cutmix_prob,
        ),
        seed=cfg.seed,
        download=cfg.download,
        cache_dir=cfg.cache_dir,
        skip_corrupt=cfg.skip_corrupt,
        loader=cfg.loader,
        workers=cfg.workers,
        channels_last=choose_speed(device, cfg.precision, cfg.channels_last).channels_last,
        train_limit=cfg.train_limit,
        eval_limit=cfg.eval_limit,
        image_size=cfg.image_size,
        rank=distributed.rank(),
        world=distributed.world(),
        normalize=cfg.normalize,
    )
    return build_loaders(DataSpec(**{**fields, **changes}), device)


def make_model(cfg: TrainConfig, loaders) -> nn.Module:
    """The registered model sized for the data: its classes and channels; too-small images are an error."""
    from cnnzoo.models import create_model, get_model_config

    options = dict(cfg.model_options)
    need = get_model_config(cfg.model, len(loaders.classes), loaders.in_chans, **options).min_input_size
    height, width = _image_hw(loaders)
    if height < need[1] or width < need[2]:
        hint = " (try -o small_input=true)" if "small_input" not in options else ""
        raise CnnzooError(
            f"model {cfg.model!r} needs inputs of at least {need[1]}x{need[2]}, {cfg.data} has {height}x{width}{hint}"
        )
    return create_model(cfg.model, num_classes=len(loaders.classes), in_chans=loaders.in_chans, **options)


def _image_hw(loaders) -> tuple[int, int]:
    height = int(loaders.image_size)
    return height, int(getattr(loaders, "image_width", None) or height)


# ==================================================================== the epochs
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
    speed = choose_speed(device, cfg.precision, cfg.channels_last)  # "auto" → what this device trains fastest in
    precision = speed.precision
    model.to(device)
    if speed.channels_last:
        model.to(memory_format=torch.channels_last)
    trained = distributed.wrap(model, device, cfg.sync_bn)  # DDP (and SyncBatchNorm) with several processes
    optimizer = build_optimizer(model, cfg, graphs=cfg.compile != "none" and precision != "fp16")
    remember_initial_lr(optimizer)
    steps_per_epoch = len(loaders.train)
    total_steps = min(cfg.epochs * steps_per_epoch, cfg.max_steps or math.inf)
    cfg.schedule_warnings(loaders.train.num_samples, steps_per_epoch)  # a split or warm-up that defeats the schedule
    epochs = math.ceil(total_steps / steps_per_epoch)
    schedule = build_schedule(cfg, steps_per_epoch, total_steps)
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    ema = ModelEMA(model, cfg.ema_decay) if cfg.ema else None
    num_classes = len(loaders.classes)
    meta = {
        "model_name": cfg.model,
        "model_options": dict(cfg.model_options),
        "classes": list(loaders.classes),
        "mean": [float(v) for v in loaders.mean],
        "std": [float(v) for v in loaders.std],
        "in_chans": int(loaders.in_chans),
        "image_size": list(_image_hw(loaders)),
    }
    if getattr(loaders, "mean_image", None) is not None:
        meta["mean_image"] = flat_mean_image(loaders.mean_image)
    state: dict[str, Any] = {
        "epoch": 0, "step": 0, "best": None, "bad_epochs": 0, "stopped_early": False, "history": [], "wall_time": 0.0,
        "cpu_time": 0.0,  # the process's CPU seconds (all threads): on a CPU, what the run cost beside its wall time
    }  # fmt: skip

    if resume_payload is not None:
        model.load_state_dict(resume_payload["model"])
        optimizer.load_state_dict(resume_payload["optimizer"])
        if resume_payload.get("scaler"):
            scaler.load_state_dict(resume_payload["scaler"])
        if ema is not None:
            ema.load_state_dict(resume_payload["ema"])
        state.update({k: resume_payload.get(k, state[k]) for k in state})  # checkpoints before cpu_time lack it
        if distributed.is_main():
            run.rewrite_metrics(state["history"])  # drop rows an interrupted epoch may have left after the checkpoint
        set_rng_state(resume_payload["rng"])  # last: nothing above may draw from the restored generators

    train_step = TrainStep(
        trained, optimizer, device, scaler=scaler, ema=ema, precision=precision,
        label_smoothing=cfg.label_smoothing, aux_weight=cfg.aux_weight, grad_clip=cfg.grad_clip, compile=cfg.compile,
        accumulate=cfg.accumulate,
    )  # fmt: skip
    eval_model = ema.module if ema is not None else model
    forward = EvalForward(eval_model, device, precision, compile=cfg.compile) if cfg.compile != "none" else None
    progress = Progress(quiet=quiet, epochs=epochs, steps_per_epoch=steps_per_epoch)
    segment_start, cpu_start = time.perf_counter(), time.process_time()
    last_saved_epoch = state["epoch"] if resume_payload is not None else None
    best_pending = None  # (checkpoint, eval weights) of a best epoch not yet written (checkpoint_every > 1)
    for epoch in range(state["epoch"], epochs):
        if state["stopped_early"]:
            break
        epoch_start = time.perf_counter()
        loaders.train.set_epoch(epoch)
        train_stats = train_one_epoch(
            train_step, loaders.train, schedule, cfg, state,
            total_steps=total_steps, epoch=epoch, progress=progress, run=run, last_saved_epoch=last_saved_epoch,
        )  # fmt: skip
        val = None
        if loaders.val is not None:
            val = evaluate(
                eval_model, loaders.val, num_classes, device, precision, confusion=False, forward=forward
            )
        seconds = time.perf_counter() - epoch_start
        row = {
            "epoch": epoch + 1,
            "step": state["step"],
            "lr": train_stats["lr"],
            "train_loss": train_stats["loss"],
            "train_acc": train_stats["acc"],
            "val_loss": val["loss"] if val else None,
            "val_top1": val["top1"] if val else None,
            "val_top5": val["top5"] if val else None,
            "time": seconds,
            "images_per_s": train_stats["images_per_s"],
        }
        improved = val is None or state["best"] is None or val["top1"] > state["best"]["top1"]
        if improved:
            state["best"] = {"epoch": epoch + 1, **({k: val[k] for k in ("top1", "top5", "loss")} if val else {})}
            state["bad_epochs"] = 0
        else:
            state["bad_epochs"] += 1
        if cfg.patience is not None and state["bad_epochs"] >= cfg.patience:
            state["stopped_early"] = True
        state["epoch"] = epoch + 1
        state["history"].append(row)
        now = time.perf_counter()
        state["wall_time"] += now - segment_start
        state["cpu_time"] += time.process_time() - cpu_start
        segment_start, cpu_start = now, time.process_time()

        payload = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": schedule.state_dict(),
            "scaler": scaler.state_dict(),
            "ema": ema.state_dict() if ema is not None else None,
            "eval_weights": "ema" if ema is not None else "model",
            "rng": rng_state(),
            "config": cfg.to_dict(),
            **{k: state[k] for k in state},
            **meta,
        }
        main = distributed.is_main()  # rank 0 alone writes the run directory
        due = (epoch + 1) % cfg.checkpoint_every == 0 or epoch + 1 == epochs or state["stopped_early"]
        if improved and main:
            # kept until the next write: between writes the live tensors move on, so a copy, not a reference
            best_pending = (payload, eval_model.state_dict()) if due else _snapshot((payload, eval_model.state_dict()))
        if due and main:
            if best_pending is not None:  # best first: a crash between the writes leaves last.pt behind, not ahead
                save_checkpoint(run.best, best_pending[0])
                save_safetensors(run.safetensors, best_pending[1], meta, cfg.to_dict())
                best_pending = None
            save_checkpoint(run.last, payload)
        if due:
            last_saved_epoch = epoch + 1
        if main:
            run.rewrite_metrics(state["history"])  # atomic: a full disk cannot leave half a row
        if cfg.tensorboard and main:
            run.tensorboard(row, purge_epoch=resume_payload["epoch"] + 1 if resume_payload is not None else None)
        progress.epoch_done(row, improved and val is not None)  # after the checkpoint: what it says is saved
        if cfg.plots and main:
            run.plot_curves(state["history"])
        if state["stopped_early"] and not quiet:
            print(f"early stopping: no better val top-1 for {cfg.patience} epochs", flush=True)

    # ---- the test set, once, with the best-by-validation weights (the last ones without validation)
    if loaders.val is not None and run.best.is_file():
        best = read_checkpoint(run.best, map_location=device)
        eval_model.load_state_dict(best["ema"]["module"] if ema is not None else best["model"])
    distributed.broadcast_module(eval_model)  # rank 0's reading of best.pt (other nodes may not see the file)
    test = evaluate(eval_model, loaders.test, num_classes, device, precision, confusion=True, forward=forward)
    test_tta = None
    if cfg.tta != "none":
        test_tta = evaluate(
            eval_model, loaders.test, num_classes, device, precision, confusion=False, forward=forward, tta=cfg.tta
        )
    state["wall_time"] += time.perf_counter() - segment_start
    state["cpu_time"] += time.process_time() - cpu_start
    rates = [r["images_per_s"] for r in state["history"] if r.get("images_per_s")]
    results = {
        "model": cfg.model,
        "model_options": dict(cfg.model_options),
        "data": cfg.data,
        "run_dir": str(run.path),
        "recipe": cfg.recipe,
        "epochs": state["epoch"],
        "steps": state["step"],
        "stopped_early": state["stopped_early"],
        "val_best": state["best"] if loaders.val is not None else None,
        "tested_weights": ("best-val" if loaders.val is not None else "last") + ("-ema" if ema is not None else ""),
        "test": {k: test[k] for k in ("top1", "top5", "loss", "count")},
        "test_evaluations": ((run.read_results() or {}).get("test_evaluations") or 0) + 1,
        "split": split_record(cfg, loaders),
        "test_tta": {"mode": cfg.tta, **{k: test_tta[k] for k in ("top1", "top5", "loss", "count")}}
        if test_tta
        else None,
        "lr_peak": scaled_lr(cfg),
        "classes": list(loaders.classes),
        "per_class": dict(zip(loaders.classes, test["per_class"])),
        "confusion": test["confusion"],
        "wall_time_s": state["wall_time"],
        "cpu_time_s": state["cpu_time"],
        "images_per_s": sum(rates) / len(rates) if rates else None,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "precision": precision,
        "channels_last": speed.channels_last,
    }
    if distributed.is_main():
        run.write_results(results)
        if cfg.plots:
            run.plot_confusion(test["confusion"], list(loaders.classes))
        if cfg.tensorboard:
            run.tensorboard_final(results)
    distributed.barrier()  # leave the group together: gloo can abort a rank that tears down while another works
    return results


# ==================================================================== one epoch of training
def train_one_epoch(
    train_step: TrainStep,
    loader,
    schedule,
    cfg: TrainConfig,
    state: dict,
    *,
    total_steps: int,
    epoch: int,
    progress: Progress,
    run: RunDir | None = None,
    last_saved_epoch: int | None = None,
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
        train_step(images, targets)
        state["step"] += 1
        seen += targets.shape[0]
        if (i + 1) % cfg.log_every == 0:  # a progress refresh: the one place the host reads the device
            _check_finite(train_step.loss_sum, epoch, state["step"], run, last_saved_epoch)
            rate = seen / (time.perf_counter() - start)
            progress.refresh(i + 1, train_step.loss_sum.item() / seen, train_step.correct.item() / seen, rate, lr)
    distributed.all_reduce_(train_step.loss_sum, train_step.correct)  # the epoch's sums over all ranks
    seen *= distributed.world()
    _check_finite(train_step.loss_sum, epoch, state["step"], run, last_saved_epoch)
    seconds = time.perf_counter() - start
    return {
        "loss": train_step.loss_sum.item() / max(seen, 1),
        "acc": train_step.correct.item() / max(seen, 1),
        "lr": lr,
        "images_per_s": seen / seconds if seconds > 0 else None,
        "seconds": seconds,
    }


def _snapshot(tree: Any) -> Any:
    """A copy of a nest of dicts, lists and tensors whose tensors no longer alias the live model's."""
    return tree_map(lambda x: x.detach().clone() if isinstance(x, torch.Tensor) else x, tree)


def _check_finite(
    loss_sum: torch.Tensor, epoch: int, step: int, run: RunDir | None, last_saved_epoch: int | None
) -> None:
    if is_finite(loss_sum):
        return
    value = "NaN" if torch.isnan(loss_sum).item() else "infinite"
    if run is not None and last_saved_epoch:
        kept = f"the last good checkpoint is {run.last} (epoch {last_saved_epoch})"
    else:
        kept = "no checkpoint was written yet"
    retry = "--init-from " + str(run.last) if run is not None and last_saved_epoch else "a new run"
    raise TrainingDiverged(
        f"loss became {value} in epoch {epoch + 1} (by step {step}); training stopped, {kept}. "
        f"Try a lower --lr, --grad-clip or --precision fp32, starting from {retry} (--resume keeps the settings)"
    )


def split_record(cfg: TrainConfig, loaders) -> dict:
    """How the validation images were drawn: their count, the seed, and a digest to check a split against."""
    from cnnzoo.data.datasets import indices_digest

    indices = loaders.val_indices
    return {
        "val_size": len(indices) if indices is not None else cfg.resolved_val_size(),
        "val_seed": cfg.seed,
        "val_indices_sha256": indices_digest(indices) if indices is not None else None,
    }


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

    `forward` computes the model's float logits of a batch (a compiled step.EvalForward; default: eagerly);
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


# ==================================================================== progress
class Progress:
    """A tqdm bar per epoch on a terminal (stderr); otherwise one plain line per epoch on stdout."""

    def __init__(self, *, quiet: bool, epochs: int, steps_per_epoch: int) -> None:
        self.quiet = quiet
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.live = not quiet and sys.stderr.isatty()
        self.bar = None
        self.done = 0

    def epoch_start(self, epoch: int) -> None:
        if self.live:
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.steps_per_epoch,
                desc=f"epoch {epoch + 1}/{self.epochs}",
                unit="it",
                leave=False,
                file=sys.stderr,
                dynamic_ncols=True,
            )
            self.done = 0

    def refresh(self, step_in_epoch: int, loss: float, acc: float, images_per_s: float, lr: float) -> None:
        if self.bar is not None:
            self.bar.update(step_in_epoch - self.done)
            self.done = step_in_epoch
            self.bar.set_postfix(
                loss=f"{loss:.4f}", acc=f"{100 * acc:.2f}%", img_s=f"{images_per_s:,.0f}", lr=f"{lr:.4g}"
            )

    def epoch_done(self, row: dict, improved: bool) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.quiet:
            return
        line = (
            f"epoch {row['epoch']}/{self.epochs}  step {row['step']}  lr {row['lr']:.4g}  "
            f"train loss {row['train_loss']:.4f} acc {100 * row['train_acc']:.2f}%"
        )
        if row.get("val_top1") is not None:
            line += (
                f"  val loss {row['val_loss']:.4f} top1 {100 * row['val_top1']:.2f}% top5 {100 * row['val_top5']:.2f}%"
            )
            line += " *" if improved else ""
        rate = row.get("images_per_s")
        line += f"  {row['time']:.1f}s" + (f"  {rate:,.0f} img/s" if rate else "")
        print(line, flush=True)
