"""An eleventh held-out set of 45 buggy numpy layers: does the black-box diagnosis name the bug, and does it mislead?

    python benchmarks/heldout_diagnoses_11.py [--verbose]    # the measurement (--verbose: each diagnosis)
    python benchmarks/heldout_diagnoses_11.py --self-check   # every right layer passes, every buggy one fails

Written blind, apart from the other held-out sets and from tests/diagnose/ and gradcheck/diagnose/ (other
layers, other code, other shapes, seeds 8101..8145, one per case; benchmarks/heldout_diagnoses_5.py was
read for its format only, with benchmarks/heldout_harness.py, docs/diagnoses.md and the cause names of
gradcheck.diagnose.hypotheses.HYPOTHESES), as a student would write the layers from memory, bugs chosen
for being realistic, not for being easy or hard to diagnose, and not used to tune the table of mistakes.
40 layers have one bug, 5 ("mix") have two at once. The families, 4 cases each: activations, affine and
conv, pooling, normalisation, losses, attention, rnn and lstm, embeddings, needle ops (compute/gradient
functions in needle's style, made into check_vjp calls), models (check_model on CS231n-style nets with a
params dict, model.loss(X, y) -> (loss, grads), and regularisation); and mix, 5. Every case is a right
layer with its bug behind a flag, so the right version is checked too.

The labels were written first and blind: each case lists every cause (gradcheck.diagnose.hypotheses
names, and "wrong steps", told outside the table) whose sentence and scope in docs/diagnoses.md would
correctly describe its bug for the variable read (for a mix, the causes of either bug), decided from the
bug and the docs alone, before any diagnosis of these layers was run; only --self-check (exit codes) was
run while writing them. 4 cases are bugs that no cause describes, and name none; each says why in a
comment. A diagnosis is
- named: its cause is one of those (for a mix, naming either bug);
- honest: no mistake named, only a count of the right entries (or none);
- misleading: it names a mistake that is not the bug.

Labels reviewed blind against the table of 2026-12-07 (main at 9f22781) before measurement, from the bugs'
code and the causes' sentences and scope alone (no diagnosis seen): added "unweighted softmax sum" to the
attention whose softmax backward is A * (dA - sum(dA)) (today's new row, whose example it is; it named no
cause before, so 4 cases now name none, not 5); added "constant factor" to the attention (d = 16) whose dq
forgets the 1/sqrt(d) (1/c where the truth is c times a matrix product's own gradient, said as the forward's
scale c missing, as set 10's review added to its d = 9 case); added "permuted" to the needle Summation whose
out_grad is broadcast without its axis restored (the claim is exactly the truth with axes 0 and 1 exchanged,
for every dout). No label removed. Today's other new scope was checked against every case: "statistic path
factor" (the staged batch norm's std**-2 scales its variance path by std, one factor per feature and no clean
one, so it still names none, its comment saying so; the L2 normalisation's path is dropped whole, "mean path"
as before), "logits' gradient" (no loss of probabilities or logits through a sigmoid here), "local gradient
factor"'s output-path reading (the lstm's dprev_c keeps its f; its dc without dnext_c stays "output path"),
"one slice of dout"'s windows in loops run backwards and a pool's padding (no case), and "repeated indices"
and "lookup index" reaching a closure's index (every lookup here takes idx as an input). The 4 cases that
name no cause still name none: the leaky relu's constant 0.01 is no linear function of dout; the time-
distributed dense's dW holds cross terms between steps; the batch norm's std**-2 above; the tanh net's
1 - z1**2 reads tanh's output form on an intermediate, no input of the model.

Re-reviewed against main at e787cf1 for three widened scopes, from the bugs' code and the causes' sentences
alone (no diagnosis seen): no label changed. "untransposed matrix" before an activation's local gradient
(no case writes (dout @ M) * a'(z) for (dout @ M.T) * a'(z): the one untransposed square matrix is the
affine's dx, labelled already; the nets' and rnns' hidden gradients keep their .T); "one slice of dout" for
an rnn's Wx with H > D (the one case assigning dWx per step is the mix with no carry, D = 3 and H = 4, whose
label it already bore from the table's example and which the scope now covers; the rnn that skips step 0
is read on x); "wrong steps" with dz recovered from every input's truth (the one pairing bug, dWh with
hs[t + 1], labelled already, its Wx (4, 3) in the old scope too). The 4 cases that name no cause still
name none.

Measured once, blind, on main at e787cf1 (2026-12-07, after the labels' reviews above): named 39, honest 4,
misleading 2 of 45. The 4 cases that name no cause: 3 are among the honest (the leaky relu whose negative side is
the constant 0.01 without dout, the time-distributed dense whose dW sums x and dout over time before the product,
the staged batch norm whose dvar has std**-2 for std**-3), and the tanh net whose dz1 uses 1 - z1**2 is one of the
misleading, told "input for output" (the derivative written with the pre-activation z1 for the output tanh(z1):
the bug itself, but outside the sentence's scope as the review read it, an input of the call). The other
misleading case: the NLL loss whose gradient is written dlogp[:, y] = -1/N (every row's columns y), labelled
"label index", told "mask" (a mask missing). Honest besides those: the mix of a square linear layer's transposed
dW with a weight decay 0.01 * W the forward lacks. So 39 of the 41 nameable were named. The set is seen from here
on: a development set, whose later figures are not held-out ones.

Label changes after measurement (not part of the blind figure above), each where a row of docs/diagnoses.md was
widened or added and the case's diagnosis is its bug: "input for output" now says its scope covers a
pre-activation the forward computes (z = X @ W + b inside a net, as the reading already did), added to the tanh
net whose dz1 uses 1 - z1**2; "statistic path factor" now also says a path scaled by the line's own std or rms (a
power of it one off), added to the staged batch norm's std**-2 for std**-3; the new "sums before the product",
added to the time-distributed dense whose dW is x.sum(axis=1).T @ dout.sum(axis=1); the new "dout missing" (a
local gradient returned without * dout), added to the leaky relu whose negative side is the constant 0.01. No
case names no cause now.
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
    """The same array pushed at least `gap` away from 0 (a kink's side)."""
    return np.where(a >= 0, a + gap, a - gap)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax_last(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ===== activations ===================================================================================
family("activations")


@case("elu (alpha 1) backward dout * out on the negative side, the + alpha forgotten", "x", "derivative form")
def _(bug):
    r = draws(8101)
    alpha = 1.0

    def elu_forward(x):
        out = np.where(x > 0, x, alpha * (np.exp(x) - 1.0))
        return out, (x, out)

    def elu_backward(dout, cache):
        x, out = cache
        neg = out if bug else out + alpha
        return dout * np.where(x > 0, 1.0, neg)
    return gradcheck.check_layer(elu_forward, elu_backward, [off_zero(r(4, 5), 0.1)])


@case("sigmoid whose cache is the output, backward re-applying sigmoid to it: s = sigmoid(out); s * (1 - s)", "x",
      "output for input")
def _(bug):
    r = draws(8102)

    def sigmoid_forward(x):
        out = sigmoid(x)
        return out, out

    def sigmoid_backward(dout, out):
        s = sigmoid(out) if bug else out
        return dout * s * (1.0 - s)
    return gradcheck.check_layer(sigmoid_forward, sigmoid_backward, [1.5 * r(3, 6)])


# On the negative side the claim is the constant 0.01 whatever dout is (np.where(x > 0, dout, 0.01) for
# np.where(x > 0, dout, 0.01 * dout)): the local gradient there without dout. Labelled "dout missing" after the
# blind measurement (that row is newer than the set); it named no cause before.
@case("leaky relu (slope 0.01) backward np.where(x > 0, dout, 0.01), dout dropped on the negative side", "x",
      "dout missing")
def _(bug):
    r = draws(8103)
    slope = 0.01

    def leaky_forward(x):
        return np.where(x > 0, x, slope * x), x

    def leaky_backward(dout, x):
        return np.where(x > 0, dout, slope) if bug else np.where(x > 0, dout, slope * dout)
    return gradcheck.check_layer(leaky_forward, leaky_backward, [off_zero(r(5, 4), 0.1)])


# softsign is x * g(x), g = 1 / (1 + |x|): dout / (1 + |x|) is dout * out / x, the product rule's first term alone.
@case("softsign x / (1 + |x|) backward dout / (1 + |x|), the square dropped", "x", "derivative form",
      "product rule term dropped")
def _(bug):
    r = draws(8104)

    def softsign_forward(x):
        return x / (1.0 + np.abs(x)), x

    def softsign_backward(dout, x):
        denom = 1.0 + np.abs(x)
        return dout / denom if bug else dout / denom ** 2
    return gradcheck.check_layer(softsign_forward, softsign_backward, [off_zero(1.4 * r(4, 4), 0.1)])


# ===== affine, conv ==================================================================================
family("affine, conv")


@case("affine with a square weight (4, 4), dx = dout @ w for dout @ w.T", "x", "untransposed matrix")
def _(bug):
    r = draws(8105)

    def affine_forward(x, w, b):
        return x @ w + b, (x, w)

    def affine_backward(dout, cache):
        x, w = cache
        dx = dout @ w if bug else dout @ w.T
        return dx, x.T @ dout, dout.sum(axis=0)
    return gradcheck.check_layer(affine_forward, affine_backward, [r(5, 4), r(4, 4), r(4)])


@case("naive conv2d (valid, stride 1) whose dw is assigned, not accumulated, in its loop over positions", "w",
      "one slice of dout")
def _(bug):
    r = draws(8106)

    def conv_forward(x, w, b):
        F, C, K, _ = w.shape
        Ho, Wo = x.shape[2] - K + 1, x.shape[3] - K + 1
        out = np.zeros((x.shape[0], F, Ho, Wo))
        for i in range(Ho):
            for j in range(Wo):
                out[:, :, i, j] = np.einsum("nckl,fckl->nf", x[:, :, i:i + K, j:j + K], w)
        return out + b[None, :, None, None], (x, w)

    def conv_backward(dout, cache):
        x, w = cache
        K = w.shape[2]
        dx, dw = np.zeros_like(x), np.zeros_like(w)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                g = dout[:, :, i, j]
                dx[:, :, i:i + K, j:j + K] += np.einsum("nf,fckl->nckl", g, w)
                step = np.einsum("nf,nckl->fckl", g, x[:, :, i:i + K, j:j + K])
                dw = step if bug else dw + step
        return dx, dw, dout.sum(axis=(0, 2, 3))
    return gradcheck.check_layer(conv_forward, conv_backward, [r(2, 2, 4, 5), 0.5 * r(3, 2, 2, 2), r(3)])


@case("1x1 conv via einsum, w (F=5, C=3), dw = einsum(..., '->cf') of shape (C, F)", "w", "transposed shape")
def _(bug):
    r = draws(8107)

    def pointwise_forward(x, w):
        return np.einsum("nchw,fc->nfhw", x, w), (x, w)

    def pointwise_backward(dout, cache):
        x, w = cache
        dx = np.einsum("nfhw,fc->nchw", dout, w)
        dw = np.einsum("nfhw,nchw->cf", dout, x) if bug else np.einsum("nfhw,nchw->fc", dout, x)
        return dx, dw
    return gradcheck.check_layer(pointwise_forward, pointwise_backward, [r(2, 3, 3, 2), r(5, 3)])


# dW = x.sum(axis=1).T @ dout.sum(axis=1) sums over time before the product, so it holds every cross term
# x_s^T dout_t (s != t) besides the truth's sum over t of x_t^T dout_t: "sums before the product" (a label
# added after measurement; it named no cause when written).
@case("time-distributed dense x (N, T, D) @ W, dW = x.sum(axis=1).T @ dout.sum(axis=1)", "W",
      "sums before the product")
def _(bug):
    r = draws(8108)

    def dense_forward(x, W, b):
        return x @ W + b, (x, W)

    def dense_backward(dout, cache):
        x, W = cache
        if bug:
            dW = x.sum(axis=1).T @ dout.sum(axis=1)
        else:
            dW = np.einsum("ntd,ntm->dm", x, dout)
        return dout @ W.T, dW, dout.sum(axis=(0, 1))
    return gradcheck.check_layer(dense_forward, dense_backward, [r(3, 4, 2), r(2, 3), r(3)])


# ===== pooling =======================================================================================
family("pooling")


@case("average pool 2x2 stride 2 backward spreading dout with np.tile along W (np.repeat along H)", "x", "permuted")
def _(bug):
    r = draws(8109)

    def avgpool_forward(x):
        N, C, H, W = x.shape
        return x.reshape(N, C, H // 2, 2, W // 2, 2).mean(axis=(3, 5)), x.shape

    def avgpool_backward(dout, shape):
        rows = np.repeat(dout, 2, axis=2)
        spread = np.tile(rows, (1, 1, 1, 2)) if bug else np.repeat(rows, 2, axis=3)
        return spread / 4.0
    return gradcheck.check_layer(avgpool_forward, avgpool_backward, [r(2, 2, 4, 6)])


@case("max pool 2x2 stride 2 backward giving each window's dout to its top-left entry", "x", "mask", "permuted")
def _(bug):
    r = draws(8110)

    def maxpool_forward(x):
        N, C, H, W = x.shape
        win = x.reshape(N, C, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(N, C, H // 2, W // 2, 4)
        return win.max(axis=-1), (x.shape, win.argmax(axis=-1))

    def maxpool_backward(dout, cache):
        (N, C, H, W), arg = cache
        pick = np.zeros_like(arg) if bug else arg
        routed = (np.arange(4) == pick[..., None]) * dout[..., None]
        return routed.reshape(N, C, H // 2, W // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(N, C, H, W)
    x = r(2, 2, 4, 4)
    N, C, H, W = x.shape
    win = x.reshape(N, C, H // 2, 2, W // 2, 2)
    top = win.max(axis=(3, 5), keepdims=True)
    win += np.where(win == top, 0.3, 0.0)  # each window's maximum well clear of the rest
    return gradcheck.check_layer(maxpool_forward, maxpool_backward, [win.reshape(N, C, H, W)])


@case("average pool 3x3 stride 1 (overlapping) backward assigning each window's share, not adding it", "x",
      "one slice of dout")
def _(bug):
    r = draws(8111)
    K = 3

    def avgpool_forward(x):
        N, C, H, W = x.shape
        out = np.zeros((N, C, H - K + 1, W - K + 1))
        for i in range(H - K + 1):
            for j in range(W - K + 1):
                out[:, :, i, j] = x[:, :, i:i + K, j:j + K].mean(axis=(2, 3))
        return out, x.shape

    def avgpool_backward(dout, shape):
        dx = np.zeros(shape)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                share = np.broadcast_to(dout[:, :, i, j, None, None] / K ** 2, dout.shape[:2] + (K, K))
                if bug:
                    dx[:, :, i:i + K, j:j + K] = share
                else:
                    dx[:, :, i:i + K, j:j + K] += share
        return dx
    return gradcheck.check_layer(avgpool_forward, avgpool_backward, [r(2, 2, 5, 5)])


@case("global average pool (N=2, C=3, H=3, W=5) backward dividing by H only", "x", "constant factor")
def _(bug):
    r = draws(8112)

    def gap_forward(x):
        return x.mean(axis=(2, 3)), x.shape

    def gap_backward(dout, shape):
        N, C, H, W = shape
        count = H if bug else H * W
        return np.broadcast_to(dout[:, :, None, None] / count, shape).copy()
    return gradcheck.check_layer(gap_forward, gap_backward, [r(2, 3, 3, 5)])


# ===== normalisation =================================================================================
family("normalisation")


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0)
    xmu = x - mu
    var = (xmu ** 2).mean(axis=0)
    std = np.sqrt(var + eps)
    xhat = xmu / std
    return gamma * xhat + beta, (xmu, std, xhat, gamma)


def batchnorm_backward(dout, cache, bugs=()):
    """The staged (computational graph) batch norm backward."""
    xmu, std, xhat, gamma = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    power = 2 if "std**-2" in bugs else 3
    dvar = np.sum(dxhat * xmu, axis=0) * -0.5 / std ** power
    dmu = np.sum(-dxhat / std, axis=0) + dvar * np.mean(-2.0 * xmu, axis=0)
    dx = dxhat / std + dvar * 2.0 * xmu / N + dmu / N
    if "order" in bugs:
        return dx, dbeta, dgamma
    return dx, dgamma, dbeta


# dvar's std**-3 written std**-2 scales the variance's path alone by std (per feature), leaving the direct
# and the mean's paths right: "statistic path factor" with the line's own statistic as its factor (a power
# of std one too low; a label added after measurement, when the row was widened to say it).
@case("staged batch norm whose dvar uses std**-2 for std**-3", "x", "statistic path factor")
def _(bug):
    r = draws(8113)
    return gradcheck.check_layer(batchnorm_forward,
                                 lambda d, c: batchnorm_backward(d, c, {"std**-2"} if bug else ()),
                                 [2.0 * r(6, 3) + 1.0, 1.0 + 0.3 * r(3), r(3)])


@case("layer norm (over the last axis) backward copied from batch norm: its means over axis 0", "x",
      "reduction axes")
def _(bug):
    r = draws(8114)
    eps = 1e-5

    def layernorm_forward(x, g, b):
        mu = x.mean(axis=-1, keepdims=True)
        std = np.sqrt(x.var(axis=-1, keepdims=True) + eps)
        xhat = (x - mu) / std
        return g * xhat + b, (xhat, std, g)

    def layernorm_backward(dout, cache):
        xhat, std, g = cache
        dxhat = dout * g
        axis = 0 if bug else -1
        dx = (dxhat - dxhat.mean(axis=axis, keepdims=True)
              - xhat * (dxhat * xhat).mean(axis=axis, keepdims=True)) / std
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
    return gradcheck.check_layer(layernorm_forward, layernorm_backward, [r(5, 4), 1.0 + 0.2 * r(4), r(4)])


@case("L2 normalisation x / ||x|| per row, backward dout / ||x|| (the norm taken as a constant)", "x",
      "mean path")
def _(bug):
    r = draws(8115)

    def l2norm_forward(x):
        n = np.sqrt((x * x).sum(axis=1, keepdims=True))
        y = x / n
        return y, (y, n)

    def l2norm_backward(dout, cache):
        y, n = cache
        if bug:
            return dout / n
        return (dout - y * (dout * y).sum(axis=1, keepdims=True)) / n
    return gradcheck.check_layer(l2norm_forward, l2norm_backward, [r(4, 5)])


@case("batch norm backward returning (dx, dbeta, dgamma) for (dx, dgamma, dbeta)", "gamma", "order")
def _(bug):
    r = draws(8116)
    return gradcheck.check_layer(batchnorm_forward,
                                 lambda d, c: batchnorm_backward(d, c, {"order"} if bug else ()),
                                 [r(7, 4), 1.0 + 0.3 * r(4), 0.5 * r(4)])


# ===== losses ========================================================================================
family("losses")


@case("softmax cross-entropy (mean over N) with dscores = p - onehot, the / N forgotten", "scores", "rows")
def _(bug):
    r = draws(8117)
    y = np.array([2, 0, 1, 3, 3, 1])

    def ce_loss(scores, y):
        p = softmax_last(scores)
        return -np.log(p[np.arange(len(y)), y]).mean()

    def ce_grad(scores, y):
        d = softmax_last(scores)
        d[np.arange(len(y)), y] -= 1.0
        return d if bug else d / len(y)
    return gradcheck.check_function(ce_loss, ce_grad, [r(6, 4), y])


@case("multiclass SVM whose gradient counts the correct class's own margin (it is not zeroed in the mask)",
      "s", "correct class term")
def _(bug):
    r = draws(8118)
    y = np.array([1, 0, 3, 2, 1])
    N = len(y)
    scores = 1.5 * r(N, 4)
    margins = scores - scores[np.arange(N), y][:, None] + 1.0
    near = np.abs(margins) < 0.15
    near[np.arange(N), y] = False
    scores = scores + 0.3 * near  # no margin near the hinge's kink

    def svm_loss(s, y):
        m = np.maximum(0.0, s - s[np.arange(len(y)), y][:, None] + 1.0)
        m[np.arange(len(y)), y] = 0.0
        return m.sum() / len(y)

    def svm_grad(s, y):
        n = len(y)
        m = s - s[np.arange(n), y][:, None] + 1.0
        mask = (m > 0).astype(float)
        if not bug:
            mask[np.arange(n), y] = 0.0  # the correct class's own margin (always 1) is no margin
        mask[np.arange(n), y] = -mask.sum(axis=1)
        return mask / n
    return gradcheck.check_function(svm_loss, svm_grad, [scores, y])


@case("L1 loss mean(|pred - t|) over a (6, 3) array, gradient sign(pred - t) without the / n", "pred",
      "constant factor")
def _(bug):
    r = draws(8119)
    t = r(6, 3)
    pred = t + off_zero(r(6, 3), 0.1)

    def l1_loss(pred, t):
        return np.abs(pred - t).mean()

    def l1_grad(pred, t):
        g = np.sign(pred - t)
        return g if bug else g / pred.size
    return gradcheck.check_function(l1_loss, l1_grad, [pred, t], data="t")


@case("NLL loss -mean(logp[range(N), y]), gradient written dlogp[:, y] = -1/N (every row's columns y)", "logp",
      "label index")
def _(bug):
    r = draws(8120)
    y = np.array([2, 0, 3, 2, 1])

    def nll_loss(logp, y):
        return -logp[np.arange(len(y)), y].mean()

    def nll_grad(logp, y):
        d = np.zeros_like(logp)
        if bug:
            d[:, y] = -1.0 / len(y)
        else:
            d[np.arange(len(y)), y] = -1.0 / len(y)
        return d
    return gradcheck.check_function(nll_loss, nll_grad, [r(5, 4), y])


# ===== attention =====================================================================================
family("attention")


def attention_forward(q, k, v):
    A = softmax_last(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]))
    return A @ v, (q, k, v, A)


def attention_backward(dout, cache, bugs=()):
    q, k, v, A = cache
    scale = 1.0 / np.sqrt(q.shape[-1])
    dv = np.swapaxes(A, -1, -2) @ dout
    dA = dout @ np.swapaxes(v, -1, -2)
    if "softmax sum without A" in bugs:
        dS = A * (dA - dA.sum(axis=-1, keepdims=True))
    elif "softmax sum over queries" in bugs:
        dS = A * (dA - (A * dA).sum(axis=-2, keepdims=True))
    else:
        dS = A * (dA - (A * dA).sum(axis=-1, keepdims=True))
    dq = dS @ k * (1.0 if "dq unscaled" in bugs else scale)
    dk = np.swapaxes(dS, -1, -2) @ q * scale
    return dq, dk, dv


@case("attention (T=4, d=3) whose softmax backward is A * (dA - sum(dA)), the A inside the sum forgotten", "q",
      "unweighted softmax sum")
def _(bug):
    r = draws(8121)
    bugs = {"softmax sum without A"} if bug else ()
    return gradcheck.check_layer(attention_forward, lambda d, c: attention_backward(d, c, bugs),
                                 [r(4, 3), r(4, 3), r(4, 3)])


@case("attention with d = 16, dq = dS @ k without the 1/sqrt(d)", "q", "square root of a size",
      "constant factor")
def _(bug):
    r = draws(8122)
    bugs = {"dq unscaled"} if bug else ()
    return gradcheck.check_layer(attention_forward, lambda d, c: attention_backward(d, c, bugs),
                                 [0.5 * r(3, 16), 0.5 * r(3, 16), r(3, 16)])


@case("batched attention (B=2, T=3, d=4) whose softmax backward sums over the queries' axis", "k",
      "reduction axes")
def _(bug):
    r = draws(8123)
    bugs = {"softmax sum over queries"} if bug else ()
    return gradcheck.check_layer(attention_forward, lambda d, c: attention_backward(d, c, bugs),
                                 [r(2, 3, 4), r(2, 3, 4), r(2, 3, 4)])


@case("self-attention with projections x @ Wq, x @ Wk, x @ Wv (D=5, d=3), dWv = dv.T @ x of shape (3, 5)",
      "Wv", "transposed shape")
def _(bug):
    r = draws(8124)

    def selfattn_forward(x, Wq, Wk, Wv):
        out, cache = attention_forward(x @ Wq, x @ Wk, x @ Wv)
        return out, (x, Wq, Wk, Wv, cache)

    def selfattn_backward(dout, cache):
        x, Wq, Wk, Wv, inner = cache
        dq, dk, dv = attention_backward(dout, inner)
        dWv = dv.T @ x if bug else x.T @ dv
        dx = dq @ Wq.T + dk @ Wk.T + dv @ Wv.T
        return dx, x.T @ dq, x.T @ dk, dWv
    return gradcheck.check_layer(selfattn_forward, selfattn_backward,
                                 [r(4, 5), 0.6 * r(5, 3), 0.6 * r(5, 3), 0.6 * r(5, 3)])


# ===== rnn, lstm =====================================================================================
family("rnn, lstm")


@case("tanh rnn step backward da = dnext_h * (1 - next_h), the square dropped", "Wx", "derivative form")
def _(bug):
    r = draws(8125)

    def rnn_step_forward(x, prev_h, Wx, Wh, b):
        next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
        return next_h, (x, prev_h, Wx, Wh, next_h)

    def rnn_step_backward(dnext_h, cache):
        x, prev_h, Wx, Wh, next_h = cache
        da = dnext_h * (1.0 - next_h if bug else 1.0 - next_h ** 2)
        return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)
    return gradcheck.check_layer(rnn_step_forward, rnn_step_backward,
                                 [r(4, 3), r(4, 5), 0.5 * r(3, 5), 0.5 * r(5, 5), 0.1 * r(5)])


@case("lstm step backward whose dc leaves out dnext_c (only next_h's path into the cell)", "prev_c",
      "output path")
def _(bug):
    r = draws(8126)
    H = 3

    def lstm_forward(x, prev_h, prev_c, Wx, Wh, b):
        a = x @ Wx + prev_h @ Wh + b
        i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H])
        g = np.tanh(a[:, 3 * H:])
        next_c = f * prev_c + i * g
        next_h = o * np.tanh(next_c)
        return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)

    def lstm_backward(dnext_h, dnext_c, cache):
        x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
        tc = np.tanh(next_c)
        dc = dnext_h * o * (1.0 - tc ** 2)
        if not bug:
            dc = dc + dnext_c
        da = np.hstack([dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * tc * o * (1 - o),
                        dc * i * (1 - g ** 2)])
        return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)
    D = 2
    return gradcheck.check_layer(lstm_forward, lstm_backward,
                                 [r(3, D), r(3, H), r(3, H), 0.5 * r(D, 4 * H), 0.5 * r(H, 4 * H), 0.1 * r(4 * H)])


