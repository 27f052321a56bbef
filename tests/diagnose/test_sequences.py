"""Sequence and attention layers: a recurrence whose backward never carries the gradient back through its
state ("carry missing", diagnose/sequences.py), and attention read from the values in batched, multi-head
and causal forms, so that a Q or K gradient √d times the truth beside a forward scaled by 1/√d is that
scale missing even where √d is also the number of rows (diagnose/attention.py)."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck


def randn(seed):
    return np.random.default_rng(seed).standard_normal


# ----- a recurrence's carry ---------------------------------------------------------------------------
ACTIVATIONS = {"tanh": (np.tanh, lambda y: 1 - y ** 2),
               "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda y: y * (1 - y))}


def rnn(activation, time_axis):
    """An Elman rnn over a sequence, its hidden states the output; time on axis 1 (N, T, D) or 0 (T, N, D)."""
    act, local = ACTIVATIONS[activation]

    def forward(xs, state, U, V, c):
        hs = [state]
        for t in range(xs.shape[time_axis]):
            hs.append(act(np.take(xs, t, axis=time_axis) @ U + hs[-1] @ V + c))
        return np.stack(hs[1:], axis=time_axis), (xs, hs, U, V)

    def backward(mistake):
        def run(dhs, cache):
            xs, hs, U, V = cache
            dxs, dU, dV, dc = np.zeros_like(xs), np.zeros_like(U), np.zeros_like(V), np.zeros(V.shape[0])
            back = np.zeros_like(hs[0])
            for t in reversed(range(xs.shape[time_axis])):
                carried = 0.0 if mistake == "no carry" else back
                dz = (np.take(dhs, t, axis=time_axis) + carried) * local(hs[t + 1])
                if mistake == "step 1 doubled" and t == 1:
                    dz = 2 * dz
                index = (slice(None),) * time_axis + (t,)
                dxs[index] = dz @ U.T
                dU += np.take(xs, t, axis=time_axis).T @ dz
                dV += hs[t].T @ dz
                dc += dz.sum(axis=0)
                back = dz @ V.T
            return dxs, back, dU, dV, dc
        return run
    return forward, backward


def rnn_inputs(seed, n, t, d, h, time_axis):
    g = randn(seed)
    xs = g((n, t, d)) if time_axis == 1 else g((t, n, d))
    return [xs, g((n, h)), 0.5 * g((d, h)), 0.4 * g((h, h)), 0.1 * g(h)]


@pytest.mark.parametrize("activation, time_axis, shape", [
    ("tanh", 1, (2, 4, 3, 5)), ("sigmoid", 0, (3, 3, 2, 4)), ("tanh", 0, (2, 5, 4, 3)),
])
def test_an_rnn_whose_backward_never_carries_dh_back_is_carry_missing(activation, time_axis, shape):
    forward, backward = rnn(activation, time_axis)
    inputs = rnn_inputs(sum(shape) + time_axis, *shape, time_axis)
    assert gradcheck.check_layer(forward, backward("right"), inputs).exit_code == 0
    result = gradcheck.check_layer(forward, backward("no carry"), inputs)
    assert result.exit_code == 1
    for name in ("xs", "state", "U", "V", "c"):
        g = result.gradients[name]
        assert g.status == "mismatch" and g.cause == "carry missing", (name, g.cause, g.diagnosis)
        assert "one step at a time" in g.diagnosis and "not carried back to earlier steps" in g.diagnosis
        assert f"axis {time_axis} of xs" in g.diagnosis and "state for the first" in g.diagnosis, g.diagnosis


def test_an_rnn_wrong_at_one_step_for_another_reason_is_not_carry_missing():
    """The carry is there and step 1's gradient is doubled: wrong at one step, and not the local steps."""
    forward, backward = rnn("tanh", 1)
    result = gradcheck.check_layer(forward, backward("step 1 doubled"), rnn_inputs(7, 2, 4, 3, 4, 1))
    assert result.exit_code == 1
    for name in ("xs", "U", "V"):
        g = result.gradients[name]
        assert g.status == "mismatch" and g.cause != "carry missing", (name, g.diagnosis)


