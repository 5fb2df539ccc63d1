"""Training on mixed labels: the loss is lam·CE(a) + (1 - lam)·CE(b), accuracy counts the dominant label, the
compiled step takes the mixed targets like the eager one, and whole runs with mixing and policies train."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from torch._dynamo.testing import CompileCounter

from cnnzoo.models.registry import _REGISTRY, CIFAR_CFG, register_model
from cnnzoo.training.loop import TrainStep, compute_loss
from cnnzoo.training.train import train

CPU = torch.device("cpu")


def _mixed(lam: float, a: torch.Tensor, b: torch.Tensor, classes: int) -> torch.Tensor:
    return lam * F.one_hot(a, classes).float() + (1 - lam) * F.one_hot(b, classes).float()


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_loss_of_mixed_targets_is_the_mixture_of_the_two_losses(smoothing):
    g = torch.Generator().manual_seed(0)
    logits, aux = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    a, b = torch.randint(0, 4, (6,), generator=g), torch.randint(0, 4, (6,), generator=g)
    lam = 0.3
    loss, main = compute_loss((logits, aux, None), _mixed(lam, a, b, 4), smoothing, aux_weight=0.3)
    expected = sum(
        weight * (F.cross_entropy(out, y, label_smoothing=smoothing))
        for out, scale in ((logits, 1.0), (aux, 0.3))
        for weight, y in ((lam * scale, a), ((1 - lam) * scale, b))
    )
    torch.testing.assert_close(loss, expected)
    assert main is logits


class _Net(nn.Module):
    def __init__(self, num_classes: int = 5, in_chans: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_chans, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.adaptive_avg_pool2d(F.relu(self.bn(self.conv(x))), 1).flatten(1))


def _step_run(compile: str, backend="inductor") -> tuple[list[torch.Tensor], TrainStep]:
    torch.manual_seed(0)
    model = _Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, foreach=True)
    step = TrainStep(model, optimizer, CPU, label_smoothing=0.1, compile=compile, backend=backend)
    g = torch.Generator().manual_seed(1)
    losses = []
    step.epoch_start()
    for lam in (0.9, 0.2, 1.0):
        images, a = torch.randn(16, 3, 8, 8, generator=g), torch.randint(0, 5, (16,), generator=g)
        losses.append(step(images, _mixed(lam, a, torch.arange(16) % 5, 5)))
    return losses, step


def test_compiled_step_takes_mixed_targets_like_the_eager_one_and_compiles_once():
    eager, eager_step = _step_run("none")
    counter = CompileCounter()
    compiled, compiled_step = _step_run("default", backend=counter)
    assert counter.frame_count > 0
    frames = counter.frame_count
    torch.testing.assert_close(torch.stack(compiled), torch.stack(eager), rtol=1e-5, atol=1e-6)
    assert compiled_step.correct.item() == eager_step.correct.item()
    compiled_step(torch.randn(16, 3, 8, 8), _mixed(0.5, torch.zeros(16).long(), torch.ones(16).long(), 5))
    assert counter.frame_count == frames, "a new lam recompiled the step"


def test_training_accuracy_counts_the_dominant_label():
    model = nn.Linear(2, 3, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(3, 2))  # the logits are the inputs: class 0 for [1, 0], class 1 for [0, 1]
    step = TrainStep(model, torch.optim.SGD(model.parameters(), lr=0.0), CPU)
    step.epoch_start()
    images = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    targets = torch.tensor([[0.7, 0.3, 0.0], [0.4, 0.0, 0.6], [0.1, 0.9, 0.0]])  # dominant: 0, 2, 1
    step(images, targets)
    assert step.correct.item() == 2


# -------------------------------------------------------------------- whole runs, both loaders
@pytest.fixture(scope="module")
def net():
    @register_model(CIFAR_CFG, builds=_Net)
    def mixup_test_net(**options) -> _Net:
        return _Net(**options)

    yield "mixup_test_net"
    del _REGISTRY["mixup_test_net"]


def _folder(root) -> None:
    rng = np.random.default_rng(0)
    for split, count in (("train", 12), ("test", 4)):
        for name in ("a", "b", "c"):
            (root / split / name).mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / name / f"{i}.png")


@pytest.mark.parametrize(
    "data, extra",
    [
        ("digits", dict(mixup=0.2, cutmix=1.0, auto_augment="trivialaugment", train_limit=128, eval_limit=64)),
        (
            "imagefolder",
            dict(batch_size=8, cutmix=1.0, mix_prob=0.5, auto_augment="autoaugment", loader="stream", workers=0),
        ),
    ],
)
def test_runs_with_mixing_and_a_policy_train_with_finite_loss(tmp_path, net, data, extra):
    if data == "imagefolder":
        _folder(tmp_path / "images")
        extra = {**extra, "data_dir": str(tmp_path / "images"), "val_size": 6}
    config = {"model": net, "data": data, "epochs": 2, "batch_size": 32, "lr": 0.05, "tensorboard": False,
              "plots": False, "run_dir": str(tmp_path / "run"), "compile": "none", **extra}  # fmt: skip
    results = train(config, quiet=True)
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and results["steps"] > 0
    assert all(np.isfinite(row["train_loss"]) and 0 <= row["train_acc"] <= 1 for row in rows)
    assert np.isfinite(results["test"]["loss"])
