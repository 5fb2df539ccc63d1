"""The papers' architecture tables, regenerated from the built models: nothing here restates an architecture.

Each table is read off a model built on the meta device and traced with one forward pass (`summary`):
- ResNets on ImageNet: the layout of He et al. 2016, Table 1: conv1, conv2_x … conv5_x with output size,
  bracketed blocks (kernel, channels) × repeats, the head, and the multiply-adds ("FLOPs"), several
  models side by side. Built with the paper's stride placement (`stride_in_1x1=True`, the stride on a
  bottleneck's first 1×1) unless the options say otherwise.
- ResNets on CIFAR: the table of He et al. 2016, section 4.2: output map size, # layers (1+2n, 2n, 2n) and
  # filters per stage.
- GoogLeNet: the columns of Szegedy et al. 2015, Table 1, with the exact parameters and multiply-adds of the
  model next to the paper's figures (cited below), which are about 3% lower in sum.
- Anything else (VGG, AlexNet, NiN): one row per convolution, pool and linear layer with input, output,
  stride, kernel, channels in and out, and parameters, and the total (138,357,544 for VGG-16).

Multiply-adds here are the papers' convention: one per weight per output position (biases and BatchNorm not
counted), the same as `counts.count_macs`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn as nn

from cnnzoo.errors import CnnzooError, check_choice
from cnnzoo.inspect.counts import count_depth
from cnnzoo.inspect.render import FORMATS, records, render_table
from cnnzoo.inspect.summary import LayerRow, summary

# He et al. 2016, Table 1, last row: "FLOPs" (multiply-adds) of the 18- to 152-layer nets, ×10^9.
RESNET_PAPER_FLOPS: dict[int, float] = {18: 1.8, 34: 3.6, 50: 3.8, 101: 7.6, 152: 11.3}

# Szegedy et al. 2015, Table 1, columns "params" and "ops", keyed by the row's type as the paper writes it.
GOOGLENET_PAPER_COSTS: dict[str, tuple[str, str]] = {
    "convolution 7×7/2": ("2.7K", "34M"),  # keyed with the patch size/stride: two rows are "convolution"
    "convolution 3×3/1": ("112K", "360M"),
    "inception (3a)": ("159K", "128M"),
    "inception (3b)": ("380K", "304M"),
    "inception (4a)": ("364K", "73M"),
    "inception (4b)": ("437K", "88M"),
    "inception (4c)": ("463K", "100M"),
    "inception (4d)": ("580K", "119M"),
    "inception (4e)": ("840K", "170M"),
    "inception (5a)": ("1072K", "54M"),
    "inception (5b)": ("1388K", "71M"),
    "linear": ("1000K", "1M"),
}
GOOGLENET_PAPER_TOTAL = "6.8M"  # the sum of the paper's params column
GOOGLENET_PAPER_INPUT = (224, 224)  # the input the paper's ops column counts


class Shown(int):
    """A count that tables print as given text (the paper's "2.7K", "1.81×10^9"); JSON and CSV get the number."""

    text: str

    def __new__(cls, value: int, text: str) -> Shown:
        number = super().__new__(cls, value)
        number.text = text
        return number


def _paper_figure(text: str | None) -> Shown | None:
    """A figure as the paper prints it ("2.7K", "34M"), with its value (2,700, 34,000,000) for JSON."""
    if not text:
        return None
    scale = {"K": 10**3, "M": 10**6}[text[-1]]
    return Shown(round(float(text[:-1]) * scale), text)


@dataclass
class ArchTable:
    """A table as data: raw values in `rows` (ints stay ints for JSON and CSV), notes printed under it."""

    title: str
    columns: list[str]  # the headers tables show
    keys: list[str]  # the same columns' JSON keys: snake_case, "params" and "macs" as in every command
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)
    formats: dict[str, Any] = field(default_factory=dict)  # column → function giving the shown text

    def column(self, name: str) -> list[Any]:
        i = self.columns.index(name)
        return [row[i] for row in self.rows]

    def row(self, first_cell: str) -> list[Any]:
        """The row whose first cell is `first_cell`."""
        for row in self.rows:
            if row[0] == first_cell:
                return row
        raise KeyError(first_cell)

    def shown_rows(self, markdown: bool = False) -> list[list[str]]:
        out = []
        for row in self.rows:
            cells = []
            for col, value in zip(self.columns, row):
                text = self.formats[col](value) if col in self.formats and value is not None else _text(value)
                cells.append(text.replace("\n", "<br>") if markdown else text)
            out.append(cells)
        return out

    def to_dict(self) -> dict[str, Any]:
        columns = list(zip(self.keys, self.columns))
        return {"title": self.title, "columns": dict(columns), "rows": records(columns, self.rows), "notes": self.notes}

    def __repr__(self) -> str:
        return f"ArchTable({self.title!r}, {len(self.rows)} rows; print() it for the table)"

    def __str__(self) -> str:
        return render_tables([self])

    def _repr_markdown_(self) -> str:
        """What a Jupyter cell shows: the table in Markdown."""
        return render_tables([self], "markdown")