def rnn_forward(x, h0, Wx, Wh, b):
    """A tanh rnn over x (N, T, D) from h0 (N, H): the states (N, T, H)."""
    hs = [h0]
    for t in range(x.shape[1]):
        hs.append(np.tanh(x[:, t] @ Wx + hs[-1] @ Wh + b))
    return np.stack(hs[1:], axis=1), (x, hs, Wx, Wh)


def rnn_backward(dhs, cache, bugs=()):
    x, hs, Wx, Wh = cache
    T = x.shape[1]
    dx, dWx, dWh = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh)
    db, carry = np.zeros(Wh.shape[1]), np.zeros_like(hs[0])
    last = 0 if "skips step 0" in bugs else -1
    for t in range(T - 1, last, -1):
        dh = dhs[:, t] if "no carry" in bugs else dhs[:, t] + carry
        da = dh * (1.0 - hs[t + 1] ** 2)
        dx[:, t] = da @ Wx.T
        step_dWx = x[:, t].T @ da
        dWx = step_dWx if "dWx assigned" in bugs else dWx + step_dWx
        dWh += (hs[t + 1] if "next state" in bugs else hs[t]).T @ da
        db += da.sum(axis=0)
        carry = da @ Wh.T
    return dx, carry, dWx, dWh, db


def rnn_case(seed, bugs, D=3, H=4):
    r = draws(seed)
    return gradcheck.check_layer(rnn_forward, lambda d, c: rnn_backward(d, c, bugs),
                                 [r(2, 4, D), r(2, H), 0.5 * r(D, H), 0.4 * r(H, H), 0.1 * r(H)])


