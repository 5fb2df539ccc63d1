"""`cnnzoo explain`: what a trained network looks at, as Grad-CAM overlays, its first filters and feature maps."""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnzoo.cli.args import positive_int


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add explain."""
    p = sub.add_parser(
        "explain",
        help="Grad-CAM overlays of a trained model's top classes, its first layer's filters and feature maps",
        description="For each image, Grad-CAM (captum's LayerGradCam) of the top-k classes over the image; the "
        "first layer's filters as a grid (when it is a convolution); the first image's feature maps at the end "
        "of each stage. Needs pip install 'cnnzoo[viz]'.",
    )
    p.add_argument("checkpoint", metavar="RUN", help="a run directory, a .pt checkpoint or model.safetensors")
    p.add_argument("inputs", nargs="+", metavar="IMAGE_OR_FOLDER", help="image files, or folders searched recursively")
    p.add_argument(
        "--output", metavar="DIR", help="where to write the PNGs (default: RUN/explain, or CHECKPOINT's folder/explain)"
    )
    p.add_argument("--topk", default="3", help="classes per image (default: 3)")
    p.add_argument(
        "--layer",
        metavar="NAME",
        help="the layer Grad-CAM reads (default: the last with a spatial output, e.g. layer3 of a CIFAR ResNet)",
    )
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps (default: cpu)")
    p.set_defaults(run=run_explain)


def run_explain(args: argparse.Namespace) -> int:
    from cnnzoo.cli.predict_cmd import image_files
    from cnnzoo.visual.explain import explain

    topk = positive_int("topk", args.topk)
    files = image_files(args.inputs)
    source = Path(args.checkpoint)
    out = Path(args.output) if args.output else (source if source.is_dir() else source.parent) / "explain"
    result = explain(args.checkpoint, files, out, topk=topk, layer=args.layer, device=args.device)
    print(f"Grad-CAM of layer {result.layer}: {len(result.overlays)} overlay(s) in {out}")
    for path in [*result.overlays, result.filters, result.feature_maps]:
        if path is not None:
            print(f"  {path}")
    return 0
