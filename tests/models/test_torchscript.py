"""Every family scripts with torch.jit.script and the scripted model computes what the eager one does."""

from __future__ import annotations

import itertools
import warnings

import pytest
import torch

from cnnzoo.models import create_model
from cnnzoo.models.resnet import RESIDUAL_UNITS, SHORTCUTS

MODELS = [
    ("alexnet", {"small_input": True}),
    ("vgg11", {}),
    ("vgg11_bn", {"head": "small"}),
    ("nin", {}),
    ("googlenet", {"small_input": True}),
    ("googlenet", {"small_input": True, "aux_logits": False}),
    ("googlenet", {"layout": "torchvision", "transform_input": True}),
    ("resnet18", {}),
    ("preact_resnet18", {}),
    ("plain20", {}),
    ("resnet20", {"shortcut_pad": "both"}),
    ("course_resnet18", {}),
    ("course_resnet50_layer4", {}),
] + [("resnet20", {"residual_unit": u, "shortcut": s}) for u, s in itertools.product(RESIDUAL_UNITS, SHORTCUTS)]


def _script(model: torch.nn.Module) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script is deprecated; C++ programs still load it
        return torch.jit.script(model)


def _id(value: str | dict) -> str:
    return value if isinstance(value, str) else ",".join(map(str, value.values()))


@pytest.mark.parametrize("name, options", MODELS, ids=_id)
def test_scripted_model_equals_eager_in_eval_mode(name, options):
    torch.manual_seed(0)
    model = create_model(name, **options).eval()
    scripted = _script(model)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model(x)
        assert torch.equal(scripted(x), expected) and expected.std() > 0
        assert torch.equal(scripted.forward_features(x), model.forward_features(x))


@pytest.mark.parametrize("options", [{"small_input": True}, {"layout": "torchvision"}])
def test_scripted_googlenet_returns_the_auxiliary_outputs_in_training_mode(options):
    model = create_model("googlenet", **options).train()
    scripted = _script(model)
    x = torch.randn(2, 3, 96, 96)
    torch.manual_seed(1)
    expected = model(x)
    torch.manual_seed(1)  # the same dropout masks
    got = scripted(x)
    assert got._fields == ("logits", "aux1", "aux2")
    assert all(torch.equal(a, b) for a, b in zip(got, expected))
