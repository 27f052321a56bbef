"""A forward's own scale forgotten in its backward (hypotheses.forward_scale): the truth is c times the
gradient of the same op without c (an embedding scaled by √d, a lookup times 3, c · x @ W), the claim is
that op's gradient, so the factor 1/c is the forward's scale missing, even where 1/c is also 1/N or 1/√d
(then otherwise ambiguous). Near misses (a claim off by a factor the forward does not apply, a right layer,
a claim wrong elsewhere too) keep their own diagnosis, and every wrong layer still exits 1."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck


def _scaled_lookup(scale: float, slip: str = "", bag: bool = False):
    """out = scale · W[idx] (a bag: summed over idx's axis 1); `slip` names the backward's mistake."""
    def forward(table, tokens):
        rows = table[tokens] * scale
        return (rows.sum(axis=1) if bag else rows), (table.shape, tokens)

    def backward(dout, cache):
        shape, tokens = cache
        spread = np.broadcast_to(dout[:, None, :], tokens.shape + dout.shape[1:]) if bag else dout
        factor = {"forgotten": 1.0, "half": 0.5 * scale, "elsewhere": 1.0}.get(slip, scale)
        g = np.zeros(shape)
        np.add.at(g, tokens, spread * factor)
        if slip == "elsewhere":
            g[4, 0] += 0.3
        return g
    return forward, backward


@pytest.mark.parametrize("rows, width, tokens, bag", [
    (5, 9, [1, 4, 4], False),          # √9 = 3 = N (three tokens): ambiguous without the forward's scale
    (3, 16, [0, 2, 2, 1], False),      # √16 = 4 = N
    (6, 9, [[0, 5], [2, 2], [1, 3]], True),  # a summed bag of three rows, √9 = 3 = N
])
def test_a_lookups_own_root_scale_forgotten_is_named_as_the_forwards_scale(rows, width, tokens, bag):
    scale = np.sqrt(width)
    forward, backward = _scaled_lookup(scale, "forgotten", bag)
    table = np.random.default_rng(rows * width).standard_normal((rows, width))
    result = gradcheck.check_layer(forward, backward, [table, np.array(tokens)])
    gr = result.gradients["table"]
    assert result.exit_code == 1
    assert gr.cause == "constant factor"
    assert "forward's scale" in gr.diagnosis and f"√{width}" in gr.diagnosis and "table[tokens]" in gr.diagnosis


def test_a_product_scaled_by_a_constant_forgotten_in_its_weight_gradient_is_named():
    rng = np.random.default_rng(11)

    def forward(x, w):
        return 2.5 * x @ w, (x, w)

    def backward(dout, cache):
        x, w = cache
        return 2.5 * dout @ w.T, x.T @ dout
    result = gradcheck.check_layer(forward, backward, [rng.standard_normal((4, 3)), rng.standard_normal((3, 5))])
    gr = result.gradients["w"]
    assert result.exit_code == 1
    assert gr.cause == "constant factor" and "x @ w by 2.5" in gr.diagnosis
    assert result.gradients["x"].status != "mismatch"


def test_a_factor_the_forward_does_not_apply_is_not_called_its_scale():
    """The claim is half the truth of a forward scaled by 3: a factor, but not the forward's 3 forgotten."""
    forward, backward = _scaled_lookup(3.0, "half")
    table = np.random.default_rng(5).standard_normal((4, 6))
    result = gradcheck.check_layer(forward, backward, [table, np.array([0, 3, 3, 1, 2])])
    gr = result.gradients["table"]
    assert result.exit_code == 1
    assert gr.cause in ("twice or half", "constant factor") and "forward's scale" not in gr.diagnosis


def test_an_unscaled_forward_with_a_factor_forgotten_stays_ambiguous():
    """out = W[idx] and a claim a quarter of the truth, 4 rows and d = 16: nothing reads 1/4 as a scale."""
    def forward(table, tokens):
        return table[tokens], (table.shape, tokens)

    def backward(dout, cache):
        shape, tokens = cache
        g = np.zeros(shape)
        np.add.at(g, tokens, dout / 4)
        return g
    table = np.random.default_rng(8).standard_normal((3, 16))
    result = gradcheck.check_layer(forward, backward, [table, np.array([0, 2, 2, 1])])
    gr = result.gradients["table"]
    assert result.exit_code == 1
    assert gr.cause in (None, "count") and "forward's scale" not in (gr.diagnosis or "")


@pytest.mark.parametrize("slip, exit_code", [("elsewhere", 1), ("", 0)])
def test_a_claim_wrong_elsewhere_too_or_a_right_layer_names_no_scale(slip, exit_code):
    forward, backward = _scaled_lookup(np.sqrt(9), slip)
    table = np.random.default_rng(3).standard_normal((5, 9))
    result = gradcheck.check_layer(forward, backward, [table, np.array([1, 4, 4])])
    assert result.exit_code == exit_code
    assert "forward's scale" not in (result.gradients["table"].diagnosis or "")
