"""The training configuration: one dataclass, grouped as `cnnzoo train --help` shows it, holding the data spec.

Precedence is defaults < YAML recipe < command-line flags. Every value is plain data (str, numbers, bools,
lists, a dict of model options) so the resolved config can be written to config.yaml and stored inside a
checkpoint that `torch.load(weights_only=True)` reads back. The data fields live in `TrainConfig.data`, a
`cnnzoo.data.DataSpec` (with its `Augment`), declared and checked there once; recipes, flags and config.yaml
name every field flat (`data: cifar10`, `batch_size: 128`, `crop_padding: 4`), as `FIELDS` maps them.

Every number has a finite range: 1e30 epochs or a seed beyond 64 bits is a typo, refused before any work.
"""

from __future__ import annotations

import copy
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

from cnnzoo.data.spec import DEFAULT_VAL_SIZE, DataSpec
from cnnzoo.errors import CnnzooError, check_choice
from cnnzoo.settings import MAX_BATCH_SIZE, MAX_EPOCHS, MAX_SEED, MAX_STEPS, check_int, check_range, setting
from cnnzoo.training.recipes import find_recipe, model_recipe, recipe_label

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("constant", "multistep", "cosine", "onecycle")
UNITS = ("epochs", "steps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")  # auto: device.choose_speed
COMPILE_MODES = ("none", "default", "reduce-overhead", "max-autotune")
LR_SCALINGS = ("none", "linear", "sqrt")
TTA_MODES = ("none", "flip", "flip-translate")
FREEZE_MODES = ("none", "features")

# Fields that name folders; resolved to absolute paths when a config is built.
PATH_FIELDS = ("data_dir", "cache_dir", "run_dir", "runs_root")

# The --help groups, in order.
GROUPS = ("model", "data", "optimisation", "schedule", "regularisation", "precision/speed", "run/output")


