"""Pools' windows read from the shapes alone, whatever the pool and the layout: a max pool whose backward
assigns dx[argmax] = dout (each window writes one entry, the last writer wins, or the first where the loop
runs backwards) is an accumulation overwritten ("one slice of dout"), and a sum or average pool whose backward adds each window at another
stride than its forward's is a "window stride", with no kernel input to say the window's size, channels
first or last; near misses (a factor besides, a shift) are not named with them."""

from __future__ import annotations

import numpy as np

import gradcheck

LAST_WORDS = "the last window that covers it"
FIRST_WORDS = "the first window that covers it"
STRIDE_WORDS = "added at stride"


def _windows(n: int, size: int, stride: int) -> list[int]:
    return [i * stride for i in range((n - size) // stride + 1)]


def _max_pool_1d(size: int, stride: int, assign: bool = False, reverse: bool = False):
    """A (batch, channels, positions) max pool; its backward adds (or assigns) dout at each window's argmax."""
    def forward(x):
        starts = _windows(x.shape[2], size, stride)
        parts = np.stack([x[:, :, s:s + size] for s in starts], axis=2)
        return parts.max(axis=3), (x.shape, starts, parts.argmax(axis=3))

    def backward(dout, cache):
        shape, starts, arg = cache
        dx = np.zeros(shape)
        order = list(enumerate(starts))
        for i, s in (reversed(order) if reverse else order):
            for n in range(shape[0]):
                for c in range(shape[1]):
                    j = s + arg[n, c, i]
                    dx[n, c, j] = dout[n, c, i] if assign else dx[n, c, j] + dout[n, c, i]
        return dx
    return forward, backward


def _max_pool_2d_last(size: int, stride: int, assign: bool = False):
    """A channels-last (batch, rows, columns, channels) max pool, dx[argmax] written per window."""
    def forward(x):
        rows, cols = _windows(x.shape[1], size, stride), _windows(x.shape[2], size, stride)
        out = np.array([[x[:, r:r + size, c:c + size].max(axis=(1, 2)) for c in cols] for r in rows])
        return out.transpose(2, 0, 1, 3), (x, rows, cols)

    def backward(dout, cache):
        x, rows, cols = cache
        dx = np.zeros_like(x)
        for i, r in enumerate(rows):
            for j, c in enumerate(cols):
                for n in range(x.shape[0]):
                    for k in range(x.shape[3]):
                        a, b = np.unravel_index(np.argmax(x[n, r:r + size, c:c + size, k]), (size, size))
                        if assign:
                            dx[n, r + a, c + b, k] = dout[n, i, j, k]
                        else:
                            dx[n, r + a, c + b, k] += dout[n, i, j, k]
        return dx
    return forward, backward


def _sum_pool(axes: tuple[int, ...], size: int, stride: int, place: int | None = None, scale: float = 1.0,
              mean: bool = False):
    """A sum (or average) pool along `axes`; its backward adds each window's dout at `place` * i."""
    def forward(x):
        grids = [_windows(x.shape[a], size, stride) for a in axes]
        shape = list(x.shape)
        for a, g in zip(axes, grids):
            shape[a] = len(g)
        out = np.zeros(shape)
        for index in np.ndindex(*(len(g) for g in grids)):
            src = [slice(None)] * x.ndim
            dst = [slice(None)] * x.ndim
            for a, i, g in zip(axes, index, grids):
                src[a], dst[a] = slice(g[i], g[i] + size), slice(i, i + 1)
            part = x[tuple(src)].sum(axis=axes, keepdims=True)
            out[tuple(dst)] = part / size ** len(axes) if mean else part
        return out, x.shape

    def backward(dout, shape):
        dx = np.zeros(shape)
        at = stride if place is None else place
        for index in np.ndindex(*(dout.shape[a] for a in axes)):
            src = [slice(None)] * dx.ndim
            dst = [slice(None)] * dx.ndim
            for a, i in zip(axes, index):
                src[a], dst[a] = slice(i, i + 1), slice(i * at, i * at + size)
            part = dout[tuple(src)] / size ** len(axes) if mean else dout[tuple(src)]
            dx[tuple(dst)] += scale * part
        return dx
    return forward, backward


RNG = np.random.default_rng(97)


def _x(layer, x):
    result = gradcheck.check_layer(*layer, [x])
    return result.exit_code, result.gradients["x"]


def test_a_max_pool_whose_backward_assigns_at_the_argmax_is_an_accumulation_overwritten():
    for size, stride, x in ((2, 1, RNG.standard_normal((2, 3, 8))), (3, 2, RNG.standard_normal((2, 2, 11)))):
        code, g = _x(_max_pool_1d(size, stride, assign=True), x)
        assert code == 1 and g.cause == "one slice of dout", (size, stride, g.cause, g.diagnosis)
        assert LAST_WORDS in g.diagnosis and f"{size} windows with stride {stride}" in g.diagnosis
        assert gradcheck.check_layer(*_max_pool_1d(size, stride), [x]).exit_code == 0


def test_a_channels_last_max_pool_assigned_is_read_along_its_middle_axes():
    x = RNG.standard_normal((2, 5, 5, 2))
    code, g = _x(_max_pool_2d_last(2, 1, assign=True), x)
    assert code == 1 and g.cause == "one slice of dout", (g.cause, g.diagnosis)
    assert "2x2 windows" in g.diagnosis and "along axes 1, 2" in g.diagnosis and LAST_WORDS in g.diagnosis
    assert gradcheck.check_layer(*_max_pool_2d_last(2, 1), [x]).exit_code == 0


def test_a_max_pool_assigned_in_a_loop_run_backwards_keeps_the_first_window():
    """The first writer kept (the windows' loop run backwards) is no last window's claim: it is the first's."""
    x = RNG.standard_normal((2, 3, 9))
    code, g = _x(_max_pool_1d(3, 1, assign=True, reverse=True), x)
    assert code == 1 and LAST_WORDS not in g.diagnosis, (g.cause, g.diagnosis)
    assert g.cause == "one slice of dout" and FIRST_WORDS in g.diagnosis and "backwards" in g.diagnosis, g.diagnosis


def test_a_pool_without_a_kernel_whose_windows_are_added_at_another_stride_is_a_window_stride():
    cases = (((2,), 3, 2, 1, False, RNG.standard_normal((2, 2, 9))),
             ((2,), 2, 2, 1, True, RNG.standard_normal((3, 2, 8))),
             ((1, 2), 2, 2, 1, True, RNG.standard_normal((2, 4, 6, 3))))
    for axes, size, stride, place, mean, x in cases:
        code, g = _x(_sum_pool(axes, size, stride, place=place, mean=mean), x)
        assert code == 1 and g.cause == "window stride", (axes, g.cause, g.diagnosis)
        assert f"{STRIDE_WORDS} {place}" in g.diagnosis and f"along axes {', '.join(map(str, axes))}" in g.diagnosis
        assert gradcheck.check_layer(*_sum_pool(axes, size, stride, mean=mean), [x]).exit_code == 0


def test_near_misses_of_a_pool_are_not_a_window_stride():
    """Windows added at stride 1 and scaled besides, and windows at their own stride scaled: not named so."""
    x = RNG.standard_normal((2, 2, 9))
    for layer in (_sum_pool((2,), 3, 2, place=1, scale=1.5), _sum_pool((2,), 3, 2, scale=2.5)):
        code, g = _x(layer, x)
        assert code == 1 and g.cause != "window stride", (g.cause, g.diagnosis)


def _padded_pool_2d(size: int, pad: int, mean: bool, assign: bool = False, crop_end: bool = False):
    """A stride 1 max (or average, the padding counted) pool over x padded by `pad` per side; its backward
    adds (or assigns) each window's part of dx in the padded input and crops the padding off."""
    fill = 0.0 if mean else -np.inf

    def forward(x):
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=fill)
        rows, cols = xp.shape[2] - size + 1, xp.shape[3] - size + 1
        windows = np.stack([np.stack([xp[:, :, i:i + size, j:j + size] for j in range(cols)], axis=2)
                            for i in range(rows)], axis=2)  # (N, C, rows, cols, size, size)
        return (windows.mean(axis=(4, 5)) if mean else windows.max(axis=(4, 5))), xp

    def backward(dout, xp):
        dxp = np.zeros_like(xp)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                w = xp[:, :, i:i + size, j:j + size]
                share = np.full(w.shape, 1.0 / size ** 2) if mean else (w == w.max(axis=(2, 3), keepdims=True))
                part = share * dout[:, :, i:i + 1, j:j + 1]
                written = np.broadcast_to(share != 0, w.shape)
                target = dxp[:, :, i:i + size, j:j + size]
                target[written] = part[written] if assign else target[written] + part[written]
        return dxp[:, :, :-2 * pad, :-2 * pad] if crop_end else dxp[:, :, pad:-pad, pad:-pad]
    return forward, backward


def test_a_padded_pool_assigned_is_read_with_its_padding():
    """A 3x3 pool with padding 1 keeps the input's size: no valid window fits the shapes, padded ones do."""
    x = RNG.standard_normal((1, 2, 4, 4))
    for mean in (False, True):
        code, g = _x(_padded_pool_2d(3, 1, mean, assign=True), x)
        assert code == 1 and g.cause == "one slice of dout", (mean, g.cause, g.diagnosis)
        assert LAST_WORDS in g.diagnosis and "3x3 windows with stride 1 and padding 1" in g.diagnosis, g.diagnosis
        assert gradcheck.check_layer(*_padded_pool_2d(3, 1, mean), [x]).exit_code == 0


def test_a_padded_pool_cropped_at_the_end_is_not_a_window_overwritten():
    x = RNG.standard_normal((1, 2, 4, 4))
    code, g = _x(_padded_pool_2d(3, 1, False, crop_end=True), x)
    assert code == 1 and LAST_WORDS not in g.diagnosis and FIRST_WORDS not in g.diagnosis, (g.cause, g.diagnosis)


def test_where_the_shapes_fit_many_geometries_a_pools_square_windows_are_read():
    """7 positions to 3 fit 2, 3 or 5 wide windows along each axis: the 3x3 stride 2 pool's (one size and one
    stride along both axes) is read, and its assigned argmax is named; a right pool passes."""
    from gradcheck.diagnose import windows
    read = windows.geometries((2, 7, 7, 2), (2, 3, 3, 2))
    assert [(g.sizes, g.strides) for g in read] == [((3, 3), (2, 2))]
    x = RNG.standard_normal((2, 7, 7, 2))
    code, g = _x(_max_pool_2d_last(3, 2, assign=True), x)
    assert code == 1 and g.cause == "one slice of dout", (g.cause, g.diagnosis)
    assert "3x3 windows with stride 2" in g.diagnosis and LAST_WORDS in g.diagnosis
    assert gradcheck.check_layer(*_max_pool_2d_last(3, 2), [x]).exit_code == 0


def test_a_square_pool_read_from_many_geometries_is_not_overwritten_where_it_adds_twice_dout():
    forward, backward = _max_pool_2d_last(3, 2)
    x = RNG.standard_normal((2, 7, 7, 2))
    code, g = _x((forward, lambda d, c: 2.0 * backward(d, c)), x)
    assert code == 1 and LAST_WORDS not in (g.diagnosis or "") and FIRST_WORDS not in (g.diagnosis or ""), g.diagnosis


def _max_pool_rows(size: int, assign: bool = False, scale: float = 1.0):
    """A stride 1 max pool over (batch, positions), no channels; its backward adds (or assigns) at the argmax."""
    def forward(x):
        return np.stack([x[:, i:i + size].max(axis=1) for i in range(x.shape[1] - size + 1)], axis=1), x

    def backward(dout, x):
        dx = np.zeros_like(x)
        rows = np.arange(x.shape[0])
        for i in range(dout.shape[1]):
            j = i + np.argmax(x[:, i:i + size], axis=1)
            dx[rows, j] = scale * dout[:, i] if assign else dx[rows, j] + scale * dout[:, i]
        return dx
    return forward, backward


def test_a_pool_over_batch_and_positions_alone_assigned_is_read_along_its_positions():
    x = RNG.standard_normal((2, 8))
    code, g = _x(_max_pool_rows(3, assign=True), x)
    assert code == 1 and g.cause == "one slice of dout", (g.cause, g.diagnosis)
    assert LAST_WORDS in g.diagnosis and "3 windows with stride 1" in g.diagnosis, g.diagnosis
    assert gradcheck.check_layer(*_max_pool_rows(3), [x]).exit_code == 0


def test_near_misses_of_a_pool_over_batch_and_positions_are_not_windows_overwritten():
    """The pool's accumulation right but scaled, and an affine layer (a weight beside x, (batch, features)
    in and fewer out) whose dx is wrong: no window is read overwritten."""
    x = RNG.standard_normal((2, 8))
    code, g = _x(_max_pool_rows(3, scale=2.0), x)
    assert code == 1 and LAST_WORDS not in (g.diagnosis or ""), (g.cause, g.diagnosis)
    w = RNG.standard_normal((8, 6))

    def affine_backward(dout, cache):
        xc, wc = cache
        return dout @ wc.T * (xc > 0), xc.T @ dout
    result = gradcheck.check_layer(lambda x, w: (x @ w, (x, w)), affine_backward, [x, w])
    g = result.gradients["x"]
    assert result.exit_code == 1 and LAST_WORDS not in (g.diagnosis or ""), (g.cause, g.diagnosis)
