"""Mistakes at a layer's intermediates, named only where they explain the whole claim: a cross-entropy's
softmax p left out of its gradient, an intermediate matrix used untransposed (attention's dv = A @ dout).
The layers are this file's own; each mistake has its near misses, which must not be named with it."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck

HONEST = {"count", "probe"}


def randn(seed, *shape):
    """Gaussian arrays from the call's own seed (xdist runs the tests in any order)."""
    return np.random.default_rng([97, seed]).standard_normal(shape)


def softmax(s, axis):
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ----- a cross-entropy's softmax p left out ---------------------------------------------------------
def weighted_cross_entropy(axis, weights, labels):
    """Σ_i w_i·(−log softmax(s)_i[label_i]) with the classes along `axis`, and its gradient builder
    (`wrong`: how the gradient is written wrong)."""
    def loss(s):
        logp = np.log(softmax(s, axis))
        picked = np.take_along_axis(logp, np.expand_dims(labels, axis), axis).squeeze(axis)
        return -np.sum(weights * picked)

    def grad(wrong):
        def g(s):
            onehot = np.zeros_like(s)
            np.put_along_axis(onehot, np.expand_dims(labels, axis), 1.0, axis)
            w = np.expand_dims(weights, axis)
            p = softmax(s, axis)
            return {"right": w * (p - onehot), "p left out": -w * onehot, "onehot left out": w * p,
                    "p left out, one row doubled": -w * onehot * np.where(np.arange(s.shape[0])[:, None] == 0, 2, 1),
                    "half p": w * (0.5 * p - onehot), "another temperature": w * (softmax(s / 0.7, axis) - onehot)
                    }[wrong]
        return g
    return loss, grad


@pytest.mark.parametrize("axis, shape", [(1, (6, 5)), (0, (4, 7))])
def test_a_cross_entropy_without_its_softmax_p_is_named(axis, shape):
    """−w·onehot for w·(p − onehot), classes along either axis, weights per sample: the truth sums to 0
    along the classes and the claim is it less w·p, the log-sum-exp's gradient."""
    rng = np.random.default_rng([97, axis])
    labels = rng.integers(0, shape[axis], size=shape[1 - axis])
    weights = rng.uniform(0.2, 1.0, size=shape[1 - axis])
    loss, grad = weighted_cross_entropy(axis, weights, labels)
    s = randn(axis, *shape)
    assert gradcheck.check_function(loss, grad("right"), [s]).exit_code == 0
    result = gradcheck.check_function(loss, grad("p left out"), [s])
    g = result.gradients["s"]
    assert result.exit_code == 1 and g.cause == "mean path", (g.cause, g.diagnosis)
    assert f"softmax(s) along axis {axis}" in g.diagnosis and "softmax p is left out" in g.diagnosis, g.diagnosis


def test_half_of_the_softmax_p_is_said_as_its_factor_not_left_out():
    rng = np.random.default_rng([97, 6])
    loss, grad = weighted_cross_entropy(1, np.full(5, 0.2), rng.integers(0, 4, size=5))
    g = gradcheck.check_function(loss, grad("half p"), [randn(9, 5, 4)]).gradients["s"]
    assert g.cause == "mean path" and "softmax p is given the wrong factor" in g.diagnosis, g.diagnosis


@pytest.mark.parametrize("wrong", ["onehot left out", "p left out, one row doubled", "another temperature"])
def test_other_cross_entropy_mistakes_are_not_told_p_left_out(wrong):
    """p without the onehot (the claim sums to w, the difference is the onehot, no softmax), a claim wrong
    beyond the missing p on one row, the softmax of s / 0.7 for that of s (a softmax's term, but of
    another input): none is a multiple of the softmax p left out."""
    rng = np.random.default_rng([97, 7])
    labels = rng.integers(0, 4, size=5)
    loss, grad = weighted_cross_entropy(1, np.full(5, 0.2), labels)
    result = gradcheck.check_function(loss, grad(wrong), [randn(8, 5, 4)])
    g = result.gradients["s"]
    assert result.exit_code == 1, result.status
    assert "softmax p is" not in g.diagnosis, (wrong, g.cause, g.diagnosis)


# ----- an intermediate matrix used untransposed -----------------------------------------------------
def attention(q, k, v):
    """Attention over the last two axes (any leading batch axes)."""
    A = softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]), -1)
    return A @ v, (q, k, v, A)


