"""A registry kink on the path need not make f kinked: where f is differentiable (relu(x)**2 at 0) the
check passes, even when strict, and a real kink beside it stays a kink.
"""

from __future__ import annotations

import json

import pytest
from conftest import run_script

import gradcheck


@pytest.mark.parametrize(("expr", "derivative"), [
    ("relu(x)**2", 0.0),  # relu's kink squared away: f = x² for x > 0, 0 below; f' is 0 on both sides
    ("x*abs(x)", 0.0),
    ("max(x, 0)**2", 0.0),
    ("elu(x)", 1.0),  # α = 1: e^x's slope at 0 is 1, the linear piece's too
])
def test_a_differentiable_point_on_a_registry_kink_passes_even_when_strict(expr, derivative):
    result = gradcheck.check(expr, at="x=0", strict=True)
    g = result.gradients["x"]
    assert result.status == g.status == "pass" and result.exit_code == 0, g.verdict
    assert g.kinks == [] and float(g.columns["numeric"]) == pytest.approx(derivative, abs=1e-6)
    wrong = gradcheck.check(expr, at="x=0", grad={"x": str(derivative + 1)})
    assert wrong.status == "mismatch"


def test_a_real_kink_stays_a_kink_next_to_a_smooth_one():
    result = gradcheck.check("sum(relu(A)) + sum(relu(B)**2)", at={"A": "[[0.0,1],[-1,2]]", "B": "[[0.0,1],[-1,2]]"})
    assert result.gradients["A"].status == "kink" and [k[0] for k in result.gradients["A"].kinks] == [[0, 0]]
    assert result.gradients["B"].status == "pass" and result.gradients["B"].kinks == []


def test_a_smooth_point_on_a_registry_kink_through_the_console_script():
    done = run_script("eval", "relu(x)**2", "--at", "x=0", "--strict", "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    case = json.loads(done.stdout)["cases"][0]
    assert case["status"] == "pass" and "kinks" not in case["gradients"]["x"]
    table = run_script("eval", "relu(x)**2", "--at", "x=0", "--strict", COLUMNS="80")
    assert table.returncode == 0 and "kink" not in table.stdout and "✓ partial derivative agrees" in table.stdout
