"""A thirteenth held-out set of 45 buggy numpy layers: does the black-box diagnosis name the bug, and does it mislead?

    python benchmarks/heldout_diagnoses_13.py [--verbose]    # the measurement (--verbose: each diagnosis)
    python benchmarks/heldout_diagnoses_13.py --self-check   # every right layer passes, every buggy one fails

Written blind, apart from the other held-out sets, from gradcheck/diagnose/ and from tests/diagnose/ (set 5
was read for its format only, with benchmarks/heldout_harness.py, docs/diagnoses.md and the cause names of
gradcheck.diagnose.hypotheses.HYPOTHESES): new layers, shapes, names and code, seeds 8301..8345 (one per
case), written as a student writes them from memory, the bugs chosen for being realistic, not for being easy
or hard to diagnose, and not used to tune the table of mistakes. 40 layers have one bug, 5 ("mix") have two
at once. The families, 4 cases each: activations, affine and conv, pooling, normalisation, losses,
attention, rnn and lstm, embeddings, needle ops (compute/gradient functions in needle's style, made into
check_vjp calls), models (check_model on CS231n-style nets with a params dict, model.loss(X, y) ->
(loss, grads), with regularisation); and mix, 5. Every case is a right layer with its bug behind a flag,
so the right version is checked too.

The labels were written first and blind: each case lists every cause whose sentence and scope in
docs/diagnoses.md would correctly describe its bug for the variable read (for a mix, the causes of either
bug), decided from the bug and the docs alone, before any diagnosis of these layers was run; only
--self-check (exit codes) was run while writing them. 2 cases are bugs that no cause describes, and name
none (a comment at each says why): an RMSNorm whose rms path sums dout * x where dout * g * x belongs, and a
check_model relu net whose dW2 reads the pre-activation z1 where relu(z1) belongs. A diagnosis is
- named: its cause is one of those (for a mix, naming either bug);
- honest: no mistake named, only a count of the right entries (or none);
- misleading: it names a mistake that is not the bug.

Labels reviewed blind against the table of 2026-12-08 (main at 45242bc; the set was written against
b51b53b) before measurement, from the bugs' code and the causes' sentences and scope alone (no diagnosis
seen, no code of gradcheck/diagnose/ and no test read): added "transpose" to needle's Summation of a square
(4, 4) whose out_grad is broadcast along the wrong axis (the claim is exactly the truth's transpose, a square
gradient; "broadcast axis" kept). No label removed. The two widened scopes describe no case: "statistic path
factor" now takes a path times the line's variance or its inverse, and the one batch norm it is on (dvar's -1
for -0.5) is a clean factor 2 as before, while the batch norm with mu and var as constants stays "mean path"
only; "mask" now takes a windowed max pool's argmax over the window and every channel, and none of the three
max pools has it (all four entries, = where += belongs, (col, row) stay as labelled). The 2 cases that name
no cause still name none: the RMSNorm's rms path wrong by the gain g entry by entry inside its sum is no clean
factor, no power of the rms and no power of the variance; the net's dW2 from z1 is a wrong left factor of the
product, not a mask on the truth. Every other case was checked against the whole table and keeps its labels.

Measured once, blind, on main at 45242bc merged with this set (2026-12-08, after the labels' review above): named
40, honest 4, misleading 1 of 45 (the bar of none misleading not met). The misleading case: the lstm step whose
output gate's derivative is o where o * (1 - o) belongs, labelled "activation for its derivative", told "output
path" (right when only next_c has a gradient, wrong when next_h has one: true, as the o gate lies on next_h's path
alone, but not the slip itself). Honest: the overlapping 3x3 max pool (stride 2) writing dx with =, the rnn whose
dWh pairs dz_t with h_t, and the two cases no cause describes (the RMSNorm whose rms path sums dout * x for
dout * g * x, the relu net whose dW2 uses the pre-activation z1). So 40 of the 43 nameable were named. The set is
seen from here on: a development set, whose later figures are not held-out ones.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable

import numpy as np
from heldout_harness import Cases, main

import gradcheck

CASES = Cases()
case, family = CASES.case, CASES.family


def draws(seed: int) -> Callable[..., np.ndarray]:
    """Standard normal arrays from one generator per case: the right and the buggy run get the same inputs."""
    rng = np.random.default_rng(seed)
    return lambda *shape: rng.standard_normal(shape)


def off_zero(a: np.ndarray, gap: float = 0.2) -> np.ndarray:
    """The same array pushed at least `gap` away from 0 (relu's kinks)."""
    return np.where(a >= 0, a + gap, a - gap)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax_last(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ===== activations ===================================================================================
family("activations")


@case("tanh backward from the input, dout * (1 - tanh(x)), the square forgotten", "x", "derivative form")
def _(bug):
    r = draws(8301)

    def tanh_forward(x):
        return np.tanh(x), x

    def tanh_backward(dout, x):
        t = np.tanh(x)
        return dout * (1 - t) if bug else dout * (1 - t ** 2)
    return gradcheck.check_layer(tanh_forward, tanh_backward, [1.1 * r(4, 5)])


@case("leaky relu (slope 0.05) backward that never scales the negative side", "x", "sign region",
      "derivative form")
def _(bug):
    r = draws(8302)
    slope = 0.05

    def leaky_forward(x):
        return np.where(x > 0, x, slope * x), x

    def leaky_backward(dout, x):
        dx = dout.copy()
        if not bug:
            dx[x <= 0] *= slope
        return dx
    return gradcheck.check_layer(leaky_forward, leaky_backward, [off_zero(r(6, 3), 0.1)])


@case("sigmoid layer caching its input, backward dout * x * (1 - x)", "x", "input for output")
def _(bug):
    r = draws(8303)

    def sigmoid_forward(x):
        out = sigmoid(x)
        return out, (x, out)

    def sigmoid_backward(dout, cache):
        x, out = cache
        s = x if bug else out
        return dout * s * (1 - s)
    return gradcheck.check_layer(sigmoid_forward, sigmoid_backward, [r(3, 7)])


@case("softsign x / (1 + |x|) backward dout / (1 + |x|), the square dropped", "x", "derivative form")
def _(bug):
    r = draws(8304)

    def softsign_forward(x):
        return x / (1 + np.abs(x)), x

    def softsign_backward(dout, x):
        den = 1 + np.abs(x)
        return dout / den if bug else dout / den ** 2
    return gradcheck.check_layer(softsign_forward, softsign_backward, [off_zero(1.5 * r(5, 4), 0.05)])


# ===== affine, conv ==================================================================================
family("affine, conv")


@case("affine on (N, 2, 3) inputs flattened, db = dout without the sum over the batch", "b", "batch axis not summed")
def _(bug):
    r = draws(8305)

    def affine_forward(x, w, b):
        return x.reshape(x.shape[0], -1) @ w + b, (x, w)

    def affine_backward(dout, cache):
        x, w = cache
        dx = (dout @ w.T).reshape(x.shape)
        dw = x.reshape(x.shape[0], -1).T @ dout
        db = dout if bug else dout.sum(axis=0)
        return dx, dw, db
    return gradcheck.check_layer(affine_forward, affine_backward, [r(4, 2, 3), r(6, 5), r(5)])


@case("linear y = x @ W.T + b with W (out, in), dW = x.T @ dout of shape (in, out)", "W", "transposed shape")
def _(bug):
    r = draws(8306)

    def linear_forward(x, W, b):
        return x @ W.T + b, (x, W)

    def linear_backward(dy, cache):
        x, W = cache
        dW = x.T @ dy if bug else dy.T @ x
        return dy @ W, dW, dy.sum(axis=0)
    return gradcheck.check_layer(linear_forward, linear_backward, [r(5, 3), r(4, 3), r(4)])


def conv2d_forward(x, w, b, stride, pad):
    """Naive cross-correlation: x (N, C, H, W), w (F, C, HH, WW), b (F,)."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    F, _, HH, WW = w.shape
    Ho = (xp.shape[2] - HH) // stride + 1
    Wo = (xp.shape[3] - WW) // stride + 1
    out = np.zeros((x.shape[0], F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            patch = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, stride, pad)


def conv2d_backward(dout, cache, bugs=()):
    x, w, stride, pad = cache
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    F, _, HH, WW = w.shape
    step = 1 if "dx at i" in bugs else stride
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            g = dout[:, :, i, j]  # (N, F)
            patch = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            dxp[:, :, i * step:i * step + HH, j * step:j * step + WW] += np.tensordot(g, w, axes=([1], [0]))
            contribution = np.tensordot(g, patch, axes=([0], [0]))
            if "dw =" in bugs:
                dw = contribution
            else:
                dw += contribution
    dx = dxp[:, :, pad:xp.shape[2] - pad, pad:xp.shape[3] - pad]
    return dx, dw, dout.sum(axis=(0, 2, 3))


@case("conv2d (stride 1, pad 1) whose dw is assigned, not accumulated, in its loop over positions", "w",
      "one slice of dout")
def _(bug):
    r = draws(8307)
    bugs = {"dw ="} if bug else ()
    return gradcheck.check_layer(lambda x, w, b: conv2d_forward(x, w, b, 1, 1),
                                 lambda d, c: conv2d_backward(d, c, bugs), [r(2, 2, 4, 4), r(3, 2, 3, 3), r(3)])


@case("conv2d stride 2 whose dx windows are placed at i, not i * stride", "x", "window stride")
def _(bug):
    r = draws(8308)
    bugs = {"dx at i"} if bug else ()
    return gradcheck.check_layer(lambda x, w, b: conv2d_forward(x, w, b, 2, 0),
                                 lambda d, c: conv2d_backward(d, c, bugs), [r(2, 2, 7, 7), r(2, 2, 3, 3), r(2)])


# ===== pooling =======================================================================================
family("pooling")


@case("2x2 average pool (stride 2) backward spreading dout without the / 4", "x", "constant factor")
def _(bug):
    r = draws(8309)

    def avg_pool_forward(x):
        N, C, H, W = x.shape
        return x.reshape(N, C, H // 2, 2, W // 2, 2).mean(axis=(3, 5)), x.shape

    def avg_pool_backward(dout, shape):
        dx = np.repeat(np.repeat(dout, 2, axis=2), 2, axis=3)
        return dx if bug else dx / 4.0
    return gradcheck.check_layer(avg_pool_forward, avg_pool_backward, [r(3, 2, 4, 6)])


def max_pool_forward(x, size, stride):
    N, C, H, W = x.shape
    Ho, Wo = (H - size) // stride + 1, (W - size) // stride + 1
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size].max(axis=(2, 3))
    return out, (x, size, stride)


def max_pool_backward(dout, cache, bugs=()):
    x, size, stride = cache
    dx = np.zeros_like(x)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    hs, ws = i * stride, j * stride
                    window = x[n, c, hs:hs + size, ws:ws + size]
                    g = dout[n, c, i, j]
                    if "no mask" in bugs:
                        dx[n, c, hs:hs + size, ws:ws + size] += g
                        continue
                    a, b = np.unravel_index(np.argmax(window), window.shape)
                    if "col, row" in bugs:
                        a, b = b, a
                    if "=" in bugs:
                        dx[n, c, hs + a, ws + b] = g
                    else:
                        dx[n, c, hs + a, ws + b] += g
    return dx


@case("2x2 max pool backward sending dout to all four entries of each window", "x", "mask")
def _(bug):
    r = draws(8310)
    bugs = {"no mask"} if bug else ()
    return gradcheck.check_layer(lambda x: max_pool_forward(x, 2, 2), lambda d, c: max_pool_backward(d, c, bugs),
                                 [r(2, 2, 4, 4)])


@case("overlapping 3x3 max pool (stride 2) writing dx with = where += belongs", "x", "one slice of dout")
def _(bug):
    r = draws(8311)
    bugs = {"="} if bug else ()
    return gradcheck.check_layer(lambda x: max_pool_forward(x, 3, 2), lambda d, c: max_pool_backward(d, c, bugs),
                                 [r(2, 2, 7, 7)])


@case("2x2 max pool whose window argmax is unravelled as (col, row)", "x", "permuted")
def _(bug):
    r = draws(8312)
    bugs = {"col, row"} if bug else ()
    return gradcheck.check_layer(lambda x: max_pool_forward(x, 2, 2), lambda d, c: max_pool_backward(d, c, bugs),
                                 [r(2, 3, 4, 4)])


# ===== normalisation =================================================================================
family("normalisation")


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0)
    xmu = x - mu
    var = (xmu ** 2).mean(axis=0)
    std = np.sqrt(var + eps)
    xhat = xmu / std
    return gamma * xhat + beta, (x, xmu, std, xhat, gamma)


def batchnorm_backward(dout, cache, bugs=()):
    """The staged backward, node by node."""
    x, xmu, std, xhat, gamma = cache
    N = x.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    if "statistics constant" in bugs:
        dx = dxhat / std
    else:
        dvar = (dxhat * xmu).sum(axis=0) * std ** -3 * (-1.0 if "dvar without 0.5" in bugs else -0.5)
        dmu = -dxhat.sum(axis=0) / std + dvar * (-2.0 * xmu).mean(axis=0)
        dx = dxhat / std + dvar * 2.0 * xmu / N + dmu / N
    if "dx / N" in bugs:
        dx = dx / N
    return dx, dgamma, dbeta


@case("batch norm backward treating the mean and variance as constants, dx = gamma * dout / std", "x", "mean path")
def _(bug):
    r = draws(8313)
    bugs = {"statistics constant"} if bug else ()
    return gradcheck.check_layer(batchnorm_forward, lambda d, c: batchnorm_backward(d, c, bugs),
                                 [r(6, 4) + 0.5, 1.0 + 0.3 * r(4), r(4)])


@case("layer norm backward whose two means are taken over the batch axis, not the features", "x", "reduction axes")
def _(bug):
    r = draws(8314)
    eps = 1e-5

    def layernorm_forward(x, g, b):
        mu = x.mean(axis=1, keepdims=True)
        std = np.sqrt(x.var(axis=1, keepdims=True) + eps)
        xhat = (x - mu) / std
        return g * xhat + b, (xhat, std, g)

    def layernorm_backward(dout, cache):
        xhat, std, g = cache
        dxhat = dout * g
        axis = 0 if bug else 1
        dx = (dxhat - dxhat.mean(axis=axis, keepdims=True)
              - xhat * (dxhat * xhat).mean(axis=axis, keepdims=True)) / std
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
    return gradcheck.check_layer(layernorm_forward, layernorm_backward, [r(5, 6), 1.0 + 0.2 * r(6), r(6)])


# No cause describes it: the statistic's path is built from dout where dout * g belongs, so it is wrong by the
# gain g entry by entry inside a sum, not by a clean factor, a power of the rms or a missing part.
@case("RMSNorm backward whose rms path sums dout * x where dout * g * x belongs", "x")
def _(bug):
    r = draws(8315)
    eps = 1e-6

    def rmsnorm_forward(x, g):
        rms = np.sqrt((x ** 2).mean(axis=-1, keepdims=True) + eps)
        return x / rms * g, (x, rms, g)

    def rmsnorm_backward(dout, cache):
        x, rms, g = cache
        D = x.shape[-1]
        dy = dout if bug else dout * g
        dx = dout * g / rms - x * (dy * x).sum(axis=-1, keepdims=True) / (D * rms ** 3)
        return dx, (dout * x / rms).sum(axis=0)
    return gradcheck.check_layer(rmsnorm_forward, rmsnorm_backward, [r(4, 5), 1.0 + 0.5 * r(5)])


@case("staged batch norm whose dvar has -1 where -0.5 belongs", "x", "statistic path factor")
def _(bug):
    r = draws(8316)
    bugs = {"dvar without 0.5"} if bug else ()
    return gradcheck.check_layer(batchnorm_forward, lambda d, c: batchnorm_backward(d, c, bugs),
                                 [1.5 * r(7, 3), 1.0 + 0.3 * r(3), r(3)])


# ===== losses ========================================================================================
family("losses")


def softmax_loss(scores, y):
    p = softmax_last(scores)
    return -np.log(p[np.arange(len(y)), y]).mean()


def softmax_loss_grad(scores, y, bugs=()):
    N = len(y)
    d = softmax_last(scores)
    if "[:, y]" in bugs:
        d[:, y] -= 1.0
    else:
        d[np.arange(N), y] -= 1.0
    return d if "no / N" in bugs else d / N


@case("softmax cross-entropy gradient with dscores[:, y] -= 1", "scores", "label index")
def _(bug):
    r = draws(8317)
    y = np.array([2, 0, 3, 3, 1])
    bugs = {"[:, y]"} if bug else ()
    return gradcheck.check_function(softmax_loss, lambda scores, y: softmax_loss_grad(scores, y, bugs), [r(5, 4), y])


@case("multiclass SVM gradient without the -count at each correct class", "s", "correct class term")
def _(bug):
    r = draws(8318)
    y = np.array([1, 0, 2, 1, 3, 0])
    scores = r(6, 4)
    N = len(y)
    correct = scores[np.arange(N), y][:, None]
    gap = scores - correct + 1.0
    scores = scores + np.where(np.abs(gap) < 0.15, 0.3, 0.0) * (np.arange(4) != y[:, None])

    def svm_loss(s, y):
        m = np.maximum(0.0, s - s[np.arange(len(y)), y][:, None] + 1.0)
        m[np.arange(len(y)), y] = 0.0
        return m.sum() / len(y)

    def svm_grad(s, y):
        n = len(y)
        m = s - s[np.arange(n), y][:, None] + 1.0
        pos = (m > 0).astype(float)
        pos[np.arange(n), y] = 0.0
        if not bug:
            pos[np.arange(n), y] = -pos.sum(axis=1)
        return pos / n
    return gradcheck.check_function(svm_loss, svm_grad, [scores, y])


@case("mean squared error over all N * D entries whose gradient divides by N only", "pred", "constant factor")
def _(bug):
    r = draws(8319)

    def mse(pred, target):
        return ((pred - target) ** 2).mean()

    def mse_grad(pred, target):
        n = pred.shape[0] if bug else pred.size
        return 2.0 * (pred - target) / n, -2.0 * (pred - target) / n
    return gradcheck.check_function(mse, mse_grad, [r(5, 3), r(5, 3)])


@case("binary cross-entropy of probabilities p whose gradient is the logits' (p - y) / N", "p", "logits' gradient")
def _(bug):
    r = draws(8320)
    y = (r(8) > 0).astype(int)
    p = sigmoid(1.2 * r(8))

    def bce(p, y):
        return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()

    def bce_grad(p, y):
        n = len(p)
        if bug:
            return (p - y) / n
        return (-(y / p) + (1 - y) / (1 - p)) / n
    return gradcheck.check_function(bce, bce_grad, [p, y])


# ===== attention =====================================================================================
family("attention")


def attention_forward(q, k, v):
    """Single-head scaled dot-product attention: q (B, Tq, d), k (B, Tk, d), v (B, Tk, dv)."""
    S = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
    A = softmax_last(S)
    return A @ v, (q, k, v, A)


def attention_backward(dout, cache, bugs=()):
    q, k, v, A = cache
    scale = 1.0 if "no scale in dq" in bugs else 1.0 / np.sqrt(q.shape[-1])
    dv = (A if "dv = A @ dout" in bugs else A.transpose(0, 2, 1)) @ dout
    dA = dout @ v.transpose(0, 2, 1)
    if "unweighted sum" in bugs:
        dS = A * (dA - dA.sum(axis=-1, keepdims=True))
    else:
        dS = A * (dA - (A * dA).sum(axis=-1, keepdims=True))
    dq = dS @ k * scale
    dk = dS.transpose(0, 2, 1) @ q / np.sqrt(q.shape[-1])
    if "dq, dk swapped" in bugs:
        return dk, dq, dv
    return dq, dk, dv


@case("attention (d = 16) whose dq forgets the 1 / sqrt(d)", "q", "square root of a size", "constant factor")
def _(bug):
    r = draws(8321)
    bugs = {"no scale in dq"} if bug else ()
    return gradcheck.check_layer(attention_forward, lambda d, c: attention_backward(d, c, bugs),
                                 [0.5 * r(2, 3, 16), 0.5 * r(2, 4, 16), r(2, 4, 3)])


@case("attention whose softmax backward subtracts dA's plain row sum", "k", "unweighted softmax sum")
def _(bug):
    r = draws(8322)
    bugs = {"unweighted sum"} if bug else ()
    return gradcheck.check_layer(attention_forward, lambda d, c: attention_backward(d, c, bugs),
                                 [r(2, 4, 3), r(2, 5, 3), r(2, 5, 2)])


@case("self-attention shapes (Tq = Tk) whose backward returns dk, dq, dv", "q", "order")
def _(bug):
    r = draws(8323)
    bugs = {"dq, dk swapped"} if bug else ()
    return gradcheck.check_layer(attention_forward, lambda d, c: attention_backward(d, c, bugs),
                                 [r(1, 4, 3), r(1, 4, 3), r(1, 4, 3)])


@case("attention whose dv = A @ dout where A.T @ dout belongs (Tq = Tk)", "v", "untransposed matrix")
def _(bug):
    r = draws(8324)
    bugs = {"dv = A @ dout"} if bug else ()
    return gradcheck.check_layer(attention_forward, lambda d, c: attention_backward(d, c, bugs),
                                 [r(2, 5, 4), r(2, 5, 4), r(2, 5, 3)])


# ===== rnn, lstm =====================================================================================
family("rnn, lstm")


def rnn_forward(x, h0, Wx, Wh, b):
    """tanh rnn over x (N, T, D) from h0 (N, H): hs (N, T, H)."""
    N, T, _ = x.shape
    hs = np.zeros((N, T, h0.shape[1]))
    h = h0
    for t in range(T):
        h = np.tanh(x[:, t] @ Wx + h @ Wh + b)
        hs[:, t] = h
    return hs, (x, h0, Wx, Wh, hs)


def rnn_backward(dhs, cache, bugs=()):
    x, h0, Wx, Wh, hs = cache
    N, T, _ = x.shape
    dx, dWx, dWh = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh)
    db, dh = np.zeros(Wh.shape[0]), np.zeros_like(h0)
    for t in reversed(range(T)):
        dz = (dhs[:, t] + dh) * (1 - hs[:, t] ** 2)
        prev = h0 if t == 0 else hs[:, t - 1]
        dx[:, t] = dz @ Wx.T
        if "dWx =" in bugs:
            dWx = x[:, t].T @ dz
        else:
            dWx += x[:, t].T @ dz
        dWh += (hs[:, t] if "dWh with h_t" in bugs else prev).T @ dz
        db += dz.sum(axis=0)
        dh = dz @ Wh.T
    return dx, dh, dWx, dWh, db


@case("tanh rnn over T = 4 whose dWh pairs each dz_t with h_t where h_(t-1) belongs", "Wh", "wrong steps")
def _(bug):
    r = draws(8325)
    bugs = {"dWh with h_t"} if bug else ()
    return gradcheck.check_layer(rnn_forward, lambda d, c: rnn_backward(d, c, bugs),
                                 [r(3, 4, 2), r(3, 3), 0.6 * r(2, 3), 0.6 * r(3, 3), 0.2 * r(3)])


@case("tanh rnn over T = 3 whose dWx is assigned in the loop over time, not accumulated", "Wx", "one slice of dout")
def _(bug):
    r = draws(8326)
    bugs = {"dWx ="} if bug else ()
    return gradcheck.check_layer(rnn_forward, lambda d, c: rnn_backward(d, c, bugs),
                                 [r(4, 3, 5), r(4, 2), 0.5 * r(5, 2), 0.5 * r(2, 2), 0.2 * r(2)])


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o, g = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H]), np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    tc = np.tanh(next_c)
    next_h = o * tc
    return (next_h, next_c), (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tc)


def lstm_step_backward(dnext_h, dnext_c, cache, bugs=()):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tc = cache
    dc = dnext_c + dnext_h * o * (1 - tc ** 2)
    do = dnext_h * tc
    di, df, dg = dc * g, dc * prev_c, dc * i
    do_local = o if "output gate derivative o" in bugs else o * (1 - o)
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), do * do_local, dg * (1 - g ** 2)], axis=1)
    dWh = da.T @ prev_h if "dWh transposed" in bugs else prev_h.T @ da
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, dWh, da.sum(axis=0)


@case("lstm step whose dWh = da.T @ prev_h, of shape (4H, H)", "Wh", "transposed shape")
def _(bug):
    r = draws(8327)
    D, H = 3, 2
    bugs = {"dWh transposed"} if bug else ()
    return gradcheck.check_layer(lstm_step_forward, lambda dh, dc, c: lstm_step_backward(dh, dc, c, bugs),
                                 [r(4, D), r(4, H), r(4, H), 0.5 * r(D, 4 * H), 0.5 * r(H, 4 * H), 0.1 * r(4 * H)])


@case("lstm step whose output gate's derivative is o where o * (1 - o) belongs", "Wx", "activation for its derivative")
def _(bug):
    r = draws(8328)
    D, H = 2, 3
    bugs = {"output gate derivative o"} if bug else ()
    return gradcheck.check_layer(lstm_step_forward, lambda dh, dc, c: lstm_step_backward(dh, dc, c, bugs),
                                 [r(3, D), r(3, H), r(3, H), 0.5 * r(D, 4 * H), 0.5 * r(H, 4 * H), 0.1 * r(4 * H)])


# ===== embeddings ====================================================================================
family("embeddings")


@case("word embedding lookup whose backward is dW[idx] += dout (idx holds repeats)", "W", "repeated indices")
def _(bug):
    r = draws(8329)
    idx = np.array([[0, 3, 3], [5, 1, 0]])

    def embed_forward(W, idx):
        return W[idx], (idx, W.shape)

    def embed_backward(dout, cache):
        idx, shape = cache
        dW = np.zeros(shape)
        if bug:
            dW[idx] += dout
        else:
            np.add.at(dW, idx, dout)
        return dW
    return gradcheck.check_layer(embed_forward, embed_backward, [r(6, 4), idx])


@case("embedding of a square (4, 4) index batch accumulated with idx.T", "W", "lookup index")
def _(bug):
    r = draws(8330)
    idx = np.array([[1, 0, 6, 2], [4, 4, 3, 5], [0, 2, 7, 1], [6, 3, 5, 0]])

    def embed_forward(W, idx):
        return W[idx], (idx, W.shape)

    def embed_backward(dout, cache):
        idx, shape = cache
        dW = np.zeros(shape)
        np.add.at(dW, idx.T if bug else idx, dout)
        return dW
    return gradcheck.check_layer(embed_forward, embed_backward, [r(8, 3), idx])


@case("mean embedding bag (bags of 3) whose backward forgets the / 3", "W", "constant factor")
def _(bug):
    r = draws(8331)
    bags = np.array([[2, 0, 5], [1, 1, 4], [3, 6, 0], [5, 2, 2], [6, 4, 1]])

    def bag_forward(W, bags):
        return W[bags].mean(axis=1), (bags, W.shape)

    def bag_backward(dout, cache):
        bags, shape = cache
        L = bags.shape[1]
        dW = np.zeros(shape)
        share = dout if bug else dout / L
        for j in range(L):
            np.add.at(dW, bags[:, j], share)
        return dW
    return gradcheck.check_layer(bag_forward, bag_backward, [r(7, 2), bags])


@case("learned positional embedding P (T, D) added to x (N, T, D), dP = dout.mean(axis=0)", "P", "one over rows",
      "constant factor")
def _(bug):
    r = draws(8332)

    def pos_forward(x, P):
        return x + P[None, :, :], None

    def pos_backward(dout, cache):
        dP = dout.mean(axis=0) if bug else dout.sum(axis=0)
        return dout, dP
    return gradcheck.check_layer(pos_forward, pos_backward, [r(5, 3, 4), r(3, 4)])


# ===== needle ops ====================================================================================
family("needle ops")

# needle's ops, as numpy functions: compute(*arrays) -> array and gradient(out_grad, node) -> one gradient
# per input, node carrying the inputs and the output; `as_vjp` calls them as needle's autograd does.
Node = namedtuple("Node", ["inputs", "value"])


def as_vjp(compute, gradient, arrays=1):
    """A check_vjp pair from a compute/gradient pair whose first `arrays` arguments are the node's inputs
    (the rest are the op's attributes, as needle's scalar ops keep them)."""
    def vjp(out_grad, *args):
        node = Node(args[:arrays], compute(*args))
        grads = gradient(out_grad, node, *args[arrays:])
        return grads if isinstance(grads, tuple) else (grads,)
    return compute, vjp


@case("needle PowerScalar(3) gradient out_grad * n * a**n", "a", "local gradient factor")
def _(bug):
    r = draws(8333)

    def power_compute(a, n):
        return a ** n

    def power_gradient(out_grad, node, n):
        (a,) = node.inputs
        return out_grad * n * a ** (n if bug else n - 1)
    f, vjp = as_vjp(power_compute, power_gradient)
    return gradcheck.check_vjp(f, vjp, [off_zero(r(3, 4), 0.3), 3])


# a is square, so out_grad broadcast along the wrong axis is exactly the truth's transpose ("transpose").
@case("needle Summation(axes=(1,)) of a (4, 4), gradient broadcast_to(out_grad, shape) without the reshape", "a",
      "broadcast axis", "transpose")
def _(bug):
    r = draws(8334)

    def summation_compute(a):
        return a.sum(axis=1)

    def summation_gradient(out_grad, node):
        (a,) = node.inputs
        g = out_grad if bug else out_grad.reshape(a.shape[0], 1)
        return np.broadcast_to(g, a.shape).copy()
    f, vjp = as_vjp(summation_compute, summation_gradient)
    return gradcheck.check_vjp(f, vjp, [r(4, 4)])


@case("needle Log gradient out_grad / node (the output) where out_grad / a belongs", "a", "output for input")
def _(bug):
    r = draws(8335)

    def log_compute(a):
        return np.log(a)

    def log_gradient(out_grad, node):
        (a,) = node.inputs
        return out_grad / (node.value if bug else a)
    f, vjp = as_vjp(log_compute, log_gradient)
    return gradcheck.check_vjp(f, vjp, [np.exp(0.8 * r(3, 5)) + 1.5])


@case("needle batched MatMul (2, 3, 4) @ (4, 5), gradient for b not summed over the batch", "b",
      "batch axis not summed")
def _(bug):
    r = draws(8336)

    def matmul_compute(a, b):
        return a @ b

    def matmul_gradient(out_grad, node):
        a, b = node.inputs
        gb = np.swapaxes(a, -1, -2) @ out_grad
        return out_grad @ b.T, (gb if bug else gb.sum(axis=0))
    f, vjp = as_vjp(matmul_compute, matmul_gradient, arrays=2)
    return gradcheck.check_vjp(f, vjp, [r(2, 3, 4), r(4, 5)])


# ===== models ========================================================================================
family("models")


class TwoLayerNet:
    """affine - hidden activation - affine - softmax, CS231n style: self.params holds W1, b1, W2, b2 and
    loss(X, y) returns the mean cross-entropy plus 0.5 * reg * (|W1|^2 + |W2|^2), and the grads dict.
    `bugs` names the mistakes in its gradients."""

    def __init__(self, dims, seed, reg=0.1, hidden="relu", bugs=()):
        rng = np.random.default_rng(seed)
        d, h, c = dims
        self.params = {"W1": 0.5 * rng.standard_normal((d, h)), "b1": 0.1 * rng.standard_normal(h),
                       "W2": 0.5 * rng.standard_normal((h, c)), "b2": 0.1 * rng.standard_normal(c)}
        self.reg, self.hidden, self.bugs = reg, hidden, set(bugs)

    def loss(self, X, y):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        N = X.shape[0]
        z1 = X @ W1 + b1
        h1 = np.maximum(z1, 0) if self.hidden == "relu" else np.tanh(z1)
        scores = h1 @ W2 + b2
        probs = softmax_last(scores)
        loss = -np.mean(np.log(probs[np.arange(N), y])) + 0.5 * self.reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
        dscores = probs.copy()
        dscores[np.arange(N), y] -= 1
        if "dscores not / N" not in self.bugs:
            dscores /= N
        reg_factor = 2 * self.reg if "2 * reg * W" in self.bugs else self.reg
        grads = {}
        grads["W2"] = (z1 if "dW2 from z1" in self.bugs else h1).T @ dscores + reg_factor * W2
        grads["b2"] = dscores.sum(axis=0)
        dh1 = dscores @ W2.T
        if self.hidden == "relu":
            dz1 = dh1 if "no relu mask" in self.bugs else dh1 * (z1 > 0)
        else:
            dz1 = dh1 * (1 - (z1 if "1 - z1**2" in self.bugs else h1) ** 2)
        grads["W1"] = X.T @ dz1 + reg_factor * W1
        grads["b1"] = dz1.sum(axis=0)
        return loss, grads


def clear_of_kinks(X, net):
    """No hidden pre-activation of the batch X is near relu's kink."""
    return bool(np.all(np.abs(X @ net.params["W1"] + net.params["b1"]) > 0.02))


@case("two-layer relu net (check_model) with 0.5 * reg * |W|^2 in the loss and 2 * reg * W in the gradient",
      'params["W1"]', "regularisation")
def _(bug):
    r = draws(8337)
    net = TwoLayerNet((3, 5, 4), 8337, reg=0.25, bugs={"2 * reg * W"} if bug else ())
    X = r(6, 3)
    assert clear_of_kinks(X, net)
    return gradcheck.check_model(net, X, np.array([0, 3, 1, 2, 2, 0]))


@case("two-layer tanh net (check_model) whose dscores is not divided by N (the reg gradient right)",
      'params["W2"]', "data term factor")
def _(bug):
    r = draws(8338)
    net = TwoLayerNet((4, 3, 3), 8338, reg=0.2, hidden="tanh", bugs={"dscores not / N"} if bug else ())
    return gradcheck.check_model(net, r(5, 4), np.array([2, 1, 0, 0, 1]))


@case("two-layer tanh net (check_model) whose dz1 is dh1 * (1 - z1**2) for dh1 * (1 - h1**2)", 'params["W1"]',
      "input for output")
def _(bug):
    r = draws(8339)
    net = TwoLayerNet((3, 4, 2), 8339, reg=0.05, hidden="tanh", bugs={"1 - z1**2"} if bug else ())
    return gradcheck.check_model(net, r(7, 3), np.array([1, 0, 1, 1, 0, 0, 1]))


# No cause describes it: dW2 = z1.T @ dscores reads the pre-activation where the relu's output belongs, a
# matrix product with the wrong left factor (z1 and relu(z1) differ on z1's negative entries), not a mask on
# the truth, a factor or a form of an activation's local gradient.
@case("two-layer relu net (check_model) whose dW2 uses the pre-activation z1 where relu(z1) belongs",
      'params["W2"]')
def _(bug):
    r = draws(8340)
    net = TwoLayerNet((4, 5, 3), 8440, reg=0.1, bugs={"dW2 from z1"} if bug else ())
    X = r(6, 4)
    assert clear_of_kinks(X, net)
    return gradcheck.check_model(net, X, np.array([2, 0, 1, 1, 2, 0]))


# ===== mixes: two bugs at once =======================================================================
family("mix")


@case("mix: sigmoid backward -dout * out, its derivative's output and a sign flipped", "x",
      "activation for its derivative", "sign")
def _(bug):
    r = draws(8341)

    def sigmoid_forward(x):
        out = sigmoid(x)
        return out, out

    def sigmoid_backward(dout, out):
        return -dout * out if bug else dout * out * (1 - out)
    return gradcheck.check_layer(sigmoid_forward, sigmoid_backward, [r(4, 4)])


@case("mix: batch norm with mean and variance as constants and dx divided by N", "x", "mean path", "one over rows",
      "constant factor")
def _(bug):
    r = draws(8342)
    bugs = {"statistics constant", "dx / N"} if bug else ()
    return gradcheck.check_layer(batchnorm_forward, lambda d, c: batchnorm_backward(d, c, bugs),
                                 [r(5, 3) - 0.4, 1.0 + 0.3 * r(3), r(3)])


@case("mix: softmax cross-entropy with dscores[:, y] -= 1 and no / N", "scores", "label index", "rows",
      "constant factor")
def _(bug):
    r = draws(8343)
    y = np.array([1, 1, 0, 2, 3, 0])
    bugs = {"[:, y]", "no / N"} if bug else ()
    return gradcheck.check_function(softmax_loss, lambda scores, y: softmax_loss_grad(scores, y, bugs), [r(6, 4), y])


@case("mix: scaled embedding sqrt(16) * W[idx] with dW[idx] += dout, the scale and np.add.at both missing", "W",
      "repeated indices", "constant factor", "one over the square root of a size")
def _(bug):
    r = draws(8344)
    idx = np.array([[3, 1, 3], [0, 2, 1]])

    def scaled_embed_forward(W, idx):
        return np.sqrt(W.shape[1]) * W[idx], (idx, W.shape)

    def scaled_embed_backward(dout, cache):
        idx, shape = cache
        dW = np.zeros(shape)
        if bug:
            dW[idx] += dout
        else:
            np.add.at(dW, idx, np.sqrt(shape[1]) * dout)
        return dW
    return gradcheck.check_layer(scaled_embed_forward, scaled_embed_backward, [r(5, 16), idx])


@case("mix: rnn step whose dprev_h = dz @ Wh (for dz @ Wh.T) and dz = dnext_h * next_h", "prev_h",
      "untransposed matrix", "activation for its derivative")
def _(bug):
    r = draws(8345)

    def rnn_step_forward(x, prev_h, Wx, Wh, b):
        next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
        return next_h, (x, prev_h, Wx, Wh, next_h)

    def rnn_step_backward(dnext_h, cache):
        x, prev_h, Wx, Wh, next_h = cache
        dz = dnext_h * (next_h if bug else 1 - next_h ** 2)
        dprev_h = dz @ (Wh if bug else Wh.T)
        return dz @ Wx.T, dprev_h, x.T @ dz, prev_h.T @ dz, dz.sum(axis=0)
    return gradcheck.check_layer(rnn_step_forward, rnn_step_backward,
                                 [r(4, 3), r(4, 4), 0.5 * r(3, 4), 0.5 * r(4, 4), 0.1 * r(4)])


# ===== running ======================================================================================
if __name__ == "__main__":
    main(CASES, __doc__)
