"""`cnnzoo summary`, `cnnzoo arch`, `cnnzoo cost`, `cnnzoo compare`: looking inside models."""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from cnnzoo.cli.args import positive_number, take_shapes
from cnnzoo.errors import CnnzooError
from cnnzoo.inspect.render import FORMATS, SUMMARY_COLUMNS

FORMAT_HELP = "output format: table (terminal), markdown, json or csv (default: table)"
OPTION_HELP = (
    "a model option as KEY=VALUE, repeatable, values read as YAML (true, 3, paper), e.g. -o small_input=true "
    "or -o stride_in_1x1=true; an unknown key's error lists the model's options"
)
Formatter = argparse.RawDescriptionHelpFormatter  # keeps the examples' lines; descriptions are wrapped by _wrap


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=100)


def add_commands(sub: argparse._SubParsersAction) -> None:
    _add_summary(sub)
    _add_arch(sub)
    _add_cost(sub)
    _add_compare(sub)


# -- shared argument parsing ------------------------------------------------------------------------------


def _input_size(text: str | None) -> tuple[int, int, int] | None:
    from cnnzoo.inspect.cost import parse_shape

    return parse_shape(text, "CxHxW") if text else None  # type: ignore[return-value]


def _with_channels(name: str, size: tuple[int, int, int] | None, options: dict[str, Any]) -> dict[str, Any]:
    """An input with other channels than the model's default builds the model with `in_chans` to match."""
    from cnnzoo.models import get_model_config

    if size is not None and "in_chans" not in options and size[0] != get_model_config(name, **options).input_size[0]:
        return {**options, "in_chans": size[0]}
    return options


def _add_model_option(p: argparse.ArgumentParser, help_text: str) -> None:
    """-o is a model option in every command (train's -o/--model-option), never an output path."""
    p.add_argument("-o", "--model-option", dest="model_option", action="append", metavar="KEY=VALUE", help=help_text)


def _add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=FORMATS, default="table", help=FORMAT_HELP)


# -- summary ---------------------------------------------------------------------------------------------


def _add_summary(sub: argparse._SubParsersAction) -> None:
    p = take_shapes(
        sub.add_parser(
            "summary",
            help="layer-by-layer summary: shapes, parameters, multiply-adds, memory",
            formatter_class=Formatter,
            description=_wrap(
                "One row per layer call, depth-indexed like torchinfo (Conv2d (conv1): 1-1), with kernel shape, input "
                "and output shape, parameters, multiply-adds and trainable flag; then total, trainable and "
                "non-trainable parameters, total multiply-adds and memory estimates (input, forward/backward pass, "
                "params, total, in MB). The numbers follow torchinfo's conventions: multiply-adds count every weight "
                "and bias of a convolution once per output position, other layers' parameters (Linear, BatchNorm) "
                "once per sample. The model is built on the meta device unless --device is given, so no weights "
                "are allocated."
            ),
            epilog=(
                "examples:\n"
                "  cnnzoo summary resnet18\n"
                "  cnnzoo summary resnet20 --input 1x28x28 --depth 2       # in_chans=1 follows from the input\n"
                "  cnnzoo summary googlenet --mode train --format markdown  # auxiliary heads included\n"
                "  cnnzoo summary vgg16 --format json > vgg16.json"
            ),
        )
    )
    p.add_argument("model", help="a registered model name (see `cnnzoo models`)")
    p.add_argument(
        "--input", metavar="CxHxW", help="input size, channels first, e.g. 3x32x32 (default: the model's default_cfg)"
    )
    p.add_argument(
        "--depth",
        type=int,
        default=3,
        help="show nested layers down to this depth; deeper ones are folded into their parent (default: 3)",
    )
    p.add_argument("--batch-size", type=int, default=1, help="batch size of the summarised pass (default: 1)")
    p.add_argument(
        "--mode", choices=("eval", "train"), default="eval", help="run the eval- or training-mode graph (default: eval)"
    )
    p.add_argument(
        "--columns",
        default=",".join(SUMMARY_COLUMNS),
        help=f"comma-separated columns to show, from {', '.join(SUMMARY_COLUMNS)} (default: all)",
    )
    p.add_argument(
        "--device",
        help="build and run the model here with real weights (cpu, cuda, cuda:N, mps; default: meta, no arithmetic)",
    )
    p.add_argument("--num-classes", type=int, help="number of classes of the classifier (default: the model's)")
    _add_model_option(p, OPTION_HELP)
    _add_format(p)
    p.set_defaults(run=run_summary)