def attention_backward(wrong):
    def backward(dout, cache):
        q, k, v, A = cache
        At = np.swapaxes(A, -1, -2)
        dv = {"right": At @ dout, "A untransposed": A @ dout, "twice": 2 * (At @ dout),
              "unscaled A": np.swapaxes(softmax(q @ np.swapaxes(k, -1, -2), -1), -1, -2) @ dout,
              "one entry off": (At @ dout) + np.where(np.arange(dout.size).reshape(dout.shape) == 0, 0.5, 0.0)}[wrong]
        dA = dout @ np.swapaxes(v, -1, -2)
        dS = A * (dA - np.sum(A * dA, axis=-1, keepdims=True)) / np.sqrt(q.shape[-1])
        return dS @ k, np.swapaxes(dS, -1, -2) @ q, dv
    return backward


@pytest.mark.parametrize("shapes", [((5, 2), (5, 2), (5, 3)), ((2, 3, 4), (2, 3, 4), (2, 3, 2))])
def test_attention_dv_with_its_weights_untransposed_is_named(shapes):
    """dv = A @ dout for A.T @ dout, single and batched: A is computed, no input, so it is recovered from
    the truth (a matrix times dout for every dout) and the claim is its transpose times dout."""
    q, k, v = (randn(20 + i, *s) for i, s in enumerate(shapes))
    assert gradcheck.check_layer(attention, attention_backward("right"), [q, k, v]).exit_code == 0
    result = gradcheck.check_layer(attention, attention_backward("A untransposed"), [q, k, v])
    g = result.gradients["v"]
    assert result.exit_code == 1 and g.cause == "untransposed matrix", (g.cause, g.diagnosis)
    assert "`M @ dout` for `M.T @ dout`" in g.diagnosis and "not an input" in g.diagnosis, g.diagnosis
    assert ("one per leading index" in g.diagnosis) == (len(shapes[0]) == 3), g.diagnosis


def test_a_right_product_with_a_computed_matrix_untransposed_is_named():
    """x @ softmax(P) with dx = dout @ S for dout @ S.T: the matrix on the right, computed from P."""
    def forward(x, P):
        S = softmax(P, 1)
        return x @ S, S

    def backward(dout, S):
        return dout @ S, None

    x, P = randn(30, 6, 3), randn(31, 3, 3)
    result = gradcheck.check_vjp(lambda x, P: forward(x, P)[0], lambda d, x, P: backward(d, forward(x, P)[1]),
                                 [x, P], wrt=["x"])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "untransposed matrix", (g.cause, g.diagnosis)
    assert "`dout @ M` for `dout @ M.T`" in g.diagnosis, g.diagnosis


@pytest.mark.parametrize("wrong", ["twice", "unscaled A", "one entry off"])
def test_other_dv_mistakes_are_not_told_untransposed(wrong):
    """A factor on the right dv, the weights of another scale (transposed right), one entry off: none is M
    where M.T belongs."""
    q, k, v = randn(40, 4, 3), randn(41, 4, 3), randn(42, 4, 3)
    result = gradcheck.check_layer(attention, attention_backward(wrong), [q, k, v])
    g = result.gradients["v"]
    assert result.exit_code == 1 and g.cause != "untransposed matrix", (wrong, g.diagnosis)


def test_an_elementwise_layer_is_no_matrix_times_dout():
    """tanh with its local gradient from the input: the truth is no matrix times dout, so no M is fitted."""
    x = randn(50, 4, 3)
    result = gradcheck.check_vjp(np.tanh, lambda d, x: d * (1 - x ** 2), [x])
    assert result.exit_code == 1 and result.gradients["x"].cause != "untransposed matrix", result.gradients["x"].diagnosis


# ----- a product rule's term dropped ----------------------------------------------------------------
def phi(x):
    """The standard normal's distribution function, without scipy: erf through math, entry by entry."""
    import math
    return 0.5 * (1 + np.vectorize(math.erf)(x / np.sqrt(2)))


