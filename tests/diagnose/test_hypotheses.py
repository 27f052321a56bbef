"""The black-box diagnosis's table of known mistakes (gradcheck/diagnose/hypotheses.py), walked: each
entry has a buggy layer that it must name and a near miss (a claim that looks like the mistake but is
not) that it must not. These layers are the tests' own; benchmarks/heldout_diagnoses.py measures the
table on another set, written apart from these."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck
from gradcheck.diagnose.hypotheses import HYPOTHESES

RNG = np.random.default_rng(27)


def randn(*shape):
    return RNG.standard_normal(shape)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ----- the layers: name -> (trigger, near miss), each () -> (result, the input diagnosed) ------------
def affine(x, w, b):
    return x @ w + b, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


AFFINE = [randn(3, 4), randn(4, 5), randn(5)]


def order(ok):
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return (dw, dx, db) if ok else (dw, 2 * dx, db)
    return gradcheck.check_layer(affine, backward, AFFINE), "x"


def transposed_shape(ok):
    return gradcheck.check_layer(affine, lambda d, c: (d @ c[1].T, (c[0].T @ d).T * (1 if ok else 1.001), d.sum(0)),
                                 AFFINE), "w"


def batch_axis(ok):
    return gradcheck.check_layer(affine, lambda d, c: (d @ c[1].T, c[0].T @ d, d if ok else d + 0.01), AFFINE), "b"


def scaled(factor, layer=affine, inputs=AFFINE, wrt_index=0):
    """affine's backward with its gradient for one input times `factor` (a number or a function of it)."""
    def backward(dout, cache):
        grads = list(affine_backward(dout, cache))
        grads[wrt_index] = factor(grads[wrt_index]) if callable(factor) else grads[wrt_index] * factor
        return tuple(grads)
    return gradcheck.check_layer(layer, backward, inputs), "xwb"[wrt_index]


def zero(ok):
    keep = np.zeros((3, 4))
    keep[0, 0] = 1
    return scaled(0.0 if ok else keep)


def dropout(x, param):
    mask = (np.random.default_rng(param["seed"]).random(x.shape) < param["p"]) / param["p"]
    return x * mask, mask


def dropout_backward(extra):
    return lambda d, mask: d * (mask > 0) * extra


def data_number(ok):
    return gradcheck.check_layer(dropout, dropout_backward(1 if ok else 1.3), [randn(4, 5), {"p": 0.6, "seed": 3}]), "x"


def one_over_data_number(ok):
    return gradcheck.check_vjp(lambda x, scale: scale * x ** 2, lambda d, x, scale: 2 * d * x * (1 if ok else 1.05),
                               [randn(3, 4), 5.0]), "x"  # 5: no size of the call is 5 (3 would be N too)


def rows(ok):
    X = randn(4, 3)
    return gradcheck.check_function(lambda W, X: np.mean(np.sum((X @ W) ** 2, axis=1)),
                                    lambda W, X: 2 * X.T @ (X @ W) * (1 if ok else 1.025), [randn(3, 2), X],
                                    wrt="W"), "W"


def one_over_rows(ok):
    return gradcheck.check_layer(affine, lambda d, c: (d @ c[1].T, c[0].T @ d, d.mean(0) if ok else d.sum(0) / 3.2),
                                 AFFINE), "b"


def attention(q, k):
    return q @ k.T / np.sqrt(q.shape[1]), (q, k)


def square_root(ok):
    return gradcheck.check_layer(attention, lambda d, c: (d @ c[1] * (1 if ok else 1.03), d.T @ c[0] / np.sqrt(5)),
                                 [randn(3, 5), randn(4, 5)]), "q"


def one_over_square_root(ok):
    return gradcheck.check_layer(attention, lambda d, c: (d @ c[1] / (5 if ok else 5.2), d.T @ c[0] / np.sqrt(5)),
                                 [randn(3, 5), randn(4, 5)]), "q"


def twice_or_half(ok):
    return gradcheck.check_vjp(lambda x: x ** 2, lambda d, x: d * x * (1 if ok else 1.02), [randn(3, 4)]), "x"


def sigmoid_layer(x):
    out = sigmoid(x)
    return out, out


