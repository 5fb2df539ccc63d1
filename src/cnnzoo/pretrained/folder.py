"""A pretrained folder: what one shares of a trained model, and reads back with `cnnzoo.load(FOLDER)`.

    FOLDER/config.json         model name, options, classes, input size, mean/std, the training config (without
                               the machine's paths), the results, where imported weights came from, the licence
    FOLDER/model.safetensors   the weights (with the same metadata inside, so the file alone loads too)
    FOLDER/README.md           the model card: data, recipe, measured accuracy (mean ± std over seeds), hardware,
                               licence, limitations, how to load it

`save_pretrained` writes one from a run directory, a checkpoint (an imported one too) or a model.safetensors;
`read_pretrained` reads one back. The same folder on the Hugging Face Hub loads as `hf-hub:ORG/REPO` (hub.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch

from cnnzoo.errors import CnnzooError
from cnnzoo.io import atomic_write
from cnnzoo.pretrained.format import FORMAT, VERSION, read_json, read_pretrained
from cnnzoo.pretrained.hub import FOLDER_FILES, HUB_PREFIX, parse_hub_id, require_hub
from cnnzoo.training.checkpoint import read_checkpoint, save_safetensors

# Settings that name places on the machine a model was trained on: not shared.
MACHINE_FIELDS = ("data_dir", "cache_dir", "run_dir", "runs_root", "init_from")
# What the card and config.json keep of results.json (its run_dir and per-image records stay home).
RESULT_KEYS = ("data", "recipe", "epochs", "steps", "tested_weights", "test", "test_tta", "val_best", "split",
               "wall_time_s", "images_per_s", "precision", "device_name")  # fmt: skip
HARDWARE_KEYS = ("device", "device_name", "cpu", "cpu_count", "torch", "torchvision", "cuda", "cnnzoo")
SEED_SUFFIX = re.compile(r"^(?P<base>.+)-seed(?P<seed>\d+)$")


# -------------------------------------------------------------------- writing
def save_pretrained(source: str | Path, folder: str | Path, *, license: str | None = None) -> Path:
    """Write `folder` (config.json, model.safetensors, README.md) from a run, a checkpoint or a model.safetensors."""
    from cnnzoo.predict import load
    from cnnzoo.training.runlog import run_holding

    loaded = load(source)  # the weights predict would use (the EMA where the run evaluated it), on the CPU
    if loaded.path is None or loaded.path.suffix == ".onnx":
        raise CnnzooError(f"{source} is an exported file; save-pretrained takes a run, a .pt or a model.safetensors")
    run = run_holding(loaded.path)
    imported = read_checkpoint(loaded.path).get("imported") if loaded.path.suffix == ".pt" else None
    meta = {key: getattr(loaded, key) for key in ("classes", "mean", "std", "in_chans", "image_size")}
    meta.update(model_name=loaded.model_name, model_options=loaded.model_options)
    if loaded.mean_image is not None:
        meta["mean_image"] = loaded.mean_image
    meta = _plain(meta)
    config = shared_config(loaded.config)
    description = {
        "format": FORMAT,
        "version": VERSION,
        **meta,
        "num_classes": len(meta["classes"]),
        "num_params": sum(p.numel() for p in loaded.model.parameters()),
        "train_config": config,
        "results": _results(run) if run is not None else None,
        "hardware": _hardware(run) if run is not None else None,
        "imported": imported,
        "license": license or (imported or {}).get("license"),
    }
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_safetensors(folder / "model.safetensors", loaded.model.state_dict(), meta, config)
    _write_text(folder / "config.json", json.dumps(description, indent=2) + "\n")
    _write_text(folder / "README.md", model_card(description))
    return folder


def shared_config(config: dict[str, Any]) -> dict[str, Any]:
    """The training config without the places it names on this machine (folders, the checkpoint it started from)."""
    shared = {key: value for key, value in config.items() if key not in MACHINE_FIELDS}
    if config.get("init_from"):
        shared["init_from_name"] = Path(str(config["init_from"])).name  # not a setting: a note for the card
    return shared


def _results(run) -> dict[str, Any] | None:
    """This run's test numbers, and over its sibling seed runs (RUN-seed<k>, as `--seeds` names them) mean ± std."""
    from cnnzoo.stats import mean_std

    results = run.read_results()
    if results is None:
        return None
    kept = {key: results.get(key) for key in RESULT_KEYS}
    match = SEED_SUFFIX.match(run.path.name)
    if match:
        siblings = sorted(run.path.parent.glob(f"{match['base']}-seed*"), key=lambda p: p.name)
        runs = [(p, read_json(p / "results.json")) for p in siblings if SEED_SUFFIX.match(p.name)]
        top1 = {int(SEED_SUFFIX.match(p.name)["seed"]): r["test"]["top1"] for p, r in runs if r and r.get("test")}
        if len(top1) > 1:
            mean, std = mean_std(list(top1.values()))
            kept["seeds"] = {"seeds": sorted(top1), "top1": [top1[s] for s in sorted(top1)], "top1_mean": mean,
                             "top1_std": std, "this_seed": int(match["seed"])}  # fmt: skip
    return _plain(kept)


