"""Parameter and multiply-add counts, the numbers every other table is built from.

Multiply-adds come from PyTorch's own FLOP counter (`torch.utils.flop_counter`), which counts convolutions
and matrix products (2 FLOPs per multiply-add) and nothing else, the convention of the ResNet paper's
Table 1. The model runs on the meta device, so counting a ResNet-152 costs no arithmetic.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from cnnzoo.io import atomic_write


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (shared ones counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_macs(model: nn.Module, input_size: Sequence[int], eval_mode: bool = True) -> int:
    """Multiply-adds of one forward pass for a single image of `input_size` (C, H, W): half PyTorch's FLOPs."""
    return count_flops(model, input_size, eval_mode) // 2


def count_flops(model: nn.Module, input_size: Sequence[int], eval_mode: bool = True) -> int:
    """PyTorch's FLOP count of one forward pass for a single image of `input_size` (C, H, W): 2 per multiply-add.

    A model already on the meta device is counted as it is (no copy); BatchNorm, ReLU, dropout and LRN layers,
    which the FLOP counter does not count but whose meta kernels are slow, are skipped during the pass. Both
    keep `cnnzoo models` fast.
    """
    on_meta = all(p.is_meta for p in model.parameters())
    meta_model = model if on_meta else copy.deepcopy(model).to("meta")
    was_training = meta_model.training
    meta_model.train(not eval_mode)
    counter = FlopCounterMode(display=False)
    try:
        with _without_uncounted_layers(meta_model), counter, torch.no_grad():
            meta_model(torch.empty(1, *input_size, device="meta"))
    finally:
        meta_model.train(was_training)
    return counter.get_total_flops()


def default_counts(names: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(parameters, multiply-adds) of registered models at their default config, kept in the cache folder.

    Building and counting all 35 models on the meta device takes seconds on a CPU, on every `cnnzoo models`; the
    counts change only with the model code or torch, which the cache file's name is a digest of.
    """
    path = _counts_cache()
    try:
        cached = json.loads(path.read_text())
    except (OSError, ValueError):
        cached = {}
    missing = [name for name in names if name not in cached]
    if missing:
        from cnnzoo.models import create_model, get_model_config

        for name in missing:
            with torch.device("meta"):  # no memory, no initialisation arithmetic
                model = create_model(name)
            cached[name] = [count_params(model), count_macs(model, get_model_config(name).input_size)]
        with contextlib.suppress(OSError):  # a read-only cache only costs time
            atomic_write(path, lambda f: f.write(json.dumps(cached).encode()))
    return {name: tuple(cached[name]) for name in names}


def _counts_cache() -> Path:
    """The counts' cache file, named by a digest of torch's version and cnnzoo's model and counting code."""
    from cnnzoo.data.cache import default_cache_dir

    digest = hashlib.sha256(torch.__version__.encode())
    models = sorted((f for f in resources.files("cnnzoo.models").iterdir() if f.name.endswith(".py")), key=str)
    for source in [*models, resources.files("cnnzoo.inspect") / "counts.py"]:
        digest.update(source.read_bytes())
    return default_cache_dir() / "counts" / f"{digest.hexdigest()[:16]}.json"


# Layers that keep their input's shape and have no multiply-adds (the FLOP counter counts none of theirs).
_UNCOUNTED = (nn.modules.batchnorm._BatchNorm, nn.ReLU, nn.Dropout, nn.LocalResponseNorm)


@contextlib.contextmanager
def _without_uncounted_layers(model: nn.Module) -> Iterator[None]:
    """Replace those layers by the identity for the duration (same shapes, same count), then restore them."""
    swapped = []
    for name, module in list(model.named_modules()):
        if isinstance(module, _UNCOUNTED) and name:
            parent_name, _, attr = name.rpartition(".")
            parent = model.get_submodule(parent_name)
            setattr(parent, attr, nn.Identity())
            swapped.append((parent, attr, module))
    try:
        yield
    finally:
        for parent, attr, module in swapped:
            setattr(parent, attr, module)


# Autograd nodes of the weight layers: convolutions, and linear layers (addmm with a bias, mm without).
_WEIGHT_NODES = ("ConvolutionBackward", "AddmmBackward", "MmBackward")


def count_depth(model: nn.Module, input_size: Sequence[int]) -> int:
    """Weight layers (convolutions and linear layers) on the longest path from input to output, in eval mode.

    The papers' "depth": 18 for ResNet-18 (a projection shortcut is a shorter path), 16 for VGG-16, 22 for
    GoogLeNet (an inception module adds two: a 1x1 reduction then its 3x3 or 5x5), 8 for AlexNet. Measured on
    the autograd graph of one forward pass on the meta device, so any wiring is followed as it runs.
    """
    on_meta = all(p.is_meta for p in model.parameters())
    meta_model = model if on_meta else copy.deepcopy(model).to("meta")
    was_training = meta_model.training
    meta_model.eval()
    try:
        with torch.enable_grad():
            x = torch.empty(1, *input_size, device="meta", requires_grad=True)
            out = meta_model(x)
    finally:
        meta_model.train(was_training)
    while isinstance(out, (tuple, list)):
        out = out[0]
    return _longest_weight_path(out.grad_fn)


def _longest_weight_path(root) -> int:
    """Longest chain of weight-layer nodes below `root` in the autograd graph (iterative: graphs are deep)."""
    if root is None:
        return 0
    depth: dict = {}
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if node in depth:
            continue
        children = [child for child, _ in node.next_functions if child is not None]
        if not expanded:
            stack.append((node, True))
            stack.extend((child, False) for child in children if child not in depth)
            continue
        own = 1 if type(node).__name__.startswith(_WEIGHT_NODES) else 0
        depth[node] = own + max((depth[child] for child in children), default=0)
    return depth[root]
