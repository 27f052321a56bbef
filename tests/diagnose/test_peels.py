"""Two mistakes at once where one is peeled off the claim (gradcheck/diagnose/peels.py): a parameter forgotten
as a factor, a regularisation term of the model's own strength, a claim of the transposed shape or a square
claim transposed, each undone, and the rest one of the table's mistakes; a term c·u of a fitted c beside a
square claim transposed. Named (both) only where the pair explains the whole claim; a single mistake is
still named singly, and three mistakes, a term of a strength the call does not declare, or an error no entry
describes keep the honest count. The layers and models are this file's own, in several families (a norm, a
scaled activation, a model, a loss of a square weight)."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck

HONEST = {None, "count"}
EPS = 1e-5


def randn(seed, *shape):
    return np.random.default_rng([907, seed]).standard_normal(shape)


# ----- a normalisation: gamma forgotten beside the statistics taken as constants -----------------------
def batchnorm(x, gamma, beta):
    mu = x.mean(axis=0)
    std = np.sqrt(((x - mu) ** 2).mean(axis=0) + EPS)
    xhat = (x - mu) / std
    return gamma * xhat + beta, (xhat, std, gamma)


def batchnorm_backward(bugs):
    def backward(dout, cache):
        xhat, std, gamma = cache
        dxhat = dout * (1.0 if "gamma" in bugs else gamma)
        if "statistics" in bugs:
            dx = dxhat / std
        else:
            dx = (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)) / std
        dx = 2 * dx if "twice" in bugs else dx
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
    return backward


def batchnorm_inputs(seed, n=7, d=4):
    return [1.0 + randn(seed, n, d), 1.2 + 0.3 * randn(seed + 1, d), randn(seed + 2, d)]


@pytest.mark.parametrize("n, d", [(7, 4), (9, 2)])
def test_a_batchnorm_with_its_statistics_constant_and_gamma_forgotten_names_both(n, d):
    result = gradcheck.check_layer(batchnorm, batchnorm_backward({"gamma", "statistics"}),
                                   batchnorm_inputs(1, n, d))
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.status == "mismatch"
    assert set(g.causes) == {"local gradient factor", "mean path"}, g.diagnosis
    assert "gamma" in g.diagnosis and "two mistakes" in g.diagnosis, g.diagnosis


def test_a_batchnorm_with_gamma_forgotten_alone_is_named_singly():
    g = gradcheck.check_layer(batchnorm, batchnorm_backward({"gamma"}), batchnorm_inputs(4)).gradients["x"]
    assert g.cause == "local gradient factor" and g.causes == (), g.diagnosis


def test_a_batchnorm_with_three_mistakes_keeps_the_count():
    """gamma forgotten, the statistics constant and a factor 2: no pair explains it."""
    result = gradcheck.check_layer(batchnorm, batchnorm_backward({"gamma", "statistics", "twice"}),
                                   batchnorm_inputs(7))
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause in HONEST and not g.causes, g.diagnosis


def test_a_batchnorm_with_gamma_forgotten_and_an_error_no_entry_describes_keeps_the_count():
    noise = 0.02 * randn(10, 7, 4)
    backward = batchnorm_backward({"gamma"})
    g = gradcheck.check_layer(batchnorm, lambda d, c: (backward(d, c)[0] + noise, *backward(d, c)[1:]),
                              batchnorm_inputs(11)).gradients["x"]
    assert g.cause in HONEST and not g.causes, g.diagnosis


def test_a_right_batchnorm_passes():
    assert gradcheck.check_layer(batchnorm, batchnorm_backward(()), batchnorm_inputs(13)).exit_code == 0


# ----- a scaled activation: the scale forgotten beside the activation for its derivative ---------------
def scaled_tanh(x, scale):
    t = np.tanh(x)
    return scale * t, (t, scale)


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4)])
def test_a_scaled_tanh_without_its_scale_and_with_tanh_for_its_derivative_names_both(shape):
    x, scale = randn(20, *shape), 0.5 + np.abs(randn(21, shape[-1]))
    result = gradcheck.check_layer(scaled_tanh, lambda d, c: d * c[0], [x, scale], wrt="x")
    g = result.gradients["x"]
    assert result.exit_code == 1
    assert set(g.causes) == {"local gradient factor", "activation for its derivative"}, g.diagnosis
    assert "scale" in g.diagnosis, g.diagnosis


def test_a_scaled_tanh_without_its_scale_alone_is_named_singly():
    x, scale = randn(22, 4, 3), 0.5 + np.abs(randn(23, 3))
    g = gradcheck.check_layer(scaled_tanh, lambda d, c: d * (1 - c[0] ** 2), [x, scale], wrt="x").gradients["x"]
    assert g.cause == "local gradient factor" and g.causes == (), g.diagnosis


# ----- a model: a transposed weight gradient without its regularisation term -------------------------
class SoftmaxClassifier:
    """scores = X @ W + b, softmax cross-entropy averaged over the rows, plus 0.5 * reg * |W|^2."""

    def __init__(self, bugs=(), reg=0.2, seed=30, sizes=(4, 3), written_reg=None):
        d, c = sizes
        self.params = {"W": 0.5 * randn(seed, d, c), "b": 0.1 * randn(seed + 1, c)}
        self.reg, self.bugs = reg, set(bugs)
        self.written_reg = reg if written_reg is None else written_reg

    def loss(self, X, y):
        W, b, n = self.params["W"], self.params["b"], len(X)
        s = X @ W + b
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(n), y]).mean() + 0.5 * self.reg * np.sum(W ** 2)
        ds = p.copy()
        ds[np.arange(n), y] -= 1.0
        ds /= n
        dW = ds.T @ X if "transposed" in self.bugs else X.T @ ds
        if "no reg" not in self.bugs:
            dW = dW + self.written_reg * (W.T if "transposed" in self.bugs else W)
        return loss, {"W": dW, "b": ds.sum(axis=0)}


def classifier_data(seed, n=6, d=4, c=3):
    return randn(seed, n, d), np.random.default_rng([907, seed + 1]).integers(0, c, n)


@pytest.mark.parametrize("sizes", [(4, 3), (5, 2)])
def test_a_classifier_whose_dW_is_transposed_and_lacks_its_term_names_both(sizes):
    X, y = classifier_data(31, d=sizes[0], c=sizes[1])
    result = gradcheck.check_model(SoftmaxClassifier({"transposed", "no reg"}, sizes=sizes), X, y)
    g = result.gradients['params["W"]']
    assert result.exit_code == 1
    assert set(g.causes) == {"transposed shape", "regularisation"}, g.diagnosis
    assert "model.reg" in g.diagnosis, g.diagnosis


def test_a_classifier_whose_dW_is_transposed_alone_is_named_singly():
    X, y = classifier_data(33)
    g = gradcheck.check_model(SoftmaxClassifier({"transposed"}), X, y).gradients['params["W"]']
    assert g.cause == "transposed shape" and g.causes == (), g.diagnosis


def test_a_transposed_dW_with_a_term_of_a_strength_no_number_declares_keeps_the_count():
    """0.37 * W where the model's reg is 0.2: the term is no peel of the call's numbers."""
    X, y = classifier_data(35)
    model = SoftmaxClassifier({"transposed"}, written_reg=0.37)
    g = gradcheck.check_model(model, X, y).gradients['params["W"]']
    assert g.status == "mismatch" and g.cause in HONEST and not g.causes, g.diagnosis


def test_a_right_classifier_passes():
    X, y = classifier_data(37)
    assert gradcheck.check_model(SoftmaxClassifier(), X, y).exit_code == 0


# ----- a loss of a square weight: its data term transposed and its term missing ------------------------
def ridge_loss(W, X, Y, reg):
    return 0.5 * np.sum((X @ W - Y) ** 2) + 0.5 * reg * np.sum(W ** 2)


def test_a_ridge_gradient_transposed_and_without_its_term_names_both():
    X, Y, W = randn(40, 6, 3), randn(41, 6, 3), randn(42, 3, 3)
    result = gradcheck.check_function(ridge_loss, lambda W, X, Y, reg: (X.T @ (X @ W - Y)).T, [W, X, Y, 0.4],
                                     wrt="W")
    g = result.gradients["W"]
    assert result.exit_code == 1
    assert set(g.causes) == {"transpose", "regularisation"}, g.diagnosis
    assert "reg" in g.diagnosis, g.diagnosis


# ----- a linear layer of a square weight: dW transposed beside a weight decay the forward lacks -------------
DECAY = 0.01


def linear(x, W, b):
    return x @ W + b, (x, W)


def linear_backward(extra):
    def backward(dout, cache):
        x, W = cache
        return dout @ W.T, dout.T @ x + extra(x, W), dout.sum(axis=0)
    return backward


def linear_inputs(seed, rows=6):
    return [randn(seed, rows, 4), randn(seed + 1, 4, 4), randn(seed + 2, 4)]


def test_a_transposed_square_dW_with_a_decay_no_input_declares_names_both():
    """decay * W, decay a constant of the backward's own: c is read beside the transpose, not from the call."""
    result = gradcheck.check_layer(linear, linear_backward(lambda x, W: DECAY * W), linear_inputs(50))
    g = result.gradients["W"]
    assert result.exit_code == 1
    assert set(g.causes) == {"transpose", "regularisation"} and "0.01·W" in g.diagnosis, g.diagnosis


