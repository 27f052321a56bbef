"""A tenth held-out set of 45 buggy numpy layers: does the black-box diagnosis name the bug, and does it mislead?

    python benchmarks/heldout_diagnoses_10.py [--verbose]    # the measurement (--verbose: each diagnosis)
    python benchmarks/heldout_diagnoses_10.py --self-check   # every right layer passes, every buggy one fails

Written blind, apart from every other set and from tests/diagnose/: benchmarks/heldout_diagnoses_5.py was
read for its format only (the harness, `@case`, `family`, a right layer with its bug behind a flag), and of
the diagnosis only docs/diagnoses.md and the cause names of gradcheck.diagnose.hypotheses.HYPOTHESES were
read. The layers are new (other layers, shapes, names and code, seeds 8001..8045, one per case), written as
a student writes them from memory, their bugs chosen for being realistic, not for being easy or hard to
diagnose; only --self-check (exit codes) was run while writing them, and no diagnosis of them.
40 layers have one bug, 5 ("mix") have two at once. The families: activations 4, affine and conv 4,
pooling 4, normalisation 4, losses 4, attention 4, rnn and lstm 4, embeddings 4, needle ops 4
(compute/gradient functions in needle's style, made into check_vjp calls), models 4 (check_model on a
CS231n-style net with a params dict, model.loss(X, y) -> (loss, grads), and regularisation), and mix 5.
Every case is a right layer with its bug behind a flag, so the right version is checked too.

The labels: each case lists every cause whose sentence and scope in docs/diagnoses.md would correctly
describe its bug for the variable read (for a mix, the causes of either bug), decided from the bug's
nature and the docs alone, before any diagnosis of these layers was run. 4 cases are bugs that no cause
of the table describes, and name none (each says why in a comment): the RMSNorm whose second term lacks
its 1/D, the BCE on probabilities whose gradient is the logits' (p - y) / n, the rnn whose db is
overwritten at each step, and the check_model net whose dW2 is built from the pre-relu z1.
A diagnosis is
- named: its cause is one of those (for a mix, naming either bug);
- honest: no mistake named, only a count of the right entries (or none);
- misleading: it names a mistake that is not the bug.

Labels reviewed blind against the table of 2026-12-07 (main at 36e32db) before measurement, from the bugs'
code and the causes' sentences and scope alone (no diagnosis seen): added "constant factor" to the attention
(d = 9) whose dQ forgets the 1/sqrt(d) (its sentence says 1/c where the truth is c times a matrix product's
own gradient as the forward's scale c missing, which this is; the embedding scaled by sqrt(d) already had
both). No label removed. Today's new scope was checked against every case: "permuted" now covers a padded
conv's dx cropped one place off (no case has a padded conv), "mask" a relu after an affine map without its
mask (already on the relu(x @ W) mix), and composites a window's area (the average pool's 1/4) as a
"constant factor" beside another mistake (already on the average pool mix with its windows at i). The 4
cases that name no cause still name none: the RMSNorm's second term without its 1/D is no mean or variance
taken as a constant ("mean path") and no factor of the whole truth; the BCE's (p - y) / n is the truth
times p (1 - p), no input u, 1/u or log u and no activation's form; the rnn's overwritten db is step 0's dz
with every later dout carried in, no one step's dout alone; the net's dW2 from z1 puts the pre-relu z1 in
the product where h1 belongs, not a mask left out of the gradient (relu_affine's "mask" is for the affine
map before the relu). Kept, though its scope may not reach it: "wrong steps" on the rnn whose dWh pairs
dz_t with h_t (its sentence describes the bug; dz_t is read back through Wx, here (3, 4), fewer rows than
columns), and "activation for its derivative" on the lstm's Wx (the gate's slip sits inside x.T @ dz).

Measured once, blind, on main at b070919 (2026-12-07, after the labels' review above): named 38, honest 6,
misleading 1 of 45. The 4 cases that name no cause: 3 are among the honest, and the RMSNorm whose dx's second
term lacks its 1/D is the misleading one, told "mean path" (the path through the normalisation wrong, as if
its statistic were a constant), where no label was given. So 38 of the 41 nameable were named. Honest besides
those: the rnn whose dWh pairs dz_t with h_t (Wx has fewer rows than columns, so dz is not recovered), the
plain embedding lookup with a 2-D index and repeated rows (dW[idx] += dout), and the mix of that lookup with
its sqrt(9) forgotten. The set is seen from here on: a development set, whose later figures are not
held-out ones.

Label added with a new cause of the table (2026-12-07): "logits' gradient" (a loss's claim the truth times
p(1 - p), p the input) to the BCE on probabilities whose gradient is the logits' (p - y) / n, its own
description. 3 cases now name no cause.

Label added with a new cause of the table: "statistic path factor" (a statistic's path scaled by a clean
factor) to the RMSNorm whose second term lacks its 1/D; "mean path" is now named only where the claim is
the gradient with a statistic held constant. 2 cases now name no cause.
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


def away_from_zero(a: np.ndarray, gap: float = 0.2) -> np.ndarray:
    """The same array pushed at least `gap` away from 0 (kinks of relu and friends)."""
    return np.where(a >= 0, a + gap, a - gap)


def sigm(z):
    return 1.0 / (1.0 + np.exp(-z))


def row_softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ===== activations ===================================================================================
family("activations")


@case("softsign x / (1 + |x|) backward dout / (1 + |x|), the square of the denominator dropped", "x",
      "derivative form")
def _(bug):
    r = draws(8001)

    def softsign_fwd(x):
        return x / (1.0 + np.abs(x)), x

    def softsign_bwd(dout, x):
        denom = 1.0 + np.abs(x)
        return dout / denom if bug else dout / denom ** 2
    return gradcheck.check_layer(softsign_fwd, softsign_bwd, [away_from_zero(r(4, 5), 0.1)])


@case("leaky relu (slope 0.05) backward with the slopes on the wrong sides", "x", "sign region")
def _(bug):
    r = draws(8002)
    slope = 0.05

    def leaky_fwd(x):
        return np.where(x > 0, x, slope * x), x

    def leaky_bwd(dout, x):
        local = np.where(x > 0, slope, 1.0) if bug else np.where(x > 0, 1.0, slope)
        return dout * local
    return gradcheck.check_layer(leaky_fwd, leaky_bwd, [away_from_zero(r(5, 4))])


@case("tanh layer caching its output y, backward 1 - tanh(y)**2 (tanh applied again to the output)", "x",
      "output for input")
def _(bug):
    r = draws(8003)

    def tanh_fwd(x):
        y = np.tanh(x)
        return y, y

    def tanh_bwd(dout, y):
        return dout * (1.0 - np.tanh(y) ** 2) if bug else dout * (1.0 - y ** 2)
    return gradcheck.check_layer(tanh_fwd, tanh_bwd, [1.2 * r(3, 6)])


@case("softplus with beta 3, log(1 + exp(beta x)) / beta, backward beta * sigmoid(beta x) (the 1/beta lost)",
      "x", "constant factor")
def _(bug):
    r = draws(8004)
    beta = 3.0

    def sp_fwd(x):
        return np.log1p(np.exp(beta * x)) / beta, x

    def sp_bwd(dout, x):
        g = dout * sigm(beta * x)
        return beta * g if bug else g
    return gradcheck.check_layer(sp_fwd, sp_bwd, [0.8 * r(4, 4)])


# ===== affine, conv ==================================================================================
family("affine, conv")


@case("affine x @ W + b with a square W (4, 4), dx = dout @ W", "x", "untransposed matrix")
def _(bug):
    r = draws(8005)

    def fc_fwd(x, W, b):
        return x @ W + b, (x, W)

    def fc_bwd(dout, cache):
        x, W = cache
        dx = dout @ W if bug else dout @ W.T
        return dx, x.T @ dout, dout.sum(axis=0)
    return gradcheck.check_layer(fc_fwd, fc_bwd, [r(3, 4), r(4, 4), r(4)])


def conv2d_fwd(x, w, b, stride):
    """Naive valid conv (cross-correlation): x (N, C, H, W), w (F, C, k, k), b (F,)."""
    N, _, H, W = x.shape
    F, _, k, _ = w.shape
    Ho, Wo = (H - k) // stride + 1, (W - k) // stride + 1
    out = np.empty((N, F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            patch = x[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


def conv2d_bwd(dout, x, w, stride, bugs=()):
    k = w.shape[2]
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            g = dout[:, :, i, j]  # (N, F)
            ri, rj = (i, j) if "windows at i" in bugs else (i * stride, j * stride)
            dx[:, :, ri:ri + k, rj:rj + k] += np.tensordot(g, w, axes=([1], [0]))
            patch = x[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
            contrib = np.tensordot(g, patch, axes=([0], [0]))
            if "dw overwritten" in bugs:
                dw = contrib
            else:
                dw += contrib
    return dx, dw, dout.sum(axis=(0, 2, 3))


@case("conv2d stride 2 (x (2, 1, 5, 5), 3x3 kernel) whose dx windows are placed at i, not i * stride", "x",
      "window stride")
def _(bug):
    r = draws(8006)
    bugs = {"windows at i"} if bug else ()

    def fwd(x, w, b):
        return conv2d_fwd(x, w, b, 2), (x, w)
    return gradcheck.check_layer(fwd, lambda d, c: conv2d_bwd(d, c[0], c[1], 2, bugs),
                                 [r(2, 1, 5, 5), r(2, 1, 3, 3), r(2)])


@case("conv2d stride 1 (x (2, 2, 4, 4), 2x2 kernel) with dw = ... in the loop over positions", "w",
      "one slice of dout")
def _(bug):
    r = draws(8007)
    bugs = {"dw overwritten"} if bug else ()

    def fwd(x, w, b):
        return conv2d_fwd(x, w, b, 1), (x, w)
    return gradcheck.check_layer(fwd, lambda d, c: conv2d_bwd(d, c[0], c[1], 1, bugs),
                                 [r(2, 2, 4, 4), r(3, 2, 2, 2), r(3)])


@case("bilinear score x1_n W x2_n with W (3, 3), dW = (dout * x2).T @ x1 (its transpose)", "W", "transpose")
def _(bug):
    r = draws(8008)

    def bil_fwd(x1, W, x2):
        return np.einsum("ni,ij,nj->n", x1, W, x2), (x1, W, x2)

    def bil_bwd(dout, cache):
        x1, W, x2 = cache
        right = x1.T @ (dout[:, None] * x2)
        dW = right.T if bug else right
        return (dout[:, None] * (x2 @ W.T), dW, dout[:, None] * (x1 @ W))
    return gradcheck.check_layer(bil_fwd, bil_bwd, [r(5, 3), r(3, 3), r(5, 3)])


# ===== pooling =======================================================================================
family("pooling")


@case("2x2 average pool stride 2 (x (3, 2, 4, 4)) whose backward spreads dout without the / 4", "x",
      "constant factor")
def _(bug):
    r = draws(8009)

    def avg_fwd(x):
        N, C, H, W = x.shape
        return x.reshape(N, C, H // 2, 2, W // 2, 2).mean(axis=(3, 5)), x.shape

    def avg_bwd(dout, shape):
        spread = np.repeat(np.repeat(dout, 2, axis=2), 2, axis=3)
        return spread if bug else spread / 4.0
    return gradcheck.check_layer(avg_fwd, avg_bwd, [r(3, 2, 4, 4)])


@case("2x2 max pool stride 1 (overlapping windows) whose dx window is assigned, not added", "x",
      "one slice of dout")
def _(bug):
    r = draws(8010)

    def maxp_fwd(x):
        N, C, H, W = x.shape
        out = np.empty((N, C, H - 1, W - 1))
        for i in range(H - 1):
            for j in range(W - 1):
                out[:, :, i, j] = x[:, :, i:i + 2, j:j + 2].max(axis=(2, 3))
        return out, x

    def maxp_bwd(dout, x):
        dx = np.zeros_like(x)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                win = x[:, :, i:i + 2, j:j + 2]
                mask = win == win.max(axis=(2, 3), keepdims=True)
                g = mask * dout[:, :, i, j][:, :, None, None]
                if bug:
                    dx[:, :, i:i + 2, j:j + 2] = g
                else:
                    dx[:, :, i:i + 2, j:j + 2] += g
        return dx
    return gradcheck.check_layer(maxp_fwd, maxp_bwd, [r(2, 1, 4, 4)])


@case("max over time of x (N, T, C), backward mask from the max over time and channels together", "x", "mask")
def _(bug):
    r = draws(8011)

    def tmax_fwd(x):
        return x.max(axis=1), x

    def tmax_bwd(dout, x):
        top = x.max(axis=(1, 2), keepdims=True) if bug else x.max(axis=1, keepdims=True)
        return (x == top) * dout[:, None, :]
    return gradcheck.check_layer(tmax_fwd, tmax_bwd, [r(3, 5, 4)])


@case("global average pool over (H, W) = (3, 5), backward dout / H (the / W forgotten)", "x", "constant factor")
def _(bug):
    r = draws(8012)

    def gap_fwd(x):
        return x.mean(axis=(2, 3)), x.shape

    def gap_bwd(dout, shape):
        _, _, H, W = shape
        per = dout / H if bug else dout / (H * W)
        return np.broadcast_to(per[:, :, None, None], shape).copy()
    return gradcheck.check_layer(gap_fwd, gap_bwd, [r(2, 3, 3, 5)])


# ===== normalisation =================================================================================
family("normalisation")


def norm_rows(x, axis, eps=1e-5):
    mu = x.mean(axis=axis, keepdims=True)
    inv = 1.0 / np.sqrt(x.var(axis=axis, keepdims=True) + eps)
    return (x - mu) * inv, inv


@case("batch norm (N=6, D=3) backward dout * gamma / std, the mean and variance taken as constants", "x",
      "mean path")
def _(bug):
    r = draws(8013)

    def bn_fwd(x, gamma, beta):
        xhat, inv = norm_rows(x, 0)
        return gamma * xhat + beta, (xhat, inv, gamma)

    def bn_bwd(dout, cache):
        xhat, inv, gamma = cache
        dxhat = dout * gamma
        if bug:
            dx = dxhat * inv
        else:
            dx = inv * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0))
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
    return gradcheck.check_layer(bn_fwd, bn_bwd, [r(6, 3), 1 + 0.3 * r(3), r(3)])


@case("layer norm (N=4, D=5) backward copied from batch norm: its means over axis 0", "x", "reduction axes")
def _(bug):
    r = draws(8014)

    def ln_fwd(x, gamma, beta):
        xhat, inv = norm_rows(x, 1)
        return gamma * xhat + beta, (xhat, inv, gamma)

    def ln_bwd(dout, cache):
        xhat, inv, gamma = cache
        dxhat = dout * gamma
        ax = 0 if bug else 1
        dx = inv * (dxhat - dxhat.mean(axis=ax, keepdims=True)
                    - xhat * (dxhat * xhat).mean(axis=ax, keepdims=True))
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
    return gradcheck.check_layer(ln_fwd, ln_bwd, [r(4, 5), 1 + 0.3 * r(5), r(5)])


# Blind, no label: the second term's 1/D forgotten was no cause's sentence (not a mean taken as a constant,
# not a reduction over other axes, not a factor of the whole truth). Labelled after the measurement, once
# "statistic path factor" (a statistic's path times a clean factor) was added for it.
@case("RMSNorm x / rms * g (N=3, D=6) whose dx's second term lacks its 1/D", "x", "statistic path factor")
def _(bug):
    r = draws(8015)
    eps = 1e-6

    def rms_fwd(x, g):
        rms = np.sqrt((x * x).mean(axis=1, keepdims=True) + eps)
        return x / rms * g, (x, rms, g)

    def rms_bwd(dout, cache):
        x, rms, g = cache
        D = x.shape[1]
        dn = dout * g
        proj = (dn * x).sum(axis=1, keepdims=True)
        second = x * proj / rms ** 3 if bug else x * proj / (D * rms ** 3)
        return dn / rms - second, (dout * x / rms).sum(axis=0)
    return gradcheck.check_layer(rms_fwd, rms_bwd, [r(3, 6), 1 + 0.2 * r(6)])


@case("layer norm (N=4, D=3) with dgamma = sum(dout * xhat, axis=0) / N", "gamma", "one over rows")
def _(bug):
    r = draws(8016)

    def ln_fwd(x, gamma, beta):
        xhat, inv = norm_rows(x, 1)
        return gamma * xhat + beta, (xhat, inv, gamma)

    def ln_bwd(dout, cache):
        xhat, inv, gamma = cache
        dxhat = dout * gamma
        dx = inv * (dxhat - dxhat.mean(axis=1, keepdims=True)
                    - xhat * (dxhat * xhat).mean(axis=1, keepdims=True))
        dgamma = (dout * xhat).sum(axis=0)
        if bug:
            dgamma = dgamma / xhat.shape[0]
        return dx, dgamma, dout.sum(axis=0)
    return gradcheck.check_layer(ln_fwd, ln_bwd, [r(4, 3), 1 + 0.3 * r(3), r(3)])


# ===== losses ========================================================================================
family("losses")


@case("softmax cross-entropy (N=5, C=4), mean loss, gradient without the / N", "scores", "rows")
def _(bug):
    r = draws(8017)
    y = np.array([3, 0, 2, 2, 1])

    def ce(scores, y):
        p = row_softmax(scores)
        return -np.mean(np.log(p[np.arange(len(y)), y]))

    def ce_grad(scores, y):
        d = row_softmax(scores)
        d[np.arange(len(y)), y] -= 1.0
        return d if bug else d / len(y)
    return gradcheck.check_function(ce, ce_grad, [r(5, 4), y])


@case("multiclass SVM (N=5, C=4, margin 1) gradient without the - count at the correct class", "scores",
      "correct class term")
def _(bug):
    y = np.array([1, 0, 3, 2, 1])
    scores = np.array([[0.3, 1.9, -0.7, 1.2], [2.1, 0.4, 1.6, -1.3], [-0.5, 0.8, 0.1, 1.5],
                       [1.1, -0.9, 0.7, 2.4], [0.2, 0.6, 1.2, -0.4]])
    _ = draws(8018)  # the scores are written out, kept off the hinge's kinks (margins 0)

    def svm(scores, y):
        N = len(y)
        m = np.maximum(0.0, scores - scores[np.arange(N), y][:, None] + 1.0)
        m[np.arange(N), y] = 0.0
        return m.sum() / N

    def svm_grad(scores, y):
        N = len(y)
        m = scores - scores[np.arange(N), y][:, None] + 1.0
        pos = (m > 0).astype(float)
        pos[np.arange(N), y] = 0.0
        if not bug:
            pos[np.arange(N), y] = -pos.sum(axis=1)
        return pos / N
    return gradcheck.check_function(svm, svm_grad, [scores, y])


@case("MSE mean over all N*D = 4*3 entries, gradient 2 (pred - t) / N", "pred", "constant factor")
def _(bug):
    r = draws(8019)
    target = r(4, 3)

    def mse(pred, target):
        return np.mean((pred - target) ** 2)

    def mse_grad(pred, target):
        diff = pred - target
        return 2 * diff / pred.shape[0] if bug else 2 * diff / pred.size
    return gradcheck.check_function(mse, mse_grad, [r(4, 3), target], data="target")


# When written, no label: (p - y) / n is the logits' gradient, the truth times p (1 - p) for p the input
# itself, which no cause named then (the later "logits' gradient" does).
@case("BCE on probabilities p (not logits), gradient written as the logits' (p - y) / n", "p", "logits' gradient")
def _(bug):
    r = draws(8020)
    y = (r(3, 4) > 0).astype(float)
    p0 = np.clip(sigm(1.5 * r(3, 4)), 0.1, 0.9)

    def bce(p, y):
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    def bce_grad(p, y):
        if bug:
            return (p - y) / p.size
        return (p - y) / (p * (1 - p)) / p.size
    return gradcheck.check_function(bce, bce_grad, [p0, y], data="y")


# ===== attention =====================================================================================
family("attention")


def attn_fwd(Q, K, V):
    d = Q.shape[-1]
    A = row_softmax(Q @ K.T / np.sqrt(d))
    return A @ V, (Q, K, V, A)


def attn_bwd(dout, cache, bugs=()):
    Q, K, V, A = cache
    scale = 1.0 / np.sqrt(Q.shape[-1])
    dV = A @ dout if "dV = A @ dout" in bugs else A.T @ dout
    dA = dout @ V.T
    if "dS = A * dA" in bugs:
        dS = A * dA
    else:
        dS = A * (dA - (A * dA).sum(axis=1, keepdims=True))
    dQ = dS @ K if "dQ unscaled" in bugs else dS @ K * scale
    dK = dS.T @ Q * scale
    return dQ, dK, dV


@case("attention (T=3, d=9) whose dQ forgets the 1/sqrt(d)", "Q", "square root of a size", "constant factor")
def _(bug):
    r = draws(8021)
    bugs = {"dQ unscaled"} if bug else ()
    return gradcheck.check_layer(attn_fwd, lambda d, c: attn_bwd(d, c, bugs), [r(3, 9), r(3, 9), r(3, 9)])


@case("attention (T=4, d=3) with dV = A @ dout", "V", "untransposed matrix")
def _(bug):
    r = draws(8022)
    bugs = {"dV = A @ dout"} if bug else ()
    return gradcheck.check_layer(attn_fwd, lambda d, c: attn_bwd(d, c, bugs), [r(4, 3), r(4, 3), r(4, 3)])


@case("attention (T=4, d=4) whose softmax backward is dS = A * dA", "Q", "mean path")
def _(bug):
    r = draws(8023)
    bugs = {"dS = A * dA"} if bug else ()
    return gradcheck.check_layer(attn_fwd, lambda d, c: attn_bwd(d, c, bugs), [r(4, 4), r(4, 4), r(4, 4)])


@case("attention with an output projection Wo (4, 4), dWo = dout.T @ H", "Wo", "transpose")
def _(bug):
    r = draws(8024)

    def proj_fwd(Q, K, V, Wo):
        H, cache = attn_fwd(Q, K, V)
        return H @ Wo, (cache, H, Wo)

    def proj_bwd(dout, cache):
        inner, H, Wo = cache
        dWo = dout.T @ H if bug else H.T @ dout
        dQ, dK, dV = attn_bwd(dout @ Wo.T, inner)
        return dQ, dK, dV, dWo
    return gradcheck.check_layer(proj_fwd, proj_bwd, [r(3, 4), r(3, 4), r(3, 4), r(4, 4)])


# ===== rnn, lstm =====================================================================================
family("rnn, lstm")


def seq_rnn_fwd(x, h0, Wx, Wh, b):
    """tanh rnn over x (N, T, D) from h0 (N, H): every state, (N, T, H)."""
    N, T, _ = x.shape
    hs = np.empty((N, T, h0.shape[1]))
    h = h0
    for t in range(T):
        h = np.tanh(x[:, t] @ Wx + h @ Wh + b)
        hs[:, t] = h
    return hs, (x, h0, Wx, Wh, hs)


def seq_rnn_bwd(dhs, cache, bugs=()):
    x, h0, Wx, Wh, hs = cache
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[1])
    carry = np.zeros_like(h0)
    for t in reversed(range(x.shape[1])):
        dz = (dhs[:, t] + carry) * (1.0 - hs[:, t] ** 2)
        prev = h0 if t == 0 else hs[:, t - 1]
        if "h_t for h_t-1" in bugs:
            prev = hs[:, t]
        dx[:, t] = dz @ Wx.T
        dWx += x[:, t].T @ dz
        dWh += prev.T @ dz
        if "db overwritten" in bugs:
            db = dz.sum(axis=0)
        else:
            db += dz.sum(axis=0)
        carry = dz @ Wh.T
    return dx, carry, dWx, dWh, db


@case("tanh rnn over T=4 steps whose dWh pairs dz_t with h_t (hs[:, t]) where h_(t-1) belongs", "Wh",
      "wrong steps")
def _(bug):
    r = draws(8025)
    bugs = {"h_t for h_t-1"} if bug else ()
    return gradcheck.check_layer(seq_rnn_fwd, lambda d, c: seq_rnn_bwd(d, c, bugs),
                                 [r(2, 4, 3), r(2, 4), 0.5 * r(3, 4), 0.5 * r(4, 4), 0.3 * r(4)])


# No label: db = dz.sum(0) overwritten leaves step 0's dz (carrying every later dout), not the truth of one
# step's dout alone; the "one slice of dout" weight-matrix reading is for a matrix P, not a bias.
@case("tanh rnn over T=3 steps whose db = dz.sum(axis=0) is assigned at each step, not added", "b")
def _(bug):
    r = draws(8026)
    bugs = {"db overwritten"} if bug else ()
    return gradcheck.check_layer(seq_rnn_fwd, lambda d, c: seq_rnn_bwd(d, c, bugs),
                                 [r(3, 3, 2), r(3, 3), 0.6 * r(2, 3), 0.5 * r(3, 3), 0.3 * r(3)])


def lstm_fwd(x, prev_h, prev_c, Wx, Wh, b):
    """One lstm step, gates in the order i, f, g, o: (next_h, next_c)."""
    H = prev_h.shape[1]
    z = x @ Wx + prev_h @ Wh + b
    i, f = sigm(z[:, :H]), sigm(z[:, H:2 * H])
    g, o = np.tanh(z[:, 2 * H:3 * H]), sigm(z[:, 3 * H:])
    c = f * prev_c + i * g
    return o * np.tanh(c), c, (x, prev_h, prev_c, Wx, Wh, i, f, g, o, c)


def lstm_bwd(dh, dc_in, cache, bugs=()):
    x, prev_h, prev_c, Wx, Wh, i, f, g, o, c = cache
    tc = np.tanh(c)
    dc = dc_in if "no dh into dc" in bugs else dc_in + dh * o * (1 - tc ** 2)
    di_local = i if "i for i(1-i)" in bugs else i * (1 - i)
    dz = np.concatenate([dc * g * di_local, dc * prev_c * f * (1 - f), dc * i * (1 - g ** 2),
                         dh * tc * o * (1 - o)], axis=1)
    return (dz @ Wx.T, dz @ Wh.T, dc * f, x.T @ dz, prev_h.T @ dz, dz.sum(axis=0))


@case("lstm step whose input gate's derivative is i where i * (1 - i) belongs", "Wx",
      "activation for its derivative")
def _(bug):
    r = draws(8027)
    bugs = {"i for i(1-i)"} if bug else ()
    return gradcheck.check_layer(lstm_fwd, lambda dh, dc, c: lstm_bwd(dh, dc, c, bugs),
                                 [r(3, 2), r(3, 3), r(3, 3), 0.5 * r(2, 12), 0.5 * r(3, 12), 0.2 * r(12)])


@case("lstm step whose dc is dnext_c alone, next_h's path into the cell forgotten", "prev_c", "output path")
def _(bug):
    r = draws(8028)
    bugs = {"no dh into dc"} if bug else ()
    return gradcheck.check_layer(lstm_fwd, lambda dh, dc, c: lstm_bwd(dh, dc, c, bugs),
                                 [r(2, 3), r(2, 2), r(2, 2), 0.5 * r(3, 8), 0.5 * r(2, 8), 0.2 * r(8)])


# ===== embeddings ====================================================================================
family("embeddings")


@case("embedding lookup W (6, 3)[idx (2, 4)] with repeated indices, dW[idx] += dout", "W", "repeated indices")
def _(bug):
    r = draws(8029)
    idx = np.array([[1, 4, 1, 0], [5, 4, 2, 1]])

    def emb_fwd(W):
        return W[idx], W.shape

    def emb_bwd(dout, shape):
        dW = np.zeros(shape)
        if bug:
            dW[idx] += dout
        else:
            np.add.at(dW, idx, dout)
        return dW
    return gradcheck.check_layer(emb_fwd, emb_bwd, [r(6, 3)])


def scaled_lookup(idx, bugs):
    def fwd(W):
        return W[idx] * np.sqrt(W.shape[1]), W.shape

    def bwd(dout, shape):
        g = dout if "scale forgotten" in bugs else dout * np.sqrt(shape[1])
        dW = np.zeros(shape)
        if "dW[idx] +=" in bugs:
            dW[idx] += g
        else:
            np.add.at(dW, idx, g)
        return dW
    return fwd, bwd


@case("transformer embedding W[idx] * sqrt(d), d = 9, backward without the sqrt(d)", "W", "constant factor",
      "one over the square root of a size")
def _(bug):
    r = draws(8030)
    fwd, bwd = scaled_lookup(np.array([[0, 3, 2], [4, 1, 3]]), {"scale forgotten"} if bug else ())
    return gradcheck.check_layer(fwd, bwd, [r(5, 9)])


@case("token + learned position embedding, dP = dout[0] (the first sequence's only)", "P", "one slice of dout")
def _(bug):
    r = draws(8031)
    idx = np.array([[2, 0, 1], [3, 3, 0], [1, 2, 4]])

    def tokpos_fwd(W, P):
        return W[idx] + P[None, :idx.shape[1]], W.shape

    def tokpos_bwd(dout, shape):
        dW = np.zeros(shape)
        np.add.at(dW, idx, dout)
        dP = dout[0].copy() if bug else dout.sum(axis=0)
        return dW, dP
    return gradcheck.check_layer(tokpos_fwd, tokpos_bwd, [r(5, 4), r(3, 4)])


@case("embedding bag averaging L=3 rows, backward without the / L", "W", "constant factor")
def _(bug):
    r = draws(8032)
    bags = np.array([[0, 2, 5], [1, 1, 3], [4, 0, 2], [5, 3, 1]])

    def bag_fwd(W):
        return W[bags].mean(axis=1), W.shape

    def bag_bwd(dout, shape):
        L = bags.shape[1]
        per = dout[:, None, :] if bug else dout[:, None, :] / L
        dW = np.zeros(shape)
        np.add.at(dW, bags, np.broadcast_to(per, bags.shape + (shape[1],)))
        return dW
    return gradcheck.check_layer(bag_fwd, bag_bwd, [r(6, 4)])


# ===== needle ops ====================================================================================
family("needle ops")

# needle's ops as numpy functions: compute(*arrays) -> array and gradient(out_grad, node) -> one gradient
# per input (node holds the inputs and the output); `to_vjp` calls them as needle's autograd does.
OpNode = namedtuple("OpNode", ["inputs", "out"])


def to_vjp(compute, gradient, arrays=1):
    """A check_vjp pair from a compute/gradient pair whose first `arrays` arguments are the node's inputs
    (the rest are the op's attributes)."""
    def vjp(out_grad, *args):
        node = OpNode(args[:arrays], compute(*args))
        grads = gradient(out_grad, node, *args[arrays:])
        return grads if isinstance(grads, tuple) else (grads,)
    return compute, vjp


@case("needle Exp, gradient out_grad * a (the input) where out_grad * exp(a) belongs", "a", "input for output")
def _(bug):
    r = draws(8033)

    def exp_compute(a):
        return np.exp(a)

    def exp_gradient(out_grad, node):
        (a,) = node.inputs
        return out_grad * a if bug else out_grad * node.out
    f, vjp = to_vjp(exp_compute, exp_gradient)
    return gradcheck.check_vjp(f, vjp, [0.7 * r(3, 4)])


@case("needle Summation(axes=1) of a (4, 4), gradient broadcast_to(out_grad, shape) without reshaping", "a",
      "broadcast axis")
def _(bug):
    r = draws(8034)

    def sum_compute(a):
        return a.sum(axis=1)

    def sum_gradient(out_grad, node):
        (a,) = node.inputs
        g = out_grad if bug else out_grad.reshape(a.shape[0], 1)
        return np.broadcast_to(g, a.shape).copy()
    f, vjp = to_vjp(sum_compute, sum_gradient)
    return gradcheck.check_vjp(f, vjp, [r(4, 4)])


@case("needle PowerScalar(3), gradient out_grad * 3 * a**3 (the exponent not lowered)", "a",
      "local gradient factor")
def _(bug):
    r = draws(8035)

    def pow_compute(a, n):
        return a ** n

    def pow_gradient(out_grad, node, n):
        (a,) = node.inputs
        return out_grad * n * a ** n if bug else out_grad * n * a ** (n - 1)
    f, vjp = to_vjp(pow_compute, pow_gradient)
    return gradcheck.check_vjp(f, vjp, [away_from_zero(r(2, 5), 0.3), 3])


@case("needle DivScalar(2.5), gradient out_grad * scalar where out_grad / scalar belongs", "a",
      "constant factor")
def _(bug):
    r = draws(8036)

    def div_compute(a, scalar):
        return a / scalar

    def div_gradient(out_grad, node, scalar):
        return out_grad * scalar if bug else out_grad / scalar
    f, vjp = to_vjp(div_compute, div_gradient)
    return gradcheck.check_vjp(f, vjp, [r(3, 3), 2.5])


# ===== models ========================================================================================
family("models")


class TwoLayerNet:
    """affine - relu - affine - softmax, params in a dict, loss with 0.5 * reg * sum(W**2). `bugs` names
    the mistakes in its gradients."""

    def __init__(self, dims, seed, reg, bugs=()):
        rng = np.random.default_rng(seed)
        D, Hd, C = dims
        self.params = {"W1": 0.5 * rng.standard_normal((D, Hd)), "b1": 0.1 * rng.standard_normal(Hd),
                       "W2": 0.5 * rng.standard_normal((Hd, C)), "b2": 0.1 * rng.standard_normal(C)}
        self.reg, self.bugs = reg, set(bugs)

    def loss(self, X, y):
        p = self.params
        N = X.shape[0]
        z1 = X @ p["W1"] + p["b1"]
        h1 = np.maximum(z1, 0.0)
        probs = row_softmax(h1 @ p["W2"] + p["b2"])
        loss = -np.log(probs[np.arange(N), y]).mean()
        loss += 0.5 * self.reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        dscores = probs.copy()
        dscores[np.arange(N), y] -= 1.0
        if "no / N" not in self.bugs:
            dscores /= N
        grads = {}
        grads["W2"] = (z1 if "dW2 from z1" in self.bugs else h1).T @ dscores + self.reg * p["W2"]
        grads["b2"] = dscores.sum(axis=0)
        dz1 = (dscores @ p["W2"].T) * (z1 > 0)
        grads["W1"] = X.T @ dz1
        if "no reg on W1" not in self.bugs:
            grads["W1"] += self.reg * p["W1"]
        grads["b1"] = dz1.mean(axis=0) if "db1 mean" in self.bugs else dz1.sum(axis=0)
        return loss, grads


def net_case(seed, dims, reg, bugs, N):
    """The net and a batch kept off relu's kinks."""
    net = TwoLayerNet(dims, seed, reg, bugs)
    rng = np.random.default_rng(seed + 100)
    for _ in range(200):
        X = rng.standard_normal((N, dims[0]))
        if np.all(np.abs(X @ net.params["W1"] + net.params["b1"]) > 0.05):
            break
    y = rng.integers(0, dims[2], N)
    return gradcheck.check_model(net, X, y)


@case("two-layer net (check_model), reg 0.1, whose W1 gradient forgets reg * W1", 'params["W1"]',
      "regularisation")
def _(bug):
    return net_case(8037, (3, 4, 3), 0.1, {"no reg on W1"} if bug else (), 5)


@case("two-layer net (check_model) whose db1 is dz1.mean(axis=0)", 'params["b1"]', "one over rows")
def _(bug):
    return net_case(8038, (4, 3, 3), 0.05, {"db1 mean"} if bug else (), 6)


@case("two-layer net (check_model), reg 0.2, dscores without / N, its reg * W2 right", 'params["W2"]',
      "data term factor")
def _(bug):
    return net_case(8039, (3, 5, 4), 0.2, {"no / N"} if bug else (), 4)


# No label: dW2 from the pre-activation z1 for h1 = relu(z1) is the truth plus the negative z1's part,
# which no cause's sentence describes (not a mask on the claim, not a computed form of a scale).
@case("two-layer net (check_model) whose dW2 is z1.T @ dscores, the pre-relu z1 for h1", 'params["W2"]')
def _(bug):
    return net_case(8040, (4, 4, 3), 0.1, {"dW2 from z1"} if bug else (), 5)


# ===== mixes: two bugs at once =======================================================================
family("mix")


@case("mix: relu(x @ W), W (4, 4), backward dx = dout @ W with no relu mask", "x", "untransposed matrix", "mask")
def _(bug):
    r = draws(8041)
    W = r(4, 4)
    x = r(5, 4)
    z = x @ W
    x = x[np.all(np.abs(z) > 0.05, axis=1)][:3]
    assert len(x) == 3

    def relu_fc_fwd(x, W):
        z = x @ W
        return np.maximum(z, 0.0), (x, W, z)

    def relu_fc_bwd(dout, cache):
        x, W, z = cache
        dz = dout * (z > 0)
        dx = dout @ W if bug else dz @ W.T
        return dx, x.T @ dz
    return gradcheck.check_layer(relu_fc_fwd, relu_fc_bwd, [x, W])


@case("mix: softmax cross-entropy (N=4, C=3) gradient p: the - 1 at the label and the / N both forgotten",
      "scores", "rows", "correct class term")
def _(bug):
    r = draws(8042)
    y = np.array([2, 0, 1, 0])

    def ce(scores, y):
        p = row_softmax(scores)
        return -np.mean(np.log(p[np.arange(len(y)), y]))

    def ce_grad(scores, y):
        p = row_softmax(scores)
        if bug:
            return p
        p[np.arange(len(y)), y] -= 1.0
        return p / len(y)
    return gradcheck.check_function(ce, ce_grad, [r(4, 3), y])


@case("mix: embedding W[idx] * sqrt(d), d = 9, with repeats, backward dW[idx] += dout (no add.at, no sqrt(d))",
      "W", "repeated indices", "constant factor", "one over the square root of a size")
def _(bug):
    r = draws(8043)
    fwd, bwd = scaled_lookup(np.array([[1, 3, 1], [0, 3, 2]]), {"scale forgotten", "dW[idx] +="} if bug else ())
    return gradcheck.check_layer(fwd, bwd, [r(4, 9)])


@case("mix: tanh rnn step (D = H = 4) with dz = dout * (1 - z**2) on the pre-activation and dx = dz @ Wx",
      "x", "input for output", "untransposed matrix")
def _(bug):
    r = draws(8044)

    def step_fwd(x, h, Wx, Wh):
        z = x @ Wx + h @ Wh
        return np.tanh(z), (x, h, Wx, Wh, z)

    def step_bwd(dout, cache):
        x, h, Wx, Wh, z = cache
        if bug:
            dz = dout * (1 - z ** 2)
            dx = dz @ Wx
        else:
            dz = dout * (1 - np.tanh(z) ** 2)
            dx = dz @ Wx.T
        return dx, dz @ Wh.T, x.T @ dz, h.T @ dz
    return gradcheck.check_layer(step_fwd, step_bwd, [r(3, 4), r(3, 4), 0.5 * r(4, 4), 0.5 * r(4, 4)])


@case("mix: 2x2 average pool stride 2 (x (2, 1, 4, 4)), dx windows at i for i * 2 and no / 4", "x",
      "constant factor", "window stride")
def _(bug):
    r = draws(8045)

    def avg_fwd(x):
        N, C, H, W = x.shape
        return x.reshape(N, C, H // 2, 2, W // 2, 2).mean(axis=(3, 5)), x.shape

    def avg_bwd(dout, shape):
        dx = np.zeros(shape)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                g = dout[:, :, i, j][:, :, None, None]
                if bug:
                    dx[:, :, i:i + 2, j:j + 2] += g
                else:
                    dx[:, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2] += g / 4.0
        return dx
    return gradcheck.check_layer(avg_fwd, avg_bwd, [r(2, 1, 4, 4)])


# ===== running ======================================================================================
if __name__ == "__main__":
    main(CASES, __doc__)
