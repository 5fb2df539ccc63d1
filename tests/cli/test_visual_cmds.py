"""`cnnzoo draw`, `explain` and `report` on the command line: files written, bad input refused in one line."""

from __future__ import annotations

import json
import re

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


@pytest.mark.slow
def test_report_writes_one_self_contained_page(digits_run, tmp_path, cli):
    out = tmp_path / "report.html"
    code, stdout, err = cli(["report", str(digits_run), "--output", str(out), "--worst", "3"])
    assert code == 0, err
    page = out.read_text()
    for heading in (
        "Training curves",
        "Confusion matrix (test)",
        "Per-class accuracy (test)",
        "The test images it got most wrong",
        "Results",
        "Config",
        "Environment",
    ):
        assert f"<h2>{heading}</h2>" in page
    sources = re.findall(r'<img[^>]* src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)  # nothing to fetch
    assert not re.search(r'(href|src)="https?:', page)
    results = json.loads((digits_run / "results.json").read_text())
    wrong = sum(sum(row) - row[i] for i, row in enumerate(results["confusion"]))
    assert f"{wrong} of {results['test']['count']} test images were misclassified" in page or wrong == 0
    assert len(sources) == 2 + min(wrong, 3)  # curves, confusion, one Grad-CAM figure per wrong image shown


def test_report_of_a_folder_without_results_is_one_line(tmp_path, cli):
    code, _, err = cli(["report", str(tmp_path)])
    assert code == 2 and "has no results.json" in err and err.strip().count("\n") == 0
