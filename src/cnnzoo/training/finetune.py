"""Fine-tuning: start from trained weights with a new classifier, other input channels, frozen features.

Which tensors are "the classifier" and "the input layer" is found the same way for every family: the tensors
whose shapes change with `num_classes` (the last linear layer, NiN's last convolution, GoogLeNet's auxiliary
classifiers) or with `in_chans` (the first convolution), comparing two builds of the model on the meta device.

    transfer_weights(model, weights, ...)  every tensor but the classifier (left as initialised) into `model`;
                                           first-layer filters adapted to the new number of input channels
    freeze_features(model, ...)            requires_grad off for everything but the classifier
    head_lr_groups(groups, model, ...)     the classifier's parameters in groups of their own, lr × a factor
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from cnnzoo.errors import CnnzooError
from cnnzoo.models import create_model
from cnnzoo.training.checkpoint import weight_problems


def tensors_sized_by(model_name: str, options: dict[str, Any], what: str) -> set[str]:
    """Names of the state_dict tensors whose shape follows `what` ("num_classes" or "in_chans")."""
    builds = []
    for size in (7, 11) if what == "num_classes" else (2, 5):
        sizes = {"num_classes": 10, "in_chans": 3, what: size}
        with torch.device("meta"):
            builds.append(create_model(model_name, **sizes, **options).state_dict())
    first, second = builds
    return {name for name in first if name in second and first[name].shape != second[name].shape}


def adapt_input_channels(weight: torch.Tensor, channels: int) -> torch.Tensor:
    """First-layer filters for `channels` inputs: RGB summed into grey, grey spread evenly over RGB.

    Summing is exact for a grey image: convolving it with the summed filter equals convolving the same image
    repeated in R, G and B with the original filters. Spreading divides by the channel count so that a grey
    image repeated on every channel gives the old response.
    """
    have = weight.shape[1]
    if channels == 1:
        return weight.sum(dim=1, keepdim=True)
    if have == 1:
        return weight.repeat(1, channels, *([1] * (weight.dim() - 2))) / channels
    raise CnnzooError(
        f"cannot adapt first-layer filters from {have} to {channels} input channels (only to or from 1); "
        "train on data with the checkpoint's channels"
    )


def transfer_weights(
    model: nn.Module,
    weights: dict[str, torch.Tensor],
    *,
    model_name: str,
    options: dict[str, Any],
    new_head: bool,
    source: str,
) -> list[str]:
    """Load every tensor of `weights` into `model` but the classifier's (with `new_head`); returns what changed.

    The classifier keeps the model's own initialisation. Where the model takes another number of input
    channels than the weights, the first layer's filters are adapted (`adapt_input_channels`). Any other
    mismatch (another network, options, missing tensors) is a one-line error.
    """
    own = model.state_dict()
    head = tensors_sized_by(model_name, options, "num_classes") if new_head else set()
    stem = tensors_sized_by(model_name, options, "in_chans")
    notes = []
    kept = {}
    for name, tensor in weights.items():
        if name in head:
            continue
        if name in stem and name in own and tensor.dim() == own[name].dim() and tensor.shape[1] != own[name].shape[1]:
            notes.append(
                f"{name}: filters for {tensor.shape[1]} input channel(s) "
                f"{'summed into' if own[name].shape[1] == 1 else 'spread over'} {own[name].shape[1]}"
            )
            tensor = adapt_input_channels(tensor, own[name].shape[1])
        kept[name] = tensor
    problems = weight_problems({k: v for k, v in own.items() if k not in head}, kept)
    if problems:
        raise CnnzooError(
            f"the weights in {source} do not fit model {model_name!r}: {'; '.join(problems)}. Were they saved for "
            "another model or other model options?"
        )
    model.load_state_dict({**own, **kept})
    if head:
        count = sum(own[name].numel() for name in head)
        notes.insert(0, f"new classifier ({', '.join(sorted(head))}; {count:,} values), initialised afresh; "
                        f"{len(kept)} other tensors kept")  # fmt: skip
    return notes


def head_parameters(model: nn.Module, model_name: str, options: dict[str, Any]) -> list[nn.Parameter]:
    """The classifier's parameters (those sized by num_classes)."""
    head = tensors_sized_by(model_name, options, "num_classes")
    return [p for name, p in model.named_parameters() if name in head]


def freeze_features(model: nn.Module, model_name: str, options: dict[str, Any]) -> int:
    """Stop gradients to every parameter but the classifier's; returns how many values stay trainable.

    BatchNorm's running statistics are buffers, not parameters: in training mode they still follow the new
    data, which suits data unlike the checkpoint's (another dataset, grey images).
    """
    trainable = {id(p) for p in head_parameters(model, model_name, options)}
    for p in model.parameters():
        p.requires_grad_(id(p) in trainable)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def head_lr_groups(groups: list[dict], model: nn.Module, model_name: str, options: dict[str, Any], lr: float,
                   mult: float) -> list[dict]:  # fmt: skip
    """Each optimizer group split in two: the classifier's parameters get lr × mult, the rest keep lr."""
    head = {id(p) for p in head_parameters(model, model_name, options)}
    out = []
    for group in groups:
        body = [p for p in group["params"] if id(p) not in head]
        mine = [p for p in group["params"] if id(p) in head]
        if body:
            out.append({**group, "params": body})
        if mine:
            out.append({**group, "params": mine, "lr": lr * mult})
    return out
