"""The parser's hints for what a user meant: a product written without *, a function name in the
wrong case.
"""

from __future__ import annotations


import pytest
from conftest import joined, run_script


@pytest.mark.parametrize("expr", ["2x", "2(x + 1)", "x y"])
def test_implicit_multiplication_says_how_to_write_a_product(expr):
    done = run_script("eval", expr, "--at", "x=1,y=2" if "y" in expr else "x=1")
    assert done.returncode == 2 and "a product is written with *: 2*x" in joined(done.stderr), done.stderr


@pytest.mark.parametrize(("expr", "meant"), [("SIN(x)", "sin"), ("Relu(x)", "relu"), ("SOFTMAX(x)", "softmax")])
def test_a_function_in_the_wrong_case_gets_a_did_you_mean(expr, meant):
    done = run_script("eval", expr, "--at", "x=1")
    assert done.returncode == 2 and f"(did you mean '{meant}'?)" in joined(done.stderr), done.stderr
