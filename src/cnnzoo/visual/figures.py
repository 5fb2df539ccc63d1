"""matplotlib figures without pyplot's global state, written as PNGs atomically: one copy for every picture."""

from __future__ import annotations

from pathlib import Path

from cnnzoo.io import atomic_write


def new_figure(ncols: int = 1, width: float = 7.0, height: float = 5.0):
    """A matplotlib Figure on an Agg canvas (no pyplot state) and its row of axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, list(fig.subplots(1, ncols, squeeze=False)[0])


def save_figure(fig, path: str | Path) -> Path:
    """Write the figure as a PNG, atomically (a half-written plot is never left behind)."""
    fig.tight_layout()
    path = Path(path)
    atomic_write(path, lambda f: fig.savefig(f, format="png"))
    return path
