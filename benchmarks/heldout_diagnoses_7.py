"""A seventh held-out set of 45 buggy numpy layers: does the black-box diagnosis name the bug, and does it mislead?

    python benchmarks/heldout_diagnoses_7.py [--verbose]    # the measurement (--verbose: each diagnosis)
    python benchmarks/heldout_diagnoses_7.py --self-check   # every right layer passes, every buggy one fails

Written blind and apart from the other held-out sets and from tests/diagnose/: benchmarks/heldout_diagnoses_5.py
was read for its format only, no other set was read, and its layers, code, shapes, variable names and seeds
(7701..7745, one per case) are its own. The layers are written as a student would write them from memory,
and the set was not used to tune the table of mistakes. While it was written only --self-check (exit codes:
every right layer passes, every buggy one is a mismatch on its variable) was run; no diagnosis of these
layers was run, printed or read.

40 layers have one bug, 5 ("mix") have two at once. The families: activations 4, affine and conv 4,
pooling 4, normalisation 4, losses 4, attention 4, rnn and lstm 4, embeddings 4, needle ops 4
(compute/gradient functions in needle's style, made into check_vjp calls), models 4 (check_model, a
CS231n-style net with a params dict, model.loss(X, y) -> (loss, grads) and regularisation) and mix 5.
Every case is a right layer with its bug behind a flag, so the right version is checked too.

The labels were written first and blind: each case lists every cause (gradcheck.diagnose.hypotheses
names, and "kernel flipped") whose sentence would correctly describe its bug for its variable, decided
from the bug's nature and the table's names, sentences and docs/diagnoses.md alone; for a mix, the causes
of either bug. 2 cases are bugs that no cause of the table describes, and name none (each says so). A
diagnosis is
- named: its cause is one of those (for a mix, naming either bug);
- honest: no mistake named, only a count of the right entries (or none);
- misleading: it names a mistake that is not the bug.

Labels reviewed blind against the table of 2026-12-07 (main at 4c4a15d) before measurement, from the bugs'
code and the causes' sentences and scope alone (only --self-check run; no diagnosis seen): added "derivative
form" to the ELU whose negative side is dout * out for dout * (out + alpha) (an elu of the catalogue, its alpha
read off the values, whose written derivative out + alpha has its term dropped: the entry's own example), and
"output path" to the lstm step with 1 - next_c**2 for Wh (the wrong derivative sits on next_h's path into
next_c only: right for next_c's dout alone, wrong for next_h's). No label removed. Not added: "derivative
form" to hard tanh's clip at +-1.5 without its upper side (a mask, the mask entry's own example; and no
catalogued activation, whose hardtanh clips at 1), to softplus with sharpness beta (a factor beta, which the
factor entries name; log(1 + exp(beta x)) / beta is no catalogued softplus), to needle ReLU (a relu is no
catalogued activation) or to the two-layer nets' sigmoid slips (the activation is a hidden layer's under a
loss, not the layer's output: outside that entry's scope); "lookup index" to the padded embedding (its
weights, idx != 0, are computed, not an input of idx's shape: the entry's "without the weights" is a
weighted bag's; "mask" says it) or to the embedding that forgets its sqrt(d) (a constant, no weight per
position); "correct class term" to the cross-entropy that forgets its label smoothing (the claim differs from
the truth at every entry, by 0.02/N off the label, not only at (i, y[i])); "carry missing" and "wrong steps"
to the tanh rnn that never visits step 0 (the carry and each step's pairing are right; only step 0 is left
at 0, "one slice wrong"). 1 case now names no cause: the cross-entropy without its label smoothing.

Measured once, blind, on main at 65e0c23 (2026-12-07, after the labels' review above): named 35, honest 8,
misleading 2 of 45. The 1 case that names no cause is among the honest, so 35 of the 44 nameable were named.
Misleading: two-head attention with its last head left at 0, told "one slice of dout" (an = where += belongs)
where the labels ask for "one slice wrong", and needle Summation's out_grad broadcast without its reshape on
a square (3, 3), told "transpose" where the labels ask for "broadcast axis". Honest besides the label
smoothing: the depthwise conv's reversed kernel, the overlapping 1-D max pool assigned, the sum pool placed
at 2 * i, the reshaped max-pool mask not transposed back, the NLL with its softmax over the wrong axis, the
embedding's forgotten sqrt(16) (0.25 = 1/N = 1/sqrt(16)) and the mean bag's repeated tokens. The set is seen
from here on: a development set, whose later figures are not held-out ones.

Label added after the measurement, with the cause itself: "label smoothing" (added to the table on
2026-12-07, a classifier's loss against smoothed targets whose backward uses the one-hot ones) to the
cross-entropy without its label smoothing, the bug that cause's sentence says; no other label changed.
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


def away_from(a: np.ndarray, kink: float = 0.0, gap: float = 0.2) -> np.ndarray:
    """The same array pushed at least `gap` away from `kink` (a relu's, a clip's or a mask's edge)."""
    return np.where(a >= kink, a + gap, a - gap)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(s, axis=-1):
    e = np.exp(s - np.max(s, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


# ===== activations ===================================================================================
family("activations")


@case("ELU (alpha 1.3) backward dout * out on the negative side, the + alpha forgotten", "x", "derivative form")
def _(bug):
    r = draws(7701)
    alpha = 1.3

    def elu_forward(x):
        out = np.where(x > 0, x, alpha * (np.exp(x) - 1.0))
        return out, (x, out)

    def elu_backward(dout, cache):
        x, out = cache
        neg = out if bug else out + alpha
        return dout * np.where(x > 0, 1.0, neg)
    return gradcheck.check_layer(elu_forward, elu_backward, [away_from(1.2 * r(5, 3), gap=0.15)])


@case("softplus with sharpness beta, log(1 + exp(beta x)) / beta, backward dout * beta * sigmoid(beta x)", "x",
      "data number", "constant factor")
def _(bug):
    r = draws(7702)

    def softplus_forward(x, beta):
        return np.log1p(np.exp(beta * x)) / beta, (x, beta)

    def softplus_backward(dout, cache):
        x, beta = cache
        dx = dout * sigmoid(beta * x)
        return dx * beta if bug else dx
    return gradcheck.check_layer(softplus_forward, softplus_backward, [r(3, 7), 1.7])


@case("PReLU with a slope per feature, da = sum(dout * x) over the batch without the x <= 0 mask", "a",
      "input for a computed form")
def _(bug):
    r = draws(7703)

    def prelu_forward(x, a):
        return np.where(x > 0, x, a * x), (x, a)

    def prelu_backward(dout, cache):
        x, a = cache
        neg = x <= 0
        dx = np.where(neg, a * dout, dout)
        da = (dout * x).sum(axis=0) if bug else (dout * x * neg).sum(axis=0)
        return dx, da
    return gradcheck.check_layer(prelu_forward, prelu_backward, [away_from(r(7, 3)), 0.1 + 0.1 * np.abs(r(3))])


@case("hard tanh clip(x, -1.5, 1.5) backward masked by x > -1.5 only, the upper side forgotten", "x", "mask")
def _(bug):
    r = draws(7704)
    lo, hi = -1.5, 1.5

    def hardtanh_forward(x):
        return np.clip(x, lo, hi), x

    def hardtanh_backward(dout, x):
        inside = x > lo if bug else (x > lo) & (x < hi)
        return dout * inside
    x = away_from(away_from(2.2 * r(4, 5), lo, 0.1), hi, 0.1)
    return gradcheck.check_layer(hardtanh_forward, hardtanh_backward, [x])


# ===== affine, conv ==================================================================================
family("affine, conv")


@case("linear layer in torch's layout x @ W.T + b, W (M, D), with dW = x.T @ dout of shape (D, M)", "W",
      "transposed shape")
def _(bug):
    r = draws(7705)

    def linear_forward(x, W, b):
        return x @ W.T + b, (x, W)

    def linear_backward(dout, cache):
        x, W = cache
        dW = x.T @ dout if bug else dout.T @ x
        return dout @ W, dW, dout.sum(axis=0)
    return gradcheck.check_layer(linear_forward, linear_backward, [r(6, 4), r(3, 4), r(3)])


@case("depthwise conv1d (a kernel per channel) whose dx is built from the reversed kernel", "x", "kernel flipped")
def _(bug):
    r = draws(7706)

    def depthwise_forward(x, w):
        K = w.shape[1]
        L_out = x.shape[2] - K + 1
        out = np.stack([(x[:, :, i:i + K] * w[None]).sum(axis=2) for i in range(L_out)], axis=2)
        return out, (x, w)

    def depthwise_backward(dout, cache):
        x, w = cache
        K = w.shape[1]
        kernel = w[:, ::-1] if bug else w
        dx, dw = np.zeros_like(x), np.zeros_like(w)
        for i in range(dout.shape[2]):
            g = dout[:, :, i, None]  # (N, C, 1)
            dx[:, :, i:i + K] += g * kernel[None]
            dw += (g * x[:, :, i:i + K]).sum(axis=0)
        return dx, dw
    return gradcheck.check_layer(depthwise_forward, depthwise_backward, [r(2, 3, 8), r(3, 3)])


@case("batched matmul a @ m, a (2, 3, 3), m (2, 3, 4), dm = a @ dout without swapping a's last axes", "m",
      "untransposed matrix")
def _(bug):
    r = draws(7707)

    def bmm_forward(a, m):
        return a @ m, (a, m)

    def bmm_backward(dout, cache):
        a, m = cache
        dm = a @ dout if bug else np.swapaxes(a, 1, 2) @ dout
        return dout @ np.swapaxes(m, 1, 2), dm
    return gradcheck.check_layer(bmm_forward, bmm_backward, [r(2, 3, 3), r(2, 3, 4)])


@case("pointwise (1x1) conv2d with bias, db = dout.sum(axis=(0, 2)), the width axis left", "b",
      "batch axis not summed")
def _(bug):
    r = draws(7708)

    def pointwise_forward(x, w, b):
        return np.einsum("nchw,fc->nfhw", x, w) + b[None, :, None, None], (x, w)

    def pointwise_backward(dout, cache):
        x, w = cache
        db = dout.sum(axis=(0, 2)) if bug else dout.sum(axis=(0, 2, 3))
        return np.einsum("nfhw,fc->nchw", dout, w), np.einsum("nfhw,nchw->fc", dout, x), db
    return gradcheck.check_layer(pointwise_forward, pointwise_backward, [r(2, 3, 2, 3), r(4, 3), r(4)])


# ===== pooling =======================================================================================
family("pooling")


@case("average pool with a 2 x 3 window, stride 2 x 3, backward spreading dout without the / 6", "x",
      "constant factor")
def _(bug):
    r = draws(7709)
    ph, pw = 2, 3

    def avgpool_forward(x):
        N, C, H, W = x.shape
        return x.reshape(N, C, H // ph, ph, W // pw, pw).mean(axis=(3, 5)), x.shape

    def avgpool_backward(dout, shape):
        spread = np.repeat(np.repeat(dout, ph, axis=2), pw, axis=3)
        return spread if bug else spread / (ph * pw)
    return gradcheck.check_layer(avgpool_forward, avgpool_backward, [r(2, 2, 4, 6)])


@case("1-D max pool, window 3, stride 1, backward dx[argmax] = dout (assigned, overlapping windows lost)", "x",
      "one slice of dout")
def _(bug):
    r = draws(7710)
    K = 3

    def maxpool1d_forward(x):
        L_out = x.shape[2] - K + 1
        windows = np.stack([x[:, :, i:i + K] for i in range(L_out)], axis=2)  # (N, C, L_out, K)
        return windows.max(axis=3), (x.shape, windows.argmax(axis=3))

    def maxpool1d_backward(dout, cache):
        shape, arg = cache
        dx = np.zeros(shape)
        N, C, L_out = dout.shape
        for n in range(N):
            for c in range(C):
                for i in range(L_out):
                    j = i + arg[n, c, i]
                    if bug:
                        dx[n, c, j] = dout[n, c, i]
                    else:
                        dx[n, c, j] += dout[n, c, i]
        return dx
    return gradcheck.check_layer(maxpool1d_forward, maxpool1d_backward, [r(2, 2, 7)])


@case("1-D sum pool, window 3, stride 2, backward adding each window's dout at i for 2 * i", "x", "window stride")
def _(bug):
    r = draws(7711)
    K, S = 3, 2

    def sumpool_forward(x):
        L_out = (x.shape[2] - K) // S + 1
        return np.stack([x[:, :, S * i:S * i + K].sum(axis=2) for i in range(L_out)], axis=2), x.shape

    def sumpool_backward(dout, shape):
        dx = np.zeros(shape)
        for i in range(dout.shape[2]):
            start = i if bug else S * i
            dx[:, :, start:start + K] += dout[:, :, i, None]
        return dx
    return gradcheck.check_layer(sumpool_forward, sumpool_backward, [r(3, 2, 9)])


@case("2 x 2 max pool by reshape and transpose, backward reshaping the (.., 2, 2) mask without transposing back",
      "x", "permuted")
def _(bug):
    r = draws(7712)

    def blocks(x):
        N, C, H, W = x.shape
        return x.reshape(N, C, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5)  # (N, C, H/2, W/2, 2, 2)

    def maxpool_forward(x):
        b = blocks(x)
        out = b.max(axis=(4, 5))
        return out, (x.shape, b == out[..., None, None])

    def maxpool_backward(dout, cache):
        shape, mask = cache
        d = mask * dout[..., None, None]
        if bug:
            return d.reshape(shape)
        return d.transpose(0, 1, 2, 4, 3, 5).reshape(shape)
    return gradcheck.check_layer(maxpool_forward, maxpool_backward, [r(2, 2, 4, 6)])


# ===== normalisation =================================================================================
family("normalisation")


def layernorm_backward_sums(dxhat, xhat, inv, axis):
    """A layer norm's dx from dxhat, with its two means over `axis`."""
    return inv * (dxhat - dxhat.mean(axis=axis, keepdims=True)
                  - xhat * (dxhat * xhat).mean(axis=axis, keepdims=True))


@case("layer norm over 4 features of 5 rows, dx with its means over the batch axis (copied from batch norm)", "x",
      "reduction axes")
def _(bug):
    r = draws(7713)
    eps = 1e-5

    def layernorm_forward(x, gamma, beta):
        mu = x.mean(axis=1, keepdims=True)
        inv = 1.0 / np.sqrt(x.var(axis=1, keepdims=True) + eps)
        xhat = (x - mu) * inv
        return gamma * xhat + beta, (xhat, inv, gamma)

    def layernorm_backward(dout, cache):
        xhat, inv, gamma = cache
        dx = layernorm_backward_sums(dout * gamma, xhat, inv, 0 if bug else 1)
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
    return gradcheck.check_layer(layernorm_forward, layernorm_backward, [r(5, 4), 1.0 + 0.3 * r(4), r(4)])


@case("batch norm (8 rows, 3 features) whose dxhat is dout, the gamma forgotten", "x", "local gradient factor")
def _(bug):
    r = draws(7714)
    eps = 1e-5

    def batchnorm_forward(x, gamma, beta):
        mu = x.mean(axis=0)
        inv = 1.0 / np.sqrt(x.var(axis=0) + eps)
        xhat = (x - mu) * inv
        return gamma * xhat + beta, (xhat, inv, gamma)

    def batchnorm_backward(dout, cache):
        xhat, inv, gamma = cache
        dxhat = dout if bug else dout * gamma
        dx = layernorm_backward_sums(dxhat, xhat, inv, 0)
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
    return gradcheck.check_layer(batchnorm_forward, batchnorm_backward,
                                 [r(8, 3), np.array([1.8, 0.6, -1.3]), r(3)])


@case("instance norm over (H, W) with a gain per channel, dgamma summed over axes (0, 2) only", "gamma",
      "batch axis not summed")
def _(bug):
    r = draws(7715)
    eps = 1e-5

    def instnorm_forward(x, gamma):
        mu = x.mean(axis=(2, 3), keepdims=True)
        inv = 1.0 / np.sqrt(x.var(axis=(2, 3), keepdims=True) + eps)
        xhat = (x - mu) * inv
        return gamma[None, :, None, None] * xhat, (xhat, inv, gamma)

    def instnorm_backward(dout, cache):
        xhat, inv, gamma = cache
        dxhat = dout * gamma[None, :, None, None]
        M = xhat.shape[2] * xhat.shape[3]
        dx = inv * (dxhat - dxhat.sum(axis=(2, 3), keepdims=True) / M
                    - xhat * (dxhat * xhat).sum(axis=(2, 3), keepdims=True) / M)
        dgamma = (dout * xhat).sum(axis=(0, 2)) if bug else (dout * xhat).sum(axis=(0, 2, 3))
        return dx, dgamma
    return gradcheck.check_layer(instnorm_forward, instnorm_backward, [r(2, 3, 2, 4), 1.0 + 0.4 * r(3)])


@case("RMSNorm over 6 features of 3 rows, dx = dout * g / rms with the rms taken as a constant", "x", "mean path")
def _(bug):
    r = draws(7716)
    eps = 1e-6

    def rmsnorm_forward(x, g):
        rms = np.sqrt((x * x).mean(axis=1, keepdims=True) + eps)
        return x / rms * g, (x, rms, g)

    def rmsnorm_backward(dout, cache):
        x, rms, g = cache
        dy = dout * g
        dx = dy / rms
        if not bug:
            dx = dx - x * (dy * x).mean(axis=1, keepdims=True) / rms ** 3
        return dx, (dout * x / rms).sum(axis=0)
    return gradcheck.check_layer(rmsnorm_forward, rmsnorm_backward, [r(3, 6), 1.0 + 0.3 * r(6)])


# ===== losses ========================================================================================
family("losses")


@case("KL divergence from soft targets to softmax(s), summed over classes, mean over 6 rows, gradient without / N",
      "s", "rows", "constant factor")
def _(bug):
    r = draws(7717)
    q = softmax(r(6, 4))

    def kl(s, q):
        logp = s - s.max(axis=1, keepdims=True)
        logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))
        return (q * (np.log(q) - logp)).sum() / len(s)

    def kl_grad(s, q):
        d = softmax(s) - q
        return d if bug else d / len(s)
    return gradcheck.check_function(kl, kl_grad, {"s": r(6, 4), "q": q}, data="q")


@case("per-sample weighted squared error sum(w * (pred - t)**2) / (2N), gradient (pred - t) / N without w", "pred",
      "local gradient factor")
def _(bug):
    r = draws(7718)
    w = 0.5 + np.abs(r(5, 1)) * np.ones((1, 2))
    t = r(5, 2)

    def weighted_mse(pred, t, w):
        return np.sum(w * (pred - t) ** 2) / (2 * len(pred))

    def weighted_mse_grad(pred, t, w):
        d = (pred - t) / len(pred)
        return d if bug else w * d
    return gradcheck.check_function(weighted_mse, weighted_mse_grad, {"pred": r(5, 2), "t": t, "w": w},
                                    data=("t", "w"))


@case("softmax cross-entropy with label smoothing 0.1, gradient (p - onehot) / N, the smoothing forgotten", "s",
      "label smoothing")
# no entry fitted when the set was written; "label smoothing" was added to the table after its measurement
def _(bug):
    r = draws(7719)
    y = np.array([2, 0, 4, 1, 1, 3, 0])
    C, smooth = 5, 0.1

    def targets(y):
        return (1 - smooth) * np.eye(C)[y] + smooth / C

    def smoothed_ce(s, y):
        logp = np.log(softmax(s))
        return -(targets(y) * logp).sum() / len(y)

    def smoothed_ce_grad(s, y):
        q = np.eye(C)[y] if bug else targets(y)
        return (softmax(s) - q) / len(y)
    return gradcheck.check_function(smoothed_ce, smoothed_ce_grad, [r(7, 5), y])


@case("negative log-likelihood with classes on axis 0, scores (C, N), gradient from a softmax over axis 1", "s",
      "reduction axes")
def _(bug):
    r = draws(7720)
    y = np.array([1, 3, 0, 0, 2, 1])

    def nll_columns(s, y):
        logp = np.log(softmax(s, axis=0))
        return -logp[y, np.arange(s.shape[1])].mean()

    def nll_columns_grad(s, y):
        p = softmax(s, axis=1 if bug else 0)
        p[y, np.arange(s.shape[1])] -= 1.0
        return p / s.shape[1]
    return gradcheck.check_function(nll_columns, nll_columns_grad, [r(4, 6), y])


# ===== attention =====================================================================================
family("attention")


def attention_forward(q, k, v, scale):
    """Single-head attention over the last two axes: softmax(q @ k.T * scale) @ v."""
    A = softmax(q @ np.swapaxes(k, -1, -2) * scale)
    return A @ v, A


@case("two-head attention, q (T, H, d) per head, backward loop over range(H - 1): the last head stays 0", "q",
      "one slice wrong")
def _(bug):
    r = draws(7721)

    def mha_forward(q, k, v):
        H = q.shape[1]
        outs, As = [], []
        for h in range(H):
            o, A = attention_forward(q[:, h], k[:, h], v[:, h], 1.0 / np.sqrt(q.shape[2]))
            outs.append(o)
            As.append(A)
        return np.stack(outs, axis=1), (q, k, v, As)

    def mha_backward(dout, cache):
        q, k, v, As = cache
        c = 1.0 / np.sqrt(q.shape[2])
        dq, dk, dv = np.zeros_like(q), np.zeros_like(k), np.zeros_like(v)
        heads = q.shape[1] - 1 if bug else q.shape[1]
        for h in range(heads):
            A, g = As[h], dout[:, h]
            dA = g @ v[:, h].T
            dS = A * (dA - (A * dA).sum(axis=1, keepdims=True)) * c
            dq[:, h], dk[:, h], dv[:, h] = dS @ k[:, h], dS.T @ q[:, h], A.T @ g
        return dq, dk, dv
    return gradcheck.check_layer(mha_forward, mha_backward, [r(4, 2, 3), r(5, 2, 3), r(5, 2, 2)])


@case("attention with d = 16, dk = dS.T @ q * scale where dS already carries the scale", "k",
      "one over the square root of a size", "constant factor")
def _(bug):
    r = draws(7722)

    def sdpa_forward(q, k, v):
        scale = 1.0 / np.sqrt(q.shape[1])
        out, A = attention_forward(q, k, v, scale)
        return out, (q, k, v, A, scale)

    def sdpa_backward(dout, cache):
        q, k, v, A, scale = cache
        dA = dout @ v.T
        dS = A * (dA - (A * dA).sum(axis=1, keepdims=True)) * scale
        dk = dS.T @ q
        return dS @ k, dk * scale if bug else dk, A.T @ dout
    return gradcheck.check_layer(sdpa_forward, sdpa_backward, [0.5 * r(3, 16), 0.5 * r(4, 16), r(4, 2)])


@case("cross-attention, softmax backward dS = A * (dA - sum(A * dA)) with the sum over queries (axis 0)", "q",
      "reduction axes")
def _(bug):
    r = draws(7723)

    def cross_forward(q, k, v):
        scale = 1.0 / np.sqrt(q.shape[1])
        out, A = attention_forward(q, k, v, scale)
        return out, (q, k, v, A, scale)

    def cross_backward(dout, cache):
        q, k, v, A, scale = cache
        dA = dout @ v.T
        dS = A * (dA - (A * dA).sum(axis=0 if bug else 1, keepdims=True)) * scale
        return dS @ k, dS.T @ q, A.T @ dout
    return gradcheck.check_layer(cross_forward, cross_backward, [r(5, 3), r(3, 3), r(3, 4)])


@case("linear attention (q @ k.T) @ v / Tk over Tk = 5 keys, dq without the / Tk", "q", "rows", "constant factor")
def _(bug):
    r = draws(7724)

    def linattn_forward(q, k, v):
        return (q @ k.T) @ v / len(k), (q, k, v)

    def linattn_backward(dout, cache):
        q, k, v = cache
        Tk = len(k)
        dS = dout @ v.T / Tk
        dq = dout @ v.T @ k if bug else dS @ k
        return dq, dS.T @ q, (q @ k.T).T @ dout / Tk
    return gradcheck.check_layer(linattn_forward, linattn_backward, [r(3, 4), r(5, 4), r(5, 2)])


# ===== rnn, lstm =====================================================================================
family("rnn, lstm")


def relu_rnn_step_forward(x, prev_h, Wx, Wh, b):
    z = x @ Wx + prev_h @ Wh + b
    next_h = np.maximum(0.0, z)
    return next_h, (x, prev_h, Wx, Wh, z, next_h)


def relu_rnn_step_backward(dnext_h, cache, bugs=()):
    x, prev_h, Wx, Wh, z, next_h = cache
    # the buggy mask reads the output: next_h >= 0 holds everywhere, so nothing is masked
    dz = dnext_h * (next_h >= 0) if "mask from next_h" in bugs else dnext_h * (z > 0)
    dprev_h = dz @ Wh if "Wh untransposed" in bugs else dz @ Wh.T
    return dz @ Wx.T, dprev_h, x.T @ dz, prev_h.T @ dz, dz.sum(axis=0)


def relu_rnn_inputs(r, N, D, H):
    """Inputs whose pre-activations stay clear of relu's kink."""
    x, h, Wx, Wh, b = r(N, D), r(N, H), 0.6 * r(D, H), 0.6 * r(H, H), 0.2 * r(H)
    z = x @ Wx + h @ Wh + b
    assert np.all(np.abs(z) > 0.02)
    return [x, h, Wx, Wh, b]


@case("relu rnn step whose mask is next_h >= 0 (the output, always true) for z > 0", "Wx", "mask")
def _(bug):
    r = draws(7725)
    return gradcheck.check_layer(relu_rnn_step_forward,
                                 lambda d, c: relu_rnn_step_backward(d, c, {"mask from next_h"} if bug else ()),
                                 relu_rnn_inputs(r, 6, 2, 3))


@case("tanh rnn over 4 steps, backward loop range(T - 1, 0, -1): step 0 never visited", "x", "one slice wrong")
def _(bug):
    r = draws(7726)

    def rnn_forward(x, h0, Wx, Wh):
        hs = [h0]
        for t in range(x.shape[1]):
            hs.append(np.tanh(x[:, t] @ Wx + hs[-1] @ Wh))
        return np.stack(hs[1:], axis=1), (x, hs, Wx, Wh)

    def rnn_backward(dhs, cache):
        x, hs, Wx, Wh = cache
        T = x.shape[1]
        dx, dWx, dWh = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh)
        dh = np.zeros_like(hs[0])
        for t in range(T - 1, 0 if bug else -1, -1):
            da = (dhs[:, t] + dh) * (1.0 - hs[t + 1] ** 2)
            dx[:, t] = da @ Wx.T
            dWx += x[:, t].T @ da
            dWh += hs[t].T @ da
            dh = da @ Wh.T
        return dx, dh, dWx, dWh
    return gradcheck.check_layer(rnn_forward, rnn_backward, [r(2, 4, 3), r(2, 2), 0.5 * r(3, 2), 0.5 * r(2, 2)])


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh):
    """Gates in the order i, f, o, g along the 4H columns."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh
    i, f, o = (sigmoid(a[:, k * H:(k + 1) * H]) for k in range(3))
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)


def lstm_step_backward(dnext_h, dnext_c, cache, bugs=()):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tc = np.tanh(next_c)
    local = 1.0 - next_c ** 2 if "1 - c**2" in bugs else 1.0 - tc ** 2
    dc = dnext_c + dnext_h * o * local
    di, df, do, dg = dc * g, dc * prev_c, dnext_h * tc, dc * i
    parts = [di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)]
    if "o, g swapped" in bugs:
        parts = [parts[0], parts[1], parts[3], parts[2]]
    da = np.concatenate(parts, axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da


@case("lstm step whose next_c path uses 1 - next_c**2 for 1 - tanh(next_c)**2", "Wh", "input for output",
      "output path")
def _(bug):
    r = draws(7727)
    D, H = 3, 2
    return gradcheck.check_layer(lstm_step_forward,
                                 lambda dh, dc, c: lstm_step_backward(dh, dc, c, {"1 - c**2"} if bug else ()),
                                 [r(4, D), r(4, H), r(4, H), 0.5 * r(D, 4 * H), 0.5 * r(H, 4 * H)])


@case("lstm step (gates i, f, o, g) whose backward concatenates da as [di, df, dg, do]", "Wx", "permuted")
def _(bug):
    r = draws(7728)
    D, H = 2, 3
    return gradcheck.check_layer(lstm_step_forward,
                                 lambda dh, dc, c: lstm_step_backward(dh, dc, c, {"o, g swapped"} if bug else ()),
                                 [r(3, D), r(3, H), r(3, H), 0.5 * r(D, 4 * H), 0.5 * r(H, 4 * H)])


# ===== embeddings ====================================================================================
family("embeddings")


@case("token plus learned positional embedding, dP = dout.mean(axis=0) over the batch for the sum", "P",
      "one over rows", "constant factor")
def _(bug):
    r = draws(7729)
    idx = np.array([[3, 1, 0], [2, 2, 4], [0, 4, 1], [1, 3, 3]])

    def posemb_forward(W, P, idx):
        return W[idx] + P[None], (W.shape, idx)

    def posemb_backward(dout, cache):
        shape, idx = cache
        dW = np.zeros(shape)
        np.add.at(dW, idx, dout)
        dP = dout.mean(axis=0) if bug else dout.sum(axis=0)
        return dW, dP
    return gradcheck.check_layer(posemb_forward, posemb_backward, [r(5, 2), r(3, 2), idx])


@case("embedding scaled by sqrt(d), d = 16, whose dW forgets the scale", "W", "constant factor")
# not "one over the square root of a size": its sentence blames a 1/sqrt(d) applied twice or where the forward
# has none, while here the forward's own sqrt(d) is forgotten
def _(bug):
    r = draws(7730)
    idx = np.array([0, 2, 2, 1])

    def scaled_forward(W, idx):
        return W[idx] * np.sqrt(W.shape[1]), (W.shape, idx)

    def scaled_backward(dout, cache):
        shape, idx = cache
        dW = np.zeros(shape)
        np.add.at(dW, idx, dout if bug else dout * np.sqrt(shape[1]))
        return dW
    return gradcheck.check_layer(scaled_forward, scaled_backward, [r(3, 16), idx])


@case("mean embedding bag over 3 tokens a row, dW[idx] += dout / 3 (fancy +=, repeated tokens counted once)", "W",
      "repeated indices")
def _(bug):
    r = draws(7731)
    idx = np.array([[0, 5, 5], [2, 3, 0], [6, 1, 2]])

    def bag_forward(W, idx):
        return W[idx].mean(axis=1), (W.shape, idx)

    def bag_backward(dout, cache):
        shape, idx = cache
        dW = np.zeros(shape)
        spread = np.broadcast_to(dout[:, None, :] / idx.shape[1], idx.shape + dout.shape[1:])
        if bug:
            dW[idx] += spread
        else:
            np.add.at(dW, idx, spread)
        return dW
    return gradcheck.check_layer(bag_forward, bag_backward, [r(7, 3), idx])


@case("embedding with padding index 0 zeroed in the forward, backward accumulating into row 0 too", "W", "mask")
def _(bug):
    r = draws(7732)
    idx = np.array([[1, 0, 3], [0, 2, 2], [4, 1, 0]])

    def padded_forward(W, idx):
        keep = (idx != 0)[..., None]
        return W[idx] * keep, (W.shape, idx, keep)

    def padded_backward(dout, cache):
        shape, idx, keep = cache
        dW = np.zeros(shape)
        np.add.at(dW, idx, dout if bug else dout * keep)
        return dW
    return gradcheck.check_layer(padded_forward, padded_backward, [r(5, 4), idx])


# ===== needle ops ====================================================================================
family("needle ops")

# needle's ops, as numpy functions: compute(*arrays) -> array and gradient(out_grad, node) -> one gradient
# per input, node carrying the inputs and the output; `as_vjp` calls them as needle's autograd does.
Node = namedtuple("Node", ["inputs", "value"])


def as_vjp(compute, gradient, arrays=1):
    """A check_vjp pair from a compute/gradient pair whose first `arrays` arguments are the node's inputs
    (the rest are the op's attributes)."""
    def vjp(out_grad, *args):
        node = Node(args[:arrays], compute(*args))
        grads = gradient(out_grad, node, *args[arrays:])
        return grads if isinstance(grads, tuple) else (grads,)
    return compute, vjp


@case("needle Summation(axes=(1,)) of a (3, 3), gradient broadcast_to(out_grad, shape) without reshaping to (3, 1)",
      "a", "broadcast axis")
def _(bug):
    r = draws(7733)
    axes = (1,)

    def summation_compute(a):
        return np.sum(a, axis=axes)

    def summation_gradient(out_grad, node):
        (a,) = node.inputs
        kept = list(a.shape)
        for ax in axes:
            kept[ax] = 1
        g = out_grad if bug else out_grad.reshape(kept)
        return np.broadcast_to(g, a.shape).copy()
    f, vjp = as_vjp(summation_compute, summation_gradient)
    # square, so the claim is also the truth's transpose; "transpose" is not a label: no .T is missing, the
    # bug is the axis dout is put back along
    return gradcheck.check_vjp(f, vjp, [r(3, 3)])


@case("needle EWisePow a ** b, gradient for b out_grad * a ** b without log(a)", "b", "local gradient factor")
def _(bug):
    r = draws(7734)

    def pow_compute(a, b):
        return a ** b

    def pow_gradient(out_grad, node):
        a, b = node.inputs
        p = node.value
        gb = out_grad * p if bug else out_grad * p * np.log(a)
        return out_grad * b * a ** (b - 1), gb
    f, vjp = as_vjp(pow_compute, pow_gradient, arrays=2)
    a = 0.3 + 1.5 * np.abs(r(2, 5))
    a[np.abs(a - 1.0) < 0.15] += 0.3
    return gradcheck.check_vjp(f, vjp, [a, 0.7 * r(2, 5)])


@case("needle MatMul of a batched a (2, 3, 4) and b (4, 5), b's gradient not summed over the batch", "b",
      "batch axis not summed")
def _(bug):
    r = draws(7735)

    def matmul_compute(a, b):
        return a @ b

    def matmul_gradient(out_grad, node):
        a, b = node.inputs
        gb = np.swapaxes(a, -1, -2) @ out_grad
        return out_grad @ b.T, (gb if bug else gb.sum(axis=0))
    f, vjp = as_vjp(matmul_compute, matmul_gradient, arrays=2)
    return gradcheck.check_vjp(f, vjp, [r(2, 3, 4), r(4, 5)])


@case("needle ReLU gradient out_grad * node's value, the > 0 forgotten", "a", "local gradient factor",
      "activation for its derivative")
def _(bug):
    r = draws(7736)

    def relu_compute(a):
        return np.maximum(a, 0.0)

    def relu_gradient(out_grad, node):
        return out_grad * node.value if bug else out_grad * (node.value > 0)
    f, vjp = as_vjp(relu_compute, relu_gradient)
    return gradcheck.check_vjp(f, vjp, [away_from(r(4, 4), gap=0.25)])


# ===== models ========================================================================================
family("models")


class TwoLayerNet:
    """A CS231n-style net, affine - act - affine - softmax, params in a dict, loss + 0.5 * reg * sum(W**2)
    over the weights (not the biases). `bugs` names the mistakes in its gradients."""

    def __init__(self, sizes, r, reg=0.0, act="sigmoid", bugs=()):
        d, h, c = sizes  # r: the case's draws, so a case keeps its one seed
        self.params = {"W1": 0.7 * r(d, h), "b1": 0.3 * r(h), "W2": 0.7 * r(h, c), "b2": 0.2 * r(c)}
        self.reg, self.act, self.bugs = reg, act, set(bugs)

    def loss(self, X, y):
        p = self.params
        N = X.shape[0]
        z1 = X @ p["W1"] + p["b1"]
        a1 = sigmoid(z1) if self.act == "sigmoid" else np.maximum(0.0, z1)
        probs = softmax(a1 @ p["W2"] + p["b2"])
        loss = -np.log(probs[np.arange(N), y]).mean()
        loss += 0.5 * self.reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        dscores = probs.copy()
        dscores[np.arange(N), y] -= 1.0
        if "dscores not / N" not in self.bugs:
            dscores /= N
        wreg = 2 * self.reg if "2 * reg * W" in self.bugs else self.reg
        grads = {"W2": a1.T @ dscores + wreg * p["W2"], "b2": dscores.sum(axis=0)}
        da1 = dscores @ p["W2"].T
        if self.act == "sigmoid":
            if "z1 for a1" in self.bugs:
                local = z1 * (1 - z1)
            elif "a1 for its derivative" in self.bugs:
                local = a1
            else:
                local = a1 * (1 - a1)
        else:
            local = z1 > 0
        dz1 = da1 * local
        grads["W1"] = X.T @ dz1 + wreg * p["W1"]
        grads["b1"] = dz1.sum(axis=0)
        if "biases regularised" in self.bugs:
            grads["b1"] = grads["b1"] + self.reg * p["b1"]
            grads["b2"] = grads["b2"] + self.reg * p["b2"]
        if "W1, W2 swapped" in self.bugs:
            grads["W1"], grads["W2"] = grads["W2"], grads["W1"]
        return loss, grads


@case("two-layer relu net (check_model) adding reg * b to the bias gradients, the loss regularising weights only",
      'params["b1"]', "regularisation")
def _(bug):
    r = draws(7737)
    net = TwoLayerNet((3, 5, 3), r, reg=0.3, act="relu", bugs={"biases regularised"} if bug else ())
    X = r(7, 3)
    z = X @ net.params["W1"] + net.params["b1"]
    assert np.all(np.abs(z) > 0.02)
    return gradcheck.check_model(net, X, np.array([0, 2, 1, 1, 2, 0, 1]))


@case("two-layer sigmoid net (check_model) whose dscores is not divided by N, the loss a mean, reg right",
      'params["W2"]', "data term factor")
def _(bug):
    r = draws(7738)
    net = TwoLayerNet((5, 3, 4), r, reg=0.2, bugs={"dscores not / N"} if bug else ())
    return gradcheck.check_model(net, r(4, 5), np.array([3, 0, 1, 3]))


@case("two-layer sigmoid net (check_model) whose dz1 is da1 * z1 * (1 - z1), the pre-activation for a1",
      'params["W1"]', "input for output")
def _(bug):
    r = draws(7739)
    net = TwoLayerNet((4, 4, 2), r, reg=0.1, bugs={"z1 for a1"} if bug else ())
    return gradcheck.check_model(net, r(6, 4), np.array([1, 0, 0, 1, 1, 0]))


@case("two-layer sigmoid net (check_model), 4 x 4 weights, returning W1's gradient under W2 and W2's under W1",
      'params["W1"]', "order")
def _(bug):
    r = draws(7740)
    net = TwoLayerNet((4, 4, 4), r, reg=0.05, bugs={"W1, W2 swapped"} if bug else ())
    return gradcheck.check_model(net, r(5, 4), np.array([2, 3, 0, 1, 3]))


# ===== mixes: two bugs at once =======================================================================
family("mix")


@case("mix: batch norm dx = dout * inv, gamma forgotten and the mean and variance paths dropped", "x",
      "local gradient factor", "mean path")
def _(bug):
    r = draws(7741)
    eps = 1e-5

    def bn_forward(x, gamma, beta):
        mu = x.mean(axis=0)
        inv = 1.0 / np.sqrt(x.var(axis=0) + eps)
        xhat = (x - mu) * inv
        return gamma * xhat + beta, (xhat, inv, gamma)

    def bn_backward(dout, cache):
        xhat, inv, gamma = cache
        dx = dout * inv if bug else layernorm_backward_sums(dout * gamma, xhat, inv, 0)
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
    return gradcheck.check_layer(bn_forward, bn_backward, [r(4, 5), 1.5 + 0.5 * r(5), r(5)])


@case("mix: attention with d = 9, dq without the 1/sqrt(d) and dS = A * dA (the softmax's sum dropped)", "q",
      "square root of a size", "constant factor", "mean path")
def _(bug):
    r = draws(7742)

    def attn_forward(q, k, v):
        scale = 1.0 / np.sqrt(q.shape[1])
        out, A = attention_forward(q, k, v, scale)
        return out, (q, k, v, A, scale)

    def attn_backward(dout, cache):
        q, k, v, A, scale = cache
        dA = dout @ v.T
        dS = A * (dA - (A * dA).sum(axis=1, keepdims=True))
        dq = (A * dA) @ k if bug else dS @ k * scale
        return dq, dS.T @ q * scale, A.T @ dout
    return gradcheck.check_layer(attn_forward, attn_backward, [0.6 * r(4, 9), 0.6 * r(3, 9), r(3, 2)])


@case("mix: relu rnn step with the mask from next_h >= 0 and dprev_h = dz @ Wh for dz @ Wh.T", "prev_h",
      "mask", "untransposed matrix")
def _(bug):
    r = draws(7743)
    bugs = {"mask from next_h", "Wh untransposed"} if bug else ()
    return gradcheck.check_layer(relu_rnn_step_forward, lambda d, c: relu_rnn_step_backward(d, c, bugs),
                                 relu_rnn_inputs(r, 3, 4, 3))


@case("mix: softmax cross-entropy gradient written onehot - p, sign flipped and the / N forgotten", "s",
      "sign", "rows", "constant factor")
def _(bug):
    r = draws(7744)
    y = np.array([0, 2, 2, 1, 0])

    def ce(s, y):
        return -np.log(softmax(s)[np.arange(len(y)), y]).mean()

    def ce_grad(s, y):
        onehot = np.eye(s.shape[1])[y]
        if bug:
            return onehot - softmax(s)
        return (softmax(s) - onehot) / len(y)
    return gradcheck.check_function(ce, ce_grad, [r(5, 3), y])


@case("mix: two-layer sigmoid net (check_model) with dz1 = da1 * a1 and 2 * reg * W for the loss's 0.5 * reg",
      'params["W1"]', "activation for its derivative", "regularisation")
def _(bug):
    r = draws(7745)
    net = TwoLayerNet((3, 4, 3), r, reg=0.25, bugs={"a1 for its derivative", "2 * reg * W"} if bug else ())
    return gradcheck.check_model(net, r(6, 3), np.array([2, 1, 0, 0, 2, 1]))


# ===== running ======================================================================================
if __name__ == "__main__":
    main(CASES, __doc__)
