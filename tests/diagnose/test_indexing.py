"""Index mistakes named from the integer inputs (indexing.py): a loss's correct-class term wrong only at
(i, y[i]), the fancy-index slip d[:, y] for d[np.arange(N), y], a lookup's index read in the other order
or its weights forgotten, and a max's mask taken over the wrong axes (a global pool's argmax per image
over every channel). Near misses (an error on other rows' entries, a different bug of the same layer, a
right layer) keep their own diagnosis, and every wrong layer still exits 1."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck


def _rng(seed: int):
    return np.random.default_rng(seed)


# ----- losses with labels ----------------------------------------------------------------------------
def _softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _cross_entropy(s, y):
    return -np.mean(np.log(_softmax(s)[np.arange(len(y)), y]))


def _cross_entropy_grad(slip: str = ""):
    """Softmax cross-entropy's gradient; `slip` names its mistake."""
    def grad(s, y):
        n = len(y)
        d = _softmax(s)
        if slip == "columns":
            d[:, y] -= 1.0
        elif slip == "rows":
            d[y] -= 1.0
        elif slip == "counted columns":
            np.subtract.at(d, (slice(None), y), 1.0)
        elif slip == "no onehot":
            pass
        elif slip == "twice":
            d[np.arange(n), y] -= 2.0
        elif slip == "other rows":
            d[np.arange(n), y] -= 1.0
            d[(np.arange(n) + 1) % n, y] += 0.5
        else:
            d[np.arange(n), y] -= 1.0
        return d / n
    return grad


def _check_ce(slip: str, rows: int, classes: int, y, seed: int):
    s = _rng(seed).standard_normal((rows, classes))
    return gradcheck.check_function(_cross_entropy, _cross_entropy_grad(slip), [s, np.asarray(y)])


@pytest.mark.parametrize("slip, y", [("columns", [1, 3, 1, 0, 2, 2]), ("counted columns", [1, 3, 1, 0, 2, 2]),
                                     ("columns", [3, 0, 2, 1])])
def test_cross_entropy_with_the_onehot_at_every_rows_labels_is_the_fancy_index_slip(slip, y):
    result = _check_ce(slip, len(y), 5, y, 7)
    g = result.gradients["s"]
    assert result.exit_code == 1
    assert g.cause == "label index", (g.cause, g.diagnosis)
    assert "ds[:, y]" in g.diagnosis and "ds[np.arange(N), y] belongs" in g.diagnosis
    assert ("np.subtract.at" in g.diagnosis) == (slip == "counted columns")


@pytest.mark.parametrize("slip, words", [("no onehot", "by the same amount"), ("twice", "by the same amount")])
def test_cross_entropy_wrong_only_at_the_correct_class_is_its_term(slip, words):
    result = _check_ce(slip, 6, 4, [0, 3, 3, 1, 2, 0], 8)
    g = result.gradients["s"]
    assert result.exit_code == 1
    assert g.cause == "correct class term", (g.cause, g.diagnosis)
    assert "correct class's entries (i, y[i])" in g.diagnosis and words in g.diagnosis


def test_an_error_at_other_rows_label_columns_is_neither_label_mistake():
    result = _check_ce("other rows", 6, 4, [0, 3, 3, 1, 2, 0], 9)
    g = result.gradients["s"]
    assert result.exit_code == 1
    assert g.cause not in ("correct class term", "label index"), (g.cause, g.diagnosis)


def test_a_right_cross_entropy_passes():
    assert _check_ce("", 5, 4, [0, 1, 2, 3, 0], 10).exit_code == 0


def _nll(logp, y):
    return -logp[np.arange(len(y)), y].mean()


