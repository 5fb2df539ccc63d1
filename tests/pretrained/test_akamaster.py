"""akamaster's two shared CIFAR-10 checkpoints, imported: through `cnnzoo evaluate` they score exactly the accuracy
that ../shared/weights/akamaster/README.md measured with akamaster's own code on the JPEG copy, and their logits
equal a forward pass written here from that README's description of the network and its input."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import cnnzoo
from cnnzoo.models import create_model
from cnnzoo.pretrained import import_checkpoint, write_imported

REPO = Path(__file__).resolve().parents[2]
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
FILES = {"resnet20-12fca82f.th": ("resnet20", 3), "resnet56-4bfd9763.th": ("resnet56", 9)}  # file: model, n


@pytest.fixture(scope="session")
def akamaster_dir() -> Path:
    """The shared akamaster checkpoints; skip where absent, fail where CI requires the shared data."""
    path = Path(os.environ.get("CNNZOO_AKAMASTER_WEIGHTS", REPO.parent / "shared" / "weights" / "akamaster"))
    if not all((path / name).is_file() for name in FILES):
        if os.environ.get("CNNZOO_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(f"CNNZOO_REQUIRE_SHARED_DATA=1 but no akamaster checkpoints at {path}")
        pytest.skip(f"no akamaster checkpoints at {path} (set CNNZOO_AKAMASTER_WEIGHTS)")
    return path


def readme_accuracy(folder: Path, name: str) -> float:
    """The test top-1 (%) the README measured with akamaster's code on the JPEG copy, from its table."""
    text = (folder / "README.md").read_text().split("## Measured here", 1)[1]
    (figure,) = re.findall(rf"\| `{re.escape(name)}` \| (\d+\.\d+)% \|", text)
    return float(figure)


@pytest.fixture(scope="module")
def imported(akamaster_dir, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("akamaster")
    return {name: write_imported(import_checkpoint("akamaster", akamaster_dir / name), out / f"{name}.pt")
            for name in FILES}  # fmt: skip


# -------------------------------------------------------------------- the README's network, written out
def reference_logits(state: dict[str, torch.Tensor], n: int, x: torch.Tensor) -> torch.Tensor:
    """3x3 stem with 16 filters, BN, ReLU; three stages of n basic units (16/32/64 filters, the first unit of
    stages 2 and 3 with stride 2); option-A shortcut x[:, :, ::2, ::2] padded with planes // 4 zero channels on
    BOTH sides; global average pool; `linear`. Names as the file holds them, without DataParallel's 'module.'."""
    w = {k.removeprefix("module."): v for k, v in state.items()}

    def bn(t: torch.Tensor, name: str) -> torch.Tensor:
        return F.batch_norm(t, w[f"{name}.running_mean"], w[f"{name}.running_var"], w[f"{name}.weight"],
                            w[f"{name}.bias"], training=False, eps=1e-5)  # fmt: skip

    out = F.relu(bn(F.conv2d(x, w["conv1.weight"], padding=1), "bn1"))
    for stage in (1, 2, 3):
        for unit in range(n):
            p = f"layer{stage}.{unit}"
            stride = 2 if stage > 1 and unit == 0 else 1
            branch = F.relu(bn(F.conv2d(out, w[f"{p}.conv1.weight"], stride=stride, padding=1), f"{p}.bn1"))
            branch = bn(F.conv2d(branch, w[f"{p}.conv2.weight"], padding=1), f"{p}.bn2")
            shortcut = out
            if stride == 2:
                planes = branch.shape[1]
                shortcut = F.pad(out[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))
            out = F.relu(branch + shortcut)
    return F.linear(out.mean(dim=(2, 3)), w["linear.weight"], w["linear.bias"])


def readme_input(paths: list[Path]) -> torch.Tensor:
    """Decoded with Pillow to RGB, in [0, 1], normalised with ImageNet's mean and std, as the README says."""
    rgb = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])
    x = torch.from_numpy(rgb).permute(0, 3, 1, 2).float() / 255
    return (x - torch.tensor(IMAGENET_MEAN)[:, None, None]) / torch.tensor(IMAGENET_STD)[:, None, None]


def some_test_images(jpeg: Path, per_class: int) -> list[Path]:
    return [p for c in sorted((jpeg / "test").iterdir()) for p in sorted(c.iterdir())[:per_class]]


