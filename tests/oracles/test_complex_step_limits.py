"""The complex step where it is hard: whole powers of a negative base, towers of squarings, points far
smaller than its step, and underflow, where it falls back to central differences or says why the
numeric column is missing; Richardson extrapolation on a fast oscillation.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_script
from hostile_input import assert_exit, lets, no_foreign_exception, run

import gradcheck
from gradcheck import GradcheckError


def test_an_odd_power_of_a_negative_base_passes():
    """pow's complex form raises a whole-number exponent by repeated squaring, so the complex step is
    exact at a negative base too (np.power goes through log(x) above 100 and lost it: 881,622 for 101)."""
    proc = run("eval", "x**101 * y + x**-101", "--at", "x=-1,y=2", "--format", "json")
    assert_exit(proc, 0)
    gradients = json.loads(proc.stdout)["cases"][0]["gradients"]
    assert gradients["x"]["numeric_method"] == "complex" and gradients["y"]["numeric_method"] == "complex"
    assert gradients["x"]["numeric"] == pytest.approx(101 * 2 - 101, rel=1e-13)  # 101·x¹⁰⁰·y − 101·x⁻¹⁰²
    forced = run("eval", "x**1001", "--at", "x=-1.0001", "--method", "complex", "--format", "json")
    assert_exit(forced, 0)
    x = json.loads(forced.stdout)["cases"][0]["gradients"]["x"]
    assert x["numeric"] == pytest.approx(1001 * (-1.0001) ** 1000, rel=1e-13)


def test_a_tower_of_60_squarings_passes():
    squarings = lets("{prev}**2", 60, "x**2")
    proc = run("eval", "a60", *squarings, "--at", "x=1", "--format", "json")
    assert_exit(proc, 0)
    x = json.loads(proc.stdout)["cases"][0]["gradients"]["x"]
    assert x["numeric_method"] == "complex" and x["numeric"] == pytest.approx(2.0**60, rel=1e-12)


@pytest.mark.parametrize("x", ["1e-30", "1e-300"])
@pytest.mark.parametrize(("expr", "derivative"), [("log(x)", "1/x"), ("sqrt(x)", "1/(2*sqrt(x))")])
def test_log_and_sqrt_at_a_tiny_point_do_not_fail_falsely(expr, derivative, x):
    """x + 1e-20i is no small step from x = 1e-30: the complex step measured 5e26 for log's 1e30, with
    an error estimate of 5e20, and failed symbolic = backprop. Now it shrinks its step until f is
    linear over it, and where no step is (1e-300), the numeric column says why it is missing."""
    result = gradcheck.check(expr, at=f"x={x}", grad={"x": derivative})
    g = result.gradients["x"]
    assert result.status == "pass", g.verdict
    numeric = g.columns["numeric"]
    if numeric is not None:
        assert float(numeric) == pytest.approx(float(g.columns["symbolic"]), rel=1e-8)
    else:
        assert "a step leaves the domain" in g.notes["numeric"]
    wrong = gradcheck.check(expr, at=f"x={x}", grad={"x": f"2*{derivative}"})
    assert wrong.status == "mismatch"


def test_central_differences_that_leave_the_domain_after_the_complex_step_failed_are_a_note():
    done = run_script("eval", "log(x)", "--at", "x=1e-300", "--format", "json")
    assert done.returncode == 0, done.stderr
    g = json.loads(done.stdout)["cases"][0]["gradients"]["x"]
    assert g["numeric"] is None and "leaves the domain" in g["notes"]["numeric"]


@pytest.mark.parametrize("expr, at, options", [
    ("x*x*x*x*x*x*x*x*x*x", "x=0.001", {"dtype": "float32"}),
    ("exp(x)", "x=-60", {"dtype": "float32"}),
    ("exp(x)", "x=-740", {}),
    ("x*x", "x=1e-300", {}),
], ids=["x^10 at 0.001, float32", "exp at -60, float32", "exp at -740", "x*x at 1e-300"])
def test_the_complex_step_near_underflow_passes(expr, at, options):
    """f'·h of the complex step among the subnormal numbers: central differences instead, and an
    error estimate that knows f's own values can be subnormal (exp(-740))."""
    result = gradcheck.check(expr, at=at, **options)
    assert result.status == "pass", str(result)


def test_richardson_on_a_fast_oscillation_passes():
    result = no_foreign_exception("sin(exp(y))", at="y=4.4", method="richardson")
    assert not isinstance(result, GradcheckError) and result.status == "pass", str(result)


def test_a_layer_refusing_the_complex_step_is_asked_once_per_entry_not_once_per_dout():
    """f's error at a step is kept as its value is: each of the random douts asked the complex step again of a
    layer that had refused it (the same answer, one more call of the user's code per dout)."""
    refused = []

    def forward(x):
        if np.iscomplexobj(x):
            refused.append(1)
            raise TypeError("real input only")
        return np.tanh(x), x

    def backward(dout, cache):
        return dout * (1 - np.tanh(cache) ** 2)

    x = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    result = gradcheck.check_layer(forward, backward, [x])
    assert result.exit_code == 0
    assert 0 < len(refused) <= x.size, len(refused)
