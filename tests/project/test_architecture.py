"""The package's import contract (docs/architecture.md): each layer imports only from the layers below
it, no module imports another in a cycle, no `_private` name is imported from another module, and
every import deferred into a function says why.

Read from the source with ast, so the contract covers every import, module-level or deferred, and
nothing needs installing. Imports under `if TYPE_CHECKING:` are annotations only and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gradcheck

PACKAGE = Path(gradcheck.__file__).resolve().parent
# Bottom to top. A module's layer is its subpackage; the package's own top-level modules are its
# front: the public API (gradcheck.torch and gradcheck.jax too), `python -m gradcheck` and the pytest
# plugin, beside the command line.
LAYERS = ("base", "ops", "language", "inputs", "oracles", "verdict", "diagnose", "teach", "render", "checks",
          "batch", "front")
# The front's folder: the command line, one module per command, beside the package's own modules.
FRONT_FOLDERS = ("cli",)


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in LAYERS[:-1]:
        return parts[1]
    return "front"


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        name = ".".join(("gradcheck", *path.relative_to(PACKAGE).with_suffix("").parts))
        found[name.removesuffix(".__init__")] = path
    return found


def _type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING" or (
        isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")


def imports(module: str, path: Path) -> list[tuple[str, list[str], int, bool]]:
    """(target module, names, line, deferred) for each import of a gradcheck module in `module`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    known = modules()
    found = []

    def visit(node: ast.AST, deferred: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for sub in child.orelse:
                    visit(sub, deferred)
                continue
            inner = deferred or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target.split(".")[0] == "gradcheck":
                    for alias in child.names:
                        sub = f"{target}.{alias.name}"
                        found.append((sub if sub in known else target, [alias.name], child.lineno, deferred))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == "gradcheck":
                        found.append((alias.name, [], child.lineno, deferred))
            visit(child, inner)

    visit(tree, False)
    return found


ALL = modules()


@pytest.mark.parametrize("module", sorted(ALL))
def test_imports_point_down(module):
    mine = LAYERS.index(layer_of(module))
    up = [(target, line) for target, _, line, _ in imports(module, ALL[module])
          if target in ALL and LAYERS.index(layer_of(target)) > mine]
    assert not up, f"{module} ({layer_of(module)}) imports from above: {up}"


def test_every_module_is_in_a_layer_and_every_layer_says_what_it_owns():
    for name in LAYERS[:-1]:
        init = PACKAGE / name / "__init__.py"
        assert init.exists(), name
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc.split()) >= 8, f"gradcheck/{name}/__init__.py says what the layer owns"
    front = {m for m in ALL if layer_of(m) == "front" and m.split(".")[1:2] not in ([f] for f in FRONT_FOLDERS)}
    assert front == {"gradcheck", "gradcheck.__main__", "gradcheck.pytest_plugin", "gradcheck.torch", "gradcheck.jax"}, front


def test_no_import_cycles():
    graph = {m: {t for t, _, _, _ in imports(m, p) if t in ALL and t != m} for m, p in ALL.items()}
    # a package's __init__ that imports its own modules is not a cycle with them
    for m in graph:
        graph[m] = {t for t in graph[m] if not (m.startswith(t + ".") and ALL[t].name == "__init__.py")}
    state: dict[str, int] = {}
    cycles = []

    def walk(m: str, stack: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t):] + [t] if t in stack else [m, t])
            elif t not in state:
                walk(t, stack + [t])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            walk(m, [m])
    assert not cycles, cycles[:5]


def test_no_private_name_is_imported_from_another_module():
    private = [(m, target, names, line) for m, p in ALL.items() for target, names, line, _ in imports(m, p)
               if target != m and any(n.startswith("_") and not n.startswith("__") for n in names)]
    assert not private, private


def _module_aliases(module: str, tree: ast.AST, known: dict[str, Path]) -> set[str]:
    """The names `module` binds to another gradcheck module (`from . import hypotheses as hy`,
    `import gradcheck.verdict.agreement as agreement`)."""
    package = module if known[module].name == "__init__.py" else module.rsplit(".", 1)[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            base = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
            names |= {alias.asname or alias.name for alias in node.names if f"{base}.{alias.name}" in known}
        elif isinstance(node, ast.Import):
            names |= {alias.asname for alias in node.names if alias.asname and alias.name in known}
    return names


def _private_reads(module: str, tree: ast.AST, known: dict[str, Path]) -> list[tuple[str, str, str, int]]:
    aliases = _module_aliases(module, tree, known)
    return [(module, node.value.id, node.attr, node.lineno) for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id in aliases and node.attr.startswith("_") and not node.attr.startswith("__")]


def test_no_private_name_is_read_through_another_module():
    """`hy._near` is a private name imported by another route: the same contract."""
    found = [read for m, p in ALL.items() for read in _private_reads(m, ast.parse(p.read_text(encoding="utf-8")), ALL)]
    assert not found, found


def test_the_private_read_check_sees_a_private_read():
    """The check above can fail: a module that reads `hy._near` is caught, a public name is not."""
    tree = ast.parse("from . import hypotheses as hy\nx = hy._near(1, 2) + hy.close_to(1, 2)\n")
    assert [r[1:3] for r in _private_reads("gradcheck.diagnose.composites", tree, ALL)] == [("hy", "_near")]


def _block_comment(lines: list[str], index: int) -> bool:
    """Whether the import at lines[index] belongs to a block of imports headed by a comment."""
    above = index - 1
    while above >= 0 and lines[above].strip().startswith(("from ", "import ")):
        above -= 1
    return above >= 0 and lines[above].strip().startswith("#")


def test_each_deferred_import_says_why():
    """An import inside a function defers a cost (SymPy, rich, mpmath, numpy at start-up) or breaks
    nothing else; the comment on it, or on the line above, says which."""
    silent = []
    for m, path in ALL.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for target, _, line, deferred in imports(m, path):
            if deferred and "#" not in lines[line - 1] and not _block_comment(lines, line - 1):
                silent.append(f"{m}:{line} imports {target}")
    assert not silent, f"{len(silent)} deferred imports without a reason: {silent[:10]}"
