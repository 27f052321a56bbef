"""Black-box diagnoses of backwards with more than one mistake, and of the mistakes only a fit of the values
tells apart: a cause is named only where it explains the whole claim, and every wrong input gets at least
the honest count (how many entries are right, and the worst). The layers are this file's own."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck

RNG = np.random.default_rng(61)
HONEST = {"count", "probe"}  # what says no cause


def randn(*shape):
    return RNG.standard_normal(shape)


# ----- batch norm, train mode ------------------------------------------------------------------------
def batchnorm(x, gamma, beta):
    std = np.sqrt(x.var(axis=0) + 1e-5)
    xhat = (x - x.mean(axis=0)) / std
    return gamma * xhat + beta, (x, xhat, gamma, std)


def batchnorm_backward(mistake):
    def backward(dout, cache):
        x, xhat, gamma, std = cache
        n = len(x)
        dxhat = dout * gamma
        dx = (n * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0)) / (n * std)
        if mistake == "mean path":
            dx = gamma * dout / std
        elif mistake == "mean path and N - 1":
            dx = gamma * dout / np.sqrt(x.var(axis=0, ddof=1) + 1e-5)
        elif mistake == "mean path and twice":
            dx = 2 * gamma * dout / std
        return dx, (dout * xhat).sum(0), dout.sum(0)
    return backward


@pytest.mark.parametrize("n,d", [(4, 3), (5, 4), (6, 5)])
def test_a_batch_norm_without_its_mean_path_is_told_so(n, d):
    result = gradcheck.check_layer(batchnorm, batchnorm_backward("mean path"), [randn(n, d) + 1, randn(d), randn(d)])
    g = result.gradients["x"]
    assert g.status == "mismatch" and g.cause == "mean path", g.diagnosis


@pytest.mark.parametrize("n,d", [(4, 3), (5, 4), (6, 5)])
def test_a_batch_norm_with_two_mistakes_is_counted_not_given_a_cause(n, d):
    """The mean path dropped and a variance over N - 1: the claim reaches one entry where the truth reaches
    a column, which alone once named a reduction over too few entries. The factor the N - 1 puts in,
    √((N - 1)/N), is none a composite tries (the call's sizes and numbers, 2, ½, −1: test_two_mistakes.py)."""
    result = gradcheck.check_layer(batchnorm, batchnorm_backward("mean path and N - 1"),
                                   [randn(n, d) + 1, randn(d), randn(d)])
    g = result.gradients["x"]
    assert g.status == "mismatch" and g.cause in HONEST, g.diagnosis
    assert f"right on 0 of {n * d} entries" in g.diagnosis and "worst at x[" in g.diagnosis, g.diagnosis


# ----- attention's softmax ---------------------------------------------------------------------------
def softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def attention(q, k, v):
    a = softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]))
    return a @ v, (q, k, v, a)


def attention_backward(mistake):
    def backward(dout, cache):
        q, k, v, a = cache
        root = np.sqrt(q.shape[-1])
        da = dout @ np.swapaxes(v, -1, -2)
        ds = a * da if mistake.startswith("sum path") else a * (da - (a * da).sum(axis=-1, keepdims=True))
        dq, dk = ds @ k / root, np.swapaxes(ds, -1, -2) @ q / root
        if mistake == "sum path and no scale":
            dq, dk = dq * root, dk * root
        elif mistake == "dk transposed":
            dk = ds @ q / root
        return dq, dk, np.swapaxes(a, -1, -2) @ dout
    return backward


