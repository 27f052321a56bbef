"""A cause read from a pattern (which rows are wrong) is named only where the pattern could have failed:
some part of the gradient it predicts right must exist, and be right."""

from __future__ import annotations

import numpy as np

import gradcheck


def _embedding(idx, W):
    return W[idx], (idx, W.shape)


def _backward(extra):
    def backward(dout, cache):
        idx, shape = cache
        dW = np.zeros(shape)
        np.add.at(dW, idx, dout)
        return dW + extra
    return backward


def test_a_wrong_gradient_on_rows_that_are_all_repeated_is_not_called_repeated_indices():
    """Every row of W is indexed twice, so 'wrong only on repeated rows' says nothing: the gradient is
    wrong everywhere (an error no table entry explains), and no row could have shown otherwise."""
    idx = np.array([[0, 1, 2], [2, 1, 0]])
    rng = np.random.default_rng(4)
    W = rng.standard_normal((3, 2))
    result = gradcheck.check_layer(_embedding, _backward(0.1 * rng.standard_normal(W.shape)), [idx, W])
    g = result.gradients["W"]
    assert result.exit_code == 1 and g.status == "mismatch", str(result)
    assert g.cause != "repeated indices", g.diagnosis


def test_repeated_indices_are_still_named_where_a_row_indexed_once_is_right():
    idx = np.array([[0, 1, 2], [2, 1, 3]])  # 0 and 3 once, 1 and 2 twice
    W = np.random.default_rng(4).standard_normal((4, 2))

    def overwritten(dout, cache):
        idx, shape = cache
        dW = np.zeros(shape)
        dW[idx] += dout  # a repeated row keeps one of its gradients
        return dW

    result = gradcheck.check_layer(_embedding, overwritten, [idx, W])
    g = result.gradients["W"]
    assert result.exit_code == 1 and g.cause == "repeated indices", (g.cause, g.diagnosis)
    assert gradcheck.check_layer(_embedding, _backward(0.0), [idx, W]).exit_code == 0
