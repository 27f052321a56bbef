"""Two mistakes at once (gradcheck/diagnose/composites.py): named, both of them, only where a transform of
the bounded set undone leaves one of the table's mistakes and together they explain the whole claim; a
single mistake is still named singly, and a claim with a random error, or a factor that is a mask's share
of the entries, keeps the honest count. The layers are this file's own."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gradcheck

HONEST = {"count", "probe"}


def randn(seed, *shape):
    """Gaussian arrays from the call's own seed: the values do not depend on which tests ran before (xdist
    runs them in any order), and no relu input here keeps exactly half its entries (a factor ½ or 2 beside a
    missing mask would then be the mask's share, not told apart)."""
    return np.random.default_rng([83, seed]).standard_normal(shape)


def relu(x):
    return np.maximum(x, 0), x


# ----- a factor and a missing mask -------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 5), (3, 2, 4)])
def test_a_relu_without_its_mask_and_twice_too_large_names_both(shape):
    g = gradcheck.check_layer(relu, lambda d, x: 2 * d, [randn(1, *shape)]).gradients["x"]
    assert g.status == "mismatch" and g.cause == "twice or half", g.diagnosis
    assert g.causes == ("twice or half", "mask") and "x > 0" in g.diagnosis, g.diagnosis


def test_a_relu_without_its_mask_and_a_missing_1_over_n_names_the_rows():
    x = randn(2, 5, 4)
    g = gradcheck.check_layer(lambda x: (np.maximum(x, 0) / 5, x), lambda d, x: d, [x]).gradients["x"]
    assert g.causes == ("rows", "mask"), g.diagnosis


def test_a_relu_without_its_mask_alone_is_named_singly():
    g = gradcheck.check_layer(relu, lambda d, x: d, [randn(3, 4, 5)]).gradients["x"]
    assert g.cause == "mask" and g.causes == () and "two mistakes" not in g.diagnosis, g.diagnosis


def test_a_relu_whose_mask_is_its_mean_is_not_a_factor_beside_a_missing_mask():
    """dout times the share of x > 0 where the mask belongs: the claim is that share times the truth where
    the truth is not 0, and not 0 where it is 0, yet the factor is the mask's own share."""
    g = gradcheck.check_layer(relu, lambda d, x: d * np.mean(x > 0), [randn(4, 4, 5)]).gradients["x"]
    assert g.status == "mismatch" and g.cause in HONEST and not g.causes, g.diagnosis


def test_a_factor_and_a_missing_mask_with_a_random_error_besides_keeps_the_count():
    noise = 0.01 * randn(5, 4, 5)
    g = gradcheck.check_layer(relu, lambda d, x: 2 * d + noise, [randn(6, 4, 5)]).gradients["x"]
    assert g.status == "mismatch" and g.cause in HONEST and not g.causes, g.diagnosis


# ----- a transpose with something else ---------------------------------------------------------------
def affine(x, w):
    return x @ w, (x, w)


def test_a_transposed_square_weight_gradient_twice_too_large_names_both():
    g = gradcheck.check_layer(affine, lambda d, c: (d @ c[1].T, 2 * (c[0].T @ d).T),
                              [randn(7, 5, 4), randn(8, 4, 4)]).gradients["w"]
    assert set(g.causes) == {"twice or half", "transpose"}, g.diagnosis


def test_a_transposed_square_weight_gradient_with_a_random_error_keeps_the_count():
    noise = 0.01 * randn(9, 4, 4)
    g = gradcheck.check_layer(affine, lambda d, c: (d @ c[1].T, 2 * (c[0].T @ d).T + noise),
                              [randn(10, 5, 4), randn(11, 4, 4)]).gradients["w"]
    assert g.cause in HONEST and not g.causes, g.diagnosis


def tanh_step(x, h, wh):
    nh = np.tanh(x + h @ wh)
    return nh, (h, wh, nh)


def test_an_activation_for_its_derivative_beside_an_untransposed_matrix_names_both():
    """dh = (dnh * nh) @ Wh: tanh's output for its derivative and Wh for Wh.T."""
    def backward(d, c):
        h, wh, nh = c
        dz = d * nh
        return d * (1 - nh ** 2), dz @ wh, h.T @ (d * (1 - nh ** 2))

    inputs = [randn(12, 3, 4), randn(13, 3, 4), 0.5 * randn(14, 4, 4)]
    g = gradcheck.check_layer(tanh_step, backward, inputs).gradients["h"]
    assert g.causes == ("activation for its derivative", "untransposed matrix") and "wh.T" in g.diagnosis, g.diagnosis


def test_an_untransposed_matrix_alone_is_named_singly():
    def backward(d, c):
        h, wh, nh = c
        dz = d * (1 - nh ** 2)
        return dz, dz @ wh, h.T @ dz

    inputs = [randn(15, 3, 4), randn(16, 3, 4), 0.5 * randn(17, 4, 4)]
    g = gradcheck.check_layer(tanh_step, backward, inputs).gradients["h"]
    assert g.cause == "untransposed matrix" and not g.causes, g.diagnosis


def test_a_bias_gradient_not_summed_beside_an_activation_for_its_derivative_names_both():
    def forward(x, b):
        out = np.tanh(x + b)
        return out, out

    g = gradcheck.check_layer(forward, lambda d, out: (d * (1 - out ** 2), d * out),
                              [randn(18, 4, 3), 0.1 * randn(19, 3)]).gradients["b"]
    assert g.causes == ("batch axis not summed", "activation for its derivative"), g.diagnosis


# ----- a data term and a regularisation term both off -------------------------------------------------
def regularised(factor, reg_factor):
    X = randn(20, 6, 3)

    def loss(W, X, reg):
        return 0.5 * np.mean(np.sum((X @ W) ** 2, axis=1)) + reg * np.sum(W * W)

    def grad(W, X, reg):
        return factor * X.T @ (X @ W) / len(X) + reg_factor * reg * W

    return gradcheck.check_function(loss, grad, [randn(21, 3, 2), X, 0.1], wrt="W").gradients["W"]


def test_a_missing_1_over_n_beside_a_regularisation_term_off_by_two_names_both():
    g = regularised(6, 1)  # no 1/N, and reg·W for 2·reg·W
    assert g.cause == "regularisation" and g.causes == ("regularisation", "data term factor"), g.diagnosis
    said = g.diagnosis.split("regularisation term is")[-1]
    assert "6 times" in g.diagnosis and said.split()[0] == "reg·W" and said.endswith("2·reg·W"), g.diagnosis
    missing = regularised(6, 0)  # no 1/N and no regularisation term
    assert missing.causes == ("regularisation", "data term factor") and "no such term" in missing.diagnosis


def test_a_missing_1_over_n_with_the_regularisation_term_right_is_the_data_term_alone():
    g = regularised(6, 2)
    assert g.cause == "data term factor" and not g.causes, g.diagnosis


def test_two_terms_both_off_by_numbers_the_call_does_not_have_keep_the_count():
    g = regularised(6, 1.37)  # 1.37·reg·W: no number of the call, so the fit names no term
    assert g.status == "mismatch" and g.cause in HONEST and not g.causes, g.diagnosis


# ----- two inputs swapped while a third is wrong --------------------------------------------------------
def scale_shift(x, gamma, beta):
    return gamma * x + beta, (x, gamma)


def test_two_gradients_swapped_beside_a_third_input_s_mistake_is_the_order():
    def backward(d, c):
        x, gamma = c
        return 2 * d * gamma, d.sum(0), (d * x).sum(0)  # dx twice; dgamma and dbeta swapped

    result = gradcheck.check_layer(scale_shift, backward, [randn(22, 5, 4), randn(23, 4), randn(24, 4)])
    for name in ("gamma", "beta"):
        g = result.gradients[name]
        assert g.cause == "order" and "x is wrong besides" in g.diagnosis, (name, g.diagnosis)


def test_a_swap_that_is_off_besides_is_not_the_order():
    def backward(d, c):
        x, gamma = c
        return 2 * d * gamma, 1.5 * d.sum(0), (d * x).sum(0)

    result = gradcheck.check_layer(scale_shift, backward, [randn(25, 5, 4), randn(26, 4), randn(27, 4)])
    assert result.gradients["gamma"].cause != "order", result.gradients["gamma"].diagnosis


# ----- the result --------------------------------------------------------------------------------------
def test_both_causes_are_in_the_json():
    result = gradcheck.check_layer(relu, lambda d, x: 2 * d, [randn(28, 3, 4)])
    g = json.loads(json.dumps(result.gradients["x"].to_dict(), default=str))
    assert g["cause"] == "twice or half" and g["causes"] == ["twice or half", "mask"], g
    single = gradcheck.check_layer(relu, lambda d, x: d, [randn(29, 3, 4)]).gradients["x"].to_dict()
    assert "causes" not in single and single["cause"] == "mask"


# ----- a factor beside a normalisation's missing mean path --------------------------------------------
def batchnorm(x):
    std = np.sqrt(x.var(axis=0) + 1e-5)
    xhat = (x - x.mean(axis=0)) / std
    return xhat, std


@pytest.mark.parametrize("factor,name", [(2.0, "twice or half"), (-1.0, "sign")])
def test_a_batch_norm_without_its_mean_path_and_a_factor_names_both(factor, name):
    g = gradcheck.check_layer(batchnorm, lambda d, std: factor * d / std, [randn(30, 5, 4) + 1]).gradients["x"]
    assert g.causes == (name, "mean path"), g.diagnosis


def test_a_batch_norm_without_its_mean_path_and_an_unnamed_factor_keeps_the_count():
    """1.37 is no size or number of the call, and a mean path's claim has not the truth's size: no factor
    of the set undoes it."""
    g = gradcheck.check_layer(batchnorm, lambda d, std: 1.37 * d / std, [randn(31, 5, 4) + 1]).gradients["x"]
    assert g.cause in HONEST and not g.causes, g.diagnosis


# ----- axes moved beside another mistake --------------------------------------------------------------
def moved_back(d):
    """A channels-last gradient put back with a reshape where a transpose belongs."""
    return np.transpose(d, (0, 2, 1)).reshape(d.shape)


def test_a_relu_without_its_mask_reshaped_back_names_both():
    g = gradcheck.check_layer(relu, lambda d, x: moved_back(d), [randn(32, 2, 3, 4)]).gradients["x"]
    assert g.causes == ("permuted", "mask") and "(0, 2, 1)" in g.diagnosis, g.diagnosis


def test_a_relu_reshaped_back_alone_is_named_singly():
    x = randn(33, 2, 3, 4) + 5  # every entry positive: the mask keeps all
    g = gradcheck.check_layer(relu, lambda d, x: moved_back(d), [x]).gradients["x"]
    assert g.cause == "permuted" and not g.causes, g.diagnosis


def test_a_relu_without_its_mask_reshaped_back_with_a_random_error_keeps_the_count():
    noise = 0.01 * randn(34, 2, 3, 4)
    g = gradcheck.check_layer(relu, lambda d, x: moved_back(d) + noise, [randn(35, 2, 3, 4)]).gradients["x"]
    assert g.cause in HONEST and not g.causes, g.diagnosis


# ----- a sign beside a factor the call names ----------------------------------------------------------
def mean_square(x):
    return np.sum(x ** 2, axis=1) / len(x), x


@pytest.mark.parametrize("factor,name", [(-5.0, "rows"), (-2.0, "twice or half")])
def test_a_sign_beside_a_forgotten_1_over_n_or_a_factor_2_names_both(factor, name):
    x = randn(36, 5, 3)
    g = gradcheck.check_layer(mean_square, lambda d, x: factor * 2 * x * d[:, None] / 5, [x]).gradients["x"]
    assert g.cause == "sign" and g.causes == ("sign", name), g.diagnosis


def test_a_negative_factor_no_size_or_number_names_is_a_constant():
    x = randn(37, 5, 3)
    g = gradcheck.check_layer(mean_square, lambda d, x: -3.7 * 2 * x * d[:, None] / 5, [x]).gradients["x"]
    assert g.cause == "constant factor" and not g.causes and "-3.7" in g.diagnosis, g.diagnosis
