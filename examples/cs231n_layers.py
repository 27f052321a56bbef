"""The CS231n layers in numpy, each with its backward, each checked with one gradcheck call.

    python examples/cs231n_layers.py     # exits 0: every backward below is right

The convention is the course's: out, cache = layer_forward(*inputs); dx, dw, ... = layer_backward(dout, cache).
Integer labels and indices, boolean masks and parameter dicts are data: gradcheck passes them through as they
are and differentiates only the floating-point arrays. Losses return (loss, dx) and are checked with
check_function.
"""

from __future__ import annotations

import sys

import numpy as np

import gradcheck


# ----- affine and relu ---------------------------------------------------------------------------
def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


# ----- losses: (loss, dx) -------------------------------------------------------------------------
def svm_loss(x, y):
    n = x.shape[0]
    correct = x[np.arange(n), y][:, None]
    margins = np.maximum(0, x - correct + 1.0)
    margins[np.arange(n), y] = 0
    loss = margins.sum() / n
    positive = (margins > 0).astype(x.dtype)
    positive[np.arange(n), y] = -positive.sum(axis=1)
    return loss, positive / n


def softmax_loss(x, y):
    n = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].mean()
    dx = np.exp(log_probs)
    dx[np.arange(n), y] -= 1
    return loss, dx / n


# ----- normalization ------------------------------------------------------------------------------
def batchnorm_forward(x, gamma, beta, bn_param):
    """Train mode; like the course's, it keeps running averages in bn_param (a write to a data input)."""
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    mean, var = x.mean(axis=0), x.var(axis=0)
    xhat = (x - mean) / np.sqrt(var + eps)
    bn_param["running_mean"] = momentum * bn_param.get("running_mean", np.zeros_like(mean)) + (1 - momentum) * mean
    bn_param["running_var"] = momentum * bn_param.get("running_var", np.zeros_like(var)) + (1 - momentum) * var
    return gamma * xhat + beta, (xhat, gamma, np.sqrt(var + eps))


def batchnorm_backward(dout, cache):
    xhat, gamma, std = cache
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)) / std
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    xhat = (x - mean) / np.sqrt(var + eps)
    return gamma * xhat + beta, (xhat, gamma, np.sqrt(var + eps))


def layernorm_backward(dout, cache):
    xhat, gamma, std = cache
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(axis=1, keepdims=True) - xhat * (dxhat * xhat).mean(axis=1, keepdims=True)) / std
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    n, c, h, w = x.shape
    flat = x.transpose(0, 2, 3, 1).reshape(-1, c)
    out, cache = batchnorm_forward(flat, gamma, beta, bn_param)
    return out.reshape(n, h, w, c).transpose(0, 3, 1, 2), (cache, x.shape)


def spatial_batchnorm_backward(dout, cache):
    inner, (n, c, h, w) = cache
    dflat, dgamma, dbeta = batchnorm_backward(dout.transpose(0, 2, 3, 1).reshape(-1, c), inner)
    return dflat.reshape(n, h, w, c).transpose(0, 3, 1, 2), dgamma, dbeta


# ----- dropout (a fixed mask: the seed is in dropout_param) ----------------------------------------
def dropout_forward(x, dropout_param):
    p = dropout_param["p"]  # the probability of keeping a unit (inverted dropout)
    mask = (np.random.default_rng(dropout_param["seed"]).random(x.shape) < p) / p
    return x * mask, mask


def dropout_backward(dout, cache):
    return dout * cache


