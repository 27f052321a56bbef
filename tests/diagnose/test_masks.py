"""A missing mask is named wherever the claim is the truth except where the truth is 0: by an input's
sign (relu), by a threshold on it (a clip's upper side), or, where no input's values say it (a max
pool's other entries), as a mask the forward applies."""

from __future__ import annotations

import numpy as np

import gradcheck


def _clip(x):
    return np.clip(x, -1.0, 1.0), x


def _pool(x):
    n, length = x.shape
    return x.reshape(n, length // 2, 2).max(axis=2), x


def _pool_backward(dout, x):
    n, length = x.shape
    w = x.reshape(n, length // 2, 2)
    return ((w == w.max(axis=2, keepdims=True)) * dout[:, :, None]).reshape(n, length)


X = np.random.default_rng(11).standard_normal((5, 4)) * 1.5


def test_a_clip_without_its_upper_mask_is_named_with_the_threshold():
    result = gradcheck.check_layer(_clip, lambda dout, x: dout * (x > -1), [X])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "mask", (g.cause, g.diagnosis)
    assert "x > 1" in g.diagnosis and "x <= 1" in g.diagnosis
    assert gradcheck.check_layer(_clip, lambda dout, x: dout * ((x > -1) & (x < 1)), [X]).exit_code == 0


def test_a_max_pool_that_sends_the_gradient_to_every_entry_is_a_missing_mask():
    x = np.random.default_rng(12).standard_normal((3, 6))
    result = gradcheck.check_layer(_pool, lambda dout, x: np.repeat(dout, 2, axis=1), [x])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "mask", (g.cause, g.diagnosis)
    assert gradcheck.check_layer(_pool, _pool_backward, [x]).exit_code == 0


def test_near_misses_are_not_called_a_mask():
    """Wrong also where the truth is not 0, or wrong only where it is not 0: no mask explains that."""
    x = np.random.default_rng(12).standard_normal((3, 6))

    def leaky_and_off(dout, x):
        g = np.repeat(dout, 2, axis=1)
        g[_pool_backward(np.ones((3, 3)), x) > 0] *= 1.5
        return g

    for backward in (leaky_and_off, lambda dout, x: 1.5 * _pool_backward(dout, x)):
        result = gradcheck.check_layer(_pool, backward, [x])
        g = result.gradients["x"]
        assert result.exit_code == 1 and g.cause != "mask", (g.cause, g.diagnosis)
    clipped = gradcheck.check_layer(_clip, lambda dout, x: dout * (x > -1) * (1 + 0.5 * (x > 0)), [X])
    assert clipped.exit_code == 1 and clipped.gradients["x"].cause != "mask", clipped.gradients["x"].diagnosis
