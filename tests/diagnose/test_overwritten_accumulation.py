"""A gradient accumulated over several uses (time steps, positions) with = where += belongs keeps only
some uses' contributions. Named from a fit alone: the claim is the truth for the dout of some slices of an
output's axis (a layer without recurrence), or, for a weight matrix applied to every time step of another
input, the contributions of some steps, each read off that input's own true gradient (an rnn's Wx; with
more columns than that input has, each step's dz read from every input's truth, diagnose/rnn_steps.py). A
claim that is such a part and wrong besides, or a weight used where the black box cannot see each use
(an rnn's Wh), is not named."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck

CAUSE = "one slice of dout"


def rnn(keep=None, scale=1.0, noise=None, overwrite_wh=False):
    """An rnn over time whose backward keeps dWx's contributions of the steps in `keep` only (None: all)."""
    def forward(x, h0, Wx, Wh):
        hs, h = [], h0
        for t in range(x.shape[1]):
            h = np.tanh(x[:, t] @ Wx + h @ Wh)
            hs.append(h)
        return np.stack(hs, axis=1), (x, h0, Wx, Wh, hs)

    def backward(dh, cache):
        x, h0, Wx, Wh, hs = cache
        T = x.shape[1]
        dx, dWh, parts = np.zeros_like(x), np.zeros_like(Wh), {}
        dnext = np.zeros_like(h0)
        for t in reversed(range(T)):
            dz = (dh[:, t] + dnext) * (1 - hs[t] ** 2)
            dx[:, t] = dz @ Wx.T
            parts[t] = x[:, t].T @ dz
            step = (hs[t - 1] if t > 0 else h0).T @ dz
            dWh = step if overwrite_wh else dWh + step
            dnext = dz @ Wh.T
        dWx = scale * sum(parts[t] for t in (range(T) if keep is None else keep))
        if noise is not None:
            dWx = dWx * noise
        return dx, dnext, dWx, dWh
    return forward, backward


def rnn_inputs(D=4, H=3, T=3, seed=11):
    r = np.random.default_rng(seed)
    return [r.standard_normal((2, T, D)), r.standard_normal((2, H)), 0.4 * r.standard_normal((D, H)),
            0.4 * r.standard_normal((H, H))]


@pytest.mark.parametrize("keep, said", [((0,), "index 0 of x's axis 1"), ((2,), "index 2 of x's axis 1"),
                                        ((0, 3), "indices 0, 3 of x's axis 1")])
def test_an_rnn_weight_that_keeps_some_steps_contributions_is_named(keep, said):
    g = gradcheck.check_layer(*rnn(keep), rnn_inputs(T=4 if 3 in keep else 3)).gradients["Wx"]
    assert g.status == "mismatch" and g.cause == CAUSE, (g.cause, g.diagnosis)
    assert said in g.diagnosis and "+=" in g.diagnosis, g.diagnosis


@pytest.mark.parametrize("options", [{}, {"keep": (0,), "scale": 1.02},
                                     {"noise": 1 + 0.05 * np.random.default_rng(1).standard_normal((4, 3))},
                                     {"overwrite_wh": True}],
                         ids=["right", "one step's, 2% off", "noise", "Wh overwritten"])
def test_a_near_miss_is_not_named(options):
    result = gradcheck.check_layer(*rnn(**options), rnn_inputs())
    if not options:
        assert result.exit_code == 0, str(result)
        return
    name = "Wh" if options.get("overwrite_wh") else "Wx"
    g = result.gradients[name]
    assert g.status == "mismatch" and g.cause != CAUSE, (g.cause, g.diagnosis)


def test_a_weight_wider_than_its_input_is_read_from_every_inputs_gradient():
    """With H > D, u_tᵀ·du_t = C_t·Pᵀ does not fix C_t, but x's, h0's, Wx's and Wh's truths together fix
    each step's dz (C_t = x_tᵀ·dz_t)."""
    g = gradcheck.check_layer(*rnn((0,)), rnn_inputs(D=3, H=5)).gradients["Wx"]
    assert g.status == "mismatch" and g.cause == CAUSE, (g.cause, g.diagnosis)
    assert "index 0 of x's axis 1" in g.diagnosis, g.diagnosis


@pytest.mark.parametrize("options, wrt", [({"keep": (0,), "scale": 1.02}, None), ({"keep": (0,)}, ["x", "Wx"])],
                         ids=["one step's, 2% off", "dz not fixed by x's and Wx's truths alone"])
def test_a_weight_wider_than_its_input_near_miss_is_not_named(options, wrt):
    g = gradcheck.check_layer(*rnn(**options), rnn_inputs(D=3, H=5), wrt=wrt).gradients["Wx"]
    assert g.status == "mismatch" and g.cause != CAUSE, (g.cause, g.diagnosis)


