"""GoogLeNet: Table 1 as data, the paper's count, torchvision's layout and weights, auxiliary outputs, options."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from cnnzoo.errors import CnnzooError
from cnnzoo.inspect.counts import count_macs, count_params
from cnnzoo.models import create_model, get_model_config
from cnnzoo.models.googlenet import INCEPTION_TABLE, GoogLeNetOutputs, Inception


def test_paper_layout_without_aux_has_6_998_552_parameters():
    assert count_params(create_model("googlenet", aux_logits=False)) == 6_998_552
    # each paper auxiliary head: 1x1 conv to 128 (with bias), FC 2048→1024, linear 1024→1000
    heads = sum(c * 128 + 128 + 2048 * 1024 + 1024 + 1024 * 1000 + 1000 for c in (512, 528))
    assert count_params(create_model("googlenet")) == 6_998_552 + heads


@pytest.mark.parametrize("aux_logits", [True, False])
def test_torchvision_layout_param_count_equals_torchvision(aux_logits):
    with torch.device("meta"):
        ours = create_model("googlenet", layout="torchvision", aux_logits=aux_logits)
        theirs = torchvision.models.googlenet(weights=None, aux_logits=aux_logits, init_weights=True)
    assert count_params(ours) == count_params(theirs)


@pytest.mark.parametrize("layout, third_kernel", [("paper", 5), ("torchvision", 3)])
def test_inception_modules_carry_their_table_1_row(layout, third_kernel):
    with torch.device("meta"):
        model = create_model("googlenet", layout=layout)
    modules = {name.removeprefix("inception"): m for name, m in model.named_children() if isinstance(m, Inception)}
    assert list(modules) == list(INCEPTION_TABLE)
    in_channels = 192
    for name, m in modules.items():
        w = INCEPTION_TABLE[name]
        assert m.widths == w and m.widths._fields == ("ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj")
        convs = [c for c in m.modules() if isinstance(c, nn.Conv2d)]
        assert [c.out_channels for c in convs] == [w.ch1x1, w.ch3x3red, w.ch3x3, w.ch5x5red, w.ch5x5, w.pool_proj]
        assert all(c.in_channels == in_channels for c in (convs[0], convs[1], convs[3], convs[5]))
        assert convs[4].kernel_size == (third_kernel, third_kernel)
        in_channels = w.out_channels
    assert in_channels == 1024 == model.fc.in_features


def test_paper_layout_has_lrn_and_biases_and_batch_norm_replaces_them():
    paper = create_model("googlenet")
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in paper.modules()) == 2
    assert not any(isinstance(m, nn.BatchNorm2d) for m in paper.modules())
    assert all(m.bias is not None for m in paper.modules() if isinstance(m, nn.Conv2d))
    assert paper.dropout.p == 0.4 and paper.aux1.dropout.p == 0.7
    bn = create_model("googlenet", batch_norm=True)
    convs = [m for m in bn.modules() if isinstance(m, nn.Conv2d)]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in bn.modules()) == len(convs)
    assert not any(isinstance(m, nn.LocalResponseNorm) for m in bn.modules())


@pytest.mark.parametrize("aux_logits, transform_input", [(True, False), (False, False), (True, True)])
def test_torchvision_state_dict_loads_strictly_and_gives_the_same_logits(
    random_torchvision, aux_logits, transform_input
):
    options = {"aux_logits": aux_logits, "transform_input": transform_input}
    theirs = random_torchvision(torchvision.models.googlenet, init_weights=True, **options)
    ours = create_model("googlenet", layout="torchvision", **options).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected, got = theirs(x), ours(x)
    assert (expected[0] - expected[1]).abs().max() > 0.01  # the logits depend on the input: the check has teeth
    assert (got - expected).abs().max().item() <= 1e-4


def test_auxiliary_heads_match_torchvisions_in_training_mode(random_torchvision):
    theirs = random_torchvision(torchvision.models.googlenet, aux_logits=True, init_weights=True)
    ours = create_model("googlenet", layout="torchvision")
    ours.load_state_dict(theirs.state_dict(), strict=True)
    for model in (ours, theirs):  # BatchNorm uses batch statistics, deterministic; dropout off to compare
        model.train()
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.p = 0.0
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        got, expected = ours(x), theirs(x)
    assert isinstance(got, GoogLeNetOutputs)
    # torchvision's order is (logits, aux_logits2, aux_logits1); ours is (logits, aux1, aux2)
    for a, b in [(got.logits, expected.logits), (got.aux1, expected.aux_logits1), (got.aux2, expected.aux_logits2)]:
        assert (a - b).abs().max().item() <= 1e-4


def test_torchvision_layout_multiply_adds_match_its_documented_1_5_gflops():
    with torch.device("meta"):
        model = create_model("googlenet", layout="torchvision")
    assert count_macs(model, (3, 224, 224)) == pytest.approx(1.50e9, rel=0.01)


def test_outputs_per_mode():
    model = create_model("googlenet", num_classes=7, small_input=True)
    x = torch.randn(2, 3, 16, 16)
    out = model.train()(x)
    assert isinstance(out, GoogLeNetOutputs) and len(out) == 3
    assert all(t.shape == (2, 7) for t in out)
    target = torch.tensor([1, 4])
    ce = F.cross_entropy
    expected_loss = ce(out.logits, target) + 0.3 * (ce(out.aux1, target) + ce(out.aux2, target))
    assert torch.allclose(out.loss(ce, target), expected_loss)
    with torch.no_grad():
        assert model.eval()(x).shape == (2, 7)
    no_aux = create_model("googlenet", num_classes=7, small_input=True, aux_logits=False).train()
    out = no_aux(x)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 7)
    assert no_aux.aux1 is None and no_aux.aux2 is None


def test_small_input_stem_keeps_32_pixels_to_3a_and_the_aux_pool_gives_4x4():
    model = create_model("googlenet", small_input=True).to("meta")  # shapes only
    seen = {}
    for key, module in [("3a", model.inception3a), ("aux", model.aux1.conv), ("5a", model.inception5a)]:
        module.register_forward_pre_hook(lambda m, inputs, key=key: seen.update({key: inputs[0].shape[-1]}))
    model.train()(torch.empty(2, 3, 32, 32, device="meta"))
    assert seen == {"3a": 32, "aux": 4, "5a": 8}
    assert get_model_config("googlenet", small_input=True).input_size == (3, 32, 32)


CASES = [
    {},
    {"aux_logits": False},
    {"batch_norm": True, "in_chans": 1, "num_classes": 7},
    {"layout": "torchvision"},
    {"small_input": True},
    {"small_input": True, "aux_logits": False},
    {"small_input": True, "batch_norm": True, "in_chans": 1, "num_classes": 7},
    {"small_input": True, "layout": "torchvision", "num_classes": 7},
]


@pytest.mark.parametrize("options", CASES, ids=["-".join(f"{k}={v}" for k, v in o.items()) or "default" for o in CASES])
def test_trains_at_its_min_input_size_and_not_below(trains_at_min_size, options):
    trains_at_min_size("googlenet", options, num_outputs=3 if options.get("aux_logits", True) else 1)


def test_invalid_options_name_the_valid_choices():
    with pytest.raises(CnnzooError, match="invalid layout 'foo'; valid choices: 'paper', 'torchvision'"):
        create_model("googlenet", layout="foo")
    with pytest.raises(CnnzooError, match="always has BatchNorm"):
        create_model("googlenet", layout="torchvision", batch_norm=False)
    with pytest.raises(CnnzooError, match="needs in_chans=3"):
        create_model("googlenet", transform_input=True, in_chans=1)


def test_paper_layout_starts_with_a_sane_loss_and_gradient():
    """Issue 9: fan_out init grew the BN-free layout's activations ~10x per module (first loss ~25, NaN by step 39)."""

    torch.manual_seed(0)
    model = create_model("googlenet", num_classes=10, small_input=True).train()
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    loss = model(x).loss(F.cross_entropy, y)
    loss.backward()
    grad_norm = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters() if p.grad is not None))
    assert loss.item() < 1.6 * 2.303 * 2  # near chance (main + 0.3 x two aux losses), not ~25 as before
    assert grad_norm.item() < 200  # ~30 with fan_in; ~1,100 with fan_out