@pytest.mark.parametrize("shape", [(5, 3), (6, 4), (2, 4, 3), (3, 5, 4)])
def test_attention_without_the_softmax_sum_path_is_a_missing_mean_path_for_dq_and_dk(shape):
    result = gradcheck.check_layer(attention, attention_backward("sum path"), [randn(*shape) for _ in "qkv"])
    for name in "qk":
        g = result.gradients[name]
        assert g.status == "mismatch" and g.cause == "mean path", (name, g.cause, g.diagnosis)
    assert result.gradients["v"].status == "pass"


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3)])
def test_attention_without_the_sum_path_and_without_its_scale_is_not_called_a_mean_path(shape):
    result = gradcheck.check_layer(attention, attention_backward("sum path and no scale"),
                                   [randn(*shape) for _ in "qkv"])
    for name in "qk":
        g = result.gradients[name]
        assert g.status == "mismatch" and g.cause != "mean path", (name, g.diagnosis)


# ----- a normalisation's means over other axes -------------------------------------------------------
def layernorm(x):
    xhat = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + 1e-5)
    return xhat, xhat


def layernorm_over_rows(factor):
    def backward(d, xhat):  # the forward's own x̂ and scale, its means over the batch axis
        return factor * (d - d.mean(axis=0, keepdims=True) - xhat * (d * xhat).mean(axis=0, keepdims=True)) / SD
    return backward


X = randn(5, 4) * 2 + 1
SD = np.sqrt(X.var(axis=1, keepdims=True) + 1e-5)  # the forward's scale, which the backward keeps


def test_a_normalisation_whose_backward_averages_over_the_batch_axis_is_a_reduction_over_other_axes():
    g = gradcheck.check_layer(layernorm, layernorm_over_rows(1.0), [X]).gradients["x"]
    assert g.status == "mismatch" and g.cause == "reduction axes" and "other axes" in g.diagnosis, g.diagnosis


def test_the_same_with_a_factor_besides_is_not_a_reduction_over_other_axes():
    g = gradcheck.check_layer(layernorm, layernorm_over_rows(1.1), [X]).gradients["x"]
    assert g.status == "mismatch" and g.cause in HONEST, g.diagnosis


# ----- every wrong input gets a sentence -------------------------------------------------------------
def rnn_step(x, h, wx, wh, b):
    nh = np.tanh(x @ wx + h @ wh + b)
    return nh, (x, h, wx, wh, nh)


def rnn_transposed_and_unmasked(dnh, cache):
    x, h, wx, wh, nh = cache
    dz = dnh  # the tanh' factor is missing, and so is Wh's transpose
    return dz @ wx.T, dz @ wh, x.T @ dz, h.T @ dz, dz.sum(0)


def layernorm_affine(x, gamma, beta):
    xhat, _ = layernorm(x)
    return gamma * xhat + beta, (xhat, gamma, np.sqrt(x.var(axis=1, keepdims=True) + 1e-5))


def layernorm_factor_and_mean_path(dout, cache):
    xhat, gamma, std = cache
    return 1.7 * dout * gamma / std, (dout * xhat).sum(0), dout.sum(0)


MIXES = {
    "rnn step, Wh untransposed and no tanh'": lambda: gradcheck.check_layer(
        rnn_step, rnn_transposed_and_unmasked, [randn(4, 3), randn(4, 5), randn(3, 5), randn(5, 5), randn(5)]),
    "layer norm, a factor and no mean path": lambda: gradcheck.check_layer(
        layernorm_affine, layernorm_factor_and_mean_path, [randn(4, 5), randn(5), randn(5)]),
    "batch norm, no mean path and N - 1": lambda: gradcheck.check_layer(
        batchnorm, batchnorm_backward("mean path and N - 1"), [randn(5, 4) + 1, randn(4), randn(4)]),
    "attention, dk as ds @ q": lambda: gradcheck.check_layer(
        attention, attention_backward("dk transposed"), [randn(2, 4, 3) for _ in "qkv"]),
}


@pytest.mark.parametrize("name", list(MIXES))
def test_every_wrong_input_of_a_backward_with_several_mistakes_gets_a_sentence(name):
    result = MIXES[name]()
    shown = str(result)
    wrong = [v for v, g in result.gradients.items() if g.status == "mismatch"]
    assert wrong, shown
    for v in wrong:
        g = result.gradients[v]
        assert g.diagnosis, (v, shown)
        assert g.diagnosis.split(":")[0][:60] in " ".join(shown.split()), (v, shown)
        assert f"∂f/∂{v}" in "".join(line for line in shown.splitlines() if "how the claimed" in line), (v, shown)


