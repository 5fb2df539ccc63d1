"""The ResNet family against torchvision and the papers' figures and tables (He et al. 2016, 2016b)."""

from __future__ import annotations

import functools
import re

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from cnnzoo.errors import CnnzooError
from cnnzoo.inspect.counts import count_macs, count_params
from cnnzoo.models import create_model, get_model_config, list_models, model_options
from cnnzoo.models.resnet import RESIDUAL_UNITS, BasicBlock, Bottleneck, PadShortcut, ResidualUnit, unit_class

IMAGENET_DEPTHS = (18, 34, 50, 101, 152)
RESNET_MODELS = [name for name in list_models() if get_model_config(name).family == "resnet"]
BIG = {"resnet101", "resnet152", "resnet1202", "preact_resnet1001"}  # over ~5 s on a busy 2-core CPU


def _meta(name: str, **options) -> nn.Module:
    """A model on the meta device (shapes only, no memory), shared between tests: do not modify it."""
    return _cached_meta(name, tuple(sorted(options.items())))


@functools.cache
def _cached_meta(name: str, options: tuple) -> nn.Module:
    with torch.device("meta"):
        return create_model(name, **dict(options))


def _randomize_bn(model: nn.Module, weight: tuple[float, float] = (0.5, 1.5)) -> None:
    """Non-trivial BN affine parameters and running statistics, so eval-mode BN is not the identity."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(*weight)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)


# --- torchvision: parameters, names, outputs ------------------------------------------------------------------


@pytest.mark.parametrize("depth", IMAGENET_DEPTHS)
def test_param_counts_equal_torchvision(depth):
    with torch.device("meta"):
        reference = getattr(torchvision.models, f"resnet{depth}")(weights=None)
    assert count_params(_meta(f"resnet{depth}")) == count_params(reference)


@pytest.mark.parametrize("depth", [pytest.param(d, marks=pytest.mark.slow) if d > 50 else d for d in IMAGENET_DEPTHS])
def test_torchvision_weights_load_strictly_and_give_the_same_logits(depth):
    reference = getattr(torchvision.models, f"resnet{depth}")(weights=None)
    # Small BN scales keep 50 stacked residual branches from growing the logits to 1e7, where 1e-4 means little.
    _randomize_bn(reference, weight=(0.1, 0.3))
    with torch.device("meta"):
        model = create_model(f"resnet{depth}")
    model.load_state_dict(reference.state_dict(), strict=True, assign=True)  # assign: meta tensors take the weights
    reference.eval(), model.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected, got = reference(x), model(x)
    assert got.shape == (2, 1000)
    assert expected.std() > 1e-2  # a real comparison, not of two constants
    assert (got - expected).abs().max() <= 1e-4


# --- the papers' figures ----------------------------------------------------------------------------------------

# He et al. 2016, Table 1, "FLOPs" (multiply-adds) x 10^9, with the paper's stride on the first 1x1 conv.
# Measured: 1.814, 3.664, 3.858, 7.570, 11.282. The paper's printing is neither rounding nor truncation
# throughout (3.664 -> 3.6 and 3.858 -> 3.8 are truncated, 7.570 -> 7.6 and 11.282 -> 11.3 are rounded), so the
# claim is "within 0.07 of the printed figure"; the largest gap, 0.064, is ResNet-34's.
TABLE1_GMACS = {18: 1.8, 34: 3.6, 50: 3.8, 101: 7.6, 152: 11.3}


@pytest.mark.parametrize("depth", IMAGENET_DEPTHS)
def test_macs_match_the_papers_table1_with_the_papers_stride(depth):
    macs = count_macs(_meta(f"resnet{depth}", stride_in_1x1=True), (3, 224, 224))
    assert abs(macs / 1e9 - TABLE1_GMACS[depth]) < 0.07


def test_resnet50_v15_macs_are_torchvisions_4_09_billion():
    assert round(count_macs(_meta("resnet50"), (3, 224, 224)) / 1e9, 2) == 4.09
    assert round(count_macs(_meta("resnet50", stride_in_1x1=True), (3, 224, 224)) / 1e9, 2) == 3.86


# He et al. 2016, Table 6 (CIFAR-10, 10 classes), printed with 2 decimals below 1M and 1 decimal above.
CIFAR_PARAMS = {20: (0.27, 2), 32: (0.46, 2), 44: (0.66, 2), 56: (0.85, 2), 110: (1.7, 1), 1202: (19.4, 1)}


@pytest.mark.parametrize("depth", CIFAR_PARAMS)
def test_cifar_resnets_have_the_papers_parameter_counts(depth):
    params = count_params(_meta(f"resnet{depth}"))
    paper, decimals = CIFAR_PARAMS[depth]
    assert round(params / 1e6, decimals) == paper
    if depth != 1202:  # option A shortcuts have no parameters: the plain net has exactly as many
        assert count_params(_meta(f"plain{depth}")) == params


def test_preact_cifar_resnets_have_the_papers_parameter_counts():
    # He et al. 2016b: 1.7M for ResNet-110 and ResNet-164, 10.2M for ResNet-1001.
    assert round(count_params(_meta("preact_resnet110")) / 1e6, 1) == 1.7
    assert round(count_params(_meta("preact_resnet164")) / 1e6, 1) == 1.7
    # ResNet-1001 has 10,327,706 parameters in all; its weight layers (convs and classifier), the count the
    # paper's 10.2M matches, have 10,178,490.
    model = _meta("preact_resnet1001")
    weight_layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    weights = sum(p.numel() for m in weight_layers for p in m.parameters())
    assert round(weights / 1e6, 1) == 10.2
    assert round(count_params(model) / 1e6, 1) == 10.3


@pytest.mark.parametrize("name", [n for n in RESNET_MODELS if not n.startswith("course_")])  # see test_course_models
def test_depth_in_the_name_counts_the_weight_layers(name):
    """ResNet-50 has 50 weight layers on its main path: the stem, every conv of every unit, the classifier."""
    model = _meta(name)
    convs = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d) and "downsample" not in n]
    assert len(convs) + 1 == int(re.search(r"\d+$", name).group())


# --- structure: names, stems, shortcuts ---------------------------------------------------------------------


def test_module_names_are_torchvisions():
    imagenet, cifar = _meta("resnet50"), _meta("resnet20")
    stem, head = ["conv1", "bn1", "relu"], ["avgpool", "fc"]
    stages = ["layer1", "layer2", "layer3", "layer4"]
    assert [n for n, _ in imagenet.named_children()] == stem + ["maxpool"] + stages + head
    assert [n for n, _ in cifar.named_children()] == stem + ["layer1", "layer2", "layer3"] + head
    for model in (imagenet, cifar):
        for i in range(1, model.num_stages + 1):
            stage = getattr(model, f"layer{i}")
            assert type(stage) is nn.Sequential and all(isinstance(unit, ResidualUnit) for unit in stage)
    unit = [n for n, _ in imagenet.layer2[0].named_children()]
    assert unit == ["conv1", "bn1", "relu", "conv2", "bn2", "conv3", "bn3", "downsample"]


def test_small_input_stem_and_config():
    model = create_model("resnet18", small_input=True, num_classes=10)
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1) and model.maxpool is None
    cfg = model.default_cfg
    assert cfg.input_size == (3, 32, 32) and cfg.mean == get_model_config("resnet20").mean
    assert cfg.mean != get_model_config("resnet18").mean
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert get_model_config("resnet18").input_size == (3, 224, 224)
    options = {"residual_unit", "shortcut", "small_input", "stride_in_1x1", "zero_init_residual"}
    assert options <= set(model_options("resnet18"))


def test_option_a_shortcut_subsamples_and_zero_pads():
    model = create_model("resnet20").eval()
    shortcut = model.layer2[0].downsample
    assert isinstance(shortcut, PadShortcut) and not list(shortcut.parameters())
    x = torch.randn(2, 16, 8, 8)
    y = shortcut(x)
    assert y.shape == (2, 32, 4, 4)
    assert torch.equal(y[:, :16], x[:, :, ::2, ::2]) and not y[:, 16:].any()


def test_shortcut_pad_both_puts_the_identity_in_the_middle_channels():
    """akamaster/pytorch_resnet_cifar10 pads planes // 4 zero channels on each side: 8..23 of 32, 16..47 of 64."""
    model = create_model("resnet20", shortcut_pad="both").eval()
    for stage, in_channels, middle in [(model.layer2, 16, slice(8, 24)), (model.layer3, 32, slice(16, 48))]:
        x = torch.randn(2, in_channels, 8, 8)
        y = stage[0].downsample(x)
        assert y.shape == (2, 2 * in_channels, 4, 4)
        assert torch.equal(y[:, middle], x[:, :, ::2, ::2])
        assert not y[:, : middle.start].any() and not y[:, middle.stop :].any()


