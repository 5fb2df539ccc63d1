"""Seeing a network: diagrams drawn from the built model, what a trained one looks at, and run reports.

Modules: draw (architecture diagrams from the module tree, laid out by Graphviz), explain (Grad-CAM overlays,
first-layer filters, feature maps), report_html (a run's self-contained report.html, and HTML twins of the
experiments' report.md). Their heavy libraries (graphviz, captum) are imported when first used.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from cnnzoo.errors import CnnzooError


def require(package: str, extra: str = "viz") -> ModuleType:
    """Import an optional package, or fail in one line naming the extra that installs it."""
    try:
        return importlib.import_module(package)
    except ImportError:
        raise CnnzooError(f"this needs the {package} package; install it with: pip install 'cnnzoo[{extra}]'") from None
