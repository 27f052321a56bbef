"""Sliding windows written with = where += belongs (a conv's or a pool's dx): each entry of the claim is
the contribution of the last window covering it, alone. Named "one slice of dout" (an accumulation
overwritten) from the truth of douts kept on classes of windows that do not overlap (windows.py), for
window sizes and strides read from the shapes, the first window's where the loops run backwards; not for
windows placed wrongly, or a factor besides."""

from __future__ import annotations

import numpy as np

import gradcheck

WORDS = "the last window that covers it"


def _conv1d(stride: int):
    def forward(x, w):
        k = w.shape[2]
        n_out = (x.shape[2] - k) // stride + 1
        out = np.stack([np.einsum("nck,fck->nf", x[:, :, i * stride:i * stride + k], w) for i in range(n_out)], axis=2)
        return out, (x, w)
    return forward


def _conv1d_backward(stride: int, assign: bool = False, reverse: bool = False, every: int = 1,
                     place: int | None = None):
    def backward(dout, cache):
        x, w = cache
        k = w.shape[2]
        dx, dw = np.zeros_like(x), np.zeros_like(w)
        order = range(dout.shape[2])
        for i in (reversed(order) if reverse else order):
            at = i * (stride if place is None else place)
            part = np.einsum("nf,fck->nck", dout[:, :, i], w)
            if assign and i % every == 0:
                dx[:, :, at:at + k] = part
            else:
                dx[:, :, at:at + k] += part
            dw += np.einsum("nf,nck->fck", dout[:, :, i], x[:, :, i * stride:i * stride + k])
        return dx, dw
    return backward


def _avg_pool_2x2_stride_1(x):
    return (x[:, :, :-1, :-1] + x[:, :, 1:, :-1] + x[:, :, :-1, 1:] + x[:, :, 1:, 1:]) / 4, x.shape


def _avg_pool_backward(assign: bool):
    def backward(dout, shape):
        dx = np.zeros(shape)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                part = np.broadcast_to(dout[:, :, i:i + 1, j:j + 1] / 4, dout.shape[:2] + (2, 2))
                if assign:
                    dx[:, :, i:i + 2, j:j + 2] = part
                else:
                    dx[:, :, i:i + 2, j:j + 2] += part
        return dx
    return backward


RNG = np.random.default_rng(81)
X1, W1 = RNG.standard_normal((2, 2, 9)), RNG.standard_normal((3, 2, 3))
X2 = RNG.standard_normal((2, 3, 4, 5))


def _x(forward, backward, inputs):
    result = gradcheck.check_layer(forward, backward, inputs)
    return result.exit_code, result.gradients["x"]


def test_a_conv1d_whose_dx_windows_are_assigned_is_an_accumulation_overwritten():
    for stride in (1, 2):
        code, g = _x(_conv1d(stride), _conv1d_backward(stride, assign=True), [X1, W1])
        assert code == 1 and g.cause == "one slice of dout", (stride, g.cause, g.diagnosis)
        assert WORDS in g.diagnosis and f"3 windows with stride {stride}" in g.diagnosis and "+=" in g.diagnosis
        assert gradcheck.check_layer(_conv1d(stride), _conv1d_backward(stride), [X1, W1]).exit_code == 0


def test_an_average_pool_with_overlapping_windows_assigned_is_named():
    code, g = _x(_avg_pool_2x2_stride_1, _avg_pool_backward(assign=True), [X2])
    assert code == 1 and g.cause == "one slice of dout", (g.cause, g.diagnosis)
    assert "2x2 windows with stride 1" in g.diagnosis and "axes 2, 3" in g.diagnosis
    assert gradcheck.check_layer(_avg_pool_2x2_stride_1, _avg_pool_backward(assign=False), [X2]).exit_code == 0


def test_a_conv1d_assigned_in_a_loop_run_backwards_keeps_the_first_window():
    code, g = _x(_conv1d(1), _conv1d_backward(1, assign=True, reverse=True), [X1, W1])
    assert code == 1 and g.cause == "one slice of dout", (g.cause, g.diagnosis)
    assert "the first window that covers it" in g.diagnosis and WORDS not in g.diagnosis, g.diagnosis


def test_near_misses_are_not_windows_overwritten():
    """Every other window assigned and the rest added, windows placed at stride 1 for a stride 2 forward: no
    claim of the last (or the first) window alone."""
    for stride, backward in ((1, _conv1d_backward(1, assign=True, every=2)),
                             (2, _conv1d_backward(2, place=1))):
        code, g = _x(_conv1d(stride), backward, [X1, W1])
        assert code == 1 and WORDS not in g.diagnosis and "the first window" not in g.diagnosis, (g.cause, g.diagnosis)


STRIDE_WORDS = "added at stride"


def test_a_strided_conv1d_whose_windows_are_added_at_stride_1_is_a_window_stride():
    for stride, place in ((2, 1), (3, 2)):
        x = np.random.default_rng(82).standard_normal((2, 2, 11))
        code, g = _x(_conv1d(stride), _conv1d_backward(stride, place=place), [x, W1])
        assert code == 1 and g.cause == "window stride", (stride, g.cause, g.diagnosis)
        assert f"{STRIDE_WORDS} {place}" in g.diagnosis and f"stride {stride} along axes 2" in g.diagnosis
        assert gradcheck.check_layer(_conv1d(stride), _conv1d_backward(stride), [x, W1]).exit_code == 0


def test_near_misses_are_not_a_window_stride():
    """Windows placed at stride 1 and scaled besides, windows at their stride shifted by one, and windows at
    stride 1 for a stride 2 forward with the kernel given without its size (no kernel input): none is named."""
    x = np.random.default_rng(83).standard_normal((2, 2, 9))

    def shifted(dout, cache):
        dx, dw = _conv1d_backward(2)(dout, cache)
        return np.roll(dx, 1, axis=2), dw

    def scaled(dout, cache):
        dx, dw = _conv1d_backward(2, place=1)(dout, cache)
        return 1.5 * dx, dw

    for backward in (scaled, shifted):
        code, g = _x(_conv1d(2), backward, [x, W1])
        assert code == 1 and g.cause != "window stride", (g.cause, g.diagnosis)

    def fixed_kernel_forward(x):
        return _conv1d(2)(x, W1)[0], x

    def fixed_kernel_backward(dout, x):
        return _conv1d_backward(2, place=1)(dout, (x, W1))[0]
    code, g = _x(fixed_kernel_forward, fixed_kernel_backward, [x])
    assert code == 1 and STRIDE_WORDS not in g.diagnosis, (g.cause, g.diagnosis)
