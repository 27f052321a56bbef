"""An eighth held-out set of 45 buggy numpy layers: does the black-box diagnosis name the bug, and does it mislead?

    python benchmarks/heldout_diagnoses_8.py [--verbose]    # the measurement (--verbose: each diagnosis)
    python benchmarks/heldout_diagnoses_8.py --self-check   # every right layer passes, every buggy one fails

Written blind, apart from every earlier set and from tests/diagnose/: benchmarks/heldout_diagnoses_5.py was
read for its format only (the harness, `@case`, `family`, the right layer with its bug behind a flag), and
of the diagnosis only docs/diagnoses.md and the causes' names and sentences in
gradcheck.diagnose.hypotheses.HYPOTHESES were read; no other held-out set, no test of the diagnosis and none
of its code. The layers are new (other layers, shapes, variable names and code, seeds 7801..7845, one per
case, a net's parameters and the spaced inputs of the pools drawn from streams of the same seed), written as
a student writes them from memory, with the bugs students make (wrong local gradients, transposes, missing
masks, wrong axes, a missing or extra 1/N, regularisation factors, returns in the wrong order, accumulations
overwritten, index arithmetic, forgotten terms, wrong strides, wrong constants), chosen for being realistic,
not for being easy or hard to diagnose. 40 layers have one bug, 5 ("mix") have two at once. The families, 4
cases each but the mix's 5: activations, affine and conv, pooling, normalisation, losses, attention, rnn and
lstm, embeddings, needle ops (compute/gradient functions in needle's style, made into check_vjp calls),
models (check_model on a CS231n-style net with a params dict, model.loss(X, y) -> (loss, grads), and
regularisation), and mix. Every case is a right layer with its bug behind a flag, so the right version is
checked too.

The labels were written first and blind: each case lists every cause whose sentence and scope in
docs/diagnoses.md would correctly describe its bug for the variable read (for a mix, the causes of either
bug), decided from the bug's nature and the docs alone (a cause told outside the table, as "wrong steps",
counts as one), before any diagnosis of these layers was run; only --self-check (exit codes) was run while
writing them. 5 cases are bugs that no cause describes, and name none (each says why in a comment): the
dilated conv1d whose dx windows forget the dilation, label-smoothed cross-entropy's gradient with the hard
one-hot target, binary cross-entropy on probabilities with the logits' gradient, attention's softmax
backward with an unweighted row sum, and needle's Log gradient divided by the output. A diagnosis is
- named: its cause is one of those (for a mix, naming either bug);
- honest: no mistake named, only a count of the right entries (or none);
- misleading: it names a mistake that is not the bug.

Labels reviewed blind against the table of 2026-12-07 (main at e958478) before measurement, from the bugs'
code and the causes' sentences and scope alone (only --self-check run; no diagnosis seen): added "label
smoothing" to the label-smoothed cross-entropy whose gradient uses the hard one-hot target (a classifier's
loss of scores with integer labels against (1 - eps) * onehot + eps / C, its claim (p - onehot) / N: that
cause's own sentence and example; the comment above the case, "No cause describes this bug", predates it).
No label removed. The four flagged labels are kept: "mean path" on batch norm with the -1/2 dropped from
dvar (the variance's path is there but -2 times its truth, so the entry's first reading, statistics taken
as constants, does not fit; its second does: claim - truth is a multiple of xhat per column, set by
sum(dout * gamma * xhat), so the claim is right for every dout orthogonal to 1 and the output along axis 0
and wrong for the part of dout the variance sees; that it is also right along 1, where the truth is 0,
loosens "only those" as softmax's s * dout and the row-wise L2 norm do); "local gradient factor" on batch norm
without gamma (the claim is the truth over gamma, an input broadcasting over the features: the entry's
"1/u", which factor_inputs reads for a norm's gamma and peels.py names so, tests/diagnose/test_peels.py's
batch norm with gamma forgotten alone); "sign region" on the leaky relu net with the slopes' sides swapped
(the entry's own example, r+ = 0.05 and r- = 20 on z1's sign, inside W1's product with X, as
test_inside_products.py's leaky slope on the wrong side: whether it is read there is the measurement's
question, not the label's); "wrong steps" on the rnn whose dWh pairs dz_t with hs[t + 1] (that cause's own
example, hs[t + 1].T @ dz for hs[t].T @ dz, the states the output and Wx (4, 3) with at least as many rows
as columns). Not added: "transpose" and "permuted" to needle Summation without the reshape on a square
(4, 4) (its claim is the truth's transpose, but the bug is dout put back along the wrong axis, which
"broadcast axis" says and now comes first; set 7 counted "transpose" there as misleading); "derivative
form" to hardtanh without its upper side (hardtanh is catalogued and its x > 1 piece's 0 written 1 is one
node changed, but a mask without its upper side is the mask entry's own example, the more specific name,
as set 7's review decided for its hard tanh); "window stride" to the dilated conv1d (its windows start at
the forward's stride; their taps are contiguous where the dilation spreads them, which no entry reads);
"local gradient factor", "input for output" or "output for input" to needle Log over the output (the claim
is the truth times a / log(a): no one factor of an input, and log is none of those entries' activations)
or to binary cross-entropy on probabilities (the truth times p(1 - p), p the input: none of a factor's or
a form's ratios); "reduction axes" or "mean path" to attention's unweighted row sum (the sum is over the
right axis, of dP where P * dP belongs). The other new or wider causes (a loss's softmax over the wrong
axis, a forward's own scale forgotten, 2-D index bags, kernel layouts, a pool by reshape not transposed
back, a max pool's dx[argmax] = dout, pools' strides without a kernel, an axis of 2 with one slice 0) fit
no case beyond the labels they already have. 4 cases now name no cause: the dilated conv1d, binary
cross-entropy on probabilities with the logits' gradient, attention's unweighted row sum and needle's Log
over the output.

Measured once, blind, on main at ddfc0f3 (2026-12-07, after the labels' review above): named 37, honest 5,
misleading 3 of 45. The 4 cases that name no cause are among the honest, so 37 of the 41 nameable were named.
Misleading: softsign with its square dropped and needle PowerScalar(3) without its n, both told "product rule
term dropped" (out = x·g(x) read with g = out/x: true of the claim, not the student's slip), and needle Log
over its output, told "output for input" in exp's words. Honest besides the four: the stride 2, pad 1 conv2d
whose dx windows are added at (i, j) for (2i, 2j), and the fused affine-relu mix with dW transposed and the
mask forgotten. The set is seen from here on: a development set, whose later figures are not held-out ones.

After the measurement, when log joined the activations whose local-gradient forms are told, "output for
input" was added to needle Log over its output (1/out where 1/a belongs: the writer's own comment called it
"the output for the input in 1/x"). That label is not part of the blind figure above.

Labels added with two new causes of the table (2026-12-07), each the bug's own description: "logits' gradient"
to binary cross-entropy on probabilities with the logits' gradient (the truth times p(1 - p), p the input,
of a loss), and "unweighted softmax sum" to attention's softmax backward with the plain row sum of dP
(P * (dP - sum(dP)) for P * (dP - sum(P * dP))). With needle's Log labelled above, 1 case now names no
cause: the dilated conv1d.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable

import numpy as np
from heldout_harness import Cases, main

import gradcheck

CASES = Cases()
case, family = CASES.case, CASES.family


def gauss(seed: int) -> Callable[..., np.ndarray]:
    """Normal draws from one generator per case, so the right and the buggy run see the same inputs."""
    gen = np.random.default_rng(seed)
    return lambda *shape: gen.standard_normal(shape)


def spaced(seed: int, *shape: int, step: float = 0.25) -> np.ndarray:
    """Distinct values at least `step` apart, shuffled (no ties or near ties for a max)."""
    gen = np.random.default_rng([seed, 1])  # the case's seed, a stream of its own
    n = int(np.prod(shape))
    vals = (np.arange(n) - n / 2) * step + gen.uniform(-0.02, 0.02, n)
    return gen.permutation(vals).reshape(shape)


def push_off(a: np.ndarray, at: float = 0.0, gap: float = 0.2) -> np.ndarray:
    """a moved at least `gap` away from the kink `at`."""
    return np.where(a >= at, a + gap, a - gap)


def logistic(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax_last(z):
    z = z - z.max(axis=-1, keepdims=True)
    ez = np.exp(z)
    return ez / ez.sum(axis=-1, keepdims=True)


# ===== activations ===================================================================================
family("activations")


@case("ELU (alpha 1.3) backward with out (alpha * (exp(x) - 1)) as the negative side's slope, not out + alpha",
      "x", "derivative form")
def _(bug):
    r = gauss(7801)
    alpha = 1.3

    def elu_forward(x):
        out = np.where(x > 0, x, alpha * (np.exp(x) - 1.0))
        return out, (x, out)

    def elu_backward(dout, cache):
        x, out = cache
        slope_neg = out if bug else out + alpha
        return dout * np.where(x > 0, 1.0, slope_neg)
    return gradcheck.check_layer(elu_forward, elu_backward, [push_off(r(4, 5), gap=0.1)])


@case("tanh layer caching its output y, backward dout * (1 - tanh(y)**2)", "x", "output for input")
def _(bug):
    r = gauss(7802)

    def tanh_forward(x):
        y = np.tanh(x)
        return y, y

    def tanh_backward(dout, y):
        t = np.tanh(y) if bug else y
        return dout * (1.0 - t * t)
    return gradcheck.check_layer(tanh_forward, tanh_backward, [1.2 * r(3, 6)])


@case("softsign x / (1 + |x|) backward dout / (1 + |x|), the square dropped", "x", "derivative form")
def _(bug):
    r = gauss(7803)

    def softsign_forward(x):
        den = 1.0 + np.abs(x)
        return x / den, den

    def softsign_backward(dout, den):
        return dout / den if bug else dout / den ** 2
    return gradcheck.check_layer(softsign_forward, softsign_backward, [1.5 * r(5, 4)])


@case("hardtanh clip(x, -1, 1) backward masking only x > -1 (the upper side forgotten)", "x", "mask")
def _(bug):
    r = gauss(7804)

    def hardtanh_forward(x):
        return np.clip(x, -1.0, 1.0), x

    def hardtanh_backward(dout, x):
        keep = (x > -1.0) if bug else (x > -1.0) & (x < 1.0)
        return dout * keep
    x = 1.8 * r(6, 4)
    x = np.where(np.abs(np.abs(x) - 1.0) < 0.1, x * 1.25, x)
    return gradcheck.check_layer(hardtanh_forward, hardtanh_backward, [x])


# ===== affine, conv ==================================================================================
family("affine, conv")


@case("conv2d stride 2 pad 1 (x 2x2x5x5, w 3x2x3x3), dx windows added at (i, j) for (2i, 2j)", "x", "window stride")
def _(bug):
    r = gauss(7805)
    stride, pad = 2, 1

    def conv_forward(x, w, b):
        N, C, H, W = x.shape
        F, _, kh, kw = w.shape
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        Ho, Wo = (H + 2 * pad - kh) // stride + 1, (W + 2 * pad - kw) // stride + 1
        out = np.empty((N, F, Ho, Wo))
        for i in range(Ho):
            for j in range(Wo):
                patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
        return out, (x, w, b)

    def conv_backward(dout, cache):
        x, w, b = cache
        F, _, kh, kw = w.shape
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        dxp, dw = np.zeros_like(xp), np.zeros_like(w)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                r0, c0 = (i, j) if bug else (i * stride, j * stride)
                g = dout[:, :, i, j]
                dxp[:, :, r0:r0 + kh, c0:c0 + kw] += np.tensordot(g, w, axes=([1], [0]))
                patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                dw += np.tensordot(g, patch, axes=([0], [0]))
        return dxp[:, :, pad:-pad, pad:-pad], dw, dout.sum(axis=(0, 2, 3))
    return gradcheck.check_layer(conv_forward, conv_backward, [r(2, 2, 5, 5), 0.5 * r(3, 2, 3, 3), r(3)])


@case("linear layer in torch's layout x @ W.T + b (W out x in), dW = x.T @ dout of shape (in, out)", "W",
      "transposed shape")
def _(bug):
    r = gauss(7806)

    def linear_forward(x, W, b):
        return x @ W.T + b, (x, W)

    def linear_backward(dout, cache):
        x, W = cache
        dW = x.T @ dout if bug else dout.T @ x
        return dout @ W, dW, dout.sum(axis=0)
    return gradcheck.check_layer(linear_forward, linear_backward, [r(5, 3), r(4, 3), r(4)])


@case("conv2d stride 1 no pad (x 2x2x4x4, w 2x2x2x2), dw = ... in its loop over positions (= for +=)", "w",
      "one slice of dout")
def _(bug):
    r = gauss(7807)

    def conv_forward(x, w):
        kh, kw = w.shape[2:]
        Ho, Wo = x.shape[2] - kh + 1, x.shape[3] - kw + 1
        out = np.zeros((x.shape[0], w.shape[0], Ho, Wo))
        for i in range(Ho):
            for j in range(Wo):
                out[:, :, i, j] = np.einsum("nchw,fchw->nf", x[:, :, i:i + kh, j:j + kw], w)
        return out, (x, w)

    def conv_backward(dout, cache):
        x, w = cache
        kh, kw = w.shape[2:]
        dx, dw = np.zeros_like(x), np.zeros_like(w)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                g = dout[:, :, i, j]
                dx[:, :, i:i + kh, j:j + kw] += np.einsum("nf,fchw->nchw", g, w)
                contrib = np.einsum("nf,nchw->fchw", g, x[:, :, i:i + kh, j:j + kw])
                if bug:
                    dw = contrib
                else:
                    dw += contrib
        return dx, dw
    return gradcheck.check_layer(conv_forward, conv_backward, [r(2, 2, 4, 4), r(2, 2, 2, 2)])


# No cause describes this bug: dx is built from windows of the right kernel taps placed contiguously
# (dilation forgotten), neither another stride between windows nor a permutation of the truth's entries.
@case("dilated conv1d (dilation 2, K 3), dx windows written contiguously, the dilation forgotten", "x")
def _(bug):
    r = gauss(7808)
    dil = 2

    def dilated_forward(x, w):
        K = w.shape[2]
        span = (K - 1) * dil + 1
        Lo = x.shape[2] - span + 1
        out = np.empty((x.shape[0], w.shape[0], Lo))
        for t in range(Lo):
            out[:, :, t] = np.einsum("nck,fck->nf", x[:, :, t:t + span:dil], w)
        return out, (x, w)

    def dilated_backward(dout, cache):
        x, w = cache
        K = w.shape[2]
        span = (K - 1) * dil + 1
        dx, dw = np.zeros_like(x), np.zeros_like(w)
        for t in range(dout.shape[2]):
            g = dout[:, :, t]
            taps = slice(t, t + K) if bug else slice(t, t + span, dil)
            dx[:, :, taps] += np.einsum("nf,fck->nck", g, w)
            dw += np.einsum("nf,nck->fck", g, x[:, :, t:t + span:dil])
        return dx, dw
    return gradcheck.check_layer(dilated_forward, dilated_backward, [r(2, 2, 9), r(3, 2, 3)])


# ===== pooling =======================================================================================
family("pooling")


@case("average pool 2x2 stride 2 backward spreading dout with np.tile for np.repeat", "x", "permuted")
def _(bug):
    r = gauss(7809)

    def avg_forward(x):
        N, C, H, W = x.shape
        return x.reshape(N, C, H // 2, 2, W // 2, 2).mean(axis=(3, 5)), None

    def avg_backward(dout, cache):
        if bug:
            spread = np.tile(dout, (1, 1, 2, 2))
        else:
            spread = dout.repeat(2, axis=2).repeat(2, axis=3)
        return spread / 4.0
    return gradcheck.check_layer(avg_forward, avg_backward, [r(2, 2, 4, 6)])


@case("1-D max pool, window 3 stride 1 (overlapping), dx[..., t:t+3] = for += in the backward", "x",
      "one slice of dout")
def _(bug):
    def maxpool_forward(x):
        Lo = x.shape[2] - 2
        wins = np.stack([x[:, :, t:t + 3] for t in range(Lo)], axis=2)  # (N, C, Lo, 3)
        return wins.max(axis=3), (x, wins.argmax(axis=3))

    def maxpool_backward(dout, cache):
        x, arg = cache
        dx = np.zeros_like(x)
        for t in range(dout.shape[2]):
            routed = (np.arange(3) == arg[:, :, t, None]) * dout[:, :, t, None]
            if bug:
                dx[:, :, t:t + 3] = routed
            else:
                dx[:, :, t:t + 3] += routed
        return dx
    return gradcheck.check_layer(maxpool_forward, maxpool_backward, [spaced(7810, 2, 2, 7)])


@case("global average pool over (H, W) = (3, 4), backward dividing by H only", "x", "constant factor")
def _(bug):
    r = gauss(7811)

    def gap_forward(x):
        return x.mean(axis=(2, 3)), x.shape

    def gap_backward(dout, shape):
        N, C, H, W = shape
        denom = H if bug else H * W
        return np.broadcast_to(dout[:, :, None, None] / denom, shape).copy()
    return gradcheck.check_layer(gap_forward, gap_backward, [r(2, 3, 3, 4)])


@case("max pool 2x2 stride 2 backward repeating dout to every window entry, the argmax mask forgotten", "x",
      "mask")
def _(bug):
    def pool_forward(x):
        N, C, H, W = x.shape
        out = x.reshape(N, C, H // 2, 2, W // 2, 2).max(axis=(3, 5))
        return out, (x, out)

    def pool_backward(dout, cache):
        x, out = cache
        up = dout.repeat(2, axis=2).repeat(2, axis=3)
        if bug:
            return up
        return up * (x == out.repeat(2, axis=2).repeat(2, axis=3))
    return gradcheck.check_layer(pool_forward, pool_backward, [spaced(7812, 2, 2, 4, 4)])


# ===== normalisation =================================================================================
family("normalisation")


# The variance's path is wrong (-2 times its term): labelled "mean path" when that cause read "missing or
# wrong"; relabelled "statistic path factor" once "mean path" was kept to a statistic held constant and a
# path off by a clean factor became that cause (its sentence says the -1/2 is missing).
@case("batch norm staged backward, dvar without the -1/2 of (var + eps)**-1/2's derivative", "x",
      "statistic path factor")
def _(bug):
    r = gauss(7813)
    eps = 1e-5

    def bn_forward(x, gamma, beta):
        mu = x.mean(axis=0)
        xc = x - mu
        var = (xc ** 2).mean(axis=0)
        istd = (var + eps) ** -0.5
        return gamma * xc * istd + beta, (xc, istd, gamma)

    def bn_backward(dout, cache):
        xc, istd, gamma = cache
        N = xc.shape[0]
        dxhat = dout * gamma
        half = 1.0 if bug else -0.5
        dvar = np.sum(dxhat * xc, axis=0) * half * istd ** 3
        dmu = -np.sum(dxhat * istd, axis=0) + dvar * np.mean(-2.0 * xc, axis=0)
        dx = dxhat * istd + dvar * 2.0 * xc / N + dmu / N
        return dx, np.sum(dout * xc * istd, axis=0), dout.sum(axis=0)
    return gradcheck.check_layer(bn_forward, bn_backward, [r(5, 3) + 0.5, 1.0 + 0.3 * r(3), r(3)])


@case("group norm (N 2, C 4, L 3) in 2 groups, backward with its means over each channel's L only", "x",
      "reduction axes")
def _(bug):
    r = gauss(7814)
    G = 2

    def gn_forward(x):
        N, C, L = x.shape
        xg = x.reshape(N, G, C // G * L)
        mu = xg.mean(axis=2, keepdims=True)
        inv = 1.0 / np.sqrt(xg.var(axis=2, keepdims=True) + 1e-5)
        xhat = ((xg - mu) * inv).reshape(N, C, L)
        return xhat, (xhat, inv)

    def gn_backward(dout, cache):
        xhat, inv = cache
        N, C, L = xhat.shape
        if bug:  # the means of the per-channel formula
            m1 = dout.mean(axis=2, keepdims=True)
            m2 = (dout * xhat).mean(axis=2, keepdims=True)
            return inv.repeat(C // G, axis=1) * (dout - m1 - xhat * m2)
        dg, hg = dout.reshape(N, G, -1), xhat.reshape(N, G, -1)
        dx = inv * (dg - dg.mean(axis=2, keepdims=True) - hg * (dg * hg).mean(axis=2, keepdims=True))
        return dx.reshape(N, C, L)
    return gradcheck.check_layer(gn_forward, gn_backward, [r(2, 4, 3)])


@case("row-wise L2 normalisation x / ||x||, backward dout / ||x|| (the norm taken as a constant)", "x",
      "mean path")
def _(bug):
    r = gauss(7815)

    def l2n_forward(x):
        nrm = np.sqrt((x * x).sum(axis=1, keepdims=True))
        y = x / nrm
        return y, (y, nrm)

    def l2n_backward(dout, cache):
        y, nrm = cache
        if bug:
            return dout / nrm
        return (dout - y * (dout * y).sum(axis=1, keepdims=True)) / nrm
    return gradcheck.check_layer(l2n_forward, l2n_backward, [r(4, 5)])


@case("batch norm one-line backward with dxhat = dout, gamma forgotten", "x", "local gradient factor")
def _(bug):
    r = gauss(7816)

    def bn_forward(x, gamma, beta):
        mu, sd = x.mean(axis=0), np.sqrt(x.var(axis=0) + 1e-5)
        xhat = (x - mu) / sd
        return gamma * xhat + beta, (xhat, sd, gamma)

    def bn_backward(dout, cache):
        xhat, sd, gamma = cache
        N = xhat.shape[0]
        dxhat = dout if bug else dout * gamma
        dx = (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (N * sd)
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
    return gradcheck.check_layer(bn_forward, bn_backward, [2.0 * r(6, 3), 1.5 + 0.4 * r(3), r(3)])


# ===== losses ========================================================================================
family("losses")


# When written, no cause described this bug (the review added "label smoothing"): the claim is (p - onehot) / N
# where (p - smoothed target) / N belongs, off by eps * (onehot - 1/C) / N at every entry, not only at the
# correct class's.
@case("label-smoothed (eps 0.1) softmax cross-entropy, gradient with the hard one-hot target", "scores",
      "label smoothing")
def _(bug):
    r = gauss(7817)
    labels = np.array([2, 0, 3, 3, 1])
    eps = 0.1

    def smooth_ce(scores, labels):
        N, C = scores.shape
        target = np.full((N, C), eps / C)
        target[np.arange(N), labels] += 1.0 - eps
        logp = np.log(softmax_last(scores))
        return -(target * logp).sum() / N

    def smooth_ce_grad(scores, labels):
        N, C = scores.shape
        target = np.zeros((N, C)) if bug else np.full((N, C), eps / C)
        target[np.arange(N), labels] += 1.0 if bug else 1.0 - eps
        return (softmax_last(scores) - target) / N
    return gradcheck.check_function(smooth_ce, smooth_ce_grad, [r(5, 4), labels])


@case("multiclass SVM (delta 1) gradient with -1 at the label for -count of the positive margins", "scores",
      "correct class term")
def _(bug):
    r = gauss(7818)
    N, C = 6, 5
    labels = np.array([0, 4, 2, 2, 1, 3])
    scores = r(N, C)
    for _ in range(20):  # every margin well away from 0
        m = scores - scores[np.arange(N), labels][:, None] + 1.0
        m[np.arange(N), labels] = 5.0
        near = np.abs(m) < 0.15
        if not near.any():
            break
        scores = scores + 0.3 * near
    margins = scores - scores[np.arange(N), labels][:, None] + 1.0
    margins[np.arange(N), labels] = 0.0
    assert np.all((np.abs(margins) > 0.1) | (np.arange(C) == labels[:, None]))
    assert ((margins > 0).sum(axis=1) != 1).sum() >= 2

    def svm_loss(scores, labels):
        n = len(labels)
        m = np.maximum(0.0, scores - scores[np.arange(n), labels][:, None] + 1.0)
        m[np.arange(n), labels] = 0.0
        return m.sum() / n

    def svm_grad(scores, labels):
        n = len(labels)
        m = scores - scores[np.arange(n), labels][:, None] + 1.0
        m[np.arange(n), labels] = 0.0
        g = (m > 0).astype(float)
        g[np.arange(n), labels] -= 1.0 if bug else g.sum(axis=1)
        return g / n
    return gradcheck.check_function(svm_loss, svm_grad, [scores, labels])


# When written, no cause described this bug (the later "logits' gradient" does): the loss takes probabilities
# p, and the claim (p - y) / N is the logits' gradient, the truth times p(1 - p), where p is the input itself.
@case("binary cross-entropy on probabilities p, gradient (p - y) / N (the form for logits)", "p", "logits' gradient")
def _(bug):
    r = gauss(7819)
    y = (r(8) > 0).astype(np.int64)
    p = logistic(1.2 * r(8))

    def bce(p, y):
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    def bce_grad(p, y):
        if bug:
            return (p - y) / len(p)
        return (p - y) / (p * (1 - p)) / len(p)
    return gradcheck.check_function(bce, bce_grad, [p, y])


@case("mean absolute error over a (4, 3) prediction, gradient sign(pred - t) without the 1/12", "pred",
      "constant factor")
def _(bug):
    r = gauss(7820)
    t = r(4, 3)
    pred = t + push_off(r(4, 3), gap=0.2)

    def mae(pred, t):
        return np.abs(pred - t).mean()

    def mae_grad(pred, t):
        g = np.sign(pred - t)
        return g if bug else g / g.size
    return gradcheck.check_function(mae, mae_grad, {"pred": pred, "t": t}, data="t")


# ===== attention =====================================================================================
family("attention")


@case("causal self-attention (T 4, d 9), dk = dS.T @ q without the 1/sqrt(d)", "k", "square root of a size",
      "constant factor")
def _(bug):
    r = gauss(7821)

    def causal_forward(q, k, v):
        T, d = q.shape
        S = q @ k.T / np.sqrt(d)
        S = np.where(np.tril(np.ones((T, T), dtype=bool)), S, -np.inf)
        P = softmax_last(S)
        return P @ v, (q, k, v, P)

    def causal_backward(dout, cache):
        q, k, v, P = cache
        c = 1.0 / np.sqrt(q.shape[1])
        dP = dout @ v.T
        dS = P * (dP - (P * dP).sum(axis=1, keepdims=True))
        dq = dS @ k * c
        dk = dS.T @ q if bug else dS.T @ q * c
        return dq, dk, P.T @ dout
    return gradcheck.check_layer(causal_forward, causal_backward, [0.5 * r(4, 9), 0.5 * r(4, 9), r(4, 9)])


# When written, no cause described this bug (the later "unweighted softmax sum" does): the softmax's backward
# subtracts the plain row sum of dP where the sum weighted by P belongs.
@case("attention (T 5, d 3) whose softmax backward is P * (dP - sum(dP)) for P * (dP - sum(P * dP))", "q",
      "unweighted softmax sum")
def _(bug):
    r = gauss(7822)

    def attn_forward(q, k, v):
        P = softmax_last(q @ k.T / np.sqrt(q.shape[1]))
        return P @ v, (q, k, v, P)

    def attn_backward(dout, cache):
        q, k, v, P = cache
        c = 1.0 / np.sqrt(q.shape[1])
        dP = dout @ v.T
        row = dP.sum(axis=1, keepdims=True) if bug else (P * dP).sum(axis=1, keepdims=True)
        dS = P * (dP - row)
        return dS @ k * c, dS.T @ q * c, P.T @ dout
    return gradcheck.check_layer(attn_forward, attn_backward, [r(5, 3), r(5, 3), r(5, 3)])


@case("two-head self-attention on (T 3, D 4), dq's heads merged by reshape without the transpose back", "q",
      "permuted")
def _(bug):
    r = gauss(7823)
    h = 2

    def split(a):
        T, D = a.shape
        return a.reshape(T, h, D // h).transpose(1, 0, 2)  # (h, T, dh)

    def mha_forward(q, k, v):
        qh, kh, vh = split(q), split(k), split(v)
        P = softmax_last(qh @ kh.transpose(0, 2, 1) / np.sqrt(qh.shape[2]))
        oh = P @ vh
        return oh.transpose(1, 0, 2).reshape(q.shape), (qh, kh, vh, P)

    def mha_backward(dout, cache):
        qh, kh, vh, P = cache
        T, D = dout.shape
        c = 1.0 / np.sqrt(qh.shape[2])
        doh = split(dout)
        dP = doh @ vh.transpose(0, 2, 1)
        dS = P * (dP - (P * dP).sum(axis=2, keepdims=True))
        dqh, dkh, dvh = dS @ kh * c, dS.transpose(0, 2, 1) @ qh * c, P.transpose(0, 2, 1) @ doh

        def merge(a, wrong=False):
            return a.reshape(T, D) if wrong else a.transpose(1, 0, 2).reshape(T, D)
        return merge(dqh, bug), merge(dkh), merge(dvh)
    return gradcheck.check_layer(mha_forward, mha_backward, [r(3, 4), r(3, 4), r(3, 4)])


@case("cross-attention (queries T 3, keys S 4, d 2) returning (dq, dv, dk) for (dq, dk, dv)", "k", "order")
def _(bug):
    r = gauss(7824)

    def xattn_forward(q, k, v):
        P = softmax_last(q @ k.T / np.sqrt(q.shape[1]))
        return P @ v, (q, k, v, P)

    def xattn_backward(dout, cache):
        q, k, v, P = cache
        c = 1.0 / np.sqrt(q.shape[1])
        dP = dout @ v.T
        dS = P * (dP - (P * dP).sum(axis=1, keepdims=True))
        dq, dk, dv = dS @ k * c, dS.T @ q * c, P.T @ dout
        return (dq, dv, dk) if bug else (dq, dk, dv)
    return gradcheck.check_layer(xattn_forward, xattn_backward, [r(3, 2), r(4, 2), r(4, 2)])


# ===== rnn, lstm =====================================================================================
family("rnn, lstm")


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    z = x @ Wx + prev_h @ Wh + b
    hn = np.tanh(z)
    return hn, (x, prev_h, Wx, Wh, z, hn)


@case("tanh rnn step (D = H = 4) with dx = dz @ Wx for dz @ Wx.T", "x", "untransposed matrix")
def _(bug):
    r = gauss(7825)

    def rnn_step_backward(dnext, cache):
        x, h, Wx, Wh, z, hn = cache
        dz = dnext * (1.0 - hn ** 2)
        dx = dz @ Wx if bug else dz @ Wx.T
        return dx, dz @ Wh.T, x.T @ dz, h.T @ dz, dz.sum(axis=0)
    return gradcheck.check_layer(rnn_step_forward, rnn_step_backward,
                                 [r(3, 4), r(3, 4), 0.5 * r(4, 4), 0.5 * r(4, 4), 0.1 * r(4)])


@case("lstm step (gates i, f, g, o) whose dc leaves out o: dnext_c + dnext_h * (1 - tanh(c)**2)", "prev_c",
      "output path")
def _(bug):
    r = gauss(7826)

    def lstm_forward(x, prev_h, prev_c, Wx, Wh, b):
        H = prev_h.shape[1]
        a = x @ Wx + prev_h @ Wh + b
        i, f = logistic(a[:, :H]), logistic(a[:, H:2 * H])
        g, o = np.tanh(a[:, 2 * H:3 * H]), logistic(a[:, 3 * H:])
        c = f * prev_c + i * g
        tc = np.tanh(c)
        return o * tc, c, (x, prev_h, prev_c, Wx, Wh, i, f, g, o, tc)

    def lstm_backward(dh, dc_next, cache):
        x, prev_h, prev_c, Wx, Wh, i, f, g, o, tc = cache
        through_h = dh * (1.0 - tc ** 2)
        dc = dc_next + (through_h if bug else through_h * o)
        da = np.hstack([dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dc * i * (1 - g ** 2),
                        dh * tc * o * (1 - o)])
        return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)
    D, H = 2, 3
    return gradcheck.check_layer(lstm_forward, lstm_backward,
                                 [r(2, D), r(2, H), r(2, H), 0.5 * r(D, 4 * H), 0.5 * r(H, 4 * H), 0.1 * r(4 * H)])


def rnn_seq_forward(x, h0, Wx, Wh, b):
    hs = [h0]
    for t in range(x.shape[1]):
        hs.append(np.tanh(x[:, t] @ Wx + hs[-1] @ Wh + b))
    return np.stack(hs[1:], axis=1), (x, hs, Wx, Wh)


def rnn_seq_backward(dhs, cache, bugs=()):
    x, hs, Wx, Wh = cache
    dx, dWx, dWh = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh)
    db, dh_next = np.zeros(Wh.shape[1]), np.zeros_like(hs[0])
    for t in range(x.shape[1] - 1, -1, -1):
        dz = (dhs[:, t] + dh_next) * (1.0 - hs[t + 1] ** 2)
        dx[:, t] = dz @ Wx.T
        if "dWx =" in bugs:
            dWx = x[:, t].T @ dz
        else:
            dWx += x[:, t].T @ dz
        dWh += (hs[t + 1] if "dWh with h_t" in bugs else hs[t]).T @ dz
        db += dz.sum(axis=0)
        dh_next = dz @ Wh.T
    return dx, dh_next, dWx, dWh, db


@case("tanh rnn over 3 steps (D 4, H 3) whose dWx = x[:, t].T @ dz in the loop over time (= for +=)", "Wx",
      "one slice of dout")
def _(bug):
    r = gauss(7827)
    bugs = {"dWx ="} if bug else ()
    return gradcheck.check_layer(rnn_seq_forward, lambda d, c: rnn_seq_backward(d, c, bugs),
                                 [r(2, 3, 4), r(2, 3), 0.5 * r(4, 3), 0.5 * r(3, 3), 0.1 * r(3)])


@case("tanh rnn over 4 steps (D 4, H 3) whose dWh pairs dz_t with h_t (hs[t + 1]) for h_(t-1)", "Wh", "wrong steps")
def _(bug):
    r = gauss(7828)
    bugs = {"dWh with h_t"} if bug else ()
    return gradcheck.check_layer(rnn_seq_forward, lambda d, c: rnn_seq_backward(d, c, bugs),
                                 [r(2, 4, 4), r(2, 3), 0.5 * r(4, 3), 0.5 * r(3, 3), 0.1 * r(3)])


# ===== embeddings ====================================================================================
family("embeddings")


@case("embedding lookup (V 6, D 3) with dW[idx] += dout, repeated tokens not accumulated", "W", "repeated indices")
def _(bug):
    r = gauss(7829)
    idx = np.array([[2, 5, 2, 0], [5, 1, 3, 2]])

    def embed_forward(W, idx):
        return W[idx], (W.shape, idx)

    def embed_backward(dout, cache):
        shape, idx = cache
        dW = np.zeros(shape)
        if bug:
            dW[idx] += dout
        else:
            np.add.at(dW, idx, dout)
        return dW
    return gradcheck.check_layer(embed_forward, embed_backward, [r(6, 3), idx])


@case("embedding with padding index 0 (its positions output 0), backward adding their dout into row 0", "W",
      "mask")
def _(bug):
    r = gauss(7830)
    idx = np.array([[3, 1, 0, 0], [4, 2, 2, 0], [1, 0, 3, 4]])

    def pad_embed_forward(W, idx):
        keep = (idx != 0)[..., None]
        return W[idx] * keep, (W.shape, idx, keep)

    def pad_embed_backward(dout, cache):
        shape, idx, keep = cache
        dW = np.zeros(shape)
        np.add.at(dW, idx, dout if bug else dout * keep)
        return dW
    return gradcheck.check_layer(pad_embed_forward, pad_embed_backward, [r(5, 2), idx])


@case("transformer embedding W[idx] * sqrt(D) (D 16), dW accumulated without the sqrt(D)", "W",
      "one over the square root of a size", "constant factor")
def _(bug):
    r = gauss(7831)
    idx = np.array([[0, 3, 4], [2, 3, 1]])

    def tok_forward(W, idx):
        return W[idx] * np.sqrt(W.shape[1]), (W.shape, idx)

    def tok_backward(dout, cache):
        shape, idx = cache
        dW = np.zeros(shape)
        np.add.at(dW, idx, dout if bug else dout * np.sqrt(shape[1]))
        return dW
    return gradcheck.check_layer(tok_forward, tok_backward, [r(5, 16), idx])


@case("mean-pooled bag of embeddings (bags of 3), dW without the 1/3 of the mean", "W", "constant factor")
def _(bug):
    r = gauss(7832)
    idx = np.array([[0, 4, 2], [3, 3, 1], [6, 5, 0], [2, 1, 6]])

    def bag_forward(W, idx):
        return W[idx].mean(axis=1), (W.shape, idx)

    def bag_backward(dout, cache):
        shape, idx = cache
        L = idx.shape[1]
        dW = np.zeros(shape)
        per = dout if bug else dout / L
        for j in range(L):
            np.add.at(dW, idx[:, j], per)
        return dW
    return gradcheck.check_layer(bag_forward, bag_backward, [r(7, 3), idx])


# ===== needle ops ====================================================================================
family("needle ops")

# needle's ops as numpy: compute(*arrays) -> array, gradient(out_grad, node) -> one gradient per input; the node
# holds the inputs and the output value, and the op's attributes are passed after the arrays.
Node = namedtuple("Node", ["inputs", "value"])


def needle_vjp(compute, gradient, n_inputs=1):
    def vjp(out_grad, *args):
        node = Node(args[:n_inputs], compute(*args))
        grads = gradient(out_grad, node, *args[n_inputs:])
        return grads if isinstance(grads, tuple) else (grads,)
    return compute, vjp


@case("needle Summation(axes=(1,)) on a (4, 4), gradient broadcast_to(out_grad, shape) without the reshape",
      "a", "broadcast axis")
def _(bug):
    r = gauss(7833)

    def summation_compute(a):
        return a.sum(axis=1)

    def summation_gradient(out_grad, node):
        (a,) = node.inputs
        g = out_grad if bug else out_grad.reshape(a.shape[0], 1)
        return np.broadcast_to(g, a.shape).copy()
    f, vjp = needle_vjp(summation_compute, summation_gradient)
    return gradcheck.check_vjp(f, vjp, [r(4, 4)])


@case("needle PowerScalar(3), gradient out_grad * a**(n - 1), the n forgotten", "a", "one over a data number",
      "constant factor", "local gradient factor")
def _(bug):
    r = gauss(7834)

    def power_compute(a, n):
        return a ** n

    def power_gradient(out_grad, node, n):
        (a,) = node.inputs
        local = a ** (n - 1) if bug else n * a ** (n - 1)
        return out_grad * local
    f, vjp = needle_vjp(power_compute, power_gradient)
    return gradcheck.check_vjp(f, vjp, [r(3, 4), 3])


# The claim is out_grad / log(a) where out_grad / a belongs (the output for the input in 1/x), the truth times
# a / log(a). When written, log was not among the activations whose forms are told; it is now (label added).
@case("needle Log, gradient out_grad / node.value (the output log(a)) for out_grad / a", "a", "output for input")
def _(bug):
    r = gauss(7835)

    def log_compute(a):
        return np.log(a)

    def log_gradient(out_grad, node):
        (a,) = node.inputs
        return out_grad / (node.value if bug else a)
    f, vjp = needle_vjp(log_compute, log_gradient)
    return gradcheck.check_vjp(f, vjp, [1.6 + np.abs(r(4, 3))])


@case("needle MatMul of a batched a (2, 3, 4) with b (4, 2), b's gradient a^T @ out_grad not summed over the batch",
      "b", "batch axis not summed")
def _(bug):
    r = gauss(7836)

    def matmul_compute(a, b):
        return a @ b

    def matmul_gradient(out_grad, node):
        a, b = node.inputs
        gb = np.swapaxes(a, -1, -2) @ out_grad
        return out_grad @ b.T, (gb if bug else gb.sum(axis=0))
    f, vjp = needle_vjp(matmul_compute, matmul_gradient, n_inputs=2)
    return gradcheck.check_vjp(f, vjp, [r(2, 3, 4), r(4, 2)])


# ===== models ========================================================================================
family("models")


class DeepNet:
    """A CS231n-style fully connected net: (affine - act) x (L - 1) - affine - loss, params W1, b1, ... in a
    dict, loss 0.5 * reg * sum(W**2) on top of a softmax (or, `regression`, a mean squared) data loss.
    `bugs` names the mistakes in loss()'s gradients."""

    def __init__(self, dims, seed, reg=0.0, act="relu", bugs=(), regression=False, slope=0.05):
        gen = np.random.default_rng([seed, 2])  # the case's seed, a stream apart from its batch's
        self.params = {}
        for k, (a, b) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            self.params[f"W{k}"] = gen.standard_normal((a, b)) / np.sqrt(a)
            self.params[f"b{k}"] = 0.1 * gen.standard_normal(b)
        self.L, self.reg, self.act, self.bugs = len(dims) - 1, reg, act, set(bugs)
        self.regression, self.slope = regression, slope

    def hidden(self, z):
        if self.act == "relu":
            return np.maximum(0.0, z)
        if self.act == "leaky":
            return np.where(z > 0, z, self.slope * z)
        return logistic(z)

    def pre_activations(self, X):
        zs, h = [], X
        for k in range(1, self.L):
            zs.append(h @ self.params[f"W{k}"] + self.params[f"b{k}"])
            h = self.hidden(zs[-1])
        return zs

    def loss(self, X, y):
        p, N = self.params, X.shape[0]
        hs, zs = [X], []
        for k in range(1, self.L):
            zs.append(hs[-1] @ p[f"W{k}"] + p[f"b{k}"])
            hs.append(self.hidden(zs[-1]))
        out = hs[-1] @ p[f"W{self.L}"] + p[f"b{self.L}"]
        if self.regression:
            diff = out - y
            data_loss = 0.5 * np.sum(diff ** 2) / N
            dout = diff / N
        else:
            prob = softmax_last(out)
            data_loss = -np.log(prob[np.arange(N), y]).mean()
            dout = prob.copy()
            dout[np.arange(N), y] -= 1.0
            dout = dout if "no 1/N" in self.bugs else dout / N
        loss = data_loss + 0.5 * self.reg * sum(np.sum(p[f"W{k}"] ** 2) for k in range(1, self.L + 1))
        grads = {}
        for k in range(self.L, 0, -1):
            W = p[f"W{k}"]
            grads[f"W{k}"] = hs[k - 1].T @ dout
            if not (k == 1 and "W1 without reg" in self.bugs):
                grads[f"W{k}"] += self.reg * W
            grads[f"b{k}"] = dout.sum(axis=0)
            if k == 1:
                break
            dh, z, h = dout @ W.T, zs[k - 2], hs[k - 1]
            if self.act == "relu":
                dout = dh * (z > 0)
            elif self.act == "leaky":
                dout = dh * (np.where(z > 0, self.slope, 1.0) if "slope sides swapped" in self.bugs
                             else np.where(z > 0, 1.0, self.slope))
            else:
                s = logistic(h) if "sigmoid of its output" in self.bugs else h
                dout = dh * s * (1.0 - s)
        return loss, grads


