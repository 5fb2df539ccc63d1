"""Layer-by-layer summaries in the manner of torchsummary and torchinfo, built on forward hooks.

One row per module call, depth-indexed like torchinfo (`Conv2d (conv1): 1-1`), with kernel, input and output
shapes, parameters, multiply-adds and a trainable flag; then the totals and the memory estimates. The numbers
follow torchinfo 1.8's conventions, so the two agree (the tests check it for every registered model):

- multiply-adds are counted for leaf modules only: a convolution uses each weight and bias element once per
  output position (× N × H_out × W_out); any other layer with parameters (Linear, BatchNorm) uses each once
  per sample (× N). So BatchNorm costs 2·C per image, and biases count; PyTorch's FLOP counter
  (`counts.count_macs`) counts neither, which is why its totals are slightly lower.
- forward/backward pass size = output bytes of every leaf call that has parameters, × 2 (the activation
  and its gradient); params size = bytes of the parameters of the leaf modules the forward pass used;
  input size = bytes of the input batch; sizes in MB of 10^6 bytes.
- a module called again in the same forward pass (torchvision's shared ReLU) gets a row marked recursive:
  its multiply-adds and activations count again, its parameters do not.

Summarising a model by name builds it on the meta device: shapes and counts come out without allocating
weights or doing arithmetic, so a summary of VGG-16 costs milliseconds.
"""

from __future__ import annotations

import csv
import io
import json
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn as nn

from cnnzoo.errors import CnnzooError, check_choice
from cnnzoo.inspect.render import FORMATS, SUMMARY_COLUMNS, render_table

COLUMNS = SUMMARY_COLUMNS
COLUMN_TITLES = {
    "kernel_size": "Kernel Shape",
    "input_size": "Input Shape",
    "output_size": "Output Shape",
    "num_params": "Param #",
    "mult_adds": "Mult-Adds",
    "trainable": "Trainable",
}
MODES = ("eval", "train")
MAX_BATCH_SIZE = 65536


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _input_shape(input_size: Sequence[int] | str) -> tuple[int, ...]:
    """(C, H, W) as given, or a 'CxHxW' string as the command line takes it; anything else is a one-line error."""
    if isinstance(input_size, str):
        from cnnzoo.inspect.cost import parse_shape

        return parse_shape(input_size, "CxHxW")
    try:
        shape = tuple(input_size)
    except TypeError:
        shape = ()
    if len(shape) != 3 or not all(_is_int(v) and v >= 1 for v in shape):
        raise CnnzooError(
            f"input size must be three positive numbers C, H, W (integers), e.g. (3, 32, 32) or '3x32x32', "
            f"got {input_size!r}"
        )
    return tuple(int(v) for v in shape)


@dataclass
class LayerRow:
    """One call of one module in the forward pass (or a container the pass entered without calling it)."""

    name: str  # dotted path in the model, "" for the model itself
    class_name: str
    depth: int
    is_leaf: bool
    is_recursive: bool  # the module was already called earlier in this pass
    num_params: int  # all parameters of the module's subtree
    trainable_params: int
    param_bytes: int
    kernel_size: list[int] | int | None
    executed: bool = False
    depth_index: int = 0
    input_shape: list[int] = field(default_factory=list)
    output_shape: list[int] = field(default_factory=list)
    output_bytes: int = 0
    macs: int = 0  # own multiply-adds of this call; leaf modules only
    module: nn.Module | None = field(default=None, repr=False)

    @property
    def var_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    @property
    def trainable(self) -> str:
        """'True', 'False', 'Partial', or '--' for a layer without parameters, as torchinfo shows it."""
        if self.num_params == 0:
            return "--"
        if self.trainable_params == 0:
            return "False"
        return "True" if self.trainable_params == self.num_params else "Partial"

    def label(self) -> str:
        """`Conv2d (conv1): 1-1`: type, attribute name, depth and index within that depth."""
        text = self.class_name
        if self.depth > 0:
            text += f" ({self.var_name}): {self.depth}-{self.depth_index}"
        return text