def _nll_grad(slip: str = ""):
    """An NLL's gradient on log-probabilities, -1/N at each row's label; `slip` names its mistake."""
    def grad(logp, y):
        n = len(y)
        d = np.zeros_like(logp)
        if slip == "columns":
            d[:, y] = -1.0 / n
        elif slip == "columns unscaled":
            d[:, y] = -1.0
        elif slip == "unscaled":
            d[np.arange(n), y] = -1.0
        elif slip == "other rows":
            d[np.arange(n), y] = -1.0 / n
            d[(np.arange(n) + 1) % n, (y + 1) % logp.shape[1]] = 0.5 / n
        else:
            d[np.arange(n), y] = -1.0 / n
        return d
    return grad


def _check_nll(slip: str, y, seed: int):
    logp = _rng(seed).standard_normal((len(y), 4))
    return gradcheck.check_function(_nll, _nll_grad(slip), [logp, np.asarray(y)])


@pytest.mark.parametrize("y", [[2, 0, 3, 2, 1], [1, 3, 0]])
def test_an_nll_written_at_every_rows_label_columns_is_the_label_index_not_a_mask(y):
    """d[:, y] = -1/N: the claim is nonzero where the truth is 0, but at exactly the labels' columns of
    every row, which no mask of the forward blocks."""
    assert _check_nll("", y, 11).exit_code == 0
    result = _check_nll("columns", y, 11)
    g = result.gradients["logp"]
    assert result.exit_code == 1
    assert g.cause == "label index", (g.cause, g.diagnosis)
    assert "dlogp[:, y]" in g.diagnosis and "dlogp[np.arange(N), y]" in g.diagnosis, g.diagnosis


def test_an_nll_written_at_every_rows_label_columns_without_its_mean_is_two_mistakes_not_a_mask():
    result = _check_nll("columns unscaled", [2, 0, 3, 2, 1], 12)
    g = result.gradients["logp"]
    assert result.exit_code == 1
    assert set(g.causes) == {"rows", "label index"}, (g.causes, g.diagnosis)


@pytest.mark.parametrize("slip", ["other rows", "unscaled"])
def test_an_nll_with_another_bug_is_not_the_label_index(slip):
    result = _check_nll(slip, [2, 0, 3, 2, 1], 12)
    g = result.gradients["logp"]
    assert result.exit_code == 1
    assert g.cause != "label index" and "label index" not in g.causes, g.diagnosis


def _hinge_point(rows: int, classes: int, y: np.ndarray, seed: int) -> np.ndarray:
    """Scores with no margin near the hinge."""
    s = _rng(seed).standard_normal((rows, classes))
    r = np.arange(rows)
    for _ in range(20):
        m = s - s[r, y][:, None] + 1.0
        m[r, y] = 1.0
        s = s + np.where(np.abs(m) < 0.1, 0.3, 0.0)
    return s


def _hinge(s, y):
    r = np.arange(len(y))
    m = np.maximum(0.0, s - s[r, y][:, None] + 1.0)
    m[r, y] = 0.0
    return m.sum() / len(y)


def _hinge_grad(slip: str = ""):
    def grad(s, y):
        r = np.arange(len(y))
        m = s - s[r, y][:, None] + 1.0
        m[r, y] = 0.0
        d = (m > 0).astype(float)
        if slip == "plus count":
            d[r, y] = d.sum(axis=1)
        elif slip == "wrong row":
            d[r, y] = -d.sum(axis=1)
            d[0, :] *= 2.0
        elif slip != "no count":
            d[r, y] = -d.sum(axis=1)
        return d / len(y)
    return grad


@pytest.mark.parametrize("slip, words", [("no count", "where it is 0"), ("plus count", "is wrong")])
def test_a_hinge_loss_wrong_at_the_correct_class_is_its_term(slip, words):
    y = np.array([2, 0, 4, 1, 1, 3, 0])
    s = _hinge_point(7, 5, y, 11)
    assert gradcheck.check_function(_hinge, _hinge_grad(), [s, y]).exit_code == 0
    result = gradcheck.check_function(_hinge, _hinge_grad(slip), [s, y])
    g = result.gradients["s"]
    assert result.exit_code == 1
    assert g.cause == "correct class term", (g.cause, g.diagnosis)
    assert words in g.diagnosis


