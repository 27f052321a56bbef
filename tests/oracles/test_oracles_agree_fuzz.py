"""The key correctness property (hypothesis): on smooth trees at moderate points symbolic, backprop
and numeric agree at the default tolerances, with every numeric method, in float32 and for the Hessian;
and fixed examples of it, some once false mismatches.
"""

from __future__ import annotations

import math

import pytest
from fuzz_strategies import (
    SMOOTH_BOUND, SMOOTH_BOUND_FLOAT32, SMOOTH_OPTIONS, TINY, TINY_FLOAT32, away_from_underflow, evaluate_smooth,
    fuzz_settings, moderate, outcome, smooth_trees, used_variables
)
from hypothesis import assume, given
from hypothesis import strategies as st

import gradcheck
from gradcheck import GradcheckError

pytestmark = pytest.mark.slow  # generated inputs, minutes in all: CI runs them, a quick loop skips them


@fuzz_settings("smooth")
@given(smooth_trees(), st.one_of(st.none(), smooth_trees(max_operations=4)), st.data())
def test_smooth_trees_pass(tree, let_tree, data):
    """The key correctness property: on smooth functions at moderate points (|v| <= 2) symbolic,
    backprop and numeric agree at the default tolerances.

    Moderate inputs are not enough for a fair test of floating point: exp(3 + 27*z)**3 at z = 0 is
    e^90, and cos of it is noise in any float64 oracle. So the example is discarded when any
    subexpression exceeds SMOOTH_BOUND (100) in absolute value (SMOOTH_BOUND_FLOAT32 = 10 in float32),
    with at most 10 operations: values and derivatives then stay moderate, rounding stays far below the
    tolerance, and any mismatch is a bug.

    With `let_tree`, a second tree is named u (--let) and used twice, so its gradient accumulates twice.
    Options (numeric method, float32, Hessian) are drawn from what this version supports.
    """
    text, node = tree
    let = None
    options = data.draw(st.sampled_from(SMOOTH_OPTIONS), label="options")
    texts = (text,) if let_tree is None else (text, let_tree[0])
    floor = TINY_FLOAT32 if options.get("dtype") == "float32" else TINY
    point = {name: away_from_underflow(data.draw(moderate, label=name), floor) for name in used_variables(*texts)}
    f_value, largest = evaluate_smooth(node, point)
    if let_tree is not None:
        let = {"u": let_tree[0]}
        u_value, u_largest = evaluate_smooth(let_tree[1], point)
        text = f"u * ({text}) + sin(u)"
        largest = max(largest, u_largest, abs(u_value * f_value), abs(u_value * f_value + math.sin(u_value)))
    bound = SMOOTH_BOUND_FLOAT32 if options.get("dtype") == "float32" else SMOOTH_BOUND
    assume(largest <= bound)
    form = data.draw(st.sampled_from(["floats", "texts", "one text"]), label="at as")
    at = point if form == "floats" else {k: repr(v) for k, v in point.items()} if form == "texts" \
        else ",".join(f"{k}={v!r}" for k, v in point.items())
    result = outcome(text, at=at, let=let, **options)
    if isinstance(result, gradcheck.SpecError) and "no variables" in str(result):
        return  # a constant tree: nothing to differentiate
    assert result is not None, "a known bug (KNOWN_BUGS) on a smooth tree"
    assert not isinstance(result, GradcheckError), f"{type(result).__name__}: {result}"
    assert result.status == "pass", f"{text!r} at {at!r} (let {let!r}, {options}):\n{result}"


@pytest.mark.parametrize("expr, at", [
    ("sigmoid(x) * tanh(y) + softplus(z) ** 3", {"x": 2.0, "y": -2.0, "z": 0.0}),
    ("exp(x) * sin(y) - cos(x * y) ** 2", {"x": -2.0, "y": 2.0}),
    # f and its whole gradient exactly 0: the default atol (relative to the case's scale) is then 0,
    # and the complex step's 1e-40 residue once counted as a mismatch (the property above found it).
    ("x ** 3", {"x": 0.0}),
    ("tanh((sin(-(-(-sin(x))**1)))**3)", {"x": 0.0}),
    ("x * y * z", {"x": 0.0, "y": 0.0, "z": 0.0}),
])
def test_smooth_examples_pass(expr, at):
    """Examples of the property above, kept explicitly (some were once false mismatches)."""
    for options in SMOOTH_OPTIONS:
        result = outcome(expr, at=at, **options)
        assert result is not None and not isinstance(result, GradcheckError), result
        assert result.status == "pass", f"{expr} at {at}, {options}:\n{result}"
