"""Top-k, the confusion matrix and per-class accuracy against a hand-worked example."""

from __future__ import annotations

import pytest
import torch

from cnnzoo.training.metrics import ClassificationMeter, per_class_accuracy

# Three classes, four samples. Scores rank the classes; the hand-worked results follow each row.
LOGITS = torch.tensor(
    [
        [3.0, 2.0, 1.0],  # true 0: top-1 0 (hit)
        [3.0, 2.0, 1.0],  # true 1: top-1 0 (miss), top-2 {0, 1} (hit)
        [1.0, 2.0, 3.0],  # true 2: top-1 2 (hit)
        [1.0, 3.0, 2.0],  # true 0: top-1 1 (miss), top-2 {1, 2} (miss)
    ]
)
TARGETS = torch.tensor([0, 1, 2, 0])


def test_topk_and_confusion_against_hand_example():
    meter = ClassificationMeter(num_classes=3, topk=2)
    meter.update(LOGITS[:2], TARGETS[:2], torch.tensor(1.0))  # two batches: accumulation across updates
    meter.update(LOGITS[2:], TARGETS[2:], torch.tensor(3.0))
    out = meter.compute()
    assert out["count"] == 4
    assert out["top1"] == pytest.approx(2 / 4)
    assert out["top5"] == pytest.approx(3 / 4)  # top-k with k=2 here
    assert out["loss"] == pytest.approx((1.0 * 2 + 3.0 * 2) / 4)
    # rows: true class, columns: predicted class
    assert out["confusion"] == [[1, 1, 0], [1, 0, 0], [0, 0, 1]]
    assert out["per_class"] == [pytest.approx(0.5), 0.0, 1.0]


def test_top5_is_capped_at_the_number_of_classes():
    meter = ClassificationMeter(num_classes=3)  # top-5 of 3 classes: every sample is a hit
    meter.update(LOGITS, TARGETS)
    assert meter.compute()["top5"] == 1.0


def test_update_stays_on_the_device_without_host_reads(monkeypatch):
    """update() must not call .item() (a host sync per step); compute() may."""
    meter = ClassificationMeter(num_classes=3)
    calls = []
    real_item = torch.Tensor.item
    monkeypatch.setattr(torch.Tensor, "item", lambda self: calls.append(1) or real_item(self))
    meter.update(LOGITS, TARGETS, torch.tensor(0.5))
    assert calls == []
    meter.compute()
    assert calls


def test_per_class_accuracy_marks_absent_classes():
    assert per_class_accuracy(torch.tensor([[2, 0], [0, 0]])) == [1.0, None]
