"""A weight's gradient whose sums over the leading axes are taken before the product (a time-distributed
dense layer's dW = x.sum(axis=1).T @ dout.sum(axis=1)) is named "sums before the product"; the right dW
passes, and a dW wrong otherwise (one time step only, the sums' product over T) is not named so."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck

N, T, D, M = 3, 4, 2, 3


def _dense(x, W, b):
    return x @ W + b, (x, W)


def _backward(dW_of):
    def backward(dout, cache):
        x, W = cache
        return dout @ W.T, dW_of(x, dout), dout.sum(axis=(0, 1))
    return backward


def _inputs(seed):
    r = np.random.default_rng(seed)
    return [r.standard_normal((N, T, D)), r.standard_normal((D, M)), r.standard_normal(M)]


def test_the_sum_of_the_products_is_right():
    backward = _backward(lambda x, dout: np.einsum("ntd,ntm->dm", x, dout))
    assert gradcheck.check_layer(_dense, backward, _inputs(1)).exit_code == 0


@pytest.mark.parametrize("axis", [1, 0])
def test_sums_taken_before_the_product_are_named(axis):
    backward = _backward(lambda x, dout: x.sum(axis=axis).T @ dout.sum(axis=axis))
    result = gradcheck.check_layer(_dense, backward, _inputs(2))
    g = result.gradients["W"]
    assert result.exit_code == 1 and g.cause == "sums before the product", (g.cause, g.diagnosis)
    assert f"x.sum(axis={axis}).T @ dout.sum(axis={axis})" in g.diagnosis, g.diagnosis


@pytest.mark.parametrize("dW_of", [
    lambda x, dout: x[:, -1].T @ dout[:, -1],  # the last time step only
    lambda x, dout: x.sum(axis=1).T @ dout.mean(axis=1),  # the sums' product, over T too
])
def test_a_weight_gradient_wrong_otherwise_is_not_named_so(dW_of):
    result = gradcheck.check_layer(_dense, _backward(dW_of), _inputs(3))
    g = result.gradients["W"]
    assert result.exit_code == 1 and g.cause != "sums before the product", (g.cause, g.diagnosis)
