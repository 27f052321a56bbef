"""A fifteenth held-out set of 45 buggy numpy layers: does the black-box diagnosis name the bug, and does it mislead?

    python benchmarks/heldout_diagnoses_15.py [--verbose]    # the measurement (--verbose: each diagnosis)
    python benchmarks/heldout_diagnoses_15.py --self-check   # every right layer passes, every buggy one fails

Written blind, apart from the other held-out sets and from tests/diagnose/ and gradcheck/diagnose/ (other
layers, other code, other shapes, seeds 8501..8545, one per case; set 5 was read for its format only,
with benchmarks/heldout_harness.py, docs/diagnoses.md and the names of the table's causes), as a student
would write the layers from memory, the bugs chosen for being realistic, not for being easy or hard to
diagnose. 40 layers have one bug, 5 ("mix") have two at once. The families, 4 cases each: activations,
affine and conv, pooling, normalisation, losses, attention, rnn and lstm, embeddings, needle ops
(compute/gradient functions in needle's style, made into check_vjp calls), models (check_model on a
CS231n-style net with a params dict, model.loss(X, y) -> (loss, grads), with regularisation); and mix, 5.
Every case is a right layer with its bug behind a flag, so the right version is checked too.

The labels were written first and blind: each case lists every cause (gradcheck.diagnose.hypotheses
names) whose sentence and scope in docs/diagnoses.md would correctly describe its bug for the variable
read (for a mix, the causes of either bug), decided from the bug and the docs alone, before any diagnosis
of these layers was run; only --self-check (exit codes) was run while writing them. 2 cases are bugs
that no cause of the table describes, and name none (each says why in a comment). A diagnosis is
- named: its cause is one of those (for a mix, naming either bug);
- honest: no mistake named, only a count of the right entries (or none);
- misleading: it names a mistake that is not the bug.

Labels reviewed blind against the table of 2026-12-08 (main at 1681133) before measurement, from the bugs'
code and the causes' sentences and scope alone (no diagnosis seen): added "permuted" to the embedding lookup
read with idx.T (its 9 indices name each of W's 9 rows once, so the claim is the truth's rows moved, the same
way for every dout: the entries moved that "permuted" names). No label removed. Today's new scope was checked
against every case: "one slice of dout" now reads a pool's windows on a (batch, positions) input without
channels (the 1-D max pool with = for += has channels, (3, 2, 9), and was already named by its windows). The
2 cases that name no cause still name none: the layer norm without gamma before its projection is no factor
(the projection mixes the entries) nor a statistic's path alone (the dout part is wrong too), and the net's
grads['W2'] from z1 for a1 is z1's negative part times dscores, no mask of the truth nor a scale's input.

Measured once, blind, on main at 1681133 merged with this set's review (2026-12-08): named 40, honest 3,
misleading 2 of 45 (the bar of none misleading not met). Misleading: the lstm step whose tanh(next_c) derivative
is 1 - next_c**2 (labelled "input for output"), told "output path" (right when only next_c has a gradient, wrong
when next_h has one: true, as tanh(next_c) lies on next_h's path alone, but not the slip); and the layer norm whose
backward forgets gamma before the projection (labelled with no cause), told "local gradient factor" in words that
are its bug ("gamma ... forgotten before the backward's own sums, as a norm's gamma left out of dxhat"), a case the
writer and the review held no cause describes. Honest: the padded 3x3 conv whose dx windows are written with =,
the relu net whose dW2 uses the pre-activation z1 (no cause), and the mix of a max pool written as an average
pool's backward. So 40 of the 44 nameable were named. The set is seen from here on: a development set, whose
later figures are not held-out ones.
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
    """The same array pushed at least `gap` away from 0 (a relu's, a hinge's kink)."""
    return np.where(a >= 0, a + gap, a - gap)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(s, axis=-1):
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def spread_max(x: np.ndarray, gap: float = 0.3) -> np.ndarray:
    """x with each window's maximum (last axis) pushed `gap` above the rest: no near ties."""
    top = x.argmax(axis=-1)[..., None]
    return x + gap * (np.arange(x.shape[-1]) == top)


# ===== activations ===================================================================================
family("activations")

ELU_ALPHA = 1.0
LEAKY_SLOPE = 0.1


@case("elu backward dout * out on the negative side, for dout * (out + alpha)", "x", "derivative form")
def _(bug):
    r = draws(8501)

    def elu_forward(x):
        out = np.where(x > 0, x, ELU_ALPHA * (np.exp(x) - 1.0))
        return out, (x, out)

    def elu_backward(dout, cache):
        x, out = cache
        neg = out if bug else out + ELU_ALPHA
        return dout * np.where(x > 0, 1.0, neg)
    return gradcheck.check_layer(elu_forward, elu_backward, [off_zero(r(5, 4))])


@case("leaky relu (slope 0.1) backward with the slope on the positive side", "x", "sign region")
def _(bug):
    r = draws(8502)

    def leaky_forward(x):
        return np.where(x > 0, x, LEAKY_SLOPE * x), x

    def leaky_backward(dout, x):
        pos = x > 0
        if bug:
            pos = ~pos
        return np.where(pos, dout, LEAKY_SLOPE * dout)
    return gradcheck.check_layer(leaky_forward, leaky_backward, [off_zero(r(4, 6))])