@dataclass
class TrainConfig:
    """Everything that decides a training run; `cnnzoo train` has one flag per field."""

    # model
    model: str = setting("", "model", "registered model name (see `cnnzoo models`)")
    model_options: dict = setting({}, "model", "model options, e.g. small_input=true (-o KEY=VALUE, repeatable)")
    init_from: str | None = setting(
        None, "model", "start from the weights of a checkpoint, model.safetensors, pretrained folder or run directory "
        "(a new run; other input channels adapt the first layer's filters)"
    )  # fmt: skip
    num_classes: int | None = setting(
        None, "model", "fine-tuning from --init-from: a new classifier, initialised afresh, for the data's N classes"
    )
    freeze: str = setting("none", "model", "fine-tuning: none, or features (train the classifier alone)")
    lr_head_mult: float = setting(1.0, "model", "fine-tuning: the classifier's learning rate is lr x this")
    data: DataSpec = field(default_factory=DataSpec)  # the data spec, whole: cnnzoo.data.spec declares its fields
    # optimisation
    epochs: int = setting(10, "optimisation", "training epochs")
    max_steps: int | None = setting(None, "optimisation", "stop after this many iterations (e.g. 64000)")
    optimizer: str = setting("sgd", "optimisation", "sgd or adamw")
    lr: float = setting(0.1, "optimisation", "peak learning rate (for lr_base_batch images when lr_scaling is on)")
    lr_scaling: str = setting("none", "optimisation", "scale lr with the batch size: none, linear or sqrt")
    lr_base_batch: int = setting(256, "optimisation", "the batch size lr is given for (with lr_scaling)")
    momentum: float = setting(0.9, "optimisation", "SGD momentum")
    nesterov: bool = setting(False, "optimisation", "Nesterov momentum (SGD)")
    betas: list = setting([0.9, 0.999], "optimisation", "AdamW betas", nargs=2)
    weight_decay: float = setting(5e-4, "optimisation", "weight decay (L2 for SGD, decoupled for AdamW)")
    decay_bn_bias: bool = setting(True, "optimisation", "apply weight decay to BatchNorm parameters and biases too")
    grad_clip: float | None = setting(None, "optimisation", "clip the gradient norm to this value")
    accumulate: int = setting(1, "optimisation", "split each batch into N micro-batches (same step, less memory)")
    # schedule
    schedule: str = setting("cosine", "schedule", "learning-rate schedule: constant, multistep, cosine, onecycle")
    milestones: list = setting([], "schedule", "multistep: where the lr is multiplied by gamma", nargs="*")
    milestone_unit: str = setting("epochs", "schedule", "unit of the milestones: epochs or steps")
    gamma: float = setting(0.1, "schedule", "multistep factor")
    warmup_epochs: float = setting(0.0, "schedule", "linear warm-up length in epochs (combines with any schedule)")
    warmup_steps: int = setting(0, "schedule", "linear warm-up length in iterations (instead of --warmup-epochs)")
    warmup_factor: float | None = setting(
        None, "schedule", "hold the lr at lr x this during the warm-up instead of a linear rise (ResNet-110: 0.1)"
    )
    min_lr_factor: float = setting(0.0, "schedule", "cosine/onecycle: final lr as a fraction of --lr")
    onecycle_pct: float = setting(0.25, "schedule", "onecycle: fraction of training spent rising to --lr")
    onecycle_div: float = setting(25.0, "schedule", "onecycle: the starting lr is --lr divided by this")
    # regularisation
    label_smoothing: float = setting(0.0, "regularisation", "label smoothing of the cross-entropy")
    aux_weight: float = setting(0.3, "regularisation", "weight of auxiliary classifier losses (GoogLeNet)")
    ema: bool = setting(False, "regularisation", "keep an exponential moving average of the weights; evaluate it")
    ema_decay: float = setting(0.999, "regularisation", "EMA decay per iteration")
    patience: int | None = setting(None, "regularisation", "early stopping: epochs without a better val top-1")
    tta: str = setting(
        "none", "regularisation", "test-time augmentation of the test set, reported apart: none, flip, flip-translate"
    )
    # precision/speed
    precision: str = setting(
        "auto",
        "precision/speed",
        "auto (bf16 on a CPU with native bf16 or a bf16 GPU, else fp32; the run's "
        "first line says which), fp32, bf16 (autocast) or fp16 (autocast + GradScaler)",
    )
    channels_last: bool | None = setting(
        None, "precision/speed", "channels-last memory format (default auto: on with bf16/fp16)", flag="bool"
    )
    compile: str = setting(
        "none",
        "precision/speed",
        "torch.compile the training step: none, default, reduce-overhead, max-autotune (bare flag: default)",
        const="default",
    )
    device: str = setting("auto", "precision/speed", "auto (cuda, else mps, else cpu), cpu, cuda, cuda:N, mps")
    seed: int = setting(0, "precision/speed", "seed of weights, data order and augmentation")
    deterministic: bool = setting(False, "precision/speed", "deterministic algorithms (bitwise-reproducible resume)")
    sync_bn: bool = setting(False, "precision/speed", "several processes: BatchNorm statistics over the global batch")
    # run/output
    run_dir: str | None = setting(None, "run/output", "run directory (default: RUNS_ROOT/<model>-<data>-<time>)")
    runs_root: str = setting("runs", "run/output", "parent of the default run directories")
    log_every: int = setting(50, "run/output", "progress refresh interval in iterations")
    checkpoint_every: int = setting(
        1,
        "run/output",
        "write checkpoints every N epochs and after the last (speedruns: a GPU epoch can be shorter "
        "than the fsync of a checkpoint); the best weights wait in memory, a crash loses up to N-1 epochs",
    )
    tensorboard: bool = setting(True, "run/output", "write TensorBoard events to RUN_DIR/tb")
    plots: bool = setting(True, "run/output", "draw curves.png and confusion.png")
    recipe: str | None = setting(
        None, "run/output", "the YAML recipe this config came from (--config's or the model's own; none: no recipe)"
    )

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_dict(cls, values: dict[str, Any], *, origin: str = "config") -> TrainConfig:
        """Build and validate from flat plain data (as recipes hold it); unknown keys and bad values raise CnnzooError."""
        flat = {key: coerce(key, value) for key, value in normalise_keys(values, origin).items()}
        for key in PATH_FIELDS:  # absolute: a run read back from another directory names the same folders
            folder = flat.get(key, FIELDS[key].field.default)
            if folder is not None:
                flat[key] = os.path.abspath(os.path.expanduser(folder))
        tree: dict[str, Any] = {}
        for key, value in flat.items():
            *parents, name = FIELDS[key].path
            node = tree
            for parent in parents:
                node = node.setdefault(parent, {})
            node[name] = value
        cfg = _build(cls, tree)
        cfg.validate()
        return cfg

    def to_dict(self) -> dict[str, Any]:
        """Flat plain data, a key per field: what config.yaml and the checkpoint hold."""
        return {key: copy.deepcopy(_get(self, leaf.path)) for key, leaf in FIELDS.items()}

    def replace(self, **values: Any) -> TrainConfig:
        """A copy with some fields (named flat) changed, validated like any config."""
        return TrainConfig.from_dict({**self.to_dict(), **values})

    # ---------------------------------------------------------------- validation
    def validate(self) -> None:
        """Check every value at the boundary so a bad one fails before any work, in one line.

        The data spec checked its own fields when it was built; here each field, then the fields together.
        """
        if not self.model:
            raise CnnzooError("no model given; pass --model NAME (see `cnnzoo models`)")
        if not self.data.name:
            raise CnnzooError("no dataset given; pass --data NAME (" + ", ".join(DEFAULT_VAL_SIZE) + ")")
        for name, choices in _CHOICES:
            check_choice(name, getattr(self, name), choices)
        for name, low, high in _INT_RANGES:
            check_int(name, getattr(self, name), low, high)
        for name, low, high, low_open, high_open in _FLOAT_RANGES:
            if getattr(self, name) is not None:
                check_range(name, getattr(self, name), low, high, low_open=low_open, high_open=high_open)
        for name in ("lr", "grad_clip"):  # any positive size, but a size: not 0, nan or inf
            value = getattr(self, name)
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise CnnzooError(f"{name} must be a positive number, got {value}")
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise CnnzooError(f"betas must be two numbers in [0, 1), got {self.betas}")
        if not all(0 < m <= MAX_STEPS for m in self.milestones) or list(self.milestones) != sorted(self.milestones):
            raise CnnzooError(f"milestones must be positive, finite and increasing, got {self.milestones}")
        if not (self.device in ("auto", "cpu", "cuda", "mps") or self.device.startswith("cuda:")):
            raise CnnzooError(f"invalid device {self.device!r}; valid: auto, cpu, cuda, cuda:N, mps")
        for key in self.model_options:
            if not isinstance(key, str):
                raise CnnzooError(f"model option names must be strings, got {key!r}")
        self._check_together()

    def _check_together(self) -> None:
        """Settings that are each fine but cannot go together."""
        fine_tuning = [flag for flag, given in (("--num-classes", self.num_classes is not None),
                                                ("--freeze", self.freeze != "none"),
                                                ("--lr-head-mult", self.lr_head_mult != 1.0)) if given]  # fmt: skip
        if fine_tuning and not self.init_from:
            raise CnnzooError(f"{', '.join(fine_tuning)} fine-tune a trained model: give --init-from CHECKPOINT too")
        if self.warmup_epochs > 0 and self.warmup_steps > 0:
            raise CnnzooError("give warmup_epochs or warmup_steps, not both")
        if self.schedule == "multistep" and not self.milestones:
            raise CnnzooError(
                "schedule 'multistep' needs --milestones, e.g. --milestones 32000 48000 --milestone-unit steps"
            )
        if self.accumulate > self.data.batch_size:
            raise CnnzooError(
                f"accumulate {self.accumulate} splits each batch of {self.data.batch_size} images into micro-batches of "
                f"less than one image; use at most {self.data.batch_size}"
            )
        if self.patience is not None and self.data.resolved_val_size() == 0:
            raise CnnzooError("patience (early stopping) needs a validation set; drop --full-train or --val-size 0")

    def run_warnings(self, train_size: int, steps_per_epoch: int) -> list[str]:
        """Warn (and return the warnings) where the data or the length of training defeats the schedule asked for,
        or a setting has no effect or works against another.

        Not errors: a tiny split or a short test run is legitimate, but it should not pass without a word.
        """
        total_steps = min(self.epochs * steps_per_epoch, self.max_steps or math.inf)
        warmup = self.warmup_steps or round(self.warmup_epochs * steps_per_epoch)
        messages = []
        if self.data.batch_size > train_size:
            messages.append(
                f"batch_size {self.data.batch_size} is larger than the {train_size} training images: each epoch is one "
                f"step of {train_size} images; lower the batch size"
            )
        if warmup and warmup >= total_steps:
            messages.append(
                f"the warm-up ({warmup} steps) lasts the whole run ({total_steps} steps): the lr only rises and "
                "the schedule never decays it; shorten the warm-up (warmup_epochs or warmup_steps) or train longer"
            )
        if self.schedule == "multistep" and self.milestones:
            per = steps_per_epoch if self.milestone_unit == "epochs" else 1
            late = [m for m in self.milestones if round(m * per) >= total_steps]
            if late:
                messages.append(
                    f"milestones {late} ({self.milestone_unit}) fall after the last of {total_steps} steps "
                    "and never apply"
                )
        augment = self.data.augment
        if not (augment.mixup or augment.cutmix) and (augment.mix_prob, augment.cutmix_prob) != (1.0, 0.5):
            messages.append(
                "mix_prob and cutmix_prob apply to mixup and cutmix, which are off: give --mixup or --cutmix"
            )
        if self.tta != "none" and not augment.flip:
            messages.append(
                f"tta {self.tta!r} averages over flipped test images, but this run trains without --flip: the model "
                "never saw a flipped image and may lose accuracy on them; train with --flip or drop --tta"
            )
        for message in messages:
            warnings.warn(message, SettingWarning, stacklevel=2)
        return messages


