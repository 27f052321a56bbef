"""The options of a check are declared once (gradcheck/options.py); everything else derives from them."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from conftest import invoke, joined

import gradcheck
from gradcheck.base.errors import SpecError
from gradcheck.base.options import OPTION_NAMES, Options


def test_the_public_check_signature_is_the_declared_options():
    params = inspect.signature(gradcheck.check).parameters
    keyword_only = {n: p.default for n, p in params.items() if p.kind is p.KEYWORD_ONLY}
    declared = {f.name: f.default for f in dataclasses.fields(Options)}
    assert {n: keyword_only[n] for n in declared} == declared
    assert set(keyword_only) - set(declared) == {"data", "name", "base", "npy_root"}


def test_every_option_is_a_cli_option_of_eval_with_the_declared_default():
    from gradcheck.cli.evaluate import eval_command

    by_name = {p.name: p for p in eval_command.params}
    for f in dataclasses.fields(Options):
        assert f.name in by_name, f.name
        assert by_name[f.name].default == f.default, f.name
        assert f.metadata["help"] == by_name[f.name].help


def test_case_file_keys_come_from_the_declaration():
    from gradcheck.batch.cases import KEYS

    for f in dataclasses.fields(Options):
        assert (f.name in KEYS) == bool(f.metadata["toml"]), f.name


@pytest.mark.parametrize("given, words", [
    ({"mode": "quick"}, "--mode must be one of auto, full, fast"),
    ({"rtol": -1.0}, "--rtol must be a finite number ≥ 0"),
    ({"seed": -3}, "--seed must be a whole number ≥ 0"),
    ({"order": 3}, "--order must be one of 1, 2"),
    ({"strict": "yes"}, "--strict must be true or false"),
    ({"timeout": -1}, "--timeout must be a number of seconds ≥ 0"),
])
def test_nonsense_values_are_refused_by_the_one_validation(given, words):
    with pytest.raises(SpecError, match=words):
        Options(**given)
    with pytest.raises(SpecError, match=words):
        gradcheck.check("x**2", at="x=1", **given)


def test_an_unknown_option_of_check_function_is_named():
    with pytest.raises(SpecError, match="check_function\\(\\) has no option 'dtype'"):
        gradcheck.check_function(lambda x: float(x**2), lambda x: 2 * x, 1.0, dtype="float32")


def test_the_cli_refuses_a_bad_choice_before_anything_runs():
    result = invoke("eval", "x**2", "--mode", "quick")
    assert result.exit_code == 2 and "quick" in joined(result.stderr)


def test_option_names_are_the_fields():
    assert OPTION_NAMES == tuple(f.name for f in dataclasses.fields(Options))


def test_the_package_has_no_import_cycles():
    """Counting function-level imports too (not those under TYPE_CHECKING)."""
    import ast
    from pathlib import Path

    root = Path(gradcheck.__file__).parent
    modules = {".".join(p.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__"): p
               for p in root.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(parts + ([node.module] if node.module else []))
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    edges[name].add(full if full in modules else target)
    edges = {m: {t for t in targets if t in modules and t != "gradcheck"} for m, targets in edges.items()}

    def reachable(start: str) -> set[str]:
        seen, stack = set(), [start]
        while stack:
            for nxt in edges[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    cycles = sorted({tuple(sorted((a, b))) for a in edges for b in edges[a] if a in reachable(b)})
    assert not cycles