@case("softplus log(1 + e^x) backward dout * sigmoid(-x)", "x", "derivative form")
def _(bug):
    r = draws(8503)

    def softplus_forward(x):
        return np.logaddexp(0.0, x), x

    def softplus_backward(dout, x):
        return dout * sigmoid(-x if bug else x)
    return gradcheck.check_layer(softplus_forward, softplus_backward, [1.5 * r(3, 7)])


@case("tanh backward dout * (1 - out), the square forgotten", "x", "derivative form")
def _(bug):
    r = draws(8504)

    def tanh_forward(x):
        out = np.tanh(x)
        return out, out

    def tanh_backward(dout, out):
        return dout * (1.0 - (out if bug else out ** 2))
    return gradcheck.check_layer(tanh_forward, tanh_backward, [r(6, 3)])


# ===== affine, conv ==================================================================================
family("affine and conv")


@case("affine on (N, 2, 3) inputs flattened, db = dout (not summed over the batch)", "b", "batch axis not summed")
def _(bug):
    r = draws(8505)

    def affine_forward(x, w, b):
        flat = x.reshape(x.shape[0], -1)
        return flat @ w + b, (x, w)

    def affine_backward(dout, cache):
        x, w = cache
        flat = x.reshape(x.shape[0], -1)
        db = dout if bug else dout.sum(axis=0)
        return (dout @ w.T).reshape(x.shape), flat.T @ dout, db
    return gradcheck.check_layer(affine_forward, affine_backward, [r(4, 2, 3), r(6, 5), r(5)])


@case("square affine (D = M = 4), dx = dout @ w for dout @ w.T", "x", "untransposed matrix")
def _(bug):
    r = draws(8506)

    def affine_forward(x, w, b):
        return x @ w + b, (x, w)

    def affine_backward(dout, cache):
        x, w = cache
        dx = dout @ w if bug else dout @ w.T
        return dx, x.T @ dout, dout.sum(axis=0)
    return gradcheck.check_layer(affine_forward, affine_backward, [r(5, 4), r(4, 4), r(4)])


def conv2d_forward(x, w, b, stride, pad):
    """Naive cross-correlation: x (N, C, H, W), w (F, C, HH, WW), b (F,)."""
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho = (xp.shape[2] - HH) // stride + 1
    Wo = (xp.shape[3] - WW) // stride + 1
    out = np.zeros((x.shape[0], F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            win = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.einsum("nchw,fchw->nf", win, w) + b
    return out, (x, w, stride, pad)


def conv2d_backward(dout, cache, bugs=()):
    x, w, stride, pad = cache
    _, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            g = dout[:, :, i, j]
            win = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            dw += np.einsum("nf,nchw->fchw", g, win)
            part = np.einsum("nf,fchw->nchw", g, w)
            r0, c0 = (i, j) if "window at i" in bugs else (i * stride, j * stride)
            if "overwrite" in bugs:
                dxp[:, :, r0:r0 + HH, c0:c0 + WW] = part
            else:
                dxp[:, :, r0:r0 + HH, c0:c0 + WW] += part
    dx = dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))


@case("conv2d 3x3 stride 1 pad 1, dx windows written with = where += belongs", "x", "one slice of dout")
def _(bug):
    r = draws(8507)

    def conv_forward(x, w, b):
        return conv2d_forward(x, w, b, 1, 1)
    bugs = {"overwrite"} if bug else ()
    return gradcheck.check_layer(conv_forward, lambda d, c: conv2d_backward(d, c, bugs),
                                 [r(2, 2, 4, 4), 0.5 * r(3, 2, 3, 3), r(3)])


@case("conv2d 3x3 stride 2 on 7x7, dx windows placed at (i, j) for (i * stride, j * stride)", "x", "window stride")
def _(bug):
    r = draws(8508)

    def conv_forward(x, w, b):
        return conv2d_forward(x, w, b, 2, 0)
    bugs = {"window at i"} if bug else ()
    return gradcheck.check_layer(conv_forward, lambda d, c: conv2d_backward(d, c, bugs),
                                 [r(2, 2, 7, 7), 0.5 * r(2, 2, 3, 3), r(2)])


# ===== pooling =======================================================================================
family("pooling")


