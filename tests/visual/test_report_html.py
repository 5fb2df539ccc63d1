"""report.html twins: an experiment's report.md as one page with its tables and figures inside."""

from __future__ import annotations

import base64
import re

from cnnzoo.experiments.report import Point, errorbar_plot, write_report


def test_every_report_md_gets_a_self_contained_html_twin(tmp_path):
    errorbar_plot(
        tmp_path / "accuracy.png", [Point("resnet20", 0.04, 91.0, 0.2)], xlabel="GMACs", ylabel="top-1", title="t"
    )
    write_report(
        tmp_path,
        title="cnnzoo leaderboard (quick budget)",
        setting={"seeds": 3},
        columns=["model", "test top-1 (%)"],
        rows=[["resnet20", "91.00 ± 0.20"]],
        record={},
        figures=["accuracy.png"],
    )
    page = (tmp_path / "report.html").read_text()
    assert "<title>cnnzoo leaderboard (quick budget)</title>" in page
    assert "<td>resnet20</td>" in page and "<th>test top-1 (%)</th>" in page
    (src,) = re.findall(r'<img[^>]* src="([^"]*)"', page)
    assert base64.b64decode(src.removeprefix("data:image/png;base64,")) == (tmp_path / "accuracy.png").read_bytes()
