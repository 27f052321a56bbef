"""An axis of two slices (two heads, two time steps): a backward that leaves one of two disjoint halves at 0
is "one slice wrong", not an accumulation overwritten ("one slice of dout"), which needs the two slices'
gradients to meet on some entry."""

from __future__ import annotations

import numpy as np

import gradcheck

G = np.random.default_rng(71).standard_normal


def _heads(x, w):
    """A per-head linear map, x (N, 2, D) by w (2, D, E) -> (N, 2, E): each head's own weights."""
    return np.einsum("nhd,hde->nhe", x, w), (x, w)


def _heads_backward(heads, scale=1.0):
    def run(dout, cache):
        x, w = cache
        dx, dw = np.zeros_like(x), np.zeros_like(w)
        for h in heads:
            dx[:, h] = dout[:, h] @ w[h].T
            dw[h] = x[:, h].T @ dout[:, h]
        dx[:, -1] *= scale
        return dx, dw
    return run


INPUTS = [G((3, 2, 4)), G((2, 4, 5))]


def test_a_loop_over_all_heads_but_the_last_is_one_slice_wrong():
    assert gradcheck.check_layer(_heads, _heads_backward(range(2)), INPUTS).exit_code == 0
    result = gradcheck.check_layer(_heads, _heads_backward(range(1)), INPUTS)
    assert result.exit_code == 1
    for name in ("x", "w"):
        g = result.gradients[name]
        assert g.cause == "one slice wrong", (name, g.cause, g.diagnosis)
        assert "except at index 1 of axis" in g.diagnosis and "it is 0 there" in g.diagnosis


def test_a_half_scaled_by_a_factor_on_an_axis_of_two_is_not_one_slice_wrong():
    """Of two halves, one wrong by a factor says no place: the count stays."""
    result = gradcheck.check_layer(_heads, _heads_backward(range(2), scale=0.5), INPUTS)
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.status == "mismatch" and g.cause != "one slice wrong", g.diagnosis


def test_two_steps_sharing_a_weight_written_with_equals_are_still_one_slice_of_dout():
    """Two time steps share W: the second step's = overwrites the first's contribution, which meets it on
    every entry of W: an accumulation lost, not a half left at 0."""
    def forward(x, W):
        return np.stack([x[:, t] @ W for t in range(2)], axis=1), (x, W)

    def backward(dout, cache):
        x, W = cache
        dW = np.zeros_like(W)
        for t in range(2):
            dW = x[:, t].T @ dout[:, t]
        return np.stack([dout[:, t] @ W.T for t in range(2)], axis=1), dW
    result = gradcheck.check_layer(forward, backward, [G((4, 2, 3)), G((3, 5))])
    g = result.gradients["W"]
    assert result.exit_code == 1 and g.cause == "one slice of dout", (g.cause, g.diagnosis)
