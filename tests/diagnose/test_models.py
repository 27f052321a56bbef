"""check_model's diagnoses (gradcheck/checks/sub_batch.py, diagnose/model_terms.py, diagnose/products.py's
product output and term beside another input's product, hypotheses' softmax p left out).

A model's first-layer mistakes are on the hidden gradient g inside X.T @ g, which a batch of more rows
than features hides; the first rows of X alone recover it, and the model's own loss computes its claim
again there. Its regularisation strength is an attribute (model.reg), which the tests of terms read. The
models are this file's own: a regression net (squared error) with a sigmoid, tanh or relu hidden layer,
other shapes than the development sets'. Near misses keep the honest count: a right model, a mistake no
entry of the table describes (1 - a for 1 - a**2, noise on g), and a mistake that only the whole batch
shows (its rows beyond the first few, a check of len(y)).
"""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck
from gradcheck.checks.sub_batch import rows_recovering
from gradcheck.diagnose.model_terms import strengths_of

HONEST = {None, "count", "probe"}


def randn(seed, *shape):
    return np.random.default_rng([131, seed]).standard_normal(shape)


class Regressor:
    """affine - act - affine, mean squared error over the batch, plus strength * (|W1|^2 + |W2|^2)."""

    def __init__(self, act="sigmoid", bugs=(), reg=0.1, seed=1, sizes=(5, 7, 2), strength_name="reg", half=True):
        d, h, c = sizes
        self.params = {"W1": 0.8 * randn(seed, d, h), "b1": 0.3 * randn(seed + 1, h), "W2": 0.8 * randn(seed + 2, h, c),
                       "b2": 0.1 * randn(seed + 3, c)}
        setattr(self, strength_name, reg)
        self.strength_name, self.act, self.bugs, self.half = strength_name, act, set(bugs), half

    def loss(self, X, y):
        p, n = self.params, len(X)
        reg = getattr(self, self.strength_name)
        z1 = X @ p["W1"] + p["b1"]
        a1 = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}[self.act](z1)
        out = a1 @ p["W2"] + p["b2"]
        c = 0.5 if self.half else 1.0
        loss = 0.5 * np.sum((out - y) ** 2) / n + c * reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        dout = (out - y) / n
        wreg = 2 * c * reg
        dW2 = a1.T @ (dout * n if "W2 not averaged" in self.bugs else dout) + wreg * p["W2"]
        da1 = dout @ (p["W2"] if "W2 untransposed" in self.bugs else p["W2"].T)
        local = {"sigmoid": a1 * (1 - a1), "tanh": 1 - a1 ** 2, "relu": (z1 > 0).astype(float)}[self.act]
        if "activation for derivative" in self.bugs:
            local = a1
        if "1 - a" in self.bugs:
            local = 1 - a1
        if "no mask" in self.bugs:
            local = np.ones_like(z1)
        if "inverted mask" in self.bugs:
            local = (z1 <= 0).astype(float)
        if "late rows unmasked" in self.bugs:  # the mask missing on rows beyond the sixth only
            local = local.copy()
            local[6:] = 1.0
        if "unmasked for big batches" in self.bugs and len(y) > 6:
            local = np.ones_like(z1)
        dz1 = da1 * local
        if "noise" in self.bugs:
            dz1 = dz1 + 0.05 * randn(99, *dz1.shape)[:n]
        dW1 = X.T @ dz1 + (0.0 if "no W1 reg" in self.bugs else wreg) * p["W1"]
        grads = {"W1": dW1, "b1": dz1.sum(axis=0), "W2": dW2, "b2": dout.sum(axis=0)}
        if "b1 regularised" in self.bugs:
            grads["b1"] = grads["b1"] + reg * p["b1"]
        if "W2 halved" in self.bugs:
            grads["W2"] = 0.5 * grads["W2"]
        return loss, grads


def data(seed=7, rows=12, features=5, outputs=2):
    return randn(seed, rows, features), randn(seed + 1, rows, outputs)


def checked(model, rows=12):
    X, y = data(rows=rows, features=model.params["W1"].shape[0], outputs=model.params["W2"].shape[1])
    return gradcheck.check_model(model, X, y)


def diagnosis(result, name):
    g = result.gradients[name]
    assert result.exit_code == 1 and g.status == "mismatch", str(result)  # the verdict is the whole batch's
    return g


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "relu"])
def test_the_right_model_passes(act):
    assert checked(Regressor(act)).exit_code == 0