def run_summary(args: argparse.Namespace) -> int:
    from cnnzoo.device import resolve_device
    from cnnzoo.inspect.summary import summary
    from cnnzoo.models import parse_model_options

    size = _input_size(args.input)
    options = _with_channels(args.model, size, parse_model_options(args.model_option))
    if args.num_classes is not None:
        options["num_classes"] = args.num_classes
    device = resolve_device(args.device) if args.device else None
    columns = [c.strip() for c in args.columns.split(",") if c.strip()]
    result = summary(
        args.model,
        size,
        depth=args.depth,
        columns=columns,
        device=device,
        batch_size=args.batch_size,
        mode=args.mode,
        model_options=options,
    )
    print(result.render(args.format))
    return 0


# -- arch ------------------------------------------------------------------------------------------------


def _add_arch(sub: argparse._SubParsersAction) -> None:
    p = take_shapes(
        sub.add_parser(
            "arch",
            help="the papers' architecture tables, regenerated from the built models",
            formatter_class=Formatter,
            description=_wrap(
                "Print each model's architecture the way its paper tabulates it, read off the built model: ImageNet "
                "ResNets as He et al. 2016 Table 1 (several side by side, with the FLOPs row; built with the paper's "
                "stride placement, stride_in_1x1=true, unless -o says otherwise), CIFAR ResNets as the table of "
                "section 4.2, GoogLeNet as Szegedy et al. 2015 Table 1 (exact params and ops next to the paper's), "
                "VGG, AlexNet and NiN layer by layer with input, output, stride, kernel, channels and parameters."
            ),
            epilog=(
                "examples:\n"
                "  cnnzoo arch resnet18 resnet34 resnet50 resnet101 resnet152\n"
                "  cnnzoo arch resnet50 -o stride_in_1x1=false     # torchvision's v1.5 placement: 4.09x10^9\n"
                "  cnnzoo arch resnet56 googlenet vgg16 --format markdown"
            ),
        )
    )
    p.add_argument("models", nargs="+", metavar="MODEL", help="registered model names (see `cnnzoo models`)")
    p.add_argument("--input", metavar="CxHxW", help="input size, channels first (default: each model's default_cfg)")
    _add_model_option(p, OPTION_HELP + "; applied to every model")
    _add_format(p)
    p.set_defaults(run=run_arch)


def run_arch(args: argparse.Namespace) -> int:
    from cnnzoo.inspect.archtable import arch_tables, render_tables
    from cnnzoo.models import parse_model_options

    size = _input_size(args.input)
    options = parse_model_options(args.model_option)
    if size is not None:
        for name in args.models:
            options = _with_channels(name, size, options)
    print(render_tables(arch_tables(args.models, options, size), args.format))
    return 0


# -- cost ------------------------------------------------------------------------------------------------

COST_CONVENTION = (
    "Conventions: weights = k*k*C_in*C_out, biases = C_out, parameters = weights + biases (both shown). "
    "Multiply-adds = H_out*W_out*weights, one per weight per output position; bias additions are not "
    "multiply-adds and are not in that total (shown apart for a single convolution). Shapes are HxWxC."
)


