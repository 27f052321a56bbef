"""A classifier's loss against smoothed targets, (1 − ε)·onehot + ε/C, whose backward uses the one-hot ones
(hypotheses._label_smoothing, loss_axes.py): ε read off the constant the truth is off the labels, classes on
either axis, a mean or a sum. Near misses (a right smoothed loss, the smoothing right and a factor wrong,
the smoothing forgotten and a factor besides, an unsmoothed loss with its onehot scaled) are not named
with it, and every wrong layer still exits 1."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck


def _softmax(s, axis):
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _onehot(y, shape, classes):
    h = np.zeros(shape)
    other = np.arange(y.size)
    h[(y, other) if classes == 0 else (other, y)] = 1.0
    return h


def _targets(y, shape, classes, eps):
    return (1 - eps) * _onehot(y, shape, classes) + eps / shape[classes]


def _check(eps, classes=1, mean=True, slip="forgotten", seed=0, shape=(6, 4)):
    rng = np.random.default_rng(seed)
    s = rng.standard_normal(shape)
    y = rng.integers(0, shape[classes], shape[1 - classes])
    n = y.size if mean else 1.0

    def loss(s, y):
        return -float(np.sum(_targets(y, s.shape, classes, eps) * np.log(_softmax(s, classes)))) / n

    def grad(s, y):
        p = _softmax(s, classes)
        if slip == "forgotten":
            return (p - _onehot(y, s.shape, classes)) / n
        if slip == "forgotten and doubled":
            return 2 * (p - _onehot(y, s.shape, classes)) / n
        if slip == "factor":
            return 3 * (p - _targets(y, s.shape, classes, eps)) / n
        if slip == "onehot scaled":
            return (p - 0.8 * _onehot(y, s.shape, classes)) / n
        return (p - _targets(y, s.shape, classes, eps)) / n
    return gradcheck.check_function(loss, grad, [s, y])


@pytest.mark.parametrize("eps, classes, mean, shape", [(0.1, 1, True, (6, 4)), (0.2, 0, True, (5, 7)),
                                                        (0.05, 1, False, (3, 5))])
def test_a_smoothed_loss_whose_backward_uses_the_onehot_is_label_smoothing(eps, classes, mean, shape):
    result = _check(eps, classes, mean, seed=int(eps * 100), shape=shape)
    gr = result.gradients["s"]
    assert result.exit_code == 1
    assert gr.cause == "label smoothing"
    assert f"ε = {eps:.4g}" in gr.diagnosis and f"axis {classes}" in gr.diagnosis


def test_a_right_smoothed_loss_passes():
    assert _check(0.1, slip="").exit_code == 0


@pytest.mark.parametrize("eps, slip", [(0.1, "forgotten and doubled"), (0.1, "factor"), (0.0, "onehot scaled")])
def test_another_mistake_of_a_classifiers_loss_is_not_label_smoothing(eps, slip):
    result = _check(eps, slip=slip, seed=7)
    assert result.exit_code == 1
    assert result.gradients["s"].cause != "label smoothing"
