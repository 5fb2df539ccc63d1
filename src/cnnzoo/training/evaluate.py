"""`evaluate_run`: a trained model's accuracy on its run's test (or validation) split, or on another dataset.

The split is built as the run built it (its normalisation, image size, precision and memory format), so the
run's own test numbers reproduce. A look at the run's own test set is counted in its results.json
(`test_evaluations`): numbers from repeated looks are no longer an unbiased estimate, and the count says so.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from cnnzoo.device import choose_speed, resolve_device
from cnnzoo.errors import CnnzooError, check_choice
from cnnzoo.predict import EXPORTED_KINDS, LoadedModel, describe_kind, file_kind, load
from cnnzoo.training.config import TrainConfig, coerce
from cnnzoo.training.loop import evaluate
from cnnzoo.training.runlog import RunDir, run_holding
from cnnzoo.training.train import make_loaders

SPLITS = ("test", "val")


def evaluate_run(
    checkpoint: str | Path,
    *,
    split: str = "test",
    data: str | None = None,
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    batch_size: int | str | None = None,
    device: str | torch.device = "auto",
) -> dict:
    """Top-1/top-5, loss, per-class accuracy and the confusion matrix of a run's best weights (or a checkpoint's).

    `data`/`data_dir` evaluate on another copy or dataset with the same classes; its images are resized to the
    model's training size as training resized its own. A run still being trained is refused.
    """
    check_choice("split", split, SPLITS)
    device = resolve_device(device)
    kind = file_kind(checkpoint) if Path(checkpoint).is_file() else "run"
    if kind in EXPORTED_KINDS:  # its metadata holds the preprocessing, not the training config and data
        raise CnnzooError(
            f"{checkpoint} is {describe_kind(kind)}, which carries no training config; evaluate the run directory or "
            f"checkpoint it was exported from, or classify images with `cnnzoo predict {checkpoint} IMAGES`"
        )
    loaded = load(checkpoint, device=device)
    if not loaded.config:
        raise CnnzooError(f"{loaded.path} holds no training config; evaluate a run directory or a .pt checkpoint")
    cfg = _evaluation_config(loaded, data, data_dir, cache_dir, batch_size)
    # The test split alone, normalised as the model was trained: no train split or validation holdout needed.
    loaders = make_loaders(cfg, device, **(dict(test_only=True, stats=loaded.stats) if split == "test" else {}))
    _check_fits(loaded, loaders, cfg)
    loader = loaders.test if split == "test" else loaders.val
    if loader is None:
        raise CnnzooError("this run has no validation split (trained with full_train or val_size 0); use --split test")
    speed = choose_speed(device, cfg.precision, cfg.channels_last)  # as the run computed its own test numbers
    if speed.channels_last:
        loaded.model.to(memory_format=torch.channels_last)
    run = run_holding(loaded.path)
    if run is not None:
        try:
            run.lock()  # one writer of results.json, and never while `cnnzoo train` still writes this run
        except OSError:  # a read-only copy of a run: evaluate it all the same, without counting
            run = None
    try:
        with torch.no_grad():
            result = evaluate(loaded.model, loader, len(loaded.classes), device, speed.precision, confusion=True)
        if run is not None and split == "test" and _same_data(cfg, loaded.config):
            _count_test_evaluation(run)
    finally:
        if run is not None:
            run.unlock()
    return {
        "checkpoint": str(loaded.path), "data": cfg.data.name, "split": split, "classes": list(loaded.classes),
        **{k: result[k] for k in ("top1", "top5", "loss", "count", "per_class", "confusion")},
    }  # fmt: skip


def _evaluation_config(loaded: LoadedModel, data, data_dir, cache_dir, batch_size) -> TrainConfig:
    """The run's saved config with the data it is evaluated on now."""
    values = dict(loaded.config)
    for key, value in (("data", data), ("data_dir", data_dir), ("cache_dir", cache_dir)):
        if value is not None:
            values[key] = str(value)
    if data is not None and data != loaded.config.get("data") and data_dir is None:
        values["data_dir"] = None  # another dataset: its own copy, not the run's folder
    if batch_size is not None:
        values["eval_batch_size"] = coerce("eval_batch_size", batch_size)
    height, width = loaded.image_size
    elsewhere = data is not None or data_dir is not None
    if elsewhere and not values.get("image_size") and height == width:
        values["image_size"] = height  # another folder's larger images are resized as --image-size resizes
    values.update(run_dir=None)
    return TrainConfig.from_dict(values, origin=f"the config saved in {loaded.path}")


def _check_fits(loaded: LoadedModel, loaders, cfg: TrainConfig) -> None:
    """The data must have the model's classes and image size."""
    if list(loaders.classes) != list(loaded.classes):
        raise CnnzooError(
            f"{cfg.data.name} has classes {_few(loaders.classes)} but the model was trained on {_few(loaded.classes)}"
        )
    size = (int(loaders.image_size), int(loaders.image_width or loaders.image_size))
    if size != tuple(loaded.image_size):
        raise CnnzooError(
            f"{cfg.data.data_dir or cfg.data.name} holds {size[0]}x{size[1]} images but the model was trained on "
            f"{loaded.image_size[0]}x{loaded.image_size[1]}; give images of that size"
        )


def _same_data(cfg: TrainConfig, saved: dict) -> bool:
    """Whether this evaluation reads the run's own test images (same dataset and copy, no subset)."""
    own = TrainConfig.from_dict({**saved, "run_dir": None}).data
    return (cfg.data.name, cfg.data.data_dir) == (own.name, own.data_dir)


def _count_test_evaluation(run: RunDir) -> None:
    """Add one to results.json's test_evaluations; say so when the test set had been looked at before."""
    results = run.read_results()
    if results is None:
        return
    before = results.get("test_evaluations", 1)  # runs recorded before the count had their one final test
    if before:
        print(
            f"note: this run's test set has been evaluated {before} time(s) before; numbers from repeated test "
            "evaluations are no longer an unbiased estimate",
            file=sys.stderr,
        )
    run.write_results({**results, "test_evaluations": before + 1})


def _few(names: list[str]) -> str:
    names = list(names)
    return ", ".join(names[:5]) + (f", ... ({len(names)})" if len(names) > 5 else "")
