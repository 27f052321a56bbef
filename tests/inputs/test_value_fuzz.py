"""--at values on generated input (hypothesis): random value texts for fixed expressions and random
Python objects as values end as a result or a GradcheckError, never another exception.
"""

from __future__ import annotations


import numpy as np
import pytest
from fuzz_strategies import fuzz_settings, outcome, value_texts
from hypothesis import given
from hypothesis import strategies as st


pytestmark = pytest.mark.slow  # generated inputs, minutes in all: CI runs them, a quick loop skips them


# Expressions whose variables take the random value texts below (scalars and arrays).
VALUE_EXPRESSIONS = {
    "x * y": ("x", "y"),
    "sigmoid(x) + log(y ** 2 + 1)": ("x", "y"),
    "sum(W)": ("W",),
    "sum(X * W)": ("X", "W"),
    "sum(X @ W)": ("X", "W"),
    "mean(softmax(W))": ("W",),
    "sum(logsumexp(W)) + sum(log_softmax(X))": ("W", "X"),
    "softmax_ce(W, y)": ("W", "y"),
    "sum(W.T) + W[0]": ("W",),
}


@fuzz_settings("values")
@given(st.sampled_from(sorted(VALUE_EXPRESSIONS)), st.data())
def test_random_value_texts(expr, data):
    names = VALUE_EXPRESSIONS[expr]
    values = {name: data.draw(value_texts, label=name) for name in names}
    if data.draw(st.booleans(), label="as one --at text"):
        at = ",".join(f"{name}={text}" for name, text in values.items())
    else:
        at = values
    outcome(expr, at=at, seed=data.draw(st.integers(0, 10), label="seed"))


python_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.complex_numbers(), st.binary(max_size=5),
    st.text(max_size=5), st.lists(st.floats(), max_size=3), st.lists(st.lists(st.integers(), max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.sampled_from([np.float32(1.5), np.int64(3), np.array(2.0), np.ones((2, 2)), np.array(["a"]),
                     np.array([1, 2], dtype=object), np.float64("nan"), np.zeros((0, 3)), object(), {1, 2},
                     (1.0, 2.0), range(3), 10**400, -(10**400), 2**63, float("inf"), np.array([True])]),
)


@fuzz_settings("python_values")
@given(st.sampled_from(["x * y", "sum(x * y)", "sum(x @ y)"]), python_values, python_values,
       st.one_of(st.none(), python_values))
def test_random_python_objects_as_values(expr, x, y, wrt):
    outcome(expr, at={"x": x, "y": y}, wrt=wrt if not isinstance(wrt, (int, float)) else None)
