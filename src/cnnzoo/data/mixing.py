"""Mixup (Zhang et al., 2018) and cutmix (Yun et al., 2019): whole batches mixed with a permutation of themselves.

Per batch, one weight lam ~ Beta(alpha, alpha) and one permutation: mixup blends every image with its partner,
lam·x + (1 - lam)·x[perm]; cutmix pastes the partner's box of about (1 - lam) of the area and sets lam to the
area actually kept. The labels are mixed the same way, as (B, classes) weights: cross-entropy is linear in its
target, so CE(logits, lam·onehot(a) + (1 - lam)·onehot(b)) = lam·CE(a) + (1 - lam)·CE(b), label smoothing
included, and the training step needs no other change; its accuracy counts the dominant label (the argmax).
Every batch of a mixing loader has such targets, mixed or not (mix_prob < 1), so a compiled step sees one shape.

The draws come from a generator seeded by (seed, epoch) only, batch after batch, so an epoch mixes the same way
on every device and whatever came before.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnzoo.data.base import epoch_seed
from cnnzoo.data.spec import Augment

Box = tuple[int, int, int, int]
_MIX_STREAM = 0x6D6978  # keeps the mixing draws apart from the epoch's order and crops, which share its seed


class BatchMixer:
    """Mixes the batches of one epoch in order: `mixer(images, labels)` → (mixed images, (B, classes) targets)."""

    def __init__(self, augment: Augment, num_classes: int, seed: int, epoch: int) -> None:
        self.augment = augment
        self.num_classes = num_classes
        self.rng = np.random.default_rng([epoch_seed(seed, epoch), _MIX_STREAM])

    def draw(self, n: int, height: int, width: int) -> tuple[np.ndarray | None, float, Box | None]:
        """This batch's permutation (None: unmixed), lam, and cutmix box (top, bottom, left, right) or None."""
        aug, rng = self.augment, self.rng
        if rng.random() >= aug.mix_prob:
            return None, 1.0, None
        use_cutmix = aug.cutmix > 0 and (aug.mixup == 0 or rng.random() < aug.cutmix_prob)
        lam = float(rng.beta(aug.cutmix, aug.cutmix) if use_cutmix else rng.beta(aug.mixup, aug.mixup))
        perm = rng.permutation(n)
        if not use_cutmix:
            return perm, lam, None
        # A box of side ratio sqrt(1 - lam) centred anywhere, clipped to the image; lam becomes the area kept.
        ratio = np.sqrt(1.0 - lam)
        cut_h, cut_w = int(height * ratio), int(width * ratio)
        cy, cx = int(rng.integers(height)), int(rng.integers(width))
        top, bottom = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, height)
        left, right = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, width)
        lam = 1.0 - (bottom - top) * (right - left) / (height * width)
        return perm, lam, (top, bottom, left, right)

    def __call__(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mix a normalised float batch in place; the targets are the labels' one-hot rows mixed alike."""
        n, _, height, width = images.shape
        targets = F.one_hot(labels, self.num_classes).to(torch.float32)
        perm, lam, box = self.draw(n, height, width)
        if perm is None:
            return images, targets
        perm = torch.from_numpy(perm).to(images.device, non_blocking=True)
        if box is None:
            partners = images[perm]  # gathered before the in-place blend overwrites them
            images.mul_(lam).add_(partners, alpha=1.0 - lam)
        else:
            top, bottom, left, right = box
            images[:, :, top:bottom, left:right] = images[perm, :, top:bottom, left:right]
        return images, targets * lam + targets[perm] * (1.0 - lam)


def batch_mixer(augment: Augment, num_classes: int, seed: int, epoch: int) -> BatchMixer | None:
    """The epoch's mixer, or None when the augmentation mixes nothing (the loader yields int labels as before)."""
    return BatchMixer(augment, num_classes, seed, epoch) if augment.mixes else None