@case("tanh rnn over 4 steps whose backward loop is range(T - 1, 0, -1): step 0 never visited", "x",
      "one slice wrong")
def _(bug):
    return rnn_case(8127, {"skips step 0"} if bug else ())


@case("tanh rnn (D=4, H=3) whose dWh pairs each step's da with its own output hs[t + 1], not hs[t]", "Wh",
      "wrong steps")
def _(bug):
    return rnn_case(8128, {"next state"} if bug else (), D=4, H=3)


# ===== embeddings ====================================================================================
family("embeddings")


@case("embedding lookup W[idx] with idx (2, 4) holding repeats, dW[idx] += dout for np.add.at", "W",
      "repeated indices")
def _(bug):
    r = draws(8129)
    idx = np.array([[0, 3, 3, 1], [5, 0, 2, 3]])

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


def scaled_embed_forward(W, idx):
    """A transformer's token embedding W[idx] * sqrt(D)."""
    return W[idx] * np.sqrt(W.shape[1]), (W.shape, idx)


def scaled_embed_backward(dout, cache, bugs=()):
    shape, idx = cache
    dW = np.zeros(shape)
    g = dout if "no scale" in bugs else dout * np.sqrt(shape[1])
    if "plain +=" in bugs:
        dW[idx] += g
    else:
        np.add.at(dW, idx, g)
    return dW


