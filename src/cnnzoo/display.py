"""Where live output goes: a progress bar in a terminal or a Jupyter notebook, plain lines everywhere else.

A notebook's cells show tqdm.auto's widget bars (with ipywidgets, the notebook extra; without it tqdm's text
bars, which Jupyter shows as well); a terminal shows tqdm's text bars on stderr; a log file or a pipe gets the
plain lines each caller writes, never a bar's carriage returns.
"""

from __future__ import annotations

import sys
from typing import Any


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel, whose cells show tqdm's widget bars (stderr is no terminal)."""
    shell = sys.modules.get("IPython")
    ipython = getattr(shell, "get_ipython", lambda: None)() if shell is not None else None
    return ipython is not None and type(ipython).__name__ == "ZMQInteractiveShell"


def live() -> bool:
    """Whether someone watches: stderr is a terminal, or the output is a notebook cell's."""
    return sys.stderr.isatty() or in_notebook()


def progress_bar(total: int, description: str, unit: str = "it", **options: Any) -> Any:
    """A tqdm.auto bar on stderr that disappears when closed: a widget in a notebook, text on a terminal."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit=unit, leave=False, file=sys.stderr, **options)
