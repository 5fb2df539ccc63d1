"""Counts: depth is the papers' depth, measured on the graph; parameters and multiply-adds on simple layers."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

import cnnzoo
from cnnzoo.inspect import counts
from cnnzoo.inspect.counts import count_depth, count_macs, count_params, default_counts


@pytest.mark.parametrize(
    "name, depth",
    [
        ("resnet18", 18),
        ("resnet50", 50),
        ("resnet152", 152),  # He et al. 2016, Table 1
        ("resnet20", 20),
        ("resnet110", 110),
        ("plain56", 56),  # section 4.2: 6n+2
        ("preact_resnet164", 164),  # He et al. 2016b: 9n+2
        ("vgg16", 16),
        ("vgg19_bn", 19),  # Simonyan & Zisserman 2015: weight layers
        ("googlenet", 22),  # Szegedy et al. 2015: "22 layers deep when counting only layers with parameters"
        ("alexnet", 8),  # Krizhevsky et al. 2012: five convolutional and three fully connected
        ("nin", 12),  # Lin et al. 2014: four mlpconv layers of three convolutions each
    ],
)
def test_depth_is_the_papers_depth(name, depth):
    with torch.device("meta"):
        model = cnnzoo.create_model(name)
    assert count_depth(model, model.default_cfg.input_size) == depth


def test_depth_follows_the_longest_branch_and_leaves_a_real_model_untouched():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 1), nn.Flatten(), nn.LazyLinear(2))
    model(torch.zeros(1, 3, 6, 6))  # materialise the lazy layer
    model.train()
    assert count_depth(model, (3, 6, 6)) == 3
    assert model.training and next(model.parameters()).device.type == "cpu"


def test_params_and_macs_of_single_layers():
    conv = nn.Conv2d(3, 8, 3, padding=1)
    assert count_params(conv) == 3 * 8 * 9 + 8
    assert count_macs(conv, (3, 10, 10)) == 3 * 8 * 9 * 100  # biases are not multiply-adds
    conv.bias.requires_grad_(False)
    assert count_params(conv, trainable_only=True) == 3 * 8 * 9
    assert count_macs(nn.Linear(5, 7), (5,)) == 35


@pytest.mark.parametrize("name", ["resnet20", "googlenet"])  # BN, ReLU; LRN, dropout, auxiliary heads
def test_macs_of_a_meta_model_counted_in_place_equal_the_flop_counters(name, monkeypatch):
    """`cnnzoo models` counts every model: a meta model is not copied, layers without multiply-adds are skipped
    during the pass (their meta kernels are slow), and all is restored."""
    with torch.device("meta"):
        model = cnnzoo.create_model(name)
    size = model.default_cfg.input_size
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model.eval()(torch.empty(1, *size, device="meta"))
    model.train()
    layers = [(name, type(m)) for name, m in model.named_modules()]
    monkeypatch.setattr("copy.deepcopy", lambda *a, **k: pytest.fail("a meta model was copied"))
    assert count_macs(model, size) == counter.get_total_flops() // 2
    assert [(name, type(m)) for name, m in model.named_modules()] == layers
    assert model.training


def test_default_counts_are_counted_once_then_read_from_the_cache(tmp_path, monkeypatch):
    # `cnnzoo models` built and counted all 35 models on every call (5.9 s); the counts are kept per model code.
    monkeypatch.setenv("CNNZOO_CACHE", str(tmp_path))
    first = default_counts(["resnet20", "alexnet"])
    model = cnnzoo.create_model("resnet20")
    assert first["resnet20"] == (count_params(model), count_macs(model, (3, 32, 32)))
    monkeypatch.setattr(counts, "count_macs", lambda *a: pytest.fail("counted again, not read from the cache"))
    assert default_counts(["alexnet", "resnet20"]) == first
    assert len(list((tmp_path / "counts").glob("*.json"))) == 1


def test_the_counts_cache_is_named_by_the_model_code_and_torch(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNZOO_CACHE", str(tmp_path))
    before = counts._counts_cache()
    monkeypatch.setattr(torch, "__version__", torch.__version__ + ".other")
    assert counts._counts_cache() != before and counts._counts_cache().parent == before.parent