def softplus(x):
    return np.logaddexp(0.0, x)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_gelu_without_the_derivative_term_is_a_dropped_product_rule_term():
    """gelu = x·Φ(x) with dout·Φ(x) for dout·(Φ(x) + x·φ(x)): the claim is dout·out/x."""
    x = 1.4 * randn(60, 3, 5)
    right = gradcheck.check_vjp(lambda x: x * phi(x),
                                lambda d, x: d * (phi(x) + x * np.exp(-x ** 2 / 2) / np.sqrt(2 * np.pi)), [x])
    assert right.exit_code == 0
    result = gradcheck.check_vjp(lambda x: x * phi(x), lambda d, x: d * phi(x), [x])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "product rule term dropped", (g.cause, g.diagnosis)
    assert "dout·out/x" in g.diagnosis and "the x·g′(x) term is dropped" in g.diagnosis, g.diagnosis


def test_mish_without_its_factor_term_is_a_dropped_product_rule_term():
    """mish = z·tanh(softplus(z)) with only z·d/dz tanh(softplus(z)): the g(z) term is dropped."""
    z = 1.2 * randn(61, 2, 3, 4)

    def backward(d, z):
        t = np.tanh(softplus(z))
        return d * z * (1 - t ** 2) * sigmoid(z)
    result = gradcheck.check_vjp(lambda z: z * np.tanh(softplus(z)), backward, [z])
    g = result.gradients["z"]
    assert result.exit_code == 1 and g.cause == "product rule term dropped", (g.cause, g.diagnosis)
    assert "the g(z) term is dropped" in g.diagnosis and "true gradient less dout·out/z" in g.diagnosis, g.diagnosis


@pytest.mark.parametrize("backward", [
    lambda d, x: 2 * d * (sigmoid(x) + x * sigmoid(x) * (1 - sigmoid(x))),  # a factor on the whole
    lambda d, x: 1.1 * d * sigmoid(x),  # the factor alone, scaled
    lambda d, x: d * sigmoid(x) * (1 - sigmoid(x)),  # the derivative term without its x
])
def test_other_swish_mistakes_are_not_a_dropped_product_rule_term(backward):
    x = 1.3 * randn(62, 4, 6)
    result = gradcheck.check_vjp(lambda x: x * sigmoid(x), backward, [x])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause != "product rule term dropped", g.diagnosis


def test_a_norm_with_its_statistic_constant_is_not_a_dropped_product_rule_term():
    """x / rms(x) with the rms as a constant is dout·out/x too, but the step is no elementwise one: its
    truth is not dout times one local gradient, so the product rule is not what is said."""
    def forward(x):
        return x / np.sqrt(np.mean(x ** 2, axis=1, keepdims=True))

    x = randn(63, 4, 5)
    result = gradcheck.check_vjp(forward, lambda d, x: d / np.sqrt(np.mean(x ** 2, axis=1, keepdims=True)), [x])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause != "product rule term dropped", g.diagnosis


def test_a_power_without_its_exponent_is_its_factor_not_a_dropped_product_rule_term():
    """x**3 with dout·x**2 and a**b with dout·a**(b−1) are dout·out/x as well, but a factor 3 (or b)
    forgotten is the whole claim's account: the factors come first in the table."""
    x = np.abs(randn(64, 4, 5)) + 0.5  # no size is 3
    b = randn(65, 4, 5)
    cube = gradcheck.check_vjp(lambda x: x ** 3, lambda d, x: d * x ** 2, [x]).gradients["x"]
    assert cube.cause == "constant factor" and "factor 3 is missing" in cube.diagnosis, cube.diagnosis
    power = gradcheck.check_vjp(lambda a, b: a ** b, lambda d, a, b: (d * a ** (b - 1), d * a ** b * np.log(a)),
                                [x, b]).gradients["a"]
    assert power.cause == "local gradient factor", power.diagnosis


# ----- an input where a quantity computed from it belongs -------------------------------------------
def batch_norm(x, gamma, beta):
    xhat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5)
    return gamma * xhat + beta, (x, xhat, gamma)