def pool_windows(x, k):
    """(N, C, H, W) -> (N, C, H/k, W/k, k*k) non-overlapping k x k windows."""
    N, C, H, W = x.shape
    return x.reshape(N, C, H // k, k, W // k, k).transpose(0, 1, 2, 4, 3, 5).reshape(N, C, H // k, W // k, k * k)


def unpool_windows(win, k):
    N, C, Ho, Wo, _ = win.shape
    return win.reshape(N, C, Ho, Wo, k, k).transpose(0, 1, 2, 4, 3, 5).reshape(N, C, Ho * k, Wo * k)


def tie_free(x, k):
    """x with each k x k window's maximum pushed clear of the rest."""
    return unpool_windows(spread_max(pool_windows(x, k)), k)


@case("max pool 2x2 stride 2 backward sending dout to every entry of its window", "x", "mask")
def _(bug):
    r = draws(8509)
    k = 2

    def maxpool_forward(x):
        win = pool_windows(x, k)
        return win.max(axis=-1), win

    def maxpool_backward(dout, win):
        hit = np.ones_like(win) if bug else (win == win.max(axis=-1, keepdims=True))
        return unpool_windows(hit * dout[..., None], k)
    return gradcheck.check_layer(maxpool_forward, maxpool_backward, [tie_free(r(2, 3, 4, 4), k)])


@case("average pool 2x2 stride 2 backward without the / 4", "x", "constant factor")
def _(bug):
    r = draws(8510)
    k = 2

    def avgpool_forward(x):
        return pool_windows(x, k).mean(axis=-1), x.shape

    def avgpool_backward(dout, shape):
        share = np.repeat(dout[..., None], k * k, axis=-1)
        return unpool_windows(share if bug else share / (k * k), k)
    return gradcheck.check_layer(avgpool_forward, avgpool_backward, [r(3, 2, 4, 6)])


@case("global average pool over (H=3, W=4) backward dividing by W only", "x", "constant factor")
def _(bug):
    r = draws(8511)

    def gap_forward(x):
        return x.mean(axis=(2, 3)), x.shape

    def gap_backward(dout, shape):
        N, C, H, W = shape
        count = W if bug else H * W
        return np.broadcast_to(dout[:, :, None, None] / count, shape).copy()
    return gradcheck.check_layer(gap_forward, gap_backward, [r(2, 3, 3, 4)])


@case("1-D max pool width 3 stride 2 (overlapping), dx window slices written with = where += belongs", "x",
      "one slice of dout")
def _(bug):
    r = draws(8512)
    width, stride = 3, 2

    def maxpool1d_forward(x):
        L_out = (x.shape[2] - width) // stride + 1
        wins = np.stack([x[:, :, s * stride:s * stride + width] for s in range(L_out)], axis=2)
        return wins.max(axis=-1), (x, wins)

    def maxpool1d_backward(dout, cache):
        x, wins = cache
        dx = np.zeros_like(x)
        for s in range(dout.shape[2]):
            hit = wins[:, :, s] == wins[:, :, s].max(axis=-1, keepdims=True)
            if bug:
                dx[:, :, s * stride:s * stride + width] = hit * dout[:, :, s, None]
            else:
                dx[:, :, s * stride:s * stride + width] += hit * dout[:, :, s, None]
        return dx
    x = r(3, 2, 9)
    x[:, :, 2::2] += 0.8  # the entries two windows share are often both windows' maximum
    return gradcheck.check_layer(maxpool1d_forward, maxpool1d_backward, [x])


# ===== normalisation =================================================================================
family("normalisation")

NORM_EPS = 1e-5


@case("layer norm backward with the mean and variance taken as constants (dx = dout * gamma / std)", "x",
      "mean path")
def _(bug):
    r = draws(8513)

    def layernorm_forward(x, gamma, beta):
        mu = x.mean(axis=1, keepdims=True)
        std = np.sqrt(x.var(axis=1, keepdims=True) + NORM_EPS)
        xhat = (x - mu) / std
        return gamma * xhat + beta, (xhat, std, gamma)

    def layernorm_backward(dout, cache):
        xhat, std, gamma = cache
        dxhat = dout * gamma
        if bug:
            dx = dxhat / std
        else:
            dx = (dxhat - dxhat.mean(axis=1, keepdims=True)
                  - xhat * (dxhat * xhat).mean(axis=1, keepdims=True)) / std
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
    return gradcheck.check_layer(layernorm_forward, layernorm_backward, [r(4, 5), 1.0 + 0.3 * r(5), r(5)])


@case("batch norm (train) with dbeta = dout.mean(axis=0)", "beta", "one over rows", "constant factor")
def _(bug):
    r = draws(8514)

    def batchnorm_forward(x, gamma, beta):
        mu = x.mean(axis=0)
        std = np.sqrt(x.var(axis=0) + NORM_EPS)
        xhat = (x - mu) / std
        return gamma * xhat + beta, (xhat, std, gamma)

    def batchnorm_backward(dout, cache):
        xhat, std, gamma = cache
        N = dout.shape[0]
        dxhat = dout * gamma
        dx = (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (N * std)
        dbeta = dout.mean(axis=0) if bug else dout.sum(axis=0)
        return dx, (dout * xhat).sum(axis=0), dbeta
    return gradcheck.check_layer(batchnorm_forward, batchnorm_backward, [r(6, 3), 1.0 + 0.2 * r(3), r(3)])


@case("staged batch norm backward whose dvar lacks the -1/2 of d(var + eps)**-1/2", "x", "statistic path factor")
def _(bug):
    r = draws(8515)

    def batchnorm_forward(x, gamma, beta):
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        xhat = (x - mu) / np.sqrt(var + NORM_EPS)
        return gamma * xhat + beta, (x, mu, var, xhat, gamma)

    def batchnorm_backward(dout, cache):
        x, mu, var, xhat, gamma = cache
        N = x.shape[0]
        xmu = x - mu
        dxhat = dout * gamma
        half = 1.0 if bug else -0.5
        dvar = np.sum(dxhat * xmu, axis=0) * half * (var + NORM_EPS) ** -1.5
        dmu = -np.sum(dxhat, axis=0) / np.sqrt(var + NORM_EPS) + dvar * np.mean(-2.0 * xmu, axis=0)
        dx = dxhat / np.sqrt(var + NORM_EPS) + dvar * 2.0 * xmu / N + dmu / N
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
    return gradcheck.check_layer(batchnorm_forward, batchnorm_backward, [1.5 * r(5, 4) + 0.3, 1.0 + 0.2 * r(4), r(4)])


# No cause: gamma is forgotten before the projection (dxhat = dout for dout * gamma), so the claim is the
# normalisation's gradient of another dout, not the truth times a per-entry factor, with a statistic's
# path off by a clean factor, or any other entry's pattern.
@case("layer norm with gamma, backward dxhat = dout (gamma forgotten before the projection)", "x")
def _(bug):
    r = draws(8516)

    def layernorm_forward(x, gamma, beta):
        mu = x.mean(axis=-1, keepdims=True)
        std = np.sqrt(x.var(axis=-1, keepdims=True) + NORM_EPS)
        xhat = (x - mu) / std
        return gamma * xhat + beta, (xhat, std, gamma)

    def layernorm_backward(dout, cache):
        xhat, std, gamma = cache
        D = xhat.shape[-1]
        dxhat = dout if bug else dout * gamma
        dx = (D * dxhat - dxhat.sum(axis=-1, keepdims=True)
              - xhat * (dxhat * xhat).sum(axis=-1, keepdims=True)) / (D * std)
        return dx, (dout * xhat).sum(axis=(0, 1)), dout.sum(axis=(0, 1))
    return gradcheck.check_layer(layernorm_forward, layernorm_backward, [r(2, 3, 6), 1.0 + 0.5 * r(6), r(6)])


# ===== losses ========================================================================================
family("losses")


@case("softmax cross-entropy with dscores[:, y] -= 1 for dscores[np.arange(N), y] -= 1", "scores", "label index")
def _(bug):
    r = draws(8517)
    y = np.array([2, 0, 3, 2, 1])

    def softmax_loss(scores, y):
        p = softmax(scores)
        return -np.log(p[np.arange(len(y)), y]).mean()

    def softmax_loss_grad(scores, y):
        N = len(y)
        dscores = softmax(scores)
        if bug:
            dscores[:, y] -= 1.0
        else:
            dscores[np.arange(N), y] -= 1.0
        return dscores / N
    return gradcheck.check_function(softmax_loss, softmax_loss_grad, [r(5, 4), y])


@case("multiclass SVM (delta 1) gradient without the -count at each correct class", "scores", "correct class term")
def _(bug):
    r = draws(8518)
    y = np.array([1, 0, 2, 2, 3, 1])
    N = len(y)
    scores = 2.0 * r(N, 4)
    margins = scores - scores[np.arange(N), y][:, None] + 1.0
    margins[np.arange(N), y] = 5.0
    scores = scores + np.where(np.abs(margins) < 0.15, 0.3, 0.0)  # no margin near the hinge

    def svm_loss(scores, y):
        m = np.maximum(0.0, scores - scores[np.arange(len(y)), y][:, None] + 1.0)
        m[np.arange(len(y)), y] = 0.0
        return m.sum() / len(y)

    def svm_loss_grad(scores, y):
        n = len(y)
        m = scores - scores[np.arange(n), y][:, None] + 1.0
        active = (m > 0).astype(float)
        active[np.arange(n), y] = 0.0
        if not bug:
            active[np.arange(n), y] = -active.sum(axis=1)
        return active / n
    return gradcheck.check_function(svm_loss, svm_loss_grad, [scores, y])


@case("mean squared error mean((pred - t)**2) with gradient (pred - t) / n, the 2 forgotten", "pred",
      "twice or half", "constant factor")
def _(bug):
    r = draws(8519)

    def mse(pred, t):
        return np.mean((pred - t) ** 2)

    def mse_grad(pred, t):
        g = (pred - t) / pred.size
        return g if bug else 2.0 * g
    return gradcheck.check_function(mse, mse_grad, {"pred": r(4, 3), "t": r(4, 3)}, data="t")


@case("binary cross-entropy on probabilities p with gradient (p - y) / N, the logits' form", "p",
      "logits' gradient")
def _(bug):
    r = draws(8520)
    y = (r(8) > 0).astype(float)
    p = sigmoid(1.2 * r(8))

    def bce(p, y):
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    def bce_grad(p, y):
        N = len(p)
        if bug:
            return (p - y) / N
        return (p - y) / (p * (1 - p) * N)
    return gradcheck.check_function(bce, bce_grad, {"p": p, "y": y}, data="y")


# ===== attention =====================================================================================
family("attention")


def attention_forward(q, k, v):
    """Single-head scaled dot-product attention over the last two axes."""
    scale = 1.0 / np.sqrt(q.shape[-1])
    A = softmax(q @ np.swapaxes(k, -1, -2) * scale)
    return A @ v, (q, k, v, A, scale)


def attention_backward(dout, cache, bugs=()):
    q, k, v, A, scale = cache
    dv = np.swapaxes(A, -1, -2) @ dout
    dA = dout @ np.swapaxes(v, -1, -2)
    if "unweighted sum" in bugs:
        dS = A * (dA - dA.sum(axis=-1, keepdims=True))
    else:
        dS = A * (dA - (A * dA).sum(axis=-1, keepdims=True))
    if "no scale" not in bugs:
        dS = dS * scale
    return dS @ k, np.swapaxes(dS, -1, -2) @ q, dv


@case("attention (T=4, d=3) with dS = A * (dA - dA.sum(-1)), the softmax's sum unweighted", "q",
      "unweighted softmax sum")
def _(bug):
    r = draws(8521)
    bugs = {"unweighted sum"} if bug else ()
    return gradcheck.check_layer(attention_forward, lambda d, c: attention_backward(d, c, bugs),
                                 [r(4, 3), r(4, 3), r(4, 3)])


@case("batched attention (B=2, T=3, d=9) backward without the 1/sqrt(d) on dS", "q", "square root of a size",
      "constant factor")
def _(bug):
    r = draws(8522)
    bugs = {"no scale"} if bug else ()
    return gradcheck.check_layer(attention_forward, lambda d, c: attention_backward(d, c, bugs),
                                 [r(2, 3, 9), r(2, 3, 9), r(2, 3, 9)])


@case("multi-head attention (H=2, dh=2), dq's heads merged by reshape without the transpose back", "q", "permuted")
def _(bug):
    r = draws(8523)
    H = 2

    def split(a):
        N, T, D = a.shape
        return a.reshape(N, T, H, D // H).transpose(0, 2, 1, 3)

    def merge(a):
        N, _, T, dh = a.shape
        return a.transpose(0, 2, 1, 3).reshape(N, T, H * dh)

    def mha_forward(q, k, v):
        out, cache = attention_forward(split(q), split(k), split(v))
        return merge(out), cache

    def mha_backward(dout, cache):
        dq, dk, dv = attention_backward(split(dout), cache)
        N, _, T, dh = dq.shape
        dq = dq.reshape(N, T, H * dh) if bug else merge(dq)
        return dq, merge(dk), merge(dv)
    return gradcheck.check_layer(mha_forward, mha_backward, [r(2, 3, 4), r(2, 3, 4), r(2, 3, 4)])


@case("attention with an output projection Wo (4, 4), dWo = dout.T @ ctx for ctx.T @ dout", "Wo", "transpose",
      "permuted")
def _(bug):
    r = draws(8524)

    def proj_attention_forward(q, k, v, Wo):
        ctx, cache = attention_forward(q, k, v)
        return ctx @ Wo, (ctx, Wo, cache)

    def proj_attention_backward(dout, cache):
        ctx, Wo, inner = cache
        dWo = dout.T @ ctx if bug else ctx.T @ dout
        dq, dk, dv = attention_backward(dout @ Wo.T, inner)
        return dq, dk, dv, dWo
    return gradcheck.check_layer(proj_attention_forward, proj_attention_backward,
                                 [r(5, 4), r(5, 4), r(5, 4), 0.6 * r(4, 4)])


# ===== rnn, lstm =====================================================================================
family("rnn and lstm")


@case("tanh rnn step backward da = dnext_h * (1 - z**2), z the pre-activation, for 1 - next_h**2", "Wx",
      "input for output")
def _(bug):
    r = draws(8525)

    def rnn_step_forward(x, prev_h, Wx, Wh, b):
        z = x @ Wx + prev_h @ Wh + b
        next_h = np.tanh(z)
        return next_h, (x, prev_h, Wx, Wh, z, next_h)

    def rnn_step_backward(dnext_h, cache):
        x, prev_h, Wx, Wh, z, next_h = cache
        da = dnext_h * (1 - (z if bug else next_h) ** 2)
        return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)
    return gradcheck.check_layer(rnn_step_forward, rnn_step_backward,
                                 [r(4, 3), r(4, 5), 0.4 * r(3, 5), 0.4 * r(5, 5), 0.1 * r(5)])


def lstm_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (sigmoid(a[:, n * H:(n + 1) * H]) for n in range(3))
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)


def lstm_backward(dnext_h, dnext_c, cache, bugs=()):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tc = np.tanh(next_c)
    local = 1 - next_c ** 2 if "tanh(c) derivative from c" in bugs else 1 - tc ** 2
    dc = dnext_c + dnext_h * o * local
    da = np.concatenate([dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * tc * o * (1 - o),
                         dc * i * (1 - g ** 2)], axis=1)
    grads = [da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)]
    if "dWx dWh swapped" in bugs:
        grads[3], grads[4] = grads[4], grads[3]
    return tuple(grads)


