"""Attention, softmax(c·Q @ K.T) @ V, whose backward takes the softmax's sum(dA * A) over another axis
than the rows: every gradient of Q and K is the same form with that sum moved, named "reduction axes"
(attention.py read from the values) when that form is the whole claim, and not otherwise."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck


def _forward(scaled):
    def forward(Q, K, V):
        S = Q @ K.T / (np.sqrt(Q.shape[1]) if scaled else 1.0)
        A = np.exp(S - S.max(axis=1, keepdims=True))
        A /= A.sum(axis=1, keepdims=True)
        return A @ V, (Q, K, V, A)
    return forward


def _backward(scaled, axis, factor=1.0, noise=0.0):
    def backward(dout, cache):
        Q, K, V, A = cache
        c = 1 / np.sqrt(Q.shape[1]) if scaled else 1.0
        dA = dout @ V.T
        dS = A * (dA - (dA * A).sum(axis=axis, keepdims=True))
        dQ, dK = factor * c * dS @ K, factor * c * dS.T @ Q
        dQ.flat[0] += noise
        dK.flat[0] += noise
        return dQ, dK, A.T @ dout
    return backward


def _inputs(m, n, k, v, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((m, k)), rng.standard_normal((n, k)), rng.standard_normal((n, v))]


@pytest.mark.parametrize("m, n, k, v, scaled, variable", [
    (4, 3, 2, 3, True, "K"), (3, 5, 4, 2, True, "Q"), (5, 4, 3, 2, False, "K"), (4, 4, 2, 4, True, "Q"),
])
def test_attentions_softmax_sums_over_the_columns_are_named(m, n, k, v, scaled, variable):
    inputs = _inputs(m, n, k, v, seed=m * 100 + n * 10 + k)
    result = gradcheck.check_layer(_forward(scaled), _backward(scaled, 0), inputs)
    g = result.gradients[variable]
    assert result.exit_code == 1 and g.cause == "reduction axes", (g.cause, g.diagnosis)
    scale = f" / √{k}" if scaled else ""
    assert f"A = softmax(Q @ K.T{scale})" in g.diagnosis and "A's axis 0 where" in g.diagnosis, g.diagnosis
    assert gradcheck.check_layer(_forward(scaled), _backward(scaled, 1), inputs).exit_code == 0


@pytest.mark.parametrize("axis, factor, noise", [
    (1, 0.9, 0.0),  # the right sums, a wrong factor
    (0, 1.2, 0.0),  # the sums over the columns and a factor besides
    (0, 1.0, 0.05),  # the sums over the columns and one entry off besides
])
def test_a_claim_wrong_beyond_the_softmax_sums_is_not_named_reduction_axes(axis, factor, noise):
    inputs = _inputs(4, 3, 2, 3, seed=5)
    result = gradcheck.check_layer(_forward(True), _backward(True, axis, factor, noise), inputs)
    for variable in ("Q", "K"):
        g = result.gradients[variable]
        assert result.exit_code == 1 and g.status == "mismatch", str(result)
        assert g.cause != "reduction axes", g.diagnosis


def test_a_forward_that_is_no_attention_of_its_inputs_is_not_read_as_one():
    """The same backward beside a forward with a ReLU on the weights: the output is not softmax(c·Q @ K.T) @ V,
    so no attention is read and the sums are not named."""
    def forward(Q, K, V):
        out, cache = _forward(True)(Q, K, V)
        return np.maximum(out, 0.0) + 0.5 * np.minimum(out, 0.0), cache
    result = gradcheck.check_layer(forward, _backward(True, 0), _inputs(4, 3, 2, 3, seed=8))
    g = result.gradients["K"]
    assert result.exit_code == 1 and g.cause != "reduction axes", g.diagnosis