def activation(ok):
    return gradcheck.check_layer(sigmoid_layer, lambda d, out: d * out if ok else d * out * (1 - out) * 1.05,
                                 [randn(4, 5)]), "x"


def tanh_layer(x):
    out = np.tanh(x)
    return out, (x, out)


def input_for_output(ok):  # the near miss: the same form 5% off, no catalogue form
    return gradcheck.check_layer(tanh_layer, lambda d, c: d * (1 - c[0] ** 2) * (1 if ok else 1.05), [randn(4, 5)]), "x"


def output_for_input(ok):
    return gradcheck.check_layer(sigmoid_layer, lambda d, out: d * sigmoid(out) * (1 - sigmoid(out)) * (1 if ok else 1.05),
                                 [randn(4, 5)]), "x"


def precedence(ok):
    x = np.array([-1.0, -2.0])

    def f(w):
        return 1 / 1 + np.exp(-(w[:2] @ x + w[2]))

    def grad(w):
        s = sigmoid(w[:2] @ x + w[2])
        return np.append(x, 1.0) * s * (1 - s) * (1 if ok else 1.1)

    return gradcheck.check_function(f, grad, [np.array([2.0, -3.0, -3.0])]), "w"


def constant(ok):
    noise = 1 + 0.01 * randn(3, 4)
    return scaled(3.7 if ok else (lambda g: 3.7 * g * noise))


def transpose(ok):
    return gradcheck.check_layer(affine, lambda d, c: (d @ c[1].T, (c[0].T @ d).T * (1 if ok else 1.01), d.sum(0)),
                                 [randn(3, 4), randn(4, 4), randn(4)]), "w"


def rnn_step(x, h, Wx, Wh):
    out = np.tanh(x @ Wx + h @ Wh)
    return out, (x, h, Wx, Wh, out)


def rnn_backward(bug):
    def backward(dout, cache):
        x, h, Wx, Wh, out = cache
        da = dout * (1 - out ** 2)
        return da @ Wx.T, bug(da, Wh), x.T @ da, h.T @ da
    return backward


RNN = [randn(3, 2), randn(3, 4), randn(2, 4), randn(4, 4)]


def untransposed(ok):
    return gradcheck.check_layer(rnn_step, rnn_backward(lambda da, Wh: da @ Wh if ok else da @ (0.5 * Wh + 0.5 * Wh.T)),
                                 RNN), "h"


def channels_last(x, W):
    n, c, hh, ww = x.shape
    return x.transpose(0, 2, 3, 1).reshape(-1, c) @ W, (x.shape, W)


def permuted(ok):
    def backward(dout, cache):
        shape, W, x = cache
        dx = (dout @ W.T).reshape(shape)  # reshaped where a transpose back belongs
        return dx * (1 if ok else 1.01), x.transpose(0, 2, 3, 1).reshape(-1, shape[1]).T @ dout

    def forward(x, W):
        out, (shape, W) = channels_last(x, W)
        return out, (shape, W, x)

    return gradcheck.check_layer(forward, backward, [randn(2, 3, 2, 2), randn(3, 4)]), "x"


def power(a, b):
    return a ** b, (a, b)


def local_factor(ok):
    def backward(dout, cache):
        a, b = cache
        return dout * b * a ** (b - 1), dout * a ** b * (1 if ok else 1.01 * np.log(a))
    return gradcheck.check_layer(power, backward, [np.abs(randn(3, 4)) + 0.5, randn(3, 4)]), "b"


def sums_before_product(ok):
    """A time-distributed dense layer's dW = x.sum(axis=1).T @ dout.sum(axis=1); the near miss also
    scales it by 1.05."""
    def backward(dout, cache):
        x, W = cache
        return dout @ W.T, x.sum(axis=1).T @ dout.sum(axis=1) * (1 if ok else 1.05)
    return gradcheck.check_layer(lambda x, W: (x @ W, (x, W)), backward, [randn(2, 3, 2), randn(2, 3)]), "W"


