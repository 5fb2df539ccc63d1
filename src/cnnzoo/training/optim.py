"""Optimisers, learning-rate schedules stepped per iteration, and the exponential moving average of weights.

The schedule is a pure function of the iteration number, so a resumed run needs only the step to continue
exactly where it stopped; `Schedule.apply` writes `initial_lr * factor(step)` into every parameter group.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn as nn

from cnnzoo.training.config import TrainConfig
from cnnzoo.training.finetune import head_lr_groups

NORM_TYPES = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.LocalResponseNorm)


# -------------------------------------------------------------------- optimisers
def param_groups(model: nn.Module, weight_decay: float, decay_bn_bias: bool = True) -> list[dict]:
    """One group, or two when BatchNorm parameters and biases are excluded from weight decay.

    Excluding them is common in fast recipes (Goyal et al. 2017, "no bias decay"): their scale does not
    change what the network computes the way weight norms do, so decaying them only adds noise.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if decay_bn_bias or weight_decay == 0:
        return [{"params": params, "weight_decay": weight_decay}]
    skip: set[int] = set()
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if isinstance(module, NORM_TYPES) or name == "bias":
                skip.add(id(p))
    decay = [p for p in params if id(p) not in skip]
    no_decay = [p for p in params if id(p) in skip]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def scaled_lr(cfg: TrainConfig) -> float:
    """The peak lr for this batch size: `lr` is given for `lr_base_batch` images and scaled as `lr_scaling` says.

    linear: lr × batch / base (Goyal et al. 2017, with warm-up for large batches); sqrt: lr × √(batch / base)
    (Krizhevsky 2014, often better for adaptive optimisers); none: lr as given.
    """
    ratio = cfg.data.batch_size / cfg.lr_base_batch
    return cfg.lr * {"none": 1.0, "linear": ratio, "sqrt": math.sqrt(ratio)}[cfg.lr_scaling]


def build_optimizer(model: nn.Module, cfg: TrainConfig, *, graphs: bool = False) -> torch.optim.Optimizer:
    """SGD with (Nesterov) momentum, as in the ResNet paper, or AdamW (Loshchilov & Hutter 2019).

    `graphs`: for a compiled step (loop.TrainStep), the `foreach` implementations, which accept an lr held in
    a device tensor; AdamW also `capturable` (its step count on the device), as PyTorch requires for that.
    """
    groups = param_groups(model, cfg.weight_decay, cfg.decay_bn_bias)
    lr = scaled_lr(cfg)
    if cfg.lr_head_mult != 1.0:  # fine-tuning: the new classifier learns faster (or slower) than the features
        groups = head_lr_groups(groups, model, cfg.model, dict(cfg.model_options), lr, cfg.lr_head_mult)
    if cfg.optimizer == "sgd":
        nesterov = cfg.nesterov and cfg.momentum > 0
        extra = {"foreach": True} if graphs else {}
        return torch.optim.SGD(groups, lr=lr, momentum=cfg.momentum, nesterov=nesterov, **extra)
    if cfg.optimizer == "adamw":
        extra = {"foreach": True, "capturable": True} if graphs else {}
        return torch.optim.AdamW(groups, lr=lr, betas=tuple(cfg.betas), **extra)
    raise AssertionError(cfg.optimizer)  # TrainConfig.validate names the choices


# -------------------------------------------------------------------- schedules
class Schedule:
    """The learning rate at iteration `step` as a factor of the peak lr: warm-up × main schedule.

    - constant: 1.
    - multistep: gamma ** (number of milestones passed), milestones in iterations; the ResNet paper's CIFAR
      schedule is 0.1 divided by 10 at 32k and 48k iterations (He et al. 2016, section 4.2).
    - cosine: from 1 down to `min_factor` over the iterations after warm-up (Loshchilov & Hutter 2017).
    - onecycle: linear from 1/div up to 1 over `pct` of the iterations after warm-up, then linear down to
      `min_factor` (Smith & Topin 2019, the linear variant fast CIFAR recipes use).
    - warm-up (any schedule): × (step + 1) / warmup for the first `warmup` iterations (Goyal et al. 2017), or
      × `warmup_factor` held constant (ResNet-110's lr 0.01 before 0.1, He et al. 2016, section 4.2).
    """

    def __init__(
        self,
        kind: str,
        total_steps: int,
        *,
        warmup_steps: int = 0,
        warmup_factor: float | None = None,
        milestones: list[int] = (),
        gamma: float = 0.1,
        min_factor: float = 0.0,
        onecycle_pct: float = 0.25,
        onecycle_div: float = 25.0,
    ) -> None:
        self.kind = kind
        self.total_steps = max(1, total_steps)
        self.warmup_steps = min(warmup_steps, self.total_steps)
        self.warmup_factor = warmup_factor
        self.milestones = sorted(milestones)
        self.gamma = gamma
        self.min_factor = min_factor
        self.onecycle_pct = onecycle_pct
        self.onecycle_div = onecycle_div

    def factor(self, step: int) -> float:
        if self.warmup_factor is not None:
            warm = self.warmup_factor if step < self.warmup_steps else 1.0
        else:
            warm = min(1.0, (step + 1) / self.warmup_steps) if self.warmup_steps else 1.0
        return warm * self._main(step)

    def _main(self, step: int) -> float:
        if self.kind == "constant":
            return 1.0
        if self.kind == "multistep":
            return self.gamma ** sum(step >= m for m in self.milestones)
        span = max(1, self.total_steps - self.warmup_steps)
        t = min(1.0, max(0.0, (step - self.warmup_steps) / span))  # progress after warm-up, 0 → 1
        if self.kind == "cosine":
            return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * t))
        if self.kind == "onecycle":
            start = 1.0 / self.onecycle_div
            if t < self.onecycle_pct:
                return start + (1 - start) * t / self.onecycle_pct
            return 1 - (1 - self.min_factor) * (t - self.onecycle_pct) / (1 - self.onecycle_pct)
        raise AssertionError(self.kind)

    def apply(self, optimizer: torch.optim.Optimizer, step: int) -> float:
        """Set every group's lr for this iteration; returns the peak group's lr.

        An lr held in a tensor (a compiled step's) is overwritten in place: no new object for the compiled code
        to see, no host sync.
        """
        f = self.factor(step)
        for group in optimizer.param_groups:
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(group["initial_lr"] * f)
            else:
                group["lr"] = group["initial_lr"] * f
        return optimizer.param_groups[0]["initial_lr"] * f

    def state_dict(self) -> dict:
        return {
            "kind": self.kind,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "milestones": list(self.milestones),
        }


