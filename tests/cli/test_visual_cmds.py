"""`cnnzoo draw`, `explain` and `report` on the command line: files written, bad input refused in one line."""

from __future__ import annotations


def test_draw_command_writes_the_file_and_refuses_other_formats(cli, tmp_path):
    code, out, _ = cli(["draw", "resnet20", "-o", "shortcut=B", "--output", str(tmp_path / "r.svg")])
    assert code == 0 and "9 residual units (2 projection shortcuts)" in out
    assert (tmp_path / "r.svg").stat().st_size > 1000
    code, _, err = cli(["draw", "resnet20", "--output", str(tmp_path / "r.pdf")])
    assert code == 2 and err.strip().count("\n") == 0 and ".svg or .png" in err
    code, _, err = cli(["draw", "resnet20", "--module", "layer9"])
    assert code == 2 and "no module 'layer9'" in err