def kink_free_batch(net, draw, *shape):
    """The first batch drawn whose hidden pre-activations are all clear of relu's kink."""
    for _ in range(100):
        X = draw(*shape)
        if all(np.all(np.abs(z) > 0.02) for z in net.pre_activations(X)):
            return X
    raise AssertionError("no kink-free batch drawn")


@case("two-layer relu net (check_model) with 0.5 * reg * sum(W**2), grads['W1'] without its reg * W1",
      'params["W1"]', "regularisation")
def _(bug):
    r = gauss(7837)
    net = DeepNet((4, 6, 3), 7837, reg=0.3, bugs={"W1 without reg"} if bug else ())
    X = kink_free_batch(net, r, 5, 4)
    return gradcheck.check_model(net, X, np.array([2, 0, 1, 1, 2]))


@case("three-layer relu net (check_model), dscores without the 1/N of the mean loss, reg * W right",
      'params["W3"]', "data term factor")
def _(bug):
    r = gauss(7838)
    net = DeepNet((3, 4, 4, 3), 7838, reg=0.2, bugs={"no 1/N"} if bug else ())
    X = kink_free_batch(net, r, 6, 3)
    return gradcheck.check_model(net, X, np.array([0, 1, 2, 2, 1, 0]))


@case("two-layer leaky relu (slope 0.05) net (check_model), backward with the slopes' sides swapped",
      'params["W1"]', "sign region")