def product_rule(ok):
    """x·tanh(x) with dout·tanh(x), its x·(1 − tanh²) term dropped; the near miss scales that one term."""
    def backward(dout, cache):
        x, t = cache
        return dout * t * (1 if ok else 1.05)
    return gradcheck.check_layer(lambda x: (x * np.tanh(x), (x, np.tanh(x))), backward, [randn(4, 5)]), "x"


def input_for_computed_form(ok):
    """y = g·sigmoid(x), g per column, with dg = sum(dout·x) over the rows; the near miss adds 0.01·x."""
    def backward(dout, cache):
        x, g = cache
        s = sigmoid(x)
        return dout * g * s * (1 - s), (dout * (x if ok else x + 0.01 * x ** 2)).sum(axis=0)
    return gradcheck.check_layer(lambda x, g: (g * sigmoid(x), (x, g)), backward, [randn(5, 3), randn(3)]), "g"


def clip_forgotten(ok):
    """Huber (δ = 1) of x, summed, with the residual x for clip(x, −1, 1); the near miss clips at 1.5."""
    x = randn(4, 5) * 2
    x = np.where(np.abs(np.abs(x) - 1) < 0.15, x * 1.3, x)  # off the kinks at ±1

    def loss(x):
        a = np.abs(x)
        return float(np.sum(np.where(a <= 1, 0.5 * a ** 2, a - 0.5)))
    return gradcheck.check_function(loss, (lambda x: x) if ok else (lambda x: np.clip(x, -1.5, 1.5)), [x]), "x"


def regularisation(ok):
    X = randn(5, 3)

    def loss(W, X, reg):
        return 0.5 * np.sum((X @ W) ** 2) + reg * np.sum(W * W)

    def grad(W, X, reg):
        return X.T @ (X @ W) + 4 * reg * W + (0 if ok else 0.01 * W ** 2)

    return gradcheck.check_function(loss, grad, [randn(3, 2), X, 0.1], wrt="W"), "W"


def data_term(ok):
    """A mean loss with a regularisation term whose gradient forgets the 1/N; the near miss also doubles
    the regularisation term, so no term of the claim is the truth's."""
    X = randn(6, 3)

    def loss(W, X, reg):
        return 0.5 * np.mean(np.sum((X @ W) ** 2, axis=1)) + reg * np.sum(W * W)

    def grad(W, X, reg):
        return X.T @ (X @ W) + (2 if ok else 4) * reg * W

    return gradcheck.check_function(loss, grad, [randn(3, 2), X, 0.1], wrt="W"), "W"


def leaky(x):
    return np.where(x > 0, x, 0.1 * x), x


def dout_missing(ok):  # tanh's 1 - out**2 alone; the near miss is constant across douts, but out itself
    return gradcheck.check_layer(lambda x: (np.tanh(x),) * 2, lambda d, out: 1 - out ** 2 if ok else out,
                                 [randn(3, 4)]), "x"


def sign_region(ok):
    return gradcheck.check_layer(leaky, lambda d, x: d * np.where(x > 0, 0.1 if ok else 0.1 * (1 + 0.05 * x), 1),
                                 [randn(4, 5)]), "x"


def two_outputs(x):
    return 2 * x, x ** 2, x


def output_path(ok):
    return gradcheck.check_layer(two_outputs, lambda d1, d2, x: 2 * d1 if ok else 2.1 * d1 + 2.2 * x * d2,
                                 [randn(3, 4)]), "x"


def sin_cos(x):
    return np.sin(x), np.cos(x), x


def swapped_outputs(ok):
    return gradcheck.check_layer(sin_cos, lambda d1, d2, x: np.cos(x) * d2 - np.sin(x) * d1 * (1 if ok else 1.1),
                                 [randn(3, 4)]), "x"


def one_slice_of_dout(ok):
    return gradcheck.check_layer(affine, lambda d, c: (d @ c[1].T, c[0].T @ d, d[-1] * (1 if ok else 1.01)),
                                 AFFINE), "b"


RECURRENT = 0.6 * np.random.default_rng(3).standard_normal((3, 3))


def recurrence(x):
    """h_t = tanh(x_t + h_(t-1) @ RECURRENT) over axis 1 of x (N, T, 3), from h = 0."""
    hs = [np.zeros((x.shape[0], 3))]
    for t in range(x.shape[1]):
        hs.append(np.tanh(x[:, t] + hs[-1] @ RECURRENT))
    return np.stack(hs[1:], axis=1), hs