def lstm_inputs(r, N, D, H):
    return [r(N, D), r(N, H), r(N, H), 0.5 * r(D, 4 * H), 0.5 * r(H, 4 * H), 0.2 * r(4 * H)]


@case("lstm step whose tanh(next_c) derivative is 1 - next_c**2 for 1 - tanh(next_c)**2", "Wx", "input for output")
def _(bug):
    r = draws(8526)
    bugs = {"tanh(c) derivative from c"} if bug else ()
    return gradcheck.check_layer(lstm_forward, lambda dh, dc, c: lstm_backward(dh, dc, c, bugs),
                                 lstm_inputs(r, 3, 2, 3))


@case("tanh rnn over 4 steps whose dWx = x[:, t].T @ da (= where += belongs) in its loop over time", "Wx",
      "one slice of dout")
def _(bug):
    r = draws(8527)

    def rnn_forward(x, h0, Wx, Wh, b):
        hs = [h0]
        for t in range(x.shape[1]):
            hs.append(np.tanh(x[:, t] @ Wx + hs[-1] @ Wh + b))
        return np.stack(hs[1:], axis=1), (x, hs, Wx, Wh)

    def rnn_backward(dhs, cache):
        x, hs, Wx, Wh = cache
        dx, dWx, dWh = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh)
        db, dh_next = np.zeros(Wh.shape[0]), np.zeros_like(hs[0])
        for t in reversed(range(x.shape[1])):
            da = (dhs[:, t] + dh_next) * (1 - hs[t + 1] ** 2)
            dx[:, t] = da @ Wx.T
            if bug:
                dWx = x[:, t].T @ da
            else:
                dWx += x[:, t].T @ da
            dWh += hs[t].T @ da
            db += da.sum(axis=0)
            dh_next = da @ Wh.T
        return dx, dh_next, dWx, dWh, db
    return gradcheck.check_layer(rnn_forward, rnn_backward,
                                 [r(3, 4, 5), r(3, 4), 0.4 * r(5, 4), 0.4 * r(4, 4), 0.1 * r(4)])


