"""A normalisation over several axes (a layer norm over (C, L), a group norm's groups) whose backward takes
its mean, its variance or both as constants is a missing mean path, told with the axes; a claim that is
that and more (a factor besides) is not."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck

EPS = 1e-5


def _group_norm(x, groups):
    n, c, length = x.shape
    xg = x.reshape(n, groups, c // groups * length)
    sd = np.sqrt(xg.var(-1, keepdims=True) + EPS)
    xhat = (xg - xg.mean(-1, keepdims=True)) / sd
    return xhat.reshape(x.shape), (xhat, sd, groups)


def _backward(dropped, factor=1.0):
    def backward(dout, cache):
        xhat, sd, groups = cache
        d = dout.reshape(xhat.shape)
        mean = 0 if "mean" in dropped else d.mean(-1, keepdims=True)
        var = 0 if "variance" in dropped else xhat * (d * xhat).mean(-1, keepdims=True)
        return (factor * (d - mean - var) / sd).reshape(dout.shape)
    return backward


@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("dropped", [("mean", "variance"), ("variance",), ("mean",)])
def test_statistics_taken_as_constants_are_a_missing_mean_path(groups, dropped):
    x = np.random.default_rng(7).standard_normal((3, 4, 5)) * 2 + 1
    forward = lambda x: _group_norm(x, groups)  # noqa: E731
    assert gradcheck.check_layer(forward, _backward(()), [x]).exit_code == 0
    result = gradcheck.check_layer(forward, _backward(dropped), [x])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "mean path", (g.cause, g.diagnosis)
    assert ("group" in g.diagnosis) == (groups > 1), g.diagnosis
    near = gradcheck.check_layer(forward, _backward(dropped, factor=1.1), [x])
    assert near.exit_code == 1 and near.gradients["x"].cause != "mean path", near.gradients["x"].diagnosis
