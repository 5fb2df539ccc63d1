"""`train(config)`: a config becomes a run directory with checkpoints, metrics and results.

    train(config)    resolve the config, make and lock the run directory, build the loaders and the model,
                     then `loop.fit`; with `resume=RUN` continue that run from last.pt (rules: resume.py)

The run directory is locked for the run's life; Ctrl-C, SIGTERM and a full disk stop the run with the last
checkpoint intact, saying how to resume. The loop itself (the step, the epochs, the test) is loop.py.
"""

from __future__ import annotations

import functools
import os
import random
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from cnnzoo.data import DATASETS, build_loaders
from cnnzoo.device import choose_speed, resolve_device
from cnnzoo.errors import CnnzooError, Interrupted, unknown_choice
from cnnzoo.io import write_error_message
from cnnzoo.models import check_model_options, create_model, get_model_config
from cnnzoo.training import distributed
from cnnzoo.training.config import TrainConfig, resolve_config
from cnnzoo.training.finetune import freeze_features, transfer_weights
from cnnzoo.training.loop import TrainingStopped, fit, image_hw
from cnnzoo.training.resume import finished_results, read_last, resume_run_dir, resumed_config
from cnnzoo.training.runlog import RunDir, default_run_dir


class RunWriteFailed(TrainingStopped):
    """A file of the run could not be written (a full disk); the previous checkpoint is kept."""


class PeerLost(TrainingStopped):
    """Another process of the group is gone (`--nproc`); this one's process group is broken."""


class TrainResult(dict):
    """What `train` returns: results.json's record (a dict, as before) with the trained model at hand.

    `.results` is the record, `.run_dir` the run directory, `.model` the weights the test numbers came from
    (the best by validation, or the EMA, as `cnnzoo.load(run_dir)` gives them), `.loaded` that `LoadedModel`.
    """

    @property
    def results(self) -> dict:
        return dict(self)

    @property
    def run_dir(self) -> Path:
        return Path(self["run_dir"])

    @functools.cached_property
    def loaded(self):
        from cnnzoo.predict import load

        return load(self.run_dir)

    @property
    def model(self) -> nn.Module:
        return self.loaded.model

    def __repr__(self) -> str:  # results.json's confusion matrix and per-class rows are for files, not a prompt
        return f"TrainResult({summary_text(self)})"

    def _repr_markdown_(self) -> str:
        return f"**{self.get('model')} on {self.get('data')}**: {summary_text(self)}"


def summary_text(results: dict) -> str:
    """Test top-1/top-5, the epochs and the run directory, in a line."""
    test = results.get("test") or {}
    top = f"test top-1 {100 * test['top1']:.2f}%, top-5 {100 * test['top5']:.2f}%" if test else "not tested"
    return f"{top} after {results.get('epochs')} epoch(s); run {results.get('run_dir')}"


def train(
    config: TrainConfig | dict | str | Path | None = None,
    *,
    resume: str | Path | None = None,
    quiet: bool = False,
    **settings: Any,
) -> TrainResult:
    """Train a model as the config says and return the results (also written to RUN_DIR/results.json).

    `config` is a TrainConfig, a dict of its fields, or a YAML recipe's path or packaged name; keyword settings
    add to it or override it, so `train(model="resnet20", data="digits", epochs=3)` needs no dict.
    `resume=RUN_DIR` (or RUN_DIR/checkpoints/last.pt) continues that run from last.pt with its saved config
    (`config` may then only change RESUME_OVERRIDABLE); a finished run is not trained or tested again: its
    recorded results are returned. The result is a dict with `.model`, `.results` and `.run_dir` (TrainResult).
    """
    payload = None
    if resume is not None:
        run = RunDir(resume_run_dir(resume))
        payload = read_last(run)
        if settings and not isinstance(config, (dict, type(None))):
            raise CnnzooError("give resume's changes as a dict or as keyword settings, not a config and keywords")
        cfg = resumed_config(payload["config"], {**(config or {}), **settings} if settings else config, run.path)
        finished = finished_results(run.path, payload["epoch"])
        if finished is not None:
            return TrainResult(finished)
    else:
        if config is None and not settings:
            raise CnnzooError("train needs a config (a TrainConfig, a dict or a YAML recipe path) or settings such "
                              "as train(model='resnet20', data='digits')")  # fmt: skip
        cfg = resolve_config(config if config is not None else {}, settings)
        _check_names(cfg)
        run = RunDir(cfg.run_dir or default_run_dir(cfg.runs_root, cfg.model, cfg.data.name))
        cfg.run_dir = str(run.path)
    device = resolve_device(cfg.device)  # `--device cuda` where there is none fails before a directory is made
    existed = run.path.exists()
    quiet = quiet or not distributed.is_main()  # rank 0 alone prints and writes the run directory
    if distributed.is_main():
        run.create(resume=payload is not None)  # an unwritable or busy directory fails here, before any work
    with _deterministic_settings_restored(), _run_errors(run):
        return TrainResult(_train_in(run, cfg, payload, device, quiet, existed))


