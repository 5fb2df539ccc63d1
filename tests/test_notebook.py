"""cnnzoo in a notebook: progress bars where stderr is no terminal, tables as Markdown instead of dataclass dumps,
train's keyword form and its result object, predict's probability array; last, all of it in a real Jupyter kernel."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest

import cnnzoo
from cnnzoo import display
from cnnzoo.data.datasets import Progress
from cnnzoo.training.progress import EpochProgress


class ZMQInteractiveShell:
    """Stands for IPython's kernel shell: the class name is what tells a notebook from a terminal."""

    config: dict = {}


@pytest.fixture
def fake_kernel(monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=ZMQInteractiveShell))


def test_bars_show_in_a_notebook_though_stderr_is_no_terminal(fake_kernel, capsys):
    from tqdm.auto import tqdm as auto_tqdm

    assert not sys.stderr.isatty() and display.in_notebook() and display.live()
    progress = EpochProgress(quiet=False, epochs=2, steps_per_epoch=4)
    progress.epoch_start(0)
    assert isinstance(progress.bar, auto_tqdm)  # tqdm.auto's class: a widget in a real kernel
    progress.refresh(2, loss=1.5, acc=0.5, images_per_s=100.0, lr=0.1)
    progress.bar.close()
    with Progress("decoding 3 images", total=3) as note:
        assert isinstance(note.bar, auto_tqdm)
        note.update()
    assert "epoch 1/2" in capsys.readouterr().err


def test_no_bars_in_a_log(capsys):
    assert not display.live()  # pytest's captured stderr, no kernel: a log or a pipe
    progress = EpochProgress(quiet=False, epochs=1, steps_per_epoch=4)
    progress.epoch_start(0)
    assert progress.bar is None
    with Progress("decoding 3 images", total=3) as note:
        assert note.bar is None
    assert capsys.readouterr().err.startswith("cnnzoo: decoding 3 images ...\ncnnzoo: done in ")


def test_summary_and_arch_tables_display_as_markdown_tables():
    summary = cnnzoo.summary("resnet20")
    assert len(repr(summary)) < 200 and "269,722 parameters" in repr(summary)
    markdown = summary._repr_markdown_()
    assert "| Layer (type (var_name):depth-idx) |" in markdown and "Total params: 269,722" in markdown
    tables = cnnzoo.arch_tables(["resnet20", "resnet56"])
    assert len(repr(tables)) < 400
    markdown = tables._repr_markdown_()
    assert markdown.count("**resnet") == 2 and "| # filters | 16 | 32 | 64 |" in markdown
    assert tables[0]._repr_markdown_() in markdown


def test_train_keywords_result_object_and_probability_array(tmp_path):
    result = cnnzoo.train(model="resnet20", data="digits", epochs=1, batch_size=64, precision="fp32",
                          tensorboard=False, plots=False, run_dir=str(tmp_path / "run"), quiet=True)  # fmt: skip
    assert result.run_dir == tmp_path / "run" and result.results == json.loads(
        (tmp_path / "run" / "results.json").read_text()
    )
    assert result["test"]["top1"] == result.results["test"]["top1"]  # still the dict it always was
    assert type(result.model).__name__ == "ResNet" and not result.model.training
    assert "test top-1" in result._repr_markdown_() and len(repr(result)) < 300
    images = list(np.random.default_rng(0).integers(0, 256, size=(3, 8, 8), dtype=np.uint8))
    probs = result.loaded.predict(images, probs=True)
    assert probs.shape == (3, 10) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
    top = result.loaded.predict(images, topk=1)
    assert [row[0][0] for row in top] == [result.loaded.classes[i] for i in probs.argmax(axis=1)]
    assert result.loaded.predict([], probs=True).shape == (0, 10)
    assert repr(result.loaded).startswith("LoadedModel('resnet20', 10 classes, input 1x8x8")


@pytest.mark.slow
def test_in_a_jupyter_kernel(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = [
        "import sys, cnnzoo\nfrom cnnzoo.display import in_notebook\nassert in_notebook() and not sys.stderr.isatty()",
        "cnnzoo.summary('resnet20')",
        "cnnzoo.arch_tables(['resnet20'])",
        f"result = cnnzoo.train(model='resnet20', data='digits', epochs=1, batch_size=64, precision='fp32', "
        f"tensorboard=False, plots=False, run_dir={str(tmp_path / 'run')!r})",
        "result",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    outputs = [cell.outputs for cell in notebook.cells]
    for shown in (outputs[1], outputs[2], outputs[4]):
        (result,) = [o for o in shown if o.output_type == "execute_result"]
        assert "text/markdown" in result.data and len(result.data["text/plain"]) < 300
    assert "| Layer (type (var_name):depth-idx) |" in outputs[1][0].data["text/markdown"]
    trained = outputs[3]
    lines = "".join(o.get("text", "") for o in trained if o.output_type == "stream" and o.name == "stdout")
    assert "epoch 1/1" in lines
    try:
        import ipywidgets  # noqa: F401
    except ImportError:  # tqdm's text bar, which Jupyter shows as stderr
        assert any(o.output_type == "stream" and o.name == "stderr" and "epoch 1/1" in o.text for o in trained)
    else:  # a widget per epoch bar
        assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in trained)
