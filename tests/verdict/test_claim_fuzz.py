"""The claimed column on generated smooth trees (hypothesis): the chain rule written out by the test
passes, and the same derivation off by 1 is a mismatch naming only that variable.
"""

from __future__ import annotations


import pytest
from fuzz_strategies import (
    SMOOTH_BOUND, TINY, away_from_underflow, derivative, evaluate_smooth, fuzz_settings, moderate, outcome,
    render, smooth_trees, used_variables
)
from hypothesis import assume, given
from hypothesis import strategies as st

from gradcheck import GradcheckError

pytestmark = pytest.mark.slow  # generated inputs, minutes in all: CI runs them, a quick loop skips them


@fuzz_settings("claims")
@given(smooth_trees(max_operations=7), st.data())
def test_hand_derivations_of_smooth_trees(tree, data):
    """The claimed column: the chain rule written out by this test is right (pass), and the same
    derivation off by 1 is wrong (mismatch, naming the claim as the odd one out, and diagnosed
    without error)."""
    text, node = tree
    names = used_variables(text)
    assume(names)
    point = {name: away_from_underflow(data.draw(moderate, label=name), TINY) for name in names}
    assume(evaluate_smooth(node, point)[1] <= SMOOTH_BOUND)
    claims = {name: derivative(node, name) for name in names}
    assert render(node) == text.replace("^", "**")
    result = outcome(text, at=point, grad=claims)
    assert result is not None and not isinstance(result, GradcheckError), result
    assert result.status == "pass", f"{text!r} at {point}, claims {claims}:\n{result}"
    if not data.draw(st.integers(0, 3), label="also a wrong claim (1 in 4: diagnosing one costs ~1 s)") == 0:
        return
    wrong = data.draw(st.sampled_from(names), label="wrong claim")
    # The diagnosis of a wrong claim once ran SymPy's simplify without end: tests/diagnose/test_factor_and_chance_diagnoses.py pins it.
    result = outcome(text, at=point, grad={**claims, wrong: f"{claims[wrong]} + 1"})
    assert result is not None and not isinstance(result, GradcheckError), result
    assert result.status == "mismatch", f"{text!r} at {point}, claims {claims}:\n{result}"
    assert [v for v, g in result.gradients.items() if g.status == "mismatch"] == [wrong]
    assert result.gradients[wrong].verdict.startswith("claimed disagrees with"), result.gradients[wrong].verdict