@case("token embedding W[idx] * sqrt(D), D = 16, backward without the sqrt(D)", "W",
      "one over the square root of a size", "constant factor")
def _(bug):
    r = draws(8130)
    idx = np.array([[1, 4, 2], [3, 1, 0]])
    bugs = {"no scale"} if bug else ()
    return gradcheck.check_layer(scaled_embed_forward, lambda d, c: scaled_embed_backward(d, c, bugs),
                                 [r(5, 16), idx])


@case("token plus learned positions W[idx] + P (idx (3, 4)), dP = dout[0] (the first sequence's only)", "P",
      "one slice of dout")
def _(bug):
    r = draws(8131)
    idx = np.array([[2, 0, 1, 4], [3, 3, 0, 2], [1, 4, 4, 0]])

    def tokpos_forward(W, P, idx):
        return W[idx] + P[None], (W.shape, idx)

    def tokpos_backward(dout, cache):
        shape, idx = cache
        dW = np.zeros(shape)
        np.add.at(dW, idx, dout)
        return dW, (dout[0] if bug else dout.sum(axis=0))
    return gradcheck.check_layer(tokpos_forward, tokpos_backward, [r(5, 3), r(4, 3), idx])


@case("mean-pooled bag of embeddings W[idx].mean(axis=1) (bags of 3), backward without the / 3", "W",
      "constant factor")
