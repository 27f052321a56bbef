"""A black box's numeric column below float64: its error estimate bounds its actual error.

f is differenced through ⟨dout, f⟩ (oracles/vjp_numeric.py). In float32 an output can depend on the
stepped input and not change over the step (its change is below its ulp): the difference misses it
at every step alike. The estimate must count it, or the column is trusted where it is wrong.
"""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck.base.tolerance import SAFETY
from gradcheck.oracles.numeric import CHECKED_COMPLEX
from gradcheck.oracles.vjp_numeric import BlackBox, measure

F32 = np.float32


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _softmax_vjp(dout, x):
    s = _softmax(x)
    return s * (dout - (dout * s).sum(axis=1, keepdims=True))


def _measured(x, method):
    base = (_softmax(x),)
    rng = np.random.default_rng(1)
    douts = [(rng.standard_normal(x.shape).astype(F32),) for _ in range(3)]
    box = BlackBox(lambda point: (_softmax(point["x"]),), {"x": x}, douts, base, method, float(np.finfo(F32).eps))
    return douts, measure(box, ["x"], "full")["x"]


@pytest.mark.parametrize("method", ["central", CHECKED_COMPLEX])
@pytest.mark.parametrize("seed", [3, 9, 14, 0, 5])
@pytest.mark.parametrize("scale", [4, 10])
def test_the_float32_error_estimate_covers_the_error(method, seed, scale):
    """Against the float64 truth, every entry's error is within SAFETY times its estimate (the agreement
    rule's allowance). At seed 3, scale 4, central differences read 2.3e-6 at x[1,4] where the truth is
    -3.6e-6, with an estimate of 5e-10: the row's 0.99999 moved by a third of its ulp, unseen."""
    x = (np.random.default_rng(seed).standard_normal((4, 6)) * scale).astype(F32)
    douts, results = _measured(x, method)
    for (dout,), result in zip(douts, results):
        truth = _softmax_vjp(dout.astype(np.float64), x.astype(np.float64))
        value, error = np.asarray(result.value.value), np.asarray(result.value.error)
        off = np.abs(value - truth)
        assert np.all(off <= SAFETY * error), (np.max(off / error), np.unravel_index(np.argmax(off / error), x.shape))


def test_the_complex_step_keeps_its_precision_where_central_differences_cannot_resolve():
    """Where central differences miss an output's change below its ulp, the complex step is checked against
    them on the outputs they do resolve: its error stays near its own, not the size of what they missed
    (a mask that zeroes an entry of 8e-8 beside a largest of 8e-3 is still seen)."""
    x = (np.random.default_rng(14).standard_normal((4, 6)) * 10).astype(F32)
    douts, results = _measured(x, CHECKED_COMPLEX)
    for (dout,), result in zip(douts, results):
        truth = _softmax_vjp(dout.astype(np.float64), x.astype(np.float64))
        error = np.asarray(result.value.error)
        assert np.all(np.abs(np.asarray(result.value.value) - truth) <= SAFETY * error)
        assert error[0, 4] < 1e-2 * abs(truth[0, 4]), (error[0, 4], truth[0, 4])
