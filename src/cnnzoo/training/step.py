"""One training step and one evaluation forward, eager or compiled into replayable graphs.

    TrainStep(...)(images, targets)   forward, loss, backward, optimizer update, EMA, metric sums on the device
    EvalForward(model, ...)(images)   float logits of a batch; compiled on one static batch shape
    compute_loss, autocast            the loss the engine optimises, and the precision context

Why a class: with `compile` other than "none" the step is compiled once and then replayed, and nothing that
changes from step to step may be a Python number the compiled code reads (the compiler would specialise on
it and compile again). So the per-step scalars live in 0-d tensors on the device that the host overwrites
with `fill_` (a kernel launch with the value as its argument, no host synchronisation): each parameter
group's lr (SGD and AdamW accept a tensor lr on their `foreach` path; AdamW also needs `capturable`, see
`optim.build_optimizer(graphs=True)`) and the EMA's blending weight. SGD's momentum buffers are created as
zeros before the first compiled step, which gives the same arithmetic as PyTorch's lazy `grad.clone()` (with
dampening 0) without a second compilation once they exist.

What is compiled, with `torch.compile(mode=...)` and static shapes (`dynamic=False`):
- the forward and loss (AOTAutograd compiles the matching backward);
- the update: gradient clipping, `optimizer.step()` (PyTorch splits it into its own graph on purpose), the
  EMA blend and the metric sums.
With mode reduce-overhead or max-autotune on CUDA each graph is recorded once as a CUDA graph and replayed.
These CUDA paths are written for, but NOT yet run on, a GPU by cnnzoo; on CPU the same code compiles through
inductor (C++ kernels) and is tested against the eager step. Fallbacks, each slower but correct:
- fp16 (GradScaler): its step reads a found-inf flag on the host, so only the forward is compiled and the
  update runs eagerly with float lrs;
- a ragged batch (the streaming loader's last one, or a training set smaller than a batch) compiles one more
  graph for its shape, once.
Building the ninth compiled TrainStep of a process resets the compile caches (`_make_room_for_a_compiled_fit`).
`compile="none"` is the engine's original eager loop, operation for operation.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from cnnzoo.training.optim import ModelEMA
from cnnzoo.training.tta import like_format

# torch.compile's mode for each config value ("default" is torch's own default mode).
_TORCH_MODES = {"default": None, "reduce-overhead": "reduce-overhead", "max-autotune": "max-autotune"}
_CUDA_GRAPH_MODES = ("reduce-overhead", "max-autotune")


def compute_loss(
    output: torch.Tensor | tuple, targets: torch.Tensor, label_smoothing: float = 0.0, aux_weight: float = 0.3
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of the logits plus `aux_weight` × each auxiliary classifier's (GoogLeNet's are 0.3).

    `targets` are class indices, or (B, classes) weights from mixup/cutmix: the cross-entropy of
    lam·onehot(a) + (1 - lam)·onehot(b) is lam·CE(a) + (1 - lam)·CE(b). A model with auxiliary heads returns (logits, aux1, aux2) in train mode, a tuple or a NamedTuple; missing
    heads may be None. Returns (loss, main logits).
    """
    if isinstance(output, (tuple, list)):
        logits, *aux = output
    else:
        logits, aux = output, []
    loss = F.cross_entropy(logits.float(), targets, label_smoothing=label_smoothing)
    for head in aux:
        if head is not None:
            loss = loss + aux_weight * F.cross_entropy(head.float(), targets, label_smoothing=label_smoothing)
    return loss, logits


def autocast(device: torch.device, precision: str):
    """bf16 autocast, or fp16 autocast (with the GradScaler), or nothing for fp32."""
    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def eval_logits(model: nn.Module, images: torch.Tensor, device: torch.device, precision: str) -> torch.Tensor:
    """The float logits of the main head (auxiliary heads are ignored)."""
    with autocast(device, precision):
        output = model(images)
    return (output[0] if isinstance(output, (tuple, list)) else output).float()


