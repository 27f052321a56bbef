"""Repeated indices in a lookup of any index shape (hypotheses._repeated_in_lookup): an embedding bag's
`dW[idx] += spread` (idx of shape (N, L), each bag's dout spread over its positions, summed, averaged or
weighted) keeps one position's values at a row idx holds twice, read from the truth c · scatter(idx, dout · w).
Near misses (no repeated row, a bag with another mistake, a right bag) keep their own diagnosis, and every
wrong layer still exits 1."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck


def _bag(how: str, slip: str = ""):
    """out[i] = sum / mean / weighted sum of W[idx[i, l]] over l; `slip` names the backward's mistake."""
    def forward(emb, tokens, weights):
        rows = emb[tokens]
        if how == "mean":
            return rows.mean(axis=1), (emb.shape, tokens, weights)
        w = weights[..., None] if how == "weighted" else 1.0
        return (rows * w).sum(axis=1), (emb.shape, tokens, weights)

    def backward(dout, cache):
        shape, tokens, weights = cache
        spread = np.broadcast_to(dout[:, None, :], tokens.shape + dout.shape[1:])
        if how == "mean":
            spread = spread / tokens.shape[1]
        elif how == "weighted":
            spread = spread * weights[..., None]
        g = np.zeros(shape)
        if slip == "fancy":
            g[tokens] += spread
        else:
            np.add.at(g, tokens, spread * (1.5 if slip == "factor" else 1.0))
        return g
    return forward, backward


def _check(how: str, slip: str, tokens, seed: int, rows: int = 8, width: int = 5):
    rng = np.random.default_rng(seed)
    tokens = np.array(tokens)
    forward, backward = _bag(how, slip)
    return gradcheck.check_layer(forward, backward,
                                 [rng.standard_normal((rows, width)), tokens, rng.uniform(0.5, 2.0, tokens.shape)],
                                 data="weights")


@pytest.mark.parametrize("how", ["sum", "mean", "weighted"])
@pytest.mark.parametrize("tokens", [[[0, 4, 4], [2, 6, 0], [7, 1, 2]], [[3, 3], [5, 1], [1, 6], [0, 2]]])
def test_a_bags_fancy_plus_equals_is_repeated_indices(how, tokens):
    result = _check(how, "fancy", tokens, seed=len(how) + len(tokens))
    gr = result.gradients["emb"]
    assert result.exit_code == 1
    assert gr.cause == "repeated indices"
    assert "tokens" in gr.diagnosis and "np.add.at" in gr.diagnosis


def test_a_bag_without_a_repeated_row_is_right_even_with_fancy_plus_equals():
    result = _check("mean", "fancy", [[0, 4], [2, 6], [7, 1]], seed=3)
    assert result.exit_code == 0


@pytest.mark.parametrize("slip, exit_code", [("factor", 1), ("", 0)])
def test_a_bag_with_another_mistake_or_none_is_not_repeated_indices(slip, exit_code):
    result = _check("weighted", slip, [[0, 4, 4], [2, 6, 0], [7, 1, 2]], seed=9)
    assert result.exit_code == exit_code
    assert result.gradients["emb"].cause != "repeated indices"