def _hardware(run) -> dict[str, Any] | None:
    env = read_json(run.env)
    return {key: env.get(key) for key in HARDWARE_KEYS} if env else None


def _plain(value: Any) -> Any:
    """Tuples as lists and tensors as numbers: what JSON holds and reads back equal."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.tolist()
    return value


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode()))


# -------------------------------------------------------------------- the model card
def model_card(d: dict[str, Any]) -> str:
    """README.md for a pretrained folder: Hub front matter, then model, data, recipe, results, hardware, licence."""
    cfg, imported, results = d.get("train_config") or {}, d.get("imported"), d.get("results")
    data = cfg.get("data") or "unknown data"
    name = d["model_name"]
    lines = [
        "---",
        "library_name: cnnzoo",
        f"license: {_spdx(d.get('license'))}",
        f"tags: [cnnzoo, image-classification, {name}]",
        *([f"datasets: [{data}]"] if data in ("cifar10", "cifar100", "mnist", "fashion_mnist", "svhn") else []),
        "---",
        "",
        f"# {name} on {data}" + (f", imported from {imported['source']}" if imported else ""),
        "",
        *_model_section(d),
        *_data_section(cfg, imported, results),
        *_recipe_section(cfg, imported),
        *_results_section(results, imported),
        *_hardware_section(d.get("hardware")),
        "## Licence",
        "",
        _licence_text(d.get("license"), imported),
        "",
        *_limitations_section(d, cfg, imported),
        "## Use",
        "",
        "```python",
        "import cnnzoo",
        'model = cnnzoo.load("hf-hub:ORG/REPO")  # or the folder',
        'print(model.predict("image.png", topk=3))',
        "```",
        "",
    ]
    return "\n".join(lines)


def _model_section(d: dict[str, Any]) -> list[str]:
    from cnnzoo.models import get_model_config

    classes = d["classes"]
    shown = ", ".join(classes[:10]) + (f", ... ({len(classes)})" if len(classes) > 10 else "")
    options = ", ".join(f"{k}={v!r}" for k, v in sorted(d["model_options"].items())) or "none"
    paper = get_model_config(d["model_name"], **d["model_options"]).paper
    h, w = d["image_size"]
    norm = (
        "per-pixel mean image subtracted"
        if d.get("mean_image")
        else f"mean {_floats(d['mean'])}, std {_floats(d['std'])}"
    )
    return [
        "## Model",
        "",
        "| | |",
        "|---|---|",
        f"| architecture | `{d['model_name']}` ({paper}); options: {options} |",
        f"| parameters | {d['num_params']:,} |",
        f"| input | {d['in_chans']}×{h}×{w}, pixels in [0, 1], normalised with {norm} |",
        f"| classes | {len(classes)}: {shown} |",
        "",
    ]


def _data_section(cfg: dict[str, Any], imported: dict | None, results: dict | None) -> list[str]:
    if imported:
        return ["## Data", "", f"Trained by its publisher ({imported['url']}); its accuracy is claimed on "
                f"{imported['claimed_on']}.", ""]  # fmt: skip
    parts = [f"`{cfg.get('data')}`"]
    if cfg.get("train_limit"):
        parts.append(f"a class-stratified subset of {cfg['train_limit']} training images")
    split = (results or {}).get("split") or {}
    if cfg.get("full_train"):
        parts.append("no validation split (full_train): the last weights were tested")
    elif split.get("val_size") is not None:
        parts.append(f"{split['val_size']:,} training images held out for validation (seed {split.get('val_seed')})")
    if cfg.get("eval_limit"):
        parts.append(f"evaluated on a subset of {cfg['eval_limit']} test images")
    if cfg.get("image_size"):
        parts.append(f"images resized and centre-cropped to {cfg['image_size']}")
    parts.append(f"normalisation: {cfg.get('normalize', 'channel')}")
    return ["## Data", "", "; ".join(parts) + ".", ""]


def _recipe_section(cfg: dict[str, Any], imported: dict | None) -> list[str]:
    if imported:
        lines = ["## Recipe", "", f"The publisher's; see {imported['url']}. Imported with `cnnzoo import "
                 f"{imported['source']}` from `{imported['file']}` (sha256 {imported['sha256'][:16]}...)."]  # fmt: skip
        if imported.get("notes"):
            lines += ["", f"Notes: {imported['notes']}."]
        return lines + [""]
    keys = [
        "recipe",
        "epochs",
        "batch_size",
        "optimizer",
        "lr",
        "momentum",
        "nesterov",
        "weight_decay",
        "schedule",
        "milestones",
        "warmup_epochs",
        "label_smoothing",
        "crop_padding",
        "flip",
        "cutout",
        "auto_augment",
        "mixup",
        "cutmix",
        "ema",
        "precision",
        "seed",
    ]
    if cfg.get("init_from_name"):  # a fine-tuned model: from what, and how
        keys += ["init_from_name", "num_classes", "freeze", "lr_head_mult"]
    rows = [f"| {key} | {_cell(cfg[key])} |" for key in keys if cfg.get(key) not in (None, [], "")]
    return ["## Recipe", "", "| setting | value |", "|---|---|", *rows, ""]


def _results_section(results: dict | None, imported: dict | None) -> list[str]:
    lines = ["## Results", ""]
    if imported:
        claim = imported.get("claimed_top1")
        lines.append(f"- claimed by {imported['source']}: " + (f"{claim:.2f}% top-1 on {imported['claimed_on']}"
                                                                 if claim is not None else "no figure"))  # fmt: skip
        for key, what in (("best_prec1", "best_prec1 saved in the file"), ("acc", "acc saved in the file")):
            if imported.get(key) is not None:
                lines.append(f"- {what}: {imported[key]:.2f}")
        lines.append("- measure it on your copy of the data: `cnnzoo evaluate FOLDER --data-dir DIR`")
    if results and results.get("test"):
        test = results["test"]
        epochs = results.get("epochs")
        lines.append(f"- test top-1 {100 * test['top1']:.2f}%, top-5 {100 * test['top5']:.2f}% on {test['count']:,} "
                     f"images ({results.get('tested_weights')} weights, {epochs} epoch{'s' * (epochs != 1)})")  # fmt: skip
        seeds = results.get("seeds")
        if seeds:
            lines.append(f"- over {len(seeds['seeds'])} seeds {seeds['seeds']}: test top-1 "
                         f"{100 * seeds['top1_mean']:.2f} ± {100 * seeds['top1_std']:.2f}% (mean ± sample std); "
                         f"these weights are seed {seeds['this_seed']}'s")  # fmt: skip
    elif not imported:
        lines.append("- no results.json beside these weights: evaluate them with `cnnzoo evaluate FOLDER`")
    return lines + [""]


def _hardware_section(hardware: dict | None) -> list[str]:
    if not hardware:
        return []
    where = hardware.get("device_name") or hardware.get("device")
    shown = ("cnnzoo", "torch", "torchvision") + (("cuda",) if str(hardware.get("device")).startswith("cuda") else ())
    versions = ", ".join(f"{k} {hardware[k]}" for k in shown if hardware.get(k))
    return ["## Hardware", "", f"Trained on {where} ({hardware.get('device')}); {versions}.", ""]


def _limitations_section(d: dict[str, Any], cfg: dict[str, Any], imported: dict | None) -> list[str]:
    h, w = d["image_size"]
    lines = [
        "## Limitations",
        "",
        f"- Trained on {h}×{w} images; other images are resized to that size, and how well it does on them is "
        "not measured here.",
        "- One test set is one sample: other copies of the same data (re-encoded, resized) can cost points, "
        "as a JPEG copy of CIFAR-10 costs networks trained on the original images.",
    ]
    if cfg.get("eval_limit") or cfg.get("train_limit"):
        lines.append("- Trained or tested on a subset of the data (see Data): a quick run, not a reference figure.")
    if imported:
        lines.append("- The recipe and the claimed accuracy are the publisher's, not measured by cnnzoo.")
    return lines + [""]


def _licence_text(license: str | None, imported: dict | None) -> str:
    if imported:
        return f"{imported['license']}, as its publisher states ({imported['url']})."
    return license or "Not stated: the owner of these weights has not given a licence (`save-pretrained --license`)."


def _spdx(license: str | None) -> str:
    """The Hub's licence field: an SPDX-like id as given, anything longer 'other'."""
    if license and re.fullmatch(r"[A-Za-z0-9.+-]+", license):
        return license.lower()
    return "other" if license else "unknown"


