"""Reports a person opens: a run's self-contained report.html, and the HTML twin of an experiment's report.md.

Everything is inside the one file (styles inline, figures as PNG data URIs), so it opens offline, from a mail
attachment or a CI artefact. A run's report holds its curves, confusion matrix, per-class accuracy, the test
images it got most wrong with their Grad-CAM, and its config, environment and results.
"""

from __future__ import annotations

import base64
import html
import json
import tempfile
from pathlib import Path
from typing import Any

from cnnzoo.errors import CnnzooError
from cnnzoo.io import atomic_write

STYLE = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 72em; color: #222;
       padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f5f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; } .bar { background: #4a7fc1; height: 0.8em; display: inline-block; }
.summary { font-size: 1.15em; } .muted { color: #777; } pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; }
figure { display: inline-block; margin: 0.4em; vertical-align: top; } figure img { width: 25em; }
figcaption { font-size: 0.85em; color: #555; } img.confusion { width: 36em; }
.columns { display: flex; flex-wrap: wrap; gap: 2em; align-items: flex-start; } .columns > div { flex: 1 1 30em; }
"""


def page(title: str, body: str) -> str:
    """A whole HTML document: the title, inline styles and the body; nothing loaded from elsewhere."""
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
        f"<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def data_uri(path: str | Path) -> str:
    """A PNG file as a data: URI, so the page carries it."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _img(path: str | Path, alt: str) -> str:
    return f'<img src="{data_uri(path)}" alt="{html.escape(alt)}">'


def _table(rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if isinstance(c, (int, float)) else f"<td>{c}</td>" for c in row)
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


# ------------------------------------------------------------------------------------------- a run
def run_report(run_dir: str | Path, output: str | Path | None = None, *, worst: int = 8, device: str = "cpu") -> Path:
    """Write RUN_DIR/report.html (or `output`): one file, viewable offline; returns its path."""
    import yaml

    from cnnzoo.training.runlog import RunDir

    run = RunDir(run_dir)
    results = run.read_results()
    if results is None:
        raise CnnzooError(f"{run.path} has no results.json: report a finished run directory (its training wrote it)")
    config = yaml.safe_load(run.config.read_text()) if run.config.exists() else {}
    env = json.loads(run.env.read_text()) if run.env.exists() else {}
    classes = list(results.get("classes") or [])
    test = results.get("test") or {}
    title = f"{results.get('model')} on {results.get('data')}"
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="summary">test top-1 <b>{_pct(test.get("top1"))}</b>, top-5 {_pct(test.get("top5"))} '
        f"on {test.get('count', '?')} images; best validation top-1 {_pct((results.get('val_best') or {}).get('top1'))}"
        f" at epoch {(results.get('val_best') or {}).get('epoch', '?')} of {results.get('epochs', '?')}</p>",
        f'<p class="muted">{html.escape(str(run.path))}</p>',
    ]
    with tempfile.TemporaryDirectory() as tmp:
        figures = RunDir(tmp)  # the run's own plotting, drawn afresh into a scratch folder
        history = run.read_metrics()
        parts.append("<h2>Training curves</h2>")
        if history:
            figures.plot_curves(history)
            parts.append(_img(figures.curves, "loss and accuracy per epoch"))
        else:
            parts.append('<p class="muted">no metrics recorded</p>')
        parts.append("<h2>Confusion matrix (test)</h2>")
        if results.get("confusion"):
            figures.plot_confusion(results["confusion"], classes)
            parts.append(_img(figures.confusion, "confusion matrix").replace("<img ", '<img class="confusion" '))
        parts.append("<h2>Per-class accuracy (test)</h2>")
        parts.append(_per_class(results, classes))
        parts.append("<h2>The test images it got most wrong</h2>")
        parts.append(_most_wrong(run.path, config, worst, device, Path(tmp)))
    parts.append(
        "<h2>Results</h2>" + _table(_flat(results, skip=("confusion", "per_class", "classes")), ("key", "value"))
    )
    parts.append(
        '<div class="columns"><div><h2>Config</h2><pre>'
        + html.escape(yaml.safe_dump(config, sort_keys=False))
        + "</pre></div><div><h2>Environment</h2>"
        + _table(_flat(env), ("key", "value"))
        + "</div></div>"
    )
    text = page(f"cnnzoo report: {title}", "\n".join(parts))
    path = Path(output) if output else run.path / "report.html"
    atomic_write(path, lambda f: f.write(text.encode()))
    return path


def _pct(value: Any) -> str:
    return f"{100 * value:.2f}%" if isinstance(value, (int, float)) else "?"


def _flat(data: dict, prefix: str = "", skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Nested dicts as (dotted key, value) rows."""
    rows = []
    for key, value in data.items():
        if key in skip:
            continue
        if isinstance(value, dict):
            rows += _flat(value, f"{prefix}{key}.")
        else:
            rows.append(
                (html.escape(f"{prefix}{key}"), html.escape(json.dumps(value) if not isinstance(value, str) else value))
            )
    return rows


def _per_class(results: dict, classes: list[str]) -> str:
    per_class = results.get("per_class") or {}
    counts = [sum(row) for row in results.get("confusion") or []] or [None] * len(classes)
    rows = []
    for name, count in zip(classes, counts):
        accuracy = per_class.get(name)
        bar = f'<span class="bar" style="width:{8 * (accuracy or 0):.2f}em"></span>'
        rows.append((html.escape(name), count if count is not None else "", _pct(accuracy), bar))
    return _table(rows, ("class", "images", "accuracy", ""))


def _most_wrong(run_dir: Path, config: dict, worst: int, device: str, scratch: Path) -> str:
    """The misclassified test images the model was surest of, each with Grad-CAM of its guess and of the truth."""
    import torch

    from cnnzoo.data.datasets import load_split
    from cnnzoo.predict import load
    from cnnzoo.visual.explain import display_image, grad_cam, logits_of, overlay_figure

    try:
        loaded = load(run_dir, device=device)
        test = load_split(
            config.get("data", ""),
            "test",
            config.get("data_dir"),
            download=False,
            cache_dir=config.get("cache_dir"),
            image_size=config.get("image_size"),
        )
    except CnnzooError as err:
        return f'<p class="muted">not shown: {html.escape(str(err))}</p>'
    model = loaded.model.float().eval()
    batch = torch.stack([loaded.preprocess(image) for image in test.images])
    with torch.no_grad():
        probs = torch.cat([logits_of(model)(part.to(device)).softmax(1).cpu() for part in batch.split(256)])
    confidence, predicted = probs.max(1)
    wrong = (predicted != test.labels).nonzero().flatten()
    if len(wrong) == 0:
        return "<p>none: every test image was classified correctly.</p>"
    order = wrong[confidence[wrong].argsort(descending=True)][:worst]
    figures = []
    for rank, i in enumerate(order.tolist()):
        truth, guess = int(test.labels[i]), int(predicted[i])
        x = batch[i : i + 1].to(device)
        heats = grad_cam(model, x, [guess, truth]).cpu()
        titles = [
            f"guess {loaded.classes[guess]} ({100 * probs[i, guess]:.0f}%)",
            f"truth {loaded.classes[truth]} ({100 * probs[i, truth]:.0f}%)",
        ]
        png = overlay_figure(display_image(loaded, batch[i]), heats, titles, scratch / f"wrong{rank}.png", f"test #{i}")
        figures.append(
            f"<figure>{_img(png, f'test image {i}')}<figcaption>test image {i}: Grad-CAM of the guess "
            f"and of the true class</figcaption></figure>"
        )
    return (
        f"<p>{len(wrong)} of {len(test)} test images were misclassified; the {len(order)} it was surest of:</p>"
        + "".join(figures)
    )


# ------------------------------------------------------------------------------------------- report.md's twin
def markdown_twin(markdown_path: str | Path) -> Path:
    """report.html beside a report.md: the same text, its tables and its figures (embedded), in one file."""
    import markdown

    source = Path(markdown_path)
    text = source.read_text()
    body = markdown.markdown(text, extensions=["tables", "fenced_code"])
    for png in sorted(source.parent.glob("*.png")):  # the figures the report links, carried inside the page
        body = body.replace(f'src="{png.name}"', f'src="{data_uri(png)}"')
    title = next((line[2:] for line in text.splitlines() if line.startswith("# ")), source.parent.name)
    path = source.with_suffix(".html")
    data = page(title, body)
    atomic_write(path, lambda f: f.write(data.encode()))
    return path