# ----- patterns that are not causes ------------------------------------------------------------------
def embedding(idx, w):
    return w[idx], (idx, w.shape)


def embedding_backward(repeated):
    def backward(dout, cache):
        idx, shape = cache
        dw = np.zeros(shape)
        if repeated == "one kept":
            dw[idx] = dout  # each repeated row keeps one of its output entries' gradients
        else:
            np.add.at(dw, idx, dout)
            counts = np.bincount(idx.ravel(), minlength=shape[0])[:, None]
            dw /= np.maximum(counts, 1)  # averaged over its occurrences, not summed
        return dw
    return backward


WORDS = np.array([[1, 4, 4, 0], [2, 1, 3, 3]])


def test_rows_indexed_twice_that_keep_one_gradient_are_repeated_indices():
    g = gradcheck.check_layer(embedding, embedding_backward("one kept"), [WORDS, randn(6, 3)]).gradients["w"]
    assert g.status == "mismatch" and g.cause == "repeated indices", g.diagnosis


def test_rows_indexed_twice_that_average_their_gradients_are_not_repeated_indices():
    """Wrong exactly on the rows indexed twice (the pattern), but not the gradient of one of them."""
    g = gradcheck.check_layer(embedding, embedding_backward("averaged"), [WORDS, randn(6, 3)]).gradients["w"]
    assert g.status == "mismatch" and g.cause in HONEST, g.diagnosis


def test_one_slice_wrong_in_no_fitted_way_gets_the_count_not_a_cause():
    noise = randn(2, 4, 3)

    def vjp(d, x):
        g = 2 * d * x
        g[:, 2] += noise[:, 2]  # wrong only at index 2 of axis 1, but neither 0 nor a multiple there
        return g

    g = gradcheck.check_vjp(lambda x: x ** 2, vjp, [randn(2, 4, 3)]).gradients["x"]
    assert g.status == "mismatch" and g.cause in HONEST and "worst at x[" in g.diagnosis, g.diagnosis


def test_pooling_that_sends_each_window_to_its_first_entry_is_not_called_a_permutation():
    """The truth is 0 off each window's maximum, so which zero a moved value lands on is not told by the
    values: that the claim's values are the truth's, moved, does not say a transpose or a reshape."""
    def forward(x):
        return x.reshape(4, 2, 3, 2).max(axis=(1, 3)), x

    def backward(d, x):
        dx = np.zeros_like(x)
        dx[::2, ::2] = d
        return dx

    g = gradcheck.check_layer(forward, backward, [randn(8, 6)]).gradients["x"]
    assert g.status == "mismatch" and g.cause != "permuted", g.diagnosis


def test_a_claim_wrong_only_at_the_kinks_of_a_tie_says_so():
    """A maximum over tied entries, each given the whole gradient: the entries differenced are right and the
    mistake is at the kinks, which the diagnosis says instead of nothing."""
    def backward(d, x):
        return (x == x.max(axis=1, keepdims=True)) * d[:, None]

    x = np.array([[1.0, 3.0, 3.0], [0.5, 2.0, -1.0]])
    result = gradcheck.check_layer(lambda x: (x.max(axis=1), x), backward, [x])
    g = result.gradients["x"]
    assert g.status == "mismatch" and g.cause == "count", g.diagnosis
    assert "all 4 entries differenced" in g.diagnosis and "other 2 are at kinks" in g.diagnosis, g.diagnosis