@case("lstm step (D = H = 3) returning dWh in dWx's place and dWx in dWh's", "Wx", "order")
def _(bug):
    r = draws(8528)
    bugs = {"dWx dWh swapped"} if bug else ()
    return gradcheck.check_layer(lstm_forward, lambda dh, dc, c: lstm_backward(dh, dc, c, bugs),
                                 lstm_inputs(r, 4, 3, 3))


# ===== embeddings ====================================================================================
family("embeddings")


def lookup_forward(W, idx):
    return W[idx], (W.shape, idx)


@case("embedding lookup with repeated indices, dW[idx] += dout for np.add.at", "W", "repeated indices")
def _(bug):
    r = draws(8529)

    def lookup_backward(dout, cache):
        shape, idx = cache
        dW = np.zeros(shape)
        if bug:
            dW[idx] += dout
        else:
            np.add.at(dW, idx, dout)
        return dW
    return gradcheck.check_layer(lookup_forward, lookup_backward, [r(6, 3), np.array([[0, 3, 3], [5, 0, 2]])])


@case("token embedding scaled by sqrt(D) (D = 5), dW accumulated without the scale", "W",
      "one over the square root of a size", "constant factor")
def _(bug):
    r = draws(8530)

    def scaled_forward(W, idx):
        return W[idx] * np.sqrt(W.shape[1]), (W.shape, idx)

    def scaled_backward(dout, cache):
        shape, idx = cache
        dW = np.zeros(shape)
        np.add.at(dW, idx, dout if bug else dout * np.sqrt(shape[1]))
        return dW
    return gradcheck.check_layer(scaled_forward, scaled_backward, [r(7, 5), np.array([[1, 4], [6, 1], [0, 2]])])


