"""Structured inputs and gradients (dicts, lists, tuples of arrays), data= and the one rule of what is
differentiated, gradients returned as dicts, and check_model on CS231n-style nets with typical bugs."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import PACKAGE_ROOT, messages, run_script

import gradcheck
from gradcheck import SpecError

sys.path.insert(0, str(Path(PACKAGE_ROOT) / "examples"))
import cs231n_layers as L  # noqa: E402
import cs231n_models as M  # noqa: E402

RNG = np.random.default_rng(26)


def randn(*shape):
    return RNG.standard_normal(shape)


def two_layer(params, X, y):
    """A loss over a dict of parameters, returning (loss, grads) with grads keyed like params."""
    hidden, affine1 = L.affine_forward(X, params["W1"], params["b1"])
    hidden, relu = L.relu_forward(hidden)
    scores, affine2 = L.affine_forward(hidden, params["W2"], params["b2"])
    loss, dscores = L.softmax_loss(scores, y)
    dhidden, dW2, db2 = L.affine_backward(dscores, affine2)
    _, dW1, db1 = L.affine_backward(L.relu_backward(dhidden, relu), affine1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def params_and_data():
    params = {"W1": 0.3 * randn(4, 6), "b1": 0.1 * randn(6), "W2": 0.3 * randn(6, 3), "b2": 0.1 * randn(3)}
    return params, randn(5, 4), np.array([0, 1, 2, 1, 0])


# ----- structured inputs -----------------------------------------------------------------------------------
def test_a_dict_of_parameters_is_differentiated_entry_by_entry_and_named_by_path():
    params, X, y = params_and_data()
    result = gradcheck.check_function(lambda params, X, y: two_layer(params, X, y)[0],
                                      lambda params, X, y: two_layer(params, X, y)[1], [params, X, y], data="X")
    assert result.status == "pass", str(result)
    assert list(result.gradients) == ['params["W1"]', 'params["b1"]', 'params["W2"]', 'params["b2"]']
    assert 'params["W1"] (4,6)' in str(result)


@pytest.mark.parametrize("wrt", ['params["W1"]', "params['W1']", "params[W1]", "params.W1", ['params["W1"]']])
def test_wrt_selects_by_path_in_any_of_pythons_spellings(wrt):
    params, X, y = params_and_data()
    result = gradcheck.check_function(lambda params, X, y: two_layer(params, X, y)[0],
                                      lambda params, X, y: two_layer(params, X, y)[1], [params, X, y], wrt=wrt)
    assert result.status == "pass" and list(result.gradients) == ['params["W1"]'], str(result)


def test_a_wrong_entry_of_a_structure_is_named_by_its_path():
    params, X, y = params_and_data()

    def grads(params, X, y):
        g = two_layer(params, X, y)[1]
        g["W2"] = g["W2"].copy()
        g["W2"][2, 1] += 0.5
        return g

    result = gradcheck.check_function(lambda params, X, y: two_layer(params, X, y)[0], grads, [params, X, y], data="X")
    assert result.status == "mismatch" and result.gradients['params["W2"]'].status == "mismatch"
    assert 'worst at params["W2"][2,1]' in result.verdict


def test_the_callers_structures_are_never_changed():
    params, X, y = params_and_data()
    before = copy.deepcopy(params)

    def scribbling(params, X, y):
        params["W1"][...] = 0
        return two_layer(params, X, y)[1]

    gradcheck.check_function(lambda params, X, y: two_layer(params, X, y)[0], scribbling, [params, X, y], data="X")
    assert all(np.array_equal(params[k], before[k]) for k in params)


def test_a_list_of_weights_and_a_list_of_gradients():
    Ws, x = [randn(5, 4), randn(4, 2)], randn(3, 5)

    def net(Ws, x):
        return np.tanh(x @ Ws[0]) @ Ws[1]

    def vjp(dout, Ws, x):
        h = np.tanh(x @ Ws[0])
        return [x.T @ ((dout @ Ws[1].T) * (1 - h ** 2)), h.T @ dout]

    result = gradcheck.check_vjp(net, vjp, [Ws, x], data="x")
    assert result.status == "pass" and list(result.gradients) == ["Ws[0]", "Ws[1]"], str(result)


def test_a_missing_key_is_a_claim_that_does_not_compute():
    params, X, y = params_and_data()

    def grads(params, X, y):
        g = two_layer(params, X, y)[1]
        g["w1"] = g.pop("W1")  # a typo in the key
        return g

    result = gradcheck.check_function(lambda params, X, y: two_layer(params, X, y)[0], grads, [params, X, y], data="X")
    g = result.gradients['params["W1"]']
    assert result.status == "mismatch" and g.status == "mismatch" and g.columns["claimed"] is None
    assert "no key 'W1'" in result.verdict and "'w1'" in result.verdict


# ----- gradients returned as dicts ---------------------------------------------------------------------
@pytest.mark.parametrize("keys", [("dx", "dw", "db"), ("x", "w", "b"), ("grad_x", "grad_w", "grad_b")])
def test_gradients_returned_as_a_dict_are_matched_to_their_inputs_by_name(keys):
    def backward(dout, cache):
        dx, dw, db = L.affine_backward(dout, cache)
        return dict(reversed(list(zip(keys, (dx, dw, db)))))  # in another order than the inputs

    result = gradcheck.check_layer(L.affine_forward, backward, [randn(3, 4), randn(4, 2), randn(2)])
    assert result.status == "pass", str(result)


# ----- what is differentiated: one rule --------------------------------------------------------------
def test_a_float_mask_is_data_when_named_so_and_the_error_says_how():
    x, mask = randn(4, 5), (RNG.random((4, 5)) < 0.5) / 0.5  # CS231n's inverted dropout mask: floats

    def f(x, mask):
        return x * mask

    def vjp(dout, x, mask):
        return dout * mask

    with pytest.raises(SpecError) as caught:
        gradcheck.check_vjp(f, vjp, [x, mask])
    words = str(caught.value)
    assert "2 inputs are differentiated (x, mask)" in words and "data='mask'" in words and "wrt='x'" in words
    assert "--data mask" in words
    assert gradcheck.check_vjp(f, vjp, [x, mask], data="mask").status == "pass"
    assert gradcheck.check_vjp(f, vjp, [x, mask], wrt="x").status == "pass"


def test_a_loss_whose_X_is_floats_proposes_data_for_it():
    params, X, y = params_and_data()
    with pytest.raises(SpecError, match=r"returned the gradients of params .* data='X'"):
        gradcheck.check_function(lambda params, X, y: two_layer(params, X, y)[0],
                                 lambda params, X, y: two_layer(params, X, y)[1], [params, X, y])


def test_python_numbers_and_integer_arrays_are_data_unless_chosen():
    seen = {}

    def loss(W, y, reg):
        seen["reg"] = type(reg)
        return L.softmax_loss(W, y)[0] + reg * np.sum(W * W)

    def grad(W, y, reg):
        return L.softmax_loss(W, y)[1] + 2 * reg * W

    result = gradcheck.check_function(loss, grad, [randn(3, 4), np.array([0, 3, 1]), 0.1])
    assert result.status == "pass" and list(result.gradients) == ["W"] and seen["reg"] is float


@pytest.mark.parametrize(("options", "words"), [
    ({"data": "q"}, "data names 'q', which is not an input"),
    ({"wrt": 'params["W9"]'}, "which is not in input params"),
    ({"wrt": "x", "data": "x"}, "named both to differentiate (wrt) and as data"),
    ({"data": "x,params"}, "nothing to differentiate"),
    ({"wrt": "params[", }, "cannot read"),
])
def test_wrong_names_in_wrt_and_data_are_refused_saying_why(options, words):
    params, x = {"W1": randn(2, 2)}, randn(2)
    with pytest.raises(SpecError, match=words.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        gradcheck.check_vjp(lambda x, params: x @ params["W1"], lambda dout, x, params: dout, [x, params], **options)


def test_tensors_with_numpy_are_converted_on_the_way_in_and_out():
    class Tensor:  # what needle's and PyTorch's tensors offer
        def __init__(self, array):
            self.array = np.asarray(array)

        def numpy(self):
            return self.array

    result = gradcheck.check_vjp(lambda x: Tensor(np.tanh(x)), lambda dout, x: Tensor(dout * (1 - np.tanh(x) ** 2)),
                                 [Tensor(randn(3, 2))])
    assert result.status == "pass", str(result)


def test_the_layer_command_takes_data(tmp_path):
    (tmp_path / "drop.py").write_text("def forward(x, mask):\n    return x * mask, mask\n"
                                      "def backward(dout, mask):\n    return dout * mask\n")
    at = ["--at", "x=randn(3,4)", "--at", "mask=[[2.0,0,2,0],[0,2,2,0],[2,2,0,0]]"]
    refused = run_script("layer", "drop.py:forward", "drop.py:backward", *at, cwd=tmp_path)
    assert refused.returncode == 2 and "--data mask" in messages(refused.stderr)[0], refused.stderr
    done = run_script("layer", "drop.py:forward", "drop.py:backward", *at, "--data", "mask", "--format", "json",
                      cwd=tmp_path)
    assert done.returncode == 0 and list(json.loads(done.stdout)["cases"][0]["gradients"]) == ["x"]


# ----- check_model ---------------------------------------------------------------------------------------
MODELS = {"two-layer": lambda **kw: M.TwoLayerNet(reg=0.1, **kw),
          "three-layer, batch norm, dropout": lambda **kw: M.FullyConnectedNet(hidden_dims=(7, 5), reg=0.1, **kw)}


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_a_right_cs231n_model_passes_without_glue_and_is_left_as_it_was(make):
    X, y = M.data()
    model = make()
    before = copy.deepcopy(model.params)
    result = gradcheck.check_model(model, X, y)
    assert result.status == "pass" and result.exit_code == 0, str(result)
    assert set(result.gradients) == {f'params["{k}"]' for k in model.params}
    assert all(g.numeric_mode == "full" for g in result.gradients.values())
    assert all(np.array_equal(model.params[k], before[k]) for k in before)


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_typical_bugs_in_a_cs231n_model_are_caught_on_their_rows(make):
    X, y = M.data()
    doubled = gradcheck.check_model(make(bug="reg x2"), X, y)
    wrong = {n for n, g in doubled.gradients.items() if g.status == "mismatch"}
    assert doubled.exit_code == 1 and wrong == {n for n in doubled.gradients if n.startswith('params["W')}, str(doubled)
    unscaled = gradcheck.check_model(make(bug="no 1/N"), X, y)
    last = max(k for k in unscaled.gradients if k.startswith('params["b'))  # a bias before batch norm has 0 gradient
    assert unscaled.exit_code == 1 and unscaled.gradients[last].status == "mismatch", str(unscaled)
    assert "10 times too large" in unscaled.gradients[last].diagnosis
    swapped = gradcheck.check_model(make(bug="wrong key"), X, y)
    assert swapped.exit_code == 1
    for key in ("W1", "b1"):
        g = swapped.gradients[f'params["{key}"]']
        assert g.status == "mismatch" and g.columns["claimed"] is None and "has shape" in g.notes["claimed"], str(swapped)


def test_a_model_without_a_seeded_dropout_is_refused_saying_so():
    X, y = M.data()
    model = M.FullyConnectedNet()
    model.dropout_param = {"p": 0.5, "seed": 0}  # the replacement below ignores it

    def unseeded(x, dropout_param):
        mask = (np.random.default_rng().random(x.shape) < dropout_param["p"]) / dropout_param["p"]
        return x * mask, mask

    original = M.dropout_forward
    M.dropout_forward = unseeded
    try:
        with pytest.raises(SpecError, match="not deterministic"):
            gradcheck.check_model(model, X, y)
    finally:
        M.dropout_forward = original


def test_a_large_model_is_checked_in_fast_mode_and_wrt_takes_its_keys():
    X, y = M.data(n=8, d=40)
    model = M.TwoLayerNet(input_dim=40, hidden_dim=30, reg=0.1)
    result = gradcheck.check_model(model, X, y)
    assert result.status == "pass" and result.gradients['params["W1"]'].numeric_mode == "fast", str(result)
    only = gradcheck.check_model(model, X, y, wrt="W2,b2")
    assert list(only.gradients) == ['params["W2"]', 'params["b2"]']


@pytest.mark.parametrize(("model", "words"), [
    (object(), "model.params"),
    (type("NoLoss", (), {"params": {"W": np.ones(2)}})(), "no loss"),
    (type("Single", (), {"params": {"W": np.ones(2)}, "loss": lambda self, X, y: 1.0})(), "must return (loss, grads)"),
])
def test_what_is_not_a_cs231n_model_is_refused_in_one_line(model, words):
    with pytest.raises(SpecError, match=words.replace("(", r"\(").replace(")", r"\)")):
        gradcheck.check_model(model, np.ones((2, 2)), np.zeros(2, dtype=int))