def test_a_wrong_scalar_input_gets_its_two_numbers():
    result = gradcheck.check_layer(lambda x, s: (x * s, x),
                                   lambda d, x: (d * 0.0 + 1.0, (d * x).sum() * 1.7 + 0.2),
                                   [np.arange(4.0) + 1, np.float64(0.5)])
    for v in "xs":
        g = result.gradients[v]
        assert g.status == "mismatch" and g.cause == "count" and g.diagnosis, (v, g.diagnosis)
    assert "where the true gradient is" in result.gradients["s"].diagnosis
    assert "∂f/∂s is wrong: it is" in " ".join(str(result).split())


def test_two_inputs_with_no_gradient_are_said_once_with_both_listed():
    result = gradcheck.check_layer(lambda x, y: (x * y, None), lambda d, c: (np.zeros((2, 3)), np.zeros((2, 3))),
                                   [randn(2, 3), randn(2, 3)])
    assert {g.cause for g in result.gradients.values()} == {"zero"}
    lines = [line for line in str(result).splitlines() if "how the claimed" in line]
    assert len(lines) == 1 and "∂f/∂x, ∂f/∂y are wrong" in lines[0], lines


def test_a_parameter_inside_a_dict_is_an_input_its_mistake_can_be_written_in():
    """check_function on a dict of parameters: params["W"] is what the regularisation term is proportional
    to (the fit looked for inputs by name only, so a model's parameters got the count)."""
    x = randn(5, 3)

    def loss(params):
        return float(np.sum(np.tanh(x @ params["W"])) + 0.5 * 0.1 * np.sum(params["W"] ** 2))

    def grad(params):
        w = params["W"]
        return {"W": x.T @ (1 - np.tanh(x @ w) ** 2) + 2 * 0.1 * w}  # 2·reg·W for reg·W

    g = gradcheck.check_function(loss, grad, {"params": {"W": randn(3, 4)}}).gradients['params["W"]']
    assert g.status == "mismatch" and g.cause == "regularisation" and 'params["W"]' in g.diagnosis, g.diagnosis


def test_a_gradient_of_another_shape_that_nothing_explains_still_gets_a_sentence():
    """db = dz not summed over the batch, beside another mistake in dz: no hypothesis explains db's values,
    and its sentence says the shapes (it said nothing)."""
    rng = np.random.default_rng(2)

    def forward(x, w, b):
        return np.tanh(x @ w + b), (x, w, b)

    def backward(dout, cache):
        x, w, b = cache
        dz = dout * np.tanh(x @ w + b)  # the activation for its derivative
        return dz @ w.T, x.T @ dz, dz  # and db not summed

    result = gradcheck.check_layer(forward, backward, [rng.standard_normal((4, 3)), rng.standard_normal((3, 5)),
                                                       rng.standard_normal(5)])
    g = result.gradients["b"]
    assert result.exit_code == 1 and g.status == "mismatch"
    assert g.diagnosis and "(4,5)" in g.diagnosis and "(5,)" in g.diagnosis, g.diagnosis


def test_a_transposed_weight_gradient_beside_a_missing_mask_is_told_transposed_where_one_entry_reaches():
    """dW = dz.T @ x (W square) and no relu mask: no hypothesis explains the whole claim, and one output
    entry's gradient lands on W's transposed entries; it was told an index, stride or padding error."""
    rng = np.random.default_rng(21)

    def forward(x, W, b):
        z = x @ W + b
        return np.maximum(z, 0), (x, W, z)

    def backward(dout, cache, transposed=True):
        x, W, z = cache
        return dout @ W.T, (dout.T @ x if transposed else np.roll(x.T @ dout, 1, axis=0)), dout.sum(0)

    inputs = [rng.standard_normal((5, 4)), rng.standard_normal((4, 4)), rng.standard_normal(4)]
    g = gradcheck.check_layer(forward, backward, inputs).gradients["W"]
    assert g.status == "mismatch" and "transposed" in g.diagnosis and "index" not in g.diagnosis, g.diagnosis
    rolled = gradcheck.check_layer(forward, lambda d, c: backward(d, c, transposed=False), inputs).gradients["W"]
    assert rolled.status == "mismatch" and "transposed" not in (rolled.diagnosis or ""), rolled.diagnosis
