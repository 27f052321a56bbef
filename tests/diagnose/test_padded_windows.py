"""A padded conv's dx windows added at another stride than its forward's: named "window stride" with the
padding read from the shapes and the kernel (windows.padded_geometries), the part of a border window the
padding hides recovered from the one linear map the windows inside show (windows.whole_contributions),
1-D and 2-D, channels first; near misses (a factor besides, the padding cropped at the wrong side, a right
layer) are not named so, and the verdict stays 1."""

from __future__ import annotations

import numpy as np

import gradcheck

STRIDE_WORDS = "added at stride"
RNG = np.random.default_rng(8081)


def _conv1d(stride: int, pad: int, place: int | None = None, scale: float = 1.0, crop: int | None = None):
    """A (batch, channels, positions) conv with zero padding; its backward adds each window's dx at
    i * place in the padded input (the forward's stride where place is None) and crops from `crop`."""
    def forward(x, w):
        k = w.shape[2]
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad)))
        n_out = (x.shape[2] + 2 * pad - k) // stride + 1
        out = np.stack([np.einsum("nck,fck->nf", xp[:, :, i * stride:i * stride + k], w) for i in range(n_out)],
                       axis=2)
        return out, (x, w)

    def backward(dout, cache):
        x, w = cache
        k = w.shape[2]
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad)))
        dxp, dw = np.zeros_like(xp), np.zeros_like(w)
        at = stride if place is None else place
        for i in range(dout.shape[2]):
            dxp[:, :, i * at:i * at + k] += scale * np.einsum("nf,fck->nck", dout[:, :, i], w)
            dw += np.einsum("nf,nck->fck", dout[:, :, i], xp[:, :, i * stride:i * stride + k])
        start = pad if crop is None else crop
        return dxp[:, :, start:start + x.shape[2]], dw
    return forward, backward


def _conv2d(stride: int, pad: int, place: int | None = None):
    """A (batch, channels, rows, columns) conv with zero padding, its dx windows added at i * place."""
    def forward(x, w):
        kh, kw = w.shape[2:]
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        rows, cols = ((n + 2 * pad - k) // stride + 1 for n, k in zip(x.shape[2:], (kh, kw)))
        out = np.zeros((x.shape[0], w.shape[0], rows, cols))
        for i in range(rows):
            for j in range(cols):
                patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                out[:, :, i, j] = np.einsum("ncij,fcij->nf", patch, w)
        return out, (x, w)

    def backward(dout, cache):
        x, w = cache
        kh, kw = w.shape[2:]
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        dxp, dw = np.zeros_like(xp), np.zeros_like(w)
        at = stride if place is None else place
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                dxp[:, :, i * at:i * at + kh, j * at:j * at + kw] += np.einsum("nf,fcij->ncij", dout[:, :, i, j], w)
                patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                dw += np.einsum("nf,ncij->fcij", dout[:, :, i, j], patch)
        return dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]], dw
    return forward, backward


def _x(layer, x, w):
    result = gradcheck.check_layer(*layer, [x, w])
    return result.exit_code, result.gradients["x"]


def test_a_padded_conv_whose_dx_windows_are_at_another_stride_is_a_window_stride():
    """1-D and 2-D, several strides, paddings and kernels: the windows' contributions at the wrong stride."""
    cases = ((_conv1d(2, 1, place=1), RNG.standard_normal((3, 2, 9)), RNG.standard_normal((2, 2, 3)), 1),
             (_conv1d(3, 2, place=2), RNG.standard_normal((4, 2, 13)), RNG.standard_normal((2, 2, 5)), 2),
             (_conv2d(2, 1, place=1), RNG.standard_normal((3, 2, 7, 6)), RNG.standard_normal((2, 2, 3, 3)), 1))
    for layer, x, w, place in cases:
        code, g = _x(layer, x, w)
        assert code == 1 and g.cause == "window stride", (x.shape, w.shape, g.cause, g.diagnosis)
        assert f"{STRIDE_WORDS} {place}" in g.diagnosis and "padding" in g.diagnosis, g.diagnosis


def test_right_padded_convs_pass():
    for layer, x, w in ((_conv1d(2, 1), RNG.standard_normal((3, 2, 9)), RNG.standard_normal((2, 2, 3))),
                        (_conv2d(2, 1), RNG.standard_normal((3, 2, 7, 6)), RNG.standard_normal((2, 2, 3, 3)))):
        assert gradcheck.check_layer(*layer, [x, w]).exit_code == 0


def test_near_misses_of_a_padded_conv_are_not_a_window_stride():
    """Windows at stride 1 and scaled besides, and the padding cropped at the wrong side (a shift): not so."""
    x, w = RNG.standard_normal((3, 2, 9)), RNG.standard_normal((2, 2, 3))
    for layer in (_conv1d(2, 1, place=1, scale=1.5), _conv1d(2, 1, crop=0)):
        code, g = _x(layer, x, w)
        assert code == 1 and g.cause != "window stride", (g.cause, g.diagnosis)
