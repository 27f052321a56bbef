"""The truth shifted by a constant offset (shifts.py, hypotheses._shifted), said under "permuted": a crop of
a padded gradient or an index off by one. Named only where every entry off the shifted-in edge is the
moved truth for every dout and that edge is a small band; a shift plus noise, a flip (a permutation that
is no shift) and a truth that the move does not change are not said to be shifted. The one-entry probe's
facts are said under the count's cause: it names no mistake it is not sure of."""

from __future__ import annotations

import numpy as np

import gradcheck

SHIFTED = "shifted by"


def conv1d(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(N, C, L) with (F, C, 3) kernels, padding 1: a length-preserving 1-D convolution."""
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1)))
    return np.stack([np.einsum("nck,fck->nf", xp[:, :, t:t + 3], w) for t in range(x.shape[2])], axis=2)


def conv1d_backward(crop: slice, noise: float = 0.0):
    """The backward through the padded input, dx cropped from dxp with `crop` ([1:-1] is right)."""
    def backward(dout, x, w):
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1)))
        dxp, dw = np.zeros_like(xp), np.zeros_like(w)
        for t in range(dout.shape[2]):
            dxp[:, :, t:t + 3] += np.einsum("nf,fck->nck", dout[:, :, t], w)
            dw += np.einsum("nf,nck->fck", dout[:, :, t], xp[:, :, t:t + 3])
        dx = dxp[:, :, crop]
        return dx + noise * np.random.default_rng(1).standard_normal(dx.shape), dw
    return backward


def average_pool(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W), 3x3 windows at stride 1 with padding 1 (zeros counted in the mean)."""
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    rows = [np.stack([xp[:, :, i:i + 3, j:j + 3].mean(axis=(2, 3)) for j in range(x.shape[3])], axis=-1)
            for i in range(x.shape[2])]
    return np.stack(rows, axis=-2)


def average_pool_backward(rows: slice, columns: slice):
    def backward(dout, x):
        dxp = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2, x.shape[3] + 2))
        for i in range(x.shape[2]):
            for j in range(x.shape[3]):
                dxp[:, :, i:i + 3, j:j + 3] += dout[:, :, i, j][:, :, None, None] / 9
        return (dxp[:, :, rows, columns],)
    return backward


def _conv_inputs() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.standard_normal((2, 3, 7)), rng.standard_normal((4, 3, 3))]


def test_a_1d_convolutions_dx_cropped_one_early_is_the_truth_shifted_by_one():
    result = gradcheck.check_vjp(conv1d, conv1d_backward(slice(None, -2)), _conv_inputs())
    g = result.gradients["x"]
    assert result.exit_code == 1 and result.status == "mismatch"
    assert g.cause == "permuted" and "shifted by 1 along axis 2" in g.diagnosis, g.diagnosis
    assert "[:-2] where [1:-1] belongs" in g.diagnosis and "padding's gradient" in g.diagnosis, g.diagnosis
    late = gradcheck.check_vjp(conv1d, conv1d_backward(slice(2, None)), _conv_inputs()).gradients["x"]
    assert late.cause == "permuted" and "shifted by -1 along axis 2" in late.diagnosis, late.diagnosis
    assert "i + 1" in late.diagnosis and "[2:] where [1:-1] belongs" in late.diagnosis, late.diagnosis


def test_a_padded_pools_dx_cropped_off_along_rows_and_columns_or_one_of_them():
    x = np.random.default_rng(4).standard_normal((2, 2, 6, 5))
    both = gradcheck.check_vjp(average_pool, average_pool_backward(slice(2, None), slice(2, None)), [x])
    assert both.exit_code == 1
    g = both.gradients["x"]
    assert g.cause == "permuted" and "shifted by (-1, -1) along axes 2, 3" in g.diagnosis, g.diagnosis
    one = gradcheck.check_vjp(average_pool, average_pool_backward(slice(1, -1), slice(None, -2)), [x])
    assert one.gradients["x"].cause == "permuted" and "shifted by 1 along axis 3" in one.gradients["x"].diagnosis


def test_a_delays_backward_that_forgets_to_move_dout_back_is_a_shift():
    """y[:, t] = x[:, t - 1]: dx[:, t] = dout[:, t + 1]; dx = dout is the truth moved one step along time."""
    x = np.random.default_rng(5).standard_normal((3, 6, 4))

    def delay(x):
        return np.concatenate([np.zeros_like(x[:, :1]), x[:, :-1]], axis=1)

    result = gradcheck.check_vjp(delay, lambda dout, x: (dout.copy(),), [x])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "permuted" and "shifted by 1 along axis 1" in g.diagnosis, g.diagnosis
    right = gradcheck.check_vjp(delay, lambda d, x: (np.concatenate([d[:, 1:], np.zeros_like(d[:, :1])], 1),), [x])
    assert right.exit_code == 0 and right.status == "pass"


def test_an_embeddings_rows_written_one_index_late_are_shifted_with_zeros_coming_in():
    ids = np.array([[0, 2, 3], [4, 1, 3]])
    weights = np.random.default_rng(6).standard_normal((7, 4))

    def backward(dout, W):
        dW = np.zeros_like(W)
        np.add.at(dW, ids + 1, dout)
        return (dW,)

    result = gradcheck.check_vjp(lambda W: W[ids], backward, [weights])
    g = result.gradients["W"]
    assert result.exit_code == 1 and g.cause == "permuted", g.diagnosis
    assert "shifted by 1 along axis 0" in g.diagnosis and "what comes in at the edge is 0" in g.diagnosis, g.diagnosis


def test_a_shift_plus_noise_is_not_said_to_be_a_shift():
    result = gradcheck.check_vjp(conv1d, conv1d_backward(slice(None, -2), noise=1e-3), _conv_inputs())
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause != "permuted" and SHIFTED not in g.diagnosis, g.diagnosis


