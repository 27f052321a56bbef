"""A square matrix untransposed before an activation's local gradient: y = tanh(x) @ M has dx =
(dout @ M.T) * (1 - tanh(x)**2), and a backward writing dout @ M there is "untransposed matrix" (the
claim ((truth / a'(x)) @ inv(M.T) @ M) * a'(x)); a slip in the local gradient, or another matrix, is not.
The same reading inside a net's X.T @ g is tests/diagnose/test_models.py's."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck


def _forward(x, M):
    return np.tanh(x) @ M, (x, M)


def _backward(mistake):
    def backward(dout, cache):
        x, M = cache
        t = np.tanh(x)
        matrix = {"untransposed": M, "mixed": M.T + 0.1 * M}.get(mistake, M.T)
        local = t if mistake == "activation for derivative" else 1 - t ** 2
        return (dout @ matrix) * local, t.T @ dout
    return backward


INPUTS = [np.random.default_rng(5).standard_normal((4, 3)), np.random.default_rng(6).standard_normal((3, 3))]


def test_the_right_layer_passes():
    assert gradcheck.check_layer(_forward, _backward(None), INPUTS).exit_code == 0


def test_an_untransposed_matrix_before_the_local_gradient_is_named():
    result = gradcheck.check_layer(_forward, _backward("untransposed"), INPUTS)
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "untransposed matrix", (g.cause, g.diagnosis)
    assert "`(… @ M) * (1 − tanh(x)**2)`" in g.diagnosis and "`(… @ M.T)" in g.diagnosis, g.diagnosis


@pytest.mark.parametrize("mistake", ["activation for derivative", "mixed"])
def test_a_near_miss_is_not_named_untransposed(mistake):
    result = gradcheck.check_layer(_forward, _backward(mistake), INPUTS)
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.status == "mismatch" and g.cause != "untransposed matrix", g.diagnosis