def _train_in(
    run: RunDir, cfg: TrainConfig, payload: dict | None, device: torch.device, quiet: bool, existed: bool
) -> dict:
    """Build the data and model, then fit; a bad input leaves no new empty run directory behind."""
    device = distributed.setup(device)
    speed = choose_speed(device, cfg.precision, cfg.channels_last)  # config.yaml keeps "auto" as asked
    if not quiet:
        print(f"recipe: {cfg.recipe or 'none (defaults < flags)'}; {device}: {speed.describe()}", flush=True)
    seed_everything(cfg.seed, cfg.deterministic, device)
    try:
        with distributed.main_first():  # rank 0 downloads and caches, the others read its cache
            loaders = make_loaders(cfg, device)
        model = make_model(cfg, loaders)
        if cfg.init_from and payload is None:
            cfg.init_from, notes = load_initial_weights(model, cfg.init_from, cfg, loaders)
            if not quiet:
                print("\n".join(f"init-from {cfg.init_from}: {note}" for note in notes), flush=True)
        if cfg.freeze == "features":  # again on resume: requires_grad is not in a checkpoint
            freeze_features(model, cfg.model, cfg.model_options)
    except CnnzooError:
        if not existed and distributed.is_main():
            _remove_empty_run_dir(run)
        raise
    if payload is None and distributed.is_main():
        run.write_config(cfg.to_dict())
        run.write_env(device, speed)
    return fit(model, loaders, cfg, run, device, resume_payload=payload, quiet=quiet)


@contextmanager
def _run_errors(run: RunDir) -> Iterator[None]:
    """Ctrl-C and a full disk become one line naming the run and how to go on; the directory is unlocked."""
    try:
        yield
    except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM turned into one by the CLI: name the run to resume
        raise _interrupted(err, run) from None
    except RuntimeError as err:  # under --nproc: another process died (kill -9, out of memory) mid-collective
        if not distributed.lost_a_peer(err):
            raise
        kept = f"resume with: cnnzoo train --resume {run.path} --nproc {distributed.world()}"
        if not run.last.is_file():
            kept = f"no checkpoint was written yet; start it again (--run-dir {run.path})"
        raise PeerLost(f"another training process stopped ({distributed.first_line(err)}); {kept}") from None
    except OSError as err:
        if not (err.filename and Path(err.filename).resolve().is_relative_to(run.path.resolve())):
            raise
        if run.last.is_file():
            kept = f"{run.last} is intact; free space and resume with: cnnzoo train --resume {run.path}"
        elif run.best.is_file():  # the disk filled between best.pt and the first last.pt
            kept = (
                f"{run.best} holds the best weights so far; free space and start a new run, from them with --init-from"
            )
        else:
            kept = f"no checkpoint was written yet; free space and start again (--run-dir {run.path})"
        raise RunWriteFailed(f"{write_error_message(err)}; {kept}") from None
    finally:
        try:
            run.close()
        except KeyboardInterrupt as err:  # a second Ctrl-C while the run's files close: still name the run
            raise _interrupted(err, run) from None


def _interrupted(err: KeyboardInterrupt, run: RunDir) -> Interrupted:
    """Ctrl-C (or SIGTERM, whose number the CLI's handler attaches) as an Interrupted naming the run."""
    return Interrupted(getattr(err, "signal_number", signal.SIGINT), str(run.path))


