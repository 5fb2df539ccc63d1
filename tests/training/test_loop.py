"""The training step: eager as the engine always trained, compiled with the same results and one compilation.

Compiled runs use torch._dynamo's CompileCounter backend (dynamo captures the graphs, which then run eagerly:
seconds), and once inductor itself (C++ kernels on CPU: about a minute, marked slow). Tolerance of compiled
against eager: 1e-5 relative on losses and weights (fp32; inductor may reorder reductions).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch._dynamo.testing import CompileCounter

from cnnzoo.training.loop import EvalForward, TrainStep, compute_loss, evaluate
from cnnzoo.training.optim import ModelEMA

CPU = torch.device("cpu")
REPO = Path(__file__).resolve().parents[2]
LRS = [0.1, 0.5, 0.0, 0.02, 1.0, 0.3]  # very different lrs, one of them 0: a baked-in lr would show


class _Net(nn.Module):
    """Two convolutions with BatchNorm, global pooling, a linear head: small enough to compile in seconds."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)  # a bias before BN gets only rounding noise
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.conv1(x)))
        return self.fc(F.adaptive_avg_pool2d(F.relu(self.conv2(x)), 1).flatten(1))


def _batches(n: int = len(LRS), size: int = 16) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(size, 3, 8, 8, generator=g), torch.randint(0, 5, (size,), generator=g)) for _ in range(n)]


def _optimizer(model: nn.Module, kind: str, graphs: bool) -> torch.optim.Optimizer:
    extra = {"foreach": True} if graphs else {}
    if kind == "sgd":
        return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4, **extra)
    return torch.optim.AdamW(model.parameters(), lr=0.01, **extra, **({"capturable": True} if graphs else {}))


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """As Schedule.apply does: a tensor lr in place, a float lr replaced."""
    for group in optimizer.param_groups:
        if isinstance(group["lr"], torch.Tensor):
            group["lr"].fill_(lr)
        else:
            group["lr"] = lr


def _run(compile: str, kind: str = "sgd", backend="inductor", ema: bool = True, clip: float | None = 2.0):
    """Train a fresh seeded _Net for len(LRS) steps; returns (losses, weights, EMA weights, step, compile counts)."""
    torch.manual_seed(0)
    model = _Net()
    optimizer = _optimizer(model, kind, graphs=compile != "none")
    average = ModelEMA(model, 0.9) if ema else None
    step = TrainStep(model, optimizer, CPU, ema=average, label_smoothing=0.1, grad_clip=clip, compile=compile,
                     backend=backend)  # fmt: skip
    step.epoch_start()
    losses, counts = [], []
    for lr, (images, targets) in zip(LRS, _batches()):
        _set_lr(optimizer, lr if kind == "sgd" else lr / 100)  # AdamW's steps are about lr in size
        before = [p.detach().clone() for p in model.parameters()]
        losses.append(step(images, targets).item())
        if lr == 0.0 and kind == "sgd":  # lr 0: the step must leave every weight as it was
            assert all(torch.equal(b, p) for b, p in zip(before, model.parameters()))
        counts.append(backend.frame_count if isinstance(backend, CompileCounter) else None)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    ema_weights = {k: v.clone() for k, v in average.module.state_dict().items()} if ema else {}
    return losses, weights, ema_weights, step, counts


def _close(a: dict, b: dict, tol: float = 1e-5) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=tol, atol=tol, msg=k)


# -------------------------------------------------------------------- eager: the engine's original loop
def test_eager_step_is_the_original_loop_bit_for_bit():
    """compile none computes what the engine's loop computed before TrainStep, operation for operation."""
    losses, weights, ema_weights, step, _ = _run("none")

    torch.manual_seed(0)  # the loop as engine.train_one_epoch wrote it (commit 96094f8)
    model = _Net()
    optimizer = _optimizer(model, "sgd", graphs=False)
    average = ModelEMA(model, 0.9)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    loss_sum = torch.zeros((), dtype=torch.float64)
    correct = torch.zeros((), dtype=torch.int64)
    reference = []
    for lr, (images, targets) in zip(LRS, _batches()):
        _set_lr(optimizer, lr)
        output = model(images)
        loss, logits = compute_loss(output, targets, 0.1, 0.3)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), 2.0)
        scaler.step(optimizer)
        scaler.update()
        average.update(model)
        loss_sum += loss.detach().double() * targets.shape[0]
        correct += (logits.detach().argmax(dim=1) == targets).sum()
        reference.append(loss.item())

    assert losses == reference
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert all(torch.equal(ema_weights[k], v) for k, v in average.module.state_dict().items())
    assert torch.equal(step.loss_sum, loss_sum) and torch.equal(step.correct, correct)


