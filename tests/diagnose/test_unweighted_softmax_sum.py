"""A softmax's backward whose sum is of dout alone, s·(d − Σ d) where s·(d − Σ s·d) belongs: named
"unweighted softmax sum" for a softmax layer and for attention's dS inside Q's and K's gradients
(attention.py read from the values). Near misses: the sum left out (attention's dS = A * dA), the sum
unweighted and a factor besides, the sum weighted but over the wrong axis."""

from __future__ import annotations

import numpy as np

import gradcheck

RNG = np.random.default_rng(92)
WORDS = "the sum in the softmax's backward is of"


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def attention_forward(Q, K, V):
    A = softmax(Q @ K.T / np.sqrt(Q.shape[1]))
    return A @ V, (Q, K, V, A)


def attention_backward(form: str, factor: float = 1.0):
    def backward(dout, cache):
        Q, K, V, A = cache
        dA = dout @ V.T
        dS = {"right": A * (dA - (A * dA).sum(axis=-1, keepdims=True)),
              "unweighted": A * (dA - dA.sum(axis=-1, keepdims=True)),
              "left out": A * dA}[form] * factor / np.sqrt(Q.shape[1])
        return dS @ K, dS.T @ Q, A.T @ dout
    return backward


ATTENTION = [RNG.standard_normal((3, 2)), RNG.standard_normal((4, 2)), RNG.standard_normal((4, 3))]


def test_attention_whose_softmax_sum_is_unweighted_is_named():
    result = gradcheck.check_layer(attention_forward, attention_backward("unweighted"), ATTENTION)
    assert result.exit_code == 1
    for name in ("Q", "K"):
        g = result.gradients[name]
        assert g.cause == "unweighted softmax sum", (name, g.cause, g.diagnosis)
        assert "A·(dA − Σ dA)" in g.diagnosis and "softmax(Q @ K.T / √2)" in g.diagnosis
    assert gradcheck.check_layer(attention_forward, attention_backward("right"), ATTENTION).exit_code == 0


def test_near_misses_of_attention_are_not_an_unweighted_sum():
    for form, factor in (("left out", 1.0), ("unweighted", 1.5)):
        result = gradcheck.check_layer(attention_forward, attention_backward(form, factor), ATTENTION)
        g = result.gradients["Q"]
        assert result.exit_code == 1 and WORDS not in (g.diagnosis or ""), (form, g.cause, g.diagnosis)


X = RNG.standard_normal((3, 4))


def softmax_forward(x):
    return softmax(x), x


def softmax_backward(axis: int, weighted: bool):
    def backward(dout, x):
        s = softmax(x)
        summed = s * dout if weighted else dout
        return s * (dout - summed.sum(axis=axis, keepdims=True))
    return backward


def test_a_softmax_whose_sum_is_unweighted_is_named():
    result = gradcheck.check_layer(softmax_forward, softmax_backward(1, weighted=False), [X])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "unweighted softmax sum", (g.cause, g.diagnosis)
    assert "s·(dout − Σ dout)" in g.diagnosis and "over axis 1" in g.diagnosis
    assert gradcheck.check_layer(softmax_forward, softmax_backward(1, weighted=True), [X]).exit_code == 0


def test_a_softmax_summed_over_another_axis_is_not_an_unweighted_sum():
    for axis, weighted in ((0, True), (0, False)):
        result = gradcheck.check_layer(softmax_forward, softmax_backward(axis, weighted), [X])
        g = result.gradients["x"]
        assert result.exit_code == 1 and g.cause != "unweighted softmax sum", (axis, g.cause, g.diagnosis)
