"""`cnnzoo reproduce bottleneck`: what 1×1 reductions save, computed and measured.

Two claims of the papers, each checked three ways (multiply-adds, parameters, and the measured time of a
forward and backward pass):
- GoogLeNet (Szegedy et al. 2015, section 4, fig. 2): the naive inception module (1×1, 3×3 and 5×5
  convolutions and a max pool side by side on the input) is too expensive; 1×1 reductions before the 3×3
  and 5×5 and after the pool make it affordable. Compared on module 3a's row of Table 1 at 28×28×192.
- ResNet (He et al. 2016, section 4.1, fig. 5): a bottleneck unit (1×1 to 64, 3×3, 1×1 to 256) on 256-d
  maps costs about what a basic unit (two 3×3) costs on 64-d maps, and far less than a basic unit at the
  bottleneck's 256-d width; and (short and paper budgets) whole networks of 16 units each, ResNet-34 (basic)
  against ResNet-50 (bottleneck).

The blocks are the package's own: `googlenet.Inception` (paper layout: convolutions with bias and ReLU)
for the reduced module, and a naive module of the same convolutions without the reductions;
`resnet.BasicBlock` and `resnet.Bottleneck`. Multiply-adds are measured with `counts.count_macs` on the
built module and set beside `cost.inception_cost` / `cost.conv_cost`'s arithmetic. Times are the median of
several timed passes after a warm-up (`bench.throughput.timed_passes`), in training mode.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from cnnzoo.device import resolve_device
from cnnzoo.errors import check_choice
from cnnzoo.experiments.bench.throughput import timed_passes
from cnnzoo.experiments.report import bar_chart
from cnnzoo.inspect.cost import conv_cost, inception_cost
from cnnzoo.inspect.counts import count_macs, count_params
from cnnzoo.inspect.render import render_table
from cnnzoo.models.googlenet import INCEPTION_TABLE, Inception, InceptionWidths
from cnnzoo.models.layers import ConvBNAct
from cnnzoo.models.resnet import BasicBlock, Bottleneck

# Per budget: batch size, timed passes after one warm-up, the side of the residual units' maps (56 in fig. 5;
# every ratio is the same at any side, as all the units' convolutions have stride 1) and the input side of the
# whole networks (0: not compared). The quick budget takes seconds on a CPU.
BUDGETS: dict[str, dict[str, int]] = {
    "quick": {"batch_size": 2, "repeats": 3, "unit_side": 14, "network_side": 0},
    "short": {"batch_size": 16, "repeats": 10, "unit_side": 56, "network_side": 224},
    "paper": {"batch_size": 32, "repeats": 20, "unit_side": 56, "network_side": 224},
}
# What report() and figures() read, as --report-only checks a results.json (experiments.report.schema_problem).
ROW = {"label": str, "input": [int], "layers": int, "params": int, "macs": int, "computed_macs": (int, type(None)),
       "times_s": [float], "median_s": float}  # fmt: skip
RESULTS = {"budget": str, "device": str, "torch": str, "batch_size": int, "repeats": int, "network_side": int,
           "comparisons": {str: [ROW]}}  # fmt: skip
INCEPTION_ROW = "3a"
INCEPTION_INPUT = (28, 28, 192)  # H, W, C as cost.py writes shapes: module 3a's input in Table 1


class NaiveInception(nn.Module):
    """The naive module of fig. 2(a): 1x1, 3x3 and 5x5 convolutions and a 3x3 max pool, all on the input."""

    def __init__(self, in_channels: int, widths: InceptionWidths, conv: Callable[..., nn.Module] = ConvBNAct) -> None:
        super().__init__()
        self.branch1 = conv(in_channels, widths.ch1x1, 1)
        self.branch2 = conv(in_channels, widths.ch3x3, 3, padding=1)
        self.branch3 = conv(in_channels, widths.ch5x5, 5, padding=2)
        self.branch4 = nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


@dataclass(frozen=True)
class Contender:
    """One module of a comparison: how to build it, its input (C, H, W), and cost.py's computed multiply-adds."""

    label: str
    build: Callable[[], nn.Module]
    input_chw: tuple[int, int, int]
    computed_macs: int | None
    layers: int  # weight layers on the longest path: the "depth" it adds


def _inception_contenders() -> list[Contender]:
    widths = INCEPTION_TABLE[INCEPTION_ROW]
    h, w, c = INCEPTION_INPUT
    branches = {"1x1": widths.ch1x1, "3x3": widths.ch3x3, "5x5": widths.ch5x5, "pool": None}
    reduce = {"3x3": widths.ch3x3red, "5x5": widths.ch5x5red, "pool": widths.pool_proj}
    return [
        Contender(
            "naive inception (fig. 2a)",
            partial(NaiveInception, c, widths),
            (c, h, w),
            inception_cost(INCEPTION_INPUT, branches).macs,
            1,
        ),
        Contender(
            "inception with 1x1 reductions (fig. 2b)",
            partial(Inception, c, widths, ConvBNAct),
            (c, h, w),
            inception_cost(INCEPTION_INPUT, branches, reduce).macs,
            2,
        ),
    ]


