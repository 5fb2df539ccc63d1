"""Network in Network: the block tables, the CIFAR-10 count, both layouts' shapes, options at their minimum size."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from cnnzoo.errors import CnnzooError
from cnnzoo.inspect.counts import count_params
from cnnzoo.models import create_model, get_model_config
from cnnzoo.models.nin import NIN_LAYOUTS


def test_cifar10_nin_has_1_589_926_parameters():
    model = create_model("nin")
    assert model.default_cfg.num_classes == 10 and model.default_cfg.input_size == (3, 32, 32)
    assert count_params(model) == 1_589_926


@pytest.mark.parametrize("layout", ["cifar", "imagenet"])
def test_blocks_follow_the_table(layout):
    model = create_model("nin", layout=layout, num_classes=7)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 3 * len(NIN_LAYOUTS[layout].blocks)
    for row, (kxk, mlp1, mlp2) in zip(NIN_LAYOUTS[layout].blocks, zip(*[iter(convs)] * 3)):
        out = 7 if row.out_channels is None else row.out_channels
        assert (kxk.out_channels, kxk.kernel_size[0], kxk.stride[0], kxk.padding[0]) == (
            out,
            row.kernel,
            row.stride,
            row.padding,
        )
        assert mlp1.kernel_size == mlp2.kernel_size == (1, 1) and mlp1.out_channels == mlp2.out_channels == out
    # no fully connected layer: global average pooling of the last block's per-class maps gives the logits
    assert not any(isinstance(m, nn.Linear) for m in model.modules())
    # dropout 0.5 right before the last block
    assert isinstance(model.features[-2], nn.Dropout) and model.features[-2].p == 0.5


@pytest.mark.parametrize(
    "layout, side, maps",
    [("cifar", 32, [32, 16, 8, 4]), ("cifar", 28, [28, 14, 7, 3]), ("imagenet", 224, [54, 26, 12, 5])],
)
def test_spatial_sizes_of_the_four_blocks(layout, side, maps):
    model = create_model("nin", layout=layout).to("meta")  # shapes only, no arithmetic
    seen = []
    for block in model.features:
        if isinstance(block, nn.Sequential):
            block.register_forward_hook(lambda m, i, o: seen.append(o.shape[-1]))
    out = model(torch.empty(1, 3, side, side, device="meta"))
    assert seen == maps and out.shape == (1, model.default_cfg.num_classes)


CASES = [
    {},
    {"layout": "imagenet"},
    {"batch_norm": True, "in_chans": 1, "num_classes": 7},
    {"layout": "imagenet", "in_chans": 1, "num_classes": 7},
]


@pytest.mark.parametrize("options", CASES, ids=["-".join(f"{k}={v}" for k, v in o.items()) or "default" for o in CASES])
def test_trains_at_its_min_input_size_and_not_below(trains_at_min_size, options):
    trains_at_min_size("nin", options)


def test_default_configs_follow_the_layout():
    assert get_model_config("nin").input_size == (3, 32, 32)
    assert get_model_config("nin", layout="imagenet").input_size == (3, 224, 224)


def test_invalid_layout_names_the_valid_choices():
    with pytest.raises(CnnzooError, match="invalid layout 'foo'; valid choices: 'cifar', 'imagenet'"):
        create_model("nin", layout="foo")


def test_small_input_picks_the_layout_like_every_family():
    from cnnzoo.errors import CnnzooError

    assert create_model("nin", small_input=True).default_cfg.input_size == (3, 32, 32)
    big = create_model("nin", small_input=False)
    assert big.default_cfg.input_size == (3, 224, 224)
    assert big.features[0][0].conv.kernel_size == (11, 11)
    with pytest.raises(CnnzooError, match="contradicts"):
        create_model("nin", layout="imagenet", small_input=True)


def test_square_1x1_convolutions_start_near_the_identity_unless_he_is_asked():
    torch.manual_seed(0)
    model = create_model("nin")
    squares = [
        m
        for m in model.modules()
        if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) and m.in_channels == m.out_channels
    ]
    assert len(squares) == 8  # two per mlpconv block, four blocks
    for conv in squares:
        weight = conv.weight[:, :, 0, 0]
        off = weight - torch.eye(conv.out_channels)
        he_std = (2 / conv.out_channels) ** 0.5  # fan_out of a 1x1 convolution
        assert off.std().item() == pytest.approx(0.1 * he_std, rel=0.3)  # a tenth of He's noise around the identity
    torch.manual_seed(0)
    he = create_model("nin", init="he")
    first = next(m for m in he.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1))
    assert first.weight[:, :, 0, 0].diagonal().mean().abs() < 0.1  # no identity: plain He-normal
