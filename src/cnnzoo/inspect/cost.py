"""Back-of-the-envelope costs of one convolution and of one inception module, naive or with 1×1 reductions.

The arithmetic the GoogLeNet paper (Szegedy et al. 2015, section 4) and course material use to motivate
1×1 reductions, done exactly. Conventions, the same as `counts.count_macs` and the papers' ops columns:

- weights = k·k·C_in·C_out; biases = C_out; parameters = weights + biases (both are shown).
- multiply-adds = H_out·W_out·weights: one per weight per output position. Bias additions are not
  multiply-adds; they are listed apart (H_out·W_out·C_out) and not in the total.
- the course material's parameter figures (599,040 for a 5×5 conv from 480 to 48 channels; 15,360 + 19,968
  through a 1×1 reduction to 16) count (k·k + 1)·C_in·C_out, as if each input channel of each filter had its
  own bias. PyTorch's Conv2d has one bias per filter (576,048 there). `course_params` gives the course's figure
  so its examples can be checked; `params` is the real count.
- the pool branch is a 3×3 max pool, stride 1, same padding: comparisons, no multiply-adds, no parameters.

Shapes are H×W×C, as the course examples write them (28×28×256).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cnnzoo.errors import CnnzooError


@dataclass(frozen=True)
class ConvCost:
    """One k×k convolution from `in_shape` (H, W, C) to `out_channels` maps."""

    in_shape: tuple[int, int, int]
    kernel: int
    out_channels: int
    stride: int = 1
    padding: int = 0

    @property
    def out_shape(self) -> tuple[int, int, int]:
        h, w, _ = self.in_shape
        return (
            (h + 2 * self.padding - self.kernel) // self.stride + 1,
            (w + 2 * self.padding - self.kernel) // self.stride + 1,
            self.out_channels,
        )

    @property
    def weights(self) -> int:
        return self.kernel * self.kernel * self.in_shape[2] * self.out_channels

    @property
    def biases(self) -> int:
        return self.out_channels

    @property
    def params(self) -> int:
        return self.weights + self.biases

    @property
    def course_params(self) -> int:
        """The course material's count, (k·k + 1)·C_in·C_out: a bias per input channel of each filter."""
        return (self.kernel * self.kernel + 1) * self.in_shape[2] * self.out_channels

    @property
    def macs(self) -> int:
        h, w, _ = self.out_shape
        return h * w * self.weights

    @property
    def bias_adds(self) -> int:
        h, w, c = self.out_shape
        return h * w * c


def conv_cost(
    in_shape: tuple[int, int, int], kernel: int, out_channels: int, stride: int = 1, padding: int | str = "same"
) -> ConvCost:
    """Validated `ConvCost`; padding "same" is k//2 (the output keeps H×W at stride 1; odd k only), "valid" is 0."""
    h, w, c = in_shape
    for label, value in (
        ("input height", h),
        ("input width", w),
        ("input channels", c),
        ("kernel", kernel),
        ("output channels", out_channels),
        ("stride", stride),
    ):
        if value < 1:
            raise CnnzooError(f"{label} must be a positive number, got {value}")
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise CnnzooError(f"padding must be 'same', 'valid' or a number of pixels, got {padding!r}")
        if padding == "same" and kernel % 2 == 0:  # k//2 on each side grows the map by one pixel
            raise CnnzooError(
                f"padding 'same' keeps HxW only with an odd kernel; a {kernel}x{kernel} kernel needs "
                f"{kernel - 1} pixels split unevenly: give a number of pixels, e.g. --padding "
                f"{kernel // 2 - 1} ({h - 1}x{w - 1} out) or {kernel // 2} ({h + 1}x{w + 1} out)"
            )
        padding = kernel // 2 if padding == "same" else 0
    if padding < 0:
        raise CnnzooError(f"padding must be 0 or more, got {padding}")
    cost = ConvCost((h, w, c), kernel, out_channels, stride, padding)
    if min(cost.out_shape[:2]) < 1:
        raise CnnzooError(f"a {kernel}x{kernel} kernel with padding {padding} does not fit a {h}x{w} input")
    return cost


# -- inception modules ----------------------------------------------------------------------------------


POOL = "pool"


@dataclass(frozen=True)
class InceptionLayer:
    """One layer of an inception module: a convolution, or the max pool (cost None)."""

    branch: str  # "1x1", "3x3", "5x5", "pool"
    role: str  # "conv", "reduce" (1×1 before a larger conv), "pool", "proj" (1×1 after the pool)
    cost: ConvCost | None
    out_shape: tuple[int, int, int]

    @property
    def label(self) -> str:
        if self.cost is None:
            return "3x3 max pool, stride 1"
        k, n = self.cost.kernel, self.cost.out_channels
        suffix = {"reduce": f" (reduce for {self.branch})", "proj": " (pool proj)"}.get(self.role, "")
        return f"{k}x{k} conv, {n}{suffix}"


@dataclass(frozen=True)
class InceptionCost:
    """The layers of one module and their sums."""

    in_shape: tuple[int, int, int]
    layers: tuple[InceptionLayer, ...]

    def _sum(self, attr: str) -> int:
        return sum(getattr(layer.cost, attr) for layer in self.layers if layer.cost is not None)

    @property
    def weights(self) -> int:
        return self._sum("weights")

    @property
    def params(self) -> int:
        return self._sum("params")

    @property
    def macs(self) -> int:
        return self._sum("macs")

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """Branch outputs concatenated along channels: the last layer of each branch."""
        last: dict[str, tuple[int, int, int]] = {}
        for layer in self.layers:
            last[layer.branch] = layer.out_shape
        h, w, _ = self.in_shape
        return h, w, sum(shape[2] for shape in last.values())