def test_an_rnn_fed_only_the_last_steps_dout_is_not_carry_missing():
    """A many-to-one backward (dout at the last step only, carried back): not each step's own gradient."""
    forward, backward = rnn("tanh", 1)

    def last_only(dhs, cache):
        kept = np.zeros_like(dhs)
        kept[:, -1] = dhs[:, -1]
        return backward("right")(kept, cache)
    result = gradcheck.check_layer(forward, last_only, rnn_inputs(8, 2, 4, 3, 4, 1))
    assert result.exit_code == 1
    for name in ("xs", "V"):
        assert result.gradients[name].cause != "carry missing", result.gradients[name].diagnosis


def test_an_lstm_over_a_sequence_whose_cell_state_stays_inside_is_not_read_as_steps():
    """An lstm outputs h only; its cell state c starts at 0 inside, so running it one step at a time from
    the h it output is not the layer: nothing is said of a carry, even with the carry missing."""
    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    def forward(x, h0, Wx, Wh):
        hdim = h0.shape[1]
        h, c, cache, hs = h0, np.zeros_like(h0), [], []
        for t in range(x.shape[1]):
            a = x[:, t] @ Wx + h @ Wh
            i, f, o, g = sigmoid(a[:, :hdim]), sigmoid(a[:, hdim:2 * hdim]), sigmoid(a[:, 2 * hdim:3 * hdim]), \
                np.tanh(a[:, 3 * hdim:])
            c_prev, h_prev = c, h
            c = f * c + i * g
            h = o * np.tanh(c)
            cache.append((x[:, t], h_prev, c_prev, i, f, o, g, c))
            hs.append(h)
        return np.stack(hs, axis=1), (cache, Wx, Wh)

    def backward(dhs, stored):
        cache, Wx, Wh = stored
        dx = np.zeros((dhs.shape[0], len(cache), Wx.shape[0]))
        dWx, dWh = np.zeros_like(Wx), np.zeros_like(Wh)
        dc_next = np.zeros_like(dhs[:, 0])
        for t in reversed(range(len(cache))):
            xt, h_prev, c_prev, i, f, o, g, c = cache[t]
            dh = dhs[:, t]  # the carry from step t + 1 missing
            tc = np.tanh(c)
            dc = dh * o * (1 - tc ** 2) + dc_next
            da = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dh * tc * o * (1 - o),
                                 dc * i * (1 - g ** 2)], axis=1)
            dx[:, t] = da @ Wx.T
            dWx += xt.T @ da
            dWh += h_prev.T @ da
            dc_next = dc * f
        return dx, da @ Wh.T, dWx, dWh
    g = randn(9)
    result = gradcheck.check_layer(forward, backward, [g((2, 3, 3)), g((2, 2)), 0.5 * g((3, 8)), 0.5 * g((2, 8))])
    assert result.exit_code == 1
    for name in ("x", "Wh"):
        assert result.gradients[name].cause != "carry missing", result.gradients[name].diagnosis


# ----- attention of other shapes: its 1/√d ----------------------------------------------------------------
def softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def attention(scaled, causal=False):
    def forward(q, k, v):
        c = 1 / np.sqrt(q.shape[-1]) if scaled else 1.0
        s = c * q @ np.swapaxes(k, -1, -2)
        if causal:
            s = np.where(np.triu(np.ones(s.shape[-2:], dtype=bool), 1), -1e9, s)
        a = softmax(s)
        return a @ v, (q, k, v, a, c)

    def backward(mistake):
        def run(dout, cache):
            q, k, v, a, c = cache
            da = dout @ np.swapaxes(v, -1, -2)
            ds = a * (da - (da * a).sum(axis=-1, keepdims=True))
            dq = ds @ k * (1.0 if mistake == "dq unscaled" else c)
            dk = np.swapaxes(ds, -1, -2) @ q * (1.0 if mistake == "dk unscaled" else c)
            factor = 2.0 if mistake == "dk doubled" else 1.0
            return dq, factor * dk, np.swapaxes(a, -1, -2) @ dout
        return run
    return forward, backward