def _add_cost(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cost",
        help="multiply-adds and parameters of a convolution or an inception module",
        formatter_class=Formatter,
        description=_wrap(
            "Cost calculators for one convolution (`cost conv`) and one inception module (`cost inception`). "
            + COST_CONVENTION
        ),
        epilog="examples:\n  cnnzoo cost conv --in 28x28x256 --kernel 3 --out 192\n"
        "  cnnzoo cost inception --in 28x28x256 --branches 1x1:128,3x3:192,5x5:96,pool",
    )
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)

    conv = take_shapes(
        kinds.add_parser(
            "conv",
            help="one kxk convolution",
            formatter_class=Formatter,
            description=_wrap(
                "Output shape, weights, biases, parameters and multiply-adds of one kxk convolution. " + COST_CONVENTION
            ),
            epilog=(
                "examples:\n"
                "  cnnzoo cost conv --in 28x28x256 --kernel 3 --out 192              # 346,816,512 multiply-adds\n"
                "  cnnzoo cost conv --in 14x14x480 --kernel 5 --out 48               # 576,000 weights\n"
                "  cnnzoo cost conv --in 224x224x3 --kernel 7 --out 64 --stride 2 --padding 3"
            ),
        )
    )
    conv.add_argument(
        "--in", dest="in_shape", required=True, metavar="HxWxC", help="input height x width x channels, e.g. 28x28x256"
    )
    conv.add_argument("--kernel", type=int, required=True, help="kernel size k of a square kxk kernel")
    conv.add_argument("--out", type=int, required=True, help="number of filters, the output channels")
    conv.add_argument("--stride", type=int, default=1, help="stride (default: 1)")
    conv.add_argument(
        "--padding",
        default="same",
        help="'same' (k//2 pixels, keeps HxW at stride 1; odd kernels only), 'valid' (0) or a number of pixels (default: same)",
    )
    _add_format(conv)
    conv.set_defaults(run=run_cost_conv)

    inc = take_shapes(
        kinds.add_parser(
            "inception",
            help="one inception module, naive and with 1x1 reductions",
            formatter_class=Formatter,
            description=_wrap(
                "The layers of one inception module on an HxWxC input, all branches with same padding, and their "
                "total multiply-adds and parameters; with --reduce, the naive module (no reductions, the paper's "
                "fig. 2a) and the module with 1x1 reductions (fig. 2b) side by side. The pool branch is a 3x3 max "
                "pool, stride 1: no parameters, no multiply-adds; without a projection it passes all C input "
                "channels on. " + COST_CONVENTION
            ),
            epilog=(
                "examples:\n"
                "  cnnzoo cost inception --in 28x28x256 --branches 1x1:128,3x3:192,5x5:96,pool\n"
                "      # the naive module of the course example: 854,196,224 multiply-adds (854M)\n"
                "  cnnzoo cost inception --in 28x28x192 --branches 1x1:64,3x3:128,5x5:32,pool \\\n"
                "      --reduce 3x3:96,5x5:16,pool:32      # GoogLeNet's inception (3a)"
            ),
        )
    )
    inc.add_argument(
        "--in", dest="in_shape", required=True, metavar="HxWxC", help="input height x width x channels, e.g. 28x28x256"
    )
    inc.add_argument(
        "--branches",
        required=True,
        help="comma-separated branches, KxK:FILTERS for a convolution (odd K) and 'pool' for the 3x3 max pool, "
        "e.g. 1x1:128,3x3:192,5x5:96,pool",
    )
    inc.add_argument(
        "--reduce",
        help="comma-separated 1x1 reductions, KxK:FILTERS for a 1x1 convolution before that branch and pool:FILTERS "
        "for the projection after the pool, e.g. 3x3:96,5x5:16,pool:32 (default: none, the naive module)",
    )
    _add_format(inc)
    inc.set_defaults(run=run_cost_inception)


def _padding(text: str) -> int | str:
    if text in ("same", "valid"):
        return text
    try:
        return int(text)
    except ValueError:
        raise CnnzooError(f"padding must be 'same', 'valid' or a number of pixels, got {text!r}") from None


