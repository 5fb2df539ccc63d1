"""Architecture diagrams drawn from the built model, as the papers draw them, laid out by Graphviz's dot.

The model is built on the meta device (no memory, no arithmetic), traced with torch.fx into its dataflow
graph, and every tensor's shape is propagated through it; nothing here restates a family's table. So a
changed option changes the picture. Three levels:

- `stages`: one box per stage (ResNet's conv2_x ... with their bracket and ×n, each inception module, VGG's
  blocks of 3×3 convolutions, NiN's mlpconv blocks), as the papers' tables read;
- `blocks` (default): every weight layer and pool, BN and ReLU left out, residual units with their shortcuts
  (solid: identity; dashed: 1×1 projection; dotted: zero-padded identity, option A) as ResNet's fig. 3 draws
  them, inception modules with their four branches and 1×1 reductions as GoogLeNet's fig. 2(b);
- `layers`: BN and ReLU too, so the residual-unit variants of Identity Mappings fig. 4 (a)-(e) differ.

`module="layer2.0"` draws one submodule alone (a residual unit, an inception module). Edges carry the
tensor's size as H×W×C.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.fx as fx
import torch.nn as nn

from cnnzoo.errors import CnnzooError, check_choice

LEVELS = ("stages", "blocks", "layers")
SHORTCUT_STYLES = {"identity": "solid", "projection": "dashed", "pad": "dotted"}
_HIDDEN_IN_BLOCKS = ("norm", "act", "dropout", "lrn")
_COLORS = {
    "input": "#ffffff",
    "conv": "#dbe8f6",
    "pool": "#f8e6c8",
    "fc": "#e6dcf2",
    "norm": "#e3f1e3",
    "act": "#fbe0e0",
    "lrn": "#e3f1e3",
    "dropout": "#eeeeee",
    "stage": "#dbe8f6",
    "other": "#eeeeee",
}


@dataclass
class Node:
    """One box of the diagram: a layer, an addition (⊕), a concatenation, or a whole stage."""

    id: str
    label: str
    kind: str  # input, conv, pool, fc, norm, act, lrn, dropout, add, concat, stage, output, other
    module: str = ""  # qualified name of the module it draws ("" for functions and the input)
    shape: tuple[int, ...] = ()  # its output, without the batch dimension
    cluster: tuple[str, ...] = ()  # the enclosing units, outermost first (qualified names)


@dataclass
class Edge:
    """A tensor passed from one node to another; `shortcut` is identity, projection or pad, else ""."""

    src: str
    dst: str
    label: str = ""
    shortcut: str = ""


@dataclass
class Diagram:
    """A network drawn as nodes, edges and nested clusters (units and stages), ready for Graphviz."""

    title: str
    level: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    clusters: dict[str, str] = field(default_factory=dict)  # qualified name -> label

    def count(self, kind: str) -> int:
        """How many nodes of a kind ("add": residual units with a shortcut, "concat": inception modules)."""
        return sum(node.kind == kind for node in self.nodes)

    def shortcuts(self, kind: str) -> list[Edge]:
        """The shortcut edges of a kind: identity, projection or pad."""
        return [edge for edge in self.edges if edge.shortcut == kind]


# ------------------------------------------------------------------------------------------- the families
def residual_shortcuts(model: nn.Module) -> dict[str, str]:
    """Each residual unit's qualified name and its shortcut: identity, projection (a 1x1 conv) or pad (option A).

    The one place that knows ResNet's module names: a unit is a `resnet.ResidualUnit`, its shortcut the
    `downsample` attribute (None: identity; a PadShortcut: option A; a Sequential with a conv: projection).
    """
    from cnnzoo.models import resnet

    units = {}
    for name, module in model.named_modules():
        if isinstance(module, resnet.ResidualUnit):
            downsample = getattr(module, "downsample", None)
            if downsample is None:
                units[name] = "identity"
            elif isinstance(downsample, resnet.PadShortcut):
                units[name] = "pad"
            else:
                units[name] = (
                    "projection" if any(isinstance(m, nn.Conv2d) for m in downsample.modules()) else "identity"
                )
    return units


def _units(model: nn.Module) -> dict[str, str]:
    """Modules drawn as a cluster of their own, with their label: residual units, inception modules, NiN blocks."""
    from cnnzoo.models import googlenet, nin

    units = {name: "" for name in residual_shortcuts(model)}
    for name, module in model.named_modules():
        if isinstance(module, googlenet.Inception):
            units[name] = "inception (" + name.removeprefix("inception") + ")"
        elif isinstance(module, googlenet.InceptionAux):
            units[name] = f"auxiliary classifier ({name})"
        elif isinstance(model, nin.NiN) and name.count(".") == 1 and isinstance(module, nn.Sequential):
            units[name] = "mlpconv"
    for name, _ in model.named_children():  # ResNet's stages, named as in its Table 1
        if name.startswith("layer") and any(unit.startswith(name + ".") for unit in units):
            units[name] = f"conv{int(name[5:]) + 1}_x"
    return units


def _stage_groups(model: nn.Module, modules: dict[str, nn.Module]) -> dict[str, tuple[str, str]]:
    """For `stages`: module prefix -> (group id, label). ResNet stages, inception modules, NiN and VGG blocks."""
    from cnnzoo.models import vgg

    groups: dict[str, tuple[str, str]] = {}
    units = _units(model)
    for name, label in units.items():
        if name.startswith("layer") and "." not in name:  # a ResNet stage: [k×k, C; ...] ×n
            blocks = list(modules[name].children())
            convs = [
                m
                for m in blocks[0].modules()
                if isinstance(m, nn.Conv2d) and m is not getattr(blocks[0], "downsample", None)
            ]
            convs = [c for c in convs if not _in_shortcut(blocks[0], c)]
            bracket = "; ".join(f"{c.kernel_size[0]}×{c.kernel_size[1]}, {c.out_channels}" for c in convs)
            groups[name] = (name, f"{label}\n[{bracket}] ×{len(blocks)}")
        elif label.startswith(("inception", "mlpconv")):
            groups[name] = (name, _unit_summary(name, label, modules[name]))
    if isinstance(model, vgg.VGG):  # convolutions between two pools form a block, as in the paper's Table 1
        block, run = 1, []
        for name, module in model.features.named_children():
            if isinstance(module, nn.MaxPool2d):
                convs = [m for m in run if isinstance(m[1], nn.Conv2d)]
                label = f"[3×3 conv, {convs[0][1].out_channels}] ×{len(convs)}"
                groups |= {f"features.{n}": (f"block{block}", label) for n, _ in run}
                block, run = block + 1, []
            else:
                run.append((name, module))
    return groups


def _in_shortcut(unit: nn.Module, conv: nn.Module) -> bool:
    downsample = getattr(unit, "downsample", None)
    return downsample is not None and any(m is conv for m in downsample.modules())


def _unit_summary(name: str, label: str, module: nn.Module) -> str:
    """A stage box's text for an inception module (its Table 1 row) or an NiN block (its convolutions)."""
    widths = getattr(module, "widths", None)
    if widths is not None:
        w = widths
        return (
            f"{label}\n#1×1 {w.ch1x1} | #3×3 reduce {w.ch3x3red}, #3×3 {w.ch3x3} | "
            f"#5×5 reduce {w.ch5x5red}, #5×5 {w.ch5x5} | pool proj {w.pool_proj}"
        )
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    return f"{label}\n" + " · ".join(f"{c.kernel_size[0]}×{c.kernel_size[1]}, {c.out_channels}" for c in convs)


