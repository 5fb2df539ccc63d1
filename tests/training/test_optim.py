"""Schedules per iteration, weight-decay exclusion of BN/bias, and the EMA update."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from cnnzoo.training.config import TrainConfig
from cnnzoo.training.optim import (
    ModelEMA,
    Schedule,
    build_optimizer,
    build_schedule,
    param_groups,
    remember_initial_lr,
    scaled_lr,
)


def _cfg(**values) -> TrainConfig:
    return TrainConfig.from_dict({"model": "resnet20", "data": "cifar10", **values})


def test_multistep_divides_by_ten_at_32k_and_48k_iterations():
    """The ResNet paper's CIFAR schedule: 0.1, /10 at 32k and 48k, stop at 64k (section 4.2)."""
    cfg = _cfg(schedule="multistep", milestones=[32000, 48000], milestone_unit="steps", lr=0.1, max_steps=64000)
    schedule = build_schedule(cfg, steps_per_epoch=351, total_steps=64000)
    lr = {s: 0.1 * schedule.factor(s) for s in (0, 31999, 32000, 47999, 48000, 63999)}
    assert lr[0] == pytest.approx(0.1) and lr[31999] == pytest.approx(0.1)
    assert lr[32000] == pytest.approx(0.01) and lr[47999] == pytest.approx(0.01)
    assert lr[48000] == pytest.approx(0.001) and lr[63999] == pytest.approx(0.001)


def test_multistep_milestones_in_epochs_become_iterations():
    cfg = _cfg(schedule="multistep", milestones=[2, 3], milestone_unit="epochs", gamma=0.5)
    schedule = build_schedule(cfg, steps_per_epoch=10, total_steps=40)
    assert [schedule.factor(s) for s in (19, 20, 29, 30)] == [1.0, 0.5, 0.5, 0.25]


def test_warmup_rises_linearly_then_hands_over():
    schedule = Schedule("constant", 100, warmup_steps=4)
    assert [schedule.factor(s) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    cfg = _cfg(schedule="cosine", warmup_epochs=0.5)
    assert build_schedule(cfg, steps_per_epoch=10, total_steps=100).warmup_steps == 5


def test_cosine_starts_at_peak_and_ends_at_min_factor():
    schedule = Schedule("cosine", 110, warmup_steps=10, min_factor=0.01)
    assert schedule.factor(10) == pytest.approx(1.0)  # the peak right after warm-up
    assert schedule.factor(60) == pytest.approx(0.01 + 0.99 * 0.5)  # half-way: the mean of the two ends
    assert schedule.factor(110) == pytest.approx(0.01)  # the end value
    assert schedule.factor(109) == pytest.approx(0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * 99 / 100)))
    factors = [schedule.factor(s) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(factors, factors[1:]))  # monotone decay


def test_onecycle_rises_then_falls():
    schedule = Schedule("onecycle", 100, onecycle_pct=0.25, onecycle_div=25.0, min_factor=0.0)
    assert schedule.factor(0) == pytest.approx(1 / 25)
    assert schedule.factor(25) == pytest.approx(1.0)
    assert schedule.factor(100) == pytest.approx(0.0)
    assert schedule.factor(62) == pytest.approx(1 - 37 / 75)


def test_apply_sets_every_group_from_its_initial_lr():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    optimizer = torch.optim.SGD(param_groups(model, 1e-4, decay_bn_bias=False), lr=0.4)
    remember_initial_lr(optimizer)
    lr = Schedule("multistep", 10, milestones=[5]).apply(optimizer, 5)
    assert lr == pytest.approx(0.04)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.04, 0.04])


def test_weight_decay_excludes_batchnorm_and_biases_by_option():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, bias=True), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 2))
    conv, bn, _, fc = model
    decay, no_decay = param_groups(model, 5e-4, decay_bn_bias=False)
    ids = lambda ps: {id(p) for p in ps}  # noqa: E731
    assert ids(decay["params"]) == {id(conv.weight), id(fc.weight)}
    assert ids(no_decay["params"]) == {id(conv.bias), id(bn.weight), id(bn.bias), id(fc.bias)}
    assert (decay["weight_decay"], no_decay["weight_decay"]) == (5e-4, 0.0)
    (everything,) = param_groups(model, 5e-4, decay_bn_bias=True)
    assert len(everything["params"]) == len(list(model.parameters()))


