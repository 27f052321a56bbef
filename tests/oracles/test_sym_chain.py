"""The symbolic column one operation at a time (sym_chain.py) gives what SymPy differentiating the
whole expansion gives: the same expressions run both ways, the per-operation path forced."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck.language.parser import parse
from gradcheck.language.tree import variables
from gradcheck.oracles import sym_chain, sym_store
from gradcheck.oracles import symbolic as S

RNG = np.random.default_rng(7)
CASES = [
    ("sum(sin(x) * y + x**2)", {"x": RNG.standard_normal(4), "y": RNG.standard_normal((3, 4))}),
    ("sum(where(x > 0, x*y, exp(x)))", {"x": np.array([1.0, -2.0, 0.5]), "y": 2.0}),
    ("sum(relu(A @ B) ** 3) / 2", {"A": RNG.standard_normal((3, 4)), "B": RNG.standard_normal((4, 2))}),
    ("softmax_ce(tanh(X @ W), y)", {"X": RNG.standard_normal((5, 3)), "W": RNG.standard_normal((3, 4)),
                                    "y": np.array([0, 3, 1, 2, 2])}),
    ("sum(softmax(Z, axis=0) * C) + mean(log_softmax(Z)[1, :])",
     {"Z": RNG.standard_normal((3, 4)), "C": RNG.standard_normal((3, 4))}),
    ("sum(transpose(A)[0:2, :] * pi) + logsumexp(reshape(A, (12,)))", {"A": RNG.standard_normal((3, 4))}),
    ("sum(sqrt(abs(x) + 1) / (1 + x*x)) * 3", {"x": RNG.standard_normal(6)}),
]


@pytest.fixture(autouse=True)
def _sympy_itself(monkeypatch):
    """These tests are about what SymPy gives: nothing is read from (or written to) the store."""
    monkeypatch.setenv(sym_store.ENVIRONMENT, "")
    sym_store.forget_folder()
    yield
    sym_store.forget_folder()


def _both(expr, point):
    root = parse(expr)
    wrt = [v for v in variables(root) if v.name not in ("y", "C")]
    whole = _whole(root, point, wrt)
    sym_chain._templates.clear()
    sym_chain._calls.clear()
    chained = S.symbolic(root, point, wrt)  # one operation at a time: the default (WHOLE_MAX_OPERATIONS)
    again = S.symbolic(root, point, wrt)  # the kinds of call cached by the first run
    return wrt, whole, chained, again


def _whole(root, point, wrt):
    """SymPy differentiating the whole expansion of f (as --formulas does), and only that."""
    saved, chained = S.WHOLE_MAX_OPERATIONS, sym_chain.chained
    S.WHOLE_MAX_OPERATIONS = S.FORMULA_MAX_OPERATIONS

    def not_here(*args):
        raise AssertionError("the whole-expression path went one operation at a time")
    sym_chain.chained = not_here
    try:
        return S.symbolic(root, point, wrt)
    finally:
        S.WHOLE_MAX_OPERATIONS, sym_chain.chained = saved, chained


@pytest.mark.parametrize("expr,point", CASES, ids=[c[0] for c in CASES])
def test_per_operation_matches_whole_expression(expr, point):
    wrt, whole, chained, again = _both(expr, point)
    for v in wrt:
        assert whole[v.name].value is not None, whole[v.name].note
        assert chained[v.name].value is not None, chained[v.name].note
        np.testing.assert_allclose(chained[v.name].value, whole[v.name].value, rtol=1e-13, atol=1e-15)
        np.testing.assert_array_equal(again[v.name].value, chained[v.name].value)


def test_no_finite_derivative_is_reported():
    """sqrt's derivative at 0 is infinite: both paths say there is no number, naming the operation."""
    _, whole, chained, _ = _both("sum(sqrt(x) * 2)", {"x": np.array([0.0, 1.0])})
    assert whole["x"].value is None and chained["x"].value is None
    assert "sqrt" in chained["x"].note


def test_matmul_is_differentiated_once_per_structure_not_per_entry():
    sym_chain._templates.clear()
    sym_chain._calls.clear()
    point = {"A": RNG.standard_normal((6, 5)), "B": RNG.standard_normal((5, 4))}
    root = parse("sum(A @ B)")
    S.symbolic(root, point, variables(root))
    differentiated = sum(len(t._partials) for t in sym_chain._templates.values())
    assert differentiated < 6 * 4 * 5  # one per entry and symbol would be 240 (A's side alone: 120)
