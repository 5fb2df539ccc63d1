"""The package's layers, read from the source's imports (those inside functions too): no cycles, and the lower
layers never reach up (models and data never import training, training never imports the CLI)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# (importer, what it must never import): a layer lower down knows nothing of the layers built on it.
FORBIDDEN = [
    ("cnnzoo.models", "cnnzoo.training"),
    ("cnnzoo.models", "cnnzoo.data"),
    ("cnnzoo.models", "cnnzoo.cli"),
    ("cnnzoo.models", "cnnzoo.experiments"),
    ("cnnzoo.data", "cnnzoo.training"),
    ("cnnzoo.data", "cnnzoo.models"),
    ("cnnzoo.data", "cnnzoo.cli"),
    ("cnnzoo.data", "cnnzoo.experiments"),
    ("cnnzoo.training", "cnnzoo.cli"),
    ("cnnzoo.training", "cnnzoo.experiments"),
    ("cnnzoo.inspect", "cnnzoo.training"),
    ("cnnzoo.inspect", "cnnzoo.cli"),
    ("cnnzoo.errors", "cnnzoo."),
    ("cnnzoo.settings", "cnnzoo.data"),
    ("cnnzoo.io", "cnnzoo.training"),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, package: str, modules: set[str] | None = None) -> set[str]:
    """The cnnzoo modules a source file of `package` imports, wherever the import statement stands (blocks under
    `if TYPE_CHECKING:` never run and are left out). `from pkg import name` is the submodule `pkg.name` when
    there is one among `modules`, else `pkg` itself."""
    tree = ast.parse(path.read_text())
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for n in ast.walk(node)}  # fmt: skip
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if modules is None or sub in modules else base)
    return {m for m in found if m.startswith("cnnzoo")}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in (SRC / "cnnzoo").rglob("*.py")}
    package = {name: name if p.name == "__init__.py" else name.rsplit(".", 1)[0] for name, p in files.items()}
    names = set(files)
    return {
        name: {m for m in imports_of(p, package[name], names) if m in files and m != name} for name, p in files.items()
    }


@pytest.mark.parametrize("importer, imported", FORBIDDEN)
def test_lower_layers_never_import_higher_ones(graph, importer, imported):
    offenders = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module == importer or module.startswith(importer + ".")
        for target in targets
        if target.startswith(imported) and not (module.startswith(imported) and imported.endswith("."))
    )
    assert not offenders, offenders


def test_no_import_cycles(graph):
    assert not find_cycles(graph)


def test_the_cycle_finder_finds_a_cycle_through_three_modules():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module: each is an import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_checker_sees_imports_inside_functions_and_relative_ones(tmp_path):
    """A cycle hidden in a function-level import is still a cycle: the reader must see it."""
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from cnnzoo.training import loop\n    import cnnzoo.cli\n    from . import io\n")
    assert imports_of(source, "cnnzoo") == {"cnnzoo.training.loop", "cnnzoo.cli", "cnnzoo.io"}