# ------------------------------------------------------------------------------------------- tracing
class _Tracer(fx.Tracer):
    """torch.fx's tracer, with each residual shortcut kept whole: it becomes one styled edge, as in fig. 3."""

    def __init__(self, shortcut_modules: set[str]) -> None:
        super().__init__()
        self.shortcut_modules = shortcut_modules

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return qualname in self.shortcut_modules or super().is_leaf_module(m, qualname)


def _size(shape: tuple[int, ...]) -> str:
    """H×W×C as GoogLeNet's Table 1 writes it; a vector's length alone."""
    if len(shape) == 3:
        c, h, w = shape
        return f"{h}×{w}×{c}"
    return "×".join(map(str, shape))


def _pair(value: Any) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _describe(module: nn.Module) -> tuple[str, str]:
    """(kind, label) of a leaf module in the papers' words: "3×3 conv, 64, /2", "fc 10", "3×3 max pool, /2"."""
    if isinstance(module, nn.Conv2d):
        (kh, kw), (stride, _) = module.kernel_size, module.stride
        return "conv", f"{kh}×{kw} conv, {module.out_channels}" + (f", /{stride}" if stride > 1 else "")
    if isinstance(module, nn.Linear):
        return "fc", f"fc {module.out_features}"
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        kind = "max" if isinstance(module, nn.MaxPool2d) else "avg"
        (k, _), (s, _) = _pair(module.kernel_size), _pair(module.stride or module.kernel_size)
        return "pool", f"{k}×{k} {kind} pool" + (f", /{s}" if s > 1 else "")
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        size = _pair(module.output_size)
        return "pool", "global avg pool" if size == (1, 1) else f"avg pool to {size[0]}×{size[1]}"
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return "norm", "BN"
    if isinstance(module, (nn.ReLU, nn.GELU, nn.SiLU)):
        return "act", "ReLU" if isinstance(module, nn.ReLU) else type(module).__name__
    if isinstance(module, nn.LocalResponseNorm):
        return "lrn", "LRN"
    if isinstance(module, nn.Dropout):
        return "dropout", f"dropout {module.p:g}"
    return "other", type(module).__name__


