"""`cnnzoo reproduce flops`: the same models counted under every convention users meet, beside the papers' figures.

Why this exists: torchinfo shows ResNet-18 at 1.8 G "Mult-Adds", PyTorch's FLOP counter and most blog posts at
3.6 G "FLOPs", and the ResNet paper says "1.8 billion FLOPs". All are right: a multiply-add is two floating-point
operations, and the papers of the era wrote "FLOPs" for multiply-adds. Each column below is one tool's count
of one forward pass of one image; the paper column is the paper's own figure and the word it used.

Counting reuses the package: `counts.count_macs` (the papers' convention, conv and fc weights) and
`counts.count_flops` (PyTorch's `torch.utils.flop_counter`, 2 per multiply-add), and `summary.summary` (torchinfo's
rule: biases and BatchNorm count too), all on the meta device. torchinfo itself, fvcore, ptflops and thop are
optional: where one is not installed its cells say so. The budget picks the models: "quick" the seven models of
the course, "short" and "paper" add VGG-19, ResNet-34/101/152 and torchvision's ResNet-50 v1.5.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from cnnzoo.device import resolve_device
from cnnzoo.errors import check_choice
from cnnzoo.experiments.report import bar_chart
from cnnzoo.inspect.archtable import RESNET_PAPER_FLOPS
from cnnzoo.inspect.counts import count_flops, count_macs, count_params
from cnnzoo.inspect.render import render_table
from cnnzoo.inspect.summary import summary

BUDGETS = ("quick", "short", "paper")
RESNET_SOURCE = 'He et al. 2016, Table 1: "FLOPs", meaning multiply-adds'
VGG_SOURCE = 'He et al. 2016, sec. 4.1 and fig. 3: "FLOPs", meaning multiply-adds'


@dataclass(frozen=True)
class CountedModel:
    """One row: a registered model with its options, and the paper's figure (×10^9) with where it comes from."""

    label: str
    name: str
    options: dict[str, Any] = field(default_factory=dict)
    paper_g: float | None = None
    source: str = ""
    quick: bool = True  # counted in the quick budget


MODELS: tuple[CountedModel, ...] = (
    CountedModel("AlexNet", "alexnet", source="Krizhevsky et al. 2012 give no count"),
    CountedModel("VGG-16", "vgg16", paper_g=15.3, source=VGG_SOURCE),
    CountedModel("VGG-19", "vgg19", paper_g=19.6, source=VGG_SOURCE, quick=False),
    CountedModel(
        "GoogLeNet",
        "googlenet",
        paper_g=1.5,
        source='Szegedy et al. 2015, sec. 1: "1.5 billion multiply-adds" (a budget, not a count)',
    ),
    CountedModel("ResNet-18", "resnet18", paper_g=RESNET_PAPER_FLOPS[18], source=RESNET_SOURCE),
    CountedModel("ResNet-34", "resnet34", paper_g=RESNET_PAPER_FLOPS[34], source=RESNET_SOURCE, quick=False),
    CountedModel("ResNet-50", "resnet50", {"stride_in_1x1": True}, RESNET_PAPER_FLOPS[50], RESNET_SOURCE),
    CountedModel(
        "ResNet-50 v1.5 (stride on the 3x3)",
        "resnet50",
        paper_g=RESNET_PAPER_FLOPS[50],
        source="torchvision's variant of " + RESNET_SOURCE,
        quick=False,
    ),
    CountedModel(
        "ResNet-101", "resnet101", {"stride_in_1x1": True}, RESNET_PAPER_FLOPS[101], RESNET_SOURCE, quick=False
    ),
    CountedModel(
        "ResNet-152", "resnet152", {"stride_in_1x1": True}, RESNET_PAPER_FLOPS[152], RESNET_SOURCE, quick=False
    ),
    CountedModel("ResNet-20 (CIFAR)", "resnet20", source="He et al. 2016 give parameters only (0.27M)"),
    CountedModel("ResNet-56 (CIFAR)", "resnet56", source="He et al. 2016 give parameters only (0.85M)"),
)

