"""The training configuration: one flat dataclass, grouped as `cnnzoo train --help` shows it.

Precedence is defaults < YAML recipe < command-line flags. Every field is plain data (str, numbers, bools,
lists, a dict of model options) so the resolved config can be written to config.yaml and stored inside a
checkpoint that `torch.load(weights_only=True)` reads back.

Validation data: `val_size` None means the dataset's default below. The CIFAR-sized datasets hold out
5,000 training images (the ResNet paper's 45k/5k split, section 4.2); `digits` (1,797 images in all)
holds out 10% of its training part. A whole number (5000) is an image count, a number written with a
decimal point (0.1) a fraction, so 1.0 is neither and refused.

Every number has a finite range: 1e30 epochs or a seed beyond 64 bits is a typo, refused before any work.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import types
import typing
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Union

import yaml

from cnnzoo.errors import CnnzooError, check_choice
from cnnzoo.training.recipes import find_recipe, recipe_label

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("constant", "multistep", "cosine", "onecycle")
UNITS = ("epochs", "steps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")  # auto: device.choose_speed
COMPILE_MODES = ("none", "default", "reduce-overhead", "max-autotune")
LR_SCALINGS = ("none", "linear", "sqrt")
TTA_MODES = ("none", "flip", "flip-translate")
POLICIES = ("none", "autoaugment", "randaugment", "trivialaugment")  # data.base.POLICIES (kept import-free)
NORMALIZATIONS = ("channel", "pixel")  # data.base.NORMALIZATIONS

# Default held-out validation size per dataset: an image count, or a fraction of the training split.
DEFAULT_VAL_SIZE: dict[str, float | int] = {
    "cifar10": 5000,
    "cifar100": 5000,
    "svhn": 5000,
    "mnist": 5000,
    "fashion_mnist": 5000,
    "imagefolder": 5000,
    "digits": 0.1,
}

# Fields that name folders; resolved to absolute paths when a config is built.
PATH_FIELDS = ("data_dir", "cache_dir", "run_dir", "runs_root")
# Upper limits of counts: beyond them a value is a typo (1e30 epochs would train forever), not an experiment.
MAX_EPOCHS = 100_000
MAX_STEPS = 10**9
MAX_BATCH_SIZE = 65_536
MAX_PIXELS = 4096  # image_size, crop_padding, cutout
MAX_ALPHA = 100.0  # mixup / cutmix alpha: beyond it Beta(alpha, alpha) is 0.5 every time
MAX_SEED = 2**63 - 1  # torch.manual_seed takes 64 bits

# The --help groups, in order.
GROUPS = ("model", "data", "optimisation", "schedule", "regularisation", "precision/speed", "run/output")


def _f(default: Any, group: str, help: str, **extra: Any) -> Any:
    """A field with its --help group and text; mutable defaults become factories."""
    meta = {"group": group, "help": help, **extra}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class TrainConfig:
    """Everything that decides a training run; `cnnzoo train` has one flag per field."""

    # model
    model: str = _f("", "model", "registered model name (see `cnnzoo models`)")
    model_options: dict = _f({}, "model", "model options, e.g. small_input=true (-o KEY=VALUE, repeatable)")
    init_from: str | None = _f(
        None, "model", "start from the weights of a checkpoint, model.safetensors or run directory (a new run)"
    )
    # data
    data: str = _f("", "data", "dataset: cifar10, cifar100, mnist, fashion_mnist, svhn, imagefolder, digits")
    data_dir: str | None = _f(
        None, "data", "dataset copy (torchvision layout, or train/ and test/ class folders); default: the cache"
    )
    cache_dir: str | None = _f(None, "data", "downloads and decoded images (default: $CNNZOO_CACHE or ~/.cache/cnnzoo)")
    download: bool = _f(True, "data", "download a missing dataset")
    val_size: int | float | None = _f(
        None, "data", "held-out validation images: a count (5000; 0 for none) or a fraction written with a point "
        "(0.1); default 5000, digits 0.1"
    )
    full_train: bool = _f(False, "data", "train on the full training split: no validation, test the last weights")
    train_limit: int | None = _f(None, "data", "train on a seeded, class-stratified subset of N images (quick runs)")
    eval_limit: int | None = _f(
        None, "data", "evaluate on seeded subsets of N validation and N test images (quick runs)"
    )
    image_size: int | None = _f(None, "data", "imagefolder: resize and centre-crop images to N x N")
    batch_size: int = _f(128, "data", "training batch size")
    eval_batch_size: int | None = _f(None, "data", "evaluation batch size (default: 2 x batch size)")
    loader: str = _f(
        "auto", "data", "auto, device (whole split on the device) or stream (image folders from disk; other "
        "datasets are held in memory)"
    )
    workers: int = _f(2, "data", "decoding workers of the streaming loader")
    normalize: str = _f(
        "channel", "data",
        "input normalisation: channel (per-channel mean and std of the train images) or pixel (subtract their "
        "per-pixel mean image, no std: the ResNet paper's CIFAR-10 input)",
    )  # fmt: skip
    skip_corrupt: bool = _f(False, "data", "skip unreadable images instead of failing")
    # optimisation
    epochs: int = _f(10, "optimisation", "training epochs")
    max_steps: int | None = _f(None, "optimisation", "stop after this many iterations (e.g. 64000)")
    optimizer: str = _f("sgd", "optimisation", "sgd or adamw")
    lr: float = _f(0.1, "optimisation", "peak learning rate (for lr_base_batch images when lr_scaling is on)")
    lr_scaling: str = _f("none", "optimisation", "scale lr with the batch size: none, linear or sqrt")
    lr_base_batch: int = _f(256, "optimisation", "the batch size lr is given for (with lr_scaling)")
    momentum: float = _f(0.9, "optimisation", "SGD momentum")
    nesterov: bool = _f(False, "optimisation", "Nesterov momentum (SGD)")
    betas: list = _f([0.9, 0.999], "optimisation", "AdamW betas", nargs=2)
    weight_decay: float = _f(5e-4, "optimisation", "weight decay (L2 for SGD, decoupled for AdamW)")
    decay_bn_bias: bool = _f(True, "optimisation", "apply weight decay to BatchNorm parameters and biases too")
    grad_clip: float | None = _f(None, "optimisation", "clip the gradient norm to this value")
    accumulate: int = _f(1, "optimisation", "split each batch into N micro-batches (same step, less memory)")
    # schedule
    schedule: str = _f("cosine", "schedule", "learning-rate schedule: constant, multistep, cosine, onecycle")
    milestones: list = _f([], "schedule", "multistep: where the lr is multiplied by gamma", nargs="*")
    milestone_unit: str = _f("epochs", "schedule", "unit of the milestones: epochs or steps")
    gamma: float = _f(0.1, "schedule", "multistep factor")
    warmup_epochs: float = _f(0.0, "schedule", "linear warm-up length in epochs (combines with any schedule)")
    warmup_steps: int = _f(0, "schedule", "linear warm-up length in iterations (instead of --warmup-epochs)")
    warmup_factor: float | None = _f(
        None, "schedule", "hold the lr at lr x this during the warm-up instead of a linear rise (ResNet-110: 0.1)"
    )
    min_lr_factor: float = _f(0.0, "schedule", "cosine/onecycle: final lr as a fraction of --lr")
    onecycle_pct: float = _f(0.25, "schedule", "onecycle: fraction of training spent rising to --lr")
    onecycle_div: float = _f(25.0, "schedule", "onecycle: the starting lr is --lr divided by this")
    # regularisation
    label_smoothing: float = _f(0.0, "regularisation", "label smoothing of the cross-entropy")
    aux_weight: float = _f(0.3, "regularisation", "weight of auxiliary classifier losses (GoogLeNet)")
    ema: bool = _f(False, "regularisation", "keep an exponential moving average of the weights; evaluate it")
    ema_decay: float = _f(0.999, "regularisation", "EMA decay per iteration")
    crop_padding: int = _f(0, "regularisation", "random crop after zero padding by this many pixels")
    flip: bool = _f(False, "regularisation", "random horizontal flips")
    cutout: int = _f(0, "regularisation", "cutout square side in pixels (0: off)")
    auto_augment: str = _f(
        "none", "regularisation", "per-image policy: none, autoaugment (CIFAR-10 policy), randaugment, trivialaugment"
    )
    mixup: float = _f(0.0, "regularisation", "mixup alpha of Beta(alpha, alpha), e.g. 0.2 (0: off)")
    cutmix: float = _f(0.0, "regularisation", "cutmix alpha of Beta(alpha, alpha), e.g. 1.0 (0: off)")
    mix_prob: float = _f(1.0, "regularisation", "probability that a batch is mixed by mixup/cutmix")
    cutmix_prob: float = _f(0.5, "regularisation", "with mixup and cutmix both on: share of mixed batches cut-mixed")
    patience: int | None = _f(None, "regularisation", "early stopping: epochs without a better val top-1")
    tta: str = _f(
        "none", "regularisation", "test-time augmentation of the test set, reported apart: none, flip, flip-translate"
    )
    # precision/speed
    precision: str = _f(
        "auto", "precision/speed", "auto (bf16 on a CPU with native bf16 or a bf16 GPU, else fp32; the run's "
        "first line says which), fp32, bf16 (autocast) or fp16 (autocast + GradScaler)"
    )
    channels_last: bool | None = _f(
        None, "precision/speed", "channels-last memory format (default auto: on with bf16/fp16)", flag="bool"
    )
    compile: str = _f(
        "none",
        "precision/speed",
        "torch.compile the training step: none, default, reduce-overhead, max-autotune (bare flag: default)",
        const="default",
    )
    device: str = _f("auto", "precision/speed", "auto (cuda, else mps, else cpu), cpu, cuda, cuda:N, mps")
    seed: int = _f(0, "precision/speed", "seed of weights, data order and augmentation")
    deterministic: bool = _f(False, "precision/speed", "deterministic algorithms (bitwise-reproducible resume)")
    sync_bn: bool = _f(False, "precision/speed", "several processes: BatchNorm statistics over the global batch")
    # run/output
    run_dir: str | None = _f(None, "run/output", "run directory (default: RUNS_ROOT/<model>-<data>-<time>)")
    runs_root: str = _f("runs", "run/output", "parent of the default run directories")
    log_every: int = _f(50, "run/output", "progress refresh interval in iterations")
    checkpoint_every: int = _f(
        1, "run/output", "write checkpoints every N epochs and after the last (speedruns: a GPU epoch can be shorter "
        "than the fsync of a checkpoint); the best weights wait in memory, a crash loses up to N-1 epochs"
    )
    tensorboard: bool = _f(True, "run/output", "write TensorBoard events to RUN_DIR/tb")
    plots: bool = _f(True, "run/output", "draw curves.png and confusion.png")
    recipe: str | None = _f(
        None, "run/output", "the YAML recipe this config came from (--config's or the model's own; none: no recipe)"
    )

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_dict(cls, values: dict[str, Any], *, origin: str = "config") -> TrainConfig:
        """Build and validate from plain data; unknown keys and bad values raise CnnzooError."""
        cfg = cls()
        for key, value in normalise_keys(values, origin).items():
            setattr(cfg, key, coerce(key, value))
        for key in PATH_FIELDS:  # absolute: a run read back from another directory names the same folders
            if getattr(cfg, key) is not None:
                setattr(cfg, key, os.path.abspath(os.path.expanduser(getattr(cfg, key))))
        cfg.validate()
        return cfg

    def to_dict(self) -> dict[str, Any]:
        """Plain data: what config.yaml and the checkpoint hold."""
        return dataclasses.asdict(self)

    # ---------------------------------------------------------------- validation
    def validate(self) -> None:
        """Check every value at the boundary so a bad one fails before any work, in one line."""
        if not self.model:
            raise CnnzooError("no model given; pass --model NAME (see `cnnzoo models`)")
        if not self.data:
            raise CnnzooError("no dataset given; pass --data NAME (" + ", ".join(DEFAULT_VAL_SIZE) + ")")
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("milestone_unit", self.milestone_unit, UNITS)
        check_choice("precision", self.precision, PRECISIONS)
        check_choice("compile", self.compile, COMPILE_MODES)
        check_choice("lr_scaling", self.lr_scaling, LR_SCALINGS)
        check_choice("tta", self.tta, TTA_MODES)
        check_choice("auto_augment", self.auto_augment, POLICIES)
        check_choice("normalize", self.normalize, NORMALIZATIONS)
        for name, low, high in _INT_RANGES:
            if getattr(self, name) is not None:
                _int_in(name, getattr(self, name), low, high)
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise CnnzooError(f"lr must be a positive number, got {self.lr}")
        _in_range("momentum", self.momentum, 0.0, 1.0, high_open=True)
        _in_range("weight_decay", self.weight_decay, 0.0, math.inf)
        _in_range("gamma", self.gamma, 0.0, 1.0, low_open=True)
        _in_range("warmup_epochs", self.warmup_epochs, 0.0, MAX_EPOCHS)
        _in_range("min_lr_factor", self.min_lr_factor, 0.0, 1.0)
        _in_range("onecycle_pct", self.onecycle_pct, 0.0, 1.0, low_open=True, high_open=True)
        _in_range("onecycle_div", self.onecycle_div, 1.0, math.inf)
        _in_range("label_smoothing", self.label_smoothing, 0.0, 1.0, high_open=True)
        _in_range("aux_weight", self.aux_weight, 0.0, math.inf)
        _in_range("ema_decay", self.ema_decay, 0.0, 1.0, low_open=True, high_open=True)
        _in_range("mixup", self.mixup, 0.0, MAX_ALPHA)
        _in_range("cutmix", self.cutmix, 0.0, MAX_ALPHA)
        _in_range("mix_prob", self.mix_prob, 0.0, 1.0)
        _in_range("cutmix_prob", self.cutmix_prob, 0.0, 1.0)
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise CnnzooError(f"betas must be two numbers in [0, 1), got {self.betas}")
        if self.grad_clip is not None and not (self.grad_clip > 0 and math.isfinite(self.grad_clip)):
            raise CnnzooError(f"grad_clip must be a positive number, got {self.grad_clip}")
        if self.warmup_factor is not None:
            _in_range("warmup_factor", self.warmup_factor, 0.0, 1.0, low_open=True)
        if self.warmup_epochs > 0 and self.warmup_steps > 0:
            raise CnnzooError("give warmup_epochs or warmup_steps, not both")
        if not all(0 < m <= MAX_STEPS for m in self.milestones) or list(self.milestones) != sorted(self.milestones):
            raise CnnzooError(f"milestones must be positive, finite and increasing, got {self.milestones}")
        if self.schedule == "multistep" and not self.milestones:
            raise CnnzooError(
                "schedule 'multistep' needs --milestones, e.g. --milestones 32000 48000 --milestone-unit steps"
            )
        if self.val_size is not None:
            _check_val_size(self.val_size)
        if self.patience is not None and (self.full_train or self.val_size == 0):
            raise CnnzooError("patience (early stopping) needs a validation set; drop --full-train or --val-size 0")
        if not (self.device in ("auto", "cpu", "cuda", "mps") or self.device.startswith("cuda:")):
            raise CnnzooError(f"invalid device {self.device!r}; valid: auto, cpu, cuda, cuda:N, mps")
        for key in self.model_options:
            if not isinstance(key, str):
                raise CnnzooError(f"model option names must be strings, got {key!r}")

    def schedule_warnings(self, train_size: int, steps_per_epoch: int) -> list[str]:
        """Warn (and return the warnings) where the data or the length of training defeats the schedule asked for.

        Not errors: a tiny split or a short test run is legitimate, but it should not pass without a word.
        """
        total_steps = min(self.epochs * steps_per_epoch, self.max_steps or math.inf)
        warmup = self.warmup_steps or round(self.warmup_epochs * steps_per_epoch)
        messages = []
        if self.batch_size > train_size:
            messages.append(
                f"batch_size {self.batch_size} is larger than the {train_size} training images: each epoch is one "
                f"step of {train_size} images; lower --batch-size"
            )
        if warmup and warmup >= total_steps:
            messages.append(
                f"the warm-up ({warmup} steps) lasts the whole run ({total_steps} steps): the lr only rises and "
                "the schedule never decays it; shorten --warmup-epochs/--warmup-steps or train longer"
            )
        if self.schedule == "multistep" and self.milestones:
            per = steps_per_epoch if self.milestone_unit == "epochs" else 1
            late = [m for m in self.milestones if round(m * per) >= total_steps]
            if late:
                messages.append(
                    f"milestones {late} ({self.milestone_unit}) fall after the last of {total_steps} steps "
                    "and never apply"
                )
        for message in messages:
            warnings.warn(message, ScheduleWarning, stacklevel=2)
        return messages

    def resolved_val_size(self) -> float | int:
        """The validation size the run uses: 0 with full_train, else the given one or the dataset's default."""
        if self.full_train:
            return 0
        if self.val_size is not None:
            return self.val_size
        return DEFAULT_VAL_SIZE.get(self.data, 5000)