def _block_macs(side: int, in_channels: int, convs: list[tuple[int, int]]) -> int:
    """cost.py's multiply-adds of a chain of stride-1 convolutions (kernel, out channels) on side x side maps."""
    total, channels = 0, in_channels
    for kernel, out_channels in convs:
        total += conv_cost((side, side, channels), kernel, out_channels).macs
        channels = out_channels
    return total


def _block_contenders(side: int) -> list[Contender]:
    return [
        Contender(
            "basic unit, 64-d (fig. 5 left)",
            partial(BasicBlock, 64, 64),
            (64, side, side),
            _block_macs(side, 64, [(3, 64), (3, 64)]),
            2,
        ),
        Contender(
            "bottleneck unit, 256-d (fig. 5 right)",
            partial(Bottleneck, 256, 64),
            (256, side, side),
            _block_macs(side, 256, [(1, 64), (3, 64), (1, 256)]),
            3,
        ),
        Contender(
            "basic unit, 256-d (no bottleneck)",
            partial(BasicBlock, 256, 256),
            (256, side, side),
            _block_macs(side, 256, [(3, 256), (3, 256)]),
            2,
        ),
    ]


def _network_contenders(side: int) -> list[Contender]:
    from cnnzoo.models import create_model

    return [
        Contender("ResNet-34: 16 basic units", partial(create_model, "resnet34"), (3, side, side), None, 34),
        Contender(
            "ResNet-50: 16 bottleneck units",
            partial(create_model, "resnet50", stride_in_1x1=True),
            (3, side, side),
            None,
            50,
        ),
    ]


def time_forward_backward(
    model: nn.Module, input_chw: tuple[int, ...], batch_size: int, repeats: int, device: torch.device
) -> list[float]:
    """Seconds of each of `repeats` training-mode forward+backward passes of one batch, after one warm-up."""
    model.to(device).train()
    x = torch.randn(batch_size, *input_chw, device=device)

    def run_pass() -> int:
        model.zero_grad(set_to_none=True)
        model(x).float().sum().backward()
        return batch_size

    return [batch_size / rate for rate in timed_passes(run_pass, repeats, device)]


def _measure_one(contender: Contender, batch_size: int, repeats: int, device: torch.device) -> dict[str, Any]:
    model = contender.build()
    times = time_forward_backward(model, contender.input_chw, batch_size, repeats, device)
    return {
        "label": contender.label,
        "input": list(contender.input_chw),
        "layers": contender.layers,
        "params": count_params(model),
        "macs": count_macs(model, contender.input_chw),
        "computed_macs": contender.computed_macs,
        "times_s": times,
        "median_s": statistics.median(times),
    }


def measure(budget: str = "quick", device: str = "cpu") -> dict:
    """Build, count and time every contender of the three comparisons; JSON-able."""
    check_choice("budget", budget, BUDGETS)
    setting = BUDGETS[budget]
    dev = resolve_device(device)
    groups = {"inception": _inception_contenders(), "residual_units": _block_contenders(setting["unit_side"])}
    if setting["network_side"]:
        groups["networks"] = _network_contenders(setting["network_side"])
    comparisons = {
        name: [_measure_one(c, setting["batch_size"], setting["repeats"], dev) for c in contenders]
        for name, contenders in groups.items()
    }
    return {"budget": budget, "device": str(dev), "torch": torch.__version__, **setting, "comparisons": comparisons}


# -- the report --------------------------------------------------------------------------------------------

TITLES = {
    "inception": f"Inception {INCEPTION_ROW} at {'x'.join(map(str, INCEPTION_INPUT))} (HxWxC), naive against reduced",
    "residual_units": "Residual units, He et al. 2016 fig. 5 (56x56 maps in the paper)",
    "networks": "Whole networks of 16 units: basic (ResNet-34) against bottleneck (ResNet-50)",
}
BASELINE = {"inception": 1, "residual_units": 1, "networks": 0}  # the row the ratios divide by


# Each paper's claim as ratios between rows (numerator, denominator, low, high): the ratio must lie in [low, high].
CLAIMS: dict[str, tuple[str, tuple[tuple[int, int, float, float], ...]]] = {
    "inception": ("the naive module costs more than the reduced one", ((0, 1, 1.0, float("inf")),)),
    "residual_units": (
        "the 256-d bottleneck costs about what the 64-d basic unit costs (within 25%), "
        "and a 256-d basic unit more than twice as much",
        ((1, 0, 0.75, 1.25), (2, 1, 2.0, float("inf"))),
    ),
    "networks": ("ResNet-50 costs at most 25% more than ResNet-34", ((1, 0, 0.0, 1.25),)),
}