@pytest.mark.parametrize("name", FILES)
def test_logits_equal_the_readme_network_and_the_shortcut_placement_matters(name, akamaster_dir, imported,
                                                                          cifar10_jpeg_dir):  # fmt: skip
    model_name, n = FILES[name]
    state = torch.load(akamaster_dir / name, map_location="cpu", weights_only=True)["state_dict"]
    paths = some_test_images(cifar10_jpeg_dir, 10)
    x = readme_input(paths)
    loaded = cnnzoo.load(imported[name])
    assert (loaded.model_name, loaded.model_options) == (model_name, {"shortcut_pad": "both"})
    with torch.no_grad():
        expected = reference_logits(state, n, x)
        torch.testing.assert_close(loaded.model(x), expected, rtol=0, atol=1e-4)
        torch.testing.assert_close(torch.stack([loaded.preprocess(p) for p in paths]), x, rtol=0, atol=1e-6)
        appended = create_model(model_name, shortcut_pad="after").eval()  # the zeros after the identity instead
        appended.load_state_dict(loaded.model.state_dict())
        assert (appended(x) - expected).abs().max() > 1.0


@pytest.mark.slow
@pytest.mark.parametrize("name", FILES)
def test_cnnzoo_evaluate_gives_the_readme_accuracy_exactly(name, akamaster_dir, imported, cifar10_jpeg_dir,
                                                           cifar10_cache, cli):  # fmt: skip
    code, out, err = cli(["evaluate", str(imported[name]), "--data", "cifar10", "--data-dir", str(cifar10_jpeg_dir),
                          "--cache-dir", str(cifar10_cache), "--device", "cpu", "--format", "json"])  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    correct = round(result["top1"] * result["count"])
    assert result["count"] == 10_000
    assert correct == round(readme_accuracy(akamaster_dir, name) * 100)  # 8103 and 8320 of 10,000


# -------------------------------------------------------------------- fine-tuned on other data, with a new head
@pytest.mark.slow
def test_cifar10_weights_fine_tuned_on_grey_digits(imported, tmp_path, capsys):
    result = cnnzoo.train(model="resnet20", model_options={"shortcut_pad": "both"}, data="digits",
                          init_from=str(imported["resnet20-12fca82f.th"]), num_classes=10, epochs=2, lr=0.05,
                          batch_size=64, precision="fp32", tensorboard=False, plots=False,
                          run_dir=str(tmp_path / "digits"))  # fmt: skip
    out = capsys.readouterr().out
    assert "new classifier (fc.bias, fc.weight; 650 values), initialised afresh; 114 other tensors kept" in out
    assert "conv1.weight: filters for 3 input channel(s) summed into 1" in out  # digits are grey: in_chans 1
    assert result.model.conv1.weight.shape == (16, 1, 3, 3)
    print(f"akamaster resnet20 fine-tuned on digits: test top-1 {result['test']['top1']:.4f}")
    assert result["test"]["top1"] > 0.9  # chance is 0.1


@pytest.mark.slow
def test_cifar10_weights_fine_tuned_on_four_cifar_classes(imported, cifar10_jpeg_dir, tmp_path):
    folder = tmp_path / "four"
    for split, count in (("train", 150), ("test", 100)):
        for name in ("airplane", "automobile", "bird", "cat"):
            (folder / split / name).mkdir(parents=True)
            for path in sorted((cifar10_jpeg_dir / split / name).iterdir())[:count]:
                (folder / split / name / path.name).write_bytes(path.read_bytes())
    result = cnnzoo.train(model="resnet20", model_options={"shortcut_pad": "both"}, data="imagefolder",
                          data_dir=str(folder), init_from=str(imported["resnet20-12fca82f.th"]), num_classes=4,
                          lr_head_mult=10, epochs=2, lr=0.01, batch_size=64, val_size=0, precision="fp32",
                          tensorboard=False, plots=False, run_dir=str(tmp_path / "run"), quiet=True)  # fmt: skip
    print(f"akamaster resnet20 fine-tuned on 4 CIFAR-10 classes: test top-1 {result['test']['top1']:.4f}")
    assert result.model.fc.weight.shape == (4, 64)
    assert result["test"]["top1"] > 0.7  # chance is 0.25


@pytest.mark.slow
def test_explain_an_imported_akamaster_resnet20(imported, cifar10_jpeg_dir, tmp_path):
    """Grad-CAM, the first layer's filters and the feature maps of the field's weights, on two test images."""
    from cnnzoo.visual.explain import explain

    images = [cifar10_jpeg_dir / "test" / "cat" / "0000.jpg", cifar10_jpeg_dir / "test" / "airplane" / "0000.jpg"]
    result = explain(imported["resnet20-12fca82f.th"], images, tmp_path / "explain", topk=2)
    names = sorted(p.name for p in (tmp_path / "explain").iterdir())
    assert names == ["airplane_0000_gradcam.png", "cat_0000_features.png", "cat_0000_gradcam.png", "filters.png"]
    assert result.layer == "layer3"  # the last stage: 8x8 maps of a CIFAR ResNet
    with Image.open(result.filters) as grid:  # conv1's 16 filters of 3x3
        assert grid.width > 0 and grid.height > 0
