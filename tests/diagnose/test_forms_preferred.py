"""Which reading says a mistake in the user's terms, where two are true of the same claim:
- a power's missing exponent (a**(n-1) for n*a**(n-1)) is the power's, even where n is also the rows or a
  number of the call;
- log's derivative taken at its output (1/log(a) for 1/a) is "output for input" in log's words, not a
  hidden exp's;
- softsign's square dropped is a slip in its derivative ("derivative form"), while swish's x·σ′ term dropped
  stays the product rule's."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck

A = np.random.default_rng(81).standard_normal((3, 4))
POSITIVE = np.random.default_rng(82).uniform(0.2, 3.0, (3, 4))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize("n, as_input", [(3, False), (3, True), (4, False), (5, True)])
def test_a_powers_missing_exponent_is_the_powers_whatever_else_the_factor_is(n, as_input):
    """With 3 rows, 1/3 is also 1/N; with n among the inputs, also one over a data number."""
    if as_input:
        result = gradcheck.check_vjp(lambda a, k: a ** k, lambda d, a, k: d * a ** (k - 1), [A, n])
        assert gradcheck.check_vjp(lambda a, k: a ** k, lambda d, a, k: d * k * a ** (k - 1), [A, n]).exit_code == 0
    else:
        result = gradcheck.check_vjp(lambda a: a ** n, lambda d, a: d * a ** (n - 1), [A])
    g = result.gradients["a"]
    assert result.exit_code == 1 and g.cause == "constant factor", (g.cause, g.diagnosis)
    assert f"the derivative of a**{n}" in g.diagnosis and f"the factor {n} is missing" in g.diagnosis


def test_a_factor_of_one_over_the_rows_on_no_power_stays_one_over_rows():
    """A mean over 3 rows whose backward forgets the 1/3: no power, so the rows say it."""
    result = gradcheck.check_vjp(lambda a: a.mean(axis=0), lambda d, a: np.broadcast_to(d, a.shape).copy(), [A])
    g = result.gradients["a"]
    assert result.exit_code == 1 and g.cause == "rows", (g.cause, g.diagnosis)


def test_log_with_its_derivative_taken_at_its_output_is_output_for_input_in_logs_words():
    assert gradcheck.check_vjp(lambda a: np.log(a), lambda d, a: d / a, [POSITIVE]).exit_code == 0
    result = gradcheck.check_vjp(lambda a: np.log(a), lambda d, a: d / np.log(a), [POSITIVE])
    g = result.gradients["a"]
    assert result.exit_code == 1 and g.cause == "output for input", (g.cause, g.diagnosis)
    assert "1/y where 1/a belongs" in g.diagnosis and "log" in g.diagnosis and "exp" not in g.diagnosis


def test_log_off_by_a_factor_is_not_a_local_form():
    result = gradcheck.check_vjp(lambda a: np.log(a), lambda d, a: 2 * d / a, [POSITIVE])
    g = result.gradients["a"]
    assert result.exit_code == 1 and g.cause == "twice or half", (g.cause, g.diagnosis)


def test_softsigns_square_dropped_is_a_derivative_form_not_a_product_rule_term():
    def forward(x):
        return x / (1 + np.abs(x)), x
    result = gradcheck.check_layer(forward, lambda d, x: d / (1 + np.abs(x)), [A])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "derivative form", (g.cause, g.diagnosis)
    assert "softsign" in g.diagnosis


def test_swishs_product_rule_term_dropped_stays_the_product_rules():
    def forward(x):
        return x * _sigmoid(x), x
    result = gradcheck.check_layer(forward, lambda d, x: d * _sigmoid(x), [A])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "product rule term dropped", (g.cause, g.diagnosis)
