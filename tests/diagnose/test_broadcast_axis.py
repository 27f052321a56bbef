"""A reduction's backward whose dout is not put back along the reduced axis (no expand_dims, no keepdims)
broadcasts along another axis, where the shapes allow it: named "broadcast axis" when the claim is dout
put back along that axis times the truth's own local gradient (reductions.py), and not otherwise."""

from __future__ import annotations

import numpy as np

import gradcheck


def _norm(x):
    """The L2 norm over the last axis of (T, T, T): dout (T, T) left as is lines up with axes 1 and 2."""
    n = np.sqrt((x * x).sum(axis=2))
    return n, (x, n)


def _norm_backward(restored: bool, scale: float = 1.0):
    def backward(dout, cache):
        x, n = cache
        d = dout[:, :, None] if restored else dout
        return scale * d * x / n[:, :, None]
    return backward


def _mean_square(x):
    return (x * x).mean(axis=1), x


def _mean_square_backward(restored: bool, local=lambda x: 2 * x / x.shape[1]):
    def backward(dout, x):
        return (dout[:, None] if restored else dout) * local(x)
    return backward


X3 = np.random.default_rng(61).standard_normal((3, 3, 3))
X2 = np.random.default_rng(62).standard_normal((4, 4))


def test_a_norm_whose_dout_is_not_put_back_along_the_reduced_axis_is_named():
    result = gradcheck.check_layer(_norm, _norm_backward(restored=False), [X3])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "broadcast axis", (g.cause, g.diagnosis)
    assert "reduces axis 2" in g.diagnosis and "along axis 0" in g.diagnosis and "expand_dims(dout, 2)" in g.diagnosis
    assert gradcheck.check_layer(_norm, _norm_backward(restored=True), [X3]).exit_code == 0


def test_a_mean_of_squares_over_rows_of_a_square_input_is_named():
    result = gradcheck.check_layer(_mean_square, _mean_square_backward(restored=False), [X2])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "broadcast axis", (g.cause, g.diagnosis)
    assert "reduces axis 1" in g.diagnosis and "along axis 0" in g.diagnosis
    assert gradcheck.check_layer(_mean_square, _mean_square_backward(restored=True), [X2]).exit_code == 0


def test_near_misses_are_not_a_broadcast_axis():
    """dout misplaced and a factor besides, dout in place with a wrong local gradient, and dout misplaced
    with a wrong local gradient: the claim is not the truth's local gradient times a misplaced dout."""
    cases = [
        (_norm, _norm_backward(restored=False, scale=1.5), X3),
        (_mean_square, _mean_square_backward(restored=True, local=lambda x: x / x.shape[1]), X2),
        (_mean_square, _mean_square_backward(restored=False, local=lambda x: x * x), X2),
    ]
    for forward, backward, x in cases:
        result = gradcheck.check_layer(forward, backward, [x])
        g = result.gradients["x"]
        assert result.exit_code == 1 and g.cause != "broadcast axis", (g.cause, g.diagnosis)


def test_a_square_sums_dout_broadcast_without_its_axis_is_named_broadcast_axis_not_transpose():
    """x.sum(axis=1) of a square (4, 4), its backward broadcast_to(dout, x.shape): the claim is also the
    truth's transpose, and the broadcast axis is what says why."""
    def forward(x):
        return x.sum(axis=1), x.shape

    def backward(restored):
        def run(dout, shape):
            return np.broadcast_to(dout[:, None] if restored else dout, shape).copy()
        return run
    assert gradcheck.check_layer(forward, backward(True), [X2]).exit_code == 0
    result = gradcheck.check_layer(forward, backward(False), [X2])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "broadcast axis", (g.cause, g.diagnosis)
    assert "reduces axis 1" in g.diagnosis and "along axis 0" in g.diagnosis


def test_a_square_layers_transposed_claim_that_is_no_reduction_stays_transpose():
    """An elementwise square layer whose backward transposes its gradient: no reduction, so "transpose"."""
    def forward(x):
        return np.tanh(x), x

    def backward(dout, x):
        return (dout * (1 - np.tanh(x) ** 2)).T
    result = gradcheck.check_layer(forward, backward, [X2])
    g = result.gradients["x"]
    assert result.exit_code == 1 and g.cause == "transpose", (g.cause, g.diagnosis)