@pytest.mark.parametrize("shapes, causal, mistake, variable", [
    (((2, 3, 4), (2, 3, 4), (2, 3, 2)), False, "dk unscaled", "k"),  # √4 = 2 = N rows too
    (((2, 2, 3, 4), (2, 2, 3, 4), (2, 2, 3, 3)), False, "dq unscaled", "q"),  # (B, H, T, d), heads
    (((3, 4, 9), (3, 4, 9), (3, 4, 2)), True, "dk unscaled", "k"),  # causal, √9 = 3 = N rows too
    (((4, 4), (4, 4), (4, 3)), True, "dq unscaled", "q"),  # one causal head, √4 = 2 = twice
])
def test_attentions_missing_scale_is_named_in_batched_multi_head_and_causal_forms(shapes, causal, mistake, variable):
    g = randn(len(shapes[0]) * 10 + shapes[0][-1])
    inputs = [g(s) for s in shapes]
    forward, backward = attention(True, causal)
    assert gradcheck.check_layer(forward, backward("right"), inputs).exit_code == 0
    result = gradcheck.check_layer(forward, backward(mistake), inputs)
    got = result.gradients[variable]
    assert result.exit_code == 1 and got.cause == "square root of a size", (got.cause, got.diagnosis)
    assert f"1/√{shapes[0][-1]}" in got.diagnosis, got.diagnosis


def test_a_factor_two_beside_an_unscaled_attention_is_not_read_as_its_scale():
    """The forward has no 1/√d: dk twice the truth with d = 4 and 2 rows is no scale missing, and stays
    the factor's readings said together (no mistake named)."""
    g = randn(31)
    inputs = [g((2, 3, 4)), g((2, 3, 4)), g((2, 3, 2))]
    forward, backward = attention(False)
    result = gradcheck.check_layer(forward, backward("dk doubled"), inputs)
    got = result.gradients["k"]
    assert result.exit_code == 1 and got.cause not in ("square root of a size", "rows"), got.diagnosis


def test_a_factor_two_of_a_scaled_attentions_dk_with_d_nine_is_not_its_scale():
    """Scaled by 1/√9: a factor 2 is no √9, so the attention's reading does not take it."""
    g = randn(32)
    inputs = [g((2, 3, 9)), g((2, 3, 9)), g((2, 3, 2))]
    forward, backward = attention(True)
    result = gradcheck.check_layer(forward, backward("dk doubled"), inputs)
    got = result.gradients["k"]
    assert result.exit_code == 1 and got.cause != "square root of a size", got.diagnosis


@pytest.mark.parametrize("masked", ["causal", "input"])
def test_a_masked_batched_attentions_softmax_sums_over_the_queries_are_named(masked):
    """softmax(Q @ Kᵀ/√d + M) @ V over (B, T, d), M causal or a boolean input: dS's sums over the queries
    (A's axis 1) where the forward's are over the keys (its rows, axis 2)."""
    g = randn(41)
    keep = np.tril(np.ones((4, 4), dtype=bool)) | np.eye(4, k=2, dtype=bool)

    def forward(q, k, v, allowed):
        s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
        a = softmax(np.where(allowed, s, -np.inf))
        return a @ v, (q, k, v, a)

    def backward(axis):
        def run(dout, cache):
            q, k, v, a = cache
            da = dout @ np.swapaxes(v, -1, -2)
            ds = a * (da - (da * a).sum(axis=axis, keepdims=True)) / np.sqrt(q.shape[-1])
            return ds @ k, np.swapaxes(ds, -1, -2) @ q, np.swapaxes(a, -1, -2) @ dout
        return run
    allowed = np.tril(np.ones((4, 4), dtype=bool)) if masked == "causal" else keep
    inputs = [g((2, 4, 3)), g((2, 4, 3)), g((2, 4, 2)), allowed]
    assert gradcheck.check_layer(forward, backward(-1), inputs, data="allowed").exit_code == 0
    result = gradcheck.check_layer(forward, backward(1), inputs, data="allowed")
    got = result.gradients["q"]
    assert result.exit_code == 1 and got.cause == "reduction axes", (got.cause, got.diagnosis)
    assert "A's axis 2, its rows" in got.diagnosis and "A's axis 1" in got.diagnosis, got.diagnosis