def _shortcut_label(module: nn.Module, shape: tuple[int, ...]) -> str:
    """A projection's or padding's words on its dashed or dotted edge, e.g. "1×1 conv, 128, /2"."""
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    if convs:
        return _describe(convs[0])[1]
    stride = getattr(module, "stride", 1)
    return f"pad to {shape[0]}" + (f", /{stride}" if stride > 1 else "")


def diagram(
    model_or_name: nn.Module | str,
    level: str = "blocks",
    module: str | None = None,
    input_size: tuple[int, int, int] | None = None,
    **options: Any,
) -> Diagram:
    """The diagram of a registered model (built with `options`) or of a model you pass, at one level."""
    from torch.fx.passes.shape_prop import ShapeProp

    from cnnzoo.models import create_model, get_model_config

    check_choice("level", level, LEVELS)
    if isinstance(model_or_name, str):
        cfg = get_model_config(model_or_name, **options)
        with torch.device("meta"):  # shapes only: no weights are allocated or initialised
            model = create_model(model_or_name, **options)
        input_size = input_size or cfg.input_size
        title = f"{model_or_name} ({cfg.paper})"
    else:
        model = model_or_name
        input_size = input_size or getattr(getattr(model, "default_cfg", None), "input_size", (3, 224, 224))
        title = getattr(model, "model_name", type(model).__name__)
    model = model.eval()
    shortcuts = residual_shortcuts(model)
    shortcut_modules = {f"{unit}.downsample" for unit, kind in shortcuts.items() if kind != "identity"}
    tracer = _Tracer(shortcut_modules)
    graph = fx.GraphModule(model, tracer.trace(model))
    device = next(iter(model.parameters()), torch.empty(0)).device
    ShapeProp(graph).propagate(torch.empty(1, *input_size, device=device))
    modules = dict(model.named_modules())
    if module is not None and module not in modules:
        raise CnnzooError(f"{title} has no module {module!r}; module names are as in `cnnzoo summary`, e.g. layer1.0")
    options_text = ", ".join(f"{k}={v}" for k, v in options.items())  # the options drawn, in the title
    out = Diagram(
        f"{title}{', ' + options_text if options_text else ''}, input {_size(tuple(input_size))}"
        + (f": {module}" if module else ""),
        level,
    )
    units = _units(model)
    groups = _stage_groups(model, modules) if level == "stages" else {}
    _convert(graph, out, modules, units, shortcuts, groups, module)
    return out


def _shape(node: fx.Node) -> tuple[int, ...]:
    meta = node.meta.get("tensor_meta")
    return tuple(meta.shape[1:]) if meta is not None and hasattr(meta, "shape") else ()