# -------------------------------------------------------------------- loading recipes and merging
FIELD_NAMES = tuple(f.name for f in fields(TrainConfig))


def normalise_keys(values: dict[str, Any], origin: str = "config") -> dict[str, Any]:
    """Accept `crop-padding` for `crop_padding`; an unknown key names the closest valid ones."""
    if not isinstance(values, dict):
        raise CnnzooError(f"{origin} must be a mapping of config keys to values, got {type(values).__name__}")
    out = {}
    for key, value in values.items():
        name = str(key).replace("-", "_")
        if name not in FIELD_NAMES:
            close = difflib.get_close_matches(name, FIELD_NAMES, n=3, cutoff=0.6)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise CnnzooError(f"unknown key {key!r} in {origin}.{hint} See `cnnzoo train --help` for valid keys")
        out[name] = value
    return out


def load_yaml(path: str | Path) -> dict[str, Any]:
    """A recipe file as a dict of config keys (validated only for key names here)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise CnnzooError(f"cannot read config file {path}: {err.strerror or err}") from None
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise CnnzooError(f"config file {path} is not valid YAML{at}: {getattr(err, 'problem', err)}") from None
    return normalise_keys(values or {}, origin=str(path))


def load_config_file(ref: str | Path) -> dict[str, Any]:
    """A YAML file's or packaged recipe's values, `recipe` naming it unless it names its own; a run's saved
    config.yaml leaves out its run_dir, so that replaying it starts a new run instead of colliding with the one
    it came from.

    A run's own config is recognised by its run_dir naming the folder the file sits in.
    """
    path = find_recipe(ref)
    values = load_yaml(path)
    values.setdefault("recipe", recipe_label(path))
    run_dir = values.get("run_dir")
    if run_dir is not None and Path(str(run_dir)).expanduser().resolve() == Path(path).resolve().parent:
        del values["run_dir"]
        warnings.warn(
            f"{path} is the saved config of the run {run_dir}: training it again starts a new run and leaves that "
            f"one as it is (to continue it instead: cnnzoo train --resume {run_dir})",
            stacklevel=2,
        )
    return values


def resolve_config(source: TrainConfig | dict | str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """defaults < the source (a config, a dict, a YAML path or a packaged recipe's name) < overrides."""
    if isinstance(source, TrainConfig):
        values = source.to_dict()
    elif isinstance(source, dict):
        values = dict(source)
    else:
        values = load_config_file(source)
    values.update(overrides or {})
    return TrainConfig.from_dict(values)


# -------------------------------------------------------------------- coercion (YAML and CLI strings)
_HINTS = typing.get_type_hints(TrainConfig)


def coerce(key: str, value: Any) -> Any:
    """Turn YAML/CLI values into the field's type: '1e-3' → 0.001, 'true' → True, '5' → 5 (or 0.5 → fraction)."""
    if key == "compile" and (isinstance(value, bool) or str(value).lower() in ("true", "false")):
        return "default" if str(value).lower() == "true" else "none"  # recipes and checkpoints from before modes
    return _coerce(key, _HINTS[key], value)


def _coerce(key: str, hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        if args == [bool] and isinstance(value, str) and value.lower() == "auto":
            return None  # an on/off setting left to the run (channels_last)
        if args == [int, float]:  # a count or a fraction (val_size)
            return _count_or_fraction(key, value)
        return _coerce(key, args[0], value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
            return value.lower() in ("true", "yes", "on", "1")
        raise CnnzooError(f"{key} must be true or false, got {value!r}")
    if hint is int:
        try:
            number = float(value) if isinstance(value, str) else value
            if isinstance(number, bool) or not float(number).is_integer():
                raise ValueError
            return int(number)
        except (TypeError, ValueError, OverflowError):
            raise CnnzooError(f"{key} must be an integer, got {value!r}") from None
    if hint is float:
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        except (TypeError, ValueError):
            raise CnnzooError(f"{key} must be a number, got {value!r}") from None
    if hint is str:
        if isinstance(value, (dict, list)):
            raise CnnzooError(f"{key} must be a string, got {value!r}")
        return str(value)
    if hint is list or origin is list:
        items = value if isinstance(value, (list, tuple)) else [value]
        numbers = [_coerce(key, float, v) for v in items]
        return [int(n) if key == "milestones" and n.is_integer() else n for n in numbers]
    if hint is dict or origin is dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise CnnzooError(f"{key} must be a mapping of KEY: VALUE, got {value!r}")
        return dict(value)
    raise TypeError(f"no coercion for field {key} of type {hint}")  # a bug in this module, not user input


def _count_or_fraction(key: str, value: Any) -> int | float:
    """'5000' or 5000 → a count (int); '0.1', '1e-1' or 0.1 → a fraction (float): as written, not by size."""
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            return _coerce(key, float, text)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise CnnzooError(f"{key} must be an image count such as 5000 or a fraction such as 0.1, got {value!r}")


def _check_val_size(value: int | float) -> None:
    """A count is >= 0; a fraction is in (0, 1), or 0.0 for none; 1.0 could mean either and is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CnnzooError(f"val_size must be an image count such as 5000 or a fraction such as 0.1, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise CnnzooError(f"val_size must be an image count >= 0 (0: no validation), got {value}")
        return
    if math.isfinite(value) and value >= 1 and value.is_integer():
        n = int(value)
        raise CnnzooError(
            f"val_size {value} is ambiguous: write {n} for {n} image{'s' if n > 1 else ''} or a fraction below 1 "
            "such as 0.1"
        )
    if not (0 <= value < 1):
        raise CnnzooError(f"val_size must be a fraction in (0, 1) such as 0.1, or a whole image count, got {value}")


class ScheduleWarning(UserWarning):
    """The run will train, but not as its schedule suggests (see `TrainConfig.schedule_warnings`)."""


# (field, lowest, highest) of every integer field; None values (optional fields) are not checked.
_INT_RANGES: tuple[tuple[str, int, int], ...] = (
    ("epochs", 1, MAX_EPOCHS),
    ("max_steps", 1, MAX_STEPS),
    ("batch_size", 1, MAX_BATCH_SIZE),
    ("accumulate", 1, MAX_BATCH_SIZE),
    ("eval_batch_size", 1, MAX_BATCH_SIZE),
    ("lr_base_batch", 1, MAX_BATCH_SIZE),
    ("workers", 0, 256),
    ("log_every", 1, MAX_STEPS),
    ("checkpoint_every", 1, MAX_EPOCHS),
    ("crop_padding", 0, MAX_PIXELS),
    ("cutout", 0, MAX_PIXELS),
    ("image_size", 1, MAX_PIXELS),
    ("warmup_steps", 0, MAX_STEPS),
    ("train_limit", 1, MAX_STEPS),
    ("eval_limit", 1, MAX_STEPS),
    ("patience", 1, MAX_EPOCHS),
    ("seed", 0, MAX_SEED),
)


def _int_in(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CnnzooError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise CnnzooError(f"{name} must be at least {low}, got {value}")
    if value > high:
        raise CnnzooError(f"{name} must be at most {high:,}, got {value:,}")


def _in_range(
    name: str, value: float, low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> None:
    ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not math.isfinite(value):  # nan and inf are never a setting
        raise CnnzooError(f"{name} must be a finite number, got {value}")
    if not ok:
        lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
        raise CnnzooError(f"{name} must be in {lo}{low}, {high}{hi}, got {value}")
