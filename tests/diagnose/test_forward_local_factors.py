"""Local gradients the forward computes (local_factors.py): an LSTM step's dprev_c = dc where dc * f
belongs ("local gradient factor": the factor ∂next_c/∂prev_c read from next_c's dout alone), and a
binary cross-entropy whose gradient is written for the other side of its sigmoid ("logits' gradient").
Near misses: another gate where f belongs, the path from next_h missing, a factor p (not p(1 − p)), a
missing 1/N, and a sigmoid layer (no loss) without its derivative."""

from __future__ import annotations

import numpy as np

import gradcheck

RNG = np.random.default_rng(91)


def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def lstm_forward(x, prev_h, prev_c, W, U, b):
    n = prev_h.shape[1]
    z = x @ W + prev_h @ U + b
    i, f, o = sig(z[:, :n]), sig(z[:, n:2 * n]), sig(z[:, 2 * n:3 * n])
    g = np.tanh(z[:, 3 * n:])
    c = f * prev_c + i * g
    t = np.tanh(c)
    return o * t, c, (x, prev_h, prev_c, W, U, i, f, o, g, t)


def lstm_backward(bug: str | None):
    def backward(dh, dnext_c, cache):
        x, h, c, W, U, i, f, o, g, t = cache
        dc = dnext_c + dh * o * (1 - t ** 2)
        dz = np.hstack([dc * g * i * (1 - i), dc * c * f * (1 - f), dh * t * o * (1 - o), dc * i * (1 - g ** 2)])
        dprev_c = {None: dc * f, "no f": dc, "i for f": dc * i, "no next_h path": dnext_c * f}[bug]
        return dz @ W.T, dz @ U.T, dprev_c, x.T @ dz, h.T @ dz, dz.sum(axis=0)
    return backward


LSTM_INPUTS = [RNG.standard_normal((2, 3)), RNG.standard_normal((2, 2)), RNG.standard_normal((2, 2)),
               0.5 * RNG.standard_normal((3, 8)), 0.5 * RNG.standard_normal((2, 8)), 0.2 * RNG.standard_normal(8)]


def _prev_c(bug):
    result = gradcheck.check_layer(lstm_forward, lstm_backward(bug), LSTM_INPUTS)
    return result.exit_code, result.gradients["prev_c"]


def test_an_lstm_whose_dprev_c_forgets_the_forget_gate_is_named():
    code, g = _prev_c("no f")
    assert code == 1 and g.cause == "local gradient factor", (g.cause, g.diagnosis)
    assert "∂(output 2)/∂prev_c" in g.diagnosis and "gate" in g.diagnosis
    assert _prev_c(None)[0] == 0


def test_near_misses_of_the_forget_gate_are_not_named():
    """Another gate where f belongs, and next_h's path left out of dprev_c: neither lacks ∂next_c/∂prev_c alone."""
    for bug in ("i for f", "no next_h path"):
        code, g = _prev_c(bug)
        assert code == 1 and "∂(output 2)/∂prev_c" not in (g.diagnosis or ""), (bug, g.cause, g.diagnosis)
    assert _prev_c("no next_h path")[1].cause == "output path"


P = sig(RNG.standard_normal(8))
Z = RNG.standard_normal(8)
Y = (RNG.standard_normal(8) > 0).astype(float)


def bce(p, y):
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def bce_logits(z, y):
    return bce(sig(z), y)


def _gradient(f, grad, name, value):
    result = gradcheck.check_function(f, grad, {name: value, "y": Y}, data="y")
    return result.exit_code, result.gradients[name]


def test_a_loss_of_probabilities_given_the_logits_gradient_is_named():
    code, g = _gradient(bce, lambda p, y: (p - y) / len(p), "p", P)
    assert code == 1 and g.cause == "logits' gradient", (g.cause, g.diagnosis)
    assert "p·(1 − p)" in g.diagnosis and "probabilities p" in g.diagnosis
    assert _gradient(bce, lambda p, y: (p - y) / (p * (1 - p)) / len(p), "p", P)[0] == 0


def test_a_loss_of_logits_given_the_probabilities_gradient_is_named():
    code, g = _gradient(bce_logits, lambda z, y: (sig(z) - y) / (sig(z) * (1 - sig(z))) / len(z), "z", Z)
    assert code == 1 and g.cause == "logits' gradient", (g.cause, g.diagnosis)
    assert "σ(z)" in g.diagnosis and "the logits z" in g.diagnosis
    assert _gradient(bce_logits, lambda z, y: (sig(z) - y) / len(z), "z", Z)[0] == 0


def test_near_misses_of_the_logits_gradient_are_not_named():
    """A factor p alone, the 1/N forgotten, and a sigmoid layer (no loss) whose backward forgets σ′."""
    right = [lambda p, y: (p - y) / (p * (1 - p)) / len(p) * p, lambda p, y: (p - y) / (p * (1 - p))]
    for grad in right:
        code, g = _gradient(bce, grad, "p", P)
        assert code == 1 and g.cause != "logits' gradient", (g.cause, g.diagnosis)
    result = gradcheck.check_layer(lambda z: (sig(z), None), lambda dout, cache: (dout,), [Z.reshape(2, 4)])
    g = result.gradients["z"]
    assert result.exit_code == 1 and g.cause != "logits' gradient", (g.cause, g.diagnosis)
