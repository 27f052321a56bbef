"""Values through the API's `at`: real numbers and arrays of them (fractions, numpy scalars, nested
lists) are taken; strings, bools, datetimes, masked, complex, ragged and empty arrays are refused.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hostile_input import no_foreign_exception

import gradcheck
from gradcheck import SpecError, ValueSpecError


@pytest.mark.parametrize("given, words", [
    (np.array(["1", "2"]), "dtype is <U1"),
    (np.array([True, False]), "dtype is bool"),
    (True, "is not a number"),
    (np.datetime64("2020-01-01"), "datetime64"),
    (np.ma.array([1.0, 2.0], mask=[0, 1]), "masked array"),
    ([1.0, "a"], "not a number"),
    ([1 + 2j], "complex"),
    (10**400, "does not fit a float64"),
    (object(), "not a number"),
])
def test_api_at_values_are_real_numbers(given, words):
    with pytest.raises(ValueSpecError, match=words.replace("(", r"\(")) as caught:
        gradcheck.check("sum(x * x)", at={"x": given})
    assert "\n" not in str(caught.value)


def test_api_at_still_takes_numbers_fractions_and_arrays():
    from fractions import Fraction

    for value in (2, 2.5, Fraction(1, 3), np.float32(2), np.arange(3), [[1, 2], [3, 4]], np.int8(3)):
        # integer arrays are data unless --wrt names them (the one rule, docs/conventions.md)
        assert gradcheck.check("sum(x * x)", at={"x": value}, wrt="x").status == "pass"
    with pytest.raises(SpecError, match="written as whole numbers"):
        gradcheck.check("sum(x * x)", at={"x": np.arange(3)})


@pytest.mark.parametrize("expr, shape", [("sum(softmax(x))", (0,)), ("sum(log_softmax(x))", (2, 0)),
                                         ("logsumexp(x)", (0,))])
def test_an_empty_array_in_a_row_function_raises_only_gradcheck_errors(expr, shape):
    no_foreign_exception(expr, at={"x": np.zeros(shape)})


def test_a_complex_array_value_is_refused_not_truncated():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = no_foreign_exception("x * y", at={"x": np.array(1 + 2j), "y": 1.0})
    assert isinstance(got, gradcheck.ValueSpecError), f"accepted: status {getattr(got, 'status', got)}"


@pytest.mark.parametrize("value", [[[1], [1, 2]], [[], [0]], [1, [2]]])
def test_a_ragged_list_value_is_refused(value):
    """np.iscomplexobj on a ragged list raised numpy's ValueError (inhomogeneous shape): refused as a
    value instead."""
    got = no_foreign_exception("x * y", at={"x": value, "y": 1.0})
    assert isinstance(got, gradcheck.ValueSpecError), got