def build_schedule(cfg: TrainConfig, steps_per_epoch: int, total_steps: int) -> Schedule:
    """The config's schedule in iterations: epoch milestones and warm-up are converted with steps_per_epoch."""
    per = steps_per_epoch if cfg.milestone_unit == "epochs" else 1
    milestones = [round(m * per) for m in cfg.milestones]
    warmup = cfg.warmup_steps or round(cfg.warmup_epochs * steps_per_epoch)
    return Schedule(
        cfg.schedule,
        total_steps,
        warmup_steps=warmup,
        warmup_factor=cfg.warmup_factor,
        milestones=milestones,
        gamma=cfg.gamma,
        min_factor=cfg.min_lr_factor,
        onecycle_pct=cfg.onecycle_pct,
        onecycle_div=cfg.onecycle_div,
    )


def remember_initial_lr(optimizer: torch.optim.Optimizer) -> None:
    """Store each group's peak lr as `initial_lr` (PyTorch's own schedulers use the same key)."""
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", float(group["lr"]))


# -------------------------------------------------------------------- EMA of weights
class ModelEMA:
    """An exponential moving average of a model's parameters and floating buffers, updated every iteration.

    The decay ramps up as min(decay, (1 + n) / (10 + n)) after n updates, as in TensorFlow's
    ExponentialMovingAverage with num_updates, so short runs are not dominated by the initial weights.
    Integer buffers (BatchNorm's num_batches_tracked) are copied.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999, warmup: bool = True) -> None:
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.decay = decay
        self.warmup = warmup
        self.updates = 0

    def current_decay(self) -> float:
        n = self.updates
        return min(self.decay, (1 + n) / (10 + n)) if self.warmup else self.decay

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.blend(self.pairs(model), self.next_weight())

    def next_weight(self) -> float:
        """Count one update and return its blending weight 1 - decay (host arithmetic only)."""
        d = self.current_decay()
        self.updates += 1
        return 1.0 - d

    def pairs(self, model: nn.Module) -> tuple[list[torch.Tensor], ...]:
        """(EMA floats, model floats, EMA others, model others): the tensors `blend` reads and writes.

        They alias the modules' parameters and buffers, so a compiled step may take them once and reuse them.
        """
        ema_float, new_float, ema_other, new_other = [], [], [], []
        for e, m in zip(self.module.state_dict().values(), model.state_dict().values()):
            if e.is_floating_point():
                ema_float.append(e)
                new_float.append(m.detach())
            else:
                ema_other.append(e)
                new_other.append(m)
        return ema_float, new_float, ema_other, new_other

    @staticmethod
    @torch.no_grad()
    def blend(pairs: tuple[list[torch.Tensor], ...], weight: float | torch.Tensor) -> None:
        """ema += weight × (model - ema), others copied; a 0-d tensor weight keeps a compiled step constant-free."""
        ema_float, new_float, ema_other, new_other = pairs
        for e, m in zip(ema_other, new_other):
            e.copy_(m)
        if not ema_float:
            return
        if isinstance(weight, torch.Tensor):  # foreach lerp takes only a Python scalar weight
            delta = torch._foreach_sub(new_float, ema_float)
            torch._foreach_mul_(delta, weight)
            torch._foreach_add_(ema_float, delta)
        else:
            torch._foreach_lerp_(ema_float, new_float, weight)

    def state_dict(self) -> dict:
        return {"module": self.module.state_dict(), "updates": self.updates, "decay": self.decay}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])
