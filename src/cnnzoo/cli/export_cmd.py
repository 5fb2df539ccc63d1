"""`cnnzoo export`: a trained model as an ONNX, TorchScript or ExportedProgram file, checked against PyTorch."""

from __future__ import annotations

import argparse

from cnnzoo.errors import CnnzooError

FORMATS = ("onnx", "torchscript", "exported-program")  # cnnzoo.export.FORMATS's keys, without importing torch


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add export."""
    p = sub.add_parser(
        "export",
        help="export a trained model to ONNX, TorchScript or torch.export, with its preprocessing as metadata",
        description="Write a run's best weights (or a checkpoint's) as a file other runtimes load. The file "
        "carries the input size, mean, std and class names as metadata; after writing, it is run on a random "
        "batch and its outputs compared with PyTorch's. `cnnzoo predict` and `cnnzoo.load` take each of the three. "
        "An existing file is kept unless --force; a run's own checkpoints are never overwritten.",
    )
    p.add_argument(
        "checkpoint",
        metavar="RUN_DIR_OR_CHECKPOINT",
        help="a run directory, a .pt checkpoint or model.safetensors (not an exported file)",
    )
    p.add_argument("--format", choices=FORMATS, default="onnx", help="file format (default: onnx)")
    # No -o: in every other command -o is a model option (-o KEY=VALUE), so here it would mean two things.
    p.add_argument(
        "--output",
        metavar="PATH",
        help="where to write (default: model.onnx, "
        "model.torchscript.pt or model.pt2 in the run directory, or next to the checkpoint)",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing file (never the run's checkpoints)")
    p.add_argument("--dynamic-batch", action="store_true", help="accept any batch size (default: batches of one)")
    p.add_argument("--opset", metavar="N", help="ONNX opset version, 18 or later (default: the exporter's)")
    p.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    from cnnzoo.export import TOLERANCE, export_model

    opset = None
    if args.opset is not None:
        try:
            opset = int(args.opset)
        except ValueError:
            raise CnnzooError(f"--opset must be an integer such as 18, got {args.opset!r}") from None
    result = export_model(args.checkpoint, args.format, args.output, args.dynamic_batch, opset, force=args.force)
    verdict = "ok" if result.verified else f"more than {TOLERANCE:g}"
    print(
        f"wrote {result.path} ({result.format}); max abs difference from PyTorch on a random batch of "
        f"{result.check_batch}: {result.max_abs_diff:.2g} ({verdict})"
    )
    return 0