def test_a_transposed_square_dW_with_a_term_of_another_input_names_that_input():
    x, W, b = linear_inputs(52, rows=4)
    g = gradcheck.check_layer(linear, linear_backward(lambda x, W: DECAY * x), [x, W, b]).gradients["W"]
    assert set(g.causes) == {"transpose", "regularisation"} and "0.01·x" in g.diagnosis, g.diagnosis
    assert "·W" not in g.diagnosis, g.diagnosis


@pytest.mark.parametrize("extra", [
    lambda x, W: DECAY * W + 1e-2 * randn(54, 4, 4),  # the term and noise
    lambda x, W: DECAY * randn(55, 4, 4),  # a term proportional to no input
])
def test_a_transposed_square_dW_with_a_term_no_input_explains_keeps_the_count(extra):
    result = gradcheck.check_layer(linear, linear_backward(extra), linear_inputs(56))
    g = result.gradients["W"]
    assert result.exit_code == 1 and g.cause in HONEST and not g.causes, g.diagnosis


# ----- a layer norm: gamma forgotten on dout, before the backward's own sums ----------------------------
def layernorm(x, gamma, beta):
    mu = x.mean(axis=-1, keepdims=True)
    std = np.sqrt(((x - mu) ** 2).mean(axis=-1, keepdims=True) + EPS)
    xhat = (x - mu) / std
    return gamma * xhat + beta, (xhat, std, gamma)