@dataclass
class Summary:
    """The rows of one forward pass and their totals; `render(fmt)` gives table, markdown, json or csv."""

    model_name: str
    input_size: tuple[int, ...]  # (N, C, H, W)
    mode: str
    rows: list[LayerRow]
    depth: int = 3
    columns: tuple[str, ...] = COLUMNS
    total_params: int = 0
    trainable_params: int = 0
    total_macs: int = 0
    input_bytes: int = 0
    pass_bytes: int = 0
    param_bytes: int = 0

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def total_bytes(self) -> int:
        return self.input_bytes + self.pass_bytes + self.param_bytes

    def memory_mb(self) -> dict[str, float]:
        """The memory estimates in MB (10^6 bytes), rounded to two decimals like torchsummary and torchinfo."""
        sizes = {
            "input": self.input_bytes,
            "forward_backward_pass": self.pass_bytes,
            "params": self.param_bytes,
            "estimated_total": self.total_bytes,
        }
        return {key: round(value / 1e6, 2) for key, value in sizes.items()}

    def visible_rows(self) -> list[tuple[LayerRow, int | None, int | None]]:
        """Rows down to `depth`, with the parameters and multiply-adds each shows (None where torchinfo shows '--').

        A leaf, or a container at the depth limit, shows its whole subtree; a container above the limit shows
        only the parameters none of its listed children hold (usually none).
        """
        shown = []
        for i, row in enumerate(self.rows):
            if row.depth > self.depth:
                continue
            at_limit = row.depth == self.depth
            if row.is_recursive:
                params = None
            elif row.is_leaf or at_limit:
                params = row.num_params
            else:
                params = self._leftover(i, "num_params")
            if row.is_leaf:
                macs = row.macs
            elif at_limit:
                macs = sum(r.macs for r in self._descendants(i) if r.is_leaf)
            else:
                macs = 0
            shown.append((row, params or None, macs or None))
        return shown

    def _descendants(self, i: int) -> list[LayerRow]:
        out = []
        for row in self.rows[i + 1 :]:
            if row.depth <= self.rows[i].depth:
                break
            out.append(row)
        return out

    def _leftover(self, i: int, attr: str) -> int:
        """A container's own parameters: its subtree minus its listed, first-call children."""
        children = [r for r in self._descendants(i) if r.depth == self.rows[i].depth + 1 and not r.is_recursive]
        return getattr(self.rows[i], attr) - sum(getattr(r, attr) for r in children)

    def totals(self) -> dict[str, int]:
        return {
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "total_macs": self.total_macs,  # "macs", the key every command's JSON gives multiply-adds
        }

    # -- rendering ---------------------------------------------------------------------------------------

    def render(self, fmt: str = "table") -> str:
        check_choice("format", fmt, FORMATS)
        if fmt == "json":
            return json.dumps(self.to_dict(), indent=2)
        if fmt == "csv":
            return self._csv()
        headers = ["Layer (type (var_name):depth-idx)"] + [COLUMN_TITLES[c] for c in self.columns]
        rows = [
            [self._tree_prefix(row) + row.label()] + self._cells(row, params, macs)
            for row, params, macs in self.visible_rows()
        ]
        title = f"{self.model_name} — input {_shape(self.input_size)}, {self.mode} mode"
        table = render_table(headers, rows, fmt, title=title)
        return table + "\n\n" + self._footer(markdown=fmt == "markdown")

    def __str__(self) -> str:
        return self.render("table")

    def __repr__(self) -> str:  # the dataclass's own would list every row's fields: tens of thousands of characters
        return (
            f"Summary({self.model_name!r}, input {_shape(self.input_size)}, {len(self.rows)} rows, "
            f"{self.total_params:,} parameters, {self.total_macs:,} multiply-adds; print() it for the table)"
        )

    def _repr_markdown_(self) -> str:
        """What a Jupyter cell shows: the table in Markdown."""
        return self.render("markdown")

    def _tree_prefix(self, row: LayerRow) -> str:
        if row.depth == 0:
            return ""
        return "│    " * (row.depth - 1) + ("├─" if row.depth == 1 else "└─")

    def _cells(self, row: LayerRow, params: int | None, macs: int | None) -> list[str]:
        values = {
            "kernel_size": _dash(row.kernel_size),
            "input_size": _dash(row.input_shape),
            "output_size": _dash(row.output_shape),
            "num_params": self.params_text(row, params),
            "mult_adds": f"{macs:,}" if macs else "--",
            "trainable": row.trainable,
        }
        return [values[c] for c in self.columns]

    def params_text(self, row: LayerRow, params: int | None) -> str:
        """The Param # cell as torchinfo writes it: '--', '(recursive)', or a count, in parentheses when frozen."""
        if not row.num_params or params is None and not row.is_recursive:
            return "--"
        if row.is_recursive:
            return "(recursive)"
        whole_subtree = row.is_leaf or row.depth == self.depth
        return f"({params:,})" if whole_subtree and not row.trainable_params else f"{params:,}"

    def _footer(self, markdown: bool) -> str:
        mem = self.memory_mb()
        lines = [
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            f"Total mult-adds (G): {self.total_macs / 1e9:.2f}",
            f"Input size (MB): {mem['input']:.2f}",
            f"Forward/backward pass size (MB): {mem['forward_backward_pass']:.2f}",
            f"Params size (MB): {mem['params']:.2f}",
            f"Estimated Total Size (MB): {mem['estimated_total']:.2f}",
        ]
        return "\n".join(f"- {line}" for line in lines) if markdown else "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        layers = []
        for row, params, macs in self.visible_rows():
            layers.append(
                {
                    "name": row.name,
                    "type": row.class_name,
                    "depth": row.depth,
                    "depth_index": row.depth_index,
                    "kernel_shape": row.kernel_size,
                    "input_shape": row.input_shape,
                    "output_shape": row.output_shape,
                    "params": params,
                    "macs": macs,
                    "trainable": row.trainable,
                    "recursive": row.is_recursive,
                }
            )
        return {
            "model": self.model_name,
            "input_size": list(self.input_size),
            "mode": self.mode,
            "layers": layers,
            "totals": self.totals(),
            "memory_mb": self.memory_mb(),
        }

    def _csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            [
                "name",
                "type",
                "depth",
                "depth_index",
                "kernel_shape",
                "input_shape",
                "output_shape",
                "params",
                "macs",
                "trainable",
            ]
        )
        for row, params, macs in self.visible_rows():
            writer.writerow(
                [
                    row.name,
                    row.class_name,
                    row.depth,
                    row.depth_index,
                    _shape(row.kernel_size),
                    _shape(row.input_shape),
                    _shape(row.output_shape),
                    "" if params is None else params,
                    "" if macs is None else macs,
                    row.trainable,
                ]
            )
        return out.getvalue().rstrip("\n")