@contextmanager
def _deterministic_settings_restored() -> Iterator[None]:
    """A run's deterministic and cuDNN settings are its own: the process gets its own back afterwards."""
    before = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    cudnn_before = (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
    try:
        yield
    finally:
        _set_deterministic_algorithms(*before)
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = cudnn_before


def _check_names(cfg: TrainConfig) -> None:
    """Unknown model or dataset names fail before a run directory is made, naming the closest valid ones."""
    check_model_options(cfg.model, cfg.model_options)
    if cfg.data.name not in DATASETS:
        raise unknown_choice("dataset", cfg.data.name, DATASETS)


def load_initial_weights(model: nn.Module, source: str, cfg: TrainConfig, loaders) -> tuple[str, list[str]]:
    """--init-from: start a new run from trained weights (its own optimiser, schedule and epochs).

    The source must be the same model with the same options. Other classes need --num-classes N (N the data's
    classes): every weight but the classifier is kept, the classifier is initialised afresh. Another number of
    input channels (an RGB checkpoint for grey digits) adapts the first layer's filters (finetune.py). Returns
    the file the weights came from, which config.yaml records, and what was changed, in words.
    """
    from cnnzoo.predict import EXPORTED_KINDS, describe_kind, file_kind, load
    from cnnzoo.training.checkpoint import find_checkpoint

    kind = file_kind(find_checkpoint(source)) if not Path(source).is_dir() else "run"
    if kind in EXPORTED_KINDS:  # not "116 of the model's tensors are missing"
        raise CnnzooError(f"--init-from {source} is {describe_kind(kind)}, made for other runtimes; give the run "
                          "directory, checkpoint or model.safetensors it was exported from")  # fmt: skip
    loaded = load(source)
    theirs = (loaded.model_name, loaded.model_options)
    if theirs != (cfg.model, dict(cfg.model_options)):
        raise CnnzooError(
            f"--init-from {source} holds {loaded.model_name!r} with options {loaded.model_options}, but this run "
            f"builds {cfg.model!r} with options {dict(cfg.model_options)}; give the same --model and -o options, or "
            "drop --init-from"
        )
    classes = list(loaders.classes)
    if cfg.num_classes is not None and cfg.num_classes != len(classes):
        raise CnnzooError(f"--num-classes {cfg.num_classes}, but {cfg.data.name} has {len(classes)} classes; the new "
                          f"classifier needs one output per class: give --num-classes {len(classes)}")  # fmt: skip
    if cfg.num_classes is None and list(loaded.classes) != classes:
        raise CnnzooError(
            f"--init-from {source} was trained on {_few_classes(loaded.classes)}, this run's data has "
            f"{_few_classes(classes)}; give --num-classes {len(classes)} to fine-tune with a new classifier"
        )
    notes = transfer_weights(model, loaded.model.state_dict(), model_name=cfg.model, options=dict(cfg.model_options),
                             new_head=cfg.num_classes is not None, source=loaded.path)  # fmt: skip
    return str(Path(loaded.path).resolve()), notes


def _few_classes(classes: list[str]) -> str:
    first = f" from {classes[0]!r}" if classes else ""
    return f"{len(classes)} classes{first}"


def _remove_empty_run_dir(run: RunDir) -> None:
    run.lock_file.unlink(missing_ok=True)  # ours, held: nobody else can be using this new directory
    for path in (run.checkpoints, run.path):
        try:
            path.rmdir()
        except OSError:
            pass


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
    """The config's data spec, whole, with what the run decides (seed, memory format, rank); `changes` too."""
    spec = replace(
        cfg.data, seed=cfg.seed, channels_last=choose_speed(device, cfg.precision, cfg.channels_last).channels_last,
        rank=distributed.rank(), world=distributed.world(), **changes,
    )  # fmt: skip
    return build_loaders(spec, device)


def make_model(cfg: TrainConfig, loaders) -> nn.Module:
    """The registered model sized for the data: its classes and channels; too-small images are an error."""
    options = dict(cfg.model_options)
    need = get_model_config(cfg.model, len(loaders.classes), loaders.in_chans, **options).min_input_size
    height, width = image_hw(loaders)
    if height < need[1] or width < need[2]:
        hint = " (try -o small_input=true)" if "small_input" not in options else ""
        raise CnnzooError(
            f"model {cfg.model!r} needs inputs of at least {need[1]}x{need[2]}, {cfg.data.name} has {height}x{width}{hint}"
        )
    return create_model(cfg.model, num_classes=len(loaders.classes), in_chans=loaders.in_chans, **options)
