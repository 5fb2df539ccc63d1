"""`reproduce bottleneck`: measured multiply-adds beside cost.py's, parameters, times, ratios and bar charts."""

from __future__ import annotations

import pytest
import torch
from png_checks import assert_png

from cnnzoo.errors import CnnzooError
from cnnzoo.experiments.reproduce import bottleneck
from cnnzoo.inspect.counts import count_macs
from cnnzoo.models.googlenet import INCEPTION_TABLE

# One timed pass on small unit maps: the content checks do not need a timing, only the machinery.
TINY = {"batch_size": 2, "repeats": 1, "unit_side": 4, "network_side": 0}


@pytest.fixture(scope="module")
def results() -> dict:
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(bottleneck.BUDGETS, "quick", TINY)
        return bottleneck.measure("quick")


def _rows(results: dict, name: str) -> dict[str, dict]:
    return {r["label"]: r for r in results["comparisons"][name]}


def test_naive_inception_costs_more_than_the_reduced_one(results):
    rows = results["comparisons"]["inception"]
    naive, reduced = rows
    assert naive["label"].startswith("naive") and "reductions" in reduced["label"]
    assert naive["macs"] > 2 * reduced["macs"]
    assert naive["params"] > 2 * reduced["params"]
    # Table 1 gives 3a's reduced module 128M ops and 159K parameters.
    assert reduced["macs"] / 1e6 == pytest.approx(128, rel=0.01)
    assert reduced["params"] / 1e3 == pytest.approx(159, rel=0.05)


def test_measured_multiply_adds_agree_with_cost_py(results):
    for rows in results["comparisons"].values():
        for row in rows:
            assert row["computed_macs"] == row["macs"], row["label"]


def test_naive_module_outputs_the_papers_channels():
    widths = INCEPTION_TABLE["3a"]
    module = bottleneck.NaiveInception(192, widths)
    out = module(torch.randn(1, 192, 28, 28))
    assert out.shape == (1, widths.ch1x1 + widths.ch3x3 + widths.ch5x5 + 192, 28, 28)
    assert count_macs(module, (192, 28, 28)) == 28 * 28 * 192 * (64 + 9 * 128 + 25 * 32)


def test_bottleneck_unit_costs_about_the_basic_unit_and_far_less_than_a_wide_one(results):
    basic64, bottleneck256, basic256 = results["comparisons"]["residual_units"]
    assert (basic64["layers"], bottleneck256["layers"], basic256["layers"]) == (2, 3, 2)
    assert bottleneck256["macs"] / basic64["macs"] == pytest.approx(1.0, abs=0.1)
    assert basic256["macs"] > 10 * bottleneck256["macs"]
    assert basic256["params"] > 10 * bottleneck256["params"]


def test_times_are_recorded_per_pass(results):
    for rows in results["comparisons"].values():
        for row in rows:
            assert len(row["times_s"]) == TINY["repeats"]
            assert row["median_s"] > 0


def test_report_has_tables_ratios_and_verdicts(results):
    report = bottleneck.report(results)
    assert "## Inception 3a at 28x28x192" in report
    assert "| naive inception (fig. 2a) | 192x28x28 | 1 | 387,296 | 303.5 | 303.5 |" in report
    assert "| 2.37x | 2.37x |" in report
    assert "| bottleneck unit, 256-d (fig. 5 right) |" in report
    assert "holds in multiply-adds" in report
    assert "does not hold in multiply-adds" not in report
    assert "not judged (1 timed passes are too few" in report
    assert "whole networks not compared in this budget" in report


def test_time_verdict_from_the_spread_of_the_passes():
    base = {"macs": 100, "times_s": [1.0] * 5}
    slower = {"macs": 300, "times_s": [2.0] * 5}
    noisy = {"macs": 300, "times_s": [0.5, 2.0, 2.0, 2.0, 2.0]}
    assert "holds in measured time" in bottleneck.verdicts("inception", [slower, base])[0]
    assert "does not hold in measured time" in bottleneck.verdicts("inception", [base, slower])[0]
    assert "inconclusive" in bottleneck.verdicts("inception", [noisy, base])[0]


def test_figures_are_valid_pngs(results, tmp_path):
    paths = bottleneck.figures(results, tmp_path)
    assert [p.name for p in paths] == ["bottleneck_inception.png", "bottleneck_residual_units.png"]
    for path in paths:
        assert_png(path, min_width=400, min_height=300)


@pytest.mark.slow
def test_quick_budget_and_whole_networks(monkeypatch):
    results = bottleneck.measure("quick")
    assert set(results["comparisons"]) == {"inception", "residual_units"}
    monkeypatch.setitem(bottleneck.BUDGETS, "quick", dict(TINY, unit_side=2, network_side=32))
    networks = bottleneck.measure("quick")["comparisons"]["networks"]
    resnet34, resnet50 = networks
    assert (resnet34["layers"], resnet50["layers"]) == (34, 50)
    assert resnet34["macs"] < resnet50["macs"] < 1.25 * resnet34["macs"]
    assert "## Whole networks of 16 units" in bottleneck.report({**results, "comparisons": {"networks": networks}})


def test_unknown_budget_is_a_one_line_error():
    with pytest.raises(CnnzooError, match="budget"):
        bottleneck.measure("huge")
