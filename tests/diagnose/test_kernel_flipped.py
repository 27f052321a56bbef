"""A convolution's backward with its kernel flipped (dx built from w[..., ::-1, ::-1] for a forward that
cross-correlates) is named "kernel flipped" when the claim is the true gradient of the same layer at the
point whose kernel is reversed (kernels.py, one pass of differences there); a kernel transposed, a flip
with a factor besides, or a flipped dw are not."""

from __future__ import annotations

import numpy as np

import gradcheck


def _conv2d(x, w):
    """Valid 2-D cross-correlation, stride 1: x (N, C, H, W), w (F, C, KH, KW) -> (N, F, H-KH+1, W-KW+1)."""
    kh, kw = w.shape[2:]
    oh, ow = x.shape[2] - kh + 1, x.shape[3] - kw + 1
    out = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = np.einsum("nchw,fchw->nf", x[:, :, i:i + kh, j:j + kw], w)
    return out, (x, w)


def _conv2d_backward(kernel=lambda w: w, scale: float = 1.0, dw_window=lambda win: win):
    def backward(dout, cache):
        x, w = cache
        kh, kw = w.shape[2:]
        k = kernel(w)
        dx, dw = np.zeros_like(x), np.zeros_like(w)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                g = dout[:, :, i, j]
                dx[:, :, i:i + kh, j:j + kw] += np.einsum("nf,fchw->nchw", g, k)
                dw += np.einsum("nf,nchw->fchw", g, dw_window(x[:, :, i:i + kh, j:j + kw]))
        return scale * dx, dw
    return backward


RNG = np.random.default_rng(71)
X = RNG.standard_normal((2, 2, 5, 6))
W = RNG.standard_normal((3, 2, 3, 3))


def _x(backward):
    result = gradcheck.check_layer(_conv2d, backward, [X, W])
    return result.exit_code, result.gradients["x"]


def test_a_conv2d_whose_dx_uses_the_kernel_flipped_both_ways_is_named():
    code, g = _x(_conv2d_backward(kernel=lambda w: w[:, :, ::-1, ::-1]))
    assert code == 1 and g.cause == "kernel flipped", (g.cause, g.diagnosis)
    assert "w reversed along axes 2, 3" in g.diagnosis and "w[:, :, ::-1, ::-1]" in g.diagnosis
    assert gradcheck.check_layer(_conv2d, _conv2d_backward(), [X, W]).exit_code == 0


def test_a_kernel_flipped_along_one_spatial_axis_is_named_with_that_axis():
    code, g = _x(_conv2d_backward(kernel=lambda w: w[:, :, :, ::-1]))
    assert code == 1 and g.cause == "kernel flipped", (g.cause, g.diagnosis)
    assert "along axis 3" in g.diagnosis


def test_near_misses_are_not_a_flipped_kernel():
    for backward in (_conv2d_backward(kernel=lambda w: w.transpose(0, 1, 3, 2)),
                     _conv2d_backward(kernel=lambda w: w[:, :, ::-1, ::-1], scale=2.0)):
        code, g = _x(backward)
        assert code == 1 and g.cause != "kernel flipped", (g.cause, g.diagnosis)
    flipped_dw = _conv2d_backward(dw_window=lambda win: win[:, :, ::-1, ::-1])
    result = gradcheck.check_layer(_conv2d, flipped_dw, [X, W])
    g = result.gradients["w"]
    assert result.exit_code == 1 and g.cause != "kernel flipped", (g.cause, g.diagnosis)


def test_a_forward_that_refuses_the_flipped_kernel_leaves_the_diagnosis_without_it():
    """The flipped point is the user's forward's to refuse: its error there names nothing and ends nothing."""
    def rising_only(x, w):
        if np.any(np.diff(w, axis=3) < 0):
            raise ValueError("the kernel's taps must rise")
        return _conv2d(x, w)

    w = np.sort(W, axis=3)
    result = gradcheck.check_layer(rising_only, _conv2d_backward(kernel=lambda w: w[:, :, :, ::-1]), [X, w])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause != "kernel flipped", (g.cause, g.diagnosis)