# -------------------------------------------------------------------- compiled: same numbers, compiled once
@pytest.mark.parametrize("kind", ["sgd", "adamw"])
def test_compiled_step_matches_eager_and_lr_changes_do_not_recompile(kind):
    counter = CompileCounter()
    eager_losses, eager_weights, eager_ema, eager_step, _ = _run("none", kind)
    losses, weights, ema_weights, step, counts = _run("reduce-overhead", kind, backend=counter)

    assert counts[0] > 0, "nothing was compiled"
    assert counts == [counts[0]] * len(LRS), f"recompiled as the lr changed: frames compiled per step {counts}"
    assert all(isinstance(g["lr"], torch.Tensor) for g in step.optimizer.param_groups)
    torch.testing.assert_close(losses, eager_losses, rtol=1e-5, atol=1e-6)
    _close(weights, eager_weights)
    _close(ema_weights, eager_ema)
    torch.testing.assert_close(step.loss_sum, eager_step.loss_sum, rtol=1e-5, atol=1e-6)
    assert torch.equal(step.correct, eager_step.correct)


def test_compiled_step_falls_back_to_an_eager_update_with_the_grad_scaler():
    """fp16's GradScaler reads a found-inf flag on the host: only the forward compiles, lrs stay floats."""
    counter = CompileCounter()
    model = _Net()
    optimizer = _optimizer(model, "sgd", graphs=False)
    scaler = torch.amp.GradScaler("cpu", init_scale=8.0)
    step = TrainStep(model, optimizer, CPU, scaler=scaler, compile="default", backend=counter)
    images, targets = _batches(1)[0]
    step(images, targets)
    assert not step.compiled_update and counter.frame_count == 1
    assert isinstance(optimizer.param_groups[0]["lr"], float)


