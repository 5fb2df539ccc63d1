"""Importers: each source's file, made here from a reference network written from the source's description, becomes
a cnnzoo checkpoint that computes the reference's logits; a file that does not match is refused in one line."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
import torchvision
from pretrained_references import (
    ChenyaofoVGG11BN,
    KuangliuPreActResNet18,
    chenyaofo_resnet20,
    kuangliu_resnet18,
    randomise,
    save_kuangliu,
)
from safetensors.torch import save_file

import cnnzoo
from cnnzoo.errors import CnnzooError
from cnnzoo.pretrained import SOURCES, import_checkpoint, load_pretrained, write_imported
from cnnzoo.pretrained.sources import CIFAR10_CLASSES


def imported_logits(
    tmp_path: Path, source: str, file: Path | str, x: torch.Tensor, **kwargs
) -> tuple[torch.Tensor, dict]:
    """Import, write the .pt, load it back as any checkpoint is loaded, and run it."""
    payload = import_checkpoint(source, file, **kwargs)
    loaded = cnnzoo.load(write_imported(payload, tmp_path / "imported.pt"))
    with torch.no_grad():
        return loaded.model(x), payload


def one_line_error(excinfo: pytest.ExceptionInfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# -------------------------------------------------------------------- chenyaofo
def test_chenyaofo_resnet20_computes_the_reference_logits_and_records_its_source(tmp_path):
    reference = chenyaofo_resnet20()
    path = tmp_path / "cifar10_resnet20-4118986f.pt"
    torch.save(reference.state_dict(), path)
    x = torch.randn(4, 3, 32, 32)
    logits, payload = imported_logits(tmp_path, "chenyaofo", path, x)
    torch.testing.assert_close(logits, reference(x), rtol=0, atol=1e-5)
    assert (payload["model_name"], payload["model_options"]) == ("resnet20", {"shortcut": "B"})
    assert payload["classes"] == list(CIFAR10_CLASSES)
    assert payload["mean"] == [0.4914, 0.4822, 0.4465] and payload["std"] == [0.2023, 0.1994, 0.2010]
    record = payload["imported"]
    assert (record["source"], record["license"], record["claimed_top1"]) == ("chenyaofo", "BSD-3-Clause", 92.60)
    assert record["file"] == path.name and len(record["sha256"]) == 64
    assert payload["config"]["data"] == "cifar10" and payload["config"]["precision"] == "fp32"


def test_chenyaofo_vgg11_bn_with_its_512_512_head(tmp_path):
    reference = randomise(ChenyaofoVGG11BN())
    path = tmp_path / "cifar10_vgg11_bn-eaeebf42.pt"
    torch.save(reference.state_dict(), path)
    x = torch.randn(2, 3, 32, 32)
    logits, payload = imported_logits(tmp_path, "chenyaofo", path, x)
    torch.testing.assert_close(logits, reference(x), rtol=0, atol=1e-4)
    assert payload["model_name"] == "vgg11_bn" and payload["imported"]["architecture"] == "vgg11_bn"


def test_chenyaofo_refuses_unknown_tensors_and_other_layouts(tmp_path):
    state = chenyaofo_resnet20().state_dict()
    state["extra.weight"] = torch.zeros(3)
    torch.save(state, tmp_path / "extra.pt")
    with pytest.raises(CnnzooError) as excinfo:
        import_checkpoint("chenyaofo", tmp_path / "extra.pt")
    message = one_line_error(excinfo)
    assert "matches none of chenyaofo's networks" in message and "extra.weight" in message
    save_kuangliu(kuangliu_resnet18(), tmp_path / "ckpt.pth")
    with pytest.raises(CnnzooError, match="not a state_dict file.*'net', 'acc', 'epoch'"):
        import_checkpoint("chenyaofo", tmp_path / "ckpt.pth")


# -------------------------------------------------------------------- kuangliu
def test_kuangliu_resnet18_under_data_parallel_names(tmp_path):
    reference = kuangliu_resnet18()
    path = save_kuangliu(reference, tmp_path / "ckpt.pth", acc=93.02, epoch=187)
    x = torch.randn(2, 3, 32, 32)
    logits, payload = imported_logits(tmp_path, "kuangliu", path, x)
    torch.testing.assert_close(logits, reference(x), rtol=0, atol=1e-4)
    assert (payload["model_name"], payload["model_options"]) == ("resnet18", {"small_input": True})
    record = payload["imported"]
    assert (record["architecture"], record["acc"], record["epoch"], record["license"]) == (
        "ResNet18",
        93.02,
        187,
        "MIT",
    )


def test_kuangliu_preact_resnet_has_no_cnnzoo_equivalent(tmp_path):
    path = save_kuangliu(KuangliuPreActResNet18(), tmp_path / "ckpt.pth", acc=95.11)
    with pytest.raises(CnnzooError) as excinfo:
        import_checkpoint("kuangliu", path)
    assert "matches none of kuangliu's networks (ResNet18, ResNet34" in one_line_error(excinfo)
    with pytest.raises(CnnzooError) as excinfo:
        import_checkpoint("kuangliu", path, model="resnet18")  # cnnzoo's name works as well as theirs
    assert "does not match kuangliu's ResNet18" in one_line_error(excinfo)


def test_kuangliu_refuses_a_bare_state_dict(tmp_path):
    torch.save(kuangliu_resnet18().state_dict(), tmp_path / "ckpt.pth")
    with pytest.raises(CnnzooError, match="not a kuangliu checkpoint: expected a dict with 'net'"):
        import_checkpoint("kuangliu", tmp_path / "ckpt.pth")


# -------------------------------------------------------------------- torchvision
def test_torchvision_resnet18_state_dict(tmp_path):
    reference = randomise(torchvision.models.resnet18())
    path = tmp_path / "my-resnet18.pth"
    torch.save(reference.state_dict(), path)
    x = torch.randn(1, 3, 64, 64)
    logits, payload = imported_logits(tmp_path, "torchvision", path, x)
    torch.testing.assert_close(logits, reference(x), rtol=0, atol=1e-4)
    assert payload["model_name"] == "resnet18" and len(payload["classes"]) == 1000
    assert payload["classes"][0] == "tench" and payload["image_size"] == [224, 224]
    assert payload["imported"]["claimed_top1"] is None  # an unknown file claims nothing
    assert payload["config"] == {**payload["config"], "data": "imagefolder", "image_size": 224}


def test_torchvision_googlenet_needs_its_layout_and_input_transform(tmp_path):
    reference = randomise(torchvision.models.googlenet(aux_logits=True, transform_input=True, init_weights=False))
    path = tmp_path / "googlenet.pth"
    torch.save(reference.state_dict(), path)
    x = torch.randn(1, 3, 96, 96)
    logits, payload = imported_logits(tmp_path, "torchvision", path, x)
    torch.testing.assert_close(logits, reference(x), rtol=0, atol=1e-4)
    assert payload["model_options"] == {"layout": "torchvision", "transform_input": True}


def test_torchvision_enum_name_reads_the_hub_cache_and_checks_the_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cached = tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    cached.parent.mkdir(parents=True)
    torch.save(randomise(torchvision.models.resnet18()).state_dict(), cached)
    with pytest.warns(UserWarning, match="named like torchvision's ResNet18_Weights.IMAGENET1K_V1 but its sha256"):
        payload = import_checkpoint("torchvision", "ResNet18_Weights.IMAGENET1K_V1")
    assert payload["imported"]["file"] == cached.name and payload["imported"]["claimed_top1"] is None
    with pytest.raises(CnnzooError, match="no torchvision weights enum"):
        import_checkpoint("torchvision", "ResNet18_Weights.NO_SUCH")


def test_torchvision_refuses_a_missing_tensor(tmp_path):
    state = torchvision.models.resnet18().state_dict()
    del state["layer3.1.bn2.running_var"]
    torch.save(state, tmp_path / "resnet18.pth")
    with pytest.raises(CnnzooError) as excinfo:
        import_checkpoint("torchvision", tmp_path / "resnet18.pth", model="resnet18")
    assert "1 of the model's tensors are missing (first: layer3.1.bn2.running_var)" in one_line_error(excinfo)


# -------------------------------------------------------------------- timm
def _timm_folder(folder: Path, state: dict, architecture: str = "resnet18.a1_in1k", **config) -> Path:
    folder.mkdir()
    save_file({k: v.contiguous() for k, v in state.items()}, folder / "model.safetensors")
    pretrained_cfg = {"tag": "a1_in1k", "input_size": [3, 224, 224], "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25],
                      "num_classes": 1000, "license": "apache-2.0"}  # fmt: skip
    (folder / "config.json").write_text(json.dumps({"architecture": architecture, "num_classes": 1000,
                                                    "pretrained_cfg": pretrained_cfg, **config}))  # fmt: skip
    return folder


def test_timm_safetensors_with_its_config(tmp_path):
    timm = pytest.importorskip("timm")
    reference = randomise(timm.create_model("resnet18", pretrained=False))
    folder = _timm_folder(tmp_path / "resnet18.a1_in1k", reference.state_dict())
    x = torch.randn(1, 3, 64, 64)
    logits, payload = imported_logits(tmp_path, "timm", folder, x)  # the folder; its model.safetensors works too
    torch.testing.assert_close(logits, reference(x), rtol=0, atol=1e-4)
    assert (payload["mean"], payload["std"]) == ([0.5] * 3, [0.25] * 3)
    assert payload["imported"]["license"] == "apache-2.0" and payload["imported"]["tag"] == "a1_in1k"


def test_timm_architectures_cnnzoo_does_not_build_are_refused(tmp_path):
    state = torchvision.models.resnet18().state_dict()  # timm's plain ResNets share these names
    folder = _timm_folder(tmp_path / "r", state, architecture="resnet18d.ra2_in1k")
    with pytest.raises(CnnzooError) as excinfo:
        import_checkpoint("timm", folder)
    assert "unknown timm network 'resnet18d'" in one_line_error(excinfo)
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / "config.json").write_text(json.dumps({"format": "cnnzoo-pretrained"}))
    save_file({"w": torch.zeros(1)}, ours / "model.safetensors")
    with pytest.raises(CnnzooError, match="not timm's .* cnnzoo.load"):
        import_checkpoint("timm", ours)


# -------------------------------------------------------------------- the rest
def test_load_pretrained_predicts_in_memory(tmp_path):
    reference = chenyaofo_resnet20()
    torch.save(reference.state_dict(), tmp_path / "cifar10_resnet20.pt")
    loaded = load_pretrained("chenyaofo", tmp_path / "cifar10_resnet20.pt")
    assert loaded.classes == list(CIFAR10_CLASSES) and loaded.model_options == {"shortcut": "B"}
    probs = loaded.predict(torch.rand(3, 32, 32), probs=True)
    assert probs.shape == (1, 10) and abs(float(probs.sum()) - 1) < 1e-5


def test_unknown_source_and_output_suffix_are_one_line_errors(tmp_path):
    with pytest.raises(CnnzooError, match="unknown checkpoint source 'akamastr'.*Did you mean 'akamaster'"):
        import_checkpoint("akamastr", tmp_path / "x.th")
    with pytest.raises(CnnzooError, match="must name a .pt file"):
        write_imported({}, tmp_path / "out.safetensors")
    with pytest.raises(CnnzooError, match="no file at"):
        import_checkpoint("akamaster", tmp_path / "missing.th")


def test_every_listed_network_builds_with_its_options():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for source in SOURCES.values():
            for arch in source.architectures.values():
                with torch.device("meta"):
                    cnnzoo.create_model(arch.model, num_classes=10, **arch.options)
