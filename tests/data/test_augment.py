"""Augmentations beyond crop/flip/cutout: mixup and cutmix per batch, torchvision's policies per image.

Mixing is checked on batches whose images are constant planes with distinct values and whose labels are all
different, so every mixed pixel and every target row says which two images were mixed and by how much.
"""

from __future__ import annotations

import pytest
import torch

from cnnzoo.data import Augment, DataSpec, DeviceLoader, ImageArrays, StreamingLoader
from cnnzoo.data.spec import POLICIES
from cnnzoo.errors import CnnzooError
from cnnzoo.training.config import TrainConfig

N, SIZE = 16, 8


def _planes() -> ImageArrays:
    """N images, image i all of value 10 + 10·i, label i (one class per image)."""
    values = (10 + 10 * torch.arange(N)).to(torch.uint8)
    images = values.view(N, 1, 1, 1).expand(N, 3, SIZE, SIZE).contiguous()
    return ImageArrays(images, torch.arange(N), [str(i) for i in range(N)])


def _loader(augment: Augment, data: ImageArrays | None = None, seed: int = 0, epoch: int = 0) -> DeviceLoader:
    data = data or _planes()
    channels = data.images.shape[1]
    loader = DeviceLoader(
        data, N, mean=(0.0,) * channels, std=(1.0,) * channels, shuffle=True, augment=augment, seed=seed
    )
    loader.set_epoch(epoch)
    return loader


def _batch(loader: DeviceLoader) -> tuple[torch.Tensor, torch.Tensor]:
    return next(iter(loader))


def _pairs(targets: torch.Tensor) -> list[tuple[int, int, float]]:
    """(image a, image b, lam) of each mixed target row (classes = images here)."""
    out = []
    for row in targets:
        weights, classes = row.topk(2)
        a, b = classes.tolist()
        out.append((a, b if weights[1] > 0 else a, float(weights[0])))
    return out


def test_mixup_blends_each_image_with_its_partner_by_the_weight_of_its_targets():
    images, targets = _batch(_loader(Augment(mixup=0.4)))
    assert targets.shape == (N, N) and targets.dtype == torch.float32
    torch.testing.assert_close(targets.sum(1), torch.ones(N))
    pairs = _pairs(targets)
    lams = {round(max(lam, 1 - lam), 5) for a, b, lam in pairs if a != b}
    assert len(lams) == 1, f"one lam per batch, got {lams}"
    assert sorted(a for a, _, _ in pairs) == list(range(N)), "every image appears once as the dominant one"
    for i, (a, b, lam) in enumerate(pairs):
        expected = (lam * (10 + 10 * a) + (1 - lam) * (10 + 10 * b)) / 255
        torch.testing.assert_close(images[i], torch.full((3, SIZE, SIZE), expected), atol=1e-5, rtol=0)


def _box(mask: torch.Tensor) -> tuple[int, int, int, int] | None:
    """The rectangle `mask` is True on, or None when it is not one."""
    rows, cols = mask.nonzero(as_tuple=True)
    box = (int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1)
    return box if (box[1] - box[0]) * (box[3] - box[2]) == len(rows) else None


def test_cutmix_pastes_a_box_whose_area_is_the_partners_label_weight():
    images, targets = _batch(_loader(Augment(cutmix=1.0), seed=3))
    mixed = 0
    for i, row in enumerate(targets):
        weights = {int(c): float(w) for c, w in enumerate(row) if w > 0}
        assert len(weights) in (1, 2) and abs(sum(weights.values()) - 1) < 1e-6
        sources = images[i, 0].mul(255).round().sub(10).div(10).long()  # each pixel: whose image it came from
        for source, weight in weights.items():
            assert (sources == source).float().mean().item() == pytest.approx(weight, abs=1e-6)
        if len(weights) == 2:
            mixed += 1
            assert any(_box(sources == source) for source in weights), "the pasted pixels form a rectangle"
        assert torch.equal(images[i, 0], images[i, 1]) and torch.equal(images[i, 0], images[i, 2])
    assert mixed > N // 2, "the batch was hardly mixed"


