"""A pool written by reshape and transpose whose backward reshapes its (.., window) gradient to x's shape
without transposing back (blocks.py) is named "permuted", with the blocks and the order read from the
shapes: max pools (a truth of zeros) and average pools, 1-D and 2-D, channels first and last; a window
reversed or the right backward are not said to be blocks moved, and the wrong layer still exits 1."""

from __future__ import annotations

import numpy as np

import gradcheck

WORDS = "viewed as blocks"
RNG = np.random.default_rng(131)


def _pool_last_2d(kh: int, kw: int, forget: bool = False, window=lambda d: d):
    """Max pool of x (N, H, W, C) by blocks (N, H/kh, W/kw, kh, kw, C)."""
    def view(x):
        n, h, w, c = x.shape
        return x.reshape(n, h // kh, kh, w // kw, kw, c).transpose(0, 1, 3, 2, 4, 5)

    def forward(x):
        b = view(x)
        out = b.max(axis=(3, 4))
        return out, (x.shape, b == out[:, :, :, None, None, :])

    def backward(dout, cache):
        shape, mask = cache
        d = window(mask * dout[:, :, :, None, None, :])
        return d.reshape(shape) if forget else d.transpose(0, 1, 3, 2, 4, 5).reshape(shape)
    return forward, backward


def _pool_last_1d(k: int, forget: bool = False):
    """Max pool of x (N, L, C) by blocks (N, L/k, C, k): the window's axis moved last."""
    def forward(x):
        n, length, c = x.shape
        b = x.reshape(n, length // k, k, c).transpose(0, 1, 3, 2)
        out = b.max(axis=3)
        return out, (x.shape, b == out[..., None])

    def backward(dout, cache):
        shape, mask = cache
        d = mask * dout[..., None]
        return d.reshape(shape) if forget else d.transpose(0, 1, 3, 2).reshape(shape)
    return forward, backward


def _avg_pool_first_2d(kh: int, kw: int, forget: bool = False):
    """Average pool of x (N, C, H, W) by blocks (N, C, H/kh, W/kw, kh, kw): a truth with no zeros."""
    def forward(x):
        n, c, h, w = x.shape
        return x.reshape(n, c, h // kh, kh, w // kw, kw).transpose(0, 1, 2, 4, 3, 5).mean(axis=(4, 5)), x.shape

    def backward(dout, shape):
        d = np.broadcast_to(dout[..., None, None] / (kh * kw), dout.shape + (kh, kw))
        return d.reshape(shape) if forget else d.transpose(0, 1, 2, 4, 3, 5).reshape(shape)
    return forward, backward


def _named(layer, x):
    result = gradcheck.check_layer(*layer, [x])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "permuted", (g.cause, g.diagnosis)
    assert WORDS in g.diagnosis and "a reshape where a transpose belongs" in g.diagnosis, g.diagnosis
    return g.diagnosis


def test_a_channels_last_max_pool_reshaped_without_its_transpose_is_named():
    x = RNG.standard_normal((2, 4, 6, 2))
    said = _named(_pool_last_2d(2, 3, forget=True), x)
    assert "(2, 2, 2, 2, 3, 2)" in said and "(0, 1, 3, 2, 4, 5)" in said, said
    assert gradcheck.check_layer(*_pool_last_2d(2, 3), [x]).exit_code == 0


def test_a_one_dimensional_pool_and_an_average_pool_are_named_too():
    x1, x2 = RNG.standard_normal((2, 6, 2)), RNG.standard_normal((2, 2, 6, 4))
    assert "(0, 1, 3, 2)" in _named(_pool_last_1d(3, forget=True), x1)
    _named(_avg_pool_first_2d(3, 2, forget=True), x2)
    assert gradcheck.check_layer(*_pool_last_1d(3), [x1]).exit_code == 0
    assert gradcheck.check_layer(*_avg_pool_first_2d(3, 2), [x2]).exit_code == 0


def test_a_window_reversed_is_not_blocks_moved():
    x = RNG.standard_normal((2, 4, 6, 2))
    result = gradcheck.check_layer(*_pool_last_2d(2, 3, window=lambda d: d[:, :, :, ::-1, ::-1]), [x])
    g = result.gradients["x"]
    assert result.exit_code == 1 and WORDS not in g.diagnosis, (g.cause, g.diagnosis)