def _compiler(mode: str, backend: str | Callable) -> Callable[[Callable], Callable]:
    """torch.compile with the config's mode and static shapes; a custom backend (tests) takes no mode."""
    options = {"mode": _TORCH_MODES[mode]} if backend == "inductor" else {"backend": backend}
    return lambda fn: torch.compile(fn, dynamic=False, **options)


def _uses_cuda_graphs(mode: str, device: torch.device) -> bool:
    return mode in _CUDA_GRAPH_MODES and device.type == "cuda"


_compiled_fits = 0  # compiled TrainSteps made in this process since the compile caches were last reset


def _make_room_for_a_compiled_fit() -> None:
    """Reset the compile caches only when this fit would overflow them, not before every fit.

    Compiled graphs are cached per code object and guarded on the model's and optimizer's identity, so every
    fit compiles its own, and after torch._dynamo.config.recompile_limit of them (8) torch silently runs the step
    eagerly. Resetting before each fit avoided that but dropped every graph compiled before (other steps', an
    earlier run's); now the caches are emptied only before a fit that could reach the limit: each fit may add
    two entries (a full batch and a ragged last one).
    """
    global _compiled_fits
    if 2 * (_compiled_fits + 1) > torch._dynamo.config.recompile_limit:
        torch.compiler.reset()
        _compiled_fits = 0
    _compiled_fits += 1


def _static(tensor: torch.Tensor) -> torch.Tensor:
    """A tensor the compiled step reads or mutates in place at a fixed address (CUDA graphs keep pointers)."""
    torch._dynamo.mark_static_address(tensor)
    return tensor