def _enclosing(node: fx.Node, units: dict[str, str]) -> tuple[str, ...]:
    """The units (and stages) around a node, outermost first, from the module stack fx recorded."""
    stack = [name.split("@")[0] for name in node.meta.get("nn_module_stack", {})]
    if node.op == "call_module":
        stack.append(str(node.target))
    return tuple(dict.fromkeys(name for name in stack if name in units))


def _convert(
    graph: fx.GraphModule,
    out: Diagram,
    modules: dict[str, nn.Module],
    units: dict[str, str],
    shortcuts: dict[str, str],
    groups: dict[str, tuple[str, str]],
    only: str | None,
) -> None:
    """Turn the traced graph into the diagram's nodes and edges: hidden nodes pass their input on."""
    source: dict[fx.Node, tuple[str, str, str]] = {}  # fx node -> (diagram node id, shortcut kind, edge label)
    nodes: dict[str, Node] = {}

    def inside(name: str) -> bool:
        return only is None or name == only or name.startswith(only + ".")

    def group_of(name: str) -> tuple[str, str] | None:
        while name:
            if name in groups:
                return groups[name]
            name = name.rpartition(".")[0]
        return None

    def connect(node_id: str, args: list[fx.Node], shortcut_of_unit: str = "") -> None:
        for arg in args:
            if arg not in source:
                continue
            src, kind, label = source[arg]
            if src == "input" and src not in nodes:
                nodes[src] = Node(src, "input", "input", shape=_shape(arg))
            if src == node_id:
                continue
            if shortcut_of_unit and not kind:  # an add's input from outside its unit: the identity shortcut
                producer = nodes.get(src)
                kind = "identity" if producer is None or shortcut_of_unit not in producer.cluster else ""
            edge = Edge(src, node_id, label if kind else _size(_shape(arg)), kind)
            if all((e.src, e.dst) != (edge.src, edge.dst) for e in out.edges):
                out.edges.append(edge)

    for node in graph.graph.nodes:
        tensors = [a for a in node.all_input_nodes if a in source]
        name = str(node.target) if node.op == "call_module" else ""
        stack = _enclosing(node, units)
        scope = name or next(reversed([k.split("@")[0] for k in node.meta.get("nn_module_stack", {})]), "")
        if node.op == "placeholder" or (node.op != "output" and not inside(scope)):
            source[node] = ("input", "", "")  # the drawn module's input: made a node when first used
            continue
        if node.op == "output":
            continue
        if name and any(name == f"{unit}.downsample" for unit in shortcuts):  # a shortcut: one styled edge
            unit = name.rsplit(".", 1)[0]
            if tensors:
                source[node] = (source[tensors[0]][0], shortcuts[unit], _shortcut_label(modules[name], _shape(node)))
            continue
        if name:
            kind, label = _describe(modules[name])
        elif node.target in (operator.add, torch.add, operator.iadd):
            kind, label = "add", "+"
        elif node.target is torch.cat:
            kind, label = "concat", "filter concatenation"
        else:
            kind, label = "pass", ""
        if (
            kind in ("pass", "other")
            and label in ("", "Identity", "Flatten")
            or (out.level != "layers" and kind in _HIDDEN_IN_BLOCKS)
        ):
            if tensors:
                source[node] = source[tensors[0]]
            continue
        group = group_of(scope) if groups else None
        if group is not None:  # stages: the node joins its stage's box
            nid, label = group
            if nid not in nodes:
                nodes[nid] = Node(nid, label, "stage", nid)
            nodes[nid].shape = _shape(node)
            connect(nid, tensors)
            source[node] = (nid, "", "")
            continue
        nid = f"n{len(nodes)}"
        unit = stack[-1] if kind == "add" and stack and stack[-1] in shortcuts else ""
        connect(nid, tensors, unit)  # first: the drawing's input node, made on first use, comes before this one
        nodes[nid] = Node(nid, label, kind, name, _shape(node), stack if out.level != "stages" else ())
        source[node] = (nid, "", "")
    # Sizes where they change (and where a stage ends), not on every edge: the picture stays readable.
    shape_in = {edge.dst: nodes[edge.src].shape for edge in reversed(out.edges) if not edge.shortcut}
    for edge in out.edges:
        src, dst = nodes[edge.src], nodes[edge.dst]
        if edge.shortcut:  # a shortcut's words say what it does
            continue
        stage_end = any(name.startswith("layer") and name not in dst.cluster for name in src.cluster)
        if src.kind == "stage" or stage_end:
            edge.label = _size(src.shape)
        elif src.kind != "input" and shape_in.get(src.id) == src.shape:
            edge.label = ""
    out.nodes = list(nodes.values())
    used = {name for node in out.nodes for name in node.cluster}
    out.clusters = {name: units[name] for name in units if name in used}


