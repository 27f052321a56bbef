"""randn(...) and rand(...) as values: sizes that are not whole numbers are refused naming the draw,
a space before the parenthesis and a trailing comma are read.
"""

from __future__ import annotations


import numpy as np
import pytest
from conftest import joined, run_script
from hostile_input import no_foreign_exception

import gradcheck


@pytest.mark.parametrize(("value", "kind"), [("randn(3,-1)", "randn"), ("randn(2.5)", "randn"), ("rand(n)", "rand")])
def test_a_random_draw_with_bad_sizes_says_so(value, kind):
    """It said ''randn(3,-1)' is not a number, a list, randn(...)/rand(...) or a .npy path'."""
    done = run_script("eval", "sum(x)", "--at", f"x={value}")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    message = joined(done.stderr)
    assert all(words in message for words in ("--at x, column 1", f"{kind}(...)", "whole numbers")), message


def test_a_random_draw_may_have_a_space_before_its_parenthesis():
    spaced = gradcheck.check("sum(x)", at={"x": "randn (3)"})
    plain = gradcheck.check("sum(x)", at={"x": "randn(3)"})
    assert spaced.status == "pass" and np.array_equal(spaced.point["x"], plain.point["x"])


@pytest.mark.parametrize("text", ["randn(3,)", "rand(2,3,)"])
def test_a_random_draw_with_a_trailing_comma_raises_only_gradcheck_errors(text):
    no_foreign_exception("sum(W)", at={"W": text})