def test_a_hinge_loss_wrong_on_a_whole_row_is_not_the_correct_class_term():
    y = np.array([2, 0, 4, 1, 1, 3, 0])
    s = _hinge_point(7, 5, y, 12)
    result = gradcheck.check_function(_hinge, _hinge_grad("wrong row"), [s, y])
    g = result.gradients["s"]
    assert result.exit_code == 1
    assert g.cause not in ("correct class term", "label index"), (g.cause, g.diagnosis)


# ----- lookups ---------------------------------------------------------------------------------------
def _lookup(idx, W):
    return W[idx], (idx, W.shape)


def _lookup_backward(order: str = ""):
    def backward(dout, cache):
        idx, shape = cache
        dW = np.zeros(shape)
        if order == "T":
            np.add.at(dW, idx.T, dout)
        elif order == "F":
            np.add.at(dW, idx.ravel(order="F"), dout.reshape(-1, shape[1]))
        elif order == "shifted":
            np.add.at(dW, (idx + 1) % shape[0], dout)
        else:
            np.add.at(dW, idx, dout)
        return dW
    return backward


@pytest.mark.parametrize("order, shape, words", [("T", (4, 4), "idx.T"), ("F", (2, 5), "idx.ravel(order='F')")])
def test_a_lookup_accumulated_with_its_index_in_the_other_order_is_named(order, shape, words):
    rng = _rng(13)
    idx = rng.integers(0, 9, size=shape)
    W = rng.standard_normal((9, 3))
    assert gradcheck.check_layer(_lookup, _lookup_backward(), [idx, W]).exit_code == 0
    result = gradcheck.check_layer(_lookup, _lookup_backward(order), [idx, W])
    g = result.gradients["W"]
    assert result.exit_code == 1
    assert g.cause == "lookup index", (g.cause, g.diagnosis)
    assert "read in the other order" in g.diagnosis and words in g.diagnosis


def test_a_lookup_at_the_wrong_rows_is_not_an_index_in_the_other_order():
    rng = _rng(14)
    idx = rng.integers(0, 8, size=(3, 3))
    result = gradcheck.check_layer(_lookup, _lookup_backward("shifted"), [idx, rng.standard_normal((8, 2))])
    g = result.gradients["W"]
    assert result.exit_code == 1
    assert g.cause != "lookup index", (g.cause, g.diagnosis)


def _bag(mean: bool):
    """Bags of rows: out[b] = sum (or mean) over the bag's positions of wts * W[idx]."""
    def forward(W, idx, wts):
        out = (W[idx] * wts[..., None]).sum(axis=1)
        return (out / idx.shape[1] if mean else out), (W.shape, idx, wts)
    return forward


def _bag_backward(mean: bool, slip: str = ""):
    def backward(dout, cache):
        shape, idx, wts = cache
        dW = np.zeros(shape)
        spread = np.broadcast_to(dout[:, None, :], idx.shape + dout.shape[1:]) / (idx.shape[1] if mean else 1)
        if slip == "no weights":
            np.add.at(dW, idx, spread)
        elif slip == "squared weights":
            np.add.at(dW, idx, spread * wts[..., None] ** 2)
        else:
            np.add.at(dW, idx, spread * wts[..., None])
        return dW
    return backward


@pytest.mark.parametrize("mean", [False, True])
def test_a_weighted_bag_accumulated_without_its_weights_is_named(mean):
    rng = _rng(15)
    idx, wts, W = rng.integers(0, 7, size=(4, 2)), np.abs(rng.standard_normal((4, 2))) + 0.3, rng.standard_normal((7, 5))
    inputs = {"W": W, "idx": idx, "wts": wts}
    assert gradcheck.check_layer(_bag(mean), _bag_backward(mean), inputs, data="wts").exit_code == 0
    result = gradcheck.check_layer(_bag(mean), _bag_backward(mean, "no weights"), inputs, data="wts")
    g = result.gradients["W"]
    assert result.exit_code == 1
    assert g.cause == "lookup index", (g.cause, g.diagnosis)
    assert "without the weights wts" in g.diagnosis


