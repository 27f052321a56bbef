"""Pooling's and convolution's backward rules, kink test and complex step go over the window's offsets
(bounded memory, measured with tracemalloc) and agree with the rules written over every window at once.
"""

from __future__ import annotations


import numpy as np
import pytest


POOL_MEMORY = 64 << 20  # bytes: the 120×120 input is 115 kB; every window at once was 100-520 MB


@pytest.mark.parametrize("rule", ["conv2d_vjp_x", "max_pool2d_vjp", "max_pool2d_kink", "max_pool2d_complex",
                                  "avg_pool2d_vjp"])
def test_pool_and_conv_backward_go_over_offsets_not_every_window_at_once(rule):
    """A 60×60 window sliding over a 120×120 x holds 13 million entries in all; the backward rules, the kink
    test and the complex step stay within a few tens of MB (tracemalloc), and agree with every window at once."""
    import tracemalloc

    from gradcheck.ops import convolution as C

    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 1, 120, 120))
    if rule == "conv2d_vjp_x":
        w = rng.standard_normal((1, 1, 60, 60))
        g = rng.standard_normal((1, 1, 61, 61))
        call = lambda: C.conv2d_vjp_x(g, None, x, w, np.zeros(1))  # noqa: E731
    elif rule == "max_pool2d_complex":
        call = lambda: C.max_pool2d_complex(x + 1e-20j, 60, 1)  # noqa: E731
    elif rule == "max_pool2d_kink":
        call = lambda: C.max_pool2d_kink(x, 60, 1)  # noqa: E731
    else:
        ans = (C.max_pool2d if rule == "max_pool2d_vjp" else C.avg_pool2d)(x, 60, 1)
        g = rng.standard_normal(ans.shape)
        call = lambda: getattr(C, rule)(g, ans, x, 60, 1)  # noqa: E731
    tracemalloc.start()
    try:
        call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < POOL_MEMORY, f"{peak / 2**20:.0f} MB"


def test_the_rules_over_offsets_agree_with_every_window_at_once():
    from numpy.lib.stride_tricks import sliding_window_view

    from gradcheck.ops import convolution as C

    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 7, 7))
    x[0, 0, 0, 0] = x[0, 0, 0, 1]  # a tie in a window
    for size, stride in ((2, 1), (3, 2), (1, 1)):
        win = sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]
        ans = C.max_pool2d(x, size, stride)
        g = rng.standard_normal(ans.shape)
        mask = (win == ans[..., None, None]).astype(float)
        parts = g[..., None, None] * mask / mask.sum(axis=(4, 5), keepdims=True)
        expected = np.zeros_like(x)
        for i in range(size):
            for j in range(size):
                expected[:, :, i:i + stride * ans.shape[2]:stride, j:j + stride * ans.shape[3]:stride] += parts[..., i, j]
        np.testing.assert_allclose(C.max_pool2d_vjp(g, ans, x, size, stride), expected)
        kink = C.max_pool2d_kink(x, size, stride)
        flat = win.reshape(*win.shape[:4], -1)
        ordered = np.sort(flat, axis=-1)
        gap = ordered[..., -1] - (ordered[..., -2] if size > 1 else ordered[..., -1] - 1)
        np.testing.assert_allclose(kink[0], gap)  # the largest minus the next: 0 exactly at a tie
    # the complex step on the third of three tied entries still moves the tie apart: on the kink
    tied = np.zeros((1, 1, 2, 2))
    tied[0, 0, 1, 1] = -1.0
    step = np.zeros((1, 1, 2, 2), dtype=complex)
    step[0, 0, 1, 0] = 1e-20j
    gap = C.max_pool2d_kink(tied + step, 2)[0].ravel()[0]
    assert gap.real == 0 and gap.imag != 0
    w = rng.standard_normal((4, 3, 3, 3))
    out = C.conv2d(x, w, np.zeros(4), 2, 1)
    g = rng.standard_normal(out.shape)
    parts = np.einsum("nfhw,fcij->nchwij", g, w)
    expected = np.zeros((2, 3, 9, 9))
    for i in range(3):
        for j in range(3):
            expected[:, :, i:i + 2 * out.shape[2]:2, j:j + 2 * out.shape[3]:2] += parts[..., i, j]
    np.testing.assert_allclose(C.conv2d_vjp_x(g, out, x, w, None, 2, 1), expected[:, :, 1:8, 1:8])
