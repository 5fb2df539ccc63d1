"""Every small-input family learns with its own recipe (issue 9): the test that would have caught NiN and GoogLeNet.

Each model's recipe (recipes/*_cifar.yaml, named by its default config) is loaded as it is; only the data,
duration and device knobs are shortened to a few hundred CIFAR-10 JPEGs on the CPU in fp32. The optimizer, lr,
weight decay, model options and schedule type stay the recipe's, so a recipe whose lr kills its network fails here.
Slow: 100-200 s per family on 2 busy CPU cores (GoogLeNet at 32x32 ~570 s), seen on 2026-11-23.
"""

from __future__ import annotations

import csv
import math

import pytest

from cnnzoo.training.config import resolve_config
from cnnzoo.training.engine import train
from cnnzoo.training.recipes import model_recipe

# One model per registered small-input family, as its recipe trains it; (train images, epochs) each, enough
# optimiser steps for the recipe's lr and warm-up to leave chance (27 steps left even ResNet-20 there).
FAMILIES = {
    "alexnet": (640, 3),
    "vgg11": (1920, 5),  # 300 steps: from Glorot's small start at lr 0.01 it leaves chance after ~150 (issue 9)
    "nin": (640, 3),
    "googlenet": (320, 2),
    "resnet20": (640, 3),
    "course_resnet18": (640, 2),
    "course_resnet50_layer4": (640, 2),
}
# The course's recipe is written for batch 256 (lr 0.2); on batch 32 its lr is scaled to the batch (linear rule,
# Goyal et al. 2017): unscaled, course_resnet50_layer4 went to loss 60 and validation loss 5.6e8 in one epoch.
SCALE_LR_FROM_RECIPE_BATCH = {"course_resnet18", "course_resnet50_layer4"}
# Measured at chance with these settings on 2 shared CPU cores (issue 9, still open for them): expected failures
# until their recipes are fixed, so that CI shows when they start to learn (strict=False: XPASS is reported).
NOT_YET_LEARNING = {
    "googlenet": "20 steps: test top-1 11.6%, loss 3.90 -> 3.69 (with aux losses); it needs ~100 (its recipe header)",
}
# Not run in CI while it is known not to learn here: 20 steps of GoogLeNet at 32x32 took 572 s on 2 shared cores,
# and it leaves chance only after ~60-100 steps (16x16 runs, issue 9: a plateau, not a bug), i.e. 100 steps of
# ~5 s at 32x32 plus evaluation, far over a CI case's 3-4 min. Reported as xfail (not run); run it with --runxfail.
TOO_SLOW = {"googlenet"}
EVAL_IMAGES = 500
CHANCE = 0.10
MARGIN = 0.04  # test top-1 must reach 14%: three standard deviations (1.3% each) above chance on 500 images


def _shortened(name: str, tmp_path, data_dir) -> dict:
    """The knobs this test may change: data size, duration, device and precision, nothing that decides learning."""
    images, epochs = FAMILIES[name]
    return {"model": name, "data_dir": str(data_dir), "cache_dir": str(tmp_path / "cache"), "loader": "device",
            "train_limit": images, "eval_limit": EVAL_IMAGES, "val_size": 500, "epochs": epochs, "batch_size": 32,
            "warmup_epochs": 1, "device": "cpu", "precision": "fp32", "compile": "none", "channels_last": False,
            "tensorboard": False, "plots": False, "run_dir": str(tmp_path / "run"), "seed": 0}  # fmt: skip


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")  # the recipes' milestones fall after these short runs
@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.xfail(reason=NOT_YET_LEARNING[n], strict=False, run=n not in TOO_SLOW))
     if n in NOT_YET_LEARNING else n for n in FAMILIES],
)
def test_every_family_learns_with_its_own_recipe(name, tmp_path, cifar10_jpeg_dir):
    recipe = model_recipe(name)
    overrides = _shortened(name, tmp_path, cifar10_jpeg_dir)
    if name in SCALE_LR_FROM_RECIPE_BATCH:
        overrides |= {"lr_scaling": "linear", "lr_base_batch": resolve_config(recipe).batch_size}
    cfg = resolve_config(recipe, overrides)
    assert cfg.precision == "fp32" and cfg.model == name

    results = train(cfg, quiet=True)
    rows = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))
    losses = [float(row["train_loss"]) for row in rows]
    assert all(math.isfinite(loss) for loss in losses), (name, losses)
    assert losses[-1] < losses[0] or losses[-1] < math.log(10), (name, losses)  # falls, or below the uniform guess
    assert results["test"]["count"] == EVAL_IMAGES
    assert results["test"]["top1"] >= CHANCE + MARGIN, (name, recipe.name, results["test"], losses)
    # The test scores the best validation epoch; a network that learnt and then collapsed (NiN at lr 0.05: all
    # logits 0, validation 14.8% then 10.0%) must fail too, so the last epoch has to stay above chance as well.
    last_val = float(rows[-1]["val_top1"])
    assert last_val >= CHANCE + MARGIN / 2, (name, "collapsed in the last epoch", [row["val_top1"] for row in rows])
