"""The model registry: names → builder functions, each with the default config that travels with the model.

A family module registers its public builders with `@register_model(cfg, builds=..., options=...)`. A builder
only picks a row of the family's table and passes the user's options on; the family class declares the
options it accepts as keyword-only arguments, and the family module declares each option's type, allowed
values and a one-line description as data (`Option`) next to its table. `check_model_options` checks names,
types and ranges in one place, for `create_model`, the command line's `-o KEY=VALUE` and training configs.
"""

from __future__ import annotations

import fnmatch
import functools
import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch.nn as nn
import yaml

from cnnzoo.errors import CnnzooError, check_choice, unknown_choice
from cnnzoo.models.features import FeatureExtractor

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


@dataclass(frozen=True)
class ModelConfig:
    """What a model expects of its input, in the spirit of timm's pretrained configs."""

    input_size: tuple[int, int, int] = (3, 224, 224)
    min_input_size: tuple[int, int, int] = (3, 32, 32)
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    num_classes: int = 1000
    family: str = ""
    paper: str = ""
    recipe: str = ""  # its training recipe for CIFAR-10-sized data: recipes/<recipe>.yaml (see training/recipes.py)


IMAGENET_CFG = ModelConfig()
CIFAR_CFG = ModelConfig(
    input_size=(3, 32, 32), min_input_size=(3, 8, 8), mean=CIFAR10_MEAN, std=CIFAR10_STD, num_classes=10
)

# A config, or a function of the user's options giving one (e.g. `small_input=True` changes the input size).
ConfigSource = ModelConfig | Callable[[dict[str, Any]], ModelConfig]


@dataclass(frozen=True)
class Option:
    """What one model option accepts: a type (bool, int, float or str), choices or a range, and what it does."""

    type: type
    description: str
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None

    def accepts(self) -> str:
        """The allowed values in words, e.g. "true or false", "one of 'A', 'B'", "a number in [0, 1]"."""
        if self.type is bool:
            return "true or false"
        if self.choices:
            return "one of " + ", ".join(map(repr, self.choices))
        kind = {int: "an integer", float: "a number", str: "a string"}.get(self.type, "any value")
        if self.low is not None and self.high is not None:
            return f"{kind} in [{self.low:g}, {self.high:g}]"
        if self.low is not None:
            return f"{kind} >= {self.low:g}"
        return kind

    def check(self, model: str, key: str, value: Any, default: Any = ...) -> None:
        """Raise a one-line CnnzooError unless `value` is of the declared type and within its range or choices."""
        if value is None and default is None:
            return  # None is the option's own default: "decide from the other options"
        if self.type is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        else:
            ok = isinstance(value, self.type) and (self.type is bool or not isinstance(value, bool))
        if ok and self.choices:
            check_choice(key, value, self.choices)
        ok = ok and (self.low is None or value >= self.low) and (self.high is None or value <= self.high)
        if not ok:
            raise CnnzooError(
                f"{model}: option {key} must be {self.accepts()}, got {value!r}; see `cnnzoo models {model}`"
            )


# An option its registration does not declare (a model registered outside cnnzoo): passed on unchecked.
UNDECLARED = Option(object, "not declared by the model's registration; passed on unchecked")

# num_classes and in_chans, which every model takes; checked like the options. Their bounds are what they mean:
# ImageNet-21k has 21,841 classes (10**12 asked for a classifier of terabytes); images have a few channels.
COMMON_OPTIONS: dict[str, Option] = {
    "num_classes": Option(int, "number of classes of the classifier", low=1, high=100_000),
    "in_chans": Option(int, "number of input channels", low=1, high=64),
}


@dataclass(frozen=True)
class _Entry:
    name: str
    builder: Callable[..., nn.Module]
    cfg: ConfigSource
    builds: type | None
    options: dict[str, Option] = field(default_factory=dict)  # by name, sorted
    defaults: dict[str, Any] = field(default_factory=dict)  # each option's default in this model
    overrides: dict[str, Any] = field(default_factory=dict)  # where those differ from the signatures'


_REGISTRY: dict[str, _Entry] = {}


def _keyword_defaults(fn: Callable[..., Any]) -> dict[str, Any]:
    return {p.name: p.default for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY}