class ArchTables(list):
    """`arch_tables`' list of tables, which a Jupyter cell shows as the tables themselves."""

    def __str__(self) -> str:
        return render_tables(self)

    def _repr_markdown_(self) -> str:
        return render_tables(self, "markdown")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Shown):
        return value.text
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def render_tables(tables: Sequence[ArchTable], fmt: str = "table") -> str:
    """All tables in one of FORMATS; JSON is a list of {title, columns (key: header), rows, notes}."""
    check_choice("format", fmt, FORMATS)
    if fmt == "json":
        return json.dumps([t.to_dict() for t in tables], indent=2)
    parts = []
    for t in tables:
        if fmt == "csv":
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows([t.columns, *t.rows])
            parts.append(out.getvalue().rstrip("\n"))
            continue
        text = render_table(t.columns, t.shown_rows(markdown=fmt == "markdown"), fmt, title=t.title)
        if t.notes:
            text += "\n\n" + "\n".join((f"- {n}" if fmt == "markdown" else n) for n in t.notes)
        parts.append(text)
    return "\n\n".join(parts)


# -- building and tracing ---------------------------------------------------------------------------------


@dataclass
class _Built:
    name: str
    model: nn.Module
    input_size: tuple[int, int, int]
    rows: list[LayerRow]  # every module call, in forward order
    depth: int = 0  # weight layers on the longest path (counts.count_depth)

    def first(self, prefix: str) -> LayerRow:
        for row in self.rows:
            if row.name == prefix:
                return row
        raise KeyError(prefix)


def _build(name: str, options: dict[str, Any], input_size: Sequence[int] | None) -> _Built:
    from cnnzoo.models import create_model

    with torch.device("meta"):
        model = create_model(name, **options)
    size = tuple(input_size) if input_size else model.default_cfg.input_size
    rows = summary(model, size, depth=10**6).rows
    return _Built(name, model, size, rows, count_depth(model, size))


def _weight_macs(row: LayerRow) -> int:
    """Multiply-adds of a conv or linear call: weights × output positions (no bias, the papers' convention)."""
    module = row.module
    if isinstance(module, nn.modules.conv._ConvNd):
        positions = 1
        for size in row.output_shape[2:]:
            positions *= size
        return module.weight.numel() * positions
    if isinstance(module, nn.Linear):
        return module.weight.numel()
    return 0


def _subtree_macs(built: _Built, prefix: str = "") -> int:
    """Weight multiply-adds of the module at `prefix` ("" for the whole model), every call counted."""
    return sum(
        _weight_macs(r)
        for r in built.rows
        if r.is_leaf and (not prefix or r.name == prefix or r.name.startswith(prefix + "."))
    )


def _hw(shape: Sequence[int]) -> str:
    return "×".join(map(str, shape[2:])) if len(shape) > 2 else "1×1"


def _hwc(shape: Sequence[int]) -> str:
    if len(shape) > 2:
        return "×".join(map(str, shape[2:])) + f"×{shape[1]}"
    return f"1×1×{shape[1]}"


def _pair(value: Any) -> int:
    return value[0] if isinstance(value, (tuple, list)) else int(value)


# -- ResNets --------------------------------------------------------------------------------------------


def _numbered(module: nn.Module, prefix: str, kind: type[nn.Module]) -> list:
    """`prefix`1, `prefix`2, ... while they exist: torchvision's naming of stages (layer<i>) and convs (conv<i>)."""
    out, i = [], 1
    while isinstance(child := getattr(module, f"{prefix}{i}", None), kind):
        out.append(child)
        i += 1
    return out


def _stages(model: nn.Module) -> list[nn.Sequential]:
    return _numbered(model, "layer", nn.Sequential)


def _block_convs(block: nn.Module) -> list[nn.Conv2d]:
    return _numbered(block, "conv", nn.Conv2d)