MIN_TIMED_PASSES = 5  # fewer timed passes judge nothing about time: one noisy pass decides them


def _judge(intervals: list[tuple[float, float, float, float]]) -> str:
    """'holds' if every ratio interval (lo, hi) lies within its bounds, 'does not hold' if one lies outside."""
    if any(hi < low or lo > high for lo, hi, low, high in intervals):
        return "does not hold"
    if all(low <= lo and hi <= high for lo, hi, low, high in intervals):
        return "holds"
    return "inconclusive (the timed passes' spread straddles a bound)"


def verdicts(name: str, rows: list[dict[str, Any]]) -> list[str]:
    """The paper's claim, judged on multiply-adds (exact) and on measured time (the timed passes' range)."""
    if name not in CLAIMS:
        return []
    claim, ratios = CLAIMS[name]
    exact = [(rows[a]["macs"] / rows[b]["macs"],) * 2 + (low, high) for a, b, low, high in ratios]
    timed = [
        (
            min(rows[a]["times_s"]) / max(rows[b]["times_s"]),
            max(rows[a]["times_s"]) / min(rows[b]["times_s"]),
            low,
            high,
        )
        for a, b, low, high in ratios
    ]
    passes = min(len(row["times_s"]) for row in rows)
    too_few = f"not judged ({passes} timed passes are too few; the short budget times {BUDGETS['short']['repeats']})"
    timing = _judge(timed) if passes >= MIN_TIMED_PASSES else too_few
    return [f"- {claim}: {_judge(exact)} in multiply-adds; {timing} in measured time"]


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "—"


def report(results: dict) -> str:
    """Markdown: one table per comparison, measured beside computed, with ratios to a baseline row."""
    columns = [
        "module",
        "input (CxHxW)",
        "weight layers",
        "params",
        "multiply-adds (M), measured",
        "multiply-adds (M), computed",
        "fwd+bwd (ms), median",
        "params ratio",
        "multiply-adds ratio",
        "time ratio",
    ]
    parts: list[str] = []
    for name, rows in results["comparisons"].items():
        base = rows[BASELINE[name]]
        table = [
            [
                r["label"],
                "x".join(map(str, r["input"])),
                r["layers"],
                f"{r['params']:,}",
                f"{r['macs'] / 1e6:,.1f}",
                "—" if r["computed_macs"] is None else f"{r['computed_macs'] / 1e6:,.1f}",
                f"{r['median_s'] * 1e3:.2f}",
                _ratio(r["params"], base["params"]),
                _ratio(r["macs"], base["macs"]),
                _ratio(r["median_s"], base["median_s"]),
            ]
            for r in rows
        ]
        parts += [
            f"## {TITLES.get(name, name)}",
            "",
            render_table(columns, table, "markdown"),
            "",
            f'Ratios are to "{base["label"]}".',
            "",
            *verdicts(name, rows),
            "",
        ]
    parts += [
        "Multiply-adds are measured with PyTorch's FLOP counter on the built module (÷2) and computed with",
        "cost.py's arithmetic (H_out·W_out·k·k·C_in·C_out per convolution); the two agree where both are shown.",
        "The papers' claims: the naive module's 3x3 and 5x5 convolutions on all 192 input channels, and its",
        "pool passing all 192 channels on to the next module, make it several times costlier than the module",
        "with 1x1 reductions (Szegedy et al. 2015, sec. 4); the 256-d bottleneck unit has about the time",
        "complexity of the 64-d basic unit (He et al. 2016, sec. 4.1, fig. 5), so ResNet-50 costs little more",
        "than ResNet-34 at the same 16 units. Measured times depend on the hardware and on how well its",
        "kernels suit 1x1 convolutions; multiply-adds do not.",
        "",
        f"Timing: median of {results['repeats']} training-mode forward+backward passes of a batch of "
        f"{results['batch_size']} after one warm-up, on {results['device']} (torch {results['torch']}); "
        + (
            f"whole networks at {results['network_side']}x{results['network_side']} input"
            if results["network_side"]
            else "whole networks not compared in this budget"
        )
        + f". Budget: {results['budget']}.",
    ]
    return "\n".join(parts)


def figures(results: dict, out_dir: Path) -> list[Path]:
    """One bar chart per comparison: parameters, multiply-adds and time, each relative to the baseline row."""
    paths = []
    for name, rows in results["comparisons"].items():
        base = rows[BASELINE[name]]
        series = {
            "parameters": [r["params"] / base["params"] for r in rows],
            "multiply-adds": [r["macs"] / base["macs"] for r in rows],
            "fwd+bwd time": [r["median_s"] / base["median_s"] for r in rows],
        }
        paths.append(
            bar_chart(
                Path(out_dir) / f"bottleneck_{name}.png",
                [r["label"] for r in rows],
                series,
                ylabel=f"relative to {base['label']}",
                title=TITLES.get(name, name),
            )
        )
    return paths
