"""A pick (a max pool, a max over an axis) whose backward routes each output's gradient, whole, to the
wrong entry is named from where the values land (routing.py): a mask that picks the wrong entries, or,
where every moved pick is the right one with two axes' offsets exchanged, an index unravelled with its
row and column swapped; and a max whose mask is the maximum's over another axis. Layers that sum, drop an
output, index with integers or slice at the wrong offset are not named so."""

from __future__ import annotations

import numpy as np

import gradcheck

PICK_WORDS = "picks the wrong entries"


def _spread(x: np.ndarray, k: int) -> np.ndarray:
    """(N, C, H, W) as (N, C, H/k, W/k, k*k): each k x k window's entries on the last axis, row by row."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // k, k, w // k, k).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // k, w // k, k * k)


def _gather(routed: np.ndarray, shape: tuple, k: int) -> np.ndarray:
    """_spread's inverse."""
    n, c, h, w = shape
    return routed.reshape(n, c, h // k, w // k, k, k).transpose(0, 1, 2, 4, 3, 5).reshape(shape)


def _pool(k: int):
    def forward(x):
        return _spread(x, k).max(axis=-1), x
    return forward


def _pool_backward(k: int, pick, swap: bool = False):
    """Routes dout to the window entry `pick(windows)` chooses; `swap` reads its (row, col) as (col, row)."""
    def backward(dout, x):
        where = pick(_spread(x, k))
        if swap:
            row, col = np.divmod(where, k)
            where = col * k + row
        routed = (np.arange(k * k) == where[..., None]) * dout[..., None]
        return _gather(routed, x.shape, k)
    return backward


def _apart(shape: tuple, seed: int) -> np.ndarray:
    """Distinct entries, well apart (no window near a tie)."""
    rng = np.random.default_rng(seed)
    return 0.3 * rng.permutation(int(np.prod(shape))).reshape(shape) + 0.01 * rng.standard_normal(shape)


def _diagnosis(forward, backward, x):
    result = gradcheck.check_layer(forward, backward, [x])
    return result.exit_code, result.gradients["x"]


def test_a_max_pool_routing_to_each_windows_argmin_is_a_mask_picking_the_wrong_entries():
    x = _apart((2, 2, 6, 6), 41)
    code, g = _diagnosis(_pool(3), _pool_backward(3, lambda w: w.argmin(axis=-1)), x)
    assert code == 1 and g.cause == "mask", (g.cause, g.diagnosis)
    assert PICK_WORDS in g.diagnosis and "passed on" in g.diagnosis
    assert gradcheck.check_layer(_pool(3), _pool_backward(3, lambda w: w.argmax(axis=-1)), [x]).exit_code == 0


def test_a_max_over_time_routing_to_the_last_step_is_a_mask_picking_the_wrong_entries():
    x = _apart((3, 5, 4), 42)

    def forward(x):
        return x.max(axis=1), x

    def backward(dout, x):
        dx = np.zeros_like(x)
        dx[:, -1, :] = dout
        return dx
    code, g = _diagnosis(forward, backward, x)
    assert code == 1 and g.cause == "mask", (g.cause, g.diagnosis)
    assert PICK_WORDS in g.diagnosis


def test_an_argmax_unravelled_as_col_row_is_an_index_with_its_axes_exchanged():
    x = _apart((2, 1, 6, 6), 43)
    code, g = _diagnosis(_pool(3), _pool_backward(3, lambda w: w.argmax(axis=-1), swap=True), x)
    assert code == 1 and g.cause == "permuted", (g.cause, g.diagnosis)
    assert "axes 2 and 3 exchanged" in g.diagnosis and "row and column" in g.diagnosis


def test_near_misses_are_not_called_a_wrong_pick():
    """A pick's gradient halved (a factor), dropped for some outputs (one argmax per image over every
    channel), a sum of overlapping windows, and an embedding's wrong rows (an integer index)."""
    x = _apart((2, 2, 4, 4), 44)
    right = _pool_backward(2, lambda w: w.argmax(axis=-1))
    cases = [(_pool(2), lambda d, x: 0.5 * right(d, x), x)]

    def global_max(x):
        return x.max(axis=(2, 3)), x

    def one_per_image(dout, x):
        n, c, h, w = x.shape
        dx = np.zeros_like(x)
        flat = x.reshape(n, -1).argmax(axis=1)
        ch, i, j = np.unravel_index(flat, (c, h, w))
        dx[np.arange(n), ch, i, j] = dout[np.arange(n), ch]
        return dx
    cases.append((global_max, one_per_image, _apart((2, 3, 3, 3), 45)))

    def overlapping(x):  # 1-D max pool, width 2, stride 1
        return np.maximum(x[:, :-1], x[:, 1:]), x

    def overlapping_to_left(dout, x):
        dx = np.zeros_like(x)
        dx[:, :-1] += dout
        return dx
    cases.append((overlapping, overlapping_to_left, _apart((3, 6), 46)))
    for forward, backward, point in cases:
        code, g = _diagnosis(forward, backward, point)
        assert code == 1 and PICK_WORDS not in g.diagnosis and "exchanged" not in g.diagnosis, (g.cause, g.diagnosis)

    def every_other(x):
        return x[:, ::2], x.shape

    def one_late(dout, shape):  # a slice's offset: its wrong entries hold values above and below the output's
        dx = np.zeros(shape)
        dx[:, 1::2] = dout
        return dx
    code, g = _diagnosis(every_other, one_late, _apart((3, 8), 48))
    assert code == 1 and PICK_WORDS not in g.diagnosis, (g.cause, g.diagnosis)

    idx = np.array([[0, 3, 1], [4, 2, 5]])
    W = np.random.default_rng(47).standard_normal((6, 3))

    def lookup(idx, W):
        return W[idx], W.shape

    def shifted_rows(dout, shape):
        dW = np.zeros(shape)
        np.add.at(dW, (idx + 1) % shape[0], dout)
        return dW
    result = gradcheck.check_layer(lookup, shifted_rows, [idx, W])
    g = result.gradients["W"]
    assert result.exit_code == 1 and PICK_WORDS not in g.diagnosis, (g.cause, g.diagnosis)


def test_routes_reads_each_dout_entry_at_one_input_entry_and_nothing_else():
    from gradcheck.diagnose.routing import routes

    dout = np.array([[0.5, -1.2], [2.0, 0.1]])
    g = np.zeros(8)
    g[[3, 0, 6, 5]] = dout.ravel()
    assert routes(g, dout) == (3, 0, 6, 5)
    summed = g.copy()
    summed[[3, 0]] = [0.5 - 1.2, 0.0]  # two outputs' gradients on one entry: a sum, not a route
    scaled = 2 * g
    assert routes(summed, dout) is None and routes(scaled, dout) is None


def _max_over(axis: int):
    def forward(x):
        return x.max(axis=axis), x
    return forward


def _masked_over(axis: int, mask_axis: int, scale: float = 1.0):
    def backward(dout, x):
        return scale * (x == x.max(axis=mask_axis, keepdims=True)) * np.expand_dims(dout, axis)
    return backward


def test_a_max_masked_with_the_maximum_over_another_axis_is_a_mask_over_the_wrong_axis():
    x = _apart((2, 4, 3), 49)
    code, g = _diagnosis(_max_over(2), _masked_over(2, 1), x)
    assert code == 1 and g.cause == "mask", (g.cause, g.diagnosis)
    assert "over the wrong axis" in g.diagnosis and "max(axis=1) for axis=2" in g.diagnosis
    assert gradcheck.check_layer(_max_over(2), _masked_over(2, 2), [x]).exit_code == 0


def test_a_mask_over_another_axis_with_a_factor_besides_is_not_said_to_be_one():
    code, g = _diagnosis(_max_over(2), _masked_over(2, 1, scale=1.5), _apart((2, 4, 3), 50))
    assert code == 1 and "over the wrong axis" not in g.diagnosis, (g.cause, g.diagnosis)