def batch_norm_backward(wrong):
    def backward(dout, cache):
        x, xhat, gamma = cache
        n = x.shape[0]
        dxhat = dout * gamma
        dx = (n * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (n * np.sqrt(x.var(axis=0) + 1e-5))
        out = gamma * xhat
        dgamma = {"right": (dout * xhat).sum(axis=0), "x": (dout * x).sum(axis=0),
                  "scaled": 1.1 * (dout * xhat).sum(axis=0), "output": (dout * out).sum(axis=0),
                  "x, one entry off": (dout * x).sum(axis=0) + np.eye(1, x.shape[1]).ravel()}[wrong]
        return dx, dgamma, dout.sum(axis=0)
    return backward


def test_batch_norm_dgamma_from_the_input_is_named():
    x, gamma, beta = 1.5 * randn(70, 6, 3) + 0.5, randn(71, 3), randn(72, 3)
    assert gradcheck.check_layer(batch_norm, batch_norm_backward("right"), [x, gamma, beta]).exit_code == 0
    result = gradcheck.check_layer(batch_norm, batch_norm_backward("x"), [x, gamma, beta])
    g = result.gradients["gamma"]
    assert result.exit_code == 1 and g.cause == "input for a computed form", (g.cause, g.diagnosis)
    assert "sum of dout·x over axis 0" in g.diagnosis and "x, an input, is used" in g.diagnosis, g.diagnosis


def test_a_gain_on_tanh_with_its_gradient_from_the_input_is_named_over_two_axes():
    """y = a·tanh(z) with a per channel (the last axis) and da = sum(dout·z) over axes 0 and 1."""
    z, a = randn(73, 3, 4, 5), randn(74, 5)
    result = gradcheck.check_vjp(lambda z, a: a * np.tanh(z),
                                 lambda d, z, a: (d * a * (1 - np.tanh(z) ** 2), (d * z).sum(axis=(0, 1))), [z, a])
    g = result.gradients["a"]
    assert result.exit_code == 1 and g.cause == "input for a computed form", (g.cause, g.diagnosis)
    assert "over axes 0, 1" in g.diagnosis, g.diagnosis


@pytest.mark.parametrize("wrong", ["scaled", "output", "x, one entry off"])
def test_other_dgamma_mistakes_are_not_an_input_for_its_computed_form(wrong):
    """1.1·sum(dout·x̂), the output where x̂ belongs (gamma·x̂: not an input), sum(dout·x) with one entry off."""
    x, gamma, beta = 1.5 * randn(75, 6, 3) + 0.5, randn(76, 3), randn(77, 3)
    result = gradcheck.check_layer(batch_norm, batch_norm_backward(wrong), [x, gamma, beta])
    g = result.gradients["gamma"]
    assert result.exit_code == 1 and g.cause != "input for a computed form", (wrong, g.diagnosis)


# ----- a clip forgotten ------------------------------------------------------------------------------
def clipped_quadratic(lo, hi):
    """Σ h(x) with h′(x) = clip(x, lo, hi): x²/2 inside, lines of slope lo and hi beyond."""
    def loss(x):
        inside = 0.5 * np.clip(x, lo, hi) ** 2
        return float(np.sum(inside + lo * np.minimum(x - lo, 0) + hi * np.maximum(x - hi, 0)))
    return loss


def away_from(x, points, margin=0.15):
    """x moved off the kinks at `points`, so that no difference straddles one."""
    for p in points:
        x = np.where(np.abs(x - p) < margin, x + 2 * margin, x)
    return x


def test_smooth_l1_without_its_clip_is_named():
    """Smooth L1 (β = 0.5) of pred − target, a mean: gradient clip(r/β, −1, 1)/n, claimed r/β/n."""
    target = randn(80, 5, 4)
    pred = target + away_from(1.2 * randn(81, 5, 4), (-0.5, 0.5))

    def loss(pred, target):
        a = np.abs(pred - target)
        return np.mean(np.where(a < 0.5, 0.5 * a ** 2 / 0.5, a - 0.25))

    def grad(clip):
        def g(pred, target):
            r = (pred - target) / 0.5
            return (np.clip(r, -1, 1) if clip else r) / r.size
        return g
    assert gradcheck.check_function(loss, grad(True), {"pred": pred, "target": target}, data="target").exit_code == 0
    result = gradcheck.check_function(loss, grad(False), {"pred": pred, "target": target}, data="target")
    g = result.gradients["pred"]
    assert result.exit_code == 1 and g.cause == "clip forgotten", (g.cause, g.diagnosis)
    assert "a clip to [-0.05, 0.05] is forgotten" in g.diagnosis, g.diagnosis


def test_an_asymmetric_clip_forgotten_is_named_with_its_bounds():
    x = away_from(2 * randn(82, 3, 6), (-0.5, 2.0))
    result = gradcheck.check_function(clipped_quadratic(-0.5, 2.0), lambda x: x, [x])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "clip forgotten", (g.cause, g.diagnosis)
    assert "[-0.5, 2]" in g.diagnosis, g.diagnosis


@pytest.mark.parametrize("claim", [
    lambda x: np.clip(x, -1.5, 3.0),  # clipped, at other bounds
    lambda x: np.where(np.arange(x.size).reshape(x.shape) == 1, 0.7 * x, x),  # one entry inside off too
    lambda x: np.maximum(x, 0),  # another mistake: no lower part
])
def test_other_mistakes_of_a_clipped_gradient_are_not_a_clip_forgotten(claim):
    x = away_from(2 * randn(83, 3, 6), (-0.5, 2.0, 0.0))
    result = gradcheck.check_function(clipped_quadratic(-0.5, 2.0), claim, [x])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause != "clip forgotten", g.diagnosis


def test_a_missing_mask_is_not_a_clip_at_zero():
    """½Σ max(x, 0)² with gradient x: the truth's bound where the claim goes on is 0, a mask's."""
    x = away_from(randn(84, 4, 5), (0.0,))
    result = gradcheck.check_function(lambda x: 0.5 * float(np.sum(np.maximum(x, 0) ** 2)), lambda x: x, [x])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause != "clip forgotten", g.diagnosis


# ----- a normalisation's statistics as constants, with a per-channel gain inside ---------------------
def group_norm(groups):
    """Group norm of an (N, C, L) input, C in `groups` groups, a gain and shift per channel."""
    def forward(x, gamma, beta):
        n, c, length = x.shape
        xg = x.reshape(n, groups, -1)
        std = np.sqrt(xg.var(axis=2, keepdims=True) + 1e-5)
        xhat = ((xg - xg.mean(axis=2, keepdims=True)) / std).reshape(x.shape)
        return gamma[None, :, None] * xhat + beta[None, :, None], (x, xhat, std, gamma)
    return forward


def group_norm_backward(groups, wrong):
    def backward(dout, cache):
        x, xhat, std, gamma = cache
        n = x.shape[0]
        g = (dout * gamma[None, :, None]).reshape(n, groups, -1)
        xh = xhat.reshape(n, groups, -1)
        whole = np.sqrt(x.reshape(n, -1).var(axis=1) + 1e-5)[:, None, None]
        dx = {"right": (g - g.mean(axis=2, keepdims=True) - xh * (g * xh).mean(axis=2, keepdims=True)) / std,
              "both constant": g / std,
              "variance constant": (g - g.mean(axis=2, keepdims=True)) / std,
              "offset": (g - g.mean(axis=2, keepdims=True) - xh * (g * xh).mean(axis=2, keepdims=True)) / std + 0.05,
              "whole-sample std": g / whole}[wrong]
        return dx.reshape(x.shape), (dout * xhat).sum(axis=(0, 2)), dout.sum(axis=(0, 2))
    return backward


@pytest.mark.parametrize("groups, wrong", [(4, "both constant"), (2, "variance constant")])
def test_a_group_norm_with_its_statistics_constant_is_the_mean_path(groups, wrong):
    """dx = gamma·dout/σ (or with the mean kept), gamma per channel: no one scale per group fits the truth,
    but the truth is the claim with its part along 1 and x removed on each group."""
    x, gamma, beta = 1.3 * randn(90, 3, 8, 5) + 0.4, 1 + 0.4 * randn(91, 8), randn(92, 8)
    forward = group_norm(groups)
    assert gradcheck.check_layer(forward, group_norm_backward(groups, "right"), [x, gamma, beta]).exit_code == 0
    result = gradcheck.check_layer(forward, group_norm_backward(groups, wrong), [x, gamma, beta])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "mean path", (g.cause, g.diagnosis)
    assert "statistics" in g.diagnosis and "constants" in g.diagnosis, g.diagnosis


@pytest.mark.parametrize("wrong", ["offset", "whole-sample std"])
def test_other_group_norm_mistakes_are_not_its_statistics_as_constants(wrong):
    """A constant added (one number for every block), the claim scaled by the whole sample's σ (its
    projection is not the truth): neither is the statistics taken as constants."""
    x, gamma, beta = 1.3 * randn(93, 2, 4, 3) + 0.4, 1 + 0.4 * randn(94, 4), randn(95, 4)
    result = gradcheck.check_layer(group_norm(2), group_norm_backward(2, wrong), [x, gamma, beta])
    g = result.gradients["x"]
    assert result.exit_code == 1 and "as constants" not in g.diagnosis, (wrong, g.diagnosis)
