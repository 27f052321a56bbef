"""A slow function is checked within its time budget (checks/planning.py): the first calls of f are timed on
the test clock (conftest.ticking_clock: each look advances it by TICK), so a function is made "slow" by
looking at the clock, whatever the machine's speed."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TICK

import gradcheck
from gradcheck.base import budget
from gradcheck.base.errors import CheckTimeout
from gradcheck.checks.planning import CALLS_PER_LINE, plan
from gradcheck.oracles.numeric import CHECKED_COMPLEX

RNG = np.random.default_rng(5)
X, Y = RNG.standard_normal((6, 30)), RNG.integers(0, 20, 6)


def slow(seconds: float):
    """A softmax loss over W (30, 20) = 600 entries, taking `seconds` of the test clock a call, and its gradient."""
    def loss(W):
        for _ in range(round(seconds / TICK)):
            budget.clock()
        scores = X @ W
        scores = scores - scores.max(axis=1, keepdims=True)
        p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
        return -np.log(p[np.arange(len(Y)), Y]).mean()

    def grad(W, wrong=False):
        scores = X @ W
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(Y)), Y] -= 1
        return X.T @ p / (1 if wrong else len(Y))

    return loss, grad


def test_a_slow_loss_is_checked_in_fast_mode_when_full_mode_would_not_fit(ticking_clock):
    loss, grad = slow(0.2)  # full mode: 600 entries x ~5 calls x 0.2 s is far past the 120 s budget
    result = gradcheck.check_function(loss, grad, RNG.standard_normal((30, 20)))
    assert result.status == "pass", str(result)
    assert result.gradients["W"].numeric_mode == "fast"
    assert any(n.startswith("planned to fit the time budget") and "fast mode instead of full" in n for n in result.notes)


def test_a_very_slow_loss_gets_fewer_directions_and_entries_and_says_so(ticking_clock):
    loss, grad = slow(2.0)
    result = gradcheck.check_function(loss, grad, RNG.standard_normal((30, 20)))
    assert result.status == "pass", str(result)
    note = next(n for n in result.notes if n.startswith("planned"))
    assert all(words in note for words in ("2 random directions", "2 random entries", "instead of 8")), note
    numeric = result.gradients["W"].notes["numeric"]
    assert "2 random directions" in numeric and "2 random entries checked" in numeric, numeric
    wrong = gradcheck.check_function(loss, lambda W: grad(W, wrong=True), RNG.standard_normal((30, 20)))
    assert wrong.status == "mismatch"  # a smaller check still catches a missing 1/N
    assert any(n.startswith("how W is wrong is not diagnosed") for n in wrong.notes)


def test_an_explicit_full_mode_is_not_cut_and_runs_out_of_time_saying_so(ticking_clock):
    loss, grad = slow(0.2)
    with pytest.raises(CheckTimeout, match="time budget of 120 s"):
        gradcheck.check_function(loss, grad, RNG.standard_normal((30, 20)), mode="full")


def test_a_fast_function_is_checked_as_always(ticking_clock):
    loss, grad = slow(0.0)
    result = gradcheck.check_function(loss, grad, RNG.standard_normal((30, 20)))
    assert result.status == "pass" and result.gradients["W"].numeric_mode == "full"
    assert not any(n.startswith("planned") for n in result.notes)


def test_the_plan_steps_down_in_order_and_never_below_one_probe():
    sizes = [600]
    assert plan(0.001, 120, sizes, "full", CHECKED_COMPLEX, "auto", "auto").note is None
    assert plan(1.0, None, sizes, "full", CHECKED_COMPLEX, "auto", "auto").note is None  # no budget: no plan
    steps = [plan(t, 120, sizes, "full", CHECKED_COMPLEX, "auto", "auto") for t in (0.1, 1, 3, 100)]
    assert [(p.mode, p.method, p.probes) for p in steps] == [
        ("fast", CHECKED_COMPLEX, 8), ("fast", CHECKED_COMPLEX, 4), ("fast", CHECKED_COMPLEX, 1), ("fast", "central", 1)]
    assert "as close as it can come to" in steps[-1].note
    kept = plan(100, 120, sizes, "full", "central", "full", "central")  # what the user asked for is not changed
    assert (kept.mode, kept.method, kept.probes) == ("full", "central", 8)


@pytest.mark.parametrize("method", [CHECKED_COMPLEX, "central"])
def test_the_calls_per_line_the_plan_assumes_hold_for_a_smooth_function(method):
    calls = []

    def f(W):
        calls.append(1)
        return float(np.sum(np.tanh(W) ** 2))

    def g(W):
        return 2 * np.tanh(W) * (1 - np.tanh(W) ** 2)

    gradcheck.check_function(f, g, RNG.standard_normal((40, 40)), mode="fast",
                             method="auto" if method == CHECKED_COMPLEX else method)
    lines = 16  # 8 random directions and 8 random entries
    assert len(calls) - 3 <= CALLS_PER_LINE[method] * lines  # 3: the first calls, timed