# ----- convolution and pooling ---------------------------------------------------------------------
def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    n, _, height, width = x.shape
    f, _, hh, ww = w.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out_h, out_w = 1 + (height + 2 * pad - hh) // stride, 1 + (width + 2 * pad - ww) // stride
    out = np.empty((n, f, out_h, out_w), dtype=np.result_type(x, w))
    for i in range(out_h):
        for j in range(out_w):
            window = padded[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    _, _, hh, ww = w.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dpadded, dw = np.zeros_like(padded), np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * stride, i * stride + hh), slice(j * stride, j * stride + ww)
            dw += np.tensordot(dout[:, :, i, j], padded[:, :, rows, cols], axes=([0], [0]))
            dpadded[:, :, rows, cols] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
    dx = dpadded[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def max_pool_forward_naive(x, pool_param):
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    n, c, height, width = x.shape
    out_h, out_w = 1 + (height - ph) // stride, 1 + (width - pw) // stride
    out = np.empty((n, c, out_h, out_w), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw].max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            flat = window.reshape(*window.shape[:2], -1)
            first = flat.argmax(axis=2)  # a tie routes the gradient to the first maximum
            rows, cols = np.unravel_index(first, (ph, pw))
            for a in range(x.shape[0]):
                for b in range(x.shape[1]):
                    dx[a, b, i * stride + rows[a, b], j * stride + cols[a, b]] += dout[a, b, i, j]
    return dx


# ----- recurrent steps ------------------------------------------------------------------------------
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    h = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o, g = sigmoid(a[:, :h]), sigmoid(a[:, h:2 * h]), sigmoid(a[:, 2 * h:3 * h]), np.tanh(a[:, 3 * h:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2)  # both paths into next_c
    da = np.hstack([dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * np.tanh(next_c) * o * (1 - o),
                    dc * i * (1 - g**2)])
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


# ----- words and time steps -------------------------------------------------------------------------
def word_embedding_forward(x, W):
    return W[x], (x, W.shape)


def word_embedding_backward(dout, cache):
    x, shape = cache
    dW = np.zeros(shape, dtype=dout.dtype)
    np.add.at(dW, x, dout)  # a word that appears twice gets both gradients
    return dW


def temporal_affine_forward(x, w, b):
    return x @ w + b, (x, w)


def temporal_affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, np.einsum("ntd,ntm->dm", x, dout), dout.sum(axis=(0, 1))


def temporal_softmax_loss(x, y, mask):
    n, t, v = x.shape
    flat, labels, keep = x.reshape(n * t, v), y.reshape(n * t), mask.reshape(n * t)
    shifted = flat - flat.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.sum(keep * log_probs[np.arange(n * t), labels]) / n
    dx = np.exp(log_probs)
    dx[np.arange(n * t), labels] -= 1
    return loss, (dx * keep[:, None] / n).reshape(n, t, v)


# ----- one call each --------------------------------------------------------------------------------
def loss_only(loss_fn):
    """(loss, dx) functions as check_function's f and grad_f."""
    def value(*args):
        return loss_fn(*args)[0]

    def grad(*args):
        return loss_fn(*args)[1]

    value.__name__ = loss_fn.__name__
    return value, grad


def checks(rng: np.random.Generator):
    """(name, result) for every layer: each is one gradcheck call."""
    randn = rng.standard_normal
    n, t, v, d, h = 3, 4, 5, 6, 4
    words = np.array([[0, 3, 1, 3], [2, 0, 0, 4], [1, 1, 2, 3]])  # repeated words: np.add.at matters
    yield "affine", gradcheck.check_layer(affine_forward, affine_backward, [randn((4, 3, 5)), randn((15, 6)),
                                                                              randn(6)])
    yield "relu", gradcheck.check_layer(relu_forward, relu_backward, [randn((4, 5))])
    yield "svm_loss", gradcheck.check_function(*loss_only(svm_loss), [randn((5, 4)), rng.integers(0, 4, 5)])
    yield "softmax_loss", gradcheck.check_function(*loss_only(softmax_loss), [randn((5, 4)), rng.integers(0, 4, 5)])
    yield "batchnorm", gradcheck.check_layer(batchnorm_forward, batchnorm_backward,
                                             [randn((6, 4)) * 2 + 1, randn(4), randn(4), {"mode": "train"}])
    yield "layernorm", gradcheck.check_layer(layernorm_forward, layernorm_backward,
                                             [randn((4, 6)) * 2 + 1, randn(6), randn(6), {}])
    yield "dropout", gradcheck.check_layer(dropout_forward, dropout_backward, [randn((5, 6)), {"p": 0.6, "seed": 1}])
    yield "conv", gradcheck.check_layer(conv_forward_naive, conv_backward_naive,
                                        [randn((2, 3, 5, 5)), randn((2, 3, 3, 3)), randn(2), {"stride": 2, "pad": 1}])
    yield "max_pool", gradcheck.check_layer(max_pool_forward_naive, max_pool_backward_naive,
                                            [randn((2, 2, 4, 4)), {"pool_height": 2, "pool_width": 2, "stride": 2}])
    yield "spatial_batchnorm", gradcheck.check_layer(spatial_batchnorm_forward, spatial_batchnorm_backward,
                                                     [randn((2, 3, 3, 3)) + 1, randn(3), randn(3), {"mode": "train"}])
    yield "rnn_step", gradcheck.check_layer(rnn_step_forward, rnn_step_backward,
                                            [randn((n, d)), randn((n, h)), 0.5 * randn((d, h)), 0.5 * randn((h, h)),
                                             randn(h)])
    yield "lstm_step", gradcheck.check_layer(lstm_step_forward, lstm_step_backward,
                                             [randn((n, d)), randn((n, h)), randn((n, h)), 0.5 * randn((d, 4 * h)),
                                              0.5 * randn((h, 4 * h)), randn(4 * h)])
    yield "word_embedding", gradcheck.check_layer(word_embedding_forward, word_embedding_backward,
                                                  [words, randn((v, d))])
    yield "temporal_affine", gradcheck.check_layer(temporal_affine_forward, temporal_affine_backward,
                                                   [randn((n, t, d)), randn((d, v)), randn(v)])
    yield "temporal_softmax_loss", gradcheck.check_function(
        *loss_only(temporal_softmax_loss), [randn((n, t, v)), rng.integers(0, v, (n, t)), rng.random((n, t)) > 0.3])


def main() -> int:
    worst = 0
    for name, result in checks(np.random.default_rng(0)):
        print(f"{name}: {result.status} — {result.verdict}")
        if result.status not in ("pass", "kink"):
            print(result)
        worst = max(worst, int(result.exit_code))
    return worst


if __name__ == "__main__":
    sys.exit(main())
