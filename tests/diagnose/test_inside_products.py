"""A mistake made inside a matrix product with an input (gradcheck/diagnose/products.py): the claim is
Xᵀ·G′ (or G′·Wᵀ) where the truth is Xᵀ·G, G and G′ recovered exactly where X has full rank on that side,
and the table's own tests asked about G′ against G. Named for a relu mask missing or inverted inside the
product, a leaky slope on the wrong side, beside an untransposed or transposed product; the right layer,
a claim with a random error, a mask missing at random, and an X with more rows than columns (G not
unique) keep the honest count. The layers are this file's own."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck

HONEST = {"count", "probe"}


def randn(seed, *shape):
    return np.random.default_rng([97, seed]).standard_normal(shape)


def affine_relu(x, w, b):
    z = x @ w + b
    return np.maximum(z, 0), (x, w, z)


def affine_relu_backward(bug):
    def backward(dout, cache):
        x, w, z = cache
        dz = dout * (z > 0)
        inner = {"no mask": dout, "inverted": dout * (z <= 0), "right": dz}[bug]
        return inner @ w.T, x.T @ inner, dz.sum(axis=0)
    return backward


@pytest.mark.parametrize("bug, words", [("no mask", "missing"), ("inverted", "inverted")])
def test_a_mask_missing_or_inverted_inside_the_weight_product_is_named(bug, words):
    x, w, b = randn(1, 3, 5), randn(2, 5, 4), 0.1 * randn(3, 4)
    result = gradcheck.check_layer(affine_relu, affine_relu_backward(bug), [x, w, b])
    for n, other in (("w", "x"), ("x", "w")):  # dW = x.T @ g (x: 3 rows, 5 columns); dx = g @ w.T
        g = result.gradients[n]
        assert g.status == "mismatch" and g.cause == "mask" and not g.causes, g.diagnosis
        assert f"inside the product with {other}:" in g.diagnosis and words in g.diagnosis, g.diagnosis


def test_the_right_layer_passes():
    x, w, b = randn(1, 3, 5), randn(2, 5, 4), 0.1 * randn(3, 4)
    result = gradcheck.check_layer(affine_relu, affine_relu_backward("right"), [x, w, b])
    assert result.exit_code == 0, result.status


def test_a_random_error_inside_the_product_keeps_the_count():
    x, w, b = randn(1, 3, 5), randn(2, 5, 4), 0.1 * randn(3, 4)
    noise = 0.05 * randn(4, 3, 4)

    def backward(dout, cache):
        x, w, z = cache
        dz = dout * (z > 0)
        return dz @ w.T, x.T @ (dz + noise), dz.sum(axis=0)
    g = gradcheck.check_layer(affine_relu, backward, [x, w, b]).gradients["w"]
    assert g.status == "mismatch" and g.cause in HONEST, g.diagnosis


def test_a_mask_missing_at_entries_that_change_with_the_dout_keeps_the_count():
    """G′ is G where G is not 0 and not 0 at some entries where it is, but at other entries for each dout
    (where that dout is positive): no fixed mask, so no mask is named."""
    x, w, b = randn(1, 3, 5), randn(2, 5, 4), 0.1 * randn(3, 4)

    def backward(dout, cache):
        x, w, z = cache
        dz = dout * (z > 0)
        return dz @ w.T, x.T @ (dout * ((z > 0) | (dout > 0))), dz.sum(axis=0)
    g = gradcheck.check_layer(affine_relu, backward, [x, w, b]).gradients["w"]
    assert g.status == "mismatch" and g.cause in HONEST, g.diagnosis


def test_more_rows_than_columns_keeps_the_count():
    """x with 6 rows and 3 columns: x.T @ g does not fix g, and w.T (4 by 3) does not either."""
    x, w, b = randn(6, 6, 3), randn(7, 3, 4), 0.1 * randn(8, 4)
    result = gradcheck.check_layer(affine_relu, affine_relu_backward("no mask"), [x, w, b])
    for n in ("w", "x"):
        g = result.gradients[n]
        assert g.status == "mismatch" and g.cause in HONEST and "inside the product" not in g.diagnosis, g.diagnosis


def test_a_leaky_slope_on_the_wrong_side_inside_the_product_is_the_sign_region():
    def forward(x, w):
        z = x @ w
        return np.where(z > 0, z, 0.1 * z), (x, w, z)

    def backward(dout, cache):
        x, w, z = cache
        right = dout * np.where(z > 0, 1.0, 0.1)
        wrong = dout * np.where(z > 0, 0.1, 1.0)
        return right @ w.T, x.T @ wrong
    g = gradcheck.check_layer(forward, backward, [randn(9, 2, 4), randn(10, 4, 3)]).gradients["w"]
    assert g.cause == "sign region" and "inside the product with x" in g.diagnosis, g.diagnosis


def test_an_untransposed_weight_beside_a_missing_mask_names_both():
    """dx = dz @ W where (dz * mask) @ W.T belongs, W square."""
    def backward(dout, cache):
        x, w, z = cache
        dz = dout * (z > 0)
        return dout @ w, x.T @ dz, dz.sum(axis=0)
    result = gradcheck.check_layer(affine_relu, backward, [randn(11, 5, 3), randn(12, 3, 3), 0.1 * randn(13, 3)])
    g = result.gradients["x"]
    assert set(g.causes) == {"mask", "untransposed matrix"}, g.diagnosis


def test_a_transposed_weight_product_beside_a_missing_mask_is_recovered_through_the_input_gradient():
    """dW = dz.T @ x with x of 6 rows and 4 columns (x.T @ g does not fix g): g and g′ come from dx = g @ W.T."""
    def backward(dout, cache):
        x, w, z = cache
        return dout @ w.T, dout.T @ x, (dout * (z > 0)).sum(axis=0)
    result = gradcheck.check_layer(affine_relu, backward, [randn(14, 6, 4), randn(15, 4, 4), 0.1 * randn(16, 4)])
    g = result.gradients["w"]
    assert set(g.causes) == {"transpose", "mask"} and "recovered from x" in g.diagnosis, g.diagnosis


class ReluNet:
    """affine - relu - affine, a mean squared loss; no regularisation."""

    def __init__(self, bug):
        self.params = {"W1": randn(20, 6, 5), "b1": 0.1 * randn(21, 5), "W2": randn(22, 5, 2)}
        self.bug = bug

    def loss(self, X, y):
        p = self.params
        z = X @ p["W1"] + p["b1"]
        h = np.maximum(z, 0)
        out = h @ p["W2"]
        loss = 0.5 * np.sum((out - y) ** 2) / len(X)
        dout = (out - y) / len(X)
        dh = dout @ p["W2"].T
        dz = dh if self.bug else dh * (z > 0)
        return loss, {"W1": X.T @ dz, "b1": (dh * (z > 0)).sum(axis=0), "W2": h.T @ dout}


def test_a_model_whose_hidden_mask_is_missing_in_dW1_is_named_with_the_data():
    """check_model: X (4 rows, 6 features) is data, and dW1 = X.T @ dh where X.T @ (dh * mask) belongs."""
    g = gradcheck.check_model(ReluNet(bug=True), randn(23, 4, 6), randn(24, 4, 2)).gradients['params["W1"]']
    assert g.status == "mismatch" and g.cause == "mask" and "inside the product with X" in g.diagnosis, g.diagnosis


def test_the_right_model_passes():
    assert gradcheck.check_model(ReluNet(bug=False), randn(23, 4, 6), randn(24, 4, 2)).exit_code == 0


class TanhNet:
    """affine - tanh - affine, a mean squared loss; the bug writes tanh's derivative with its input z."""

    def __init__(self, bug):
        self.params = {"W1": 0.5 * randn(25, 6, 5), "b1": 0.1 * randn(26, 5), "W2": randn(27, 5, 2)}
        self.bug = bug

    def loss(self, X, y):
        p = self.params
        z = X @ p["W1"] + p["b1"]
        h = np.tanh(z)
        out = h @ p["W2"]
        dout = (out - y) / len(X)
        dz = (dout @ p["W2"].T) * (1 - (z if self.bug else h) ** 2)
        return 0.5 * np.sum((out - y) ** 2) / len(X), {"W1": X.T @ dz, "b1": dz.sum(axis=0), "W2": h.T @ dout}