def carry_missing(ok):
    def backward(d, hs):
        dx, carried = np.zeros_like(d), np.zeros_like(hs[0])
        for t in reversed(range(d.shape[1])):
            dx[:, t] = (d[:, t] + (0.0 if ok else 0.01 * carried)) * (1 - hs[t + 1] ** 2)
            carried = dx[:, t] @ RECURRENT.T
        return dx
    return gradcheck.check_layer(recurrence, backward, [randn(2, 4, 3)]), "x"


def relu(x):
    return np.maximum(x, 0), x


def mask(ok):
    return gradcheck.check_layer(relu, lambda d, x: d if ok else 1.01 * d, [randn(4, 5)]), "x"


def one_slice_wrong(ok):
    def vjp(d, x):
        g = 2 * d * x
        g[:, 2] = 0
        if not ok:
            g[0, 0, 0] *= 3
        return g
    return gradcheck.check_vjp(lambda x: x ** 2, vjp, [randn(2, 4, 3)]), "x"


def embedding(idx, W):
    return W[idx], (idx, W.shape)


def repeated(ok):
    def backward(dout, cache):
        idx, shape = cache
        dW = np.zeros(shape)
        dW[idx] += dout  # repeated indices keep one of their gradients
        if not ok:
            dW[4] += 0.5  # and a row indexed once is wrong too
        return dW
    return gradcheck.check_layer(embedding, backward, [np.array([[0, 3, 1], [3, 2, 4]]), randn(6, 3)]), "W"


def strided_conv(x, w):
    """A valid 1-D cross-correlation at stride 2: x (N, C, L), w (F, C, K)."""
    k = w.shape[2]
    out = np.stack([np.einsum("nck,fck->nf", x[:, :, 2 * i:2 * i + k], w) for i in range((x.shape[2] - k) // 2 + 1)],
                   axis=2)
    return out, (x, w)


def window_stride(ok):
    """dx's windows added at stride 1 for the forward's 2; the near miss adds them at stride 2 one entry late."""
    def backward(dout, cache):
        x, w = cache
        k = w.shape[2]
        dx = np.zeros_like(x)
        for i in range(dout.shape[2]):
            at = i if ok else min(2 * i + 1, x.shape[2] - k)
            dx[:, :, at:at + k] += np.einsum("nf,fck->nck", dout[:, :, i], w)
        return dx, np.zeros_like(w)
    result = gradcheck.check_layer(strided_conv, backward, [randn(2, 2, 9), randn(3, 2, 3)], wrt=["x"])
    return result, "x"


def last_axis_norm(x):
    n = np.sqrt((x * x).sum(axis=1))
    return n, (x, n)


def broadcast_axis(ok):
    """The near miss puts dout back along the right axis with the local gradient twice too large: no other
    axis's dout times the truth's own local gradient is the claim."""
    def backward(dout, cache):
        x, n = cache
        return dout * x / n[:, None] if ok else 2 * dout[:, None] * x / n[:, None]
    return gradcheck.check_layer(last_axis_norm, backward, [randn(4, 4)]), "x"


def centred(x):
    return x - x.mean(axis=(1, 2), keepdims=True), None


def reduction_axes(ok):
    return gradcheck.check_layer(centred, lambda d, c: d - d.mean(axis=2, keepdims=True) * (1 if ok else 0.9),
                                 [randn(2, 3, 4)]), "x"


def batchnorm(x, gamma, beta):
    mu, std = x.mean(0), np.sqrt(x.var(0) + 1e-5)
    xhat = (x - mu) / std
    return gamma * xhat + beta, (xhat, gamma, std)


def logits_gradient(bug):
    """Binary cross-entropy of probabilities p given the logits' gradient (p - y) / N; the near miss is the
    probabilities' own gradient without its 1/N."""
    p, y = sigmoid(randn(6)), np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])

    def grad(p, y):
        return (p - y) / len(p) if bug else (p - y) / (p * (1 - p))
    return gradcheck.check_function(lambda p, y: -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), grad,
                                    {"p": p, "y": y}, data="y"), "p"