def test_a_weighted_bag_with_its_weights_squared_is_not_weights_forgotten():
    rng = _rng(16)
    idx, wts, W = rng.integers(0, 7, size=(4, 3)), np.abs(rng.standard_normal((4, 3))) + 0.3, rng.standard_normal((7, 2))
    result = gradcheck.check_layer(_bag(False), _bag_backward(False, "squared weights"),
                                   {"W": W, "idx": idx, "wts": wts}, data="wts")
    g = result.gradients["W"]
    assert result.exit_code == 1
    assert g.cause != "lookup index", (g.cause, g.diagnosis)


# ----- a max's mask over the wrong axes --------------------------------------------------------------
def _distinct(shape: tuple, seed: int) -> np.ndarray:
    rng = _rng(seed)
    return 0.2 * rng.permutation(int(np.prod(shape))).reshape(shape) + 0.01 * rng.standard_normal(shape)


def _global_max(axes: tuple[int, ...]):
    def forward(x):
        return x.max(axis=axes), x
    return forward


def _global_max_backward(axes: tuple[int, ...], argmax_axes: tuple[int, ...]):
    """dout put back along `axes`, at the maximum over `argmax_axes`."""
    def backward(dout, x):
        mask = x == x.max(axis=argmax_axes, keepdims=True)
        return np.expand_dims(dout, axes) * mask
    return backward


@pytest.mark.parametrize("shape, axes, wrong", [((2, 3, 4, 4), (2, 3), (1, 2, 3)), ((3, 5, 4), (1,), (1, 2)),
                                                ((2, 4, 3, 3), (2, 3), (1, 3))])
def test_a_global_max_whose_argmax_is_over_other_axes_is_a_mask_over_the_wrong_axes(shape, axes, wrong):
    x = _distinct(shape, 17)
    assert gradcheck.check_layer(_global_max(axes), _global_max_backward(axes, axes), [x]).exit_code == 0
    result = gradcheck.check_layer(_global_max(axes), _global_max_backward(axes, wrong), [x])
    g = result.gradients["x"]
    assert result.exit_code == 1
    assert g.cause == "mask", (g.cause, g.diagnosis)
    assert "over the wrong axes" in g.diagnosis and f"axis={wrong[0] if len(wrong) == 1 else wrong}" in g.diagnosis


def test_a_global_max_sending_dout_to_its_first_entry_is_not_a_mask_over_other_axes():
    x = _distinct((2, 3, 4, 4), 18)

    def backward(dout, x):
        dx = np.zeros_like(x)
        dx[:, :, 0, 0] = dout
        return dx
    result = gradcheck.check_layer(_global_max((2, 3)), backward, [x])
    g = result.gradients["x"]
    assert result.exit_code == 1
    assert "over the wrong axes" not in (g.diagnosis or ""), (g.cause, g.diagnosis)


def test_a_linear_classifiers_weight_gradient_with_the_slip_inside_its_product_is_named():
    """dW = X.T @ dscores with X of fewer rows than features: dscores is recovered (products.py) and the
    slip named on it."""
    rng = _rng(19)
    X, y = rng.standard_normal((4, 6)), np.array([2, 0, 2, 1])

    def loss(W, X, y):
        return _cross_entropy(X @ W, y)

    def grad(slip):
        return lambda W, X, y: X.T @ _cross_entropy_grad(slip)(X @ W, y)
    W = rng.standard_normal((6, 3))
    assert gradcheck.check_function(loss, grad(""), [W, X, y], wrt="W").exit_code == 0
    for slip, cause in (("columns", "label index"), ("no onehot", "correct class term")):
        result = gradcheck.check_function(loss, grad(slip), [W, X, y], wrt="W")
        g = result.gradients["W"]
        assert result.exit_code == 1
        assert g.cause == cause, (slip, g.cause, g.diagnosis)
        assert "inside the product with X" in g.diagnosis


