"""SymPy's derivatives kept on disk (oracles/sym_store.py): a check made of kinds of call SymPy
differentiated before gives the same symbolic column without importing SymPy; a partial derivative
not stored yet is differentiated then; an entry that is damaged, foreign or not what SymPy builds
is never trusted; the store stays bounded and can be turned off."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from conftest import NEURON, NEURON_AT, run_script
from test_sym_chain import CASES

import gradcheck
from gradcheck.language.parser import parse
from gradcheck.language.tree import variables
from gradcheck.oracles import sym_chain, sym_store
from gradcheck.oracles import symbolic as S
from gradcheck.oracles.sym_eval import Program

NEURON_POINT = {"w0": 2.0, "w1": -3.0, "w2": -3.0, "x0": -1.0, "x1": -2.0}


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A store of this test's own, and no kinds of call remembered in this process."""
    monkeypatch.setenv(sym_store.ENVIRONMENT, str(tmp_path))
    monkeypatch.setattr(sym_store, "_written", [])
    sym_store.forget_folder()
    _forget_calls()
    yield tmp_path
    sym_store.forget_folder()
    _forget_calls()


@pytest.fixture
def sympy_counted(monkeypatch):
    """Counts every look-up on the sympy module the symbolic column makes (SymPy is imported on
    the first one): a list, one name per look-up."""
    asked: list[str] = []
    original = sym_chain._SympyOnDemand.__getattr__

    def counted(self, name):
        asked.append(name)
        return original(self, name)
    monkeypatch.setattr(sym_chain._SympyOnDemand, "__getattr__", counted)
    return asked


def _forget_calls() -> None:
    sym_chain._calls.clear()
    sym_chain._templates.clear()
    sym_chain._derivatives.clear()


def _column(expr: str, point: dict, skip: tuple[str, ...] = ("y", "C")) -> dict:
    root = parse(expr)
    wrt = [v for v in variables(root) if v.name not in skip]
    out = S.symbolic(root, point, wrt)
    for v in wrt:
        assert out[v.name].value is not None, out[v.name].note
    return {name: r.value for name, r in out.items()}


def _entries(folder) -> dict[str, dict]:
    """The stored entries by the key they hold."""
    found = {}
    for path in folder.glob("symbolic-*/*.json"):
        data = json.loads(path.read_text())
        found[data["key"]] = {"path": path, "data": data}
    return found


ALL_CASES = [*CASES, (NEURON, NEURON_POINT), ("x * pi + e ** x - 2.5 * x ** 3", {"x": 0.7})]


@pytest.mark.parametrize("expr,point", ALL_CASES, ids=[c[0] for c in ALL_CASES])
def test_a_stored_check_gives_the_same_column_without_sympy(store, sympy_counted, expr, point):
    first = _column(expr, point)
    assert sympy_counted, "the first check had to differentiate with SymPy"
    assert _entries(store), "and stored what SymPy gave"
    _forget_calls()  # a new process: nothing remembered but the store
    sympy_counted.clear()
    again = _column(expr, point)
    assert sympy_counted == []
    assert again.keys() == first.keys()
    for name in first:
        np.testing.assert_array_equal(again[name], first[name])


def test_a_partial_not_stored_yet_is_differentiated_then_and_stored(store, sympy_counted):
    """With y = 0 nothing flows back through relu, so its derivative is not needed, nor stored;
    at y = 1 it is: SymPy differentiates it then, and the store has it for the next check."""
    expr = "sum(relu(x) * y)"
    assert _column(expr, {"x": np.array([1.0, -2.0]), "y": 0.0}, skip=("y",))["x"].tolist() == [0.0, 0.0]
    _forget_calls()
    sympy_counted.clear()
    point = {"x": np.array([1.0, -2.0]), "y": 3.0}
    assert _column(expr, point, skip=("y",))["x"].tolist() == [3.0, 0.0]
    assert "diff" in sympy_counted
    _forget_calls()
    sympy_counted.clear()
    assert _column(expr, point, skip=("y",))["x"].tolist() == [3.0, 0.0]
    assert sympy_counted == []


def _relu_entry(store) -> dict:
    (entry,) = [e for key, e in _entries(store).items() if "'relu'" in key]
    return entry


def test_a_stored_entry_that_is_not_what_sympy_builds_is_replaced(store):
    """relu's stored value is altered (it now gives 7); when the check needs a partial the store
    lacks, SymPy builds the template again, finds it is not the stored one, and the column is
    worked out from SymPy alone."""
    expr = "sum(relu(x) * y)"
    _column(expr, {"x": np.array([1.0, -2.0]), "y": 0.0}, skip=("y",))
    entry = _relu_entry(store)
    entry["data"]["templates"][0]["value"] = {"inputs": 1, "steps": [["n", [0, 7, 0]]], "result": 1}
    entry["path"].write_text(json.dumps(entry["data"]))
    _forget_calls()
    got = _column(expr, {"x": np.array([1.0, -2.0]), "y": 3.0}, skip=("y",))
    assert got["x"].tolist() == [3.0, 0.0]
    assert _relu_entry(store)["data"]["templates"][0]["value"]["steps"] != [["n", [0, 7, 0]]]