def unweighted_softmax_sum(bug):
    """A softmax's backward s * (dout - dout.sum(1)); the near miss sums over axis 0, unweighted."""
    def backward(dout, s):
        return s * (dout - dout.sum(axis=1 if bug else 0, keepdims=True))
    return gradcheck.check_layer(lambda x: (np.exp(x) / np.exp(x).sum(axis=1, keepdims=True),) * 2, backward,
                                 [randn(3, 4)]), "x"


def mean_path(ok):
    def backward(dout, cache):
        xhat, gamma, std = cache
        n = len(xhat)
        dxhat = dout * gamma
        right = (n * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0)) / (n * std)
        return dxhat / std if ok else 1.01 * right, (dout * xhat).sum(0), dout.sum(0)
    return gradcheck.check_layer(batchnorm, backward, [randn(6, 4) + 1, randn(4), randn(4)]), "x"


def statistic_path_factor(ok):
    """Batch norm whose variance term lacks its 1/N (N = 6 times too large); the near miss scales it by
    1.37, no size nor small number."""
    def backward(dout, cache):
        xhat, gamma, std = cache
        n = len(xhat)
        dxhat = dout * gamma
        variance = (n if ok else 1.37) * xhat * (dxhat * xhat).sum(0)
        return (n * dxhat - dxhat.sum(0) - variance) / (n * std), (dout * xhat).sum(0), dout.sum(0)
    return gradcheck.check_layer(batchnorm, backward, [randn(6, 4) + 1, randn(4), randn(4)]), "x"


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    s = e / e.sum(axis=1, keepdims=True)
    return s, s


def derivative_form(ok):
    """log-sigmoid's derivative 1 − σ(x) written 1 + σ(x) (a term's sign flipped); the near miss is off by
    a wave of 1% besides, which no one slip is."""
    def backward(dout, x):
        s = 1 / (1 + np.exp(-x))
        return dout * (1 + s) * (1.0 if ok else 1 + 0.01 * np.sin(5 * x))
    return gradcheck.check_layer(lambda x: (-np.logaddexp(0, -x), x), backward, [randn(4, 6)]), "x"


def rounding(ok):
    """A float32 softmax whose entries of 1e-6 and less are off by 40 float32 ulps of about the layer's
    largest gradient entry, in any precision it runs in: rounding-sized, but beyond what the rule grants
    a float32 claim, so a mismatch that is named as rounding (a right float32 softmax, whose own rounding
    is measured, now passes: tests/verdict/test_trust.py); the near miss adds 0.01 to one entry."""
    def backward(dout, s):
        g = s * (dout - (dout * s).sum(axis=1, keepdims=True))
        if not ok:
            g[0, 0] += 0.01
            return g
        return g + (40 * float(np.finfo(np.float32).eps) * 0.1 * dout * (s < 1e-6)).astype(g.dtype)
    z = (np.random.default_rng(0).standard_normal((4, 100)) * 5).astype(np.float32)
    return gradcheck.check_layer(softmax, backward, [z]), "z"


def _cross_entropy(scores, y):
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return -np.mean(np.log(p[np.arange(len(y)), y])), p


LABELS = np.array([2, 0, 3, 3, 1])
SCORES = randn(5, 4)


def correct_class_term(bug):
    """Cross-entropy's gradient with its -1 at the correct class left out; the near miss leaves out the
    next row's instead (wrong off the correct-class entries)."""
    def grad(s, y):
        p = _cross_entropy(s, y)[1]
        rows = np.arange(len(y)) if bug else (np.arange(len(y)) + 1) % len(y)
        p[np.arange(len(y)), y] -= 1.0
        p[rows, y] += 1.0
        return p / len(y)
    return gradcheck.check_function(lambda s, y: _cross_entropy(s, y)[0], grad, [SCORES, LABELS]), "s"


