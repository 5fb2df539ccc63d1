"""`cnnzoo predict`: the top-k classes of image files, with a trained model's own preprocessing."""

from __future__ import annotations

import argparse
import json
import os
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
    p.add_argument(
        "checkpoint",
        metavar="CHECKPOINT",
        help="a run directory, a .pt checkpoint, model.safetensors "
        "or a file `cnnzoo export` wrote (ONNX, run by onnxruntime; TorchScript; ExportedProgram)",
    )
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
    """The given image files, and the images under the given folders (sorted, symlinked folders followed);
    a path that is no image file or folder (missing, a broken link, a FIFO) or a folder without images is an error."""
    from cnnzoo.data.datasets import IMAGE_EXTENSIONS
    from cnnzoo.predict import not_a_file

    extensions = (*IMAGE_EXTENSIONS, ".gif")  # what training reads, and GIF, which predict reads by name too
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(folder_images(path, extensions))
            if not found:
                raise CnnzooError(f"no images ({', '.join(extensions)}) under {path}")
            files += found
        elif path.is_file():
            files.append(path)
        elif not path.exists() and not path.is_symlink():
            raise CnnzooError(f"no such image or folder: {path}")
        else:
            raise CnnzooError(f"{path} is {not_a_file(path)}; give image files or folders of them")
    return files


def folder_images(root: Path, extensions: tuple[str, ...]) -> list[Path]:
    """The image files under `root`, following symlinked folders (each real folder once: a link loop ends)."""
    found, seen = [], set()
    for folder, subfolders, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            subfolders.clear()
            continue
        seen.add(real)
        found += [
            Path(folder, name)
            for name in names
            if name.lower().endswith(extensions) and os.path.isfile(os.path.join(folder, name))
        ]
    return found
