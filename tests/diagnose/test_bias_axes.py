"""A bias broadcast along axes on both sides of its own (a conv's b[None, :, None, None]) whose gradient
is summed over too few of them has a trailing axis left over: "batch axis not summed" reads the axes
left wherever they are, and names them only when summing them gives the truth."""

from __future__ import annotations

import numpy as np

import gradcheck


def _biased(x, b):
    """x (N, F, H, W) plus a per-channel bias."""
    return x + b[None, :, None, None], None


RNG = np.random.default_rng(91)
X = RNG.standard_normal((2, 3, 4, 5))
B = RNG.standard_normal(3)


def _b(backward):
    result = gradcheck.check_layer(_biased, backward, [X, B])
    return result.exit_code, result.gradients["b"]


def test_a_bias_gradient_summed_over_the_batch_and_rows_only_is_named_with_its_column_axis():
    code, g = _b(lambda dout, cache: (dout, dout.sum(axis=(0, 2))))
    assert code == 1 and g.cause == "batch axis not summed", (g.cause, g.diagnosis)
    assert "(3,5)" in g.diagnosis and "summed over axis 1" in g.diagnosis
    assert gradcheck.check_layer(_biased, lambda dout, cache: (dout, dout.sum(axis=(0, 2, 3))), [X, B]).exit_code == 0


def test_a_leftover_axis_whose_sum_is_not_the_truth_is_not_named():
    for backward in (lambda dout, cache: (dout, 2 * dout.sum(axis=(0, 2))),
                     lambda dout, cache: (dout, dout[0].sum(axis=1))):
        code, g = _b(backward)
        assert code == 1 and g.cause != "batch axis not summed", (g.cause, g.diagnosis)
