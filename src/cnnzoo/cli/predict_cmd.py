"""`cnnzoo predict`: the top-k classes of image files, with a trained model's own preprocessing."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cnnzoo.cli.args import positive_int
from cnnzoo.errors import CnnzooError


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add predict."""
    from cnnzoo.inspect.render import FORMATS

    p = sub.add_parser(
        "predict",
        help="classify image files with a trained model",
        description="Top-k classes with probabilities for each image; images are converted to the model's "
        "channels, resized to its training size and normalised with its training mean/std. Unreadable images "
        "are skipped with a warning (--strict: an error).",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a run directory, a .pt checkpoint, model.safetensors "
                   "or an exported .onnx (run by onnxruntime)")
    p.add_argument("inputs", nargs="+", metavar="IMAGE_OR_FOLDER", help="image files, or folders searched recursively")
    p.add_argument("--topk", default="5", help="how many classes per image (default: 5)")
    p.add_argument("--batch-size", default="64", help="images per forward pass (default: 64)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps (default: cpu)")
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    p.add_argument("--strict", action="store_true", help="stop at the first unreadable image instead of skipping it")
    p.set_defaults(run=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    import torch

    from cnnzoo.inspect.render import render_table
    from cnnzoo.predict import UnreadableImage, load

    topk = positive_int("topk", args.topk)
    batch_size = positive_int("batch-size", args.batch_size)
    loaded = load(args.checkpoint, device=args.device)  # before the images: a wrong checkpoint is the first error
    files = image_files(args.inputs)
    readable, predictions = [], []
    for start in range(0, len(files), batch_size):
        batch = []
        for path in files[start : start + batch_size]:
            try:
                batch.append(loaded.preprocess(path))
            except UnreadableImage as err:
                if args.strict:
                    raise CnnzooError(f"{err}; fix or remove it, or drop --strict to skip unreadable images") from None
                print(f"cnnzoo: warning: skipped unreadable image {err.path} ({err.reason})", file=sys.stderr)
                continue
            readable.append(path)
        if batch:
            predictions += loaded.classify(torch.stack(batch), topk)
    skipped = len(files) - len(readable)
    if skipped:
        print(f"cnnzoo: warning: skipped {skipped} unreadable image(s)", file=sys.stderr)
    if not readable:
        raise CnnzooError(f"none of the {len(files)} image(s) could be read; see the warnings above")
    if args.format == "json":
        out = [{"file": str(f), "predictions": [{"class": c, "probability": p} for c, p in preds]}
               for f, preds in zip(readable, predictions)]  # fmt: skip
        print(json.dumps(out, indent=2))
        return 0
    rows = [
        (str(f), rank, c, round(p, 4))
        for f, preds in zip(readable, predictions)
        for rank, (c, p) in enumerate(preds, 1)
    ]
    print(render_table(("file", "rank", "class", "probability"), rows, args.format))
    return 0


def image_files(inputs: list[str]) -> list[Path]:
    """The given image files, and the images under the given folders (sorted); nothing found is an error."""
    from cnnzoo.data.datasets import IMAGE_EXTENSIONS

    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
            if not found:
                raise CnnzooError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) under {path}")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise CnnzooError(f"no such image or folder: {path}")
    return files
