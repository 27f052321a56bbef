"""A backward computed in lower precision than its forward passes with a note, and fails under strict;
a float64 backward that is right gets no note (issue 27)."""

from __future__ import annotations

import numpy as np

import gradcheck

RNG = np.random.default_rng(5)


def affine(x, w):
    return x @ w, (x, w)


def in_float32(dout, cache):
    x, w = cache
    d = dout.astype(np.float32)
    return (d @ w.T.astype(np.float32)).astype(np.float64), (x.T.astype(np.float32) @ d).astype(np.float64)


def in_float64(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout


INPUTS = [RNG.standard_normal((6, 5)), RNG.standard_normal((5, 4))]


def test_a_float32_backward_of_a_float64_layer_passes_with_a_note():
    result = gradcheck.check_layer(affine, in_float32, INPUTS)
    assert result.status == "pass" and result.exit_code == 0
    for g in result.gradients.values():
        assert g.cause == "lower precision" and "lower precision than f" in g.notes["claimed"], g.notes


def test_under_strict_it_fails():
    result = gradcheck.check_layer(affine, in_float32, INPUTS, strict=True)
    assert result.status == "mismatch" and result.exit_code == 1
    assert "lower precision" in result.verdict and "--strict" in result.verdict, result.verdict


def test_a_float32_bias_sum_over_many_rows_is_caught_by_the_note():
    def forward(x, b):
        return x + b, None

    def backward(dout, cache):
        return dout, dout.astype(np.float32).sum(axis=0).astype(np.float64)

    result = gradcheck.check_layer(forward, backward, [RNG.standard_normal((20_000, 1)), RNG.standard_normal(1)],
                                   wrt="b")
    assert result.status == "pass" and result.gradients["b"].cause == "lower precision"


def test_a_right_float64_backward_gets_no_note():
    result = gradcheck.check_layer(affine, in_float64, INPUTS)
    assert result.status == "pass" and all(g.cause is None and "claimed" not in g.notes
                                           for g in result.gradients.values())
