"""A softmax's (or log-softmax's) backward whose sum is over other axes than the forward's is told as
reduction axes, one whose sum is left out as the mean path; read from the output and dout's values, so a
claim that is that and off by a factor besides is neither."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    s = e / e.sum(-1, keepdims=True)
    return s, s


def _log_softmax(x):
    m = x.max(-1, keepdims=True)
    o = x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))
    return o, o


def _softmax_backward(axes, factor=1.0):
    def backward(d, s):
        return factor * s * (d - ((s * d).sum(axis=axes, keepdims=True) if axes else s * d))
    return backward


def _log_softmax_backward(axes, factor=1.0):
    def backward(d, o):
        return factor * (d - np.exp(o) * (d.sum(axis=axes, keepdims=True) if axes else d))
    return backward


@pytest.mark.parametrize("forward, backward", [(_softmax, _softmax_backward), (_log_softmax, _log_softmax_backward)],
                         ids=["softmax", "log_softmax"])
def test_a_softmax_summed_over_other_axes_or_not_at_all(forward, backward):
    x = np.random.default_rng(9).standard_normal((2, 3, 4))
    assert gradcheck.check_layer(forward, backward((-1,)), [x]).exit_code == 0
    for axes, cause in (((1,), "reduction axes"), ((), "mean path")):
        g = gradcheck.check_layer(forward, backward(axes), [x]).gradients["x"]
        assert g.status == "mismatch" and g.cause == cause, (axes, g.cause, g.diagnosis)
        assert "softmax" in g.diagnosis and "axis 2" in g.diagnosis, g.diagnosis
        near = gradcheck.check_layer(forward, backward(axes, factor=1.05), [x]).gradients["x"]
        assert near.status == "mismatch" and near.cause not in ("reduction axes", "mean path"), near.diagnosis