def test_an_rnn_from_a_zero_state_without_the_carry_names_its_sequence_input():
    """No state among the inputs (h0 = 0 inside): the layer cannot be run from its states, but x's claim at
    each step is that step's dout's gradient alone, read from the one-slice douts."""
    forward, backward = rnn("tanh", 1)

    def from_zero(xs, U, V, c):
        return forward(xs, np.zeros((xs.shape[0], V.shape[0])), U, V, c)

    def without_state(mistake):
        def run(dhs, cache):
            dxs, _, dU, dV, dc = backward(mistake)(dhs, cache)
            return dxs, dU, dV, dc
        return run
    xs, _, U, V, c = rnn_inputs(12, 2, 4, 3, 4, 1)
    assert gradcheck.check_layer(from_zero, without_state("right"), [xs, U, V, c]).exit_code == 0
    result = gradcheck.check_layer(from_zero, without_state("no carry"), [xs, U, V, c])
    got = result.gradients["xs"]
    assert result.exit_code == 1 and got.cause == "carry missing", (got.cause, got.diagnosis)
    assert "each of its 4 steps (axis 1)" in got.diagnosis and "not carried back" in got.diagnosis, got.diagnosis
    wrong_step = gradcheck.check_layer(from_zero, without_state("step 1 doubled"), [xs, U, V, c])
    assert wrong_step.exit_code == 1 and wrong_step.gradients["xs"].cause != "carry missing"


@pytest.mark.parametrize("shapes, variable", [
    (((2, 3, 4), (2, 3, 4), (2, 3, 2)), "k"), (((2, 2, 4, 3), (2, 2, 4, 3), (2, 2, 4, 2)), "q"),
])
def test_a_batched_attentions_ds_untransposed_is_named(shapes, variable):
    """dK = dS @ Q for dS.T @ Q (or dQ = dS.T @ K), over a batch and heads: dS predicted from the attention
    read from the values."""
    g = randn(51 + len(shapes[0]))
    inputs = [g(s) for s in shapes]
    forward, _ = attention(True)

    def backward(dout, cache):
        q, k, v, a, c = cache
        da = dout @ np.swapaxes(v, -1, -2)
        ds = a * (da - (da * a).sum(axis=-1, keepdims=True))
        dst = np.swapaxes(ds, -1, -2)
        return (c * (dst if variable == "q" else ds) @ k, c * (ds if variable == "k" else dst) @ q,
                np.swapaxes(a, -1, -2) @ dout)
    result = gradcheck.check_layer(forward, backward, inputs)
    got = result.gradients[variable]
    other = "q" if variable == "k" else "k"
    assert result.exit_code == 1 and got.cause == "untransposed matrix", (got.cause, got.diagnosis)
    wrong, right = ("dS", "dS.T") if variable == "k" else ("dS.T", "dS")
    assert f"`{wrong} @ {other}` for `{right} @ {other}`" in got.diagnosis, got.diagnosis
    assert result.gradients[other].status == "pass"


def test_an_rnn_with_an_output_projection_names_its_sequence_and_first_state():
    """y_t = h_t @ Wy: the output is not the state, so the layer is not run step by step, but x's claim at
    each step and h0's are each step's dout's gradient alone (the one-slice douts)."""
    def forward(x, h0, Wx, Wh, Wy):
        hs = [h0]
        for t in range(x.shape[1]):
            hs.append(np.tanh(x[:, t] @ Wx + hs[-1] @ Wh))
        states = np.stack(hs[1:], axis=1)
        return states @ Wy, (x, hs, Wx, Wh, Wy, states)

    def backward(mistake):
        def run(dy, cache):
            x, hs, Wx, Wh, Wy, states = cache
            dhs = dy @ Wy.T
            dx, dWx, dWh, back = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(hs[0])
            for t in reversed(range(x.shape[1])):
                dz = (dhs[:, t] + (0.0 if mistake == "no carry" else back)) * (1 - hs[t + 1] ** 2)
                dx[:, t], back = dz @ Wx.T, dz @ Wh.T
                dWx += x[:, t].T @ dz
                dWh += hs[t].T @ dz
            return dx, back, dWx, dWh, np.einsum("nth,nty->hy", states, dy)
        return run
    g = randn(61)
    inputs = [g((2, 4, 3)), g((2, 4)), 0.5 * g((3, 4)), 0.4 * g((4, 4)), g((4, 2))]
    assert gradcheck.check_layer(forward, backward("right"), inputs).exit_code == 0
    result = gradcheck.check_layer(forward, backward("no carry"), inputs)
    assert result.exit_code == 1
    for name in ("x", "h0"):
        got = result.gradients[name]
        assert got.cause == "carry missing" and "each of its 4 steps (axis 1)" in got.diagnosis, (name, got.diagnosis)