# What each tool reports, in its own words and in ours, for the conventions table.
CONVENTIONS: tuple[tuple[str, str, str, str], ...] = (
    # (key in a row, who, the word it uses, what it counts)
    (
        "paper_g",
        "the papers (He et al. 2016; Szegedy et al. 2015)",
        '"FLOPs" / multiply-adds',
        "multiply-adds of convolutions and fc layers",
    ),
    (
        "macs",
        "cnnzoo `count_macs` (`cnnzoo models`, `compare`, `archtable`)",
        "multiply-adds (GMACs)",
        "multiply-adds of convolution and linear weights; no biases, BatchNorm, activations or pooling",
    ),
    (
        "pytorch_flops",
        "PyTorch `torch.utils.flop_counter`",
        "FLOPs",
        "2 per multiply-add (a multiply and an add) of the same layers",
    ),
    (
        "torchinfo",
        "torchinfo `summary`",
        "Mult-Adds",
        "multiply-adds of weights and biases (per output position for convs), BatchNorm's 2 per channel",
    ),
    ("summary", "cnnzoo `summary` (torchinfo's rule, no torchinfo needed)", "Mult-Adds", "the same as torchinfo"),
    (
        "fvcore",
        "fvcore `FlopCountAnalysis`",
        "flops",
        "one per multiply-add (it calls a multiply-add a flop), plus BatchNorm",
    ),
    (
        "ptflops",
        "ptflops `get_model_complexity_info`",
        "MACs",
        "multiply-adds plus BatchNorm, activations, pooling and biases as one op each",
    ),
    (
        "thop",
        "thop `profile`",
        "MACs (often printed as FLOPs)",
        "multiply-adds plus what it assigns to BatchNorm and pooling layers",
    ),
)
OPTIONAL_TOOLS = ("torchinfo", "fvcore", "ptflops", "thop")
NOT_INSTALLED = "not installed"
# What report() and figures() read, as --report-only checks a results.json (experiments.report.schema_problem).
ROW = {"label": str, "model": str, "input": [int], "params": int, "paper_g": (float, type(None)), "source": str,
       "macs": int, "pytorch_flops": int, "summary": int, **dict.fromkeys(OPTIONAL_TOOLS, (int, str))}  # fmt: skip
RESULTS = {"budget": str, "device": str, "torch": str, "tools": {str: (str, type(None))}, "models": [ROW]}


# -- the optional tools: each returns its count for one image, or raises ImportError when it is not installed.


def _torchinfo(model: nn.Module, size: tuple[int, ...], device: torch.device) -> int:
    import torchinfo

    return int(torchinfo.summary(model, input_size=(1, *size), device="meta", verbose=0).total_mult_adds)


def _fvcore(model: nn.Module, size: tuple[int, ...], device: torch.device) -> int:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model.eval(), torch.randn(1, *size, device=device))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return int(analysis.total())


def _ptflops(model: nn.Module, size: tuple[int, ...], device: torch.device) -> int:
    from ptflops import get_model_complexity_info

    macs, _ = get_model_complexity_info(
        model.eval(), tuple(size), as_strings=False, print_per_layer_stat=False, verbose=False
    )
    return int(macs)


def _thop(model: nn.Module, size: tuple[int, ...], device: torch.device) -> int:
    from thop import profile

    macs, _ = profile(model.eval(), inputs=(torch.randn(1, *size, device=device),), verbose=False)
    return int(macs)


_TOOL_COUNTERS: dict[str, Callable[[nn.Module, tuple[int, ...], torch.device], int]] = {
    "torchinfo": _torchinfo,
    "fvcore": _fvcore,
    "ptflops": _ptflops,
    "thop": _thop,
}


def tool_versions() -> dict[str, str | None]:
    """The installed version of each optional tool, None where it is missing."""
    versions: dict[str, str | None] = {}
    for name in OPTIONAL_TOOLS:
        try:
            importlib.import_module(name)
        except ImportError:
            versions[name] = None
            continue
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "installed"
    return versions


def _tool_count(
    tool: str, build: Callable[[], nn.Module], size: tuple[int, ...], device: torch.device, installed: bool
) -> int | str:
    """The tool's count, NOT_INSTALLED, or 'failed: ...' (a tool's own bug must not stop the table)."""
    if not installed:
        return NOT_INSTALLED
    try:
        # torchinfo runs on the meta device (no arithmetic); the others hook real forward passes.
        model = build() if tool == "torchinfo" else copy.deepcopy(build()).to_empty(device=device)
        return _TOOL_COUNTERS[tool](model, size, device)
    except Exception as err:  # noqa: BLE001 - any failure of an optional tool becomes a cell, not a crash
        return f"failed: {str(err).strip().splitlines()[0][:80] if str(err).strip() else type(err).__name__}"


# -- the interface the reproduce framework calls ---------------------------------------------------------


def measure(budget: str = "quick", device: str = "cpu") -> dict:
    """Count every model of the budget under every convention; JSON-able."""
    from cnnzoo.models import create_model

    check_choice("budget", budget, BUDGETS)
    dev = resolve_device(device)
    versions = tool_versions()
    rows = []
    for spec in MODELS:
        if budget == "quick" and not spec.quick:
            continue

        def build(spec: CountedModel = spec) -> nn.Module:
            with torch.device("meta"):
                return create_model(spec.name, **spec.options)

        meta_model = build()
        size = tuple(meta_model.default_cfg.input_size)
        row: dict[str, Any] = {
            "label": spec.label,
            "model": spec.name,
            "options": dict(spec.options),
            "input": list(size),
            "params": count_params(meta_model),
            "paper_g": spec.paper_g,
            "source": spec.source,
            "macs": count_macs(meta_model, size),
            "pytorch_flops": count_flops(meta_model, size),
            "summary": summary(meta_model, size, depth=0).total_macs,
        }
        for tool in OPTIONAL_TOOLS:
            row[tool] = _tool_count(tool, build, size, dev, versions[tool] is not None)
        rows.append(row)
    return {"budget": budget, "device": str(dev), "torch": torch.__version__, "tools": versions, "models": rows}


