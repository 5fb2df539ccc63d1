"""Fixtures of the model tests: torchvision references whose every tensor is random."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn


def _random_torchvision(builder, **kwargs) -> nn.Module:
    """A torchvision model (weights=None) in eval mode whose every tensor is random and keeps the signal alive.

    Built on the meta device, so torchvision's own initialisation costs nothing, then filled: He-normal weights keep
    the logits of order 1 and dependent on the input (with the default initialisations VGG's logits barely move
    with the input, and a 1e-4 comparison would prove little); random BatchNorm statistics and affine parameters
    make every BatchNorm tensor count.
    """
    with torch.device("meta"):
        model = builder(weights=None, **kwargs)
    model.to_empty(device="cpu")
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.normal_(0.0, (2.0 / m.weight[0].numel()) ** 0.5)
                if m.bias is not None:
                    m.bias.normal_(0.0, 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.zero_()
    return model.eval()


@pytest.fixture
def random_torchvision():
    """The builder of torchvision references with random weights and BatchNorm statistics."""
    return _random_torchvision


def _check_trains_at_min_size(name: str, options: dict, num_outputs: int = 1) -> None:
    """Forward and backward on 2 images at the model's min_input_size; one pixel smaller must fail."""
    from cnnzoo.models import create_model

    model = create_model(name, **options).train()
    cfg = model.default_cfg
    c, h, w = cfg.min_input_size
    assert c == options.get("in_chans", 3)
    out = model(torch.randn(2, c, h, w))
    outputs = list(out) if num_outputs > 1 else [out]
    assert len(outputs) == num_outputs
    assert all(o.shape == (2, options.get("num_classes", cfg.num_classes)) for o in outputs)
    sum(o.square().mean() for o in outputs).backward()
    assert all(p.grad is not None for p in model.parameters())
    if h > 1:  # the minimum is tight
        with pytest.raises(RuntimeError):
            model(torch.randn(2, c, h - 1, w - 1))


@pytest.fixture
def trains_at_min_size():
    """Checks that a model trains at its smallest input size and not below."""
    return _check_trains_at_min_size