def _bracket(stage: nn.Sequential) -> str:
    """`[1×1, 64; 3×3, 64; 1×1, 256] ×3`: the block of Table 1 and how often it repeats."""
    shapes = {tuple((_pair(c.kernel_size), c.out_channels) for c in _block_convs(b)) for b in stage}
    if len(shapes) != 1:
        raise CnnzooError("a stage whose blocks differ in shape has no single bracket")
    inner = "; ".join(f"{k}×{k}, {n}" for k, n in shapes.pop())
    return f"[{inner}] ×{len(stage)}"


def _is_resnet(model: nn.Module) -> bool:
    return hasattr(model, "conv1") and hasattr(model, "fc") and len(_stages(model)) >= 2


def _stride_note(model: nn.Module) -> str:
    """Where a stage's first block downsamples: the paper's first 1×1 of a bottleneck, or torchvision's 3×3."""
    kind = type(_stages(model)[0][0]).__name__
    for stage in _stages(model)[1:]:
        convs = _block_convs(stage[0])
        strided = [i for i, c in enumerate(convs) if _pair(c.stride) > 1]
        if strided:
            k = _pair(convs[strided[0]].kernel_size)
            return (
                f"{kind}: conv3_1, conv4_1, conv5_1 downsample with stride 2 on their conv{strided[0] + 1} ({k}×{k})."
            )
    return f"{kind}: no stage downsamples."


def resnet_table(built: Sequence[_Built]) -> ArchTable:
    """He et al. 2016, Table 1, one column per model, from the models' stems, stages and heads."""
    first = built[0]
    columns = ["layer name", "output size"] + _resnet_headers(built)
    keys = ["layer_name", "output_size"] + [b.name for b in built]
    stage_names = [f"conv{i + 2}_x" for i in range(len(_stages(first.model)))]
    rows: list[list[Any]] = []
    stem = first.first("conv1")
    rows.append(["conv1", _hw(stem.output_shape)] + [_stem_cell(b.model) for b in built])
    for i, stage_name in enumerate(stage_names):
        out = first.first(f"layer{i + 1}").output_shape
        cells = []
        for b in built:
            bracket = _bracket(_stages(b.model)[i])
            pool = getattr(b.model, "maxpool", None)
            if i == 0 and isinstance(pool, nn.MaxPool2d):
                bracket = f"{_pair(pool.kernel_size)}×{_pair(pool.kernel_size)} max pool, stride {_pair(pool.stride)}\n{bracket}"
            cells.append(bracket)
        rows.append([stage_name, _hw(out)] + cells)
    pooled = first.first("avgpool").output_shape
    rows.append(["", _hw(pooled)] + [f"average pool, {b.model.fc.out_features}-d fc, softmax" for b in built])
    macs = [_subtree_macs(b) for b in built]
    rows.append(["FLOPs", ""] + [Shown(m, _flops(m)) for m in macs])
    size = "×".join(map(str, first.input_size))
    notes = [f"Built from {', '.join(b.name for b in built)} at input {size}."]
    notes += sorted({_stride_note(b.model) for b in built})
    notes.append(
        "FLOPs: multiply-adds of the convolutions and the fc layer, one per weight per output position (biases and "
        "BatchNorm not counted), the convention of the paper's Table 1."
    )
    paper = [RESNET_PAPER_FLOPS.get(b.depth) for b in built]
    if any(p is not None for p in paper) and first.input_size[1:] == (224, 224):
        rows.append(
            ["FLOPs (paper)", ""] + [Shown(round(p * 1e9), f"{p}×10^9") if p is not None else None for p in paper]
        )
        gap = max(abs(m / 1e9 - p) for m, p in zip(macs, paper) if p is not None)
        notes.append(
            "FLOPs (paper): He et al. 2016, Table 1, for the same depths. Its one-decimal figures are within "
            f"{gap:.2f}×10^9 of the exact counts but are not one rounding of them (some truncated, some rounded)."
        )
    return ArchTable(
        _resnet_title(built, "ResNet architectures", "He et al. 2016, Table 1"), columns, keys, rows, notes
    )


def _resnet_headers(built: Sequence[_Built]) -> list[str]:
    """The paper's "18-layer" … headers, or names with depths where two models share a depth."""
    depths = [b.depth for b in built]
    if len(set(depths)) == len(depths):
        return [f"{d}-layer" for d in depths]
    return [f"{b.name} ({d}-layer)" for b, d in zip(built, depths)]