def test_a_position_table_from_the_first_sequence_only_is_not_carry_missing():
    """out = x + P[None] with dP = dout[0] (one sequence's, where the sum over the batch belongs), N = T:
    P has a state's number of axes beside a sequence input, but its claim is no time step's alone."""
    g = randn(62)
    result = gradcheck.check_layer(lambda x, P: (x + P[None], None), lambda d, c: (d, d[0]),
                                   [g((3, 3, 2)), g((3, 2))])
    got = result.gradients["P"]
    assert result.exit_code == 1 and got.cause != "carry missing", got.diagnosis


# ----- a weight's gradient summed over the wrong steps ------------------------------------------------
def shifted_rnn_backward(mistake):
    """The tanh rnn's backward (rnn("tanh", 1)) with dWh or dWx paired with another step's input."""
    def run(dhs, cache):
        xs, hs, U, V = cache
        dxs, dU, dV, dc, back = np.zeros_like(xs), np.zeros_like(U), np.zeros_like(V), np.zeros(V.shape[0]), \
            np.zeros_like(hs[0])
        steps = xs.shape[1]
        for t in reversed(range(steps)):
            dz = (dhs[:, t] + back) * (1 - hs[t + 1] ** 2)
            dxs[:, t] = dz @ U.T
            x_used = xs[:, t - 1] if mistake == "x of the step before" and t else xs[:, t] * (mistake != "x of the step before")
            dU += x_used.T @ dz
            dV += (hs[t + 1] if mistake == "next state" else hs[t]).T @ dz * (1.05 if mistake == "next state, 1.05" else 1)
            if mistake == "next state, 1.05":
                dV += 0.05 * hs[t + 1].T @ dz - 0.05 * hs[t].T @ dz
            dc += dz.sum(axis=0)
            back = dz @ V.T
        return dxs, back, dU, dV, dc
    return run


@pytest.mark.parametrize("mistake, variable, words", [
    ("next state", "V", "the next step's state"), ("x of the step before", "U", "the previous step's input xs[:, t]"),
])
def test_a_weight_paired_with_another_steps_input_is_wrong_steps(mistake, variable, words):
    forward, _ = rnn("tanh", 1)
    inputs = rnn_inputs(71, 3, 4, 5, 4, 1)  # D = 5 ≥ H = 4: each step's dz recovered from xs's truth
    result = gradcheck.check_layer(forward, shifted_rnn_backward(mistake), inputs)
    got = result.gradients[variable]
    assert result.exit_code == 1 and got.cause == "wrong steps", (got.cause, got.diagnosis)
    assert words in got.diagnosis and "summed over the wrong steps" in got.diagnosis, got.diagnosis
    assert result.gradients["xs"].status == "pass"


def test_a_weight_paired_with_a_mix_of_steps_is_not_wrong_steps():
    """dV = Σ (1.05·h_(t−1) + 0.05·(h_t − h_(t−1)))ᵀ dz_t: no one offset pairs it."""
    forward, _ = rnn("tanh", 1)
    result = gradcheck.check_layer(forward, shifted_rnn_backward("next state, 1.05"), rnn_inputs(72, 3, 4, 5, 4, 1))
    got = result.gradients["V"]
    assert result.exit_code == 1 and got.status == "mismatch" and got.cause != "wrong steps", got.diagnosis


