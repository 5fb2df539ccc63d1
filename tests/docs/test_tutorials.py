"""The tutorials run as notebooks, top to bottom, on the CPU: each is a Jupytext text file executed by nbclient."""

from __future__ import annotations

from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[2] / "docs" / "tutorials"
TRAINING = {"degradation", "train_and_look"}  # these train networks: a minute or two each on 2 cores


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(p.stem, marks=[pytest.mark.slow] if p.stem in TRAINING else [])
        for p in sorted(TUTORIALS.glob("*.py"))
    ],
)
def test_tutorial_runs_as_a_notebook(name, tmp_path):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    notebook = jupytext.read(TUTORIALS / f"{name}.py")
    assert sum(cell.cell_type == "code" for cell in notebook.cells) >= 2
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # a failing cell (an assert that does not hold) raises CellExecutionError here
    errors = [o for cell in notebook.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


def test_every_tutorial_is_listed_on_the_tutorials_page():
    index = (TUTORIALS / "index.md").read_text()
    for source in TUTORIALS.glob("*.py"):
        assert f"({source.stem}.md)" in index, source.name