# -------------------------------------------------------------------- the flat names of the fields
@dataclass(frozen=True)
class Leaf:
    """A setting as recipes and flags name it: where it lives in the config, its declaration, its type."""

    path: tuple[str, ...]  # ("data", "augment", "crop_padding")
    field: dataclasses.Field
    hint: Any


def _leaves(cls: type, path: tuple[str, ...] = ()) -> dict[str, Leaf]:
    """Every setting of a config dataclass and of the dataclasses it holds, by its flat name (runtime fields left out)."""
    hints = typing.get_type_hints(cls)
    out: dict[str, Leaf] = {}
    for f in fields(cls):
        if f.metadata.get("runtime"):
            continue
        if dataclasses.is_dataclass(hints[f.name]):
            out.update(_leaves(hints[f.name], path + (f.name,)))
        else:
            out[f.metadata.get("key", f.name)] = Leaf(path + (f.name,), f, hints[f.name])
    return out


def _build(cls: type, tree: dict[str, Any]) -> Any:
    """A config dataclass from a tree of its values; absent values keep their defaults."""
    hints = typing.get_type_hints(cls)
    nested = {name: _build(hints[name], value) for name, value in tree.items() if dataclasses.is_dataclass(hints[name])}
    return cls(**{**tree, **nested})


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        obj = getattr(obj, name)
    return obj


