"""The cost calculators reproduce the course examples and agree with real nn.Conv2d modules."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import cnnzoo
from cnnzoo.errors import CnnzooError
from cnnzoo.inspect.cost import conv_cost, inception_cost, parse_branches, parse_reductions, parse_shape
from cnnzoo.inspect.counts import count_macs, count_params


class _Branches(nn.Module):
    """Parallel branches concatenated along channels: an inception module made of plain nn.Conv2d layers."""

    def __init__(self, *branches: nn.Module) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([b(x) for b in self.branches], 1)


def test_naive_inception_module_of_the_course_example_costs_854m():
    # 28×28×256 input; 128 1×1, 192 3×3, 96 5×5 filters and a 3×3 max pool, same padding
    naive = inception_cost((28, 28, 256), parse_branches("1x1:128,3x3:192,5x5:96,pool"))
    assert naive.macs == 28 * 28 * (128 * 256 + 192 * 9 * 256 + 96 * 25 * 256) == 854_196_224
    assert round(naive.macs / 1e6) == 854
    assert naive.out_shape == (28, 28, 128 + 192 + 96 + 256)
    module = _Branches(
        nn.Conv2d(256, 128, 1),
        nn.Conv2d(256, 192, 3, padding=1),
        nn.Conv2d(256, 96, 5, padding=2),
        nn.MaxPool2d(3, 1, padding=1),
    )
    assert naive.macs == count_macs(module, (256, 28, 28))  # PyTorch's FLOP counter / 2: weights only
    assert naive.params == count_params(module)  # with biases
    assert naive.weights == count_params(module) - (128 + 192 + 96)


def test_1x1_bottleneck_example_on_a_480_channel_14x14_input():
    direct = conv_cost((14, 14, 480), 5, 48)
    assert direct.weights == 5 * 5 * 480 * 48 == 576_000
    assert direct.weights == count_params(nn.Conv2d(480, 48, 5, bias=False))
    assert direct.params == count_params(nn.Conv2d(480, 48, 5)) == 576_048
    reduce, conv = conv_cost((14, 14, 480), 1, 16), conv_cost((14, 14, 16), 5, 48)
    assert (reduce.weights, conv.weights) == (7_680, 19_200)
    assert reduce.weights == count_params(nn.Conv2d(480, 16, 1, bias=False))
    assert conv.weights == count_params(nn.Conv2d(16, 48, 5, bias=False))
    assert direct.macs == 112_896_000 and reduce.macs + conv.macs == 5_268_480
    assert direct.macs == count_macs(nn.Conv2d(480, 48, 5, padding=2), (480, 14, 14))


@pytest.mark.parametrize(
    "size, channels, kernel, out, stride, padding",
    [(28, 256, 3, 192, 1, 1), (224, 3, 7, 64, 2, 3), (13, 16, 5, 8, 2, 0), (32, 3, 1, 4, 3, 0), (9, 2, 3, 5, 1, 2)],
)
def test_conv_cost_matches_nn_conv2d(size, channels, kernel, out, stride, padding):
    cost = conv_cost((size, size, channels), kernel, out, stride, padding)
    conv = nn.Conv2d(channels, out, kernel, stride, padding)
    y = conv(torch.zeros(1, channels, size, size))
    assert cost.out_shape == (y.shape[2], y.shape[3], y.shape[1])
    assert cost.params == count_params(conv)
    assert cost.macs == count_macs(conv, (channels, size, size))
    assert cost.bias_adds == y.numel()


def test_inception_3a_with_reductions_equals_the_googlenet_module():
    reduced = inception_cost(
        (28, 28, 192), parse_branches("1x1:64,3x3:128,5x5:32,pool"), parse_reductions("3x3:96,5x5:16,pool:32")
    )
    with torch.device("meta"):
        model = cnnzoo.create_model("googlenet")  # layout="paper": convolutions with bias, no BatchNorm
    module = model.inception3a
    assert reduced.params == count_params(module) == 163_696
    assert reduced.macs == count_macs(module, (192, 28, 28)) == 128_049_152
    assert reduced.out_shape == (28, 28, 256)
    assert [layer.label for layer in reduced.layers] == [
        "1x1 conv, 64",
        "1x1 conv, 96 (reduce for 3x3)",
        "3x3 conv, 128",
        "1x1 conv, 16 (reduce for 5x5)",
        "5x5 conv, 32",
        "3x3 max pool, stride 1",
        "1x1 conv, 32 (pool proj)",
    ]


def test_padding_words():
    assert conv_cost((28, 28, 3), 5, 8, padding="same").out_shape == (28, 28, 8)
    assert conv_cost((28, 28, 3), 5, 8, padding="valid").out_shape == (24, 24, 8)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: parse_shape("28x28"), "malformed shape '28x28': expected 3 numbers as HxWxC"),
        (lambda: parse_shape("3x32", "CxHxW"), "expected 3 numbers as CxHxW"),
        (lambda: parse_shape("28x-2x3"), "size below 1"),
        (lambda: parse_shape("axbxc"), "malformed shape"),
        (lambda: parse_branches("1x1:128,,pool"), "malformed --branches"),
        (lambda: parse_branches("2x2:8"), "odd square kernel"),
        (lambda: parse_branches("3x3:-4"), "positive integer"),
        (lambda: parse_branches("3x3"), "positive integer"),
        (lambda: parse_reductions("3x3:0"), "positive integer"),
        (lambda: inception_cost((28, 28, 8), {"1x1": 4}, {"1x1": 2}), "nothing to reduce"),
        (lambda: inception_cost((28, 28, 8), {"3x3": 4}, {"5x5": 2}), "name no branch"),
        (lambda: inception_cost((28, 28, 8), {"pool": 4}), "no width of its own"),
        (lambda: conv_cost((4, 4, 3), 7, 8, padding=0), "does not fit"),
        (lambda: conv_cost((4, 4, 3), 3, -8), "output channels must be a positive"),
        (lambda: conv_cost((4, 4, 3), 3, 8, stride=0), "stride must be a positive"),
        (lambda: conv_cost((4, 4, 3), 3, 8, padding="full"), "padding must be"),
        (
            lambda: conv_cost((8, 8, 3), 4, 8),
            r"padding 'same' keeps HxW only with an odd kernel; a 4x4 kernel .* "
            r"--padding 1 \(7x7 out\) or 2 \(9x9 out\)",
        ),
    ],
)
def test_bad_input_is_a_one_line_error(call, message):
    with pytest.raises(CnnzooError, match=message) as err:
        call()
    assert "\n" not in str(err.value)


def test_course_convention_reproduces_the_course_bottleneck_figures():
    """The course counts (k·k+1)·C_in·C_out; its 599,040 and 15,360 + 19,968 come out, next to the real counts."""
    direct = conv_cost((14, 14, 480), 5, 48)
    reduce, conv = conv_cost((14, 14, 480), 1, 16), conv_cost((14, 14, 16), 5, 48)
    assert direct.course_params == 599_040
    assert (reduce.course_params, conv.course_params) == (15_360, 19_968)
    assert direct.course_params != direct.params  # the real count differs, and the CLI shows both
