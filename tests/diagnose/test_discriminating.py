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


class _Net:
    """A two-layer softmax classifier, CS231n style; `bug` adds reg·b2 to b2's gradient (the loss does not
    regularise b2). The softmax makes b2's true gradient sum to 0, as a mean's path does."""

    def __init__(self, bug: bool, classes: int):
        r = np.random.default_rng(3)
        self.params = {"W1": r.standard_normal((4, 5)) * 0.5, "b1": r.standard_normal(5) * 0.1,
                       "W2": r.standard_normal((5, classes)) * 0.5, "b2": r.standard_normal(classes) * 0.1}
        self.reg, self.bug = 0.2, bug

    def loss(self, X, y):
        p, n = self.params, len(y)
        h = np.maximum(0, X @ p["W1"] + p["b1"])
        s = h @ p["W2"] + p["b2"]
        e = np.exp(s - s.max(1, keepdims=True))
        prob = e / e.sum(1, keepdims=True)
        loss = -np.log(prob[np.arange(n), y]).mean() + 0.5 * self.reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        ds = prob.copy()
        ds[np.arange(n), y] -= 1
        ds /= n
        dh = ds @ p["W2"].T * (h > 0)
        grads = {"W2": h.T @ ds + self.reg * p["W2"], "b2": ds.sum(0), "W1": X.T @ dh + self.reg * p["W1"],
                 "b1": dh.sum(0)}
        if self.bug:
            grads["b2"] = grads["b2"] + self.reg * p["b2"]
        return loss, grads


def test_a_term_proportional_to_a_parameter_is_not_a_missing_mean_path():
    """b2's truth sums to 0 over the classes (the softmax) and the claim reg·b2 more does not: that is a
    regularisation term, told as one where there are entries enough, never as a mean's path."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 4))
    for classes, named in ((3, None), (7, "regularisation")):
        y = rng.integers(0, classes, 6)
        assert gradcheck.check_model(_Net(False, classes), X, y).exit_code == 0
        result = gradcheck.check_model(_Net(True, classes), X, y)
        g = result.gradients['params["b2"]']
        assert result.exit_code == 1 and g.status == "mismatch", str(result)
        assert g.cause != "mean path" and g.diagnosis, (g.cause, g.diagnosis)
        if named:
            assert g.cause == named, (g.cause, g.diagnosis)
