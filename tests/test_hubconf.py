"""hubconf.py: torch.hub.load(clone, NAME, source="local") builds every registered cnnzoo model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

import cnnzoo
from cnnzoo.errors import CnnzooError

REPO = Path(__file__).resolve().parents[1]


def test_hub_load_from_a_local_clone_builds_the_model():
    model = torch.hub.load(str(REPO), "resnet20", source="local", num_classes=7)
    assert isinstance(model, torch.nn.Module) and type(model).__name__ == "ResNet"
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 7)
    googlenet = torch.hub.load(str(REPO), "googlenet", source="local", small_input=True, aux_logits=False)
    assert sum(p.numel() for p in googlenet.parameters()) == sum(
        p.numel() for p in cnnzoo.create_model("googlenet", small_input=True, aux_logits=False).parameters()
    )


def test_entry_points_are_the_registry():
    spec = importlib.util.spec_from_file_location("cnnzoo_hubconf", REPO / "hubconf.py")
    hubconf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hubconf)
    public = sorted(name for name in dir(hubconf) if callable(getattr(hubconf, name)) and not name.startswith("_"))
    assert public == cnnzoo.list_models()  # what torch.hub.list shows
    assert "torch" in hubconf.dependencies
    assert "residual_unit" in hubconf.resnet20.__doc__


def test_bad_options_and_pretrained_are_cnnzoo_errors():
    with pytest.raises(CnnzooError, match="no pretrained weights"):
        torch.hub.load(str(REPO), "resnet20", source="local", pretrained=True)
    with pytest.raises(CnnzooError, match="dropout"):
        torch.hub.load(str(REPO), "vgg11", source="local", dropout=1.5)
