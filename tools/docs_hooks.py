"""MkDocs hooks (mkdocs.yml `hooks:`): before a build, draw the diagrams and turn the tutorials into pages.

Both are made from the code at every build, so they cannot go stale: docs/diagrams/*.svg by `cnnzoo draw`
(the list is tools/docs_pages.py's DIAGRAMS), docs/tutorials/*.md from the Jupytext sources beside them.
Neither is committed (.gitignore); the pages that are committed are checked by `docs_pages.py --check`.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parent


def _docs_pages():
    """tools/docs_pages.py, beside this file (MkDocs loads hooks by path, outside any package)."""
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))  # at build time: MkDocs loads hooks before it sets sys.path aside
    return importlib.import_module("docs_pages")


def on_pre_build(config, **kwargs) -> None:
    from cnnzoo.visual.draw import diagram, render

    pages = _docs_pages()
    DOCS, FAMILIES = pages.DOCS, pages.FAMILIES

    for family in FAMILIES.values():
        for d in family.diagrams:
            target = DOCS / "diagrams" / f"{d.file}.svg"
            drawn = diagram(d.model, d.level, d.module, **d.options)
            render(drawn, target)
    tutorials_to_pages(DOCS / "tutorials")


def tutorials_to_pages(folder: Path) -> list[Path]:
    """Each tutorial (a py:percent notebook) as a Markdown page beside it: text cells as text, code as code."""
    import jupytext

    written = []
    for source in sorted(folder.glob("*.py")):
        notebook = jupytext.read(source)
        page = source.with_suffix(".md")
        text = jupytext.writes(notebook, fmt="md")
        text = text.split("---\n", 2)[-1] if text.startswith("---\n") else text  # no Jupytext header on the site
        download = f"\n\n---\nThe notebook, as text: [{source.name}]({source.name}) (open it with Jupytext or run it as a script).\n"
        page.write_text(text.strip() + download)
        written.append(page)
    return written
