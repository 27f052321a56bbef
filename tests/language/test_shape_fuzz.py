"""Shapes on generated inputs (hypothesis): shapes that do not fit raise ShapeError before anything
runs, shapes that fit pass with gradients of the variables' shapes, and an array with no entries is
refused as a value.
"""

from __future__ import annotations


import numpy as np
import pytest
from fuzz_strategies import fuzz_settings, outcome
from hypothesis import example, given
from hypothesis import strategies as st

import gradcheck
from gradcheck import GradcheckError, ShapeError

pytestmark = pytest.mark.slow  # generated inputs, minutes in all: CI runs them, a quick loop skips them


shapes = st.lists(st.sampled_from([0, 1, 1, 2, 2, 3, 3, 4, 4]), min_size=0, max_size=3).map(tuple)


def array_value(shape: tuple[int, ...], as_text: bool, rng: np.random.Generator):
    if as_text:
        return f"randn({','.join(map(str, shape))})"
    return rng.standard_normal(shape) if shape else float(rng.standard_normal())


@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")  # numpy's, on 0 entries
@fuzz_settings("shapes")
@given(shapes, shapes, st.booleans(), st.sampled_from(["@", "+", "-", "*"]), st.booleans(),
       st.integers(0, 2**32 - 1), st.sampled_from(["sum", "mean"]))
@example((3, 2), (3, 2), False, "@", False, 0, "sum")  # the README's example
@example((3,), (3,), False, "@", False, 0, "sum")  # vector · vector: a scalar
@example((2, 1, 3), (3, 2), False, "@", False, 0, "sum")  # a stack of matrices times a matrix, as numpy
@example((), (2,), False, "@", False, 0, "sum")
@example((4, 1), (3,), False, "+", False, 0, "sum")  # broadcasts to (4,3)
@example((2, 3), (3, 2), False, "*", False, 0, "sum")
@example((2, 0), (0, 3), False, "@", False, 0, "sum")  # no entries: refused as a value
def test_random_shapes(a, b, transpose, op, as_text, seed, reduce):
    """Shapes that do not fit raise ShapeError before anything runs (never a numpy error); shapes that
    fit pass, with gradients of the variables' shapes. An array with no entries is refused as a value
    (a ValueSpecError), whether given as an array or as randn(...)."""
    rng = np.random.default_rng(seed)
    left = "X.T" if transpose else "X"
    a_used = a[::-1] if transpose else a
    if op == "@":  # numpy's N-d semantics: stacks of matrices, batch dimensions broadcast
        try:
            np.matmul(np.zeros(a_used), np.zeros(b))
            fits = True
        except ValueError:
            fits = False
    else:
        try:
            np.broadcast_shapes(a_used, b)
            fits = True
        except ValueError:
            fits = False
    expr = f"{reduce}({left} {op} W)"
    result = outcome(expr, at={"X": array_value(a, as_text, rng), "W": array_value(b, as_text, rng)})
    if 0 in a + b:
        assert isinstance(result, gradcheck.ValueSpecError), f"{expr} with X {a}, W {b}: {result!r}"
    elif fits:
        assert not isinstance(result, GradcheckError), f"{expr} with X {a}, W {b}: {result}"
        assert result.status == "pass", f"{expr} with X {a}, W {b}:\n{result}"
        assert {k: g.shape for k, g in result.gradients.items()} == {"X": a, "W": b}
    else:
        assert isinstance(result, ShapeError), f"{expr} with X {a}, W {b}: {result!r}"