def _(bug):
    r = draws(8132)
    idx = np.array([[0, 2, 5], [1, 1, 3], [4, 0, 2], [5, 3, 3]])

    def bag_forward(W, idx):
        return W[idx].mean(axis=1), (W.shape, idx)

    def bag_backward(dout, cache):
        shape, idx = cache
        L = idx.shape[1]
        dW = np.zeros(shape)
        spread = np.repeat(dout[:, None, :], L, axis=1)
        np.add.at(dW, idx, spread if bug else spread / L)
        return dW
    return gradcheck.check_layer(bag_forward, bag_backward, [r(6, 2), idx])


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


@case("needle Log gradient out_grad / node (the output log a) for out_grad / a", "a", "output for input")
def _(bug):
    r = draws(8133)

    def log_compute(a):
        return np.log(a)

    def log_gradient(out_grad, node):
        (a,) = node.inputs
        return out_grad / (node.value if bug else a)
    f, vjp = as_vjp(log_compute, log_gradient)
    return gradcheck.check_vjp(f, vjp, [np.abs(r(3, 4)) + 1.6])


# out_grad (4, 3) broadcast to (4, 4, 3) lands along axis 0 for axis 1: claim[i, j, k] = out_grad[j, k] =
# truth[j, i, k], the truth with its axes 0 and 1 exchanged for every dout, which is "permuted" too.
@case("needle Summation(axes=(1,)) of a (4, 4, 3), gradient broadcast_to(out_grad, shape) without the reshape",
      "a", "broadcast axis", "permuted")