def _kernel_of(branch: str) -> int:
    m = re.fullmatch(r"(\d+)x(\d+)", branch)
    if not m or m.group(1) != m.group(2) or int(m.group(1)) % 2 == 0:
        raise CnnzooError(f"a branch is an odd square kernel like 1x1, 3x3, 5x5, or 'pool'; got {branch!r}")
    return int(m.group(1))


def inception_cost(
    in_shape: tuple[int, int, int], branches: dict[str, int | None], reduce: dict[str, int] | None = None
) -> InceptionCost:
    """An inception module: each branch ("1x1": 128, "3x3": 192, "pool": None) on the same input, same padding.

    `reduce` puts a 1×1 convolution to that many channels before a k×k branch ("3x3": 96), or after the
    pool ("pool": 32, the pool projection). Without `reduce` this is the naive module of the paper's fig. 2(a).
    """
    reduce = dict(reduce or {})
    h, w, c = in_shape
    for label, value in (("input height", h), ("input width", w), ("input channels", c)):
        if value < 1:
            raise CnnzooError(f"{label} must be a positive number, got {value}")
    if not branches:
        raise CnnzooError("an inception module needs at least one branch, e.g. 1x1:128,3x3:192,5x5:96,pool")
    unknown = sorted(set(reduce) - set(branches))
    if unknown:
        raise CnnzooError(f"reductions {', '.join(unknown)} name no branch; branches are {', '.join(branches)}")
    layers: list[InceptionLayer] = []
    for branch, width in branches.items():
        if branch == POOL:
            if width is not None:
                raise CnnzooError("the pool branch has no width of its own; give its projection as --reduce pool:N")
            layers.append(InceptionLayer(POOL, "pool", None, (h, w, c)))
            if POOL in reduce:
                proj = conv_cost((h, w, c), 1, reduce[POOL])
                layers.append(InceptionLayer(POOL, "proj", proj, proj.out_shape))
            continue
        kernel = _kernel_of(branch)
        if width is None:
            raise CnnzooError(f"branch {branch} needs a number of filters, e.g. {branch}:64")
        channels = c
        if branch in reduce:
            if kernel == 1:
                raise CnnzooError("a 1x1 branch has nothing to reduce; give reductions for 3x3, 5x5 or pool")
            red = conv_cost((h, w, channels), 1, reduce[branch])
            layers.append(InceptionLayer(branch, "reduce", red, red.out_shape))
            channels = reduce[branch]
        conv = conv_cost((h, w, channels), kernel, width, padding="same")
        layers.append(InceptionLayer(branch, "conv", conv, conv.out_shape))
    return InceptionCost((h, w, c), tuple(layers))


# -- parsing the command line's compact notation -----------------------------------------------------------


def parse_shape(text: str, names: str = "HxWxC") -> tuple[int, ...]:
    """'28x28x256' → (28, 28, 256); the error names the expected layout (`names`, e.g. 'CxHxW')."""
    parts = text.lower().replace("×", "x").split("x")
    expected = len(names.split("x"))
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != expected:
        raise CnnzooError(f"malformed shape {text!r}: expected {expected} numbers as {names}, e.g. {_example(names)}")
    if min(values) < 1:
        raise CnnzooError(f"shape {text!r} has a size below 1; every size in {names} must be positive")
    return values


def _example(names: str) -> str:
    return {"HxWxC": "28x28x256", "CxHxW": "3x32x32"}.get(names, "x".join("8" for _ in names.split("x")))


def parse_branches(text: str) -> dict[str, int | None]:
    """'1x1:128,3x3:192,5x5:96,pool' → {'1x1': 128, '3x3': 192, '5x5': 96, 'pool': None}."""
    out: dict[str, int | None] = {}
    for item in _items(text, "--branches", "1x1:128,3x3:192,5x5:96,pool"):
        name, _, width = item.partition(":")
        if name in out:
            raise CnnzooError(f"branch {name} given twice in {text!r}")
        if name == POOL and not width:
            out[name] = None
            continue
        if name != POOL:
            _kernel_of(name)
        out[name] = _count(width, item, "--branches")
    return out


def parse_reductions(text: str) -> dict[str, int]:
    """'3x3:96,5x5:16,pool:32' → {'3x3': 96, '5x5': 16, 'pool': 32}."""
    out: dict[str, int] = {}
    for item in _items(text, "--reduce", "3x3:96,5x5:16,pool:32"):
        name, _, width = item.partition(":")
        if name != POOL:
            _kernel_of(name)
        if name in out:
            raise CnnzooError(f"reduction for {name} given twice in {text!r}")
        out[name] = _count(width, item, "--reduce")
    return out


def _items(text: str, flag: str, example: str) -> list[str]:
    items = [item.strip().lower() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise CnnzooError(f"malformed {flag} {text!r}: expected comma-separated NAME:FILTERS, e.g. {example}")
    return items


def _count(text: str, item: str, flag: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise CnnzooError(f"malformed {flag} item {item!r}: the number of filters after ':' must be a positive integer")
    return int(text)
