"""Parameter and multiply-add counts, the numbers every other table is built from.

Multiply-adds come from PyTorch's own FLOP counter (`torch.utils.flop_counter`), which counts convolutions
and matrix products (2 FLOPs per multiply-add) and nothing else, the convention of the ResNet paper's
Table 1. The model runs on the meta device, so counting a ResNet-152 costs no arithmetic.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (shared ones counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_macs(model: nn.Module, input_size: Sequence[int], eval_mode: bool = True) -> int:
    """Multiply-adds of one forward pass for a single image of `input_size` (C, H, W)."""
    meta_model = copy.deepcopy(model).to("meta")
    meta_model.train(not eval_mode)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        meta_model(torch.empty(1, *input_size, device="meta"))
    return counter.get_total_flops() // 2