def _stem_cell(model: nn.Module) -> str:
    conv = model.conv1
    k = _pair(conv.kernel_size)
    return f"{k}×{k}, {conv.out_channels}, stride {_pair(conv.stride)}"


def _flops(macs: int) -> str:
    return f"{macs / 1e9:.2f}×10^9" if macs >= 1e8 else f"{macs / 1e6:.1f}×10^6"


def cifar_resnet_table(built: _Built) -> ArchTable:
    """He et al. 2016, section 4.2: output map size, # layers and # filters per stage (n blocks per stage)."""
    model = built.model
    stages = _stages(model)
    n = len(stages[0])
    columns = ["", *(f"stage {i + 1}" for i in range(len(stages)))]
    keys = ["quantity", *(f"stage_{i + 1}" for i in range(len(stages)))]
    sizes = ["output map size"]
    layers = ["# layers"]
    filters = ["# filters"]
    total = 1  # the stem convolution
    for i, stage in enumerate(stages):
        sizes.append(_hw(built.first(f"layer{i + 1}").output_shape))
        per_block = len(_block_convs(stage[0]))
        convs = per_block * len(stage)
        total += convs
        term = f"{per_block}n" if len(stage) == n else str(convs)
        layers.append(f"1+{term}" if i == 0 else term)
        filters.append(_block_convs(stage[0])[-1].out_channels)
    total += 1  # the classifier
    shortcut = getattr(stages[1][0], "downsample", None)
    kind = (
        "option A (identity, zero-padded)"
        if shortcut is not None and not any(True for _ in shortcut.parameters())
        else ("option B (1×1 projection)" if shortcut is not None else "none where the shape changes")
    )
    notes = [
        f"{built.name}: n = {n}, {total} weight layers; then global average pool, {model.fc.out_features}-way fc, softmax.",
        f"Input {'×'.join(map(str, built.input_size))}; stem {_stem_cell(model)}; shortcuts where the shape changes: {kind}.",
    ]
    title = _resnet_title([built], built.name, "He et al. 2016, section 4.2")
    return ArchTable(title, columns, keys, [sizes, layers, filters], notes)


def _resnet_title(built: Sequence[_Built], name: str, source: str) -> str:
    """The table's title; the course's own networks are laid out like the paper's table but are not the paper's."""
    course = [
        b.name
        for b in built
        if getattr(b.model, "default_cfg", None) and b.model.default_cfg.paper.startswith("course")
    ]
    if course:
        return f"{', '.join(course)} (the course's network, in the layout of {source})"
    return f"{name} ({source})"


# -- GoogLeNet -------------------------------------------------------------------------------------------

GOOGLENET_COLUMNS = [
    "type",
    "patch size/stride",
    "output size",
    "depth",
    "#1×1",
    "#3×3 reduce",
    "#3×3",
    "#5×5 reduce",
    "#5×5",
    "pool proj",
    "params",
    "ops",
    "params (paper)",
    "ops (paper)",
]
GOOGLENET_KEYS = [
    "type",
    "patch_size_stride",
    "output_size",
    "depth",
    "filters_1x1",
    "filters_3x3_reduce",
    "filters_3x3",
    "filters_5x5_reduce",
    "filters_5x5",
    "pool_proj",
    "params",
    "macs",
    "params_paper",
    "macs_paper",
]