def test_a_tampered_store_cannot_make_a_wrong_claim_pass(store):
    """sigmoid's stored derivative replaced by the constant 1/2, and a claim that agrees with the
    tampered symbolic column: backprop and numeric still disagree with both, so the case fails."""
    gradcheck.check(NEURON, at=NEURON_AT)
    (key,) = [key for key in _entries(store) if "'sigmoid'" in key]
    entry = _entries(store)[key]
    half = {"inputs": 1, "steps": [["n", [0, 1, -1]]], "result": 1}
    entry["data"]["templates"][0]["partials"] = {"0": half}
    entry["path"].write_text(json.dumps(entry["data"]))
    _forget_calls()
    # ∂f/∂w0 = sigmoid'(z) * x0, with sigmoid' now 1/2 and x0 = -1
    result = gradcheck.check(NEURON, at=NEURON_AT, grad="w0=-0.5")
    assert result.gradients["w0"].columns["symbolic"] == pytest.approx(-0.5)
    assert result.status == "mismatch" and result.gradients["w0"].status == "mismatch"


@pytest.mark.parametrize("damage", ["not json {", "[]", '{"format": 1}', "{\"key\": 3}"])
def test_unreadable_or_foreign_entries_are_ignored(store, damage):
    first = _column(NEURON, NEURON_POINT)
    for path in store.glob("symbolic-*/*.json"):
        path.write_text(damage)
    _forget_calls()
    again = _column(NEURON, NEURON_POINT)
    assert again == first
    assert all(e["data"]["templates"] for e in _entries(store).values())  # written again, whole


def test_entries_with_the_wrong_shape_of_data_are_ignored(store):
    """Well-formed JSON under the right key, with programs that are not programs."""
    first = _column("sum(A @ B)", {"A": np.ones((2, 3)), "B": np.ones((3, 2))})
    for entry in _entries(store).values():
        entry["data"]["entries"] = [[5, [[0, 0]]]]  # a template that does not exist
        entry["path"].write_text(json.dumps(entry["data"]))
    _forget_calls()
    again = _column("sum(A @ B)", {"A": np.ones((2, 3)), "B": np.ones((3, 2))})
    for name in first:
        np.testing.assert_array_equal(again[name], first[name])


@pytest.mark.parametrize("data", [
    {"inputs": 1, "steps": [["__import__", 0]], "result": 1},  # not a rule of the registry
    {"inputs": 1, "steps": [["exp", 1]], "result": 1},  # reads a register not written yet
    {"inputs": 1, "steps": [["exp", True]], "result": 1},  # a bool is not a register
    {"inputs": 1, "steps": [["n", [0, -1, 0]]], "result": 1},  # a negative mantissa
    {"inputs": 1, "steps": [["n", "1e999"]], "result": 1},  # a number as text
    {"inputs": 1, "steps": [], "result": 1},  # the result is not a register
    {"inputs": -1, "steps": [], "result": 0},
    {"steps": "exp"},
    ["exp", 0],
])
def test_a_program_is_read_only_from_numbers_and_the_registry_s_rule_names(data):
    with pytest.raises(ValueError):
        Program.load(data)


def test_a_program_is_written_and_read_back_exactly():
    import mpmath
    import sympy as sp

    x, y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
    expr = sp.exp(-x) * sp.Rational(1, 3) + sp.log(y) ** 2 + sp.pi * x
    compiled = Program(expr, [x, y])
    reread = Program.load(json.loads(json.dumps(compiled.dump())))
    with mpmath.workdps(30):
        point = [mpmath.mpf("0.3"), mpmath.mpf("1.7")]
        assert reread(point) == compiled(point)