def label_smoothing(bug):
    """A loss against targets (1 − 0.1)·onehot + 0.1/C whose gradient uses the onehot; the near miss is right
    about the smoothing and doubles the whole gradient."""
    def smoothed(s, y):
        return (0.9 * np.eye(s.shape[1])[y] + 0.1 / s.shape[1])

    def loss(s, y):
        return -float(np.sum(smoothed(s, y) * np.log(_cross_entropy(s, y)[1]))) / len(y)

    def grad(s, y):
        p = _cross_entropy(s, y)[1]
        return (p - np.eye(s.shape[1])[y]) / len(y) if bug else 2 * (p - smoothed(s, y)) / len(y)
    return gradcheck.check_function(loss, grad, [SCORES, LABELS]), "s"


def label_index(bug):
    """dscores[:, y] -= 1 where dscores[np.arange(N), y] belongs; the near miss subtracts a constant
    everywhere."""
    def grad(s, y):
        p = _cross_entropy(s, y)[1]
        if bug:
            p[:, y] -= 1.0
        else:
            p[np.arange(len(y)), y] -= 1.0
            p -= 0.1
        return p / len(y)
    return gradcheck.check_function(lambda s, y: _cross_entropy(s, y)[0], grad, [SCORES, LABELS]), "s"


def lookup_index(bug):
    """An embedding accumulated with idx.T; the near miss with its rows shifted back by one too many."""
    def forward(idx, W):
        return W[idx], idx

    def backward(dout, idx):
        dW = np.zeros((6, 2))
        np.add.at(dW, idx.T if bug else (idx + 2) % 6, dout)
        return dW
    return gradcheck.check_layer(forward, backward, [np.array([[1, 5, 0], [2, 2, 4], [3, 0, 1]]), randn(6, 2)]), "W"


CASES = {
    "rounding": rounding, "order": order, "transposed shape": transposed_shape, "batch axis not summed": batch_axis, "zero": zero,
    "sign": lambda ok: scaled(-1.0 if ok else -1.01), "data number": data_number,
    "one over a data number": one_over_data_number, "rows": rows, "one over rows": one_over_rows,
    "square root of a size": square_root, "one over the square root of a size": one_over_square_root,
    "twice or half": twice_or_half, "activation for its derivative": activation,
    "input for output": input_for_output, "output for input": output_for_input, "1 / 1 + exp": precedence,
    "constant factor": constant, "broadcast axis": broadcast_axis,
    "transpose": transpose, "untransposed matrix": untransposed, "permuted": permuted,
    "local gradient factor": local_factor, "logits' gradient": logits_gradient,
    "sums before the product": sums_before_product, "product rule term dropped": product_rule,
    "input for a computed form": input_for_computed_form, "clip forgotten": clip_forgotten,
    "regularisation": regularisation, "data term factor": data_term,
    "dout missing": dout_missing, "sign region": sign_region,
    "output path": output_path, "swapped outputs": swapped_outputs, "carry missing": carry_missing,
    "one slice of dout": one_slice_of_dout, "label index": label_index, "mask": mask, "window stride": window_stride,
    "repeated indices": repeated, "correct class term": correct_class_term, "lookup index": lookup_index,
    "label smoothing": label_smoothing, "one slice wrong": one_slice_wrong,
    "reduction axes": reduction_axes,
    "unweighted softmax sum": unweighted_softmax_sum, "mean path": mean_path,
    "statistic path factor": statistic_path_factor, "derivative form": derivative_form,
}


def test_every_hypothesis_has_a_trigger_and_a_near_miss():
    assert [h.name for h in HYPOTHESES] == list(CASES)


@pytest.mark.parametrize("name", [h.name for h in HYPOTHESES])
def test_the_trigger_is_named_and_the_near_miss_is_not(name):
    result, variable = CASES[name](True)
    g = result.gradients[variable]
    assert result.status == "mismatch" and g.status == "mismatch", str(result)
    assert g.cause == name, (g.cause, g.diagnosis)
    near, variable = CASES[name](False)
    g = near.gradients[variable]
    assert near.status == "mismatch" and g.status == "mismatch", str(near)  # the near miss is still wrong
    assert g.cause != name, g.diagnosis