def googlenet_table(built: _Built) -> ArchTable:
    """Szegedy et al. 2015, Table 1, from the model's top-level layers in forward order (aux heads left out)."""
    rows: list[list[Any]] = []
    top = [r for r in built.rows if r.depth == 1 and r.executed]
    i = 0
    while i < len(top):
        row = top[i]
        module = row.module
        conv = _conv_of(module)
        if hasattr(module, "widths"):
            w = module.widths
            name = f"inception ({row.name.removeprefix('inception')})"
            depth = count_depth(module, row.input_shape[1:])
            rows.append(
                [
                    name,
                    "",
                    _hwc(row.output_shape),
                    depth,
                    w.ch1x1,
                    w.ch3x3red,
                    w.ch3x3,
                    w.ch5x5red,
                    w.ch5x5,
                    w.pool_proj,
                    row.num_params,
                    _subtree_macs(built, row.name),
                ]
            )
        elif conv is not None:
            nxt = _conv_of(top[i + 1].module) if i + 1 < len(top) else None
            if _pair(conv.kernel_size) == 1 and nxt is not None and _pair(nxt.kernel_size) > 1:
                # a 1×1 reduction and the convolution it feeds: one row of depth 2, as the paper draws conv2
                k, s = _pair(nxt.kernel_size), _pair(nxt.stride)
                nrow = top[i + 1]
                rows.append(
                    [
                        "convolution",
                        f"{k}×{k}/{s}",
                        _hwc(nrow.output_shape),
                        2,
                        None,
                        conv.out_channels,
                        nxt.out_channels,
                        None,
                        None,
                        None,
                        row.num_params + nrow.num_params,
                        _subtree_macs(built, row.name) + _subtree_macs(built, nrow.name),
                    ]
                )
                i += 2
                continue
            k, s = _pair(conv.kernel_size), _pair(conv.stride)
            rows.append(
                [
                    "convolution",
                    f"{k}×{k}/{s}",
                    _hwc(row.output_shape),
                    1,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    row.num_params,
                    _subtree_macs(built, row.name),
                ]
            )
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
            kind = "max pool" if "Max" in type(module).__name__ else "avg pool"
            rows.append([kind, _patch(module, row), _hwc(row.output_shape), 0] + [None] * 6 + [0, 0])
        elif isinstance(module, nn.Dropout):
            rows.append([f"dropout ({module.p:.0%})", "", _hwc(row.output_shape), 0] + [None] * 6 + [0, 0])
        elif isinstance(module, nn.Linear):
            rows.append(
                ["linear", "", _hwc(row.output_shape), 1]
                + [None] * 6
                + [row.num_params, _subtree_macs(built, row.name)]
            )
        i += 1
    if rows and rows[-1][0] == "linear":
        rows.append(["softmax", "", rows[-1][2], 0] + [None] * 6 + [0, 0])
    at_paper_size = tuple(built.input_size[1:]) == GOOGLENET_PAPER_INPUT
    for r in rows:
        key = f"{r[0]} {r[1]}" if r[0] == "convolution" else r[0]
        params, ops = GOOGLENET_PAPER_COSTS.get(key, (None, None))
        r.extend([_paper_figure(params), _paper_figure(ops if at_paper_size else None)])  # ops depend on the size
    total_params = sum(r[10] for r in rows)
    total_ops = sum(r[11] for r in rows)
    rows.append(
        [
            "total",
            "",
            "",
            sum(r[3] for r in rows),
            None,
            None,
            None,
            None,
            None,
            None,
            total_params,
            total_ops,
            _paper_figure(GOOGLENET_PAPER_TOTAL),
            None,
        ]
    )
    notes = [
        f"Built from {built.name} at input {'×'.join(map(str, built.input_size))}, eval mode (auxiliary heads not run, "
        "so not counted). params: exact, with biases (and BatchNorm where the layout has it); ops: multiply-adds, "
        "one per weight per output position.",
        "params (paper), ops (paper): Szegedy et al. 2015, Table 1. The paper's params column sums to about 6.8M; "
        "the exact count of its layout (layout='paper', without the auxiliary heads) is 6,998,552; the rows "
        "differ by a few percent (conv1 most: 2.7K printed for 7×7×3×64 = 9,408 weights).",
    ]
    if not at_paper_size:
        notes.append(
            f"ops (paper) is left out: the paper's ops are for {'×'.join(map(str, GOOGLENET_PAPER_INPUT))} "
            f"inputs, this table's for {'×'.join(map(str, built.input_size[1:]))} (ops grow with the "
            "image's area; params do not change)."
        )
    formats = {"params": _text, "ops": _millions}
    return ArchTable(
        f"{built.name} (Szegedy et al. 2015, Table 1)", GOOGLENET_COLUMNS, GOOGLENET_KEYS, rows, notes, formats
    )


def _conv_of(module: nn.Module) -> nn.Conv2d | None:
    if isinstance(module, nn.Conv2d):
        return module
    conv = getattr(module, "conv", None)
    return conv if isinstance(conv, nn.Conv2d) else None


def _patch(module: nn.Module, row: LayerRow) -> str:
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        h_in, h_out = row.input_shape[2], row.output_shape[2]
        k = h_in // h_out
        return f"{k}×{k}/1" if h_out == 1 else f"{k}×{k}/{k}"
    return f"{_pair(module.kernel_size)}×{_pair(module.kernel_size)}/{_pair(module.stride)}"


def _millions(value: int) -> str:
    if value == 0:
        return "0"
    return f"{value / 1e6:.0f}M" if value >= 1e6 else f"{value / 1e6:.2f}M"


# -- the generic layer table (VGG, AlexNet, NiN) -----------------------------------------------------------