def register_model(
    cfg: ConfigSource,
    builds: type | None = None,
    options: dict[str, Option] | None = None,
    defaults: dict[str, Any] | None = None,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register a builder under its function name.

    `builds` is the family class whose keyword-only options the builder passes on; `options` declares them
    (type, range, description; cnnzoo's families declare every one, an undeclared one is passed on unchecked);
    `defaults` are this model's own defaults where they differ from the signatures', applied before the
    user's options however the builder is called.
    """

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        name = builder.__name__
        if name in _REGISTRY:
            raise RuntimeError(f"model {name!r} registered twice")
        found = _keyword_defaults(builds.__init__) if builds is not None else {}
        found.update(_keyword_defaults(builder))
        found.update(defaults or {})
        for key in COMMON_OPTIONS:
            found.pop(key, None)
        declared = {key: (options or {}).get(key, UNDECLARED) for key in sorted(found)}
        overrides = dict(defaults or {})

        @functools.wraps(builder)
        def build(**kwargs: Any) -> nn.Module:  # the model's own defaults, however it is called
            return builder(**{**overrides, **kwargs})

        _REGISTRY[name] = _Entry(name, build, cfg, builds, declared, {key: found[key] for key in declared}, overrides)
        return build

    return decorate


def _entry(name: str) -> _Entry:
    if not isinstance(name, str):
        raise CnnzooError(f"a model name must be a string such as 'resnet18', got {name!r}")
    if name not in _REGISTRY:
        raise unknown_choice("model", name, _REGISTRY)
    return _REGISTRY[name]


def list_models(pattern: str | None = None) -> list[str]:
    """Registered model names, sorted, optionally filtered by a shell-style pattern like 'resnet*'."""
    if pattern is not None and not isinstance(pattern, str):
        raise CnnzooError(f"a model name pattern must be a string such as 'resnet*', got {pattern!r}")
    names = sorted(_REGISTRY)
    return [n for n in names if fnmatch.fnmatch(n, pattern)] if pattern else names


def model_options(name: str) -> tuple[str, ...]:
    """The keyword options `create_model(name, ...)` accepts besides num_classes and in_chans."""
    return tuple(_entry(name).options)


def option_specs(name: str) -> list[tuple[str, Option, Any]]:
    """Each option of a model with its declaration and its default in this model, by name."""
    entry = _entry(name)
    return [(key, spec, entry.defaults[key]) for key, spec in entry.options.items()]


def check_model_options(name: str, options: dict[str, Any]) -> None:
    """The one check of model options: unknown names (naming the valid ones), types, ranges and choices.

    `num_classes` and `in_chans` may be among `options`; they are checked too.
    """
    entry = _entry(name)
    if not isinstance(options, dict):
        raise CnnzooError(f"model options must be a mapping of option names to values, got {options!r}")
    unknown = sorted(set(options) - set(entry.options) - set(COMMON_OPTIONS), key=str)
    if unknown:
        valid = ", ".join(entry.options) or "none"
        raise CnnzooError(f"model {name!r} has no option {', '.join(map(repr, unknown))}. Valid options: {valid}")
    for key, value in options.items():
        if key in COMMON_OPTIONS:
            COMMON_OPTIONS[key].check(name, key, value)
        else:
            entry.options[key].check(name, key, value, entry.defaults[key])


def parse_model_options(items: list[str] | None) -> dict[str, Any]:
    """The command line's `-o small_input=true -o dropout=0.5` → {'small_input': True, 'dropout': 0.5} (YAML scalars)."""
    options: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise CnnzooError(f"malformed option {item!r}: expected KEY=VALUE, e.g. -o small_input=true")
        try:
            options[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            options[key.strip()] = raw  # not a YAML scalar: keep the text as it was typed
    return options


def get_model_config(
    name: str, num_classes: int | None = None, in_chans: int | None = None, **options: Any
) -> ModelConfig:
    """The default config of a model built with these arguments, without building it."""
    entry = _entry(name)
    given = {"num_classes": num_classes, "in_chans": in_chans}
    check_model_options(name, {**options, **{k: v for k, v in given.items() if v is not None}})
    options = {**entry.overrides, **options}
    cfg = entry.cfg(options) if callable(entry.cfg) else entry.cfg
    if num_classes is not None:
        cfg = replace(cfg, num_classes=num_classes)
    if in_chans is not None:
        cfg = replace(
            cfg,
            input_size=(in_chans, *cfg.input_size[1:]),
            min_input_size=(in_chans, *cfg.min_input_size[1:]),
            mean=_per_channel(cfg.mean, in_chans),
            std=_per_channel(cfg.std, in_chans),
        )
    return cfg


def _per_channel(values: tuple[float, ...], channels: int) -> tuple[float, ...]:
    if len(values) == channels:
        return values
    mean = sum(values) / len(values)
    return (mean,) * channels


def create_model(
    name: str,
    num_classes: int | None = None,
    in_chans: int | None = None,
    *,
    features_only: bool = False,
    out_indices: int | Sequence[int] | None = None,
    **options: Any,
) -> nn.Module:
    """Build a registered model by name, like timm's `create_model`; unknown names or options raise CnnzooError.

    With `features_only=True`, the model's layers up to its last stage asked for, returning a list of stage maps
    (`out_indices`: stage indices, default all; an int n, the last n); its `feature_info` gives their channels
    and reductions. The stages are the family's `feature_info`.
    """
    if out_indices is not None and not features_only:
        raise CnnzooError(f"{name}: out_indices picks the stages of features_only=True; add features_only=True")
    cfg = get_model_config(name, num_classes, in_chans, **options)  # checks every option
    model = _entry(name).builder(num_classes=cfg.num_classes, in_chans=cfg.input_size[0], **options)
    model.default_cfg = cfg
    model.model_name = name
    if features_only:
        return FeatureExtractor(model, out_indices)
    return model