def _(bug):
    r = draws(8134)
    axis = 1

    def summation_compute(a):
        return a.sum(axis=axis)

    def summation_gradient(out_grad, node):
        (a,) = node.inputs
        g = out_grad if bug else np.expand_dims(out_grad, axis)
        return np.broadcast_to(g, a.shape).copy()
    f, vjp = as_vjp(summation_compute, summation_gradient)
    return gradcheck.check_vjp(f, vjp, [r(4, 4, 3)])


@case("needle PowerScalar(3) gradient out_grad * scalar * node (a**3 where a**2 belongs)", "a",
      "local gradient factor")
def _(bug):
    r = draws(8135)

    def power_compute(a, scalar):
        return a ** scalar

    def power_gradient(out_grad, node, scalar):
        (a,) = node.inputs
        return out_grad * scalar * (node.value if bug else a ** (scalar - 1))
    f, vjp = as_vjp(power_compute, power_gradient)
    return gradcheck.check_vjp(f, vjp, [off_zero(r(4, 3), 0.3), 3])


@case("needle MatMul of a batched a (2, 3, 4) with b (4, 5), gradient for b not summed over the batch", "b",
      "batch axis not summed")
def _(bug):
    r = draws(8136)

    def matmul_compute(a, b):
        return a @ b

    def matmul_gradient(out_grad, node):
        a, b = node.inputs
        ga = out_grad @ b.T
        gb = np.swapaxes(a, -1, -2) @ out_grad
        return ga, (gb if bug else gb.sum(axis=0))
    f, vjp = as_vjp(matmul_compute, matmul_gradient, arrays=2)
    return gradcheck.check_vjp(f, vjp, [r(2, 3, 4), r(4, 5)])