def _(bug):
    r = gauss(7839)
    net = DeepNet((3, 5, 4), 7839, reg=0.1, act="leaky", bugs={"slope sides swapped"} if bug else ())
    X = kink_free_batch(net, r, 6, 3)
    return gradcheck.check_model(net, X, np.array([3, 0, 1, 2, 3, 1]))


@case("two-layer sigmoid regression net (check_model, squared loss), dz1 = s(a1) * (1 - s(a1)) with a1 the output",
      'params["W1"]', "output for input")
def _(bug):
    r = gauss(7840)
    net = DeepNet((3, 4, 2), 7840, reg=0.05, act="sigmoid", regression=True,
                  bugs={"sigmoid of its output"} if bug else ())
    return gradcheck.check_model(net, r(5, 3), r(5, 2))


# ===== mixes: two bugs at once =======================================================================
family("mix")


@case("mix: softmax cross-entropy gradient without the -1 at the label and without the 1/N", "scores",
      "rows", "constant factor", "correct class term")
def _(bug):
    r = gauss(7841)
    labels = np.array([1, 3, 0, 2, 3])

    def ce(scores, labels):
        P = softmax_last(scores)
        return -np.log(P[np.arange(len(labels)), labels]).mean()

    def ce_grad(scores, labels):
        N = len(labels)
        g = softmax_last(scores)
        if bug:
            return g
        g[np.arange(N), labels] -= 1.0
        return g / N
    return gradcheck.check_function(ce, ce_grad, [r(5, 4), labels])