# ----- read off the first rows ----------------------------------------------------------------------
def test_a_sigmoid_written_for_its_derivative_is_read_off_the_first_rows():
    g = diagnosis(checked(Regressor("sigmoid", {"activation for derivative"})), 'params["W1"]')
    assert g.cause == "activation for its derivative", g.diagnosis
    assert g.diagnosis.startswith("read off the first 4 of the 12 rows of X and y"), g.diagnosis
    assert "inside the product with X" in g.diagnosis and "sigmoid" in g.diagnosis, g.diagnosis


def test_a_missing_relu_mask_is_read_off_the_first_rows_with_its_region():
    g = diagnosis(checked(Regressor("relu", {"no mask"})), 'params["W1"]')
    assert g.cause == "mask" and not g.causes, g.diagnosis
    assert 'X @ params["W1"] + params["b1"] <= 0' in g.diagnosis and "term 0.1·params[\"W1\"]" in g.diagnosis, \
        g.diagnosis


def test_an_inverted_mask_is_named_for_the_bias_through_the_weight_beside_its_term():
    """b1 = g′.sum(axis=0): g and g′ recovered from W1's truth and claim, each beside the term 0.1·W1."""
    g = diagnosis(checked(Regressor("relu", {"inverted mask"})), 'params["b1"]')
    assert g.cause == "mask", g.diagnosis
    assert "inverted (it keeps" in g.diagnosis and 'params["b1"] <= 0 where' in g.diagnosis, \
        g.diagnosis
    assert "inside the sum over rows" in g.diagnosis, g.diagnosis


def test_a_missing_mask_beside_a_missing_term_is_two_mistakes():
    g = diagnosis(checked(Regressor("relu", {"no mask", "no W1 reg"})), 'params["W1"]')
    assert set(g.causes) == {"mask", "regularisation"}, g.diagnosis
    assert "is none where" in g.diagnosis and 'gradient has 0.1·params["W1"]' in g.diagnosis, g.diagnosis


@pytest.mark.parametrize("act, local", [("tanh", "1 − tanh("), ("sigmoid", "σ(")])
def test_an_untransposed_square_w2_before_the_hidden_local_gradient_is_read_off_the_first_rows(act, local):
    """da1 = dout @ W2 for dout @ W2.T (H = C): g′ = ((g / a′(z1)) @ inv(W2.T) @ W2) * a′(z1), z1 offered
    as the product's own output."""
    g = diagnosis(checked(Regressor(act, {"W2 untransposed"}, sizes=(5, 3, 3))), 'params["W1"]')
    assert g.cause == "untransposed matrix", g.diagnosis
    assert 'params["W2"].T belongs' in g.diagnosis and local in g.diagnosis, g.diagnosis


def test_rows_are_read_only_where_the_batch_hides_g():
    X = randn(1, 12, 5)
    assert rows_recovering(X, randn(2, 12, 2)) == 4
    assert rows_recovering(X[:4], None) is None  # fewer rows than features: the batch itself recovers g
    assert rows_recovering(X, randn(2, 10)) is None  # y has another batch
    assert rows_recovering(randn(3, 12, 1), None) is None  # one feature: no row to keep
    assert rows_recovering(np.zeros((12, 5)), None) is None  # no full rank


# ----- near misses: honest ---------------------------------------------------------------------------
@pytest.mark.parametrize("bugs", [{"1 - a"}, {"noise"}, {"W2 untransposed", "noise"}],
                         ids=["1 - a for 1 - a**2", "noise on g", "W2 untransposed, noise on g"])
def test_a_mistake_on_g_no_entry_describes_keeps_the_count(bugs):
    sizes = (5, 3, 3) if "W2 untransposed" in bugs else (5, 7, 2)
    g = diagnosis(checked(Regressor("tanh", bugs, sizes=sizes)), 'params["W1"]')
    assert g.cause in HONEST, g.diagnosis


@pytest.mark.parametrize("bug", ["late rows unmasked", "unmasked for big batches"])
def test_a_mistake_only_the_whole_batch_shows_keeps_the_count(bug):
    """On the first 4 rows the claim is right: those rows say nothing of the batch's mistake."""
    result = checked(Regressor("relu", {bug}))
    g = diagnosis(result, 'params["W1"]')
    assert g.cause in HONEST and not g.diagnosis.startswith("read off"), g.diagnosis


# ----- the model's regularisation strength -----------------------------------------------------------
def test_the_strength_is_read_off_the_model_by_its_name():
    assert strengths_of(Regressor(strength_name="weight_decay", reg=0.3)).values == (("model.weight_decay", 0.3),)
    assert strengths_of(Regressor(reg=0)).values == ()  # no term to name
    assert strengths_of(object()).values == ()