def temporal_affine(x, W, b):
    return x @ W + b, (x, W)


def temporal_affine_backward(skip_first, dx_too=False):
    def backward(d, cache):
        x, W = cache
        steps = range(1 if skip_first else 0, d.shape[1])
        dx = d @ W.T
        if dx_too:
            dx[:, :2] = 0
        return dx, sum(x[:, t].T @ d[:, t] for t in steps), sum(d[:, t].sum(axis=0) for t in steps)
    return backward


TEMPORAL = [np.random.default_rng(7).standard_normal((2, 4, 3)), np.random.default_rng(8).standard_normal((3, 5)),
            np.random.default_rng(9).standard_normal(5)]


def test_a_loop_that_skips_a_step_of_a_summed_gradient_is_named_with_the_steps_it_keeps():
    result = gradcheck.check_layer(temporal_affine, temporal_affine_backward(True), TEMPORAL)
    for name in ("W", "b"):
        g = result.gradients[name]
        assert g.status == "mismatch" and g.cause == CAUSE and "indices 1, 2, 3" in g.diagnosis, (name, g.diagnosis)
    assert gradcheck.check_layer(temporal_affine, temporal_affine_backward(False), TEMPORAL).exit_code == 0


def test_a_gradient_zero_on_some_steps_is_not_a_lost_sum():
    """dx right but 0 at t = 0, 1 is the truth for the douts of steps 2, 3 too; those reach entries of their
    own, so it is not said to be a sum that lost terms (the count says where it is wrong)."""
    g = gradcheck.check_layer(temporal_affine, temporal_affine_backward(False, dx_too=True), TEMPORAL).gradients["x"]
    assert g.status == "mismatch" and g.cause != CAUSE, g.diagnosis


def conv2d(x, w):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    out = np.zeros((N, F, H - K + 1, W - K + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = np.tensordot(x[:, :, i:i + K, j:j + K], w, axes=([1, 2, 3], [1, 2, 3]))
    return out, (x, w)


def conv2d_backward(overwrite, scale=1.0):
    def backward(d, cache):
        x, w = cache
        K = w.shape[2]
        dx, dw = np.zeros_like(x), np.zeros_like(w)
        for i in range(d.shape[2]):
            for j in range(d.shape[3]):
                part = np.tensordot(d[:, :, i, j], x[:, :, i:i + K, j:j + K], axes=([0], [0]))
                dw = scale * part if overwrite else dw + part
                dx[:, :, i:i + K, j:j + K] += np.tensordot(d[:, :, i, j], w, axes=([1], [0]))
        return dx, dw
    return backward


CONV = [np.random.default_rng(12).standard_normal((2, 2, 4, 4)), np.random.default_rng(13).standard_normal((3, 2, 2, 2))]


def test_a_conv_weight_overwritten_at_each_position_keeps_the_last_position():
    g = gradcheck.check_layer(conv2d, conv2d_backward(True), CONV).gradients["w"]
    assert g.status == "mismatch" and g.cause == CAUSE and "last position along axes 2, 3" in g.diagnosis, g.diagnosis
    assert gradcheck.check_layer(conv2d, conv2d_backward(False), CONV).exit_code == 0
    near = gradcheck.check_layer(conv2d, conv2d_backward(True, scale=1.02), CONV).gradients["w"]
    assert near.status == "mismatch" and near.cause != CAUSE, near.diagnosis


def max_pool_3x3(x):
    out = np.zeros((1, 1, x.shape[2] - 2, x.shape[3] - 2))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = x[:, :, i:i + 3, j:j + 3].max(axis=(2, 3))
    return out, x


def max_pool_3x3_overwriting(dout, x):
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            win = x[:, :, i:i + 3, j:j + 3]
            dx[:, :, i:i + 3, j:j + 3] = (win == win.max(axis=(2, 3), keepdims=True)) * dout[:, :, i, j][:, :, None, None]
    return dx


def test_one_output_entry_kept_by_overlapping_windows_is_said_as_windows_overwritten():
    """Overlapping windows written with = leave the last window's gradient alone here: one output entry's.
    It is said as what it is, each entry the last covering window's contribution (windows.py), not as a
    weight's sum over positions that lost some."""
    grid = np.add.outer(np.arange(5.0), 1.1 * np.arange(5.0))  # rising to the lower right: each window's max is its corner,
    x = (grid + 0.01 * np.random.default_rng(4).standard_normal((5, 5)))[None, None]  # written over by the next window
    g = gradcheck.check_layer(max_pool_3x3, max_pool_3x3_overwriting, [x]).gradients["x"]
    assert g.status == "mismatch" and g.cause == CAUSE and "last window that covers it" in g.diagnosis, g.diagnosis
