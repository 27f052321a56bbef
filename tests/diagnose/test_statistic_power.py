"""A normalisation's path with its power of the line's statistic one off (a staged batch norm's dvar with
std**-2 where std**-3 belongs: the variance's term std times too large, one factor per feature), or its
power of the variance one off (dvar with (var + eps)**-0.5 where (var + eps)**-1.5 belongs: var times too
large) is named "statistic path factor" with that power; a path scaled per line by anything else (a random
factor, std**3) is not, and the right layer passes."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck

N, D = 6, 3
EPS = 1e-5


def _batch_norm(x, g, b):
    xmu = x - x.mean(axis=0)
    std = np.sqrt((xmu ** 2).mean(axis=0) + EPS)
    return g * xmu / std + b, (xmu, std, g)


def _staged_backward(var_power=3, mean_power=1, var_factor=1.0):
    """The staged backward with dvar's power of std `var_power` (3 is right), dmu's `mean_power` (1 is
    right) and the variance's term times `var_factor`."""
    def backward(dout, cache):
        xmu, std, g = cache
        dxhat = dout * g
        dvar = var_factor * np.sum(dxhat * xmu, axis=0) * -0.5 / std ** var_power
        dmu = np.sum(-dxhat / std ** mean_power, axis=0)
        return dxhat / std + dvar * 2.0 * xmu / N + dmu / N, (dout * xmu / std).sum(0), dout.sum(0)
    return backward


def _inputs(seed):
    r = np.random.default_rng(seed)
    return [2.0 * r.standard_normal((N, D)) + 1.0, 1.0 + 0.3 * r.standard_normal(D), r.standard_normal(D)]


def test_the_staged_backward_is_right():
    assert gradcheck.check_layer(_batch_norm, _staged_backward(), _inputs(1)).exit_code == 0


@pytest.mark.parametrize("backward, words", [
    (_staged_backward(var_power=2), "std times too large (the std of x over axis 0, one per line): a power of "
                                    "std one too low, as std**-2 where std**-3 belongs"),
    (_staged_backward(var_power=4), "std times too small"),
    (_staged_backward(mean_power=0), "as no std at all where std**-1 belongs"),
    (_staged_backward(var_power=1), "var times too large (the variance of x over axis 0, one per line): a power "
                                    "of (var + eps) one too low, as (var + eps)**-0.5 where (var + eps)**-1.5 "
                                    "belongs"),
    (_staged_backward(var_power=5), "var times too small"),
])
def test_a_power_of_the_statistic_one_off_is_named(backward, words):
    result = gradcheck.check_layer(_batch_norm, backward, _inputs(2))
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "statistic path factor", (g.cause, g.diagnosis)
    assert words in g.diagnosis, g.diagnosis


@pytest.mark.parametrize("backward", [
    _staged_backward(var_factor=np.random.default_rng(3).uniform(0.5, 3.0, D)),  # one random factor per feature
    _staged_backward(var_power=0),  # std**3 times the term: no power of std or of the variance one off
])
def test_a_path_scaled_per_line_otherwise_is_not_named(backward):
    result = gradcheck.check_layer(_batch_norm, backward, _inputs(4))
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause not in ("statistic path factor", "mean path"), (g.cause, g.diagnosis)


def _rms_norm(x, g):
    rms = np.sqrt((x ** 2).mean(axis=1, keepdims=True) + EPS)
    return x / rms * g, (x, g, rms)


def _rms_backward(power):
    """The rms's term with rms**-power (3 is right)."""
    def backward(dout, cache):
        x, g, rms = cache
        proj = (dout * g * x).sum(axis=1, keepdims=True)
        return g * dout / rms - x * proj / (x.shape[1] * rms ** power), (dout * x / rms).sum(0)
    return backward


@pytest.mark.parametrize("power, named", [(2, True), (1, False)])
def test_an_rms_path_with_its_power_one_low_is_named_and_two_low_is_not(power, named):
    """The rms's path is the whole path (no mean's part): rms times too large is named, rms**2 is not."""
    r = np.random.default_rng(5)
    inputs = [r.standard_normal((N, D + 2)) + 0.5, r.uniform(0.5, 1.5, D + 2)]
    assert gradcheck.check_layer(_rms_norm, _rms_backward(3), inputs).exit_code == 0
    result = gradcheck.check_layer(_rms_norm, _rms_backward(power), inputs)
    g = result.gradients["x"]
    assert result.exit_code == 1 and (g.cause == "statistic path factor") == named, (g.cause, g.diagnosis)
    if named:
        assert "as rms**-2 where rms**-3 belongs" in g.diagnosis, g.diagnosis