LAYER_COLUMNS = ["layer", "module", "input", "output", "stride", "kernel", "in", "out", "parameters"]
LAYER_KEYS = ["layer", "module", "input", "output", "stride", "kernel", "in_channels", "out_channels", "params"]
_SKIPPED = (nn.ReLU, nn.Dropout, nn.Identity, nn.LocalResponseNorm, nn.Flatten, nn.Softmax)


def layer_table(built: _Built) -> ArchTable:
    """One row per convolution, pool, normalisation and linear layer, in forward order; then the total."""
    rows: list[list[Any]] = []
    for row in built.rows:
        module = row.module
        if not row.is_leaf or not row.executed or row.is_recursive or isinstance(module, _SKIPPED):
            continue
        if not row.num_params and row.input_shape == row.output_shape:
            continue  # shape-preserving and weightless, e.g. an adaptive pool already at its size
        rows.append(_layer_row(row))
    total = sum(r[-1] for r in rows)
    rows.append(["total", "", "", "", None, "", None, None, total])
    model_params = sum(p.numel() for p in built.model.parameters())
    relation = "equals" if total == model_params else "differs from (layers the forward pass did not run)"
    notes = [
        f"Built from {built.name} at input {'×'.join(map(str, built.input_size))}; ReLU and dropout rows left out. "
        f"The total {relation} the model's parameter count, {model_params:,}.",
    ]
    return ArchTable(f"{built.name}: layer by layer", LAYER_COLUMNS, LAYER_KEYS, rows, notes)


def _layer_row(row: LayerRow) -> list[Any]:
    module = row.module
    name, stride, kernel = type(module).__name__, None, ""
    in_ch, out_ch = row.input_shape[1], row.output_shape[1]
    if isinstance(module, nn.modules.conv._ConvNd):
        k = _pair(module.kernel_size)
        name, stride, kernel = f"conv{k}-{module.out_channels}", _pair(module.stride), f"{k}×{k}"
    elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        k = _pair(module.kernel_size)
        name = "maxpool" if isinstance(module, nn.MaxPool2d) else "avgpool"
        stride, kernel = _pair(module.stride), f"{k}×{k}"
    elif isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        name = "global avgpool" if row.output_shape[2:] == [1, 1] else "adaptive avgpool"
    elif isinstance(module, nn.Linear):
        name = f"FC-{module.out_features}"
    elif isinstance(module, nn.modules.batchnorm._BatchNorm):
        name = "batchnorm"
    return [
        name,
        row.name,
        _hwc_or_n(row.input_shape),
        _hwc_or_n(row.output_shape),
        stride,
        kernel,
        in_ch,
        out_ch,
        row.num_params,
    ]


def _hwc_or_n(shape: Sequence[int]) -> str:
    """H×W×C for maps, the plain length for the flat vectors of the fully connected layers."""
    return _hwc(shape) if len(shape) > 2 else str(shape[1])


# -- dispatch -------------------------------------------------------------------------------------------


def arch_tables(
    names: Sequence[str], options: dict[str, Any] | None = None, input_size: Sequence[int] | None = None
) -> ArchTables:
    """The paper-style tables of these models; ImageNet ResNets with the same stage sizes share one table.

    ResNets are built with the paper's stride placement (`stride_in_1x1=True`) unless `options` set it.
    """
    from cnnzoo.models import model_options

    if not names:
        raise CnnzooError("give at least one model name")
    tables: list[ArchTable] = []
    resnet_group: list[_Built] = []

    def flush() -> None:
        if resnet_group:
            tables.append(resnet_table(list(resnet_group)))
            resnet_group.clear()

    for name in names:
        opts = dict(options or {})
        if "stride_in_1x1" in model_options(name) and "stride_in_1x1" not in opts:
            opts["stride_in_1x1"] = True
        built = _build(name, opts, input_size)
        model = built.model
        if _is_resnet(model) and len(_stages(model)) == 3:
            flush()
            tables.append(cifar_resnet_table(built))
        elif _is_resnet(model):
            if resnet_group and _stage_sizes(resnet_group[0]) != _stage_sizes(built):
                flush()
            resnet_group.append(built)
        elif any(hasattr(m, "widths") for m in model.modules()):
            flush()
            tables.append(googlenet_table(built))
        else:
            flush()
            tables.append(layer_table(built))
    flush()
    return ArchTables(tables)


def _stage_sizes(built: _Built) -> tuple:
    return tuple(tuple(built.first(f"layer{i + 1}").output_shape[2:]) for i in range(len(_stages(built.model))))