def test_a_hidden_tanh_derivative_written_with_its_pre_activation_says_it_grouped():
    """dW1 = X.T @ (dh * (1 - z**2)), z = X @ W1 + b1 computed in the forward: named inside the product,
    the pre-activation's formula in parentheses where the derivative squares it."""
    X, y = randn(28, 4, 6), randn(29, 4, 2)
    assert gradcheck.check_model(TanhNet(bug=False), X, y).exit_code == 0
    result = gradcheck.check_model(TanhNet(bug=True), X, y)
    g = result.gradients['params["W1"]']
    assert result.exit_code == 1
    assert g.cause == "input for output" and "inside the product with X" in g.diagnosis, g.diagnosis
    assert '(X @ params["W1"] + params["b1"])**2' in g.diagnosis and "1 − y**2" in g.diagnosis, g.diagnosis


class RegularisedReluNet(ReluNet):
    """ReluNet with 0.5 * reg * |W1|^2; the backward's mask on dW1 and its reg term as bugs say."""

    def __init__(self, bugs, reg=0.3):
        super().__init__(bug=False)
        self.bugs, self.reg = set(bugs), reg

    def loss(self, X, y):
        loss, grads = super().loss(X, y)
        p = self.params
        z = X @ p["W1"] + p["b1"]
        dh = ((np.maximum(z, 0) @ p["W2"] - y) / len(X)) @ p["W2"].T
        dz = dh if "no mask" in self.bugs else dh * (z > 0)
        term = 0.0 if "no reg" in self.bugs else self.reg * p["W1"]
        grads["W1"] = X.T @ dz + term
        return loss + 0.5 * self.reg * np.sum(p["W1"] ** 2), grads


