"""A normalisation whose backward takes its means over another axis than the forward's (a layer norm's
backward copied from batchnorm's), with a gamma that varies inside the forward's blocks (a per-feature
gamma along the normalised axis): named "reduction axes" when the claim is the same gradient form
w·(g·d − mean_b(g·d) − x̂·mean_b(g·d·x̂)) with the means over the other axes b, and not otherwise."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck

EPS = 1e-5


def _norm_forward(axis):
    """A normalisation over `axis` with a gamma and a beta broadcast along the other axes."""
    def forward(x, gamma, beta):
        mu = x.mean(axis=axis, keepdims=True)
        std = np.sqrt(((x - mu) ** 2).mean(axis=axis, keepdims=True) + EPS)
        xhat = (x - mu) / std
        return gamma * xhat + beta, (xhat, std, gamma)
    return forward


def _norm_backward(axis, means_over, factor=1.0, noise=0.0):
    """The gradient form with its means over `means_over` (the forward's `axis` in a right backward);
    `factor` scales the whole gradient and `noise` is added to one entry (near misses)."""
    def backward(dout, cache):
        xhat, std, gamma = cache
        dxhat = dout * gamma
        dx = (dxhat - dxhat.mean(axis=means_over, keepdims=True)
              - xhat * (dxhat * xhat).mean(axis=means_over, keepdims=True)) / std
        dx = factor * dx
        dx.flat[0] += noise
        rest = tuple(i for i in range(dout.ndim) if i != axis)
        return dx, (dout * xhat).sum(axis=rest), dout.sum(axis=rest)
    return backward


def _layer(shape, axis, seed):
    """x of `shape` normalised over its last axis (a layer norm over the features), gamma and beta per feature."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape), 1.0 + 0.4 * rng.standard_normal(shape[axis]),
            0.2 * rng.standard_normal(shape[axis])]


@pytest.mark.parametrize("shape, axis, means_over, said", [
    ((5, 4), 1, 0, "axis 0 where the forward's are over axis 1"),
    ((3, 6), 1, 0, "axis 0 where the forward's are over axis 1"),
    ((2, 3, 5), 2, 1, "axis 1 where the forward's are over axis 2"),
])
def test_a_layer_norm_whose_backward_means_are_over_another_axis_is_named(shape, axis, means_over, said):
    inputs = _layer(shape, axis, seed=sum(shape))
    result = gradcheck.check_layer(_norm_forward(axis), _norm_backward(axis, means_over), inputs)
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "reduction axes", (g.cause, g.diagnosis)
    assert "other axes" in g.diagnosis and said in g.diagnosis, g.diagnosis


def test_the_right_layer_norm_passes():
    inputs = _layer((5, 4), 1, seed=9)
    assert gradcheck.check_layer(_norm_forward(1), _norm_backward(1, 1), inputs).exit_code == 0


@pytest.mark.parametrize("means_over, factor, noise", [
    (1, 0.9, 0.0),  # the right axes, a wrong factor
    (0, 1.0, 0.05),  # the other axis and one entry off besides
    (0, 1.1, 0.0),  # the other axis and a factor besides
])
def test_a_claim_wrong_beyond_the_axes_is_not_named_reduction_axes(means_over, factor, noise):
    inputs = _layer((5, 4), 1, seed=11)
    result = gradcheck.check_layer(_norm_forward(1), _norm_backward(1, means_over, factor, noise), inputs)
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.status == "mismatch", str(result)
    assert g.cause != "reduction axes", g.diagnosis


def test_a_per_feature_gamma_that_the_backward_leaves_out_is_not_called_other_axes():
    """Means over the right axis but dout not multiplied by gamma: the claim is not the weighted form over
    any other axis."""
    def backward(dout, cache):
        xhat, std, gamma = cache
        dx = (dout - dout.mean(axis=1, keepdims=True) - xhat * (dout * xhat).mean(axis=1, keepdims=True)) / std
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
    result = gradcheck.check_layer(_norm_forward(1), backward, _layer((5, 4), 1, seed=13))
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause != "reduction axes", g.diagnosis