@pytest.mark.slow
def test_every_fit_in_a_process_runs_compiled(monkeypatch):
    """Past torch's recompile limit (8) a shared cache would run eagerly: each TrainStep compiles its graphs."""
    from cnnzoo.training import loop as step_module

    torch.compiler.reset()
    monkeypatch.setattr(step_module, "_compiled_fits", 0)
    counter = CompileCounter()
    per_fit = []
    for _ in range(9):
        before = counter.frame_count
        model = _Net()
        step = TrainStep(model, _optimizer(model, "sgd", graphs=True), CPU, compile="default", backend=counter)
        step(*_batches(1)[0])
        per_fit.append(counter.frame_count - before)
    # The first fit compiles every frame; later ones reuse the frames not guarded on the model, until the reset.
    assert per_fit[0] > 0 and all(0 < n <= per_fit[0] for n in per_fit), per_fit
    resets = [i for i, n in enumerate(per_fit) if n == per_fit[0]]
    assert resets == list(range(0, 9, torch._dynamo.config.recompile_limit // 2)), per_fit  # full compiles after resets


def test_consecutive_fits_keep_the_compile_caches_until_they_would_overflow(monkeypatch):
    """Resetting before every fit re-traced everything compiled before it; now only before the limit's reach."""
    from cnnzoo.training import loop as step_module

    resets = []
    monkeypatch.setattr(torch.compiler, "reset", lambda: resets.append(step_module._compiled_fits))
    monkeypatch.setattr(step_module, "_compiled_fits", 0)
    limit = torch._dynamo.config.recompile_limit
    for _ in range(limit // 2 + 1):
        model = _Net()
        TrainStep(model, _optimizer(model, "sgd", graphs=True), CPU, compile="default", backend=CompileCounter())
    assert resets == [limit // 2]  # fits 1..limit/2 keep the caches; the next one empties them first


def test_the_ema_copy_is_a_static_input_of_the_compiled_update():
    """CUDA graphs skip an update whose mutated inputs are not static: every tensor the blend touches is marked."""
    model = _Net()
    step = TrainStep(
        model,
        _optimizer(model, "sgd", graphs=True),
        CPU,
        ema=ModelEMA(model),
        compile="reduce-overhead",
        backend=CompileCounter(),
    )
    ema_float, _, ema_other, _ = step._ema_pairs
    assert len(ema_float) == len([t for t in model.state_dict().values() if t.is_floating_point()])
    for tensor in (*ema_float, *ema_other, step._ema_weight, step.loss_sum, step.correct):
        assert getattr(tensor, "_dynamo_static_input_type", None) is not None
    ema_before = [t.clone() for t in ema_float]
    step(*_batches(1)[0])
    assert any(not torch.equal(a, b) for a, b in zip(ema_before, ema_float))  # the marked tensors are the EMA's own


@pytest.mark.slow
def test_inductor_step_matches_eager_within_tolerance(monkeypatch):
    """The real compiler on CPU (C++ kernels), default mode; reduce-overhead differs only by CUDA graphs."""
    from torch._dynamo.utils import counters

    from cnnzoo.training import loop as step_module

    torch.compiler.reset()
    monkeypatch.setattr(step_module, "_compiled_fits", 0)  # no reset between this test's two fits

    eager_losses, eager_weights, eager_ema, _, _ = _run("none")
    counters.clear()
    losses, weights, ema_weights, _, _ = _run("default")
    graphs = counters["stats"]["unique_graphs"]
    torch.testing.assert_close(losses, eager_losses, rtol=1e-5, atol=1e-6)
    _close(weights, eager_weights)
    _close(ema_weights, eager_ema)
    assert graphs > 0
    again, _, _, _, _ = _run("default")  # a second fit compiles the graphs guarded on its model, reusing the rest
    assert graphs < counters["stats"]["unique_graphs"] <= 2 * graphs
    torch.testing.assert_close(again, losses, rtol=0, atol=0)


@pytest.mark.slow
def test_bf16_on_the_cpu_takes_the_cuda_paths_and_stays_finite():
    """bf16 autocast, channels-last and the compiled step (inductor's C++ kernels), as a GPU runs them."""
    results = {}
    for compile in ("none", "default"):
        torch.manual_seed(0)
        model = _Net().to(memory_format=torch.channels_last)
        step = TrainStep(
            model,
            _optimizer(model, "sgd", graphs=compile != "none"),
            CPU,
            ema=ModelEMA(model, 0.9),
            precision="bf16",
            grad_clip=2.0,
            compile=compile,
        )
        seen = []
        model.register_forward_hook(lambda m, i, o, seen=seen: seen.append((torch.is_autocast_enabled("cpu"), o.dtype)))
        losses = [step(x.to(memory_format=torch.channels_last), y).item() for x, y in _batches()]
        results[compile] = losses
        assert all(map(math.isfinite, losses)), (compile, losses)
        if compile == "none":  # hooks see the eager forward only: under autocast, its logits in bf16
            assert set(seen) == {(True, torch.bfloat16)}
    torch.testing.assert_close(results["default"], results["none"], rtol=0.05, atol=0.05)  # bf16's rounding


# -------------------------------------------------------------------- evaluation on a static batch shape
def test_compiled_evaluation_pads_the_last_batch_and_compiles_once():
    torch.manual_seed(0)
    model = _Net().eval()
    data = _batches(3, size=16) + [_batches(1, size=5)[0]]  # a short last batch
    eager = evaluate(model, data, 5, CPU, confusion=True)
    counter = CompileCounter()
    forward = EvalForward(model, CPU, compile="reduce-overhead", backend=counter)
    compiled = evaluate(model, data, 5, CPU, confusion=True, forward=forward)
    assert counter.frame_count == 1, "the padded last batch compiled a second graph"
    assert compiled["count"] == eager["count"] == 53
    assert compiled["confusion"] == eager["confusion"]
    assert compiled["loss"] == pytest.approx(eager["loss"], rel=1e-6)


# -------------------------------------------------------------------- through the engine
@pytest.mark.slow
def test_a_compiled_fit_trains_like_an_eager_one(tmp_path):
    """train() with compile default (inductor, CPU) against compile none: same losses per epoch, same test."""
    from cnnzoo.models.registry import _REGISTRY, CIFAR_CFG, register_model
    from cnnzoo.training.train import train

    @register_model(CIFAR_CFG, builds=_Net)
    def tiny_step_net(num_classes: int = 10, in_chans: int = 1) -> nn.Module:
        net = _Net()
        net.conv1 = nn.Conv2d(in_chans, 8, 3, padding=1, bias=False)
        net.fc = nn.Linear(8, num_classes)
        return net

    try:
        common = {"model": "tiny_step_net", "data": "digits", "epochs": 2, "batch_size": 128, "lr": 0.05, "ema": True,
                  "tta": "flip", "tensorboard": False, "plots": False}  # fmt: skip
        runs = {mode: train({**common, "compile": mode, "run_dir": str(tmp_path / mode)}, quiet=True)
                for mode in ("none", "default")}  # fmt: skip
    finally:
        del _REGISTRY["tiny_step_net"]
    import json

    rows = {m: [json.loads(r) for r in (tmp_path / m / "metrics.jsonl").read_text().splitlines()] for m in runs}
    for eager, compiled in zip(rows["none"], rows["default"]):
        assert compiled["train_loss"] == pytest.approx(eager["train_loss"], rel=1e-5)
        assert compiled["val_loss"] == pytest.approx(eager["val_loss"], rel=1e-4)
    for key in ("test", "test_tta"):
        assert runs["default"][key]["loss"] == pytest.approx(runs["none"][key]["loss"], rel=1e-4)


def test_compiling_on_a_cpu_prints_none_of_torchs_own_log_lines():
    # `cnnzoo train --compile` on a CPU printed two raw torch warnings (a CUDA build without a GPU; the optimizer's
    # profiler hook that dynamo skips), which a user can do nothing about. A fresh process: torch warns once each.
    script = (
        "import torch, sys; sys.path.insert(0, 'tests/training'); import test_loop as t; "
        "t._run('default', backend='eager', ema=False); import torch.utils.cpp_extension"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "will be ignored" not in done.stderr and "CUDA_HOME" not in done.stderr, done.stderr
