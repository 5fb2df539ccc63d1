"""timm's model API on every family: forward_features / forward_head, the classifier, pretrained_cfg, features_only."""

from __future__ import annotations

from dataclasses import asdict

import pytest
import torch
import torch.nn as nn

from cnnzoo.errors import CnnzooError
from cnnzoo.models import create_model

# One model of every family, at an input size every stage divides exactly (the reductions are then exact too).
FAMILIES = {
    "alexnet": ({"small_input": True}, 32),
    "vgg11_bn": ({"small_input": True}, 32),
    "vgg11": ({"head": "small"}, 32),
    "nin": ({}, 32),
    "googlenet": ({"small_input": True}, 16),
    "googlenet-imagenet-stem": ({}, 96),
    "resnet18": ({}, 64),
    "resnet20": ({}, 32),
    "preact_resnet18": ({}, 32),
    "course_resnet18": ({}, 32),
    "course_resnet50_layer4": ({}, 32),
}


def _build(key: str, **extra) -> tuple[nn.Module, torch.Tensor]:
    options, side = FAMILIES[key]
    torch.manual_seed(0)
    model = create_model(key.split("-")[0], **options, **extra).eval()
    _randomize_bn(model)
    return model, torch.randn(2, 3, side, side)


def _randomize_bn(model: nn.Module) -> None:
    """Non-trivial BN statistics, so that eval-mode BN is not the identity and each BN counts."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5), m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1), m.running_var.uniform_(0.5, 1.5)


def _classifier_input_width(classifier: nn.Module) -> int:
    return classifier.in_features if isinstance(classifier, nn.Linear) else classifier.conv.in_channels  # NiN's conv


@pytest.mark.parametrize("key", FAMILIES)
def test_forward_is_forward_head_of_forward_features(key):
    model, x = _build(key)
    with torch.no_grad():
        logits = model(x)
        features = model.forward_features(x)
        assert torch.equal(model.forward_head(features), logits)
        pre_logits = model.forward_head(features, pre_logits=True)
    assert pre_logits.shape == (2, model.num_features) and logits.shape == (2, model.num_classes)
    assert model.num_features == _classifier_input_width(model.get_classifier())
    if isinstance(model.get_classifier(), nn.Linear):  # NiN classifies its maps before pooling them
        assert torch.allclose(model.get_classifier()(pre_logits), logits, atol=1e-5)


@pytest.mark.parametrize("key", FAMILIES)
def test_reset_classifier_changes_the_classes_and_keeps_every_other_weight(key):
    model, x = _build(key)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.reset_classifier(7)
    after = model.state_dict()
    changed = {k for k in before if before[k].shape != after[k].shape or not torch.equal(before[k], after[k])}
    assert changed and all(".fc" in k or k.startswith(("fc.", "classifier.6.", "features.7.2.")) for k in changed)
    assert set(after) == set(before)  # the new classifier has the old one's names
    with torch.no_grad():
        assert model(x).shape == (2, 7)
    assert model.num_classes == 7 and model.default_cfg.num_classes == 7 and model.pretrained_cfg["num_classes"] == 7
    if key.startswith("googlenet"):  # the auxiliary heads classify into the same classes
        outputs = model.train()(x)
        assert outputs.aux1.shape == outputs.aux2.shape == (2, 7)


@pytest.mark.parametrize("key", FAMILIES)
def test_reset_classifier_to_zero_classes_returns_the_pre_logits_features(key):
    model, x = _build(key)
    with torch.no_grad():
        pre_logits = model.forward_head(model.forward_features(x), pre_logits=True)
        model.reset_classifier(0)
        assert isinstance(model.get_classifier(), nn.Identity)
        assert torch.equal(model(x), pre_logits) and pre_logits.shape == (2, model.num_features)
        model.reset_classifier(3)  # and back: a classifier of the right width again
        assert model(x).shape == (2, 3)


def test_reset_classifier_refuses_a_negative_number_and_initialises_like_the_family():
    model = create_model("resnet20")
    with pytest.raises(CnnzooError, match="number of classes >= 0"):
        model.reset_classifier(-1)
    model.reset_classifier(5)
    assert not model.fc.bias.any() and 0.005 < model.fc.weight.std() < 0.02  # init_weights: N(0, 0.01), zero bias


def test_pretrained_cfg_is_the_default_cfg_as_a_dict():
    model = create_model("resnet20")
    assert model.pretrained_cfg == asdict(model.default_cfg)
    assert model.pretrained_cfg["input_size"] == (3, 32, 32) and model.pretrained_cfg["num_classes"] == 10


# --- features_only ------------------------------------------------------------------------------------------------


def _stage_outputs(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The outputs of the stage modules as the full model's forward computes them (the first call of each)."""
    outputs: dict[str, torch.Tensor] = {}
    names = [stage["module"] for stage in model.feature_info]
    hooks = [
        model.get_submodule(name).register_forward_hook(lambda m, i, o, name=name: outputs.setdefault(name, o.clone()))
        for name in names
    ]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return [outputs[name] for name in names]


