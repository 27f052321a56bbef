"""A ninth held-out set of 45 buggy numpy layers: does the black-box diagnosis name the bug, and does it mislead?

    python benchmarks/heldout_diagnoses_9.py [--verbose]    # the measurement (--verbose: each diagnosis)
    python benchmarks/heldout_diagnoses_9.py --self-check   # every right layer passes, every buggy one fails

Written blind, apart from the other sets and from tests/diagnose/: of the other held-out sets only
benchmarks/heldout_diagnoses_5.py was read, for its format alone (the harness, `@case`, `family`, a right
layer with its bug behind a flag, `main`); of the diagnosis only docs/diagnoses.md and the names of
gradcheck.diagnose.hypotheses.HYPOTHESES were read. The layers are new (other layers, code, shapes and
names, seeds 7901..7945, one per case), written as a student writes them from memory, their bugs chosen
for being mistakes students make, not for being easy or hard to diagnose; nothing was tuned to them.
40 layers have one bug, 5 ("mix") have two at once. The families (cases): activations 4, affine and
conv 4, pooling 4, normalisation 4, losses 4, attention 4, rnn and lstm 4, embeddings 4, needle ops 4
(compute/gradient functions in needle's style, made into check_vjp calls), models 4 (check_model on a
CS231n-style two-layer net with a params dict, loss(X, y) -> (loss, grads) and L2 regularisation), and
mix 5. Every case is a right layer with its bug behind a flag, so the right version is checked too.

The labels were written first and blind: each case lists every cause (a HYPOTHESES name, or "wrong
steps", told outside the table) whose sentence and scope in docs/diagnoses.md would correctly describe
its bug for the case's variable (for a mix, the causes of either bug), decided from the bug's nature and
the docs alone, before any diagnosis of these layers was run; only --self-check (exit codes) was run
while writing them. 3 cases were bugs that no cause described, and named none (each says so in a comment):
layer norm's dx with dout where dout * gamma belongs, binary cross-entropy on probabilities given the
logits' gradient (p - y) / N, and an lstm step's dprev_c = dc without the forget gate f (the review below
labelled the first).
A diagnosis is
- named: its cause is one of those (for a mix, naming either bug);
- honest: no mistake named, only a count of the right entries (or none);
- misleading: it names a mistake that is not the bug.

Measured once, blind, on main at f19183f (2026-12-07, after the labels' review above): named 38, honest 7,
misleading 0 of 45. The 2 cases that name no cause are among the honest, so 38 of the 43 nameable were named.
Honest besides those two: the padded conv2d's dx cropped as [:-2, :-2] for [1:-1, 1:-1], the rnn's
dWx = x[:, t].T @ dz (= for +=), the H = C = 3 tanh net's da1 = dscores @ W2, the affine-relu mix without
its mask and averaged over N, and the overlapping 2x2 average pool mix assigned with = and without its / 4.
The set is seen from here on: a development set, whose later figures are not held-out ones.

Labels reviewed blind against the table of 2026-12-07 (main at 9e42fa6) before measurement, from the bugs'
code and the causes' sentences and scope alone (only --self-check run; no diagnosis seen): added "local
gradient factor" to layer norm's dx computed from dout where dout * gamma belongs (peels.py's parameter
forgotten on dout, "it lacks gamma on dout: it is computed from dout where dout * gamma belongs ... as a
norm's gamma left out of dxhat", said under that cause: tests/diagnose/test_peels.py's layer norm without
gamma in dxhat alone, the same bug; its comment "no cause describes this one" predates it), and "derivative
form" to the leaky relu (slope 0.1) whose backward uses 0.01 (leaky relu is catalogued, its slope read off
the values, and 0.01 for 0.1 is one constant of its derivative off by a decimal, the entry's own kind of
slip; "sign region" stays, the first in the table's order, as test_derivative_forms.py's "named mistakes
keep their own names" says of a leaky slope: the slip is also one node of the derivative changed). No label
removed. The flagged labels are kept: "wrong steps" on the tanh rnn whose dWh pairs dz_t with hs[t + 1] (that
cause's own example, hs[t + 1].T @ dz for hs[t].T @ dz; the states are the output and Wx (3, 3) has at least
as many rows as columns; it is a cause, told outside the HYPOTHESES table by layers.py); "derivative form" on
the last mix (tanh's 1 - h for 1 - h**2 is the entry's own "1 - out where 1 - out**2", and products.py puts
that entry among the mistakes read inside a product with an input, an rnn's z = x @ Wx + h @ Wh + b offered
whole, dprev_h = G @ Wh.T with G (4, 3) recovered through the square Wh, whose untransposed use is undone as
the second mistake); the embedding mix with D = 4 stays without "one over the square root of a size" (that
entry's d is a perfect square from 9 on where it is an input's last axis, and 4 is W's last axis: outside
its scope; the forgotten sqrt(4) is "constant factor"'s forward's scale c missing, c · W[idx], and "twice or
half"); needle PowerScalar(3) keeps "local gradient factor" (a power's k·u**(k−1) with k missing), "one over
a data number" (n = 3 is a number among the call's inputs, its factor forgotten) and "constant factor" (1/k
where the truth is a power's k·u**(k−1), said as k missing: that entry's own example a**(n - 1) for
n * a**(n - 1)). Not added: "local gradient factor", "activation for its derivative", "input for output" or
"output for input" to binary cross-entropy on probabilities (the claim is the truth times p(1 - p), p the
input: no factor u, 1/u, log u or 1/log u, and none of the forms' ratios, log's included) or to the lstm
step without f in dprev_c (f is computed, not an input; "output path" neither: the claim is wrong for
next_c's dout alone and for next_h's); "transpose" to needle Summation on a square (4, 4) (as set 8 decided:
"broadcast axis" says the bug); "mask" to the max pool unravelled as (col, row) (as set 6: "permuted" says
the exchange); "derivative form" to the tanh layer's 1 - x**2 (the input for the output, no one node of
the derivative changed) or to the sigmoid net's dz1 = da1 * a1 (a hidden layer's under a loss: outside
that entry's scope, as set 7 decided); "window stride" to the padded conv cropped at the end (its windows
are placed at the forward's stride; the crop is "permuted"'s). The other changes of the table (log's
derivative in the three activation-form entries, padded convs' window stride, derivative form before
product rule term dropped) fit no case beyond the labels above. 2 cases now name no cause: binary
cross-entropy on probabilities with the logits' gradient, and the lstm step's dprev_c = dc without f.

Labels added with two changes of the table (2026-12-07), each the bug's own description: "logits' gradient"
(new: a loss's claim the truth times p(1 - p), p the input) to binary cross-entropy on probabilities with
the logits' gradient, and "local gradient factor" to the lstm step's dprev_c = dc without f (that entry now
also reads the factor d(next_c)/d(prev_c) the forward computes, from next_c's dout alone, and names a claim
that lacks it for every dout; "Not added" above predates it). No case now names no cause.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable

import numpy as np
from heldout_harness import Cases, main

import gradcheck

CASES = Cases()
case, family = CASES.case, CASES.family


def gen(seed: int) -> Callable[..., np.ndarray]:
    """Standard normal arrays from one generator per case (the right and the buggy run see the same)."""
    rng = np.random.default_rng(seed)
    return lambda *shape: rng.standard_normal(shape)


def away(a: np.ndarray, gap: float = 0.2) -> np.ndarray:
    """`a` moved at least `gap` away from 0 (kinks at 0)."""
    return np.where(a >= 0, a + gap, a - gap)


def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ===== activations ===================================================================================
family("activations")


@case("softplus log(1 + e^x) backward dout * sigmoid(-x), the sign inside flipped", "x", "derivative form")
def _(bug):
    r = gen(7901)

    def softplus_fwd(x):
        return np.log1p(np.exp(x)), x

    def softplus_bwd(dout, x):
        return dout * sig(-x if bug else x)
    return gradcheck.check_layer(softplus_fwd, softplus_bwd, [1.2 * r(4, 5)])


@case("leaky relu (slope 0.1) backward using 0.01 on the negative side", "x", "sign region", "derivative form")
def _(bug):
    r = gen(7902)
    slope = 0.1

    def leaky_fwd(x):
        return np.where(x > 0, x, slope * x), x

    def leaky_bwd(dout, x):
        neg = 0.01 if bug else slope
        return dout * np.where(x > 0, 1.0, neg)
    return gradcheck.check_layer(leaky_fwd, leaky_bwd, [away(r(5, 4))])


@case("tanh layer caching its input, backward dout * (1 - x**2)", "x", "input for output")
def _(bug):
    r = gen(7903)

    def tanh_fwd(x):
        y = np.tanh(x)
        return y, (x, y)

    def tanh_bwd(dout, cache):
        x, y = cache
        return dout * (1 - (x if bug else y) ** 2)
    return gradcheck.check_layer(tanh_fwd, tanh_bwd, [0.8 * r(3, 6)])


@case("softsign x / (1 + |x|) backward dout / (1 + |x|), the square forgotten", "x", "derivative form")
def _(bug):
    r = gen(7904)

    def softsign_fwd(x):
        return x / (1 + np.abs(x)), x

    def softsign_bwd(dout, x):
        den = 1 + np.abs(x)
        return dout / den if bug else dout / den ** 2
    return gradcheck.check_layer(softsign_fwd, softsign_bwd, [away(r(6, 3), 0.1)])


# ===== affine, conv ==================================================================================
family("affine, conv")


@case("affine on (N, 2, 3) inputs flattened to rows, db returned as dout (N, M) unsummed", "b",
      "batch axis not summed")
def _(bug):
    r = gen(7905)

    def affine_fwd(x, w, b):
        flat = x.reshape(x.shape[0], -1)
        return flat @ w + b, (x, flat, w)

    def affine_bwd(dout, cache):
        x, flat, w = cache
        db = dout if bug else dout.sum(axis=0)
        return (dout @ w.T).reshape(x.shape), flat.T @ dout, db
    return gradcheck.check_layer(affine_fwd, affine_bwd, [r(4, 2, 3), r(6, 3), r(3)])


def conv2d_fwd(x, w, b, stride=1, pad=0):
    """Naive 2-D cross-correlation: x (N, C, H, W), w (F, C, KH, KW), b (F,)."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    F, _, KH, KW = w.shape
    Ho = (xp.shape[2] - KH) // stride + 1
    Wo = (xp.shape[3] - KW) // stride + 1
    out = np.zeros((x.shape[0], F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            patch = xp[:, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, stride, pad)


def conv2d_bwd(dout, cache, bugs=()):
    x, w, b, stride, pad = cache
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    _, _, KH, KW = w.shape
    step = 1 if "windows at i" in bugs else stride
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            g = dout[:, :, i, j]  # (N, F)
            hs, ws = i * stride, j * stride
            dw += np.tensordot(g, xp[:, :, hs:hs + KH, ws:ws + KW], axes=([0], [0]))
            dxp[:, :, i * step:i * step + KH, j * step:j * step + KW] += np.tensordot(g, w, axes=([1], [0]))
    if pad == 0:
        dx = dxp
    elif "cropped at the end" in bugs:
        dx = dxp[:, :, :-2 * pad, :-2 * pad]
    else:
        dx = dxp[:, :, pad:-pad, pad:-pad]
    return dx, dw, dout.sum(axis=(0, 2, 3))


@case("conv2d 3x3 pad 1 on (2, 2, 4, 4), dx cropped as dxp[:, :, :-2, :-2] for [1:-1, 1:-1]", "x", "permuted")
def _(bug):
    r = gen(7906)
    bugs = {"cropped at the end"} if bug else ()
    return gradcheck.check_layer(lambda x, w, b: conv2d_fwd(x, w, b, 1, 1),
                                 lambda d, c: conv2d_bwd(d, c, bugs), [r(2, 2, 4, 4), r(3, 2, 3, 3), r(3)])


@case("square linear layer (D = H = 4) with dx = dout @ W, for dout @ W.T", "x", "untransposed matrix")
def _(bug):
    r = gen(7907)

    def lin_fwd(x, W, c):
        return x @ W + c, (x, W)

    def lin_bwd(dout, cache):
        x, W = cache
        dx = dout @ W if bug else dout @ W.T
        return dx, x.T @ dout, dout.sum(axis=0)
    return gradcheck.check_layer(lin_fwd, lin_bwd, [r(5, 4), r(4, 4), r(4)])


@case("conv2d 3x3 stride 2 on (1, 2, 5, 5), dx windows placed at i for i * stride", "x", "window stride")
def _(bug):
    r = gen(7908)
    bugs = {"windows at i"} if bug else ()
    return gradcheck.check_layer(lambda x, w, b: conv2d_fwd(x, w, b, 2, 0),
                                 lambda d, c: conv2d_bwd(d, c, bugs), [r(1, 2, 5, 5), r(2, 2, 3, 3), r(2)])


# ===== pooling =======================================================================================
family("pooling")


@case("average pool 2x2 stride 2 backward spreading dout without the / 4", "x", "constant factor")
def _(bug):
    r = gen(7909)

    def avg_fwd(x):
        N, C, H, W = x.shape
        return x.reshape(N, C, H // 2, 2, W // 2, 2).mean(axis=(3, 5)), x.shape

    def avg_bwd(dout, shape):
        dx = np.repeat(np.repeat(dout, 2, axis=2), 2, axis=3)
        return dx if bug else dx / 4.0
    return gradcheck.check_layer(avg_fwd, avg_bwd, [r(2, 2, 4, 6)])


@case("1-D max pool width 3 stride 1 (overlapping), dx[window] = routed dout where += belongs", "x",
      "one slice of dout")
def _(bug):
    r = gen(7910)
    K = 3

    def maxpool_fwd(x):
        L = x.shape[-1] - K + 1
        out = np.stack([x[..., i:i + K].max(axis=-1) for i in range(L)], axis=-1)
        return out, x

    def maxpool_bwd(dout, x):
        dx = np.zeros_like(x)
        for i in range(dout.shape[-1]):
            win = x[..., i:i + K]
            hit = (win == win.max(axis=-1, keepdims=True)) * dout[..., i:i + 1]
            if bug:
                dx[..., i:i + K] = hit
            else:
                dx[..., i:i + K] += hit
        return dx
    return gradcheck.check_layer(maxpool_fwd, maxpool_bwd, [r(3, 2, 8)])


@case("max pool 2x2 stride 2 with the window argmax unravelled as (col, row)", "x", "permuted")
def _(bug):
    r = gen(7911)

    def mp_fwd(x):
        N, C, H, W = x.shape
        win = x.reshape(N, C, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(N, C, H // 2, W // 2, 4)
        return win.max(axis=-1), (x.shape, win.argmax(axis=-1))

    def mp_bwd(dout, cache):
        (N, C, H, W), arg = cache
        dx = np.zeros((N, C, H, W))
        for n in range(N):
            for c in range(C):
                for i in range(H // 2):
                    for j in range(W // 2):
                        a, b = divmod(arg[n, c, i, j], 2)
                        if bug:
                            a, b = b, a
                        dx[n, c, 2 * i + a, 2 * j + b] = dout[n, c, i, j]
        return dx
    return gradcheck.check_layer(mp_fwd, mp_bwd, [r(2, 2, 4, 4)])


@case("global average pool over (H=3, W=4), backward dividing by H only", "x", "constant factor")
def _(bug):
    r = gen(7912)

    def gap_fwd(x):
        return x.mean(axis=(2, 3)), x.shape

    def gap_bwd(dout, shape):
        H, W = shape[2:]
        scale = 1.0 / H if bug else 1.0 / (H * W)
        return np.broadcast_to(dout[:, :, None, None] * scale, shape).copy()
    return gradcheck.check_layer(gap_fwd, gap_bwd, [r(2, 3, 3, 4)])


# ===== normalisation =================================================================================
family("normalisation")


def bn_fwd(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0)
    inv = 1.0 / np.sqrt(x.var(axis=0) + eps)
    xhat = (x - mu) * inv
    return gamma * xhat + beta, (xhat, inv, gamma)


@case("batch norm with dbeta = dout.mean(axis=0)", "beta", "one over rows", "constant factor")
def _(bug):
    r = gen(7913)

    def bn_bwd(dout, cache):
        xhat, inv, gamma = cache
        N = dout.shape[0]
        dxhat = dout * gamma
        dx = inv / N * (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
        dbeta = dout.mean(axis=0) if bug else dout.sum(axis=0)
        return dx, (dout * xhat).sum(axis=0), dbeta
    return gradcheck.check_layer(bn_fwd, bn_bwd, [r(6, 4), 1 + 0.3 * r(4), r(4)])


@case("layer norm (N=4, D=5) whose dx takes its two means over axis 0 (the batch) for axis 1", "x",
      "reduction axes")
def _(bug):
    r = gen(7914)

    def ln_fwd(x, g, b):
        mu = x.mean(axis=1, keepdims=True)
        inv = 1.0 / np.sqrt(x.var(axis=1, keepdims=True) + 1e-5)
        xn = (x - mu) * inv
        return g * xn + b, (xn, inv, g)

    def ln_bwd(dout, cache):
        xn, inv, g = cache
        ax = 0 if bug else 1
        dxn = dout * g
        dx = inv * (dxn - dxn.mean(axis=ax, keepdims=True) - xn * (dxn * xn).mean(axis=ax, keepdims=True))
        return dx, (dout * xn).sum(axis=0), dout.sum(axis=0)
    return gradcheck.check_layer(ln_fwd, ln_bwd, [r(4, 5), 1 + 0.3 * r(5), r(5)])


@case("batch norm dx through the variance only, the - mean(dxhat) term (the mean's path) left out", "x",
      "mean path")
def _(bug):
    r = gen(7915)

    def bn_bwd(dout, cache):
        xhat, inv, gamma = cache
        dxhat = dout * gamma
        centred = dxhat if bug else dxhat - dxhat.mean(axis=0)
        dx = inv * (centred - xhat * (dxhat * xhat).mean(axis=0))
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
    return gradcheck.check_layer(bn_fwd, bn_bwd, [r(5, 3), 1 + 0.3 * r(3), r(3)])


# Labelled "local gradient factor" in the review: gamma left out before the projection (not a factor of the
# truth) is peels.py's parameter forgotten on dout, said under that cause.
@case("layer norm backward projecting dout where dout * gamma belongs (gamma forgotten in dx)", "x",
      "local gradient factor")
def _(bug):
    r = gen(7916)

    def ln_fwd(x, gamma, beta):
        mu = x.mean(axis=-1, keepdims=True)
        sd = np.sqrt(((x - mu) ** 2).mean(axis=-1, keepdims=True) + 1e-5)
        xh = (x - mu) / sd
        return xh * gamma + beta, (xh, sd, gamma)

    def ln_bwd(dout, cache):
        xh, sd, gamma = cache
        gx = dout if bug else dout * gamma
        D = xh.shape[-1]
        dx = (D * gx - gx.sum(axis=-1, keepdims=True) - xh * (gx * xh).sum(axis=-1, keepdims=True)) / (D * sd)
        return dx, (dout * xh).sum(axis=0), dout.sum(axis=0)
    return gradcheck.check_layer(ln_fwd, ln_bwd, [r(3, 6), 1 + 0.5 * r(6), r(6)])


# ===== losses ========================================================================================
family("losses")


@case("multiclass SVM (margin 1) gradient without the - count at each correct class", "scores",
      "correct class term")
def _(bug):
    r = gen(7917)
    y = np.array([0, 3, 1, 2, 3, 1])
    scores = r(6, 4)
    for i in range(6):  # keep every margin away from its kink at 0
        m = scores[i] - scores[i, y[i]] + 1.0
        m[y[i]] = 1.0
        scores[i] = np.where(np.abs(m) < 0.15, scores[i] + 0.3, scores[i])

    def svm(scores, y):
        N = len(y)
        margins = np.maximum(0, scores - scores[np.arange(N), y][:, None] + 1.0)
        margins[np.arange(N), y] = 0
        return margins.sum() / N

    def svm_grad(scores, y):
        N = len(y)
        margins = scores - scores[np.arange(N), y][:, None] + 1.0
        pos = (margins > 0).astype(float)
        pos[np.arange(N), y] = 0
        if not bug:
            pos[np.arange(N), y] = -pos.sum(axis=1)
        return pos / N
    return gradcheck.check_function(svm, svm_grad, {"scores": scores, "y": y}, data="y")


@case("softmax cross-entropy with dscores[:, y] -= 1 for dscores[np.arange(N), y] -= 1", "scores", "label index")
def _(bug):
    r = gen(7918)
    y = np.array([2, 0, 4, 1, 2])

    def ce(scores, y):
        p = softmax(scores)
        return -np.log(p[np.arange(len(y)), y]).mean()

    def ce_grad(scores, y):
        N = len(y)
        d = softmax(scores)
        if bug:
            d[:, y] -= 1
        else:
            d[np.arange(N), y] -= 1
        return d / N
    return gradcheck.check_function(ce, ce_grad, {"scores": r(5, 5), "y": y}, data="y")


# When written, no cause described this one (the later "logits' gradient" does): the logits' gradient (p - y) / N
# given for the probabilities' gradient.
@case("binary cross-entropy on probabilities p with gradient (p - y) / N (the logits' one)", "p", "logits' gradient")
def _(bug):
    r = gen(7919)
    p = sig(r(8))
    y = (r(8) > 0).astype(float)

    def bce(p, y):
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    def bce_grad(p, y):
        if bug:
            return (p - y) / len(p)
        return (p - y) / (p * (1 - p)) / len(p)
    return gradcheck.check_function(bce, bce_grad, {"p": p, "y": y}, data="y")


@case("cross-entropy against smoothed targets (eps 0.1), gradient (softmax - onehot) / N", "logits",
      "label smoothing")
def _(bug):
    r = gen(7920)
    y = np.array([1, 3, 0, 3, 2, 1])
    eps, C = 0.1, 4

    def smooth_ce(logits, y):
        T = np.full(logits.shape, eps / C)
        T[np.arange(len(y)), y] += 1 - eps
        logp = np.log(softmax(logits))
        return -(T * logp).sum() / len(y)

    def smooth_ce_grad(logits, y):
        T = np.zeros(logits.shape)
        T[np.arange(len(y)), y] = 1.0
        if not bug:
            T = (1 - eps) * T + eps / C
        return (softmax(logits) - T) / len(y)
    return gradcheck.check_function(smooth_ce, smooth_ce_grad, {"logits": r(6, 4), "y": y}, data="y")


# ===== attention =====================================================================================
family("attention")


def attn_fwd(q, k, v):
    d = q.shape[-1]
    A = softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(d))
    return A @ v, (q, k, v, A)


def attn_bwd(dout, cache, bugs=()):
    q, k, v, A = cache
    scale = 1.0 / np.sqrt(q.shape[-1])
    dA = dout @ np.swapaxes(v, -1, -2)
    dv = np.swapaxes(A, -1, -2) @ dout
    if "dS = A * dA" in bugs:
        dS = A * dA
    else:
        dS = A * (dA - (A * dA).sum(axis=-1, keepdims=True))
    dq = dS @ k * (1.0 if "dq unscaled" in bugs else scale)
    dk = np.swapaxes(dS, -1, -2) @ q * scale
    return dq, dk, dv


@case("attention (T=4, d=9) with dq = dS @ k, the 1/sqrt(d) forgotten", "q", "square root of a size")
def _(bug):
    r = gen(7921)
    bugs = {"dq unscaled"} if bug else ()
    return gradcheck.check_layer(attn_fwd, lambda d, c: attn_bwd(d, c, bugs), [r(4, 9), r(4, 9), r(4, 2)])


@case("attention (B=2, T=3, d=4) with dS = A * dA, the softmax's row sum left out", "q", "mean path")
def _(bug):
    r = gen(7922)
    bugs = {"dS = A * dA"} if bug else ()
    return gradcheck.check_layer(attn_fwd, lambda d, c: attn_bwd(d, c, bugs),
                                 [r(2, 3, 4), r(2, 3, 4), r(2, 3, 4)])


@case("two-head attention (H=2, T=3, dh=2) whose backward loop over heads stops at H - 1 for dq", "q",
      "one slice wrong")
def _(bug):
    r = gen(7923)

    def mh_fwd(q, k, v):
        outs, cache = [], []
        for h in range(q.shape[0]):
            o, c = attn_fwd(q[h], k[h], v[h])
            outs.append(o)
            cache.append(c)
        return np.stack(outs), cache

    def mh_bwd(dout, cache):
        dq, dk, dv = (np.zeros((len(cache),) + cache[0][i].shape) for i in range(3))
        for h, c in enumerate(cache):
            gq, gk, gv = attn_bwd(dout[h], c)
            if not (bug and h == len(cache) - 1):
                dq[h] = gq
            dk[h], dv[h] = gk, gv
        return dq, dk, dv
    return gradcheck.check_layer(mh_fwd, mh_bwd, [r(2, 3, 2), r(2, 3, 2), r(2, 3, 2)])


@case("cross-attention (Tq=3, Tk=4), dS's softmax sum taken over the queries' axis for the keys'", "k",
      "reduction axes")
def _(bug):
    r = gen(7924)

    def xattn_bwd(dout, cache):
        q, k, v, A = cache
        dA = dout @ v.T
        ax = 0 if bug else 1
        dS = A * (dA - (A * dA).sum(axis=ax, keepdims=True))
        s = 1.0 / np.sqrt(q.shape[-1])
        return dS @ k * s, dS.T @ q * s, A.T @ dout
    return gradcheck.check_layer(attn_fwd, xattn_bwd, [r(3, 2), r(4, 2), r(4, 3)])


# ===== rnn, lstm =====================================================================================
family("rnn, lstm")


def rnn_seq_fwd(x, h0, Wx, Wh, b):
    """tanh rnn over x (N, T, D) from h0 (N, H): the states (N, T, H)."""
    hs = [h0]
    for t in range(x.shape[1]):
        hs.append(np.tanh(x[:, t] @ Wx + hs[-1] @ Wh + b))
    return np.stack(hs[1:], axis=1), (x, hs, Wx, Wh)


def rnn_seq_bwd(dhs, cache, bugs=()):
    x, hs, Wx, Wh = cache
    dx, dWx, dWh = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh)
    db, carry = np.zeros(Wh.shape[0]), np.zeros_like(hs[0])
    T = x.shape[1]
    for t in reversed(range(T)):
        dz = (dhs[:, t] + carry) * (1 - hs[t + 1] ** 2)
        dx[:, t] = dz @ Wx.T
        if "dWx =" in bugs:
            dWx = x[:, t].T @ dz
        else:
            dWx += x[:, t].T @ dz
        prev = hs[t + 1] if "hs[t + 1] for dWh" in bugs else hs[t]
        dWh += prev.T @ dz
        db += dz.sum(axis=0)
        carry = dz @ Wh.T
    return dx, carry, dWx, dWh, db


@case("tanh rnn (T=3) with dWx = x[:, t].T @ dz in its loop over time (= for +=)", "Wx", "one slice of dout")
def _(bug):
    r = gen(7925)
    bugs = {"dWx ="} if bug else ()
    return gradcheck.check_layer(rnn_seq_fwd, lambda d, c: rnn_seq_bwd(d, c, bugs),
                                 [r(2, 3, 3), r(2, 4), 0.5 * r(3, 4), 0.4 * r(4, 4), 0.1 * r(4)])


@case("single rnn step with dprev_h = dz @ Wh, for dz @ Wh.T", "prev_h", "untransposed matrix")
def _(bug):
    r = gen(7926)

    def step_fwd(x, prev_h, Wx, Wh, b):
        h = np.tanh(x @ Wx + prev_h @ Wh + b)
        return h, (x, prev_h, Wx, Wh, h)

    def step_bwd(dh, cache):
        x, prev_h, Wx, Wh, h = cache
        dz = dh * (1 - h * h)
        dprev = dz @ Wh if bug else dz @ Wh.T
        return dz @ Wx.T, dprev, x.T @ dz, prev_h.T @ dz, dz.sum(axis=0)
    return gradcheck.check_layer(step_fwd, step_bwd, [r(3, 2), r(3, 4), 0.5 * r(2, 4), 0.5 * r(4, 4), 0.1 * r(4)])


# When written, no cause described this one (the later reading of "local gradient factor" does): dprev_c = dc,
# the forget gate f (computed by the forward) not applied.
@case("lstm step (outputs next_h, next_c) with dprev_c = dc, the * f forgotten", "prev_c", "local gradient factor")
def _(bug):
    r = gen(7927)

    def lstm_fwd(x, prev_h, prev_c, W, U, b):
        n = prev_h.shape[1]
        z = x @ W + prev_h @ U + b
        ig, fg, og = sig(z[:, :n]), sig(z[:, n:2 * n]), sig(z[:, 2 * n:3 * n])
        gg = np.tanh(z[:, 3 * n:])
        c2 = fg * prev_c + ig * gg
        th = np.tanh(c2)
        return og * th, c2, (x, prev_h, prev_c, W, U, ig, fg, og, gg, th)

    def lstm_bwd(dh2, dc2, cache):
        x, h, c, W, U, ig, fg, og, gg, th = cache
        dc = dc2 + dh2 * og * (1 - th ** 2)
        dz = np.hstack([dc * gg * ig * (1 - ig), dc * c * fg * (1 - fg), dh2 * th * og * (1 - og),
                        dc * ig * (1 - gg ** 2)])
        dprev_c = dc if bug else dc * fg
        return dz @ W.T, dz @ U.T, dprev_c, x.T @ dz, h.T @ dz, dz.sum(axis=0)
    return gradcheck.check_layer(lstm_fwd, lstm_bwd,
                                 [r(2, 3), r(2, 2), r(2, 2), 0.5 * r(3, 8), 0.5 * r(2, 8), 0.2 * r(8)])


@case("tanh rnn (T=4) whose dWh pairs dz_t with hs[t + 1] for hs[t] (the state one step late)", "Wh",
      "wrong steps")
def _(bug):
    r = gen(7928)
    bugs = {"hs[t + 1] for dWh"} if bug else ()
    return gradcheck.check_layer(rnn_seq_fwd, lambda d, c: rnn_seq_bwd(d, c, bugs),
                                 [r(2, 4, 3), r(2, 3), 0.5 * r(3, 3), 0.5 * r(3, 3), 0.1 * r(3)])


# ===== embeddings ====================================================================================
family("embeddings")


@case("embedding lookup (idx with repeats) with dW[idx] += dout for np.add.at", "W", "repeated indices")
def _(bug):
    r = gen(7929)
    idx = np.array([[0, 3, 3], [5, 1, 0]])

    def emb_fwd(W, idx):
        return W[idx], (W.shape, idx)

    def emb_bwd(dout, cache):
        shape, idx = cache
        dW = np.zeros(shape)
        if bug:
            dW[idx] += dout
        else:
            np.add.at(dW, idx, dout)
        return (dW,)
    return gradcheck.check_layer(emb_fwd, emb_bwd, [r(6, 3), idx])


@case("embedding idx (N=3, T=3) with np.add.at(dW, idx.T, dout)", "W", "lookup index")
def _(bug):
    r = gen(7930)
    idx = np.array([[1, 4, 0], [2, 2, 6], [5, 3, 1]])

    def emb_fwd(W, idx):
        return W[idx], (W.shape, idx)

    def emb_bwd(dout, cache):
        shape, idx = cache
        dW = np.zeros(shape)
        np.add.at(dW, idx.T if bug else idx, dout)
        return (dW,)
    return gradcheck.check_layer(emb_fwd, emb_bwd, [r(7, 2), idx])


@case("transformer embedding W[idx] * sqrt(D) (D=9), dW accumulated without the sqrt(D)", "W",
      "one over the square root of a size", "constant factor")
def _(bug):
    r = gen(7931)
    idx = np.array([4, 0, 2, 0, 3])

    def emb_fwd(W, idx):
        return W[idx] * np.sqrt(W.shape[1]), (W.shape, idx)

    def emb_bwd(dout, cache):
        shape, idx = cache
        dW = np.zeros(shape)
        np.add.at(dW, idx, dout if bug else dout * np.sqrt(shape[1]))
        return (dW,)
    return gradcheck.check_layer(emb_fwd, emb_bwd, [r(5, 9), idx])


@case("token + learned position embedding E[idx] + P[None], dP = dout[0] (the first sequence only)", "P",
      "one slice of dout")
def _(bug):
    r = gen(7932)
    idx = np.array([[2, 0, 1, 4], [3, 3, 0, 2], [1, 4, 4, 0]])

    def tokpos_fwd(E, P, idx):
        return E[idx] + P[None], (E.shape, idx)

    def tokpos_bwd(dout, cache):
        shape, idx = cache
        dE = np.zeros(shape)
        np.add.at(dE, idx, dout)
        dP = dout[0] if bug else dout.sum(axis=0)
        return dE, dP
    return gradcheck.check_layer(tokpos_fwd, tokpos_bwd, [r(5, 3), r(4, 3), idx])


# ===== needle ops ====================================================================================
family("needle ops")

# needle-style ops as numpy: compute(*arrays) and gradient(out_grad, node); `vjp_of` calls them as autograd.
TensorNode = namedtuple("TensorNode", ["inputs", "cached"])


def vjp_of(compute, gradient, n_arrays=1):
    """A check_vjp pair from an op's compute/gradient; arguments past `n_arrays` are the op's attributes."""
    def vjp(out_grad, *args):
        node = TensorNode(args[:n_arrays], compute(*args))
        g = gradient(out_grad, node, *args[n_arrays:])
        return g if isinstance(g, tuple) else (g,)
    return compute, vjp


@case("needle Summation(axes=(1,)) on a (4, 4), gradient broadcast_to(out_grad, shape) without the reshape",
      "a", "broadcast axis")
def _(bug):
    r = gen(7933)

    def summation_compute(a):
        return a.sum(axis=1)

    def summation_gradient(out_grad, node):
        (a,) = node.inputs
        g = out_grad if bug else out_grad.reshape(a.shape[0], 1)
        return np.broadcast_to(g, a.shape).copy()
    f, vjp = vjp_of(summation_compute, summation_gradient)
    return gradcheck.check_vjp(f, vjp, [r(4, 4)])


@case("needle PowerScalar(3) gradient out_grad * a ** (n - 1), the n forgotten", "a", "local gradient factor",
      "one over a data number", "constant factor")
def _(bug):
    r = gen(7934)

    def power_compute(a, n):
        return a ** n

    def power_gradient(out_grad, node, n):
        (a,) = node.inputs
        g = out_grad * a ** (n - 1)
        return g if bug else n * g
    f, vjp = vjp_of(power_compute, power_gradient)
    return gradcheck.check_vjp(f, vjp, [r(3, 4), 3])


@case("needle Exp gradient out_grad * a (the input) for out_grad * exp(a) (the node's value)", "a",
      "input for output")
def _(bug):
    r = gen(7935)

    def exp_compute(a):
        return np.exp(a)

    def exp_gradient(out_grad, node):
        return out_grad * (node.inputs[0] if bug else node.cached)
    f, vjp = vjp_of(exp_compute, exp_gradient)
    return gradcheck.check_vjp(f, vjp, [0.7 * r(4, 3)])


@case("needle batched MatMul (2, 3, 4) @ (4, 2), gradient for b left with its batch axis", "b",
      "batch axis not summed")
def _(bug):
    r = gen(7936)

    def matmul_compute(a, b):
        return a @ b

    def matmul_gradient(out_grad, node):
        a, b = node.inputs
        gb = np.swapaxes(a, -1, -2) @ out_grad
        return out_grad @ b.T, (gb if bug else gb.sum(axis=0))
    f, vjp = vjp_of(matmul_compute, matmul_gradient, n_arrays=2)
    return gradcheck.check_vjp(f, vjp, [r(2, 3, 4), r(4, 2)])


# ===== models ========================================================================================
family("models")


class TwoLayerNet:
    """affine - hidden activation - affine - softmax, CS231n style: params dict, loss(X, y) -> (loss, grads),
    L2 regularisation 0.5 * reg * sum(W**2). `mistakes` switches the bugs on."""

    def __init__(self, dims, seed, reg=0.0, hidden="relu", mistakes=()):
        g = np.random.default_rng(seed)
        D, H, C = dims
        self.params = {"W1": 0.5 * g.standard_normal((D, H)), "b1": 0.1 * g.standard_normal(H),
                       "W2": 0.5 * g.standard_normal((H, C)), "b2": 0.1 * g.standard_normal(C)}
        self.reg, self.hidden, self.mistakes = reg, hidden, set(mistakes)

    def loss(self, X, y):
        p = self.params
        z = X @ p["W1"] + p["b1"]
        if self.hidden == "relu":
            a = np.maximum(z, 0)
        elif self.hidden == "sigmoid":
            a = sig(z)
        else:
            a = np.tanh(z)
        scores = a @ p["W2"] + p["b2"]
        probs = softmax(scores)
        N = X.shape[0]
        loss = -np.log(probs[np.arange(N), y]).mean()
        loss += 0.5 * self.reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        ds = probs.copy()
        ds[np.arange(N), y] -= 1
        if "no / N" not in self.mistakes:
            ds /= N
        grads = {"W2": a.T @ ds, "b2": ds.sum(axis=0)}
        if "no reg on W2" not in self.mistakes:
            grads["W2"] += self.reg * p["W2"]
        da = ds @ p["W2"] if "W2 untransposed" in self.mistakes else ds @ p["W2"].T
        if self.hidden == "relu":
            dz = da if "no relu mask" in self.mistakes else da * (z > 0)
        elif self.hidden == "sigmoid":
            dz = da * a if "sigmoid derivative a" in self.mistakes else da * a * (1 - a)
        else:
            dz = da * (1 - a ** 2)
        grads["W1"] = X.T @ dz + self.reg * p["W1"]
        grads["b1"] = dz.sum(axis=0)
        return loss, grads


def kink_free(net, X):
    z = X @ net.params["W1"] + net.params["b1"]
    return bool(np.abs(z).min() > 0.02)


@case("two-layer relu net (check_model, reg 0.1) whose W2 gradient leaves out reg * W2", 'params["W2"]',
      "regularisation")
def _(bug):
    r = gen(7937)
    net = TwoLayerNet((3, 5, 4), 7964, reg=0.1, mistakes={"no reg on W2"} if bug else ())
    X = r(6, 3)
    assert kink_free(net, X)
    return gradcheck.check_model(net, X, np.array([0, 3, 1, 2, 2, 0]))


@case("two-layer tanh net (check_model, reg 0.2) whose dscores forgets the / N (reg terms right)",
      'params["W1"]', "data term factor")
def _(bug):
    r = gen(7938)
    net = TwoLayerNet((4, 3, 3), 7958, reg=0.2, hidden="tanh", mistakes={"no / N"} if bug else ())
    return gradcheck.check_model(net, r(5, 4), np.array([2, 1, 0, 0, 1]))


@case("two-layer sigmoid net (check_model) whose dz1 = da1 * a1, for da1 * a1 * (1 - a1)", 'params["W1"]',
      "activation for its derivative")
def _(bug):
    r = gen(7939)
    net = TwoLayerNet((3, 4, 2), 7959, hidden="sigmoid", mistakes={"sigmoid derivative a"} if bug else ())
    return gradcheck.check_model(net, r(6, 3), np.array([1, 0, 1, 1, 0, 0]))


@case("two-layer tanh net (check_model, H = C = 3) with da1 = dscores @ W2 for dscores @ W2.T", 'params["W1"]',
      "untransposed matrix")
def _(bug):
    r = gen(7940)
    net = TwoLayerNet((4, 3, 3), 7960, reg=0.05, hidden="tanh", mistakes={"W2 untransposed"} if bug else ())
    return gradcheck.check_model(net, r(5, 4), np.array([0, 2, 1, 2, 0]))


# ===== mixes: two bugs at once =======================================================================
family("mix")


@case("mix: affine-relu layer with dW = x.T @ dout (no relu mask) averaged over the N rows", "W", "mask",
      "one over rows", "constant factor")
def _(bug):
    r = gen(7941)

    def ar_fwd(x, W, b):
        z = x @ W + b
        return np.maximum(z, 0), (x, W, z)

    def ar_bwd(dout, cache):
        x, W, z = cache
        dz = dout * (z > 0)
        dW = x.T @ dout / x.shape[0] if bug else x.T @ dz
        return dz @ W.T, dW, dz.sum(axis=0)
    x, W, b = r(6, 3), r(3, 4), r(4)
    assert np.abs(x @ W + b).min() > 0.02
    return gradcheck.check_layer(ar_fwd, ar_bwd, [x, W, b])


@case("mix: 2x2 average pool stride 1 (overlapping), dx windows assigned with = and without the / 4", "x",
      "one slice of dout", "constant factor")
def _(bug):
    r = gen(7942)

    def ap_fwd(x):
        H, W = x.shape[-2:]
        out = np.zeros(x.shape[:-2] + (H - 1, W - 1))
        for i in range(H - 1):
            for j in range(W - 1):
                out[..., i, j] = x[..., i:i + 2, j:j + 2].mean(axis=(-2, -1))
        return out, x.shape

    def ap_bwd(dout, shape):
        dx = np.zeros(shape)
        for i in range(dout.shape[-2]):
            for j in range(dout.shape[-1]):
                share = dout[..., i, j][..., None, None] * np.ones((2, 2))
                if bug:
                    dx[..., i:i + 2, j:j + 2] = share
                else:
                    dx[..., i:i + 2, j:j + 2] += share / 4.0
        return dx
    return gradcheck.check_layer(ap_fwd, ap_bwd, [r(2, 2, 4, 4)])


@case("mix: embedding W[idx] * sqrt(D) (D=4) with dW[idx] += dout (repeats lost) and no sqrt(D)", "W",
      "repeated indices", "twice or half", "constant factor")  # sqrt(4): below the docs' 9 for a last axis
def _(bug):
    r = gen(7943)
    idx = np.array([1, 5, 1, 2, 5, 0])

    def emb_fwd(W, idx):
        return W[idx] * np.sqrt(W.shape[1]), (W.shape, idx)

    def emb_bwd(dout, cache):
        shape, idx = cache
        dW = np.zeros(shape)
        if bug:
            dW[idx] += dout
        else:
            np.add.at(dW, idx, dout * np.sqrt(shape[1]))
        return (dW,)
    return gradcheck.check_layer(emb_fwd, emb_bwd, [r(6, 4), idx])


@case("mix: softmax cross-entropy gradient with the -1 at the labels left out and no / N", "scores",
      "correct class term", "rows", "constant factor")
def _(bug):
    r = gen(7944)
    y = np.array([3, 0, 2, 2, 1])

    def ce(scores, y):
        logp = np.log(softmax(scores))
        return -logp[np.arange(len(y)), y].mean()

    def ce_grad(scores, y):
        d = softmax(scores)
        if bug:
            return d
        d[np.arange(len(y)), y] -= 1
        return d / len(y)
    return gradcheck.check_function(ce, ce_grad, {"scores": r(5, 4), "y": y}, data="y")


@case("mix: rnn step with dprev_h = dz @ Wh (untransposed) and tanh's derivative 1 - h for 1 - h**2", "prev_h",
      "untransposed matrix", "derivative form")
def _(bug):
    r = gen(7945)

    def step_fwd(x, prev_h, Wx, Wh, b):
        h = np.tanh(x @ Wx + prev_h @ Wh + b)
        return h, (x, prev_h, Wx, Wh, h)

    def step_bwd(dh, cache):
        x, prev_h, Wx, Wh, h = cache
        dz = dh * (1 - h * h)
        if bug:
            return dz @ Wx.T, (dh * (1 - h)) @ Wh, x.T @ dz, prev_h.T @ dz, dz.sum(axis=0)
        return dz @ Wx.T, dz @ Wh.T, x.T @ dz, prev_h.T @ dz, dz.sum(axis=0)
    return gradcheck.check_layer(step_fwd, step_bwd, [r(4, 3), r(4, 3), 0.5 * r(3, 3), 0.5 * r(3, 3), 0.1 * r(3)])


# ===== running ======================================================================================
if __name__ == "__main__":
    main(CASES, __doc__)