def test_the_store_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv(sym_store.ENVIRONMENT, "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    sym_store.forget_folder()
    _forget_calls()
    try:
        assert sym_store.folder() is None
        _column(NEURON, NEURON_POINT)
        assert list(tmp_path.rglob("*")) == []
    finally:
        sym_store.forget_folder()


def test_the_default_folder_follows_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.delenv(sym_store.ENVIRONMENT, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    sym_store.forget_folder()
    _forget_calls()
    try:
        assert sym_store.folder().parent == tmp_path / "gradcheck"
        _column(NEURON, NEURON_POINT)
        assert list((tmp_path / "gradcheck").glob("symbolic-*/*.json"))
    finally:
        sym_store.forget_folder()


def test_the_store_is_bounded(store, monkeypatch):
    monkeypatch.setattr(sym_store, "MAX_ENTRIES", 4)
    monkeypatch.setattr(sym_store, "RESCAN_BYTES", 0)  # measure the folder at every write
    for k in range(12):  # twelve kinds of call: x * k for twelve constants
        _column(f"x * {k + 2} + 1", {"x": 0.5})
        assert len(list(store.glob("symbolic-*/*.json"))) <= 4
    monkeypatch.setattr(sym_store, "MAX_ENTRIES", 1000)
    monkeypatch.setattr(sym_store, "MAX_STORE_BYTES", 3000)
    for k in range(12):
        _column(f"exp(x) * {k + 2} - 1", {"x": 0.5})
        assert sum(p.stat().st_size for p in store.glob("symbolic-*/*.json")) <= 3000
    monkeypatch.setattr(sym_store, "MAX_ENTRY_BYTES", 10)
    _forget_calls()
    before = set(store.glob("symbolic-*/*.json"))
    _column("exp(x)", {"x": 0.5})
    assert set(store.glob("symbolic-*/*.json")) == before  # too large to write: computed, not kept


def test_folders_of_other_installations_are_pruned(store):
    for k in range(6):
        (store / f"symbolic-old{k}").mkdir()
        (store / f"symbolic-old{k}" / "x.json").write_text("{}")
    _column(NEURON, NEURON_POINT)
    assert len(list(store.glob("symbolic-*"))) == sym_store.MAX_FOLDERS


def _script_run(folder, *args) -> subprocess.CompletedProcess:
    """The console script under `python -X importtime`, which lists on stderr what it imports."""
    return run_script(*args, interpreter=("-X", "importtime"), GRADCHECK_CACHE_DIR=str(folder))


def test_console_script_a_second_check_does_not_import_sympy(tmp_path):
    args = ("eval", NEURON, "--at", NEURON_AT, "--format", "json")
    cold, warm = _script_run(tmp_path, *args), _script_run(tmp_path, *args)
    assert cold.returncode == warm.returncode == 0, cold.stderr[-500:] + warm.stderr[-500:]
    assert "| sympy\n" in cold.stderr
    assert "| sympy\n" not in warm.stderr
    symbolic = [{k: g["symbolic"] for k, g in json.loads(run.stdout)["cases"][0]["gradients"].items()}
                for run in (cold, warm)]
    assert symbolic[0] == symbolic[1]
    assert len(symbolic[0]) == 5


def test_the_right_formula_beside_a_wrong_claim_is_stored_per_tree_variable_and_let_names(store, monkeypatch):
    """The formula shown next to a wrong claim is SymPy's for the tree, the variable and the --let
    names, whatever the point: stored once, then read; another let name or variable is another entry."""
    claim = "w0=x0*sigmoid(z)"
    first = gradcheck.check(NEURON, at=NEURON_AT, grad=claim, let="z=w0*x0+w1*x1+w2")
    assert "z" in first.gradients["w0"].correct
    stored = [e for key, e in _entries(store).items() if key.startswith("('registry formula'")]
    assert len(stored) == 1 and stored[0]["data"]["formula"] == first.gradients["w0"].correct

    def no_sympy(*args, **kwargs):
        raise AssertionError("SymPy asked for a formula that is stored")
    monkeypatch.setattr(S, "_formula", no_sympy)
    again = gradcheck.check(NEURON, at="w0=1,w1=2,w2=3,x0=4,x1=5", grad=claim, let="z=w0*x0+w1*x1+w2")
    assert again.gradients["w0"].correct == first.gradients["w0"].correct
    monkeypatch.undo()
    monkeypatch.setenv(sym_store.ENVIRONMENT, str(store))
    renamed = gradcheck.check(NEURON, at=NEURON_AT, grad="w0=x0*sigmoid(u)", let="u=w0*x0+w1*x1+w2")
    assert "u" in renamed.gradients["w0"].correct and "z" not in renamed.gradients["w0"].correct


def test_a_stored_formula_that_is_not_text_is_ignored(store):
    claim = "w0=x0*sigmoid(w0*x0+w1*x1+w2)"
    first = gradcheck.check(NEURON, at=NEURON_AT, grad=claim).gradients["w0"].correct
    for key, entry in _entries(store).items():
        if key.startswith("('registry formula'"):
            entry["data"]["formula"] = ["import os"]
            entry["path"].write_text(json.dumps(entry["data"]))
    assert gradcheck.check(NEURON, at=NEURON_AT, grad=claim).gradients["w0"].correct == first
