"""A classifier's loss whose backward takes its softmax over the wrong axis (hypotheses._loss_softmax_axis,
loss_axes.py): cross-entropy or NLL of a log-softmax, classes on axis 0 or 1, a mean or a sum, the truth read
as k · (softmax(s) − onehot(y)) and the claim the same with the softmax over the other axis. Near misses (a
right loss, the right softmax with a factor forgotten, the wrong axis and a factor at once, the wrong
axis in a loss without labels) keep their own diagnosis, and every wrong layer still exits 1."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck


def _softmax(s, axis):
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _loss(classes: int, mean: bool):
    """NLL of a log-softmax over the classes' axis (cross-entropy), classes on axis `classes`."""
    def f(s, y):
        logp = np.log(_softmax(s, classes))
        picked = logp[y, np.arange(s.shape[1])] if classes == 0 else logp[np.arange(s.shape[0]), y]
        return -(picked.mean() if mean else picked.sum())
    return f


def _grad(classes: int, mean: bool, softmax_axis: int, factor: float = 1.0):
    def g(s, y):
        d = _softmax(s, softmax_axis)
        if classes == 0:
            d[y, np.arange(s.shape[1])] -= 1.0
        else:
            d[np.arange(s.shape[0]), y] -= 1.0
        return factor * d / (y.size if mean else 1.0)
    return g


def _check(classes, mean, softmax_axis, factor=1.0, seed=0, shape=(4, 6)):
    rng = np.random.default_rng(seed)
    s = rng.standard_normal(shape)
    y = rng.integers(0, shape[classes], shape[1 - classes])
    return gradcheck.check_function(_loss(classes, mean), _grad(classes, mean, softmax_axis, factor), [s, y])


@pytest.mark.parametrize("classes, mean, shape", [(0, True, (4, 6)), (1, True, (5, 3)), (0, False, (3, 7)),
                                                  (1, False, (6, 4))])
def test_a_losss_softmax_over_the_other_axis_is_reduction_axes(classes, mean, shape):
    result = _check(classes, mean, 1 - classes, seed=sum(shape), shape=shape)
    gr = result.gradients["s"]
    assert result.exit_code == 1
    assert gr.cause == "reduction axes"
    assert f"classes on axis {classes}" in gr.diagnosis and f"over axis {1 - classes}" in gr.diagnosis


def test_a_right_loss_passes():
    assert _check(0, True, 0, seed=2).exit_code == 0


@pytest.mark.parametrize("softmax_axis, factor", [(0, 6.0), (1, 6.0), (1, -1.0)])
def test_a_factor_beside_or_instead_of_the_axis_is_not_reduction_axes(softmax_axis, factor):
    result = _check(0, True, softmax_axis, factor=factor, seed=5)
    assert result.exit_code == 1
    assert result.gradients["s"].cause != "reduction axes"


def test_a_softmax_over_the_other_axis_without_labels_is_not_read_as_a_loss():
    """sum(w · log softmax(s)) with float weights: no integer labels, so this entry does not read it."""
    rng = np.random.default_rng(4)
    w = rng.standard_normal((4, 5))

    def f(s):
        return float(np.sum(w * np.log(_softmax(s, 1))))

    def g(s):
        return w - _softmax(s, 0) * w.sum(axis=1, keepdims=True)
    result = gradcheck.check_function(f, g, [rng.standard_normal((4, 5))])
    assert result.exit_code == 1
    assert "classifier's loss" not in (result.gradients["s"].diagnosis or "")