def _hwc(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def run_cost_conv(args: argparse.Namespace) -> int:
    import json

    from cnnzoo.inspect.cost import conv_cost, parse_shape
    from cnnzoo.inspect.render import render_table

    c = conv_cost(parse_shape(args.in_shape), args.kernel, args.out, args.stride, _padding(args.padding))  # type: ignore[arg-type]
    k = c.kernel
    rows = [  # JSON key, the table's quantity, value, how
        ("input_hwc", "input (HxWxC)", _hwc(c.in_shape), ""),
        (
            "output_hwc",
            "output (HxWxC)",
            _hwc(c.out_shape),
            f"{k}x{k} conv, {c.out_channels} filters, stride {c.stride}, padding {c.padding}",
        ),
        ("weights", "weights", c.weights, f"{k}*{k}*{c.in_shape[2]}*{c.out_channels}"),
        ("biases", "biases", c.biases, "one per filter"),
        ("params", "parameters", c.params, "weights + biases"),
        (
            "course_params",
            "parameters, course convention",
            c.course_params,
            f"({k}*{k}+1)*{c.in_shape[2]}*{c.out_channels}: a bias per input channel, as the course counts",
        ),
        (
            "macs",
            "multiply-adds",
            c.macs,
            f"{c.out_shape[0]}*{c.out_shape[1]} output positions * {c.weights:,} weights (bias not counted)",
        ),
        ("bias_adds", "bias additions", c.bias_adds, "not in the multiply-adds"),
    ]
    if args.format == "json":  # one object, a key per quantity, as other commands name them
        print(json.dumps({key: value for key, _, value, _ in rows}, indent=2))
        return 0
    title = f"{k}x{k} convolution, {_hwc(c.in_shape)} -> {_hwc(c.out_shape)}"
    print(render_table(("quantity", "value", "how"), [row[1:] for row in rows], args.format, title=title))
    return 0


INCEPTION_COLUMNS = (
    "branch",
    "layer",
    ("output_hwc", "output (HxWxC)"),
    "weights",
    ("params", "parameters"),
    ("macs", "multiply-adds"),
)
MODULE_COLUMNS = (
    "module",
    ("output_hwc", "output (HxWxC)"),
    "weights",
    ("params", "parameters"),
    ("macs", "multiply-adds"),
)


def run_cost_inception(args: argparse.Namespace) -> int:
    import json

    from cnnzoo.inspect.cost import inception_cost, parse_branches, parse_reductions, parse_shape
    from cnnzoo.inspect.render import records, render_table

    shape = parse_shape(args.in_shape)
    branches = parse_branches(args.branches)
    naive = inception_cost(shape, branches)  # type: ignore[arg-type]
    reduced = inception_cost(shape, branches, parse_reductions(args.reduce)) if args.reduce else None  # type: ignore[arg-type]
    shown = reduced or naive
    layer_rows = [
        (
            layer.branch,
            layer.label,
            _hwc(layer.out_shape),
            layer.cost.weights if layer.cost else 0,
            layer.cost.params if layer.cost else 0,
            layer.cost.macs if layer.cost else 0,
        )
        for layer in shown.layers
    ]
    layer_rows.append(("total", "concatenated", _hwc(shown.out_shape), shown.weights, shown.params, shown.macs))
    totals = []
    if reduced:
        totals = [
            ("naive", _hwc(naive.out_shape), naive.weights, naive.params, naive.macs),
            ("with 1x1 reductions", _hwc(reduced.out_shape), reduced.weights, reduced.params, reduced.macs),
            (
                "ratio naive / reduced",
                "",
                round(naive.weights / reduced.weights, 2),
                round(naive.params / reduced.params, 2),
                round(naive.macs / reduced.macs, 2),
            ),
        ]
    if args.format == "json":  # one document: the layers, and the two modules compared when there are two
        out = {"layers": records(INCEPTION_COLUMNS, layer_rows)}
        if totals:
            out["modules"] = records(MODULE_COLUMNS, totals)
        print(json.dumps(out, indent=2))
        return 0
    kind = "with 1x1 reductions" if reduced else "naive"
    title = f"inception module on {_hwc(shape)}, {kind}"
    parts = [render_table(INCEPTION_COLUMNS, layer_rows, args.format, title=title)]
    if totals:
        parts.append(render_table(MODULE_COLUMNS, totals, args.format, title="naive versus reduced"))
    if args.format in ("table", "markdown"):
        parts.append(
            f"{shown.macs / 1e6:,.0f}M multiply-adds. Parameters include biases; multiply-adds do not count "
            "bias additions; the max pool costs no multiply-adds."
        )
    print("\n\n".join(parts))
    return 0


# -- compare ---------------------------------------------------------------------------------------------


def _add_compare(sub: argparse._SubParsersAction) -> None:
    p = take_shapes(
        sub.add_parser(
            "compare",
            help="several models in one table: parameters, multiply-adds, depth, memory, throughput",
            formatter_class=Formatter,
            description=_wrap(
                "One row per model: parameters (all, auxiliary heads included); GMACs, multiply-adds of one eval-mode "
                "forward pass per image (conv and linear weights, the papers' convention); depth, the weight layers "
                "(conv + linear) on the longest path from input to output, as the papers count (ResNet-18: 18, "
                "GoogLeNet: 22); activations (MB), the forward/backward pass size of `cnnzoo summary` for one image; "
                "images/s, eval-mode forward throughput measured on --device with --batch-size images per pass "
                "for about --seconds after two warm-up passes. Timings vary from run to run and machine to machine."
            ),
            epilog=(
                "examples:\n"
                "  cnnzoo compare resnet18 resnet50 vgg16 googlenet\n"
                "  cnnzoo compare resnet20 resnet56 nin --input 3x32x32 --device cuda --batch-size 256"
            ),
        )
    )
    p.add_argument("models", nargs="+", metavar="MODEL", help="registered model names (see `cnnzoo models`)")
    p.add_argument(
        "--input",
        metavar="CxHxW",
        help="input size for every model, channels first (default: each model's default_cfg)",
    )
    p.add_argument(
        "--device",
        help="device for the throughput measurement: auto, cpu, cuda, cuda:N, mps (default: auto: cuda, else mps, else cpu)",
    )
    p.add_argument("--batch-size", type=int, default=8, help="images per timed forward pass (default: 8)")
    p.add_argument("--seconds", default="1.0", help="about how long to time each model, in seconds (default: 1.0)")
    _add_model_option(p, OPTION_HELP + "; applied to every model")
    _add_format(p)
    p.set_defaults(run=run_compare)


def run_compare(args: argparse.Namespace) -> int:
    seconds = positive_number("seconds", args.seconds)  # before torch is imported: a typo fails at once

    from cnnzoo.device import resolve_device
    from cnnzoo.inspect.compare import COLUMNS, compare
    from cnnzoo.inspect.render import render_table
    from cnnzoo.models import parse_model_options

    device = resolve_device(args.device)
    rows = compare(
        args.models, _input_size(args.input), device, args.batch_size, seconds, parse_model_options(args.model_option)
    )
    print(render_table(COLUMNS, rows, args.format, title=f"forward throughput at batch {args.batch_size} on {device}"))
    return 0
