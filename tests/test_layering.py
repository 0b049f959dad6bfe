"""The package's layers only look down (docs/architecture.md): every import of a post_bench module is checked
against the layer map below, read from the source with ``ast`` (nothing is imported, so this takes well under a
second). An import that climbs a layer fails, naming the file, the line and the import; so does an import loop,
except inside a registry's own package (its ``__init__`` or base imports the modules that register in it)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "post_bench"

# lowest first; a module belongs to the layer of its first name under post_bench (post_bench.models.loading: models)
LAYERS = (
    ("errors", "registry", "atomic", "cost", "epsilon", "unit", "samples", "rows"),
    ("data", "models", "privacy", "suite"),
    ("training", "attacks"),
    ("methods", "units"),
    ("runner",),
    ("report",),
    ("checks", "gates", "audit"),
    ("commands",),
    ("cli", "entry", "__main__"),
)
REGISTRY_PACKAGES = ("attacks", "methods", "units")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    first = module.split(".")[1] if "." in module else ""
    if not first:  # the package itself (post_bench/__init__.py): the ground
        return 0
    for i, names in enumerate(LAYERS):
        if first in names:
            return i
    raise AssertionError(f"{module}: in no layer; add it to LAYERS in tests/test_layering.py and to "
                         "docs/architecture.md")


def imports(path: Path, module: str, modules: set[str]) -> list[tuple[int, str, str]]:
    """(line, imported module, the import as written) for each post_bench module imported anywhere in the file
    (module level or inside a function), outside ``if TYPE_CHECKING:`` blocks."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.dump(child.test):
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == "post_bench" and (target := resolve(alias.name)):
                        found.append((child.lineno, target, f"import {alias.name}"))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    up = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join(up + ([child.module] if child.module else []))
                if base.split(".")[0] == "post_bench":
                    for alias in child.names:
                        target = resolve(f"{base}.{alias.name}") if f"{base}.{alias.name}" in modules else resolve(base)
                        if target:
                            found.append((child.lineno, target, f"from {'.' * child.level}{child.module or ''} "
                                                                f"import {alias.name}"))
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return found


def problems(root: Path) -> list[str]:
    """Every climbing import and every import loop (outside a registry package) of the package at ``root``."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {m: set() for m in files}
    out = []
    for module, path in files.items():
        for line, target, text in imports(path, module, set(files)):
            if target == module:
                continue
            graph[module].add(target)
            if layer_of(target) > layer_of(module):
                out.append(f"{path.relative_to(root.parent)}:{line}: {text} climbs from layer {layer_of(module)} "
                           f"({module}) to layer {layer_of(target)} ({target})")
    for loop in import_loops(graph):
        packages = {".".join(m.split(".")[:2]) for m in loop}
        if len(packages) == 1 and packages.pop().split(".")[-1] in REGISTRY_PACKAGES:
            continue
        out.append("import loop: " + " -> ".join(loop))
    return out


def import_loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                loops.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return loops


def test_imports_only_look_down_and_do_not_loop():
    found = problems(PACKAGE)
    assert not found, "\n".join(found)


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "post_bench"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_climbing_import_fails_with_its_file_and_line(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "",
        "errors.py": "",
        "models/__init__.py": "",
        "models/backbone.py": "import math\n\n\ndef f():\n    from post_bench.runner import store\n",
        "runner/__init__.py": "",
        "runner/store.py": "from post_bench.errors import x\n",
    })
    assert problems(root) == ["post_bench/models/backbone.py:5: from post_bench.runner import store climbs from "
                              "layer 1 (post_bench.models.backbone) to layer 4 (post_bench.runner.store)"]


def test_a_loop_fails_outside_a_registry_package_only(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "",
        "report/__init__.py": "from .tables import t\n",
        "report/tables.py": "from . import markdown\n",
        "report/markdown.py": "from post_bench.report import tables\n",
        "units/__init__.py": "def load():\n    from post_bench.units import tune\n",
        "units/tune.py": "from post_bench.units import UNIT_KINDS\n",
    })
    assert problems(root) == ["import loop: post_bench.report.markdown -> post_bench.report.tables"]
