"""A max pool's backward whose argmax is taken over every channel of the window (window == window.max()
where window.max(axis=(1, 2)) belongs, the loop over (n, i, j)) is named "mask" with the axes the maximum
was taken over; a pool whose dout is misrouted otherwise (every channel's dout taken from channel 0, or the
whole claim scaled) is not, and the right layer passes."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck

SIZE = 2


def _pool(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // SIZE, SIZE, w // SIZE, SIZE).max(axis=(3, 5)), x


def _backward(over_channels=False, from_channel=None, scale=1.0):
    """The loop over (n, i, j); the window's max over its channels too with `over_channels`; each
    channel's dout from channel `from_channel` if given; the whole claim times `scale`."""
    def backward(dout, x):
        dx = np.zeros_like(x)
        n_, c_, ho, wo = dout.shape
        for n in range(n_):
            for i in range(ho):
                for j in range(wo):
                    where = (n, slice(None), slice(i * SIZE, (i + 1) * SIZE), slice(j * SIZE, (j + 1) * SIZE))
                    window = x[where]
                    mask = window == (window.max() if over_channels else window.max(axis=(1, 2), keepdims=True))
                    d = dout[n, :, i, j] if from_channel is None else np.full(c_, dout[n, from_channel, i, j])
                    dx[where] += mask * d[:, None, None]
        return scale * dx
    return backward


def _inputs(seed):
    return [np.random.default_rng(seed).standard_normal((2, 3, 4, 4))]


def test_the_right_pool_passes():
    assert gradcheck.check_layer(_pool, _backward(), _inputs(1)).exit_code == 0


def test_the_max_over_every_channel_of_the_window_is_named():
    result = gradcheck.check_layer(_pool, _backward(over_channels=True), _inputs(2))
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "mask", (g.cause, g.diagnosis)
    assert ", taken over axis 1 of x too" in g.diagnosis and "max over axes (1, 2, 3)" in g.diagnosis, g.diagnosis


@pytest.mark.parametrize("backward", [
    _backward(from_channel=0),  # each window's own maximum, every channel's dout taken from channel 0
    _backward(over_channels=True, scale=1.5),  # the channels' maximum, and the whole claim 1.5 times too large
])
def test_a_pool_misrouted_otherwise_is_not_named_by_it(backward):
    result = gradcheck.check_layer(_pool, backward, _inputs(3))
    g = result.gradients["x"]
    assert result.exit_code == 1 and "taken over axis 1" not in (g.diagnosis or ""), (g.cause, g.diagnosis)