def _pick(x, idx):
    return x[np.arange(len(idx)), idx], idx


def _pick_backward(slip: str = ""):
    def backward(dout, idx):
        dx = np.zeros((len(idx), PICK_COLUMNS))
        if slip == "columns":
            dx[:, idx] = dout
        elif slip == "added columns":
            np.add.at(dx, (slice(None), idx), dout)
        elif slip == "rows":
            dx[np.arange(len(idx)), idx] = dout[::-1]
        else:
            dx[np.arange(len(idx)), idx] = dout
        return dx
    return backward


PICK_COLUMNS = 5


@pytest.mark.parametrize("slip, words", [("columns", "dx[:, idx] = dout"), ("added columns", "np.add.at(dx")])
def test_a_pick_per_row_whose_backward_fills_whole_columns_is_named(slip, words):
    rng = _rng(20)
    x, idx = rng.standard_normal((6, PICK_COLUMNS)), np.array([1, 4, 1, 0, 3, 4])
    assert gradcheck.check_layer(_pick, _pick_backward(), [x, idx]).exit_code == 0
    result = gradcheck.check_layer(_pick, _pick_backward(slip), [x, idx])
    g = result.gradients["x"]
    assert result.exit_code == 1
    assert g.cause == "label index", (g.cause, g.diagnosis)
    assert words in g.diagnosis and "dx[np.arange(N), idx] = dout belongs" in g.diagnosis


def test_a_pick_per_row_with_its_douts_reversed_is_not_whole_columns():
    rng = _rng(21)
    x, idx = rng.standard_normal((6, PICK_COLUMNS)), np.array([1, 4, 1, 0, 3, 2])
    result = gradcheck.check_layer(_pick, _pick_backward("rows"), [x, idx])
    g = result.gradients["x"]
    assert result.exit_code == 1
    assert g.cause != "label index", (g.cause, g.diagnosis)


def _temporal_loss(x, y):
    n, t, v = x.shape
    return _cross_entropy(x.reshape(n * t, v), y.reshape(n * t)) * t


def _temporal_grad(slip: str = ""):
    """A sequence's softmax loss over (N, T, V) scores with (N, T) labels, summed over time, averaged over N."""
    def grad(x, y):
        n, t, v = x.shape
        flat = y.reshape(n * t)
        d = _softmax(x.reshape(n * t, v))
        if slip == "columns":
            d[:, flat] -= 1.0
        elif slip != "no onehot":
            d[np.arange(n * t), flat] -= 1.0
        return (d / n).reshape(n, t, v)
    return grad


@pytest.mark.parametrize("slip, cause", [("columns", "label index"), ("no onehot", "correct class term")])
def test_a_sequence_softmax_with_label_mistakes_is_named_on_its_leading_axes(slip, cause):
    rng = _rng(22)
    x, y = rng.standard_normal((2, 3, 6)), np.array([[1, 4, 4], [0, 5, 2]])
    assert gradcheck.check_function(_temporal_loss, _temporal_grad(), [x, y]).exit_code == 0
    result = gradcheck.check_function(_temporal_loss, _temporal_grad(slip), [x, y])
    g = result.gradients["x"]
    assert result.exit_code == 1
    assert g.cause == cause, (g.cause, g.diagnosis)


def test_cross_entropy_with_the_onehot_at_the_rows_labels_name_is_the_row_slip():
    result = _check_ce("rows", 6, 4, [0, 3, 3, 1, 2, 0], 23)
    g = result.gradients["s"]
    assert result.exit_code == 1
    assert g.cause == "label index", (g.cause, g.diagnosis)
    assert "ds[y] where" in g.diagnosis and "whole rows" in g.diagnosis