# ===== models ========================================================================================
family("models")


class TwoLayerNet:
    """A CS231n-style net affine - relu (or tanh) - affine - softmax, params in a dict, loss with
    0.5 * reg * (|W1|^2 + |W2|^2). `bugs` names the mistakes in its gradients."""

    def __init__(self, sizes, seed, reg, act="relu", bugs=()):
        rng = np.random.default_rng(seed)
        D, H, C = sizes
        self.params = {"W1": 0.5 * rng.standard_normal((D, H)), "b1": 0.1 * rng.standard_normal(H),
                       "W2": 0.5 * rng.standard_normal((H, C)), "b2": 0.1 * rng.standard_normal(C)}
        self.reg, self.act, self.bugs = reg, act, set(bugs)

    def loss(self, X, y):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        N = X.shape[0]
        z1 = X @ W1 + b1
        a1 = np.maximum(0.0, z1) if self.act == "relu" else np.tanh(z1)
        p = softmax_last(a1 @ W2 + b2)
        loss = -np.log(p[np.arange(N), y]).mean() + 0.5 * self.reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
        dscores = p.copy()
        dscores[np.arange(N), y] -= 1.0
        if "no / N" not in self.bugs:
            dscores /= N
        grads = {"W2": a1.T @ dscores, "b2": dscores.sum(axis=0)}
        if "no W2 reg" not in self.bugs:
            grads["W2"] += self.reg * W2
        da1 = dscores @ W2.T
        if self.act == "relu":
            dz1 = da1 * (z1 > 0)
        else:
            dz1 = da1 * (1.0 - (z1 if "tanh of z1" in self.bugs else a1) ** 2)
        grads["W1"] = X.T @ dz1
        if "no W1 reg" not in self.bugs:
            grads["W1"] += self.reg * W1
        grads["b1"] = np.zeros_like(b1) if "b1 left 0" in self.bugs else dz1.sum(axis=0)
        return loss, grads