@pytest.mark.parametrize("bugs, causes", [({"no mask"}, ()), ({"no mask", "no reg"}, ("regularisation", "mask"))])
def test_a_missing_mask_beside_a_regularisation_term_is_named(bugs, causes):
    """dW1 = X.T @ dz1 + reg * W1 with X of 4 rows and 6 columns: the term is read off the part of dW1 no
    X.T @ g reaches; without the mask (and without the term) the mask is named (and the term beside it)."""
    g = gradcheck.check_model(RegularisedReluNet(bugs), randn(23, 4, 6), randn(24, 4, 2)).gradients['params["W1"]']
    assert g.status == "mismatch" and g.cause == (causes[0] if causes else "mask") and g.causes == causes, g.diagnosis
    assert ("is none where the true gradient has 0.3" in g.diagnosis) == bool(causes), g.diagnosis


def test_a_regularisation_term_alone_wrong_is_the_table_s():
    g = gradcheck.check_model(RegularisedReluNet({"no reg"}), randn(23, 4, 6), randn(24, 4, 2)).gradients['params["W1"]']
    assert g.cause == "regularisation" and not g.causes, g.diagnosis


def test_the_right_regularised_model_passes():
    assert gradcheck.check_model(RegularisedReluNet(()), randn(23, 4, 6), randn(24, 4, 2)).exit_code == 0


class NoisyNet(RegularisedReluNet):
    def loss(self, X, y):
        loss, grads = super().loss(X, y)
        grads["W1"] = grads["W1"] + 0.01 * randn(99, *grads["W1"].shape)
        return loss, grads


def test_a_missing_mask_beside_a_term_with_a_random_error_keeps_the_count():
    g = gradcheck.check_model(NoisyNet({"no mask"}), randn(23, 4, 6), randn(24, 4, 2)).gradients['params["W1"]']
    assert g.status == "mismatch" and g.cause in HONEST, g.diagnosis


def test_a_missing_mask_beside_a_term_with_more_rows_than_columns_is_read_off_the_first_rows():
    """X of 8 rows and 6 columns: X.T @ g fixes no g at the whole batch; the mask is named only as read off
    the first 5 rows, checked again alone (checks/sub_batch.py), and the verdict stays the batch's."""
    result = gradcheck.check_model(RegularisedReluNet({"no mask"}), randn(23, 8, 6), randn(24, 8, 2))
    g = result.gradients['params["W1"]']
    assert result.exit_code == 1 and g.status == "mismatch" and g.cause == "mask", g.diagnosis
    assert g.diagnosis.startswith("read off the first 5 of the 8 rows of X and y"), g.diagnosis


def test_an_rnn_step_without_its_relu_mask_in_dwx_is_named():
    """nh = relu(x @ Wx + h @ Wh + b), dWx = x.T @ dnh where x.T @ (dnh * mask) belongs (x: 3 rows, 5 columns)."""
    def forward(x, h, wx, wh, b):
        nh = np.maximum(x @ wx + h @ wh + b, 0)
        return nh, (x, h, wx, wh, nh)

    def backward(dnh, cache):
        x, h, wx, wh, nh = cache
        dz = dnh * (nh > 0)
        return dz @ wx.T, dz @ wh.T, x.T @ dnh, h.T @ dz, dz.sum(axis=0)
    inputs = [randn(30, 3, 5), randn(31, 3, 4), randn(32, 5, 4), 0.5 * randn(33, 4, 4), 0.1 * randn(34, 4)]
    result = gradcheck.check_layer(forward, backward, inputs)
    g = result.gradients["wx"]
    assert g.cause == "mask" and "inside the product with x" in g.diagnosis, g.diagnosis
    assert all(result.gradients[n].status == "pass" for n in ("x", "h", "wh", "b"))


@pytest.mark.parametrize("bug", ["no mask", "inverted"])
def test_a_bias_summing_the_unmasked_gradient_is_named_through_the_weight(bug):
    """db = g.sum(axis=0) where (g * mask).sum(axis=0) belongs: g and g′ from dW = x.T @ g (x: 3 rows, 5 columns)."""
    def backward(dout, cache):
        x, w, z = cache
        wrong = dout if bug == "no mask" else dout * (z <= 0)
        return wrong @ w.T, x.T @ wrong, wrong.sum(axis=0)
    result = gradcheck.check_layer(affine_relu, backward, [randn(1, 3, 5), randn(2, 5, 4), 0.1 * randn(3, 4)])
    g = result.gradients["b"]
    assert g.cause == "mask" and "inside the sum over rows" in g.diagnosis, g.diagnosis


def test_a_bias_wrong_beside_right_weights_is_not_named_inside_a_sum():
    """db = 2 * dz.sum(axis=0) with the weights right: the g from dW is right, so no mistake is inside the sum
    (the table names the factor)."""
    def backward(dout, cache):
        x, w, z = cache
        dz = dout * (z > 0)
        return dz @ w.T, x.T @ dz, 2 * dz.sum(axis=0) + 0.01 * randn(40, 4)
    result = gradcheck.check_layer(affine_relu, backward, [randn(1, 3, 5), randn(2, 5, 4), 0.1 * randn(3, 4)])
    g = result.gradients["b"]
    assert g.status == "mismatch" and g.cause in HONEST and "inside" not in g.diagnosis, g.diagnosis