@case("mix: fused affine-relu with dW = dout.T @ x (transposed) and the relu mask forgotten", "W",
      "mask", "transposed shape")
def _(bug):
    r = gauss(7842)

    def affine_relu_forward(x, W, b):
        z = x @ W + b
        return np.maximum(0.0, z), (x, W, z)

    def affine_relu_backward(dout, cache):
        x, W, z = cache
        dz = dout * (z > 0)
        dW = dout.T @ x if bug else x.T @ dz
        return dz @ W.T, dW, dz.sum(axis=0)
    x, W, b = r(6, 3), r(3, 5), 0.1 * r(5)
    z = x @ W + b
    b = b + 0.3 * (np.abs(z) < 0.1).any(axis=0)
    assert np.all(np.abs(x @ W + b) > 0.02)
    return gradcheck.check_layer(affine_relu_forward, affine_relu_backward, [x, W, b])


@case("mix: layer norm dx = gamma-less dout / sd, both the mean path and gamma forgotten", "x",
      "mean path", "local gradient factor")
def _(bug):
    r = gauss(7843)

    def ln_forward(x, gamma, beta):
        mu = x.mean(axis=1, keepdims=True)
        sd = np.sqrt(x.var(axis=1, keepdims=True) + 1e-5)
        xhat = (x - mu) / sd
        return gamma * xhat + beta, (xhat, sd, gamma)

    def ln_backward(dout, cache):
        xhat, sd, gamma = cache
        if bug:
            dx = dout / sd
        else:
            g = dout * gamma
            dx = (g - g.mean(axis=1, keepdims=True) - xhat * (g * xhat).mean(axis=1, keepdims=True)) / sd
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
    return gradcheck.check_layer(ln_forward, ln_backward, [r(4, 5) + 1.0, 1.2 + 0.3 * r(5), r(5)])