@pytest.mark.slow  # ~20 s on 2 shared cores: 17 float64 passes of the full network
def test_paper_layout_gradients_match_finite_differences():
    """Issue 9: the BN-free layout's autograd gradients (in-place ReLUs, shared inputs of four branches and two
    auxiliary heads, LRN) agree with central differences, in training mode with the aux losses, in float64."""
    torch.manual_seed(0)
    model = create_model("googlenet", num_classes=3, small_input=True).double().train()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0  # deterministic forward, so that finite differences are exact up to O(eps^2)
    x, y = torch.randn(2, 3, 10, 10, dtype=torch.double), torch.tensor([0, 2])

    def loss() -> torch.Tensor:
        return model(x).loss(F.cross_entropy, y)

    loss().backward()
    params = dict(model.named_parameters())
    checked = 0
    for name in ("conv1.conv.weight", "conv3.conv.bias", "inception3a.branch3.1.conv.weight",
                 "inception4a.branch4.1.conv.weight", "aux1.conv.conv.weight", "aux2.fc1.bias",
                 "inception5b.branch2.0.conv.weight", "fc.weight"):  # fmt: skip
        flat, grad = params[name].data.view(-1), params[name].grad.view(-1)
        i = int(grad.abs().argmax())  # a non-zero gradient, so a wrong one cannot hide behind a dead ReLU
        old, eps = flat[i].item(), 1e-7  # small enough not to cross a ReLU or max-pool kink here
        with torch.no_grad():
            flat[i] = old + eps
            plus = loss().item()
            flat[i] = old - eps
            minus = loss().item()
            flat[i] = old
        assert grad[i].item() != 0.0, name
        assert grad[i].item() == pytest.approx((plus - minus) / (2 * eps), rel=1e-5), name
        checked += 1
    assert checked == 8
