"""Convolution and pooling in CS231n's NCHW layout: conv2d(x, w, b, stride, pad), max_pool2d and
avg_pool2d(x, size, stride). Naive and readable: windows by sliding_window_view, sums by einsum.

x is (N, C, H, W), w is (F, C, HH, WW), b is (F,); the output is (N, F, H', W') with
H' = 1 + (H + 2·pad − HH) / stride, which must be a whole number (CS231n asserts the same).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .sym_ties import tie_max


def _whole(name: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, got {value!r}")  # noqa: TRY004 - shape rules raise ValueError (shapes.py turns it into a ShapeError)
    return value


def _out_size(n: int, k: int, stride: int, pad: int, what: str) -> int:
    span = n + 2 * pad - k
    if span < 0:
        raise ValueError(f"the window ({k}) is larger than the padded {what} ({n + 2 * pad})")
    if span % stride:
        raise ValueError(f"the stride {stride} does not divide {what} + 2·pad − window = {span}")
    return 1 + span // stride


def conv2d_shape(x, w, b, stride=1, pad=0):
    stride, pad = _whole("stride", stride), _whole("pad", pad)
    if stride < 1 or pad < 0:
        raise ValueError("stride must be ≥ 1 and pad ≥ 0")
    if len(x) != 4 or len(w) != 4:
        raise ValueError("conv2d takes x (N,C,H,W) and w (F,C,HH,WW)")
    if x[1] != w[1]:
        raise ValueError(f"x has {x[1]} channels, w expects {w[1]}")
    if b != (w[0],):
        raise ValueError(f"b must have one entry per filter: ({w[0]},)")
    return (x[0], w[0], _out_size(x[2], w[2], stride, pad, "height"), _out_size(x[3], w[3], stride, pad, "width"))


def conv2d_cost(out, x, w, b, stride=1, pad=0) -> int:
    return int(np.prod(out, dtype=np.int64)) * w[1] * w[2] * w[3]


def _padded(x, pad):
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else np.asarray(x)


def _windows(x, kh, kw, stride, pad):
    """(N, C, H', W', kh, kw): every window the filter sees."""
    return sliding_window_view(_padded(x, pad), (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]


def conv2d(x, w, b, stride=1, pad=0):
    cols = _windows(x, w.shape[2], w.shape[3], stride, pad)
    return np.einsum("nchwij,fcij->nfhw", cols, w) + np.reshape(b, (1, -1, 1, 1))


def _scatter(x_shape, parts, kh, kw, stride, pad):
    """The adjoint of _windows: parts (N, C, H', W', kh, kw) added back into x's entries."""
    n, c, h, w = x_shape
    out = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=parts.dtype)
    oh, ow = parts.shape[2], parts.shape[3]
    for i in range(kh):
        for j in range(kw):
            out[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += parts[..., i, j]
    return out[:, :, pad:pad + h, pad:pad + w]


def conv2d_vjp_x(g, ans, x, w, b, stride=1, pad=0):
    parts = np.einsum("nfhw,fcij->nchwij", g, w)
    return _scatter(np.shape(x), parts, w.shape[2], w.shape[3], stride, pad)


def conv2d_vjp_w(g, ans, x, w, b, stride=1, pad=0):
    return np.einsum("nchwij,nfhw->fcij", _windows(x, w.shape[2], w.shape[3], stride, pad), g)


def conv2d_vjp_b(g, ans, x, w, b, stride=1, pad=0):
    return np.sum(g, axis=(0, 2, 3))


def sym_conv2d(sp, x, w, b, stride=1, pad=0):
    cols = _windows(x if not pad else np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)),
                                              constant_values=sp.Integer(0)), w.shape[2], w.shape[3], stride, 0)
    n, _, oh, ow = cols.shape[:4]
    out = np.empty((n, w.shape[0], oh, ow), dtype=object)
    for (i, f, r, c) in np.ndindex(out.shape):
        window = cols[i, :, r, c]
        out[i, f, r, c] = sp.Add(*(window[idx] * w[f][idx] for idx in np.ndindex(window.shape)), b[f])
    return out


# ----- pooling ------------------------------------------------------------------------------------


def pool_shape(x, size, stride=None):
    size = _whole("size", size)
    stride = size if stride is None else _whole("stride", stride)
    if size < 1 or stride < 1:
        raise ValueError("size and stride must be ≥ 1")
    if len(x) != 4:
        raise ValueError("pooling takes x (N,C,H,W)")
    return (x[0], x[1], _out_size(x[2], size, stride, 0, "height"), _out_size(x[3], size, stride, 0, "width"))


def pool_cost(out, x, size, stride=None) -> int:
    return int(np.prod(out, dtype=np.int64)) * size * size


def _pool_windows(x, size, stride):
    return _windows(x, size, size, size if stride is None else stride, 0)


def max_pool2d(x, size, stride=None):
    return np.max(_pool_windows(x, size, stride), axis=(4, 5))


def max_pool2d_complex(x, size, stride=None):
    """On complex input (the complex step): each window's entry with the largest real part, tied
    entries averaged as amax does; the real parts are the point's, so it is the point's maximum."""
    win = _pool_windows(x, size, stride)
    real = np.real(win)
    mask = real == np.max(real, axis=(4, 5), keepdims=True)
    return np.sum(np.where(mask, win, 0), axis=(4, 5)) / np.sum(mask, axis=(4, 5))


def max_pool2d_vjp(g, ans, x, size, stride=None):
    """g to each window's largest entry; tied entries share it equally (a tie is a kink)."""
    win = _pool_windows(x, size, stride)
    mask = (win == ans[..., None, None]).astype(np.float64)
    parts = g[..., None, None] * mask / mask.sum(axis=(4, 5), keepdims=True)
    return _scatter(np.shape(x), parts, size, size, size if stride is None else stride, 0)


def max_pool2d_kink(x, size, stride=None):
    """Per window, each entry minus the largest of the others: only the maximum is positive, a tie is 0.
    Ordered by real parts; on complex input the imaginary parts are kept (a tie that the step moves apart)."""
    win = _pool_windows(x, size, stride).reshape(*np.shape(x)[:2], -1, size * size)
    order = np.take_along_axis(win, np.argsort(np.real(win), axis=-1), axis=-1)
    top, second = order[..., -1:], order[..., -2:-1] if size * size > 1 else order[..., -1:] - 1
    return np.where(np.real(win) == np.real(top), win - second, win - top)


def avg_pool2d(x, size, stride=None):
    return np.mean(_pool_windows(x, size, stride), axis=(4, 5))


def avg_pool2d_vjp(g, ans, x, size, stride=None):
    parts = np.broadcast_to(g[..., None, None] / (size * size), g.shape + (size, size))
    return _scatter(np.shape(x), parts, size, size, size if stride is None else stride, 0)


def _sym_pool(x, size, stride, combine):
    win = _pool_windows(x, size, stride)
    out = np.empty(win.shape[:4], dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = combine(list(win[idx].ravel()))
    return out


def sym_max_pool2d(sp, x, size, stride=None):
    return _sym_pool(x, size, stride, lambda terms: tie_max(sp, *terms))


def sym_avg_pool2d(sp, x, size, stride=None):
    return _sym_pool(x, size, stride, lambda terms: sp.Add(*terms) * sp.Rational(1, size * size))