# ------------------------------------------------------------------------------------------- rendering
def to_dot(diagram: Diagram) -> Any:
    """The diagram as a graphviz.Digraph: a top-to-bottom column, units and stages as nested clusters."""
    from cnnzoo.visual import require

    graphviz = require("graphviz")
    dot = graphviz.Digraph(
        diagram.title,
        graph_attr=dict(
            rankdir="TB",
            label=diagram.title,
            labelloc="t",
            fontsize="16",
            fontname="DejaVu Sans",
            nodesep="0.3",
            ranksep="0.25",
            newrank="true",
            bgcolor="white",
        ),
        node_attr=dict(
            shape="box", style="rounded,filled", fontname="DejaVu Sans", fontsize="11", height="0.3", penwidth="0.8"
        ),
        edge_attr=dict(fontname="DejaVu Sans", fontsize="9", color="#444444", arrowsize="0.6"),
    )
    tree: dict[tuple[str, ...], list[Node]] = {}
    for node in diagram.nodes:
        tree.setdefault(node.cluster, []).append(node)

    def add_nodes(graph: Any, nodes: list[Node]) -> None:
        for node in nodes:
            if node.kind == "add":
                graph.node(
                    node.id,
                    "+",
                    shape="circle",
                    style="filled",
                    fillcolor="white",
                    width="0.25",
                    fixedsize="true",
                    fontsize="14",
                )
            elif node.kind == "concat":
                graph.node(node.id, node.label, fillcolor="#fff4b3")
            elif node.kind == "input":
                graph.node(node.id, f"input\n{_size(node.shape)}", shape="plaintext", style="")
            else:
                graph.node(node.id, node.label, fillcolor=_COLORS.get(node.kind, "#eeeeee"))

    def add_cluster(graph: Any, path: tuple[str, ...]) -> None:
        children = sorted({key[: len(path) + 1] for key in tree if len(key) > len(path) and key[: len(path)] == path})
        for child in children:
            name = child[-1]
            label = diagram.clusters.get(name, "")
            with graph.subgraph(name=f"cluster_{name}") as sub:
                stage = name.startswith("layer") and "." not in name
                sub.attr(
                    label=label,
                    style="rounded,dashed" if not stage else "rounded",
                    color="#999999",
                    fontsize="11",
                    labeljust="l",
                    fontname="DejaVu Sans",
                )
                add_nodes(sub, tree.get(child, []))
                add_cluster(sub, child)

    add_nodes(dot, tree.get((), []))
    add_cluster(dot, ())
    for edge in diagram.edges:
        style = SHORTCUT_STYLES.get(edge.shortcut, "solid")
        attrs = dict(style=style, label=f" {edge.label}" if edge.label else "")
        if edge.shortcut:
            attrs |= dict(color="#1f5fa8", fontcolor="#1f5fa8", penwidth="1.2")
        dot.edge(edge.src, edge.dst, **attrs)
    return dot


def render(diagram: Diagram, path: str | Path) -> Path:
    """Write the diagram as SVG or PNG (by the file's suffix) with Graphviz's dot."""
    from cnnzoo.visual import require

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("svg", "png"):
        raise CnnzooError(f"cannot draw to {path}: the file must end in .svg or .png")
    graphviz = require("graphviz")
    dot = to_dot(diagram)
    if fmt == "png":
        dot.graph_attr["dpi"] = "110"
    try:
        data = dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise CnnzooError(
            "drawing needs Graphviz's dot program: apt-get install graphviz (or brew install graphviz), then try again"
        ) from None
    from cnnzoo.io import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: f.write(data))
    return path
