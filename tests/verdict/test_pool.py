"""Fast mode's pool: small variables probed together as one array, so the cost is bounded by the
number of arrays; a probe that disagrees is traced to its variable (a wrong claim, a wrong VJP rule, a
kink) and only it is reported.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import run_script
from hostile_input import assert_exit, run

import gradcheck


def _sines(count: int, wrong: tuple[str, ...] = ()):
    """f = Σ sin over `count` 0-d inputs and one 3,000-entry array, its gradient (wrong for `wrong`), and a
    list that counts f's evaluations."""
    calls: list[int] = []
    inputs = {**{f"s{i}": np.array(0.01 * i) for i in range(count)}, "W": np.linspace(-1, 1, 3000)}

    def f(**xs):
        calls.append(1)
        return float(sum(np.sin(v).sum() for v in xs.values()))

    def grad_f(**xs):
        g = {k: np.cos(v) for k, v in xs.items()}
        for name in wrong:
            g[name] = -2 * g[name]
        return g

    return f, grad_f, inputs, calls


def test_fast_mode_costs_the_same_for_40_or_400_scalar_variables():
    from gradcheck.base.limits import FAST_PROBES
    from gradcheck.verdict.pool import PoolShare

    counts = []
    for count in (40, 400):
        f, grad_f, inputs, calls = _sines(count)
        result = gradcheck.check_function(f, grad_f, inputs, mode="fast", method="central")
        assert result.status == "pass", result.verdict
        assert isinstance(result.gradients["s3"].columns["numeric"], PoolShare)  # probed with the others
        counts.append(len(calls))
    arrays = 2  # W, and the pool of the scalars
    assert max(counts) <= 4 * 2 * FAST_PROBES * arrays + 4, counts  # central differences: 4 evaluations each
    assert counts[1] == counts[0], counts  # ten times the scalars, not one evaluation more


def test_a_wrong_scalar_among_400_is_reported_as_itself_at_a_bounded_cost():
    f, grad_f, inputs, calls = _sines(400, wrong=("s42", "s317"))
    result = gradcheck.check_function(f, grad_f, inputs, mode="fast", method="central")
    failing = {name for name, g in result.gradients.items() if g.status != "pass"}
    assert result.status == "mismatch" and failing == {"s42", "s317"}, result.verdict
    assert "claimed disagrees with numeric" in result.gradients["s42"].verdict
    assert len(calls) < 400, len(calls)  # differencing every scalar would take 1,600


def test_the_pool_traces_a_wrong_vjp_rule_to_its_variable(monkeypatch):
    """An expression whose backprop is wrong for one of 40 scalar variables, in fast mode: the pooled
    probes disagree, bisection finds the variable, and only it is reported."""
    from dataclasses import replace

    from gradcheck.ops import registry as primitives

    tanh = primitives.FUNCTIONS["tanh"]
    monkeypatch.setitem(primitives.FUNCTIONS, "tanh", replace(tanh, vjps=(lambda g, ans, x: 2 * g * (1 - ans**2),)))
    expr = "sum(sin(W)) + tanh(s7) + " + " + ".join(f"cos(s{i})" for i in range(40) if i != 7)
    at = {"W": np.linspace(-1, 1, 2000), **{f"s{i}": 0.05 * i for i in range(40)}}
    result = gradcheck.check(expr, at=at, mode="fast")
    failing = {name: g for name, g in result.gradients.items() if g.status != "pass"}
    assert set(failing) == {"s7"}, result.verdict
    # symbolic is skipped at this size: the pool's probes are the only check of backprop's s7
    assert failing["s7"].columns["symbolic"] is None and failing["s7"].numeric_mode == "full"
    assert failing["s7"].verdict.startswith("backprop ≠ numeric"), failing["s7"].verdict
    assert result.gradients["s8"].numeric_mode == "fast" and "small variables" in result.gradients["s8"].notes["numeric"]


def test_a_pooled_variable_at_its_kink_is_found_and_reported_as_a_kink():
    """One of 40 scalar inputs sits on relu's kink: every pool direction goes through it, so the pool
    finds it by bisection, differences it alone (left and right derivatives), and probes the rest."""
    scalars = {f"s{i}": np.array(0.1 * i - 2) for i in range(40)}  # s20 is exactly 0
    inputs = {**scalars, "W": np.linspace(-1, 1, 3000)}

    def f(**xs):
        return float(sum(np.maximum(v, 0).sum() for v in xs.values()))

    def subgradient(**xs):
        return {k: (v > 0).astype(float) for k, v in xs.items()}

    result = gradcheck.check_function(f, subgradient, inputs, mode="fast")
    assert result.status == "kink" and result.gradients["s20"].status == "kink", result.verdict
    (_, left, right), = result.gradients["s20"].kinks
    assert left == pytest.approx(0.0, abs=1e-6) and right == pytest.approx(1.0, rel=1e-6)
    assert "8 random directions" in result.gradients["s3"].notes["numeric"]  # none lost to the kink

    def outside(**xs):
        return {**subgradient(**xs), "s20": np.array(3.0)}

    wrong = gradcheck.check_function(f, outside, inputs, mode="fast")
    assert wrong.status == "mismatch" and "outside the one-sided derivatives" in wrong.gradients["s20"].verdict


def test_console_script_with_60_scalar_variables_in_fast_mode():
    expr = " + ".join(f"sin(s{i})" for i in range(60))
    at = ",".join(f"s{i}={0.01 * i:g}" for i in range(60))
    proc = run("eval", expr, "--at", at, "--mode", "fast", "--format", "json")
    assert_exit(proc, 0)
    gradients = json.loads(proc.stdout)["cases"][0]["gradients"]
    assert {g["numeric_mode"] for g in gradients.values()} == {"fast"}
    table = run("eval", expr, "--at", at, "--mode", "fast")
    assert_exit(table, 0)
    shown = " ".join(table.stdout.split())
    assert "and 57 more" in shown and "probed with the other small variables" in shown, shown


POOLED = "+".join(f"sin(s{i})*W{i % 3}[0]" for i in range(60))  # 60 scalars beside 1,200 entries: fast mode


POOLED_AT = ",".join(f"W{i}=randn(400)" for i in range(3))


def test_a_claim_on_one_pooled_scalar_is_judged_not_a_traceback():
    """The pool's directions are kept as a seed (a Directions, whose np.shape is ()), so a claim for
    only some pooled variables built a 0-d array and raised IndexError through the console script."""
    wrong = run_script("eval", POOLED, "--at", POOLED_AT, "--grad", "s7=cos(s7)*W1[0]*1.001", "--format", "json")
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr, wrong.stderr
    g = json.loads(wrong.stdout)["cases"][0]["gradients"]["s7"]
    assert g["status"] == "mismatch" and g["numeric_mode"] == "fast"
    right = gradcheck.check(POOLED, at=POOLED_AT, grad={"s7": "cos(s7)*W1[0]"})
    assert right.status == "pass", right.verdict


def test_fast_mode_passes_each_variable_in_the_table():
    # arrays above 2 * FAST_PROBES entries: smaller variables are differenced entry by entry even in fast mode
    result = gradcheck.check("sum(X * Y)", at="X=randn(20),Y=randn(20)", mode="fast")
    table = str(result)
    assert result.status == "pass" and "fast mode" in table
    assert all(re.search(rf"^{name}\b.*✓ pass", table, re.MULTILINE) for name in ("X", "Y")), table
