"""A fourteenth held-out set of 45 buggy numpy layers: does the black-box diagnosis name the bug, and does it mislead?

    python benchmarks/heldout_diagnoses_14.py [--verbose]    # the measurement (--verbose: each diagnosis)
    python benchmarks/heldout_diagnoses_14.py --self-check   # every right layer passes, every buggy one fails

Written blind, apart from every other held-out set and from tests/diagnose/ and gradcheck/diagnose/ (set 5
was read for its format only, with benchmarks/heldout_harness.py, docs/diagnoses.md and the table's cause
names): new layers, shapes, names and code, seeds 8401..8445 (one per case), as a student would write the
layers from memory, bugs chosen for being realistic, not for being easy or hard to diagnose, and not used
to tune the table of mistakes. 40 layers have one bug, 5 ("mix") have two at once. The families, 4 cases
each: activations, affine and conv, pooling, normalisation, losses, attention, rnn and lstm, embeddings,
needle ops (compute/gradient functions in needle's style, made into check_vjp calls), models (check_model
on a CS231n-style net with a params dict and regularisation); and mix, 5. Every case is a right layer with
its bug behind a flag, so the right version is checked too.

The labels were written first and blind: each case lists every cause (gradcheck.diagnose.hypotheses names)
whose sentence and scope in docs/diagnoses.md would correctly describe its bug for the variable read (for
a mix, the causes of either bug), decided from the bug and the docs alone, before any diagnosis of these
layers was run; only --self-check (exit codes) was run while writing them. A bug that no cause describes
names none, with a comment saying why: every case here names at least one cause; one mix's second bug
(an rnn step's tanh derivative left out of dprev_h) fits no entry, and its comment says why. One label,
`wrong steps`, is a mistake docs/diagnoses.md tells beside the table (as `kernel flipped`), not a table name.
A diagnosis is
- named: its cause is one of those (for a mix, naming either bug);
- honest: no mistake named, only a count of the right entries (or none);
- misleading: it names a mistake that is not the bug.

Labels reviewed blind against the table of 2026-12-08 (main at ff2a29f, merged in) before measurement,
from the bugs' code and the causes' sentences and scope alone (no diagnosis seen): added "constant factor"
to the attention (d = 16) whose dq forgets the 1/sqrt(d) and to the attention mix (d = 9) with the same
slip (its sentence says 1/c where the truth is c times a matrix product's own gradient as the forward's
scale c missing, which this is; the sqrt(16) embedding already had both); added "permuted" and
"transposed shape" to the needle Summation on a (4, 4) whose out_grad is broadcast along the wrong axis
(on a square input the claim is exactly the truth's transpose). No label removed. The scope changed since
f9dab58 was checked against every case: "one slice of dout"'s window geometry (the overlapping 1-D max
pool's `=` keeps it; the stride-2 conv's windows at i stay `window stride` alone), "output path" yielding to
one mistake inside a product (the lstm's dprev_c = dc is `local gradient factor`'s own example, not
`output path`), and "wrong steps"' dz carried back through a tanh rnn (supports the rnn's dWh with h_t).
The rnn mix's left-out (1 - h**2) still fits no entry.

Measured once, blind, on main at ff2a29f merged with this set (2026-12-08, after the labels' review above): named
43, honest 1, misleading 1 of 45 (the bar of none misleading not met). The misleading case: the mix of a scaled
embedding W[idx] * 2.0 whose backward forgets the scale and counts repeated indices once (labelled "repeated
indices" and "constant factor"), told two mistakes, "twice or half" (a factor 1/2: the scale's own bug, whose
cause the table calls "twice or half", not "constant factor") and then "one slice of dout" (the gradient of
positions 2, 3, 4 of idx alone, the others overwritten: the repeats' last writes, said in a slice's words, not as
repeated indices). Honest: the 1-D max pool, window 3 stride 1, whose backward assigns dx's windows with =. So 43
of the 45 nameable were named. The set is seen from here on: a development set, whose later figures are not
held-out ones.

Label change after measurement (not part of the blind figure above): "twice or half" added to the scaled
embedding's mix, whose forgotten scale 2.0 leaves half the truth, 2 or 1/2 times it being that cause's own
sentence (the blind labels said "constant factor" alone).
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
    """The same array pushed at least `gap` away from 0 (relu's and hinge's kinks)."""
    return np.where(a >= 0, a + gap, a - gap)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax_rows(s):
    shifted = s - np.max(s, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=-1, keepdims=True)


# ===== activations ===================================================================================
family("activations")


@case("tanh backward dout * (1 - x**2), the input where the output belongs", "x", "input for output")
def _(bug):
    r = draws(8401)

    def tanh_forward(x):
        out = np.tanh(x)
        return out, (x, out)

    def tanh_backward(dout, cache):
        x, out = cache
        return dout * (1 - x ** 2) if bug else dout * (1 - out ** 2)
    return gradcheck.check_layer(tanh_forward, tanh_backward, [0.8 * r(4, 5)])


@case("leaky relu (slope 0.1) backward with the slope on the positive side", "x", "sign region")
def _(bug):
    r = draws(8402)

    def leaky_forward(x):
        return np.where(x > 0, x, 0.1 * x), x

    def leaky_backward(dout, x):
        if bug:
            return np.where(x > 0, 0.1 * dout, dout)
        return np.where(x > 0, dout, 0.1 * dout)
    return gradcheck.check_layer(leaky_forward, leaky_backward, [off_zero(r(5, 4))])


@case("softsign x / (1 + |x|) backward dout / (1 + |x|), the square dropped", "x", "derivative form")
def _(bug):
    r = draws(8403)

    def softsign_forward(x):
        return x / (1 + np.abs(x)), x

    def softsign_backward(dout, x):
        denom = 1 + np.abs(x)
        return dout / denom if bug else dout / denom ** 2
    return gradcheck.check_layer(softsign_forward, softsign_backward, [off_zero(r(3, 6), 0.1)])


@case("sigmoid backward recomputing s = sigmoid(out) from the cached output", "x", "output for input")
def _(bug):
    r = draws(8404)

    def sigmoid_forward(x):
        out = sigmoid(x)
        return out, (x, out)

    def sigmoid_backward(dout, cache):
        x, out = cache
        s = sigmoid(out) if bug else out
        return dout * s * (1 - s)
    return gradcheck.check_layer(sigmoid_forward, sigmoid_backward, [r(4, 4)])


# ===== affine, conv ==================================================================================
family("affine, conv")


def affine_forward(x, w, b):
    return x @ w + b, (x, w, b)


@case("affine (6, 4) @ (4, 3) backward dw = dout.T @ x, of shape (3, 4)", "w", "transposed shape")
def _(bug):
    r = draws(8405)

    def affine_backward(dout, cache):
        x, w, b = cache
        dw = dout.T @ x if bug else x.T @ dout
        return dout @ w.T, dw, dout.sum(axis=0)
    return gradcheck.check_layer(affine_forward, affine_backward, [r(6, 4), r(4, 3), r(3)])


@case("affine backward db = dout.mean(axis=0) where the forward adds b to each of 7 rows", "b",
      "one over rows", "constant factor")
def _(bug):
    r = draws(8406)

    def affine_backward(dout, cache):
        x, w, b = cache
        db = dout.mean(axis=0) if bug else dout.sum(axis=0)
        return dout @ w.T, x.T @ dout, db
    return gradcheck.check_layer(affine_forward, affine_backward, [r(7, 5), r(5, 2), r(2)])


@case("conv1d stride 2 (N=2, C=3, L=11, K=3) backward adding dx windows at i, not i * stride", "x",
      "window stride")
def _(bug):
    r = draws(8407)
    stride = 2

    def conv_forward(x, w):
        K = w.shape[2]
        L_out = (x.shape[2] - K) // stride + 1
        out = np.zeros((x.shape[0], w.shape[0], L_out))
        for i in range(L_out):
            out[:, :, i] = np.einsum("nck,fck->nf", x[:, :, i * stride:i * stride + K], w)
        return out, (x, w)

    def conv_backward(dout, cache):
        x, w = cache
        K = w.shape[2]
        dx, dw = np.zeros_like(x), np.zeros_like(w)
        for i in range(dout.shape[2]):
            s = i if bug else i * stride
            dx[:, :, s:s + K] += np.einsum("nf,fck->nck", dout[:, :, i], w)
            dw += np.einsum("nf,nck->fck", dout[:, :, i], x[:, :, i * stride:i * stride + K])
        return dx, dw
    return gradcheck.check_layer(conv_forward, conv_backward, [r(2, 3, 11), r(4, 3, 3)])


@case("square affine (5, 5) backward dx = dout @ w, the w.T forgotten", "x", "untransposed matrix")
def _(bug):
    r = draws(8408)

    def affine_backward(dout, cache):
        x, w, b = cache
        dx = dout @ w if bug else dout @ w.T
        return dx, x.T @ dout, dout.sum(axis=0)
    return gradcheck.check_layer(affine_forward, affine_backward, [r(3, 5), r(5, 5), r(5)])


# ===== pooling =======================================================================================
family("pooling")


@case("2x2 average pool stride 2 backward spreading dout without the / 4", "x", "constant factor")
def _(bug):
    r = draws(8409)

    def avg_forward(x):
        N, C, H, W = x.shape
        return x.reshape(N, C, H // 2, 2, W // 2, 2).mean(axis=(3, 5)), x.shape

    def avg_backward(dout, shape):
        dx = np.repeat(np.repeat(dout, 2, axis=2), 2, axis=3)
        return dx if bug else dx / 4.0
    return gradcheck.check_layer(avg_forward, avg_backward, [r(2, 2, 4, 6)])


@case("1-D max pool window 3 stride 1 (overlapping) backward dx[window] = instead of +=", "x", "one slice of dout")
def _(bug):
    r = draws(8410)
    K = 3

    def maxpool_forward(x):
        L_out = x.shape[1] - K + 1
        out = np.stack([x[:, i:i + K].max(axis=1) for i in range(L_out)], axis=1)
        return out, x

    def maxpool_backward(dout, x):
        dx = np.zeros_like(x)
        rows = np.arange(x.shape[0])
        for i in range(dout.shape[1]):
            j = i + np.argmax(x[:, i:i + K], axis=1)
            if bug:
                dx[rows, j] = dout[:, i]
            else:
                dx[rows, j] += dout[:, i]
        return dx
    return gradcheck.check_layer(maxpool_forward, maxpool_backward, [r(3, 9)])


@case("2x2 max pool backward unravelling the window's argmax as (col, row)", "x", "permuted")
def _(bug):
    r = draws(8411)

    def maxpool_forward(x):
        N, C, H, W = x.shape
        win = x.reshape(N, C, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(N, C, H // 2, W // 2, 4)
        return win.max(axis=-1), x

    def maxpool_backward(dout, x):
        N, C, H, W = x.shape
        dx = np.zeros_like(x)
        for i in range(H // 2):
            for j in range(W // 2):
                window = x[:, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2].reshape(N, C, 4)
                k = np.argmax(window, axis=-1)
                a, b = (k % 2, k // 2) if bug else (k // 2, k % 2)
                for n in range(N):
                    for c in range(C):
                        dx[n, c, 2 * i + a[n, c], 2 * j + b[n, c]] += dout[n, c, i, j]
        return dx
    return gradcheck.check_layer(maxpool_forward, maxpool_backward, [r(2, 2, 4, 4)])


@case("2x2 min pool stride 2 backward routing each window's gradient to its argmax", "x", "mask")
def _(bug):
    r = draws(8412)

    def minpool_forward(x):
        N, H, W = x.shape
        win = x.reshape(N, H // 2, 2, W // 2, 2).transpose(0, 1, 3, 2, 4).reshape(N, H // 2, W // 2, 4)
        return win.min(axis=-1), win

    def minpool_backward(dout, win):
        N, Ho, Wo, _ = win.shape
        pick = np.argmax(win, axis=-1) if bug else np.argmin(win, axis=-1)
        dwin = np.zeros_like(win)
        np.put_along_axis(dwin, pick[..., None], dout[..., None], axis=-1)
        return dwin.reshape(N, Ho, Wo, 2, 2).transpose(0, 1, 3, 2, 4).reshape(N, 2 * Ho, 2 * Wo)
    return gradcheck.check_layer(minpool_forward, minpool_backward, [r(3, 4, 6)])


# ===== normalisation =================================================================================
family("normalisation")


@case("batch norm backward dx = gamma * dout / std, the mean and variance taken as constants", "x", "mean path")
def _(bug):
    r = draws(8413)

    def bn_forward(x, gamma, beta):
        mu, var = x.mean(axis=0), x.var(axis=0)
        std = np.sqrt(var + 1e-5)
        xhat = (x - mu) / std
        return gamma * xhat + beta, (xhat, gamma, std)

    def bn_backward(dout, cache):
        xhat, gamma, std = cache
        dxhat = dout * gamma
        if bug:
            dx = dxhat / std
        else:
            dx = (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)) / std
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
    return gradcheck.check_layer(bn_forward, bn_backward, [r(6, 3), 1 + 0.3 * r(3), r(3)])


@case("layer norm backward taking its means over the batch axis, not the features", "x", "reduction axes")
def _(bug):
    r = draws(8414)

    def ln_forward(x, gamma, beta):
        mu = x.mean(axis=1, keepdims=True)
        std = np.sqrt(x.var(axis=1, keepdims=True) + 1e-5)
        xhat = (x - mu) / std
        return gamma * xhat + beta, (xhat, gamma, std)

    def ln_backward(dout, cache):
        xhat, gamma, std = cache
        g = dout * gamma
        ax = 0 if bug else 1
        dx = (g - g.mean(axis=ax, keepdims=True) - xhat * (g * xhat).mean(axis=ax, keepdims=True)) / std
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
    return gradcheck.check_layer(ln_forward, ln_backward, [r(4, 6), 1 + 0.2 * r(6), r(6)])


@case("RMSNorm dgamma = sum(dout * x) where sum(dout * x / rms) belongs", "gamma", "input for a computed form")
def _(bug):
    r = draws(8415)

    def rms_forward(x, gamma):
        rms = np.sqrt((x ** 2).mean(axis=1, keepdims=True) + 1e-6)
        return gamma * x / rms, (x, gamma, rms)

    def rms_backward(dout, cache):
        x, gamma, rms = cache
        xn = x / rms
        g = dout * gamma
        dx = (g - xn * (g * xn).mean(axis=1, keepdims=True)) / rms
        dgamma = (dout * x).sum(axis=0) if bug else (dout * xn).sum(axis=0)
        return dx, dgamma
    return gradcheck.check_layer(rms_forward, rms_backward, [r(5, 4), 1 + 0.2 * r(4)])


@case("staged batch norm whose dvar forgets the -1/2 of d(var**-1/2)", "x", "statistic path factor")
def _(bug):
    r = draws(8416)
    eps = 1e-5

    def bn_forward(x, gamma, beta):
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        xhat = (x - mu) / np.sqrt(var + eps)
        return gamma * xhat + beta, (x, mu, var, gamma, xhat)

    def bn_backward(dout, cache):
        x, mu, var, gamma, xhat = cache
        N = x.shape[0]
        dxhat = dout * gamma
        half = 1.0 if bug else -0.5
        dvar = np.sum(dxhat * (x - mu), axis=0) * half * (var + eps) ** -1.5
        dmu = -np.sum(dxhat, axis=0) / np.sqrt(var + eps) - 2 * dvar * np.mean(x - mu, axis=0)
        dx = dxhat / np.sqrt(var + eps) + dvar * 2 * (x - mu) / N + dmu / N
        return dx, np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)
    return gradcheck.check_layer(bn_forward, bn_backward, [r(5, 4), 1 + 0.3 * r(4), r(4)])


# ===== losses ========================================================================================
family("losses")


@case("softmax cross-entropy gradient with dscores[:, y] -= 1 for dscores[range(N), y] -= 1", "scores",
      "label index")
def _(bug):
    r = draws(8417)
    y = np.array([1, 0, 3, 1, 2])

    def ce(scores, y):
        p = softmax_rows(scores)
        return -np.mean(np.log(p[np.arange(len(y)), y]))

    def ce_grad(scores, y):
        d = softmax_rows(scores)
        if bug:
            d[:, y] -= 1
        else:
            d[np.arange(len(y)), y] -= 1
        return d / len(y)
    return gradcheck.check_function(ce, ce_grad, [r(5, 4), y])


@case("mean squared error over all entries, gradient (pred - t) / n with the 2 forgotten", "pred",
      "twice or half", "constant factor")
def _(bug):
    r = draws(8418)

    def mse(pred, t):
        return np.mean((pred - t) ** 2)

    def mse_grad(pred, t):
        k = 1.0 if bug else 2.0
        return k * (pred - t) / pred.size
    return gradcheck.check_function(mse, mse_grad, {"pred": r(4, 3), "t": r(4, 3)}, data="t")


@case("multiclass SVM gradient without the -count at the correct class", "scores", "correct class term")
def _(bug):
    r = draws(8419)
    y = np.array([2, 0, 1, 2, 1, 0])

    def svm_margins(scores, y):
        N = len(y)
        correct = scores[np.arange(N), y][:, None]
        m = np.maximum(0.0, scores - correct + 1.0)
        m[np.arange(N), y] = 0.0
        return m

    def svm(scores, y):
        return svm_margins(scores, y).sum() / len(y)

    def svm_grad(scores, y):
        N = len(y)
        d = (svm_margins(scores, y) > 0).astype(float)
        if not bug:
            d[np.arange(N), y] -= d.sum(axis=1)
        return d / N
    s = r(6, 3)
    return gradcheck.check_function(svm, svm_grad, [s, y])


@case("cross-entropy against label-smoothed targets (eps 0.1), gradient (p - onehot) / N", "scores",
      "label smoothing")
def _(bug):
    r = draws(8420)
    y = np.array([0, 2, 1, 2])
    C, eps = 3, 0.1

    def targets(y):
        t = np.full((len(y), C), eps / C)
        t[np.arange(len(y)), y] += 1 - eps
        return t

    def smooth_ce(scores, y):
        logp = np.log(softmax_rows(scores))
        return -np.sum(targets(y) * logp) / len(y)

    def smooth_ce_grad(scores, y):
        p = softmax_rows(scores)
        t = np.eye(C)[y] if bug else targets(y)
        return (p - t) / len(y)
    return gradcheck.check_function(smooth_ce, smooth_ce_grad, [r(4, C), y])


# ===== attention =====================================================================================
family("attention")


def attention_forward(q, k, v):
    """One head: q (Tq, d), k and v (Tk, d) -> softmax(q k^T / sqrt(d)) v."""
    scale = 1.0 / np.sqrt(q.shape[-1])
    A = softmax_rows(q @ k.T * scale)
    return A @ v, (q, k, v, A, scale)


def attention_backward(dout, cache, bugs=()):
    q, k, v, A, scale = cache
    dv = A @ dout if "dv = A @ dout" in bugs else A.T @ dout
    dA = dout @ v.T
    if "unweighted sum" in bugs:
        dS = A * (dA - dA.sum(axis=-1, keepdims=True))
    else:
        dS = A * (dA - (A * dA).sum(axis=-1, keepdims=True))
    dq = dS @ k if "no scale in dq" in bugs else dS @ k * scale
    dk = dS.T @ q * scale
    return dq, dk, dv


@case("attention (4 queries, 4 keys, d=3) backward dv = A @ dout for A.T @ dout", "v", "untransposed matrix")
def _(bug):
    r = draws(8421)
    return gradcheck.check_layer(attention_forward, lambda d, c: attention_backward(d, c, {"dv = A @ dout"} if bug else ()),
                                 [r(4, 3), r(4, 3), r(4, 3)])


@case("attention backward dS = A * (dA - dA.sum(-1)), the sum not weighted by A", "q", "unweighted softmax sum")
def _(bug):
    r = draws(8422)
    return gradcheck.check_layer(attention_forward, lambda d, c: attention_backward(d, c, {"unweighted sum"} if bug else ()),
                                 [r(3, 4), r(5, 4), r(5, 4)])


@case("attention (d=16) backward dq = dS @ k, the 1/sqrt(d) forgotten", "q", "square root of a size",
      "constant factor")
def _(bug):
    r = draws(8423)
    return gradcheck.check_layer(attention_forward, lambda d, c: attention_backward(d, c, {"no scale in dq"} if bug else ()),
                                 [0.4 * r(3, 16), 0.4 * r(4, 16), r(4, 16)])


@case("two-head attention whose backward loops range(H - 1): the last head's dv stays 0", "v", "one slice wrong")
def _(bug):
    r = draws(8424)
    H = 2

    def mha_forward(q, k, v):
        outs, caches = [], []
        for h in range(H):
            o, c = attention_forward(q[h], k[h], v[h])
            outs.append(o)
            caches.append(c)
        return np.stack(outs), caches

    def mha_backward(dout, caches):
        grads = [np.zeros((H,) + caches[0][i].shape) for i in range(3)]
        for h in range(H - 1 if bug else H):
            for g, d in zip(grads, attention_backward(dout[h], caches[h])):
                g[h] = d
        return tuple(grads)
    return gradcheck.check_layer(mha_forward, mha_backward, [r(H, 3, 2), r(H, 4, 2), r(H, 4, 2)])


# ===== rnn, lstm =====================================================================================
family("rnn, lstm")


@case("tanh rnn step backward dz = dout * (1 - h), the square of 1 - h**2 dropped", "x", "derivative form")
def _(bug):
    r = draws(8425)

    def step_forward(x, h0, Wx, Wh, b):
        h = np.tanh(x @ Wx + h0 @ Wh + b)
        return h, (x, h0, Wx, Wh, h)

    def step_backward(dout, cache):
        x, h0, Wx, Wh, h = cache
        dz = dout * (1 - h) if bug else dout * (1 - h ** 2)
        return dz @ Wx.T, dz @ Wh.T, x.T @ dz, h0.T @ dz, dz.sum(axis=0)
    return gradcheck.check_layer(step_forward, step_backward, [r(3, 2), r(3, 4), 0.5 * r(2, 4), 0.5 * r(4, 4), r(4)])


def rnn_forward(x, h0, Wx, Wh):
    """tanh rnn over x (N, T, D) from h0 (N, H) -> hs (N, T, H)."""
    N, T, _ = x.shape
    hs = np.zeros((N, T, h0.shape[1]))
    h = h0
    for t in range(T):
        h = np.tanh(x[:, t] @ Wx + h @ Wh)
        hs[:, t] = h
    return hs, (x, h0, Wx, Wh, hs)


def rnn_backward(dhs, cache, bugs=()):
    x, h0, Wx, Wh, hs = cache
    N, T, _ = x.shape
    dx, dWx, dWh = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh)
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        dz = (dhs[:, t] + dh_next) * (1 - hs[:, t] ** 2)
        prev = h0 if t == 0 else hs[:, t - 1]
        dx[:, t] = dz @ Wx.T
        if "dWx =" in bugs:
            dWx = x[:, t].T @ dz
        else:
            dWx += x[:, t].T @ dz
        dWh += (hs[:, t] if "dWh with h_t" in bugs else prev).T @ dz
        dh_next = dz @ Wh.T
    return dx, dh_next, dWx, dWh


@case("tanh rnn over 4 steps with dWx = x[:, t].T @ dz (= where += belongs)", "Wx", "one slice of dout")
def _(bug):
    r = draws(8426)
    return gradcheck.check_layer(rnn_forward, lambda d, c: rnn_backward(d, c, {"dWx ="} if bug else ()),
                                 [r(2, 4, 3), r(2, 3), 0.5 * r(3, 3), 0.5 * r(3, 3)])


@case("lstm step backward dprev_c = dnext_c, the * f forgotten", "prev_c", "local gradient factor")
def _(bug):
    r = draws(8427)

    def lstm_forward(x, prev_h, prev_c, Wx, Wh):
        H = prev_h.shape[1]
        a = x @ Wx + prev_h @ Wh
        i, f, o, g = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H]), np.tanh(a[:, 3 * H:])
        c = f * prev_c + i * g
        return o * np.tanh(c), c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, c)

    def lstm_backward(dnext_h, dnext_c, cache):
        x, prev_h, prev_c, Wx, Wh, i, f, o, g, c = cache
        tc = np.tanh(c)
        dc = dnext_h * o * (1 - tc ** 2) + dnext_c
        da = np.hstack([dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * tc * o * (1 - o),
                        dc * i * (1 - g ** 2)])
        dprev_c = dc if bug else dc * f
        return da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, prev_h.T @ da
    return gradcheck.check_layer(lstm_forward, lstm_backward,
                                 [r(3, 2), r(3, 3), r(3, 3), 0.5 * r(2, 12), 0.5 * r(3, 12)])


@case("tanh rnn over 3 steps with dWh += hs[:, t].T @ dz (the step's own state, not the previous)", "Wh",
      "wrong steps")
def _(bug):
    r = draws(8428)
    return gradcheck.check_layer(rnn_forward, lambda d, c: rnn_backward(d, c, {"dWh with h_t"} if bug else ()),
                                 [r(3, 3, 2), r(3, 4), 0.5 * r(2, 4), 0.5 * r(4, 4)])


# ===== embeddings ====================================================================================
family("embeddings")


@case("embedding lookup backward dW[idx] += dout, repeated tokens counted once", "W", "repeated indices")
def _(bug):
    r = draws(8429)
    idx = np.array([[1, 4, 1], [0, 4, 2]])

    def embed_forward(W):
        return W[idx], None

    def embed_backward(dout, _):
        dW = np.zeros((6, 3))
        if bug:
            dW[idx] += dout
        else:
            np.add.at(dW, idx, dout)
        return dW
    return gradcheck.check_layer(embed_forward, embed_backward, [r(6, 3)])


@case("token + learned position embedding, dpos = dout[0] for dout.sum(axis=0) over the batch", "P",
      "one slice of dout")
def _(bug):
    r = draws(8430)
    idx = np.array([[2, 0, 3], [1, 1, 4], [3, 2, 0]])

    def embed_forward(E, P):
        return E[idx] + P[None], None

    def embed_backward(dout, _):
        dE = np.zeros((5, 2))
        np.add.at(dE, idx, dout)
        dP = dout[0] if bug else dout.sum(axis=0)
        return dE, dP
    return gradcheck.check_layer(embed_forward, embed_backward, [r(5, 2), r(3, 2)])


@case("transformer embedding W[idx] * sqrt(16) whose backward forgets the sqrt(16)", "W",
      "constant factor", "one over the square root of a size")
def _(bug):
    r = draws(8431)
    idx = np.array([[0, 3], [2, 5], [4, 1]])
    D = 16

    def embed_forward(W):
        return W[idx] * np.sqrt(D), None

    def embed_backward(dout, _):
        dW = np.zeros((6, D))
        np.add.at(dW, idx, dout if bug else dout * np.sqrt(D))
        return dW
    return gradcheck.check_layer(embed_forward, embed_backward, [r(6, D)])


# Not `rows`: 4 is the bags' length (a closure's index), not the batch size.
@case("mean embedding bag (bags of 4) backward adding dout to each row without the / 4", "W",
      "constant factor")
def _(bug):
    r = draws(8432)
    idx = np.array([[0, 2, 5, 1], [3, 3, 4, 0]])

    def bag_forward(W):
        return W[idx].mean(axis=1), None

    def bag_backward(dout, _):
        dW = np.zeros((6, 3))
        share = dout[:, None, :] if bug else dout[:, None, :] / idx.shape[1]
        np.add.at(dW, idx, np.broadcast_to(share, idx.shape + (3,)))
        return dW
    return gradcheck.check_layer(bag_forward, bag_backward, [r(6, 3)])


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


@case("needle PowerScalar a**3, gradient out_grad * n * a**n (the exponent not lowered)", "a",
      "local gradient factor")
def _(bug):
    r = draws(8433)

    def power_compute(a, n):
        return a ** n

    def power_gradient(out_grad, node, n):
        (a,) = node.inputs
        return out_grad * n * a ** (n if bug else n - 1)
    f, vjp = as_vjp(power_compute, power_gradient)
    return gradcheck.check_vjp(f, vjp, [off_zero(r(3, 4), 0.3), 3.0])


@case("needle Exp, gradient out_grad * a where out_grad * exp(a) belongs", "a", "input for output")
def _(bug):
    r = draws(8434)

    def exp_compute(a):
        return np.exp(a)

    def exp_gradient(out_grad, node):
        (a,) = node.inputs
        return out_grad * (a if bug else node.value)
    f, vjp = as_vjp(exp_compute, exp_gradient)
    return gradcheck.check_vjp(f, vjp, [0.7 * r(4, 3)])


# On a square input the claim is the truth's transpose exactly (out_grad along the other axis), which
# `permuted` (entries moved the same way for every dout) and `transposed shape` (of a square's own shape) say.
@case("needle Summation(axes=(1,)) on a (4, 4), gradient broadcast_to(out_grad, shape) without the reshape",
      "a", "broadcast axis", "permuted", "transposed shape")
def _(bug):
    r = draws(8435)

    def sum_compute(a):
        return a.sum(axis=1)

    def sum_gradient(out_grad, node):
        (a,) = node.inputs
        g = out_grad if bug else out_grad.reshape(-1, 1)
        return np.broadcast_to(g, a.shape).copy()
    f, vjp = as_vjp(sum_compute, sum_gradient)
    return gradcheck.check_vjp(f, vjp, [r(4, 4)])


@case("needle MatMul of square (3, 3) matrices, gradient for b a @ out_grad for transpose(a) @ out_grad", "b",
      "untransposed matrix")
def _(bug):
    r = draws(8436)

    def matmul_compute(a, b):
        return a @ b

    def matmul_gradient(out_grad, node):
        a, b = node.inputs
        return out_grad @ b.T, (a if bug else a.T) @ out_grad
    f, vjp = as_vjp(matmul_compute, matmul_gradient, arrays=2)
    return gradcheck.check_vjp(f, vjp, [r(3, 3), r(3, 3)])


# ===== models ========================================================================================
family("models")


class TwoLayerNet:
    """affine - hidden activation - affine - softmax cross-entropy, params in a dict, loss + 0.5 * reg * |W|^2.
    `bugs` names the mistakes in its gradients."""

    def __init__(self, dims, seed, reg, hidden="relu", bugs=()):
        rng = np.random.default_rng(seed)
        d, h, c = dims
        self.params = {"W1": 0.5 * rng.standard_normal((d, h)), "b1": 0.1 * rng.standard_normal(h),
                       "W2": 0.5 * rng.standard_normal((h, c)), "b2": 0.1 * rng.standard_normal(c)}
        self.reg, self.hidden, self.bugs = reg, hidden, set(bugs)

    def loss(self, X, y):
        p = self.params
        N = X.shape[0]
        z1 = X @ p["W1"] + p["b1"]
        a1 = np.maximum(z1, 0) if self.hidden == "relu" else sigmoid(z1)
        probs = softmax_rows(a1 @ p["W2"] + p["b2"])
        loss = -np.log(probs[np.arange(N), y]).mean()
        loss += 0.5 * self.reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        dscores = probs.copy()
        dscores[np.arange(N), y] -= 1
        if "no / N" not in self.bugs:
            dscores /= N
        reg_w = 2 * self.reg if "2 * reg" in self.bugs else self.reg
        grads = {"W2": a1.T @ dscores + reg_w * p["W2"], "b2": dscores.sum(axis=0)}
        da1 = dscores @ p["W2"].T
        if self.hidden == "relu":
            dz1 = da1 if "no relu mask" in self.bugs else da1 * (z1 > 0)
        else:
            dz1 = da1 * a1 if "sigmoid a1" in self.bugs else da1 * a1 * (1 - a1)
        grads["W1"] = X.T @ dz1 + reg_w * p["W1"]
        grads["b1"] = dz1.sum(axis=0)
        return loss, grads


KINK_GAP = 0.02


def clear_batch(net, r, rows, cols):
    """The first batch drawn whose hidden pre-activations all keep KINK_GAP from relu's kink (the same batch for
    the right and the buggy net, both drawn from one seed)."""
    while True:
        X = r(rows, cols)
        if np.all(np.abs(X @ net.params["W1"] + net.params["b1"]) > KINK_GAP):
            return X


@case("two-layer relu net with 0.5 * reg * |W|^2 in the loss and 2 * reg * W in its gradients", 'params["W1"]',
      "regularisation")
def _(bug):
    r = draws(8437)
    net = TwoLayerNet((3, 5, 4), 8437, reg=0.3, bugs={"2 * reg"} if bug else ())
    X = clear_batch(net, r, 6, 3)
    return gradcheck.check_model(net, X, np.array([0, 3, 1, 2, 2, 0]))


@case("two-layer relu net whose mean loss's dscores is never divided by N (regularisation right)",
      'params["W2"]', "data term factor")
def _(bug):
    r = draws(8438)
    net = TwoLayerNet((4, 3, 3), 8438, reg=0.1, bugs={"no / N"} if bug else ())
    X = clear_batch(net, r, 5, 4)
    return gradcheck.check_model(net, X, np.array([1, 0, 2, 2, 1]))


@case("two-layer relu net whose backward drops the relu mask (dz1 = da1)", 'params["W1"]', "mask")
def _(bug):
    r = draws(8439)
    net = TwoLayerNet((4, 6, 3), 8439, reg=0.05, bugs={"no relu mask"} if bug else ())
    X = clear_batch(net, r, 7, 4)
    return gradcheck.check_model(net, X, np.array([0, 1, 2, 0, 1, 2, 0]))


@case("two-layer sigmoid net whose dz1 = da1 * a1, the (1 - a1) forgotten", 'params["W1"]',
      "activation for its derivative", "derivative form")
def _(bug):
    r = draws(8440)
    net = TwoLayerNet((3, 4, 3), 8440, reg=0.1, hidden="sigmoid", bugs={"sigmoid a1"} if bug else ())
    return gradcheck.check_model(net, r(5, 3), np.array([2, 1, 0, 0, 1]))


# ===== mix ===========================================================================================
family("mix")


@case("affine + relu fused backward: dw = x.T @ dout without the relu mask, and / N", "w",
      "mask", "one over rows", "constant factor")
def _(bug):
    r = draws(8441)

    def affine_relu_forward(x, w, b):
        z = x @ w + b
        return np.maximum(z, 0), (x, w, z)

    def affine_relu_backward(dout, cache):
        x, w, z = cache
        dz = dout * (z > 0)
        dw = x.T @ dout / x.shape[0] if bug else x.T @ dz
        return dz @ w.T, dw, dz.sum(axis=0)
    x, w, b = r(6, 3), r(3, 4), r(4)
    assert np.all(np.abs(x @ w + b) > 0.02)
    return gradcheck.check_layer(affine_relu_forward, affine_relu_backward, [x, w, b])


@case("softmax cross-entropy gradient with dscores[:, y] -= 1 and no / N", "scores", "label index", "rows")
def _(bug):
    r = draws(8442)
    y = np.array([2, 2, 0, 1])

    def ce(scores, y):
        p = softmax_rows(scores)
        return -np.mean(np.log(p[np.arange(len(y)), y]))

    def ce_grad(scores, y):
        d = softmax_rows(scores)
        if bug:
            d[:, y] -= 1
            return d
        d[np.arange(len(y)), y] -= 1
        return d / len(y)
    return gradcheck.check_function(ce, ce_grad, [r(4, 3), y])


@case("attention (d=9) backward with dS's sum unweighted by A and dq = dS @ k without 1/sqrt(d)", "q",
      "unweighted softmax sum", "square root of a size", "constant factor")
def _(bug):
    r = draws(8443)
    bugs = {"unweighted sum", "no scale in dq"} if bug else ()
    return gradcheck.check_layer(attention_forward, lambda d, c: attention_backward(d, c, bugs),
                                 [0.5 * r(4, 9), 0.5 * r(3, 9), r(3, 9)])


# The second bug, the tanh's local gradient (1 - h**2) left out of dz, is no entry's: `dout missing` is the
# local gradient alone without dout, `derivative form` a derivative with one node changed, not removed.
@case("tanh rnn step dprev_h = dout @ Wh: the (1 - h**2) left out and Wh untransposed", "prev_h",
      "untransposed matrix")
def _(bug):
    r = draws(8444)

    def step_forward(x, prev_h, Wx, Wh):
        h = np.tanh(x @ Wx + prev_h @ Wh)
        return h, (x, prev_h, Wx, Wh, h)

    def step_backward(dout, cache):
        x, prev_h, Wx, Wh, h = cache
        dz = dout * (1 - h ** 2)
        dprev_h = dout @ Wh if bug else dz @ Wh.T
        return dz @ Wx.T, dprev_h, x.T @ dz, prev_h.T @ dz
    return gradcheck.check_layer(step_forward, step_backward, [r(2, 3), r(2, 4), 0.5 * r(3, 4), 0.5 * r(4, 4)])


@case("scaled embedding W[idx] * 2.0 backward dW[idx] += dout: repeats counted once, the scale forgotten", "W",
      "repeated indices", "constant factor", "twice or half")  # "twice or half" added after measurement
def _(bug):
    r = draws(8445)
    idx = np.array([3, 0, 3, 2, 0])
    scale = 2.0

    def embed_forward(W):
        return W[idx] * scale, None

    def embed_backward(dout, _):
        dW = np.zeros((4, 3))
        if bug:
            dW[idx] += dout
        else:
            np.add.at(dW, idx, dout * scale)
        return dW
    return gradcheck.check_layer(embed_forward, embed_backward, [r(4, 3)])


# ===== running ======================================================================================
if __name__ == "__main__":
    main(CASES, __doc__)
