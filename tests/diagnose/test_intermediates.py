"""Mistakes at a layer's intermediates, named only where they explain the whole claim: a cross-entropy's
softmax p left out of its gradient, an intermediate matrix used untransposed (attention's dv = A @ dout).
The layers are this file's own; each mistake has its near misses, which must not be named with it."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck

HONEST = {"count", "probe"}


def randn(seed, *shape):
    """Gaussian arrays from the call's own seed (xdist runs the tests in any order)."""
    return np.random.default_rng([97, seed]).standard_normal(shape)


def softmax(s, axis):
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ----- a cross-entropy's softmax p left out ---------------------------------------------------------
def weighted_cross_entropy(axis, weights, labels):
    """Σ_i w_i·(−log softmax(s)_i[label_i]) with the classes along `axis`, and its gradient builder
    (`wrong`: how the gradient is written wrong)."""
    def loss(s):
        logp = np.log(softmax(s, axis))
        picked = np.take_along_axis(logp, np.expand_dims(labels, axis), axis).squeeze(axis)
        return -np.sum(weights * picked)

    def grad(wrong):
        def g(s):
            onehot = np.zeros_like(s)
            np.put_along_axis(onehot, np.expand_dims(labels, axis), 1.0, axis)
            w = np.expand_dims(weights, axis)
            p = softmax(s, axis)
            return {"right": w * (p - onehot), "p left out": -w * onehot, "onehot left out": w * p,
                    "p left out, one row doubled": -w * onehot * np.where(np.arange(s.shape[0])[:, None] == 0, 2, 1),
                    "half p": w * (0.5 * p - onehot), "another temperature": w * (softmax(s / 0.7, axis) - onehot)
                    }[wrong]
        return g
    return loss, grad


@pytest.mark.parametrize("axis, shape", [(1, (6, 5)), (0, (4, 7))])
def test_a_cross_entropy_without_its_softmax_p_is_named(axis, shape):
    """−w·onehot for w·(p − onehot), classes along either axis, weights per sample: the truth sums to 0
    along the classes and the claim is it less w·p, the log-sum-exp's gradient."""
    rng = np.random.default_rng([97, axis])
    labels = rng.integers(0, shape[axis], size=shape[1 - axis])
    weights = rng.uniform(0.2, 1.0, size=shape[1 - axis])
    loss, grad = weighted_cross_entropy(axis, weights, labels)
    s = randn(axis, *shape)
    assert gradcheck.check_function(loss, grad("right"), [s]).exit_code == 0
    result = gradcheck.check_function(loss, grad("p left out"), [s])
    g = result.gradients["s"]
    assert result.exit_code == 1 and g.cause == "mean path", (g.cause, g.diagnosis)
    assert f"softmax(s) along axis {axis}" in g.diagnosis and "softmax p is left out" in g.diagnosis, g.diagnosis


def test_half_of_the_softmax_p_is_said_as_its_factor_not_left_out():
    rng = np.random.default_rng([97, 6])
    loss, grad = weighted_cross_entropy(1, np.full(5, 0.2), rng.integers(0, 4, size=5))
    g = gradcheck.check_function(loss, grad("half p"), [randn(9, 5, 4)]).gradients["s"]
    assert g.cause == "mean path" and "softmax p is given the wrong factor" in g.diagnosis, g.diagnosis


@pytest.mark.parametrize("wrong", ["onehot left out", "p left out, one row doubled", "another temperature"])
def test_other_cross_entropy_mistakes_are_not_told_p_left_out(wrong):
    """p without the onehot (the claim sums to w, the difference is the onehot, no softmax), a claim wrong
    beyond the missing p on one row, the softmax of s / 0.7 for that of s (a softmax's term, but of
    another input): none is a multiple of the softmax p left out."""
    rng = np.random.default_rng([97, 7])
    labels = rng.integers(0, 4, size=5)
    loss, grad = weighted_cross_entropy(1, np.full(5, 0.2), labels)
    result = gradcheck.check_function(loss, grad(wrong), [randn(8, 5, 4)])
    g = result.gradients["s"]
    assert result.exit_code == 1, result.status
    assert "softmax p is" not in g.diagnosis, (wrong, g.cause, g.diagnosis)