def test_a_regularised_bias_is_named_with_the_strength_on_few_entries():
    """b1's 7 entries, one claim: the term 0.3·b1 is the model's strength, no fitted number."""
    model = Regressor("tanh", {"b1 regularised"}, reg=0.3, strength_name="weight_decay", sizes=(5, 3, 2))
    g = diagnosis(checked(model), 'params["b1"]')
    assert g.cause == "regularisation", g.diagnosis
    assert 'one model.weight_decay·params["b1"]' in g.diagnosis, g.diagnosis


def test_a_data_term_not_averaged_beside_the_right_term_is_named():
    g = diagnosis(checked(Regressor("tanh", {"W2 not averaged"})), 'params["W2"]')
    assert g.cause == "data term factor", g.diagnosis
    assert 'model.reg·params["W2"]' in g.diagnosis and "N = 12" in g.diagnosis, g.diagnosis


def test_a_strength_is_no_factor_of_the_forward():
    """W2 half its truth where reg = 0.5: half, not '1/model.reg'."""
    g = diagnosis(checked(Regressor("tanh", {"W2 halved"}, reg=0.5)), 'params["W2"]')
    assert g.cause == "twice or half", g.diagnosis


# ----- a softmax's p left out ------------------------------------------------------------------------
def _cross_entropy(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return -np.log(p[np.arange(len(labels)), labels]).sum(), p


@pytest.mark.parametrize("extra, named", [("p left out", "mean path"), ("a term in the logits", "regularisation"),
                                          ("p over the batch", None)])
def test_a_softmax_p_left_out_of_a_summed_cross_entropy(extra, named):
    labels = np.array([4, 0, 2])
    logits = randn(5, 3, 5)

    def grad(logits, labels):
        p = _cross_entropy(logits, labels)[1]
        onehot = np.eye(5)[labels]
        if extra == "p left out":
            return -onehot
        if extra == "a term in the logits":
            return p - onehot + 0.3 * logits
        z = np.exp(logits - logits.max(axis=0))
        return p - onehot + 0.5 * z / z.sum(axis=0)  # a softmax over the other axis: no p of this loss
    result = gradcheck.check_function(lambda logits, labels: _cross_entropy(logits, labels)[0], grad, [logits, labels])
    g = diagnosis(result, "logits")
    if named is None:
        assert g.cause in HONEST, g.diagnosis
    else:
        assert g.cause == named, g.diagnosis
    if named == "mean path":
        assert "softmax(logits) along axis 1" in g.diagnosis and "p is left out" in g.diagnosis, g.diagnosis


# ----- a classifier's terms read off its sums over the classes ---------------------------------------
def _classifier(bug, closed_reg=0.05):
    """A softmax classifier on 10 rows, 5 features and 4 classes, reg·Σ W² closed over: no number of the call
    names the term, but the data term's gradient sums to 0 over the classes, so each term is read there."""
    X, labels = randn(50, 10, 5), np.array([0, 3, 1, 2, 2, 0, 1, 3, 3, 0])

    def loss(W):
        p = _softmax(X @ W)
        return -np.log(p[np.arange(10), labels]).mean() + closed_reg * np.sum(W * W)

    def grad(W):
        d = _softmax(X @ W)
        d[np.arange(10), labels] -= 1
        data = X.T @ d if bug in ("summed", "summed and no reg") else X.T @ d / 10
        if bug == "squared":
            data = X.T @ (d * np.abs(d)) / 10
        return data + (0.0 if bug == "summed and no reg" else 2 * closed_reg * W)
    return gradcheck.check_function(loss, grad, [randn(51, 5, 4)])


def _softmax(s):
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("bug, causes", [("summed", ("data term factor",)),
                                         ("summed and no reg", ("regularisation", "data term factor")),
                                         ("squared", ())])
def test_a_classifier_s_data_term_factor_is_read_off_its_sums(bug, causes):
    g = diagnosis(_classifier(bug), "W")
    if not causes:  # a mistake of another shape that also sums to 0 over the classes: no term read
        assert g.cause in HONEST, g.diagnosis
        return
    assert g.cause == causes[0] and (g.causes or (g.cause,)) == causes, g.diagnosis
    assert "10 times the true one" in g.diagnosis and "sums over axis 1" in g.diagnosis, g.diagnosis
    assert ("term is none where" in g.diagnosis and "has 0.1·W" in g.diagnosis) == (len(causes) == 2), g.diagnosis