def _akamaster_resnet20(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """ResNet-20 as akamaster/pytorch_resnet_cifar10's forward computes it (eval mode), with the model's weights."""

    def bn(t: torch.Tensor, m: nn.BatchNorm2d) -> torch.Tensor:
        return F.batch_norm(t, m.running_mean, m.running_var, m.weight, m.bias, False, 0.0, m.eps)

    out = F.relu(bn(F.conv2d(x, model.conv1.weight, padding=1), model.bn1))
    in_planes = 16
    for stage, planes in [(model.layer1, 16), (model.layer2, 32), (model.layer3, 64)]:
        for i, unit in enumerate(stage):
            stride = 2 if i == 0 and planes != 16 else 1
            y = F.relu(bn(F.conv2d(out, unit.conv1.weight, stride=stride, padding=1), unit.bn1))
            y = bn(F.conv2d(y, unit.conv2.weight, padding=1), unit.bn2)
            shortcut = out
            if stride != 1 or in_planes != planes:  # option A: "LambdaLayer" padding planes // 4 on both sides
                shortcut = F.pad(out[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))
            out = F.relu(y + shortcut)
            in_planes = planes
    out = F.avg_pool2d(out, out.size()[3]).flatten(1)
    return F.linear(out, model.fc.weight, model.fc.bias)


def test_shortcut_pad_both_computes_akamasters_resnet20():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    both = create_model("resnet20", shortcut_pad="both").eval()
    _randomize_bn(both)
    after = create_model("resnet20").eval()
    after.load_state_dict(both.state_dict())  # the same weights: only where the zeros go differs
    with torch.no_grad():
        expected = _akamaster_resnet20(both, x)
        assert torch.allclose(both(x), expected, atol=1e-5)
        assert not torch.allclose(after(x), expected, atol=1e-3)


@pytest.mark.parametrize("options", [{"shortcut": "B"}, {"shortcut": "none"}])
def test_shortcut_pad_needs_option_a(options):
    with pytest.raises(
        CnnzooError, match=r"shortcut_pad='both' places option A's zero channels; it needs shortcut='A'"
    ):
        create_model("resnet20", shortcut_pad="both", **options)
    with pytest.raises(CnnzooError, match="needs shortcut='A', got 'B'"):
        create_model("resnet18", shortcut_pad="both")


@pytest.mark.parametrize("shortcut, projections", [("A", 0), ("B", 2), ("C", 27), ("none", 0)])
def test_shortcut_option_picks_the_shortcut(shortcut, projections):
    model = _meta("resnet56", shortcut=shortcut)
    units = [m for m in model.modules() if isinstance(m, ResidualUnit)]
    assert sum(isinstance(u.downsample, nn.Sequential) for u in units) == projections
    assert all(u.residual == (shortcut != "none") for u in units)


def test_plain_nets_have_no_shortcut():
    # With every branch zeroed at init, a residual net still carries the stem's features through its identity
    # shortcuts; a plain net has nothing left: its features are exactly zero and the logits are the fc bias.
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        plain = create_model("plain20", zero_init_residual=True).eval()
        residual = create_model("resnet20", zero_init_residual=True).eval()
        assert not plain.forward_features(x).any()
        assert residual.forward_features(x).abs().sum() > 0
    units = [m for m in plain.modules() if isinstance(m, ResidualUnit)]
    assert len(units) == 9 and all(u.downsample is None and not u.residual for u in units)


# --- residual units: He et al. 2016b, fig. 4, op for op -----------------------------------------------------
# Written out independently from the figure. `u` is the unit, x its input; the shortcut is the identity here.
relu = F.relu
FIG4_BASIC = {
    "original": lambda u, x: relu(x + u.bn2(u.conv2(relu(u.bn1(u.conv1(x)))))),  # (a)
    "bn_after_add": lambda u, x: relu(u.bn2(x + u.conv2(relu(u.bn1(u.conv1(x)))))),  # (b)
    "relu_before_add": lambda u, x: x + relu(u.bn2(u.conv2(relu(u.bn1(u.conv1(x)))))),  # (c)
    "relu_only_preact": lambda u, x: x + u.bn2(u.conv2(relu(u.bn1(u.conv1(relu(x)))))),  # (d)
    "preact": lambda u, x: x + u.conv2(relu(u.bn2(u.conv1(relu(u.bn1(x)))))),  # (e)
}
FIG4_BOTTLENECK = {
    "original": lambda u, x: relu(x + u.bn3(u.conv3(relu(u.bn2(u.conv2(relu(u.bn1(u.conv1(x))))))))),
    "bn_after_add": lambda u, x: relu(u.bn3(x + u.conv3(relu(u.bn2(u.conv2(relu(u.bn1(u.conv1(x))))))))),
    "relu_before_add": lambda u, x: x + relu(u.bn3(u.conv3(relu(u.bn2(u.conv2(relu(u.bn1(u.conv1(x))))))))),
    "relu_only_preact": lambda u, x: x + u.bn3(u.conv3(relu(u.bn2(u.conv2(relu(u.bn1(u.conv1(relu(x))))))))),
    "preact": lambda u, x: x + u.conv3(relu(u.bn3(u.conv2(relu(u.bn2(u.conv1(relu(u.bn1(x))))))))),
}


def _eval_unit(unit: ResidualUnit) -> ResidualUnit:
    _randomize_bn(unit)
    return unit.eval()


@pytest.mark.parametrize("residual_unit", RESIDUAL_UNITS)
@pytest.mark.parametrize("block, channels, fig4", [(BasicBlock, 8, FIG4_BASIC), (Bottleneck, 16, FIG4_BOTTLENECK)])
def test_residual_unit_computes_fig4(residual_unit, block, channels, fig4):
    unit = _eval_unit(
        unit_class(block, residual_unit)(channels, channels // block.expansion, residual_unit=residual_unit)
    )
    x = torch.randn(2, channels, 6, 6)
    x_before = x.clone()
    with torch.no_grad():
        got, expected = unit(x), fig4[residual_unit](unit, x)
    assert torch.equal(x, x_before)  # no in-place op touched the input the shortcut needs
    assert torch.allclose(got, expected, atol=1e-5)
    assert not torch.allclose(got, x, atol=1e-3)  # the branch does contribute


@pytest.mark.parametrize("residual_unit", ["original", "preact"])
def test_projection_shortcut_sees_what_the_branch_sees(residual_unit):
    # (a): the projection takes the unit's input; (e): the pre-activated input, as the paper's bottleneck nets do.
    unit = _eval_unit(unit_class(BasicBlock, residual_unit)(8, 16, stride=2, residual_unit=residual_unit, shortcut="B"))
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        if residual_unit == "original":
            projected = unit.downsample[1](unit.downsample[0](x))
            expected = relu(unit.bn2(unit.conv2(relu(unit.bn1(unit.conv1(x))))) + projected)
        else:
            p = relu(unit.bn1(x))
            expected = unit.conv2(relu(unit.bn2(unit.conv1(p)))) + unit.downsample[0](p)
            assert len(unit.downsample) == 1  # a bare conv, added to a branch that ends in a bare conv
        assert torch.allclose(unit(x), expected, atol=1e-5)


def _call_order(model: nn.Module, x: torch.Tensor) -> list[str]:
    calls: list[str] = []
    for name, m in model.named_modules():
        if not list(m.children()):
            m.register_forward_hook(lambda mod, inp, out, name=name: calls.append(name))
    with torch.no_grad():
        model.eval()(x)
    return calls


def test_preact_net_activates_after_conv1_and_after_the_last_unit():
    # He et al. 2016b, appendix: the first unit's activation is right after conv1, before the split; the last
    # unit is followed by an extra BN-ReLU. The original layout has neither.
    calls = _call_order(create_model("preact_resnet110"), torch.randn(1, 3, 8, 8))
    assert calls[:5] == ["conv1", "bn1", "relu", "layer1.0.conv1", "layer1.0.bn2"]
    assert "layer1.0.bn1" not in calls and calls.index("layer1.1.bn1") < calls.index("layer1.1.conv1")
    assert calls[-6:] == ["layer3.17.relu", "layer3.17.conv2", "final_bn", "relu", "avgpool", "fc"]
    original = _call_order(create_model("resnet110"), torch.randn(1, 3, 8, 8))
    assert original[-4:] == ["layer3.17.bn2", "layer3.17.relu", "avgpool", "fc"]
    relu_only = _call_order(create_model("resnet20", residual_unit="relu_only_preact"), torch.randn(1, 3, 8, 8))
    assert relu_only[-4:] == ["layer3.2.bn2", "relu", "avgpool", "fc"]


@pytest.mark.parametrize("residual_unit", RESIDUAL_UNITS)
@pytest.mark.parametrize("name", ["resnet20", "preact_resnet164"])
def test_every_layout_trains_with_basic_and_bottleneck_units(name, residual_unit):
    model = create_model(name, residual_unit=residual_unit, shortcut="B")
    model(torch.randn(2, 3, 8, 8)).square().mean().backward()  # fails if an in-place op broke autograd
    assert all(p.grad is not None for p in model.parameters())


# --- options --------------------------------------------------------------------------------------------------


def test_stride_in_1x1_moves_the_stride():
    for stride_in_1x1, (s1, s3) in [(False, (1, 2)), (True, (2, 1))]:
        model = _meta("resnet50", stride_in_1x1=stride_in_1x1)
        for stage in (model.layer2, model.layer3, model.layer4):
            assert (stage[0].conv1.stride, stage[0].conv2.stride, stage[0].conv3.stride) == ((s1, s1), (s3, s3), (1, 1))
            assert stage[0].downsample[0].stride == (2, 2)
    basic = _meta("resnet18", stride_in_1x1=True).layer2[0]  # a basic block strides its first 3x3 either way
    assert basic.conv1.stride == (2, 2) and basic.conv2.stride == (1, 1)


def test_zero_init_residual_zeroes_the_last_bn_of_each_branch():
    model = create_model("resnet50", zero_init_residual=True)
    units = [m for m in model.modules() if isinstance(m, Bottleneck)]
    assert len(units) == 16 and all(not u.bn3.weight.any() for u in units)
    assert all(u.bn1.weight.eq(1).all() and u.bn2.weight.eq(1).all() for u in units)  # only the last BN
    assert all(u.downsample[1].weight.eq(1).all() for u in units if u.downsample is not None)
    assert create_model("resnet50").layer1[0].bn3.weight.eq(1).all()
    assert not create_model("resnet18", zero_init_residual=True).layer3[1].bn2.weight.any()


# What each unit of fig. 4 computes when its branch is zero: only the after-addition ops remain.
ZEROED_BRANCH = {
    "original": lambda u, x: relu(x),
    "bn_after_add": lambda u, x: relu(u.bn2(x)),
    "relu_before_add": lambda u, x: x,
    "relu_only_preact": lambda u, x: x,
    "preact": lambda u, x: x,
}


@pytest.mark.parametrize("residual_unit", RESIDUAL_UNITS)
def test_zero_init_residual_starts_every_layout_at_its_shortcut(residual_unit):
    model = create_model("resnet20", residual_unit=residual_unit, zero_init_residual=True).eval()
    unit = model.layer2[1]
    x = torch.randn(2, 32, 4, 4)
    with torch.no_grad():
        assert torch.allclose(unit(x), ZEROED_BRANCH[residual_unit](unit, x), atol=1e-6)


@pytest.mark.parametrize(
    "option, value, valid",
    [
        ("residual_unit", "z", "'original', 'bn_after_add', 'relu_before_add', 'relu_only_preact', 'preact'"),
        ("shortcut", "D", "'A', 'B', 'C', 'none'"),
        ("shortcut_pad", "middle", "'after', 'both'"),
    ],
)
def test_invalid_option_value_names_the_valid_choices(option, value, valid):
    with pytest.raises(CnnzooError, match=re.escape(f"invalid {option} {value!r}; valid choices: {valid}")):
        create_model("resnet18", **{option: value})


# --- every registered ResNet trains -------------------------------------------------------------------------


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in BIG else n for n in RESNET_MODELS])
@pytest.mark.parametrize("in_chans, num_classes", [(None, None), (1, 7)])
def test_forward_and_backward_at_min_input_size(name, in_chans, num_classes):
    model = create_model(name, in_chans=in_chans, num_classes=num_classes)
    cfg = model.default_cfg
    x = torch.randn(2, *cfg.min_input_size)
    assert x.shape[1] == (in_chans or 3) and model.conv1.in_channels == x.shape[1]
    y = model(x)
    assert y.shape == (2, num_classes or get_model_config(name).num_classes)
    y.square().mean().backward()
    assert all(p.grad is not None for p in model.parameters())  # no module left out of the forward