@case("mean embedding bag (4 bags of 3 tokens), dW accumulated without the / 3", "W", "constant factor")
def _(bug):
    r = draws(8531)

    def bag_forward(W, idx):
        return W[idx].mean(axis=1), (W.shape, idx)

    def bag_backward(dout, cache):
        shape, idx = cache
        dW = np.zeros(shape)
        per_token = np.repeat(dout[:, None, :], idx.shape[1], axis=1)
        np.add.at(dW, idx, per_token if bug else per_token / idx.shape[1])
        return dW
    return gradcheck.check_layer(bag_forward, bag_backward, [r(8, 4), np.array([[0, 5, 7], [2, 2, 6], [1, 3, 4], [6, 0, 3]])])


@case("embedding lookup (N = T = 3), np.add.at(dW, idx.T, dout) for idx", "W", "lookup index", "permuted")
def _(bug):
    r = draws(8532)

    def lookup_backward(dout, cache):
        shape, idx = cache
        dW = np.zeros(shape)
        np.add.at(dW, idx.T if bug else idx, dout)
        return dW
    return gradcheck.check_layer(lookup_forward, lookup_backward,
                                 [r(9, 2), np.array([[0, 4, 8], [3, 7, 1], [6, 2, 5]])])


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


@case("needle PowerScalar(3) gradient out_grad * a**(n - 1), the n forgotten", "a", "local gradient factor",
      "one over a data number", "constant factor")
def _(bug):
    r = draws(8533)

    def power_scalar_compute(a, scalar):
        return a ** scalar

    def power_scalar_gradient(out_grad, node, scalar):
        (a,) = node.inputs
        g = out_grad * a ** (scalar - 1)
        return g if bug else scalar * g
    f, vjp = as_vjp(power_scalar_compute, power_scalar_gradient)
    return gradcheck.check_vjp(f, vjp, [r(3, 4), 3])


