"""A flipped kernel in any usual layout (kernels.py): a kernel per channel (C, 1, KH, KW), channels last
(x (N, L, C), w (K, C, F)), and a signal's kernel without channels (np.correlate's forward, np.convolve's
kernel in the backward) are read from the shapes; a kernel's channels reversed (not its window), or a flip
with a factor besides, are not named "kernel flipped", and the wrong layer still exits 1."""

from __future__ import annotations

import numpy as np

import gradcheck

RNG = np.random.default_rng(113)


def _depthwise2d(x, w):
    """x (N, C, H, W), w (C, 1, KH, KW), valid, stride 1: each channel with its own kernel."""
    kh, kw = w.shape[2:]
    oh, ow = x.shape[2] - kh + 1, x.shape[3] - kw + 1
    out = np.zeros((x.shape[0], x.shape[1], oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = (x[:, :, i:i + kh, j:j + kw] * w[None, :, 0]).sum(axis=(2, 3))
    return out, (x, w)


def _depthwise2d_backward(kernel=lambda w: w, scale: float = 1.0):
    def backward(dout, cache):
        x, w = cache
        kh, kw = w.shape[2:]
        k = kernel(w)
        dx, dw = np.zeros_like(x), np.zeros_like(w)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                g = dout[:, :, i, j, None, None]
                dx[:, :, i:i + kh, j:j + kw] += g * k[None, :, 0]
                dw[:, 0] += (g * x[:, :, i:i + kh, j:j + kw]).sum(axis=0)
        return scale * dx, dw
    return backward


def _conv1d_last(x, w):
    """x (N, L, C), w (K, C, F), valid, stride 2 -> (N, (L - K) // 2 + 1, F)."""
    k = w.shape[0]
    starts = range(0, x.shape[1] - k + 1, 2)
    return np.stack([np.einsum("nkc,kcf->nf", x[:, s:s + k], w) for s in starts], axis=1), (x, w)


def _conv1d_last_backward(flip: bool):
    def backward(dout, cache):
        x, w = cache
        k = w.shape[0]
        kernel = w[::-1] if flip else w
        dx, dw = np.zeros_like(x), np.zeros_like(w)
        for i, s in enumerate(range(0, x.shape[1] - k + 1, 2)):
            dx[:, s:s + k] += np.einsum("nf,kcf->nkc", dout[:, i], kernel)
            dw += np.einsum("nf,nkc->kcf", dout[:, i], x[:, s:s + k])
        return dx, dw
    return backward


def _signal(x, w):
    return np.correlate(x, w, mode="valid"), (x, w)


def _named(result, axes: str, flipped: str):
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "kernel flipped", (g.cause, g.diagnosis)
    assert axes in g.diagnosis and flipped in g.diagnosis, g.diagnosis


def test_a_kernel_per_channel_flipped_is_named_with_its_window_axes():
    x, w = RNG.standard_normal((2, 3, 5, 6)), RNG.standard_normal((3, 1, 3, 2))
    _named(gradcheck.check_layer(_depthwise2d, _depthwise2d_backward(lambda w: w[:, :, ::-1, ::-1]), [x, w]),
           "axes 2, 3", "w[:, :, ::-1, ::-1]")
    assert gradcheck.check_layer(_depthwise2d, _depthwise2d_backward(), [x, w]).exit_code == 0


def test_a_channels_last_kernel_flipped_is_named_along_its_leading_window_axis():
    x, w = RNG.standard_normal((2, 9, 3)), RNG.standard_normal((3, 3, 4))
    _named(gradcheck.check_layer(_conv1d_last, _conv1d_last_backward(flip=True), [x, w]), "axis 0", "w[::-1, :, :]")
    assert gradcheck.check_layer(_conv1d_last, _conv1d_last_backward(flip=False), [x, w]).exit_code == 0


def test_a_signals_correlation_differentiated_with_the_convolution_is_named():
    x, w = RNG.standard_normal(10), RNG.standard_normal(4)

    def wrong(dout, cache):
        x, w = cache
        return np.correlate(np.pad(dout, len(w) - 1), w, mode="valid"), np.correlate(x, dout, mode="valid")

    def right(dout, cache):
        x, w = cache
        return np.convolve(dout, w, mode="full"), np.correlate(x, dout, mode="valid")

    _named(gradcheck.check_layer(_signal, wrong, [x, w]), "axis 0", "w[::-1]")
    assert gradcheck.check_layer(_signal, right, [x, w]).exit_code == 0


def test_near_misses_are_not_a_flipped_kernel():
    """The kernels' channels reversed (a channel axis, not the window), and a flip scaled besides."""
    x, w = RNG.standard_normal((2, 3, 5, 6)), RNG.standard_normal((3, 1, 3, 2))
    for backward in (_depthwise2d_backward(lambda w: w[::-1]), _depthwise2d_backward(lambda w: w[:, :, ::-1], 2.0)):
        result = gradcheck.check_layer(_depthwise2d, backward, [x, w])
        g = result.gradients["x"]
        assert result.exit_code == 1 and g.cause != "kernel flipped", (g.cause, g.diagnosis)
