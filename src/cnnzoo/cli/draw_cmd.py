"""`cnnzoo draw`: a model's architecture diagram, drawn from the built model as the papers draw it."""

from __future__ import annotations

import argparse

from cnnzoo.cli.inspect_cmd import OPTION_HELP, Formatter, _add_model_option, _input_size, _with_channels

LEVELS = ("stages", "blocks", "layers")  # cnnzoo.visual.draw.LEVELS, without importing torch for --help


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add draw."""
    p = sub.add_parser(
        "draw",
        help="draw a model's architecture diagram (SVG or PNG) from the built model",
        formatter_class=Formatter,
        description="Draw the network as the papers do, from its module tree and the tensor shapes it computes: "
        "residual units with their shortcuts (solid: identity, dashed: 1x1 projection, dotted: zero-padded\n"
        "identity), inception modules with their four branches, VGG's blocks; sizes (HxWxC) on the edges.\n"
        "Graphviz's dot lays it out (apt-get install graphviz; pip install 'cnnzoo[viz]').\n\n"
        "examples:\n"
        "  cnnzoo draw resnet20 --output resnet20.svg\n"
        "  cnnzoo draw resnet110 -o residual_unit=preact --level layers --module layer2.0 --output unit_e.png\n"
        "  cnnzoo draw googlenet --module inception3a --output inception.svg",
    )
    p.add_argument("model", metavar="NAME", help="a registered model, e.g. resnet20 (see `cnnzoo models`)")
    p.add_argument("--output", metavar="FILE", help="FILE.svg or FILE.png (default: NAME.svg here)")
    p.add_argument(
        "--level",
        choices=LEVELS,
        default="blocks",
        help="stages: one box per stage; blocks (default): weight layers, pools and shortcuts; layers: BN and ReLU too",
    )
    p.add_argument(
        "--module",
        metavar="NAME",
        help="draw only this submodule, e.g. layer2.0 or inception3a (names as `cnnzoo summary` shows them)",
    )
    p.add_argument("--input", metavar="CxHxW", help="input size (default: the model's default_cfg)")
    _add_model_option(p, OPTION_HELP)
    p.set_defaults(run=run_draw)


def run_draw(args: argparse.Namespace) -> int:
    from cnnzoo.models import parse_model_options
    from cnnzoo.visual.draw import diagram, render

    size = _input_size(args.input)
    options = _with_channels(args.model, size, parse_model_options(args.model_option))
    drawn = diagram(args.model, args.level, args.module, size, **options)
    path = render(drawn, args.output or f"{args.model}.svg")
    units = drawn.count("add")
    extra = f", {units} residual units ({len(drawn.shortcuts('projection'))} projection shortcuts)" if units else ""
    print(f"wrote {path}: {len(drawn.nodes)} boxes{extra}")
    return 0