def _g(value: Any) -> str:
    """A count in units of 10^9 with three decimals; strings (not installed, failed) and None pass through."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return f"{value / 1e9:.3f}"


def report(results: dict) -> str:
    """Markdown: the counts table, the conventions table (why 1.8 G and 3.6 G are both right), notes."""
    rows = results["models"]
    columns = [
        "model",
        "input",
        "params (M)",
        "paper (G)",
        "multiply-adds (G)",
        "PyTorch FLOPs (G)",
        "PyTorch FLOPs ÷ 2 (G)",
        "torchinfo (G)",
        "cnnzoo summary (G)",
        "fvcore (G)",
        "ptflops (G)",
        "thop (G)",
    ]
    table = [
        [
            r["label"],
            "x".join(map(str, r["input"])),
            f"{r['params'] / 1e6:.2f}",
            "—" if r["paper_g"] is None else f"{r['paper_g']:.1f}",
            _g(r["macs"]),
            _g(r["pytorch_flops"]),
            _g(r["pytorch_flops"] / 2),
            _g(r["torchinfo"]),
            _g(r["summary"]),
            _g(r["fvcore"]),
            _g(r["ptflops"]),
            _g(r["thop"]),
        ]
        for r in rows
    ]
    sources = [[r["label"], "—" if r["paper_g"] is None else f"{r['paper_g']:.1f}", r["source"]] for r in rows]
    reference = next((r for r in rows if r["model"] == "resnet18"), rows[0] if rows else None)
    conventions = []
    for key, who, word, what in CONVENTIONS:
        value = "" if reference is None else reference[key]
        shown = f"{value:.1f}" if key == "paper_g" and value is not None else _g(value)
        conventions.append([who, word, what, shown])
    ref_label = reference["label"] if reference else "the first model"
    parts = [
        "## Counts of one forward pass of one image, ×10^9",
        "",
        render_table(columns, table, "markdown"),
        "",
        f"## Conventions: what each tool counts, shown on {ref_label}",
        "",
        render_table(["who", "calls it", "counts", f"{ref_label} (G)"], conventions, "markdown"),
        "",
        "A multiply-add (MAC) is one multiplication and one addition: two floating-point operations. torchinfo,",
        "ptflops, thop, fvcore and the papers count multiply-adds, whatever word they print; PyTorch's FLOP counter",
        "counts operations, so its number is twice theirs (ResNet-18: 1.8 G multiply-adds = 3.6 G FLOPs). The",
        'ResNet paper\'s "FLOPs" are multiply-adds (its 1.8 G for ResNet-18 is the multiply-add count), so its',
        'ResNet-34 at "3.6 billion FLOPs" is not the same quantity as PyTorch\'s 3.6 G for ResNet-18. To compare',
        "a paper's figure with a tool's, halve the FLOP counter's number. The small gaps between torchinfo and",
        "the paper convention are biases and BatchNorm, which torchinfo counts and the papers do not.",
        "",
        "## The papers' figures and the word each used",
        "",
        render_table(["model", "paper (G)", "source and convention"], sources, "markdown"),
        "",
        "Parameters are of the model as built (GoogLeNet's auxiliary heads included); every count is of the",
        "eval-mode forward pass, which skips those heads.",
        "",
        f"Counted on the meta device (no arithmetic) with torch {results['torch']}; optional tools: "
        + ", ".join(f"{k} {v or NOT_INSTALLED}" for k, v in results["tools"].items())
        + f". Tools that need real forward passes ran on {results['device']}. Budget: {results['budget']}.",
    ]
    return "\n".join(parts)


def figures(results: dict, out_dir: Path) -> list[Path]:
    """One bar chart: each model under the paper, multiply-add, FLOP and torchinfo conventions (log scale)."""
    rows = results["models"]
    series = {
        "paper": [r["paper_g"] if r["paper_g"] is not None else float("nan") for r in rows],
        "multiply-adds (cnnzoo)": [r["macs"] / 1e9 for r in rows],
        "PyTorch FLOPs": [r["pytorch_flops"] / 1e9 for r in rows],
        "torchinfo rule (cnnzoo summary)": [r["summary"] / 1e9 for r in rows],
    }
    path = bar_chart(
        Path(out_dir) / "flops_conventions.png",
        [r["label"] for r in rows],
        series,
        ylabel="×10^9 per image (log scale)",
        title="One forward pass, counted four ways",
        log_y=True,
    )
    return [path]