# On a square input, out_grad broadcast along axis 0 is the truth's transpose: a transpose, entries moved.
@case("needle Summation(axes=(1,)) of a (4, 4), gradient np.broadcast_to(out_grad, a.shape) (the axis not restored)",
      "a", "broadcast axis", "transpose", "permuted")
def _(bug):
    r = draws(8534)
    axis = 1

    def summation_compute(a):
        return a.sum(axis=axis)

    def summation_gradient(out_grad, node):
        (a,) = node.inputs
        g = out_grad if bug else np.expand_dims(out_grad, axis)
        return np.broadcast_to(g, a.shape).copy()
    f, vjp = as_vjp(summation_compute, summation_gradient)
    return gradcheck.check_vjp(f, vjp, [r(4, 4)])


@case("needle Log gradient out_grad / node.value (the output where the input belongs)", "a", "output for input")
def _(bug):
    r = draws(8535)

    def log_compute(a):
        return np.log(a)

    def log_gradient(out_grad, node):
        (a,) = node.inputs
        return out_grad / (node.value if bug else a)
    f, vjp = as_vjp(log_compute, log_gradient)
    return gradcheck.check_vjp(f, vjp, [np.abs(r(3, 5)) + 0.3])


@case("needle MatMul (3, 4) @ (4, 2), gradient for b out_grad.T @ a for a.T @ out_grad", "b", "transposed shape")
def _(bug):
    r = draws(8536)

    def matmul_compute(a, b):
        return a @ b

    def matmul_gradient(out_grad, node):
        a, b = node.inputs
        gb = out_grad.T @ a if bug else a.T @ out_grad
        return out_grad @ b.T, gb
    f, vjp = as_vjp(matmul_compute, matmul_gradient, arrays=2)
    return gradcheck.check_vjp(f, vjp, [r(3, 4), r(4, 2)])


# ===== models ========================================================================================
family("models")


class TwoLayerNet:
    """A CS231n-style net, affine - act - affine - softmax cross-entropy, params in a dict, L2 regularisation
    0.5 * reg * sum(W**2) in the loss. `bugs` names the mistakes in its loss's gradients."""

    def __init__(self, dims, seed, reg, act="relu", bugs=()):
        rng = np.random.default_rng(seed)
        D, H, C = dims
        self.params = {"W1": 0.5 * rng.standard_normal((D, H)), "b1": 0.1 * rng.standard_normal(H),
                       "W2": 0.5 * rng.standard_normal((H, C)), "b2": np.zeros(C)}
        self.reg, self.act, self.bugs = reg, act, set(bugs)

    def hidden(self, X):
        z1 = X @ self.params["W1"] + self.params["b1"]
        return z1, (np.maximum(0.0, z1) if self.act == "relu" else sigmoid(z1))

    def loss(self, X, y):
        W1, W2, b2 = self.params["W1"], self.params["W2"], self.params["b2"]
        N = X.shape[0]
        z1, a1 = self.hidden(X)
        p = softmax(a1 @ W2 + b2)
        loss = -np.log(p[np.arange(N), y]).mean() + 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dscores = p.copy()
        dscores[np.arange(N), y] -= 1.0
        if "dscores not / N" not in self.bugs:
            dscores /= N
        grads = {"W2": (z1 if "z1 for a1" in self.bugs else a1).T @ dscores + self.reg * W2,
                 "b2": dscores.sum(axis=0)}
        da1 = dscores @ W2.T
        if self.act == "relu":
            dz1 = da1 * (z1 > 0)
        else:
            s = z1 if "sigmoid derivative from z1" in self.bugs else a1
            dz1 = da1 * s * (1 - s)
        grads["W1"] = X.T @ dz1 + (0.0 if "no reg on W1" in self.bugs else self.reg * W1)
        grads["b1"] = dz1.sum(axis=0)
        return loss, grads


KINK_GAP = 0.05
KINK_SHIFT = 0.13


def kink_free(X, net):
    """X, with the net's b1 moved so that no hidden pre-activation of X is near relu's kink."""
    for _ in range(20):
        z1, _ = net.hidden(X)
        near = (np.abs(z1) < KINK_GAP).any(axis=0)
        if not near.any():
            return X
        net.params["b1"] = net.params["b1"] + KINK_SHIFT * near
    raise AssertionError("a hidden pre-activation stays near relu's kink")


@case("two-layer relu net (check_model), reg * W1 left out of grads['W1']", 'params["W1"]', "regularisation")
def _(bug):
    r = draws(8537)
    net = TwoLayerNet((4, 6, 3), 8537, reg=0.1, bugs={"no reg on W1"} if bug else ())
    X = kink_free(r(7, 4), net)
    return gradcheck.check_model(net, X, np.array([0, 2, 1, 1, 2, 0, 0]))


@case("two-layer sigmoid net (check_model), dz1 = da1 * z1 * (1 - z1) for a1 * (1 - a1)", 'params["W1"]',
      "input for output")
def _(bug):
    r = draws(8538)
    net = TwoLayerNet((3, 5, 4), 8538, reg=0.05, act="sigmoid", bugs={"sigmoid derivative from z1"} if bug else ())
    return gradcheck.check_model(net, r(6, 3), np.array([3, 1, 0, 2, 3, 1]))


