"""Test-time augmentation: the views, their weights, and accuracies worked out by hand on a one-column model."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from cnnzoo.training.loop import evaluate
from cnnzoo.training.train import train
from cnnzoo.training.tta import translate, tta_logits, views


class _LeftColumn(nn.Module):
    """Class 0 scores the mean of the leftmost pixel column, class 1 a constant 1: flips and shifts move class 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([x[:, 0, :, 0].mean(dim=1), torch.ones(x.shape[0])], dim=1)


def _images(columns: list[list[float]]) -> torch.Tensor:
    """1-channel 4x4 images whose every column is constant: column j of image i is columns[i][j]."""
    return torch.tensor(columns)[:, None, None, :].expand(-1, 1, 4, 4).contiguous()


# Columns, target. Worked out by hand (class 0 wins when its score is above 1):
#   plain           class 0 score = c0
#   flip            (c0 + c3) / 2
#   flip-translate  the four views' left columns are c0, c3 (unshifted, 1/4 each) and, shifted by one pixel
#                   with reflection, c1 and c2 (each from two views of weight 1/8): so (c0 + c1 + c2 + c3) / 4
CASES = [
    ([3.0, 0.0, 0.0, 0.0], 0),  # plain 3 right, flip 1.5 right, flip-translate 0.75 wrong
    ([1.5, 0.0, 0.0, 0.0], 0),  # plain 1.5 right, flip 0.75 wrong, flip-translate 0.375 wrong
    ([0.0, 0.0, 0.0, 5.0], 0),  # plain 0 wrong, flip 2.5 right, flip-translate 1.25 right
    ([0.0, 2.0, 3.0, 0.0], 1),  # plain 0 right, flip 0 right, flip-translate 1.25 wrong
]


def test_translate_shifts_by_one_pixel_with_reflection():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    down_right = translate(x, 1, 1)
    up_left = translate(x, -1, -1)
    # Row/column -1 reflects to 1; row/column 4 reflects to 2.
    assert torch.equal(down_right[0, 0], x[0, 0][[1, 0, 1, 2]][:, [1, 0, 1, 2]])
    assert torch.equal(up_left[0, 0], x[0, 0][[1, 2, 3, 2]][:, [1, 2, 3, 2]])
    assert translate(x.to(memory_format=torch.channels_last), 1, 1).shape == x.shape


def test_view_weights_sum_to_one():
    x = torch.randn(2, 3, 8, 8)
    for mode, count in (("none", 1), ("flip", 2), ("flip-translate", 6)):
        pairs = views(x, mode)
        assert len(pairs) == count and sum(w for w, _ in pairs) == pytest.approx(1.0)
        assert all(v.shape == x.shape for _, v in pairs)
    with pytest.raises(ValueError, match="unknown TTA mode"):
        views(x, "rotate")


def test_tta_logits_average_the_views_as_worked_out_by_hand():
    model = _LeftColumn()
    images = _images([c for c, _ in CASES])
    columns = torch.tensor([c for c, _ in CASES])
    ones = torch.ones(len(CASES))
    expected = {
        "none": columns[:, 0],
        "flip": (columns[:, 0] + columns[:, 3]) / 2,
        "flip-translate": columns.mean(dim=1),
    }
    for mode, class0 in expected.items():
        torch.testing.assert_close(tta_logits(model, images, mode), torch.stack([class0, ones], dim=1))


def test_tta_accuracy_of_a_tiny_model_with_a_known_answer():
    model = _LeftColumn()
    loader = [(_images([c for c, _ in CASES]), torch.tensor([t for _, t in CASES]))]
    top1 = {mode: evaluate(model, loader, 2, "cpu", confusion=False, tta=mode)["top1"]
            for mode in ("none", "flip", "flip-translate")}  # fmt: skip
    assert top1 == {"none": 3 / 4, "flip": 3 / 4, "flip-translate": 1 / 4}


@pytest.mark.slow
def test_results_report_tta_apart_from_the_plain_test_accuracy(tmp_path):
    common = {"model": "resnet20", "data": "digits", "epochs": 1, "max_steps": 3, "batch_size": 64,
              "tensorboard": False, "plots": False}  # fmt: skip
    plain = train({**common, "run_dir": str(tmp_path / "plain")}, quiet=True)
    flipped = train({**common, "run_dir": str(tmp_path / "flip"), "tta": "flip"}, quiet=True)
    assert plain["test_tta"] is None
    assert flipped["test"] == plain["test"]  # the plain figure is unchanged by asking for TTA
    assert flipped["test_tta"]["mode"] == "flip" and flipped["test_tta"]["count"] == plain["test"]["count"]
    assert flipped["test_tta"]["loss"] != plain["test"]["loss"]