def test_mixing_is_reproducible_per_seed_and_epoch():
    augment = Augment(mixup=0.2, cutmix=1.0, crop_padding=2, flip=True)
    first, again = _batch(_loader(augment, epoch=1)), _batch(_loader(augment, epoch=1))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[1], _batch(_loader(augment, epoch=2))[1])
    assert not torch.equal(first[1], _batch(_loader(augment, seed=1, epoch=1))[1])


def test_unmixed_batches_carry_one_hot_targets_and_the_plain_images():
    """A batch left unmixed (mix_prob) is the plain loader's, its labels as one-hot rows: one shape for all."""
    plain_images, labels = _batch(_loader(Augment(crop_padding=2, flip=True, cutout=3)))
    images, targets = _batch(_loader(Augment(crop_padding=2, flip=True, cutout=3, mixup=1.0, mix_prob=1e-9)))
    assert labels.dtype == torch.int64 and labels.shape == (N,)
    assert torch.equal(images, plain_images)
    assert torch.equal(targets, torch.nn.functional.one_hot(labels, N).float())
    off_images, off_labels = _batch(_loader(Augment(crop_padding=2, flip=True, cutout=3, mixup=1.0, mix_prob=0.0)))
    assert torch.equal(off_images, plain_images) and torch.equal(off_labels, labels), "mix_prob 0 is off"


def _random_images(n: int = 8, channels: int = 3) -> ImageArrays:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, channels, 16, 16), dtype=torch.uint8, generator=generator)
    return ImageArrays(images, torch.arange(n) % 2, ["a", "b"])


@pytest.mark.parametrize("policy", [p for p in POLICIES if p != "none"])
def test_device_policies_change_each_image_with_its_own_draw_reproducibly(policy):
    same = ImageArrays(_random_images().images[:1].expand(8, -1, -1, -1).contiguous(), torch.zeros(8).long(), ["a"])
    plain = _batch(_loader(Augment(), same))[0]
    first = _batch(_loader(Augment(auto_augment=policy), same, epoch=1))[0]
    assert not torch.equal(first, plain), "the policy changed nothing"
    assert len({tuple(image.flatten().tolist()) for image in first}) > 2, "one draw for the whole batch"
    assert torch.equal(first, _batch(_loader(Augment(auto_augment=policy), same, epoch=1))[0])
    assert not torch.equal(first, _batch(_loader(Augment(auto_augment=policy), same, epoch=2))[0])


def test_device_policy_leaves_the_global_generator_alone_and_works_on_grey_images():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    images, _ = _batch(_loader(Augment(auto_augment="trivialaugment"), _random_images(channels=1)))
    assert images.shape == (8, 1, 16, 16) and torch.isfinite(images).all()
    assert torch.equal(torch.rand(3), expected)


def test_streaming_loader_applies_policies_and_mixing(tiny_folder):
    root, _ = tiny_folder

    def batches(epoch: int, **augment) -> list[tuple[torch.Tensor, torch.Tensor]]:
        spec = DataSpec("imagefolder", root, batch_size=6, workers=0, augment=Augment(**augment), seed=1, val_size=0)
        loader = StreamingLoader(spec, "train", mean=(0.5,) * 3, std=(0.25,) * 3, train=True)
        loader.set_epoch(epoch)
        return list(loader)

    plain = batches(0)
    augmented = batches(0, auto_augment="randaugment", mixup=0.5)
    assert all(t.shape == (6, 3) and torch.isfinite(i).all() for i, t in augmented)
    assert not torch.equal(plain[0][0], augmented[0][0])
    again = batches(0, auto_augment="randaugment", mixup=0.5)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(augmented, again))
    assert not torch.equal(augmented[0][0], batches(1, auto_augment="randaugment", mixup=0.5)[0][0])


@pytest.mark.parametrize(
    "values",
    [dict(auto_augment="autoaugment-v2"), dict(mixup=-0.1), dict(cutmix=float("nan")), dict(mix_prob=1.5)],
)
def test_bad_settings_are_refused_in_one_line(values):
    with pytest.raises(CnnzooError) as err:
        Augment(**values)
    assert "\n" not in str(err.value)
    with pytest.raises(CnnzooError):
        TrainConfig.from_dict({"model": "resnet20", "data": "digits", **values})