def test_excluded_parameters_really_are_not_decayed():
    """With zero gradients, only weight decay moves parameters: BN and biases must stay put."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    nn.init.constant_(model[1].weight, 2.0)
    cfg = _cfg(weight_decay=0.1, decay_bn_bias=False, momentum=0.0, lr=1.0)
    optimizer = build_optimizer(model, cfg)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    for name, p in model.named_parameters():
        moved = not torch.equal(before[name], p)
        assert moved == (name == "0.weight"), name


def test_adamw_and_nesterov_are_built_as_asked():
    model = nn.Linear(2, 2)
    assert isinstance(build_optimizer(model, _cfg(optimizer="adamw", lr=1e-3)), torch.optim.AdamW)
    sgd = build_optimizer(model, _cfg(nesterov=True))
    assert isinstance(sgd, torch.optim.SGD) and sgd.param_groups[0]["nesterov"] is True


def test_ema_update_is_the_decayed_average():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    ema = ModelEMA(model, decay=0.9, warmup=False)
    old = {k: v.clone() for k, v in ema.module.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
        model[1].running_mean.fill_(3.0)
        model[1].num_batches_tracked.fill_(7)
    ema.update(model)
    new = model.state_dict()
    for key, value in ema.module.state_dict().items():
        if value.is_floating_point():
            torch.testing.assert_close(value, 0.9 * old[key] + 0.1 * new[key])
        else:
            assert torch.equal(value, new[key])  # integer buffers are copied
    assert not any(p.requires_grad for p in ema.module.parameters())


def test_ema_decay_warms_up():
    ema = ModelEMA(nn.Linear(1, 1), decay=0.999)
    assert ema.current_decay() == pytest.approx(0.1)  # (1 + 0) / (10 + 0)
    ema.updates = 10_000
    assert ema.current_decay() == pytest.approx(0.999)


def test_ema_state_round_trips():
    model = nn.Linear(2, 2)
    ema = ModelEMA(model, decay=0.5)
    ema.update(model)
    other = ModelEMA(nn.Linear(2, 2), decay=0.5)
    other.load_state_dict(ema.state_dict())
    assert other.updates == 1
    assert all(torch.equal(a, b) for a, b in zip(other.module.state_dict().values(), ema.module.state_dict().values()))


# -------------------------------------------------------------------- batch size as a knob
@pytest.mark.parametrize(
    "scaling, batch, expected",
    [("none", 1024, 0.2), ("linear", 1024, 0.8), ("linear", 128, 0.1), ("sqrt", 1024, 0.4), ("sqrt", 64, 0.1)],
)
def test_lr_scales_with_the_batch_size(scaling, batch, expected):
    """lr 0.2 is given for lr_base_batch 256: linear ×batch/256, sqrt ×√(batch/256)."""
    cfg = _cfg(lr=0.2, lr_base_batch=256, lr_scaling=scaling, batch_size=batch)
    assert scaled_lr(cfg) == pytest.approx(expected)
    optimizer = build_optimizer(nn.Linear(2, 2), cfg)
    remember_initial_lr(optimizer)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(expected)
    schedule = Schedule("constant", 10, warmup_steps=4)
    assert schedule.apply(optimizer, 1) == pytest.approx(expected / 2)  # warm-up rises to the scaled lr


def test_schedule_writes_a_tensor_lr_in_place():
    """A compiled step reads the lr from a device tensor: apply overwrites it, it never swaps the object."""
    optimizer = build_optimizer(nn.Linear(2, 2), _cfg(lr=0.4), graphs=True)
    remember_initial_lr(optimizer)
    lr = optimizer.param_groups[0]["lr"] = torch.tensor(0.4)
    schedule = Schedule("constant", 10, warmup_steps=4)
    assert schedule.apply(optimizer, 0) == pytest.approx(0.1)
    assert optimizer.param_groups[0]["lr"] is lr and lr.item() == pytest.approx(0.1)
    adamw = build_optimizer(nn.Linear(2, 2), _cfg(optimizer="adamw"), graphs=True)
    assert adamw.param_groups[0]["foreach"] and adamw.param_groups[0]["capturable"]
