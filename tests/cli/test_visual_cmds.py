"""`cnnzoo draw`, `explain` and `report` on the command line: files written, bad input refused in one line."""

from __future__ import annotations

import pytest
from PIL import Image


def test_draw_command_writes_the_file_and_refuses_other_formats(cli, tmp_path):
    code, out, _ = cli(["draw", "resnet20", "-o", "shortcut=B", "--output", str(tmp_path / "r.svg")])
    assert code == 0 and "9 residual units (2 projection shortcuts)" in out
    assert (tmp_path / "r.svg").stat().st_size > 1000
    code, _, err = cli(["draw", "resnet20", "--output", str(tmp_path / "r.pdf")])
    assert code == 2 and err.strip().count("\n") == 0 and ".svg or .png" in err
    code, _, err = cli(["draw", "resnet20", "--module", "layer9"])
    assert code == 2 and "no module 'layer9'" in err


@pytest.mark.slow
def test_explain_a_trained_digits_run(digits_run, tmp_path, cli):
    from cnnzoo.data.datasets import load_split

    test = load_split("digits", "test")
    paths = []
    for i in range(2):
        paths.append(tmp_path / f"digit{i}.png")
        Image.fromarray(test.images[i, 0].numpy()).save(paths[-1])
    out = tmp_path / "explain"
    code, stdout, err = cli(["explain", str(digits_run), *map(str, paths), "--output", str(out), "--topk", "2"])
    assert code == 0, err
    assert "Grad-CAM of layer layer3" in stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == ["digit0_features.png", "digit0_gradcam.png", "digit1_gradcam.png", "filters.png"]
    with Image.open(out / "digit0_gradcam.png") as png:
        assert png.width > 2.5 * png.height  # the image and two overlays side by side
