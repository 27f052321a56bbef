"""An elementwise layer's backward that returns its local gradient without `* dout` (everywhere, or on one
side of an input's 0) is named "dout missing"; a claim that is constant across douts but not the local
gradient, one wrong by a factor, and a right layer are not."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck

SLOPE = 0.01
X = np.random.default_rng(31).standard_normal((4, 3))
X = np.where(np.abs(X) < 0.1, 0.3, X)  # off the kink


def _tanh(x):
    out = np.tanh(x)
    return out, out


def _leaky(x):
    return np.where(x > 0, x, SLOPE * x), x


def _sigmoid(x):
    s = 1.0 / (1.0 + np.exp(-x))
    return s, s


def _cause(forward, backward):
    result = gradcheck.check_layer(forward, backward, [X.copy()])
    g = result.gradients["x"]
    return result.exit_code, g.cause, g.diagnosis or ""


@pytest.mark.parametrize("forward, backward", [
    (_tanh, lambda dout, out: 1 - out ** 2),
    (_sigmoid, lambda dout, s: s * (1 - s)),
])
def test_a_local_gradient_without_dout_is_named(forward, backward):
    code, cause, said = _cause(forward, backward)
    assert code == 1 and cause == "dout missing", (cause, said)
    assert said.startswith("it does not change with dout") and "∂out/∂x alone" in said


def test_dout_dropped_on_one_side_is_named_with_the_side():
    code, cause, said = _cause(_leaky, lambda dout, x: np.where(x > 0, dout, SLOPE))
    assert code == 1 and cause == "dout missing", (cause, said)
    assert said.startswith("where x < 0") and "(0.01)" in said and "elsewhere it is right" in said


@pytest.mark.parametrize("backward", [
    lambda dout, out: out,  # the same for every dout, but not the local gradient
    lambda dout, out: 1.5 * (1 - out ** 2) + 0.1,  # nor an affine function of it
    lambda dout, out: 3 * dout * (1 - out ** 2),  # a factor, dout kept
])
def test_near_misses_are_not_called_dout_missing(backward):
    code, cause, said = _cause(_tanh, backward)
    assert code == 1 and cause != "dout missing", (cause, said)


def test_the_right_layers_pass():
    assert _cause(_tanh, lambda dout, out: dout * (1 - out ** 2))[0] == 0
    assert _cause(_leaky, lambda dout, x: np.where(x > 0, dout, SLOPE * dout))[0] == 0


def test_a_constant_claim_beside_a_constant_local_gradient_is_not_read_as_dout_missing():
    """x * s has the local gradient s everywhere: any constant claim is a multiple of it, so no evidence."""
    result = gradcheck.check_layer(lambda x, s: (x * s, x), lambda d, x: (d * 0.0 + 1.0, (d * x).sum()),
                                   [np.arange(4.0) + 1, np.float64(0.5)])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause != "dout missing" and "dout missing" not in g.causes, g.diagnosis
