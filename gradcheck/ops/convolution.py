"""Convolution and pooling in CS231n's NCHW layout: conv2d(x, w, b, stride, pad), max_pool2d and
avg_pool2d(x, size, stride). Naive and readable: windows by sliding_window_view, sums by einsum.

Nothing here builds every window at once (N·C·H'·W'·kh·kw numbers: 3.8 GB for a 300×300 x and a
150×150 filter, within the cost limits): the forward passes read the windows as a view, and the
backward passes, the kink test and the complex step go over the window's offsets one at a time,
each an array of the output's size (`_offset`).

x is (N, C, H, W), w is (F, C, HH, WW), b is (F,); the output is (N, F, H', W') with
H' = 1 + (H + 2·pad − HH) / stride, which must be a whole number (CS231n asserts the same).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .ties import tie_max


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


def _offset(x, i, j, stride, out_shape):
    """The entries of x at offset (i, j) of every window: x[n, c, r·stride + i, q·stride + j] for each output
    entry (r, q); the same positions, written to, add a window's part back into x."""
    oh, ow = out_shape[-2:]
    return x[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]


def conv2d_vjp_x(g, ans, x, w, b, stride=1, pad=0):
    """Σ over offsets (i, j) of each window: g's filters at that offset, added back into x's padded entries."""
    n, c, h, width = np.shape(x)
    out = np.zeros((n, c, h + 2 * pad, width + 2 * pad), dtype=np.result_type(g, w))
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            _offset(out, i, j, stride, g.shape)[...] += np.einsum("nfhw,fc->nchw", g, w[:, :, i, j])
    return out[:, :, pad:pad + h, pad:pad + width]


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


# Entries of the windows read at once (8 MB of float64): the kink test and the complex step run at
# every evaluation of f, so they take the offsets a block at a time, reduced by numpy, not one by one.
BLOCK_ENTRIES = 1 << 20


def _pool_offsets(x, size, stride):
    """(the output's shape, the stride, and each offset of the window as x's entries there, one at a time)."""
    stride = size if stride is None else stride
    out_shape = pool_shape(np.shape(x), size, stride)
    return out_shape, stride, ((i, j, _offset(x, i, j, stride, out_shape)) for i in range(size) for j in range(size))


def _pool_blocks(x, size, stride):
    """The windows' entries a block of offsets at a time: (the first offset's number i·size + j, an array of
    shape (offsets, *output shape)), at most BLOCK_ENTRIES entries each."""
    out_shape, _, offsets = _pool_offsets(x, size, stride)
    per = max(1, BLOCK_ENTRIES // max(1, int(np.prod(out_shape))))
    block: list = []
    first = 0
    for k, (_, _, entries) in enumerate(offsets):
        block.append(entries)
        if len(block) == per or k == size * size - 1:
            yield first, np.stack(block)
            first, block = k + 1, []


def max_pool2d_complex(x, size, stride=None):
    """On complex input (the complex step): each window's entry with the largest real part, tied
    entries averaged as amax does; the real parts are the point's, so it is the point's maximum."""
    top = np.max(np.real(_pool_windows(x, size, stride)), axis=(4, 5))
    total, count = np.zeros(top.shape, dtype=np.result_type(x, np.complex128)), np.zeros(top.shape)
    for _, block in _pool_blocks(x, size, stride):
        largest = np.real(block) == top
        total += np.sum(np.where(largest, block, 0), axis=0)
        count += np.sum(largest, axis=0)
    return total / count


def max_pool2d_vjp(g, ans, x, size, stride=None):
    """g to each window's largest entry; tied entries share it equally (a tie is a kink)."""
    ties = np.zeros(np.shape(ans))
    for _, block in _pool_blocks(x, size, stride):
        ties += np.sum(block == ans, axis=0)
    share = g / ties
    out = np.zeros(np.shape(x), dtype=np.result_type(g, np.float64))
    out_shape, stride, offsets = _pool_offsets(x, size, stride)
    for i, j, entries in offsets:
        _offset(out, i, j, stride, out_shape)[...] += np.where(entries == ans, share, 0)
    return out


def max_pool2d_kink(x, size, stride=None):
    """Per window: its largest entry minus the next (0 at a tie), then which entry is the largest, one
    sign per bit of its offset. The signs say which branch each window is on, as each entry minus the
    largest of the others would (only the maximum positive, a tie 0), in 1 + log2(size²) numbers per
    window instead of size². Ordered by real parts. On complex input (the complex step) a tie's gap
    carries the spread of the imaginary parts of every tied entry: not 0 exactly when the step moves the
    tied entries apart (a step on any of three tied entries, not only on the two largest)."""
    out_shape = pool_shape(np.shape(x), size, size if stride is None else stride)
    if size * size == 1:
        return np.ones((1, *out_shape))
    stepped = np.iscomplexobj(x)
    top = np.full(out_shape, -np.inf)
    for _, block in _pool_blocks(x, size, stride):
        top = np.maximum(top, np.max(np.real(block), axis=0))
    second, count = np.full(out_shape, -np.inf), np.zeros(out_shape, dtype=np.int64)
    low, high = np.full(out_shape, np.inf), np.full(out_shape, -np.inf)  # imaginary parts of the tied entries
    which = np.full(out_shape, -1, dtype=np.int64)
    for first, block in _pool_blocks(x, size, stride):
        real = np.real(block)
        tied = real == top
        count += np.sum(tied, axis=0)
        second = np.maximum(second, np.max(np.where(tied, -np.inf, real), axis=0))
        which = np.where((which < 0) & np.any(tied, axis=0), first + np.argmax(tied, axis=0), which)
        if stepped:
            low = np.minimum(low, np.min(np.where(tied, np.imag(block), np.inf), axis=0))
            high = np.maximum(high, np.max(np.where(tied, np.imag(block), -np.inf), axis=0))
    gap = np.where(count > 1, 0.0, top - second)
    if stepped:
        gap = gap + 1j * np.where(count > 1, high - low, 0.0)
    bits = [np.where((which >> k) & 1, 1.0, -1.0) for k in range((size * size - 1).bit_length())]
    return np.stack([gap, *bits])


def avg_pool2d(x, size, stride=None):
    return np.mean(_pool_windows(x, size, stride), axis=(4, 5))


def avg_pool2d_vjp(g, ans, x, size, stride=None):
    share = g / (size * size)
    out = np.zeros(np.shape(x), dtype=np.result_type(share, np.float64))
    out_shape, stride, offsets = _pool_offsets(out, size, stride)
    for _, _, entries in offsets:
        entries += share
    return out


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