@case("mix: embedding W[idx] * sqrt(D) (D 9) with dW[idx] += dout, the scale and the repeats both lost", "W",
      "repeated indices", "one over the square root of a size", "constant factor")
def _(bug):
    r = gauss(7844)
    idx = np.array([4, 0, 4, 2, 0, 1])

    def forward(W, idx):
        return W[idx] * np.sqrt(W.shape[1]), (W.shape, idx)

    def backward(dout, cache):
        shape, idx = cache
        dW = np.zeros(shape)
        if bug:
            dW[idx] += dout
        else:
            np.add.at(dW, idx, dout * np.sqrt(shape[1]))
        return dW
    return gradcheck.check_layer(forward, backward, [r(5, 9), idx])


@case("mix: tanh rnn step with dprev_h = dz @ Wh (no .T) and dz = dnext * (1 - z**2) from the pre-activation",
      "prev_h", "untransposed matrix", "input for output")
def _(bug):
    r = gauss(7845)

    def rnn_step_backward(dnext, cache):
        x, h, Wx, Wh, z, hn = cache
        dz = dnext * (1.0 - (z if bug else hn) ** 2)
        dh = dz @ Wh if bug else dz @ Wh.T
        return dz @ Wx.T, dh, x.T @ dz, h.T @ dz, dz.sum(axis=0)
    return gradcheck.check_layer(rnn_step_forward, rnn_step_backward,
                                 [r(3, 2), r(3, 4), 0.5 * r(2, 4), 0.5 * r(4, 4), 0.1 * r(4)])


# ===== running ======================================================================================
if __name__ == "__main__":
    main(CASES, __doc__)