FIELDS: dict[str, Leaf] = _leaves(TrainConfig)
FIELD_NAMES = tuple(FIELDS)


# -------------------------------------------------------------------- loading recipes and merging


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


class RecipeLoader(yaml.SafeLoader):
    """YAML as recipes may write it: a key given twice is an error, not the last one silently winning, and
    aliases (&name / *name) are refused, so a few lines cannot expand into gigabytes ("billion laughs")."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.events.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "recipes may not use YAML aliases (*name); write the "
                                              "value out", mark)  # fmt: skip
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict:
        lines: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in lines:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} is given twice (lines {lines[key]} and {line}); keep one",
                    key_node.start_mark,
                )
            lines[key] = line
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """A recipe file as a dict of config keys (validated only for key names here)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise CnnzooError(f"cannot read config file {path}: {err.strerror or err}") from None
    try:
        values = yaml.load(text, Loader=RecipeLoader)
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


def recipe_values(config: str | Path | None, flags: dict[str, Any], model_options: dict[str, Any]) -> dict[str, Any]:
    """defaults < recipe < flags, as the command line gives them: the recipe is `config`'s (a packaged name or a
    file), else the model's own for its dataset (`recipe: none` in the flags: no recipe); -o options add to the
    recipe's `model_options`.
    """
    flags = dict(flags)
    values: dict[str, Any] = {}
    if config:
        values = load_config_file(config)
    elif str(flags.get("recipe", "")).lower() == "none":
        flags["recipe"] = None  # --recipe none: the plain defaults, not the model's recipe
    elif "model" in flags and "recipe" not in flags:
        values = _model_recipe_values(flags["model"], flags.get("data"), model_options)
    values.update(flags)
    if model_options:
        base = values.get("model_options") or {}
        if not isinstance(base, dict):
            raise CnnzooError(f"model_options in {config} must be a mapping of KEY: VALUE, got {base!r}")
        values["model_options"] = {**base, **model_options}
    return values


