"""`cnnzoo import`, `cnnzoo save-pretrained`, `cnnzoo push`: other projects' weights in, shareable folders out."""

from __future__ import annotations

import argparse

# cnnzoo.pretrained.SOURCES's keys and their networks, written out so that `cnnzoo --help` does not import torch
# (tests/pretrained/test_cli.py checks them against the table).
SOURCE_NETWORKS = {
    "akamaster": "resnet20, resnet32, resnet44, resnet56, resnet110, resnet1202 (.th files)",
    "chenyaofo": "resnet20, resnet32, resnet44, resnet56, vgg11_bn, vgg13_bn, vgg16_bn, vgg19_bn (cifar10_*.pt)",
    "kuangliu": "ResNet18, ResNet34, ResNet50, ResNet101, ResNet152 (checkpoint/ckpt.pth)",
    "torchvision": "alexnet, resnet18, resnet34, resnet50, resnet101, resnet152, vgg11, vgg13, vgg16, vgg19, "
    "vgg11_bn, vgg13_bn, vgg16_bn, vgg19_bn, googlenet (a .pth or an enum name such as ResNet18_Weights.IMAGENET1K_V1)",
    "timm": "resnet18, resnet34, resnet50, resnet101, resnet152 (model.safetensors with config.json, a folder, or "
    "hf-hub:ORG/REPO)",
}


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add import, save-pretrained and push."""
    networks = "\n".join(f"  {name:12} {text}" for name, text in SOURCE_NETWORKS.items())
    p = sub.add_parser(
        "import",
        help="import another project's checkpoint as a cnnzoo checkpoint",
        description="Read a checkpoint of akamaster, chenyaofo, kuangliu, torchvision or timm, rename its tensors, "
        "find the cnnzoo model (and options) that computes the same network from exactly these tensors, and "
        "write a normal cnnzoo checkpoint: evaluate, predict, export, save-pretrained and train --init-from take "
        "it. The source, its licence, its normalisation and its claimed accuracy go into the checkpoint.",
        epilog=f"sources and the networks cnnzoo imports from them:\n{networks}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", choices=tuple(SOURCE_NETWORKS), metavar="SOURCE", help=", ".join(SOURCE_NETWORKS))
    p.add_argument("file", metavar="FILE", help="the source's file (see below)")
    p.add_argument(
        "--model", metavar="NAME", help="the source's network, e.g. resnet20 (default: the one whose tensors match)"
    )
    # No -o: in every other command -o is a model option (-o KEY=VALUE), so here it would mean two things.
    p.add_argument("--output", required=True, metavar="OUT.pt", help="the cnnzoo checkpoint to write")
    p.set_defaults(run=run_import)

    p = sub.add_parser(
        "save-pretrained",
        help="write a shareable pretrained folder: config.json, model.safetensors and a README.md model card",
        description="Write a folder others load with cnnzoo.load(FOLDER) or create_model(NAME, pretrained=FOLDER) "
        "and that `cnnzoo push` uploads: config.json (model, options, classes, input size, mean/std, the training "
        "config without this machine's paths, results), model.safetensors and a model card (data, recipe, test "
        "accuracy with mean ± std over sibling seed runs, hardware, licence, limitations).",
    )
    p.add_argument(
        "checkpoint",
        metavar="RUN_OR_CKPT",
        help="a run directory, a .pt checkpoint (an imported one too) or a model.safetensors",
    )
    p.add_argument("folder", metavar="DIR", help="the folder to write (made if needed; its files are replaced)")
    p.add_argument(
        "--license",
        metavar="ID",
        help="the weights' licence, e.g. MIT or CC-BY-4.0 (default: an "
        "imported checkpoint's source's; else not stated)",
    )
    p.set_defaults(run=run_save_pretrained)

    p = sub.add_parser(
        "push",
        help="upload a pretrained folder to the Hugging Face Hub (needs the hub extra)",
        description="Upload a folder that save-pretrained wrote to ORG/REPO on the Hugging Face Hub, creating the "
        "repository if needed; it then loads anywhere as cnnzoo.load('hf-hub:ORG/REPO'). Needs huggingface_hub "
        "(pip install 'cnnzoo[hub]') and a token (HF_TOKEN or `hf auth login`).",
    )
    p.add_argument("folder", metavar="DIR", help="a folder that save-pretrained wrote")
    p.add_argument("repo", metavar="ORG/REPO", help="the Hub repository")
    p.add_argument("--private", action="store_true", help="create the repository private")
    p.add_argument("--message", metavar="TEXT", help="the commit message")
    p.set_defaults(run=run_push)


def run_import(args: argparse.Namespace) -> int:
    from cnnzoo.pretrained import import_checkpoint, write_imported

    payload = import_checkpoint(args.source, args.file, model=args.model)
    path = write_imported(payload, args.output)
    record = payload["imported"]
    options = ", ".join(f"{k}={v!r}" for k, v in payload["model_options"].items())
    filled = (
        f"; {record['counters_filled']} BatchNorm counters the file lacks set to 0" if record["counters_filled"] else ""
    )
    claim = record["claimed_top1"]
    h, w = payload["image_size"]
    print(f"imported {record['source']}'s {record['architecture']} as cnnzoo {payload['model_name']}"
          f"{f' ({options})' if options else ''}: {len(payload['model'])} tensors{filled}")  # fmt: skip
    print(f"input {payload['in_chans']}x{h}x{w} normalised with mean {_floats(payload['mean'])}, std "
          f"{_floats(payload['std'])}; {len(payload['classes'])} classes")  # fmt: skip
    print(f"claimed: {f'{claim:.2f}% top-1' if claim is not None else 'no figure'} on {record['claimed_on']}; "
          f"licence: {record['license']}")  # fmt: skip
    print(f"wrote {path}; measure it with: cnnzoo evaluate {path} --data-dir DIR")
    return 0


def run_save_pretrained(args: argparse.Namespace) -> int:
    from cnnzoo.pretrained import save_pretrained

    folder = save_pretrained(args.checkpoint, args.folder, license=args.license)
    print(f"wrote {folder}: config.json, model.safetensors, README.md; load it with cnnzoo.load({str(folder)!r})")
    return 0


def run_push(args: argparse.Namespace) -> int:
    from cnnzoo.pretrained import push_to_hub

    url = push_to_hub(args.folder, args.repo, private=args.private, message=args.message)
    print(f"uploaded {args.folder} to {url}; load it with cnnzoo.load('hf-hub:{args.repo}')")
    return 0


def _floats(values: list[float]) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"