def layernorm_backward(bugs):
    def backward(dout, cache):
        xhat, std, gamma = cache
        dxhat = dout if "gamma" in bugs else dout * gamma
        centre = 0.0 if "mean" in bugs else dxhat.mean(axis=-1, keepdims=True)
        dx = (dxhat - centre - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True)) / std
        dx = 3 * dx if "thrice" in bugs else dx
        features = dout.shape[-1]
        return dx, (dout * xhat).reshape(-1, features).sum(axis=0), dout.reshape(-1, features).sum(axis=0)
    return backward


def layernorm_inputs(seed, shape):
    return [randn(seed, *shape), 1.0 + 0.3 * randn(seed + 1, shape[-1]), randn(seed + 2, shape[-1])]


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 6)])
def test_a_layernorm_without_gamma_in_dxhat_and_without_its_mean_term_names_both(shape):
    """gamma does not commute with the sums over the features: it is peeled off dout (the truth for
    dout / gamma), not off the claim."""
    result = gradcheck.check_layer(layernorm, layernorm_backward({"gamma", "mean"}), layernorm_inputs(50, shape))
    g = result.gradients["x"]
    assert result.exit_code == 1
    assert set(g.causes) == {"local gradient factor", "mean path"}, g.diagnosis
    assert "dout * gamma" in g.diagnosis, g.diagnosis


def test_a_layernorm_without_gamma_in_dxhat_alone_is_one_mistake():
    g = gradcheck.check_layer(layernorm, layernorm_backward({"gamma"}), layernorm_inputs(53, (3, 5))).gradients["x"]
    assert g.cause == "local gradient factor" and g.causes == () and "dout * gamma" in g.diagnosis, g.diagnosis


def test_a_layernorm_with_three_mistakes_keeps_the_count():
    result = gradcheck.check_layer(layernorm, layernorm_backward({"gamma", "mean", "thrice"}),
                                   layernorm_inputs(56, (4, 5)))
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause in HONEST and not g.causes, g.diagnosis


def test_a_right_layernorm_passes():
    assert gradcheck.check_layer(layernorm, layernorm_backward(()), layernorm_inputs(59, (4, 5))).exit_code == 0


# ----- a loss: its regularisation term off beside a mistake on its data term ----------------------------
def relu_loss(W, reg):
    return np.sum(np.maximum(W, 0)) + 0.5 * reg * np.sum(W ** 2)


def tanh_loss(W, reg):
    return np.sum(np.tanh(W)) + 0.5 * reg * np.sum(W ** 2)


@pytest.mark.parametrize("written", [0.0, 2.0])
def test_a_relu_loss_without_its_mask_and_with_its_term_off_names_both(written):
    """Both terms taken out (the truth's reg·W, the claim's none or 2·reg·W): the data terms differ by the mask."""
    result = gradcheck.check_function(relu_loss, lambda W, reg: np.ones_like(W) + written * reg * W,
                                      [randn(60, 4, 5), 0.3])
    g = result.gradients["W"]
    assert result.exit_code == 1
    assert set(g.causes) == {"regularisation", "mask"}, g.diagnosis
    assert "reg·W" in g.diagnosis and "W > 0" in g.diagnosis, g.diagnosis


def test_a_tanh_loss_with_tanh_for_its_derivative_and_no_term_names_both():
    result = gradcheck.check_function(tanh_loss, lambda W, reg: np.tanh(W), [randn(61, 3, 4), 0.25])
    g = result.gradients["W"]
    assert set(g.causes) == {"regularisation", "activation for its derivative"}, g.diagnosis


@pytest.mark.parametrize("wrong", [
    lambda W, reg: np.ones_like(W) + 0.37 * W,  # a term of a strength no number of the call says
    lambda W, reg: 2 * np.ones_like(W),  # the mask, the term and a factor 2: three mistakes
])
def test_a_relu_loss_whose_term_no_peel_reads_keeps_the_count(wrong):
    result = gradcheck.check_function(relu_loss, wrong, [randn(62, 4, 5), 0.3])
    g = result.gradients["W"]
    assert result.exit_code == 1 and g.cause in HONEST and not g.causes, g.diagnosis


def test_a_relu_loss_without_its_mask_alone_is_named_singly():
    g = gradcheck.check_function(relu_loss, lambda W, reg: np.ones_like(W) + reg * W,
                                 [randn(63, 4, 5), 0.3]).gradients["W"]
    assert g.cause == "mask" and g.causes == (), g.diagnosis