def _model_recipe_values(model: str, data: str | None, options: dict[str, Any]) -> dict[str, Any]:
    """The model's own recipe, where it names one for this dataset (a CIFAR-10 recipe says nothing about digits)."""
    path = model_recipe(model, options)
    if path is None:
        return {}
    values = load_yaml(path)
    if data is not None and data != values.get("data"):
        return {}
    values["recipe"] = recipe_label(path)
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


def coerce(key: str, value: Any) -> Any:
    """Turn YAML/CLI values into the field's type: '1e-3' → 0.001, 'true' → True, '5' → 5 (or 0.5 → fraction)."""
    if key == "compile" and (isinstance(value, bool) or str(value).lower() in ("true", "false")):
        return "default" if str(value).lower() == "true" else "none"  # recipes and checkpoints from before modes
    return _coerce(key, FIELDS[key].hint, value)


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
        return _integer(key, value)
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


def _integer(key: str, value: Any) -> int:
    """'42', 42, 42.0 or '1e3' as an int; digits are read as digits, so 2**53 + 1 keeps its last bit."""
    try:
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                value = float(value)  # '1e3', '64000.0'
        if isinstance(value, bool) or not float(value).is_integer():
            raise ValueError
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise CnnzooError(f"{key} must be an integer, got {value!r}") from None


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


class SettingWarning(UserWarning):
    """The run will train, but not as its settings suggest (see `TrainConfig.run_warnings`)."""


# (field, its choices) of every field with a fixed list of values.
_CHOICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("optimizer", OPTIMIZERS),
    ("schedule", SCHEDULES),
    ("milestone_unit", UNITS),
    ("precision", PRECISIONS),
    ("compile", COMPILE_MODES),
    ("lr_scaling", LR_SCALINGS),
    ("tta", TTA_MODES),
    ("freeze", FREEZE_MODES),
)

# (field, lowest, highest, lowest excluded, highest excluded) of every number; None (an optional field) passes.
_FLOAT_RANGES: tuple[tuple[str, float, float, bool, bool], ...] = (
    ("lr_head_mult", 0.0, 1000.0, True, False),
    ("momentum", 0.0, 1.0, False, True),
    ("weight_decay", 0.0, 1.0, False, True),  # decay x lr per step: 1 would erase the weights
    ("gamma", 0.0, 1.0, True, False),
    ("warmup_epochs", 0.0, MAX_EPOCHS, False, False),
    ("warmup_factor", 0.0, 1.0, True, False),
    ("min_lr_factor", 0.0, 1.0, False, False),
    ("onecycle_pct", 0.0, 1.0, True, True),
    ("onecycle_div", 1.0, math.inf, False, False),
    ("label_smoothing", 0.0, 1.0, False, True),
    ("aux_weight", 0.0, math.inf, False, False),
    ("ema_decay", 0.0, 1.0, True, True),
)

# (field, lowest, highest) of every integer field; None values (optional fields) are not checked.
_INT_RANGES: tuple[tuple[str, int, int], ...] = (
    ("epochs", 1, MAX_EPOCHS),
    ("max_steps", 1, MAX_STEPS),
    ("accumulate", 1, MAX_BATCH_SIZE),
    ("lr_base_batch", 1, MAX_BATCH_SIZE),
    ("log_every", 1, MAX_STEPS),
    ("checkpoint_every", 1, MAX_EPOCHS),
    ("warmup_steps", 0, MAX_STEPS),
    ("patience", 1, MAX_EPOCHS),
    ("seed", 0, MAX_SEED),
    ("num_classes", 1, 100_000),  # ImageNet-21k has 21,841
)