@pytest.mark.parametrize("mistake, variable", [("next state", "V"), ("x of the step before", "U")])
def test_wrong_steps_reads_dz_from_every_inputs_truth_where_xs_alone_cannot(mistake, variable):
    """D = 3 < H = 5: xs's truth alone fixes no unique dz; with h0's, the weights' and c's it does."""
    forward, _ = rnn("tanh", 1)
    result = gradcheck.check_layer(forward, shifted_rnn_backward(mistake), rnn_inputs(73, 2, 4, 3, 5, 1))
    got = result.gradients[variable]
    assert result.exit_code == 1 and got.cause == "wrong steps", (got.cause, got.diagnosis)
    assert "the true gradients of xs, " in got.diagnosis, got.diagnosis


@pytest.mark.parametrize("mistake, wrt", [("next state, 1.05", None), ("next state", ["xs", "V"])],
                         ids=["a mix of steps", "dz not fixed by xs's and V's truths alone"])
def test_wrong_steps_near_misses_where_xs_alone_cannot_fix_dz(mistake, wrt):
    forward, _ = rnn("tanh", 1)
    result = gradcheck.check_layer(forward, shifted_rnn_backward(mistake), rnn_inputs(73, 2, 4, 3, 5, 1), wrt=wrt)
    got = result.gradients["V"]
    assert result.exit_code == 1 and got.status == "mismatch" and got.cause != "wrong steps", got.diagnosis


@pytest.mark.parametrize("mistake, named", [("next state", True), ("next state, 1.05", False)])
def test_wrong_steps_carries_dz_back_where_no_truths_fix_it(mistake, named):
    """N = H = 3 > D = 2: every input's truth leaves each step's dz free along U's null space; dz carried
    back through the tanh rnn from dout gives every truth back, and the claim is the next state's pairing
    (a mix of steps is not)."""
    forward, _ = rnn("tanh", 1)
    result = gradcheck.check_layer(forward, shifted_rnn_backward(mistake), rnn_inputs(75, 3, 4, 2, 3, 1))
    got = result.gradients["V"]
    assert result.exit_code == 1 and got.status == "mismatch", got.diagnosis
    assert (got.cause == "wrong steps") == named, (got.cause, got.diagnosis)


def test_wrong_steps_with_both_weights_square_finds_which_is_which():
    """D = H: xs's truth alone gives some dz through either square weight (here the recurrent one comes
    first); every input's truth together tells them apart."""
    forward, _ = rnn("tanh", 1)
    backward = shifted_rnn_backward("next state")
    xs, state, U, V, c = rnn_inputs(74, 2, 3, 3, 3, 1)
    result = gradcheck.check_layer(lambda xs, state, V, U, c: forward(xs, state, U, V, c),
                                   lambda d, cache: (lambda g: (g[0], g[1], g[3], g[2], g[4]))(backward(d, cache)),
                                   [xs, state, V, U, c])
    got = result.gradients["V"]
    assert result.exit_code == 1 and got.cause == "wrong steps", (got.cause, got.diagnosis)


def test_a_same_padded_conv_over_time_keeping_only_its_centre_tap_is_not_carry_missing():
    """A conv over time mixes steps both ways: its backward with only the centre tap is each step's own
    gradient, but what it leaves out comes from earlier steps' douts too, so no carry is named."""
    def forward(x, w):
        xp = np.pad(x, ((0, 0), (1, 1), (0, 0)))
        return np.stack([sum(xp[:, t + k] @ w[k] for k in range(3)) for t in range(x.shape[1])], axis=1), (x, w)

    def backward(taps):
        def run(dout, cache):
            x, w = cache
            xp = np.pad(x, ((0, 0), (1, 1), (0, 0)))
            dxp, dw = np.zeros_like(xp), np.zeros_like(w)
            for t in range(x.shape[1]):
                for k in taps:
                    dxp[:, t + k] += dout[:, t] @ w[k].T
                    dw[k] += xp[:, t + k].T @ dout[:, t]
            return dxp[:, 1:-1], dw
        return run
    g = randn(41)
    inputs = [g((2, 5, 3)), g((3, 3, 4))]
    assert gradcheck.check_layer(forward, backward((0, 1, 2)), inputs).exit_code == 0
    result = gradcheck.check_layer(forward, backward((1,)), inputs)
    assert result.exit_code == 1
    assert result.gradients["x"].status == "mismatch"
    assert result.gradients["x"].cause != "carry missing", result.gradients["x"].diagnosis
