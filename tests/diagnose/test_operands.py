"""An expression placed in a local gradient's formula (operands.py): grouped where the formula's
operators would bind into it, left as it is where it is an atom or alone inside parentheses."""

from __future__ import annotations

import pytest

from gradcheck.diagnose.operands import operand, placed


@pytest.mark.parametrize("atom", ["x", 'params["W1"]', "X[:, 0:3]", "cache.z", "f(a, b)", "2.5"])
def test_an_atom_stands_as_it_is(atom):
    assert operand(atom) == atom


@pytest.mark.parametrize("expr", ['X @ params["W1"] + params["b1"]', "x @ w", "-z", "a*b"])
def test_an_expression_with_an_operator_is_grouped(expr):
    assert operand(expr) == f"({expr})"


@pytest.mark.parametrize("template, placed_as", [
    ("1 − {y}**2", "1 − (X @ W + b)**2"),  # the square binds tighter than the sum
    ("{y}·(1 − {y})", "(X @ W + b)·(1 − (X @ W + b))"),
    ("exp(−{y})", "exp(−(X @ W + b))"),
    ("1/{y}", "1/(X @ W + b)"),
    ("σ({y})·(1 − σ({y}))", "σ(X @ W + b)·(1 − σ(X @ W + b))"),  # a call's own parentheses group it
])
def test_a_computed_pre_activation_is_grouped_in_each_activation_form(template, placed_as):
    assert placed(template, y="X @ W + b") == placed_as


def test_a_name_is_placed_without_parentheses():
    assert placed("1 − {y}**2", y="x") == "1 − x**2" and placed("{y}·(1 − {y})", y="a") == "a·(1 − a)"
