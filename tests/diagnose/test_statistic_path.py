"""A statistic's path (an rms's, a variance's, a softmax's sum's) scaled by a clean factor is named as that
factor ("statistic path factor"), a path held constant stays "mean path", and a path wrong in any other way
is neither: the claim must be the predicted gradient for every dout."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck

EPS = 1e-5
N, D = 3, 5


def _rms_norm(x, g):
    rms = np.sqrt((x ** 2).mean(1, keepdims=True) + EPS)
    return x / rms * g, (x, g, rms)


def _rms_backward(path):
    """The second term (the rms's path) times `path`: 1 is right, 0 holds the rms constant; an array
    scales it per row."""
    def backward(dout, cache):
        x, g, rms = cache
        proj = (dout * g * x).sum(1, keepdims=True)
        return g * dout / rms - path * x * proj / (D * rms ** 3), (dout * x / rms).sum(0)
    return backward


def _layer_norm(x, g):
    mu, sd = x.mean(1, keepdims=True), np.sqrt(x.var(1, keepdims=True) + EPS)
    return (x - mu) / sd * g, ((x - mu) / sd, g, sd)


def _layer_backward(variance_path):
    """The variance's term times `variance_path` (D: its 1/D is missing)."""
    def backward(dout, cache):
        xhat, g, sd = cache
        d = dout * g
        var = variance_path * xhat * (d * xhat).mean(1, keepdims=True)
        return (d - d.mean(1, keepdims=True) - var) / sd, (dout * xhat).sum(0)
    return backward


def _softmax(x):
    e = np.exp(x - x.max(1, keepdims=True))
    s = e / e.sum(1, keepdims=True)
    return s, s


def _softmax_backward(sum_path):
    def backward(dout, s):
        return s * (dout - sum_path * (s * dout).sum(1, keepdims=True))
    return backward


def _x(seed):
    return np.random.default_rng(seed).standard_normal((N, D)) + 0.5


def _g(seed):
    return np.random.default_rng(seed).uniform(0.5, 1.5, D)


@pytest.mark.parametrize("forward, backward, inputs, factor, words", [
    (_rms_norm, _rms_backward, lambda: [_x(1), _g(2)], D, f"{D} times too large: its 1/{D}"),
    (_layer_norm, _layer_backward, lambda: [_x(3), _g(4)], D, "through a variance or an rms"),
    (_layer_norm, _layer_backward, lambda: [_x(3), _g(4)], -2, "of the wrong sign and 2 times too large"),
    (_softmax, _softmax_backward, lambda: [_x(5)], 2, "2 times too large"),
])
def test_a_path_off_by_a_clean_factor_is_named_as_that_factor(forward, backward, inputs, factor, words):
    assert gradcheck.check_layer(forward, backward(1.0), inputs()).exit_code == 0
    result = gradcheck.check_layer(forward, backward(float(factor)), inputs())
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "statistic path factor", (g.cause, g.diagnosis)
    assert words in g.diagnosis, g.diagnosis


def test_the_rms_held_constant_stays_a_mean_path():
    result = gradcheck.check_layer(_rms_norm, _rms_backward(0.0), [_x(6), _g(7)])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "mean path", (g.cause, g.diagnosis)


@pytest.mark.parametrize("path", [1.37, np.random.default_rng(8).uniform(0.0, 3.0, (N, 1))])
def test_a_path_wrong_otherwise_is_neither(path):
    """1.37 is no size nor a small number; a factor per row is no one factor: the honest count remains."""
    result = gradcheck.check_layer(_rms_norm, _rms_backward(path), [_x(9), _g(10)])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause not in ("statistic path factor", "mean path"), (g.cause, g.diagnosis)
