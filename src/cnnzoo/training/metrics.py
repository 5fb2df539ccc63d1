"""Classification metrics accumulated on the device: sums and a confusion matrix, read back once.

`update` only launches tensor ops (no `.item()`, no host sync), so it costs nothing on the GPU's critical
path; `compute` is called at the end of an epoch or at a progress refresh and syncs once.
"""

from __future__ import annotations

import torch


class ClassificationMeter:
    """Loss, top-1, top-k and the confusion matrix (rows: true class, columns: predicted) over many batches."""

    def __init__(
        self, num_classes: int, device: torch.device | str = "cpu", topk: int = 5, confusion: bool = True
    ) -> None:
        self.num_classes = num_classes
        self.k = min(topk, num_classes)
        self.device = torch.device(device)
        sum_dtype = torch.float32 if self.device.type == "mps" else torch.float64
        self.loss_sum = torch.zeros((), dtype=sum_dtype, device=self.device)
        self.correct1 = torch.zeros((), dtype=torch.int64, device=self.device)
        self.correctk = torch.zeros((), dtype=torch.int64, device=self.device)
        self.count = torch.zeros((), dtype=torch.int64, device=self.device)
        self.confusion = (
            torch.zeros(num_classes * num_classes, dtype=torch.int64, device=self.device) if confusion else None
        )

    @torch.no_grad()
    def update(self, logits: torch.Tensor, targets: torch.Tensor, loss: torch.Tensor | None = None) -> None:
        """Add a batch; `loss` is the batch's mean loss (weighted by the batch size here)."""
        n = targets.shape[0]
        top = logits.topk(self.k, dim=1).indices
        hits = top.eq(targets[:, None])
        self.correct1 += hits[:, 0].sum()
        self.correctk += hits.any(dim=1).sum()
        self.count += n
        if loss is not None:
            self.loss_sum += loss.detach().to(self.loss_sum.dtype) * n
        if self.confusion is not None:
            self.confusion += torch.bincount(targets * self.num_classes + top[:, 0], minlength=self.num_classes**2)

    def compute(self) -> dict:
        """Plain numbers (one host sync): loss, top1, topk (fractions), count, confusion, per-class accuracy."""
        count = int(self.count.item())
        denom = max(count, 1)
        out = {
            "loss": float(self.loss_sum.item()) / denom,
            "top1": int(self.correct1.item()) / denom,
            "top5": int(self.correctk.item()) / denom,
            "count": count,
        }
        if self.confusion is not None:
            matrix = self.confusion.view(self.num_classes, self.num_classes).cpu()
            out["confusion"] = matrix.tolist()
            out["per_class"] = per_class_accuracy(matrix)
        return out


def per_class_accuracy(confusion: torch.Tensor) -> list[float | None]:
    """Recall of each class from a confusion matrix; None for a class with no examples."""
    totals = confusion.sum(dim=1)
    return [(int(confusion[i, i]) / int(t)) if t > 0 else None for i, t in enumerate(totals.tolist())]


def is_finite(value: torch.Tensor) -> bool:
    """One host sync: whether an accumulated loss is still a finite number."""
    return bool(torch.isfinite(value).item())