def test_the_right_layer_passes_and_a_flip_is_a_permutation_but_no_shift():
    right = gradcheck.check_vjp(conv1d, conv1d_backward(slice(1, -1)), _conv_inputs())
    assert right.exit_code == 0 and right.status == "pass"

    def flipped(dout, x, w):
        dx, dw = conv1d_backward(slice(1, -1))(dout, x, w)
        return dx[:, :, ::-1], dw

    g = gradcheck.check_vjp(conv1d, flipped, _conv_inputs()).gradients["x"]
    assert g.status == "mismatch" and SHIFTED not in g.diagnosis, g.diagnosis


def test_a_truth_constant_along_the_axis_is_not_said_shifted():
    """A sum's dx is dout along every column: the truth moved by one column is the truth, so a claim wrong
    on the first column alone is not a shift (it is that column wrong)."""
    x = np.random.default_rng(7).standard_normal((4, 6))

    def backward(dout, x):
        return (np.concatenate([np.zeros((4, 1)), np.repeat(dout[:, None], 5, axis=1)], axis=1),)

    g = gradcheck.check_vjp(lambda x: x.sum(axis=1), backward, [x]).gradients["x"]
    assert g.status == "mismatch" and SHIFTED not in g.diagnosis and g.cause != "permuted", (g.cause, g.diagnosis)


def test_the_one_entry_probe_says_its_facts_under_the_counts_cause():
    """Every other column's gradient written to the next column of the rows reversed: no mistake of the
    table, and the probe's finding (one output's gradient at other entries) is a fact, not a named mistake."""
    x = np.random.default_rng(8).standard_normal((4, 8))

    def backward(dout, x):
        dx = np.zeros_like(x)
        dx[::-1, 1::2] = 2 * dout
        return (dx,)

    result = gradcheck.check_vjp(lambda x: 2 * x[:, ::2], backward, [x])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "count", (g.cause, g.diagnosis)
    assert "for a dout that is 1 at" in g.diagnosis and "other entries" in g.diagnosis, g.diagnosis


def test_a_large_convolution_in_fast_mode_is_told_shifted_from_its_block():
    """Fast mode differences a block around the worst entry and a random sample: the moved truth is compared
    where both ends were measured."""
    rng = np.random.default_rng(9)
    inputs = [rng.standard_normal((4, 8, 40)), rng.standard_normal((6, 8, 3))]
    result = gradcheck.check_vjp(conv1d, conv1d_backward(slice(None, -2)), inputs, mode="fast")
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "permuted" and "shifted by 1 along axis 2" in g.diagnosis, g.diagnosis


def conv2d(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(N, C, H, W) with (F, C, 3, 3) kernels, padding 1, stride 1: the image's size kept."""
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    rows = [np.stack([np.einsum("nchw,fchw->nf", xp[:, :, i:i + 3, j:j + 3], w) for j in range(x.shape[3])],
                     axis=-1) for i in range(x.shape[2])]
    return np.stack(rows, axis=-2)


def conv2d_backward(rows: slice, columns: slice, noise: float = 0.0):
    """dx cropped from the padded input's gradient with `rows` and `columns` ([1:-1] both is right)."""
    def backward(dout, x, w):
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        dxp, dw = np.zeros_like(xp), np.zeros_like(w)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                dxp[:, :, i:i + 3, j:j + 3] += np.einsum("nf,fchw->nchw", dout[:, :, i, j], w)
                dw += np.einsum("nf,nchw->fchw", dout[:, :, i, j], xp[:, :, i:i + 3, j:j + 3])
        dx = dxp[:, :, rows, columns]
        return dx + noise * np.random.default_rng(2).standard_normal(dx.shape), dw
    return backward


def _small_image_inputs() -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    return [rng.standard_normal((3, 2, 4, 4)), rng.standard_normal((2, 2, 3, 3))]


def test_a_small_images_dx_cropped_one_early_is_a_shift_where_the_offset_is_the_padding():
    """On a 4x4 image, rows and columns moved by one bring in 7 of 16 entries (more than BAND_SHARE_MAX):
    the shift is still named, because the offset is the padding the kernel's shape and the output's say."""
    late = slice(None, -2)
    result = gradcheck.check_vjp(conv2d, conv2d_backward(late, late), _small_image_inputs())
    g = result.gradients["x"]
    assert result.exit_code == 1 and result.status == "mismatch"
    assert g.cause == "permuted" and "shifted by (1, 1) along axes 2, 3" in g.diagnosis, g.diagnosis
    assert "padding's gradient" in g.diagnosis, g.diagnosis


def test_a_small_images_near_misses_are_not_said_shifted():
    """The same crop plus noise, and a pool with no kernel input to read the padding off (its band of 7 in 16
    stays too large to name), are not said to be shifted; the right layer passes."""
    late = slice(None, -2)
    noisy = gradcheck.check_vjp(conv2d, conv2d_backward(late, late, noise=1e-3), _small_image_inputs())
    assert noisy.exit_code == 1 and SHIFTED not in noisy.gradients["x"].diagnosis, noisy.gradients["x"].diagnosis
    right = gradcheck.check_vjp(conv2d, conv2d_backward(slice(1, -1), slice(1, -1)), _small_image_inputs())
    assert right.exit_code == 0 and right.status == "pass"
    x = np.random.default_rng(12).standard_normal((2, 2, 4, 4))
    pool = gradcheck.check_vjp(average_pool, average_pool_backward(late, late), [x])
    assert pool.exit_code == 1 and SHIFTED not in pool.gradients["x"].diagnosis, pool.gradients["x"].diagnosis
