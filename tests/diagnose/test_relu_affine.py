"""A relu after an affine map whose backward forgets the relu's mask (relu_affine.py, said under "mask"):
W's gradient inp.T @ dout for inp.T @ (dout * (z > 0)) is predicted outright, with no inversion of the
product (inp has more rows than columns here), possibly times 1/N. Named only where that prediction is the
whole claim and the masked gradient the whole truth; a masked claim off by another factor, a claim with
noise and a leaky relu's layer are not said to miss the relu's mask."""

from __future__ import annotations

import numpy as np

import gradcheck

MASK_LEFT_OUT = "the relu's mask left out"
ROWS, IN, OUT = 8, 2, 3  # more rows than columns: the product with inp cannot be undone
NOISE = 1e-2
OTHER_FACTOR = 1.7  # no size of the layer


def dense_relu(inp, weight, bias):
    z = inp @ weight + bias
    return np.maximum(z, 0.0), (inp, weight, z)


def dense_leaky(inp, weight, bias):
    z = inp @ weight + bias
    return np.where(z > 0, z, 0.1 * z), (inp, weight, z)


def backward(weight_grad=None, inp_grad=None, bias_grad=None):
    """The right backward, with one of its gradients replaced by f(dout, dz, inp, weight)."""
    def bwd(dout, cache):
        inp, weight, z = cache
        dz = dout * (z > 0)
        din = dz @ weight.T if inp_grad is None else inp_grad(dout, dz, inp, weight)
        dw = inp.T @ dz if weight_grad is None else weight_grad(dout, dz, inp, weight)
        db = dz.sum(axis=0) if bias_grad is None else bias_grad(dout, dz, inp, weight)
        return din, dw, db
    return bwd


def point():
    rng = np.random.default_rng(0)
    inp, weight, bias = rng.standard_normal((ROWS, IN)), rng.standard_normal((IN, OUT)), 0.3 * rng.standard_normal(OUT)
    z = inp @ weight + bias
    assert np.abs(z).min() > 0.02 and (z > 0).any() and (z < 0).any()
    return [inp, weight, bias]


def check(forward, bwd):
    return gradcheck.check_layer(forward, bwd, point())


def test_the_weights_gradient_without_the_mask_and_averaged_over_rows_names_both_mistakes():
    result = check(dense_relu, backward(weight_grad=lambda d, dz, i, w: i.T @ d / i.shape[0]))
    g = result.gradients["weight"]
    assert result.exit_code == 1
    assert g.cause == "mask" and MASK_LEFT_OUT in g.diagnosis and f"divided by {ROWS}" in g.diagnosis, g.diagnosis


def test_the_mask_alone_forgotten_in_the_weights_or_the_bias_gradient_is_named():
    result = check(dense_relu, backward(weight_grad=lambda d, dz, i, w: i.T @ d))
    g = result.gradients["weight"]
    assert result.exit_code == 1 and g.cause == "mask" and MASK_LEFT_OUT in g.diagnosis, g.diagnosis
    assert "two mistakes" not in g.diagnosis
    bias = check(dense_relu, backward(bias_grad=lambda d, dz, i, w: d.sum(axis=0)))
    assert bias.exit_code == 1 and bias.gradients["bias"].cause == "mask", bias.gradients["bias"].diagnosis


def test_the_right_layer_passes():
    assert check(dense_relu, backward()).exit_code == 0


def test_a_masked_gradient_off_by_another_factor_or_with_noise_is_not_a_missing_mask():
    scaled = check(dense_relu, backward(weight_grad=lambda d, dz, i, w: OTHER_FACTOR * (i.T @ dz)))
    noisy = check(dense_relu, backward(weight_grad=lambda d, dz, i, w: i.T @ d / i.shape[0]
                                       + NOISE * np.ones((i.shape[1], d.shape[1]))))
    other = check(dense_relu, backward(weight_grad=lambda d, dz, i, w: OTHER_FACTOR * (i.T @ d)))
    for result in (scaled, noisy, other):
        g = result.gradients["weight"]
        assert result.exit_code == 1 and MASK_LEFT_OUT not in g.diagnosis, g.diagnosis


def test_a_leaky_relus_layer_is_not_said_to_miss_the_relus_mask():
    result = check(dense_leaky, backward(weight_grad=lambda d, dz, i, w: i.T @ d / i.shape[0]))
    g = result.gradients["weight"]
    assert result.exit_code == 1 and MASK_LEFT_OUT not in g.diagnosis, g.diagnosis