@pytest.mark.parametrize("key", FAMILIES)
def test_features_only_returns_the_stage_maps_of_the_models_own_forward(key):
    model, x = _build(key)
    features = create_model(key.split("-")[0], features_only=True, **FAMILIES[key][0]).eval()
    features.load_state_dict(model.state_dict(), strict=False)
    assert set(features.state_dict()) <= set(model.state_dict())  # the same names, without the classifier
    with torch.no_grad():
        maps = features(x)
    expected = _stage_outputs(model, x)
    assert len(maps) == len(expected) == len(features.feature_info) >= 3
    assert all(torch.equal(a, b) for a, b in zip(maps, expected))
    side = x.shape[-1]
    assert [m.shape[1] for m in maps] == features.feature_info.channels()
    assert [side // m.shape[-1] for m in maps] == features.feature_info.reduction()
    assert features.feature_info.reduction() == sorted(features.feature_info.reduction())


def test_googlenet_features_include_the_torchvision_input_transform():
    model = create_model("googlenet", layout="torchvision", transform_input=True, aux_logits=False).eval()
    features = create_model("googlenet", layout="torchvision", transform_input=True, features_only=True).eval()
    features.load_state_dict(model.state_dict(), strict=False)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(features(x), _stage_outputs(model, x)))


def test_out_indices_pick_the_stages_and_cut_the_model_after_the_last():
    x = torch.randn(1, 3, 64, 64)
    every = create_model("resnet18", features_only=True).eval()
    torch.manual_seed(0)
    with torch.no_grad():
        all_maps = every(x)
        picked = create_model("resnet18", features_only=True, out_indices=(1, -1)).eval()
        picked.load_state_dict(every.state_dict())
        assert [m.shape for m in picked(x)] == [all_maps[1].shape, all_maps[4].shape]
    assert picked.feature_info.out_indices == (1, 4) and picked.feature_info.channels() == [64, 512]
    assert picked.feature_info.channels(0) == 64 and len(picked.feature_info) == 5
    last_two = create_model("resnet18", features_only=True, out_indices=2)
    assert last_two.feature_info.module_name() == ["layer3", "layer4"]
    early = create_model("resnet18", features_only=True, out_indices=(0, 1))
    assert [n for n, _ in early.named_children()] == ["conv1", "bn1", "relu", "maxpool", "layer1"]
    vgg = create_model("vgg11", features_only=True, out_indices=(0,), head="small")
    assert len(vgg.features) == 3  # conv, ReLU, pool: the Sequential cut after its first stage


@pytest.mark.parametrize(
    "options, message",
    [
        ({"features_only": True, "out_indices": (0, 5)}, "its 5 stages are 0 to 4"),
        ({"features_only": True, "out_indices": 6}, "the last 6 of its 5 stages"),
        ({"features_only": True, "out_indices": "1"}, "must be stage indices"),
        ({"out_indices": (1,)}, "add features_only=True"),
    ],
)
def test_bad_out_indices_are_one_line_errors(options, message):
    with pytest.raises(CnnzooError, match=message):
        create_model("resnet18", **options)
