"""Test-time augmentation: average a model's logits over a few fixed views of each test image.

    none             the image itself
    flip             the image and its horizontal mirror, weighted 1/2 each
    flip-translate   as flip, plus both mirrors shifted by one pixel down-right and one pixel up-left:
                     unshifted pair 1/2, each shifted pair 1/4 (the views and weights airbench94 uses)

Shifted views fill the uncovered row and column by reflection (the pixel next to the border), so no view
has a black edge the training crops never showed. The loop reports TTA accuracy apart from the plain test
accuracy (results.json `test_tta` beside `test`); validation, and so model selection, stays plain.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

TTA_VIEWS = {"none": 1, "flip": 2, "flip-translate": 6}


def translate(images: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Shift NCHW images by (dy, dx) pixels (positive: down, right), padding by reflection; same shape."""
    pad = max(abs(dy), abs(dx))
    padded = F.pad(images, (pad, pad, pad, pad), mode="reflect")
    height, width = images.shape[-2:]
    top, left = pad - dy, pad - dx
    return like_format(padded[..., top : top + height, left : left + width], images)


def like_format(view: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """The view in the memory format of the images: every view of a batch then replays one compiled graph."""
    if images.dim() == 4 and images.shape[1] > 1 and images.is_contiguous(memory_format=torch.channels_last):
        return view.contiguous(memory_format=torch.channels_last)
    return view.contiguous()


def views(images: torch.Tensor, mode: str) -> list[tuple[float, torch.Tensor]]:
    """The (weight, view) pairs of a TTA mode; the weights sum to 1."""
    if mode == "none":
        return [(1.0, images)]
    flipped = like_format(images.flip(-1), images)
    if mode == "flip":
        return [(0.5, images), (0.5, flipped)]
    if mode == "flip-translate":
        shifted = [translate(v, d, d) for d in (1, -1) for v in (images, flipped)]
        return [(0.25, images), (0.25, flipped)] + [(0.125, v) for v in shifted]
    raise ValueError(f"unknown TTA mode {mode!r}; valid: {', '.join(TTA_VIEWS)}")


def tta_logits(logits_of: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, mode: str) -> torch.Tensor:
    """The weighted mean of `logits_of` over the mode's views (mode none: `logits_of(images)` itself)."""
    pairs = views(images, mode)
    if len(pairs) == 1:
        return logits_of(images)
    total = None
    for weight, view in pairs:
        part = weight * logits_of(view)  # a new tensor now: a replayed graph may reuse its output buffer
        total = part if total is None else total + part
    return total
