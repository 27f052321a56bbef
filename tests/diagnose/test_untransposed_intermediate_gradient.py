"""A layer that sees two inputs X and Y only through Y @ X.T (attention's scores Q @ K.T, a bilinear
score) has X's gradient G.T @ Y, G the gradient with respect to Y @ X.T: a backward writing G @ Y is
named "untransposed matrix" when G, recovered from the true gradients of both inputs, explains the whole
claim as G @ Y, and not otherwise."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck


def _attention(Q, K, V):
    S = Q @ K.T / np.sqrt(Q.shape[1])
    A = np.exp(S - S.max(axis=1, keepdims=True))
    A /= A.sum(axis=1, keepdims=True)
    return A @ V, (Q, K, V, A)


def _attention_backward(untransposed=False, factor=1.0, noise=0.0):
    def backward(dout, cache):
        Q, K, V, A = cache
        scale = np.sqrt(Q.shape[1])
        dA = dout @ V.T
        dS = A * (dA - (dA * A).sum(axis=1, keepdims=True))
        dK = factor * ((dS if untransposed else dS.T) @ Q) / scale
        dK.flat[0] += noise
        return dS @ K / scale, dK, A.T @ dout
    return backward


def _tanh_score(X, Y):
    """A bilinear score through tanh, summed per row of X: another layer of Y @ X.T."""
    return np.tanh(Y @ X.T).sum(axis=0), (X, Y)


def _tanh_score_backward(untransposed=False):
    def backward(dout, cache):
        X, Y = cache
        G = (1 - np.tanh(Y @ X.T) ** 2) * dout[None, :]  # the gradient with respect to Y @ X.T
        return (G if untransposed else G.T) @ Y, G @ X
    return backward


@pytest.mark.parametrize("tokens, width, values", [(4, 3, 2), (5, 4, 3), (3, 3, 5)])
def test_attentions_dk_with_ds_untransposed_is_named(tokens, width, values):
    rng = np.random.default_rng(tokens * 10 + width)
    inputs = [rng.standard_normal((tokens, width)), rng.standard_normal((tokens, width)),
              rng.standard_normal((tokens, values))]
    result = gradcheck.check_layer(_attention, _attention_backward(untransposed=True), inputs)
    g = result.gradients["K"]
    assert result.exit_code == 1 and g.cause == "untransposed matrix", (g.cause, g.diagnosis)
    assert "`G @ Q` for `G.T @ Q`" in g.diagnosis and "Q @ K.T" in g.diagnosis, g.diagnosis
    assert gradcheck.check_layer(_attention, _attention_backward(), inputs).exit_code == 0


def test_a_bilinear_tanh_score_with_its_gradient_untransposed_is_named():
    rng = np.random.default_rng(3)
    inputs = [rng.standard_normal((4, 3)), rng.standard_normal((4, 3))]
    result = gradcheck.check_layer(_tanh_score, _tanh_score_backward(untransposed=True), inputs)
    g = result.gradients["X"]
    assert result.exit_code == 1 and g.cause == "untransposed matrix", (g.cause, g.diagnosis)
    assert "`G @ Y` for `G.T @ Y`" in g.diagnosis, g.diagnosis
    assert gradcheck.check_layer(_tanh_score, _tanh_score_backward(), inputs).exit_code == 0


@pytest.mark.parametrize("untransposed, factor, noise", [
    (True, 1.0, 0.05),  # untransposed and one entry off besides
    (True, 0.8, 0.0),  # untransposed and a factor besides
    (False, 1.0, 0.05),  # the right form, one entry off
])
def test_a_claim_wrong_beyond_the_transpose_is_not_named_untransposed(untransposed, factor, noise):
    rng = np.random.default_rng(21)
    inputs = [rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.standard_normal((4, 2))]
    result = gradcheck.check_layer(_attention, _attention_backward(untransposed, factor, noise), inputs)
    g = result.gradients["K"]
    assert result.exit_code == 1 and g.status == "mismatch", str(result)
    assert g.cause != "untransposed matrix", g.diagnosis