# ==================================================================== training
class TrainStep:
    """The whole training step for one fit; call it once per batch.

    Loss and correct-prediction sums accumulate in `loss_sum` (float64) and `correct` (int64) on the device;
    the host reads them only when it asks (`epoch_start` resets them in place).
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        device: torch.device,
        *,
        scaler: torch.amp.GradScaler | None = None,
        ema: ModelEMA | None = None,
        precision: str = "fp32",
        label_smoothing: float = 0.0,
        aux_weight: float = 0.3,
        grad_clip: float | None = None,
        compile: str = "none",
        backend: str | Callable = "inductor",
        accumulate: int = 1,
    ) -> None:
        self.model = model
        self.accumulate = accumulate
        self.optimizer = optimizer
        self.device = torch.device(device)
        self.scaler = scaler if scaler is not None else torch.amp.GradScaler(self.device.type, enabled=False)
        self.ema = ema
        self.precision = precision
        self.label_smoothing = label_smoothing
        self.aux_weight = aux_weight
        self.grad_clip = grad_clip
        self.mode = compile
        self.cuda_graphs = _uses_cuda_graphs(compile, self.device)
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        self.correct = torch.zeros((), dtype=torch.int64, device=self.device)

        compiled = compile != "none"
        # The compiled update needs tensor lrs; the GradScaler's step syncs with the host, so fp16 stays eager.
        self.compiled_update = compiled and not self.scaler.is_enabled()
        self._ema_weight = None
        if self.compiled_update:
            _static(self.loss_sum), _static(self.correct)
            self._prepare_optimizer()
            if ema is not None:
                self._ema_weight = _static(torch.zeros((), device=self.device))
                # The blend mutates the EMA copy in place: as graph inputs at fixed addresses, not "mutated
                # inputs" that make CUDA graphs skip the update (the model's own tensors are parameters already).
                self._ema_pairs = tuple([_static(t) for t in group] for group in ema.pairs(model))
        if compiled:
            _make_room_for_a_compiled_fit()
        compile_fn = _compiler(compile, backend) if compiled else (lambda fn: fn)
        self._forward = compile_fn(self._forward_loss)
        self._update = compile_fn(self._update_graph) if self.compiled_update else self._update_eager

    def _prepare_optimizer(self) -> None:
        """lr as a device tensor in every group (restored from a checkpoint too), momentum buffers present."""
        for group in self.optimizer.param_groups:
            group["lr"] = _static(torch.tensor(float(group["lr"]), dtype=torch.float32, device=self.device))
            if isinstance(self.optimizer, torch.optim.SGD) and group["momentum"] != 0:
                for p in group["params"]:
                    state = self.optimizer.state[p]
                    if state.get("momentum_buffer") is None:
                        state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    # ---------------------------------------------------------------- the step
    def epoch_start(self) -> None:
        """Zero the metric sums in place (the compiled step holds their addresses)."""
        self.loss_sum.zero_()
        self.correct.zero_()

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Train on one batch; returns the batch's mean loss (a device tensor; reading it syncs)."""
        if self.cuda_graphs:
            torch.compiler.cudagraph_mark_step_begin()  # the previous step's graph outputs are dead now
        if self._ema_weight is not None:
            self._ema_weight.fill_(self.ema.next_weight())
        if self.accumulate > 1:
            loss, logits = self._accumulate_gradients(images, targets)
        else:
            loss, logits = self._forward(images, targets)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
        loss = loss.detach()
        self._update(loss, logits.detach(), targets)
        return loss

    def _accumulate_gradients(self, images: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch's gradient from `accumulate` micro-batches (less activation memory, the same optimizer step).

        Each micro-batch's loss is weighted by its share of the batch, so the summed gradient is the batch
        mean's (exactly so without BatchNorm, which sees the smaller batches). Under DDP only the last backward
        all-reduces (`no_sync` on the others). Returns the batch's mean loss and its logits.
        """
        self.optimizer.zero_grad(set_to_none=True)
        parts = list(zip(images.chunk(self.accumulate), targets.chunk(self.accumulate)))
        losses, all_logits = [], []
        for i, (x, y) in enumerate(parts):
            last = i == len(parts) - 1
            with nullcontext() if last or not hasattr(self.model, "no_sync") else self.model.no_sync():
                loss, logits = self._forward(x, y)
                share = y.shape[0] / targets.shape[0]
                self.scaler.scale(loss * share).backward()
            losses.append(loss.detach() * share)
            all_logits.append(logits.detach().clone())  # a replayed CUDA graph reuses its output buffer
        return torch.stack(losses).sum(), torch.cat(all_logits)

    def _forward_loss(self, images: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with autocast(self.device, self.precision):
            output = self.model(images)
            return compute_loss(output, targets, self.label_smoothing, self.aux_weight)

    def _update_eager(self, loss: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> None:
        if self.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.ema is not None:
            self.ema.update(self.model)
        self._accumulate(loss, logits, targets)

    def _update_graph(self, loss: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> None:
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optimizer.step()
        if self.ema is not None:
            self.ema.blend(self._ema_pairs, self._ema_weight)
        self._accumulate(loss, logits, targets)

    def _accumulate(self, loss: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> None:
        self.loss_sum += loss.double() * targets.shape[0]  # on the device: no host sync per step
        labels = targets.argmax(dim=1) if targets.ndim == 2 else targets  # mixed: the dominant label
        self.correct += (logits.argmax(dim=1) == labels).sum()


# ==================================================================== evaluation
class EvalForward:
    """`eval_logits` of one model, compiled for one batch shape: a short batch is padded, its padding dropped.

    The static shape is the largest batch seen (the loader's first batch is a full one), so the last partial
    batch of a split replays the same graph instead of compiling another. Padding rows are zeros; in eval mode
    no layer mixes rows of a batch, so they change nothing in the real rows.
    """

    def __init__(
        self,
        model: nn.Module,
        device: torch.device,
        precision: str = "fp32",
        *,
        compile: str = "default",
        backend: str | Callable = "inductor",
    ) -> None:
        self.model = model
        self.device = torch.device(device)
        self.precision = precision
        self.cuda_graphs = _uses_cuda_graphs(compile, self.device)
        self.batch_size = 0
        self._logits = _compiler(compile, backend)(self._eval_logits)

    def _eval_logits(self, images: torch.Tensor) -> torch.Tensor:
        return eval_logits(self.model, images, self.device, self.precision)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        n = images.shape[0]
        self.batch_size = max(self.batch_size, n)
        if n < self.batch_size:
            pad = images.new_zeros((self.batch_size - n, *images.shape[1:]))
            images = like_format(torch.cat([images, pad]), images)
        if self.cuda_graphs:
            torch.compiler.cudagraph_mark_step_begin()
        return self._logits(images)[:n]
