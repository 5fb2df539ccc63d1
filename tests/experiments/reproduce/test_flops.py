"""`reproduce flops`: every model under every convention, the papers' figures beside them, valid figures."""

from __future__ import annotations

import sys

import pytest
from png_checks import assert_png

from cnnzoo.errors import CnnzooError
from cnnzoo.experiments.reproduce import flops

QUICK_LABELS = ["AlexNet", "VGG-16", "GoogLeNet", "ResNet-18", "ResNet-50", "ResNet-20 (CIFAR)", "ResNet-56 (CIFAR)"]


@pytest.fixture(scope="module")
def results() -> dict:
    return flops.measure("quick")


def _row(results: dict, label: str) -> dict:
    return next(r for r in results["models"] if r["label"] == label)


def test_a_row_for_each_model_of_the_quick_budget(results):
    assert [r["label"] for r in results["models"]] == QUICK_LABELS
    report = flops.report(results)
    for label in QUICK_LABELS:
        assert f"| {label} |" in report


def test_paper_column_matches_the_counted_multiply_adds(results):
    # The papers' "FLOPs" are multiply-adds: each figure is within 6% of the paper-convention count.
    expected = {"VGG-16": 15.3, "GoogLeNet": 1.5, "ResNet-18": 1.8, "ResNet-50": 3.8}
    for label, paper in expected.items():
        row = _row(results, label)
        assert row["paper_g"] == paper
        assert row["macs"] / 1e9 == pytest.approx(paper, rel=0.06), label
    assert _row(results, "AlexNet")["paper_g"] is None
    report = flops.report(results)
    assert "| ResNet-18 | 3x224x224 | 11.69 | 1.8 | 1.814 | 3.628 | 1.814 |" in report
    assert "| AlexNet | 3x224x224 | 61.10 | — |" in report


def test_pytorch_flops_are_twice_the_papers_multiply_adds(results):
    for label in ("ResNet-18", "ResNet-50", "VGG-16"):
        row = _row(results, label)
        assert row["pytorch_flops"] / (row["paper_g"] * 1e9) == pytest.approx(2.0, rel=0.03), label
        assert row["pytorch_flops"] == 2 * row["macs"]
    # torchinfo's rule counts biases and BatchNorm too: at least the multiply-adds, within 1% of them.
    for row in results["models"]:
        assert row["macs"] <= row["summary"] <= 1.01 * row["macs"], row["label"]


def test_torchinfo_column_agrees_with_cnnzoo_summary(results):
    if results["tools"]["torchinfo"] is None:
        assert all(r["torchinfo"] == flops.NOT_INSTALLED for r in results["models"])
    else:
        assert all(r["torchinfo"] == r["summary"] for r in results["models"])


def test_conventions_table_explains_1_8_against_3_6(results):
    report = flops.report(results)
    assert "shown on ResNet-18" in report
    assert "| PyTorch `torch.utils.flop_counter` | FLOPs |" in report
    assert "3.628 |" in report and "| 1.8 |" in report
    assert "1.8 G multiply-adds = 3.6 G FLOPs" in report
    assert "He et al. 2016, Table 1" in report


def test_missing_tools_give_a_not_installed_cell(monkeypatch):
    monkeypatch.setitem(sys.modules, "thop", None)  # importing it now raises ImportError
    monkeypatch.setattr(flops, "MODELS", tuple(m for m in flops.MODELS if m.name == "resnet20"))
    results = flops.measure("quick")
    assert results["tools"]["thop"] is None
    assert results["models"][0]["thop"] == flops.NOT_INSTALLED
    assert "not installed |" in flops.report(results).splitlines()[4]


def test_a_failing_tool_gives_a_cell_not_a_crash(monkeypatch):
    def broken(*args):
        raise RuntimeError("unsupported op")

    monkeypatch.setitem(flops._TOOL_COUNTERS, "torchinfo", broken)
    monkeypatch.setattr(flops, "MODELS", tuple(m for m in flops.MODELS if m.name == "resnet20"))
    row = flops.measure("quick")["models"][0]
    if row["torchinfo"] != flops.NOT_INSTALLED:
        assert row["torchinfo"] == "failed: unsupported op"


def test_figure_is_a_valid_png(results, tmp_path):
    paths = flops.figures(results, tmp_path)
    assert [p.name for p in paths] == ["flops_conventions.png"]
    assert_png(paths[0], min_width=400, min_height=300)


def test_unknown_budget_is_a_one_line_error():
    with pytest.raises(CnnzooError, match="budget"):
        flops.measure("huge")
