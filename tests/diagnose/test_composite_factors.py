"""A factor beside another mistake, where the factor is a window's area (an average pool's 1/4 forgotten) or
one that two sizes of the call both are (2 with 2 rows): composites.py undoes it and walks the rest."""

from __future__ import annotations

import numpy as np

import gradcheck


def _pool(x):
    """An overlapping 2x2 average pool, stride 1, over the last two axes."""
    h, w = x.shape[-2:]
    out = np.zeros(x.shape[:-2] + (h - 1, w - 1))
    for i in range(h - 1):
        for j in range(w - 1):
            out[..., i, j] = x[..., i:i + 2, j:j + 2].mean(axis=(-2, -1))
    return out, x.shape


def _pool_backward(assign, scale, noise=0.0):
    def run(dout, shape):
        dx = np.zeros(shape)
        for i in range(dout.shape[-2]):
            for j in range(dout.shape[-1]):
                share = scale * dout[..., i, j][..., None, None] * np.ones((2, 2))
                if assign:
                    dx[..., i:i + 2, j:j + 2] = share
                else:
                    dx[..., i:i + 2, j:j + 2] += share
        dx[(0,) * dx.ndim] += noise
        return dx
    return run


X = np.random.default_rng(91).standard_normal((2, 3, 4, 5))


def test_an_overlapping_average_pool_assigned_without_its_quarter_is_both_mistakes():
    assert gradcheck.check_layer(_pool, _pool_backward(False, 0.25), [X]).exit_code == 0
    result = gradcheck.check_layer(_pool, _pool_backward(True, 1.0), [X])
    g = result.gradients["x"]
    assert result.exit_code == 1 and set(g.causes) == {"constant factor", "one slice of dout"}, (g.causes, g.diagnosis)
    assert "a constant factor of 4" in g.diagnosis and "overwrites" in g.diagnosis


def test_a_factor_two_sizes_both_are_beside_overwritten_windows_names_the_factor_without_choosing():
    """x (2, 2, 4, 4): a factor 2 is N = 2 and √4 at once; the pair is said, the factor's readings all given."""
    result = gradcheck.check_layer(_pool, _pool_backward(True, 0.5), [np.random.default_rng(92).standard_normal((2, 2, 4, 4))])
    g = result.gradients["x"]
    assert result.exit_code == 1 and set(g.causes) == {"constant factor", "one slice of dout"}, (g.causes, g.diagnosis)
    assert "no one of them can be told" in g.diagnosis


def test_the_same_pair_with_one_more_entry_wrong_stays_honest():
    result = gradcheck.check_layer(_pool, _pool_backward(True, 1.0, noise=0.3), [X])
    g = result.gradients["x"]
    assert result.exit_code == 1 and not g.causes and g.cause == "count", (g.cause, g.diagnosis)
