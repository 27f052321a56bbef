"""Rounding and tolerance at their edges: an atol scaled below f's rounding, and a right float32 (or
float16) batch norm that passes (or is inconclusive) while a wrong one fails.
"""

from __future__ import annotations


import numpy as np
import pytest

import gradcheck


@pytest.mark.parametrize("expr", ["x + x**2 - x", "-(x + x) + (x + (x + x**2))"])
def test_a_scaled_atol_below_rounding_still_passes(expr):
    assert gradcheck.check(expr, at="x=1e-12", atol=1e-8).status == "pass"
    result = gradcheck.check(expr, at="x=1e-12")
    assert result.status == "pass", str(result)


def _bn_forward(x, gamma, beta):
    mu, var = x.mean(0), x.var(0)  # np.var of a complex array is real: not analytic under the complex step
    xh = (x - mu) / np.sqrt(var + 1e-5)
    return gamma * xh + beta, (xh, gamma, var)


def _bn_backward(dout, cache):
    xh, gamma, var = cache
    n, dxh = dout.shape[0], dout * gamma
    dx = (n * dxh - dxh.sum(0) - xh * (dxh * xh).sum(0)) / (n * np.sqrt(var + 1e-5))
    return dx, (dout * xh).sum(0), dout.sum(0)


def _bn_backward_without_the_mean(dout, cache):
    xh, gamma, var = cache
    return dout * gamma / np.sqrt(var + 1e-5), (dout * xh).sum(0), dout.sum(0)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64])
def test_a_right_float32_batchnorm_passes_and_a_wrong_one_fails(dtype):
    """In float32 the checked complex step was let through by central differences' 1e-3 error while
    np.var had made it wrong by 4e-3 on an entry of 3e-3: the right backward failed."""
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((6, 4)).astype(dtype), np.array([0.1926, 0.0164, -0.9904, 0.2264], dtype=dtype),
              rng.standard_normal(4).astype(dtype)]
    right = gradcheck.check_layer(_bn_forward, _bn_backward, inputs)
    if dtype == np.float16:  # differences in float16 err by half of dx itself here: nothing can confirm it
        assert right.status == "inconclusive" and right.gradients["x"].status == "inconclusive", right.verdict
        assert right.exit_code == 4 and right.gradients["gamma"].status == "pass"
    else:
        assert right.status == "pass", right.verdict
    wrong = gradcheck.check_layer(_bn_forward, _bn_backward_without_the_mean, inputs)
    assert wrong.status == "mismatch" and wrong.gradients["x"].status == "mismatch"
