"""`cnnzoo import`, then the commands that take any checkpoint: predict, export, save-pretrained."""

from __future__ import annotations

import json
import re

import numpy as np
import torch
from PIL import Image
from pretrained_references import KuangliuPreActResNet18, chenyaofo_resnet20, save_kuangliu

from cnnzoo.cli.pretrained_cmd import SOURCE_NETWORKS
from cnnzoo.pretrained import SOURCES
from cnnzoo.pretrained.sources import CIFAR10_CLASSES


def test_the_help_lists_every_source_and_network(cli):
    assert set(SOURCE_NETWORKS) == set(SOURCES)
    for name, source in SOURCES.items():
        listed = re.split(r"[ ,(]+", SOURCE_NETWORKS[name])
        assert set(source.architectures) <= set(listed), name
    code, out, _ = cli(["import", "--help"])
    assert code == 0 and "--output OUT.pt" in out and "akamaster    resnet20" in out


def test_import_then_predict_export_and_save_pretrained(tmp_path, cli):
    reference = chenyaofo_resnet20()
    torch.save(reference.state_dict(), tmp_path / "cifar10_resnet20-4118986f.pt")
    out_pt = tmp_path / "resnet20-chenyaofo.pt"
    code, out, err = cli(
        ["import", "chenyaofo", str(tmp_path / "cifar10_resnet20-4118986f.pt"), "--output", str(out_pt)]
    )
    assert code == 0, err
    assert "imported chenyaofo's resnet20 as cnnzoo resnet20 (shortcut='B'): 128 tensors" in out
    assert "claimed: 92.60% top-1 on the original CIFAR-10 test set" in out and "licence: BSD-3-Clause" in out

    pixels = np.random.default_rng(0).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "image.png")
    code, out, err = cli(["predict", str(out_pt), str(tmp_path / "image.png"), "--topk", "1", "--format", "json"])
    assert code == 0, err
    x = torch.from_numpy(pixels).permute(2, 0, 1).float() / 255 - torch.tensor([0.4914, 0.4822, 0.4465])[:, None, None]
    x = x / torch.tensor([0.2023, 0.1994, 0.2010])[:, None, None]
    with torch.no_grad():
        probs = reference(x[None]).softmax(1)[0]
    ((top,),) = [row["predictions"] for row in json.loads(out)]
    assert top["class"] == CIFAR10_CLASSES[int(probs.argmax())]  # the reference's class, normalised as chenyaofo
    assert abs(top["probability"] - float(probs.max())) < 1e-5

    code, out, err = cli(
        ["export", str(out_pt), "--format", "torchscript", "--output", str(tmp_path / "m.torchscript.pt")]
    )
    assert code == 0 and "(ok)" in out, err

    code, out, err = cli(["save-pretrained", str(out_pt), str(tmp_path / "shared")])
    assert code == 0, err
    card = (tmp_path / "shared" / "README.md").read_text()
    assert "# resnet20 on cifar10, imported from chenyaofo" in card and "license: bsd-3-clause" in card
    assert "claimed by chenyaofo: 92.60% top-1" in card
    assert json.loads((tmp_path / "shared" / "config.json").read_text())["imported"]["architecture"] == "resnet20"


def test_a_file_of_another_network_is_one_line_and_o_is_a_model_option(tmp_path, cli):
    path = save_kuangliu(KuangliuPreActResNet18(), tmp_path / "ckpt.pth")
    code, out, err = cli(["import", "kuangliu", str(path), "--output", str(tmp_path / "x.pt")])
    assert code == 2 and out == "" and err.count("\n") == 1 and "matches none of kuangliu's networks" in err
    assert not (tmp_path / "x.pt").exists()
    code, _, err = cli(["import", "kuangliu", str(path), "-o", str(tmp_path / "x.pt")])
    assert code == 2 and "--output" in err
