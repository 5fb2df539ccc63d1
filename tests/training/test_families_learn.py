"""Every small-input family learns with its own recipe (issue 9): the test that would have caught NiN and GoogLeNet.

Each model's recipe (recipes/*_cifar.yaml, named by its default config) is loaded as it is; only the data,
duration and device knobs are shortened to a few hundred CIFAR-10 JPEGs on the CPU. The optimizer, lr, weight
decay, model options, schedule type and precision stay the recipe's (bf16 autocast and channels-last in most: the
CPU fast path, issue 16), so a recipe whose lr or precision kills its network fails here.
Slow: 100-200 s per family on 2 busy CPU cores (GoogLeNet's 120 steps at 16x16 ~190 s), seen on 2026-11-23.
"""

from __future__ import annotations

import csv
import math

import pytest

from cnnzoo.training.config import resolve_config
from cnnzoo.training.recipes import model_recipe
from cnnzoo.training.train import train

# One model per registered small-input family, as its recipe trains it; (train images, epochs) each, enough
# optimiser steps for the recipe's lr and warm-up to leave chance (27 steps left even ResNet-20 there).
FAMILIES = {
    "alexnet": (1280, 3),  # 640 images gave 14.2%, at the 14% line; 1,280 gave 21.0% (2026-11-23)
    "vgg11": (1920, 5),  # 300 steps: from Glorot's small start at lr 0.01 it leaves chance after ~150 (issue 9)
    "nin": (1280, 3),  # 120 steps: ResNet-20 gets 23.4% val there, NiN's recipe 28.2% (recipes/nin_cifar.yaml)
    "googlenet": (1280, 3),  # 120 steps: the BN-free layout sits on a plateau for its first ~60-100 (issue 9)
    "resnet20": (640, 3),
    "course_resnet18": (640, 2),
    "course_resnet50_layer4": (640, 2),
}
# Images scaled down (a data knob, the network is the recipe's): GoogLeNet at 32x32 costs ~5 s a step on 2 CPU
# cores, and 120 steps of it would take ~10 min; at 16x16 the same network (stage 5 at 4x4) runs ~4x faster.
IMAGE_SIZE = {"googlenet": 16}
# Recipes whose lr is scaled from their batch to this test's 32 (linear rule, Goyal et al. 2017). The course's
# is written for batch 256 (lr 0.2): unscaled, course_resnet50_layer4 went to loss 60 and validation loss 5.6e8
# in one epoch. GoogLeNet's for batch 128 (lr 0.05): at 16x16, seed 0, 120 steps, unscaled gave test top-1 18.8%
# and seed 1 15.6%; scaled (0.0125) 20.6% and 20.0% (2026-11-23).
SCALE_LR_FROM_RECIPE_BATCH = {"course_resnet18", "course_resnet50_layer4", "googlenet", "nin"}
EVAL_IMAGES = 500
CHANCE = 0.10
MARGIN = 0.04  # test top-1 must reach 14%: three standard deviations (1.3% each) above chance on 500 images


def _shortened(name: str, tmp_path, data_dir, cifar10_cache) -> dict:
    """The knobs this test may change: data size, duration and device, nothing that decides learning."""
    images, epochs = FAMILIES[name]
    return {"model": name, "data_dir": str(data_dir), "cache_dir": str(cifar10_cache), "loader": "device",
            "train_limit": images, "eval_limit": EVAL_IMAGES, "val_size": 500, "epochs": epochs, "batch_size": 32,
            "warmup_epochs": 1, "device": "cpu", "compile": "none",
            "tensorboard": False, "plots": False, "run_dir": str(tmp_path / "run"), "seed": 0,
            "image_size": IMAGE_SIZE.get(name)}  # fmt: skip


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")  # the recipes' milestones fall after these short runs
@pytest.mark.parametrize("name", FAMILIES)
def test_every_family_learns_with_its_own_recipe(name, tmp_path, cifar10_jpeg_dir, cifar10_cache):
    recipe = model_recipe(name)
    overrides = _shortened(name, tmp_path, cifar10_jpeg_dir, cifar10_cache)
    if name in SCALE_LR_FROM_RECIPE_BATCH:
        overrides |= {"lr_scaling": "linear", "lr_base_batch": resolve_config(recipe).data.batch_size}
    cfg = resolve_config(recipe, overrides)
    assert cfg.precision == resolve_config(recipe).precision and cfg.model == name

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