# ----- near misses beyond the table's walk ----------------------------------------------------------
def test_a_normalisation_over_the_wrong_axis_is_not_called_a_missing_mean_path():
    """The truth sums to 0 along each row; the claim subtracts the columns' means instead: the path
    through the mean is there, over the wrong axis, so claim − truth is not affine along a row."""
    result = gradcheck.check_layer(lambda x: (x - x.mean(axis=1, keepdims=True), None),
                                   lambda d, c: d - d.mean(axis=0, keepdims=True), [randn(4, 5)])
    g = result.gradients["x"]
    assert g.status == "mismatch" and g.cause != "mean path", g.diagnosis


def test_a_backward_that_sums_part_of_a_window_is_a_reduction_over_too_few_entries_not_an_index_error():
    def forward(x):  # a circular window of three
        return x + np.roll(x, -1) + np.roll(x, -2), None

    def backward(d, cache):
        return d + np.roll(d, 1)  # the third term's path is missing

    g = gradcheck.check_layer(forward, backward, [randn(12)]).gradients["x"]
    assert g.cause == "reduction axes" and "too few entries" in g.diagnosis and "index" not in g.diagnosis, g.diagnosis


# ----- fast mode keeps diagnosing -------------------------------------------------------------------
def test_fast_mode_diagnoses_from_a_block_differenced_in_full():
    """Above 1,000 entries fast mode checks directions; on a mismatch a block around the worst sampled
    entry (and its mirror image, for a transpose) is differenced in full and the same table walked."""
    x, w = randn(6, 40), randn(40, 40)
    result = gradcheck.check_layer(affine, lambda d, c: (d @ c[1].T, (c[0].T @ d).T, d.sum(0)), [x, w, randn(40)])
    g = result.gradients["w"]
    assert g.numeric_mode == "fast" and g.cause == "transpose", g.diagnosis
    big = gradcheck.check_layer(sigmoid_layer, lambda d, out: d * out, [randn(30, 40)])
    g = big.gradients["x"]
    assert g.numeric_mode == "fast" and g.cause == "activation for its derivative", g.diagnosis
    masked = gradcheck.check_layer(relu, lambda d, x: d, [randn(30, 40)]).gradients["x"]
    assert masked.cause == "mask" and "differenced in full" not in masked.diagnosis, masked.diagnosis


# ----- one diagnosis per cause ------------------------------------------------------------------------
def test_one_cause_over_several_inputs_is_said_once_with_the_inputs_listed():
    def forward(x, y):
        return x * y, x + y, (x, y)

    def backward(d_prod, d_sum, cache):
        x, y = cache
        return d_prod * y, d_prod * x  # the path from the second output is missing for both

    result = gradcheck.check_layer(forward, backward, [randn(3, 4), randn(3, 4)])
    assert {g.cause for g in result.gradients.values()} == {"output path"}
    lines = [line for line in str(result).splitlines() if "how the claimed" in line]
    assert len(lines) == 1 and "∂f/∂x, ∂f/∂y are wrong" in lines[0], lines


# ----- the founding problem, in numpy ---------------------------------------------------------------------
def test_the_founding_neuron_in_numpy_is_told_it_uses_the_activation_for_its_derivative():
    """CS231n's sigmoid neuron with the learner's gradients built from `activation` (σ) where the
    upstream gradient σ(1 − σ) belongs: 'a constant factor of 3.71828' before."""
    def f(w, x):
        return sigmoid(w[0] * x[0] + w[1] * x[1] + w[2])

    def grad_f(w, x):
        activation = f(w, x)
        return np.array([x[0] * activation, x[1] * activation, activation]), np.array([w[0], w[1]]) * activation

    result = gradcheck.check_function(f, grad_f, {"w": np.array([2.0, -3.0, -3.0]), "x": np.array([-1.0, -2.0])})
    assert result.status == "mismatch"
    for g in result.gradients.values():
        assert g.cause == "activation for its derivative" and "σ·(1 − σ)" in g.diagnosis, g.diagnosis
    assert sum("how the claimed" in line for line in str(result).splitlines()) == 1


def test_the_documentation_lists_every_hypothesis():
    from conftest import PACKAGE_ROOT

    page = open(f"{PACKAGE_ROOT}/docs/diagnoses.md", encoding="utf-8").read()
    assert [h.name for h in HYPOTHESES if f"| `{h.name}` |" not in page] == []