def _dash(value: Any) -> str:
    return str(value) if value else "--"


def _shape(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return "x".join(map(str, value))


# -- the forward pass -------------------------------------------------------------------------------------


def summary(
    model_or_name: nn.Module | str,
    input_size: Sequence[int] | None = None,
    depth: int = 3,
    columns: Sequence[str] = COLUMNS,
    device: torch.device | str | None = None,
    batch_size: int = 1,
    mode: str = "eval",
    model_options: dict[str, Any] | None = None,
) -> Summary:
    """Summarise a model, or a registered model by name, for one batch of `input_size` (C, H, W).

    `input_size` defaults to the model's `default_cfg`. A name is built on the meta device unless `device` is
    given (then built there, with real weights); a module runs on `device` or where its parameters are.
    `mode="train"` runs the training-mode graph (GoogLeNet's auxiliary heads); BatchNorm statistics are
    restored afterwards. `model_options` (e.g. {"in_chans": 1}) are passed to `create_model` with a name.
    """
    check_choice("mode", mode, MODES)
    for col in columns:
        check_choice("column", col, COLUMNS)
    if not _is_int(depth) or depth < 0:
        raise CnnzooError(f"depth must be 0 or more, got {depth!r}")
    if not _is_int(batch_size) or not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise CnnzooError(f"batch size must be at least 1 and at most {MAX_BATCH_SIZE}, got {batch_size!r}")
    if input_size is not None:
        input_size = _input_shape(input_size)
    if isinstance(model_or_name, str):
        from cnnzoo.models import create_model

        with torch.device(device or "meta"):
            model = create_model(model_or_name, **(model_options or {}))
        name = model_or_name
    else:
        if model_options:
            raise CnnzooError(f"options {sorted(model_options)} apply only when the model is given by name")
        model = model_or_name
        name = getattr(model, "model_name", type(model).__name__)
    if input_size is None:
        cfg = getattr(model, "default_cfg", None)
        if cfg is None:
            raise CnnzooError(f"{name} has no default_cfg; give input_size as (C, H, W)")
        input_size = cfg.input_size
    input_size = tuple(input_size)
    if device is None:
        param = next(iter(model.parameters()), None)
        device = param.device if param is not None else torch.device("cpu")
    model.to(device)
    x = torch.rand(batch_size, *input_size, device=device)
    rows = _forward_rows(model, x, training=mode == "train", name=name)
    result = Summary(name, (batch_size, *input_size), mode, rows, depth, tuple(columns))
    _fill_totals(result, x)
    return result


def _module_tree(model: nn.Module) -> tuple[dict[int, tuple[str, int]], dict[int, nn.Module | None]]:
    """Each module's dotted name and depth, and its parent, walking children in registration order."""
    where: dict[int, tuple[str, int]] = {}
    parent: dict[int, nn.Module | None] = {id(model): None}
    stack: list[tuple[str, nn.Module, int]] = [("", model, 0)]
    while stack:
        name, module, depth = stack.pop()
        if id(module) in where:
            continue
        where[id(module)] = (name, depth)
        for child_name, child in reversed(list(module.named_children())):
            if id(child) not in where:
                parent.setdefault(id(child), module)
                stack.append((f"{name}.{child_name}" if name else child_name, child, depth + 1))
    return where, parent


def _new_row(module: nn.Module, name: str, depth: int, seen: set[int]) -> LayerRow:
    params = list(module.parameters())
    kernel = getattr(module, "kernel_size", None)
    if isinstance(kernel, tuple):
        kernel = list(kernel)
    return LayerRow(
        name=name,
        class_name=type(module).__name__,
        depth=depth,
        is_leaf=next(iter(module.children()), None) is None,
        is_recursive=id(module) in seen,
        num_params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        param_bytes=sum(p.numel() * p.element_size() for p in params),
        kernel_size=kernel,
        module=module,
    )


def _forward_rows(model: nn.Module, x: torch.Tensor, training: bool, name: str) -> list[LayerRow]:
    where, parent = _module_tree(model)
    modules = {id(m): m for m in model.modules()}
    rows: list[LayerRow] = []
    seen: set[int] = set()
    open_calls: dict[int, list[LayerRow]] = {}

    def pre_hook(module: nn.Module, inputs: Any) -> None:
        row = _new_row(module, *where[id(module)], seen)
        first = _first_tensor(inputs)
        row.input_shape = list(first.shape) if first is not None else []
        seen.add(id(module))
        rows.append(row)
        open_calls.setdefault(id(module), []).append(row)

    def post_hook(module: nn.Module, inputs: Any, output: Any) -> None:
        row = open_calls[id(module)].pop()
        out = _first_tensor(output)
        if out is not None:
            row.output_shape = list(out.shape)
            row.output_bytes = out.numel() * out.element_size()
        row.executed = True
        if row.is_leaf:
            row.macs = _leaf_macs(module, row.output_shape)

    handles = []
    for module in modules.values():
        handles.append(module.register_forward_pre_hook(pre_hook))
        handles.append(module.register_forward_hook(post_hook))
    buffers = {key: b.detach().clone() for key, b in model.named_buffers()} if training else {}
    was_training = model.training
    try:
        model.train(training)
        with torch.no_grad():
            model(x)
    except (RuntimeError, ValueError, TypeError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CnnzooError(f"{name} cannot run on input {_shape(x.shape)}: {first_line}") from err
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
        if buffers:
            with torch.no_grad():
                for key, b in model.named_buffers():
                    b.copy_(buffers[key])
    rows = _insert_uncalled_containers(rows, where, parent)
    counters: dict[int, int] = {}
    for row in rows:
        counters[row.depth] = counters.get(row.depth, 0) + 1
        row.depth_index = counters[row.depth]
    return rows


def _insert_uncalled_containers(
    rows: list[LayerRow], where: dict[int, tuple[str, int]], parent: dict[int, nn.Module | None]
) -> list[LayerRow]:
    """Give containers whose forward was never called (ModuleList, a dict of stages) a row above their children."""
    out: list[LayerRow] = []
    open_at: dict[int, int] = {}  # depth → id of the module whose row is open at that depth
    listed: set[int] = set()
    for row in rows:
        chain = []
        module = parent.get(id(row.module))
        while module is not None and where[id(module)][1] > 0:
            chain.append(module)
            module = parent.get(id(module))
        for ancestor in reversed(chain):
            d = where[id(ancestor)][1]
            if open_at.get(d) != id(ancestor):
                out.append(_new_row(ancestor, *where[id(ancestor)], listed))
                listed.add(id(ancestor))
                open_at[d] = id(ancestor)
                for deeper in [k for k in open_at if k > d]:
                    del open_at[deeper]
        out.append(row)
        listed.add(id(row.module))
        open_at[row.depth] = id(row.module)
        for deeper in [k for k in open_at if k > row.depth]:
            del open_at[deeper]
    return out


def _first_tensor(obj: Any) -> torch.Tensor | None:
    """The tensor a row's shape describes: the first of a tuple or list, the last value of a dict (torchinfo's rule)."""
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, dict):
        return _first_tensor(list(obj.values())[-1]) if obj else None
    if isinstance(obj, (list, tuple)) and obj:
        return _first_tensor(obj[0])
    return None


def _leaf_macs(module: nn.Module, output_shape: list[int]) -> int:
    """torchinfo's rule: conv parameters work at every output position, other parameters once per sample."""
    if not output_shape:
        return 0
    batch = output_shape[0]
    positions = batch
    if isinstance(module, nn.modules.conv._ConvNd):
        for size in output_shape[2:]:
            positions *= size
    macs = 0
    for pname, p in module.named_parameters(recurse=False):
        if pname in ("weight", "bias"):
            macs += p.numel() * positions
        elif "weight" in pname or "bias" in pname:  # recurrent layers' weight_ih_l0 and the like
            macs += p.numel() * batch * (output_shape[1] if len(output_shape) > 1 else 1)
    return macs


def _fill_totals(result: Summary, x: torch.Tensor) -> None:
    rows = result.rows
    total = trainable = 0
    for i, row in enumerate(rows):
        if row.is_recursive:
            continue
        if row.is_leaf:
            total += row.num_params
            trainable += row.trainable_params
        else:
            total += max(result._leftover(i, "num_params"), 0)
            trainable += max(result._leftover(i, "trainable_params"), 0)
    result.total_params, result.trainable_params = total, trainable
    result.total_macs = sum(r.macs for r in rows if r.is_leaf)
    result.pass_bytes = 2 * sum(r.output_bytes for r in rows if r.is_leaf and r.num_params > 0)
    result.param_bytes = sum(r.param_bytes for r in rows if r.is_leaf and not r.is_recursive)
    result.input_bytes = x.numel() * x.element_size()