def _floats(values: list[float]) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"


def _cell(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


# -------------------------------------------------------------------- create_model(name, pretrained=...)
def pretrained_model(name: str, pretrained: str | Path, num_classes: int | None = None, in_chans: int | None = None,
                     **options: Any) -> torch.nn.Module:  # fmt: skip
    """Model `name` with the weights of a pretrained folder, hub id, run or checkpoint, ready to train or predict.

    The weights must be `name`'s, built with the same options (`options` may change what holds no weights,
    such as dropout). Another `num_classes` gets a new classifier, initialised afresh; another `in_chans`
    adapted first-layer filters, as `cnnzoo train --init-from --num-classes` does.
    """
    from dataclasses import replace

    from cnnzoo.models import create_model
    from cnnzoo.predict import load
    from cnnzoo.training.finetune import transfer_weights

    loaded = load(pretrained)
    if loaded.model_name != name:
        raise CnnzooError(f"{pretrained} holds a {loaded.model_name!r}, not a {name!r}; create_model("
                          f"{loaded.model_name!r}, pretrained=...) builds it")  # fmt: skip
    merged = {**loaded.model_options, **options}
    classes = len(loaded.classes) if num_classes is None else num_classes
    channels = loaded.in_chans if in_chans is None else in_chans
    model = create_model(name, num_classes=classes, in_chans=channels, **merged)
    transfer_weights(model, loaded.model.state_dict(), model_name=name, options=merged,
                     new_head=classes != len(loaded.classes), source=loaded.path)  # fmt: skip
    if channels == loaded.in_chans:  # the preprocessing the weights were trained with travels with the model
        model.default_cfg = replace(model.default_cfg, mean=tuple(loaded.mean), std=tuple(loaded.std),
                                    input_size=(channels, *loaded.image_size))  # fmt: skip
    return model


def create_model(
    name: str,
    num_classes: int | None = None,
    in_chans: int | None = None,
    *,
    pretrained: str | Path | None = None,
    **options: Any,
) -> torch.nn.Module:
    """`cnnzoo.create_model`: the registry's model, with `pretrained=` a folder, hub id, run or checkpoint's weights.

    Without `pretrained` it is `cnnzoo.models.create_model` itself; the registry builds untrained models only, so
    that the model layer never reaches up to checkpoints and runs.
    """
    if pretrained is None:
        from cnnzoo.models import create_model as build

        return build(name, num_classes=num_classes, in_chans=in_chans, **options)
    return pretrained_model(name, pretrained, num_classes=num_classes, in_chans=in_chans, **options)


def push_to_hub(folder: str | Path, repo_id: str, *, private: bool = False, message: str | None = None) -> str:
    """Upload a pretrained folder to `repo_id` (created if needed); returns the repository's URL.

    The folder is read first as `cnnzoo.load` would read it, so a broken folder is refused before any upload.
    The token is huggingface_hub's (HF_TOKEN, or `hf auth login`).
    """
    folder = Path(folder)
    read_pretrained(folder)
    parse_hub_id(HUB_PREFIX + repo_id)  # ORG/REPO, nothing else
    hub = require_hub()
    api = hub.HfApi()
    url = api.create_repo(repo_id, private=private, exist_ok=True)
    api.upload_folder(folder_path=str(folder), repo_id=repo_id, allow_patterns=FOLDER_FILES,
                      commit_message=message or f"Upload {folder.name} with cnnzoo push")  # fmt: skip
    return str(url)