@case("two-layer relu net (check_model), dscores not divided by N, reg * W right", 'params["W2"]',
      "data term factor")
def _(bug):
    r = draws(8539)
    net = TwoLayerNet((5, 4, 3), 8539, reg=0.2, bugs={"dscores not / N"} if bug else ())
    X = kink_free(r(6, 5), net)
    return gradcheck.check_model(net, X, np.array([1, 0, 2, 2, 1, 0]))


# No cause: grads['W2'] = z1.T @ dscores uses the pre-activation where the relu's output belongs; the two
# differ on the negative entries by the values themselves, not by a mask, a factor or a form of the table.
@case("two-layer relu net (check_model), grads['W2'] from z1 (before the relu) for a1", 'params["W2"]')
def _(bug):
    r = draws(8540)
    net = TwoLayerNet((4, 5, 3), 8540, reg=0.1, bugs={"z1 for a1"} if bug else ())
    X = kink_free(r(8, 4), net)
    return gradcheck.check_model(net, X, np.array([2, 2, 0, 1, 0, 1, 2, 0]))


# ===== mixes: two bugs at once =======================================================================
family("mix")


@case("mix: affine dW = dout.T @ x / N, transposed and averaged over the batch", "W", "transposed shape",
      "one over rows", "constant factor")
def _(bug):
    r = draws(8541)

    def affine_forward(x, W, b):
        return x @ W + b, (x, W)

    def affine_backward(dout, cache):
        x, W = cache
        dW = dout.T @ x / x.shape[0] if bug else x.T @ dout
        return dout @ W.T, dW, dout.sum(axis=0)
    return gradcheck.check_layer(affine_forward, affine_backward, [r(6, 3), r(3, 5), r(5)])


@case("mix: softmax cross-entropy with dscores[:, y] -= 1 and without the / N", "scores", "label index", "rows",
      "constant factor")
def _(bug):
    r = draws(8542)
    y = np.array([1, 3, 0, 1])

    def softmax_loss(scores, y):
        p = softmax(scores)
        return -np.log(p[np.arange(len(y)), y]).mean()

    def softmax_loss_grad(scores, y):
        dscores = softmax(scores)
        if bug:
            dscores[:, y] -= 1.0
            return dscores
        dscores[np.arange(len(y)), y] -= 1.0
        return dscores / len(y)
    return gradcheck.check_function(softmax_loss, softmax_loss_grad, [r(4, 5), y])


@case("mix: batch norm dgamma = mean(dout * x, axis=0), the input for xhat and a mean for the sum", "gamma",
      "input for a computed form", "one over rows", "constant factor")
def _(bug):
    r = draws(8543)

    def batchnorm_forward(x, gamma, beta):
        mu = x.mean(axis=0)
        std = np.sqrt(x.var(axis=0) + NORM_EPS)
        xhat = (x - mu) / std
        return gamma * xhat + beta, (x, xhat, std, gamma)

    def batchnorm_backward(dout, cache):
        x, xhat, std, gamma = cache
        dxhat = dout * gamma
        dx = (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)) / std
        dgamma = (dout * x).mean(axis=0) if bug else (dout * xhat).sum(axis=0)
        return dx, dgamma, dout.sum(axis=0)
    return gradcheck.check_layer(batchnorm_forward, batchnorm_backward,
                                 [1.3 * r(5, 3) + 0.8, 1.0 + 0.2 * r(3), r(3)])


@case("mix: max pool 2x2 stride 2 backward written as average pool's, dout / 4 to every entry", "x", "mask",
      "constant factor")
def _(bug):
    r = draws(8544)
    k = 2

    def maxpool_forward(x):
        win = pool_windows(x, k)
        return win.max(axis=-1), win

    def maxpool_backward(dout, win):
        if bug:
            return unpool_windows(np.repeat(dout[..., None], k * k, axis=-1) / (k * k), k)
        hit = win == win.max(axis=-1, keepdims=True)
        return unpool_windows(hit * dout[..., None], k)
    return gradcheck.check_layer(maxpool_forward, maxpool_backward, [tie_free(r(2, 2, 4, 6), k)])


@case("mix: tanh rnn step with da = dnext_h * next_h and dWh = da.T @ prev_h (H square)", "Wh",
      "activation for its derivative", "transpose", "permuted")
def _(bug):
    r = draws(8545)

    def rnn_step_forward(x, prev_h, Wx, Wh, b):
        next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
        return next_h, (x, prev_h, Wx, Wh, next_h)

    def rnn_step_backward(dnext_h, cache):
        x, prev_h, Wx, Wh, next_h = cache
        da = dnext_h * (next_h if bug else 1 - next_h ** 2)
        dWh = da.T @ prev_h if bug else prev_h.T @ da
        return da @ Wx.T, da @ Wh.T, x.T @ da, dWh, da.sum(axis=0)
    return gradcheck.check_layer(rnn_step_forward, rnn_step_backward,
                                 [r(5, 2), r(5, 4), 0.5 * r(2, 4), 0.5 * r(4, 4), 0.1 * r(4)])


# ===== running ======================================================================================
if __name__ == "__main__":
    main(CASES, __doc__)
