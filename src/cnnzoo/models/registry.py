"""The model registry: names → builder functions, each with the default config that travels with the model.

A family module registers its public builders with `@register_model(cfg)`. A builder only picks a row of
the family's table and passes the user's options on; the family class declares the options it accepts as
keyword-only arguments, which is how `create_model` validates them and names the valid ones in its error.
"""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import torch.nn as nn
import yaml

from cnnzoo.errors import CnnzooError, unknown_choice

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


IMAGENET_CFG = ModelConfig()
CIFAR_CFG = ModelConfig(
    input_size=(3, 32, 32), min_input_size=(3, 8, 8), mean=CIFAR10_MEAN, std=CIFAR10_STD, num_classes=10
)

# A config, or a function of the user's options giving one (e.g. `small_input=True` changes the input size).
ConfigSource = ModelConfig | Callable[[dict[str, Any]], ModelConfig]


@dataclass(frozen=True)
class _Entry:
    name: str
    builder: Callable[..., nn.Module]
    cfg: ConfigSource
    builds: type | None
    options: tuple[str, ...] = field(default=())


_REGISTRY: dict[str, _Entry] = {}


def _keyword_only(fn: Callable[..., Any]) -> list[str]:
    return [p.name for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY]


def register_model(cfg: ConfigSource, builds: type | None = None) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register a builder under its function name; `builds` is the family class whose options it passes on."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        name = builder.__name__
        if name in _REGISTRY:
            raise RuntimeError(f"model {name!r} registered twice")
        options = set(_keyword_only(builder))
        if builds is not None:
            options |= set(_keyword_only(builds.__init__))
        options -= {"num_classes", "in_chans"}
        _REGISTRY[name] = _Entry(name, builder, cfg, builds, tuple(sorted(options)))
        return builder

    return decorate


def _entry(name: str) -> _Entry:
    if name not in _REGISTRY:
        raise unknown_choice("model", name, _REGISTRY)
    return _REGISTRY[name]


def list_models(pattern: str | None = None) -> list[str]:
    """Registered model names, sorted, optionally filtered by a shell-style pattern like 'resnet*'."""
    names = sorted(_REGISTRY)
    return [n for n in names if fnmatch.fnmatch(n, pattern)] if pattern else names


def model_options(name: str) -> tuple[str, ...]:
    """The keyword options `create_model(name, ...)` accepts besides num_classes and in_chans."""
    return _entry(name).options


def check_model_options(name: str, options: dict[str, Any]) -> None:
    """Raise a CnnzooError naming the valid options when `options` has one the model lacks (or the name is unknown)."""
    valid = model_options(name)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise CnnzooError(
            f"model {name!r} has no option {', '.join(map(repr, unknown))}. Valid options: {', '.join(valid) or 'none'}"
        )


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


def get_model_config(name: str, num_classes: int | None = None, in_chans: int | None = None, **options: Any) -> ModelConfig:
    """The default config of a model built with these arguments, without building it."""
    entry = _entry(name)
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


def create_model(name: str, num_classes: int | None = None, in_chans: int | None = None, **options: Any) -> nn.Module:
    """Build a registered model by name, like timm's `create_model`; unknown names or options raise CnnzooError."""
    entry = _entry(name)
    check_model_options(name, options)
    if num_classes is not None and num_classes < 1:
        raise CnnzooError(f"num_classes must be at least 1, got {num_classes}")
    if in_chans is not None and in_chans < 1:
        raise CnnzooError(f"in_chans must be at least 1, got {in_chans}")
    cfg = get_model_config(name, num_classes, in_chans, **options)
    model = entry.builder(num_classes=cfg.num_classes, in_chans=cfg.input_size[0], **options)
    model.default_cfg = cfg
    model.model_name = name
    return model