def clear_of_kinks(X, net):
    """No hidden pre-activation of the batch X is near relu's kink."""
    return bool(np.all(np.abs(X @ net.params["W1"] + net.params["b1"]) > 0.02))


@case("two-layer relu net (check_model) whose dW2 forgets the reg * W2 term", 'params["W2"]', "regularisation")
def _(bug):
    r = draws(8137)
    net = TwoLayerNet((4, 6, 3), 8187, reg=0.3, bugs={"no W2 reg"} if bug else ())
    X = r(5, 4)
    assert clear_of_kinks(X, net)
    return gradcheck.check_model(net, X, np.array([0, 2, 1, 2, 0]))


@case("two-layer relu net (check_model) whose dscores are not divided by N, reg * W right", 'params["W1"]',
      "data term factor")
def _(bug):
    r = draws(8138)
    net = TwoLayerNet((3, 5, 4), 8188, reg=0.2, bugs={"no / N"} if bug else ())
    X = r(6, 3)
    assert clear_of_kinks(X, net)
    return gradcheck.check_model(net, X, np.array([3, 1, 0, 2, 1, 3]))


# dz1 = da1 * (1 - z1**2) applies tanh's output form to the pre-activation z1 inside the net. Written blind
# with no cause (z1 is no input of the model); after the measurement the docs' "input for output" says its
# scope covers a pre-activation the forward computes (z = X @ W + b inside a net), which the reading already
# read: label added then, not part of the blind figure.
@case("two-layer tanh net (check_model) whose dz1 = da1 * (1 - z1**2), the pre-activation for tanh(z1)",
      'params["W1"]', "input for output")
def _(bug):
    r = draws(8139)
    net = TwoLayerNet((4, 3, 3), 8189, reg=0.1, act="tanh", bugs={"tanh of z1"} if bug else ())
    return gradcheck.check_model(net, r(6, 4), np.array([1, 0, 2, 2, 1, 0]))


@case("two-layer relu net (check_model) whose grads['b1'] is left at np.zeros_like(b1)", 'params["b1"]', "zero")
def _(bug):
    r = draws(8140)
    net = TwoLayerNet((3, 4, 3), 8190, reg=0.05, bugs={"b1 left 0"} if bug else ())
    X = r(7, 3)
    assert clear_of_kinks(X, net)
    return gradcheck.check_model(net, X, np.array([0, 1, 2, 0, 1, 2, 1]))


# ===== mixes: two bugs at once =======================================================================
family("mix")


@case("mix: softmax cross-entropy gradient p alone: the -1 at the label and the / N both forgotten", "scores",
      "rows", "correct class term")
def _(bug):
    r = draws(8141)
    y = np.array([1, 3, 0, 0, 2])

    def ce_loss(scores, y):
        p = softmax_last(scores)
        return -np.log(p[np.arange(len(y)), y]).mean()

    def ce_grad(scores, y):
        d = softmax_last(scores)
        if bug:
            return d
        d[np.arange(len(y)), y] -= 1.0
        return d / len(y)
    return gradcheck.check_function(ce_loss, ce_grad, [r(5, 4), y])


@case("mix: linear layer, square W (4, 4), dW = dout.T @ x and weight decay 0.01 * W the forward lacks", "W",
      "transpose", "regularisation")
def _(bug):
    r = draws(8142)
    decay = 0.01

    def linear_forward(x, W, b):
        return x @ W + b, (x, W)

    def linear_backward(dout, cache):
        x, W = cache
        dW = dout.T @ x + decay * W if bug else x.T @ dout
        return dout @ W.T, dW, dout.sum(axis=0)
    return gradcheck.check_layer(linear_forward, linear_backward, [r(6, 4), r(4, 4), r(4)])


@case("mix: token embedding W[idx] * sqrt(D) (D = 9), backward dW[idx] += dout: no np.add.at, no sqrt(D)", "W",
      "repeated indices", "one over the square root of a size", "constant factor")
def _(bug):
    r = draws(8143)
    idx = np.array([[2, 0, 2], [4, 1, 0]])
    bugs = {"no scale", "plain +="} if bug else ()
    return gradcheck.check_layer(scaled_embed_forward, lambda d, c: scaled_embed_backward(d, c, bugs),
                                 [r(5, 9), idx])


@case("mix: tanh rnn without the carry to the previous step and with dWx assigned per step", "Wx",
      "carry missing", "one slice of dout")
def _(bug):
    return rnn_case(8144, {"no carry", "dWx assigned"} if bug else ())


# The first bug is a mean's 1/N forgotten in the data term: "data term factor" with reg * W1 right, "rows" as
# the docs' example of that mistake (the claim is N times the data term's truth); the second, "regularisation".
@case("mix: two-layer relu net (check_model) with dscores not divided by N and dW1 without reg * W1",
      'params["W1"]', "data term factor", "rows", "regularisation")
def _(bug):
    r = draws(8145)
    net = TwoLayerNet((4, 5, 3), 8195, reg=0.25, bugs={"no / N", "no W1 reg"} if bug else ())
    X = r(6, 4)
    assert clear_of_kinks(X, net)
    return gradcheck.check_model(net, X, np.array([2, 2, 0, 1, 0, 1]))


# ===== running ======================================================================================
if __name__ == "__main__":
    main(CASES, __doc__)
