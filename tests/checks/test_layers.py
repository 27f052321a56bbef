"""check_vjp / check_layer / check_function on real numpy layers: the shipped examples pass, typical bugs
fail with a diagnosis, float32 and kinks are judged right, and broken contracts are reported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import PACKAGE_ROOT, messages, run_script

import gradcheck
from gradcheck import FunctionError, SpecError

ROOT = Path(PACKAGE_ROOT)
sys.path.insert(0, str(ROOT / "examples"))
import cs231n_layers as L  # noqa: E402
import needle_ops as N  # noqa: E402

RNG = np.random.default_rng(11)


def randn(*shape):
    return RNG.standard_normal(shape)


@pytest.mark.parametrize("example", ["cs231n_layers.py", "needle_ops.py"])
def test_the_shipped_layer_examples_pass(example):
    done = subprocess.run([sys.executable, str(ROOT / "examples" / example)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) >= 15 and all(": pass — " in line for line in lines), done.stdout


def test_every_cs231n_layer_and_needle_op_passes_in_process():
    for name, result in [*L.checks(np.random.default_rng(5)), *N.checks(np.random.default_rng(5))]:
        assert result.status == "pass", (name, str(result))


# ----- typical bugs, each caught with a diagnosis ----------------------------------------------------
def diagnosis(result, name):
    assert result.status == "mismatch" and result.exit_code == 1, str(result)
    g = result.gradients[name]
    assert g.status == "mismatch" and g.diagnosis, str(result)
    return g.diagnosis


def test_a_missing_transpose():
    def backward(dout, cache):
        dx, _, db = L.affine_backward(dout, cache)
        x = cache[0].reshape(len(cache[0]), -1)
        return dx, dout.T @ x, db  # (M, D) where w is (D, M)

    result = gradcheck.check_layer(L.affine_forward, backward, [randn(4, 3, 2), randn(6, 5), randn(5)])
    assert "transpose" in diagnosis(result, "w") and result.gradients["x"].status == "pass"
    square = gradcheck.check_layer(L.affine_forward, backward, [randn(4, 5), randn(5, 5), randn(5)])
    assert "transpose" in diagnosis(square, "w")


def test_a_missing_relu_mask_names_the_fraction_and_entries():
    result = gradcheck.check_layer(L.relu_forward, lambda dout, cache: dout, [randn(4, 5)])
    words = diagnosis(result, "x")
    assert result.gradients["x"].cause == "mask"
    assert "mask is missing" in words and "%" in words and "where x <= 0" in words


def test_batchnorm_with_mean_and_variance_as_constants():
    def backward(dout, cache):
        _, gamma, std = cache
        _, dgamma, dbeta = L.batchnorm_backward(dout, cache)
        return dout * gamma / std, dgamma, dbeta

    result = gradcheck.check_layer(L.batchnorm_forward, backward, [randn(6, 4) + 1, randn(4), randn(4), {}])
    assert "sums to 0 over axis 0" in diagnosis(result, "x") and "mean" in diagnosis(result, "x")
    assert result.gradients["gamma"].status == "pass"


def test_max_pool_backward_written_as_average_pooling():
    def average(dout, cache):
        x, _ = cache
        dx = np.zeros_like(x)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                dx[:, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2] += dout[:, :, i:i + 1, j:j + 1] / 4
        return dx

    result = gradcheck.check_layer(L.max_pool_forward_naive, average,
                                   [randn(2, 2, 4, 4), {"pool_height": 2, "pool_width": 2, "stride": 2}])
    words = diagnosis(result, "x")
    assert "not 0 where the true gradient is 0" in words and "75%" in words


def test_conv_stride_forgotten_in_backward():
    def backward(dout, cache):
        x, w, b, conv_param = cache
        return L.conv_backward_naive(dout, (x, w, b, {**conv_param, "stride": 1}))

    result = gradcheck.check_layer(L.conv_forward_naive, backward,
                                   [randn(2, 2, 5, 5), randn(2, 2, 3, 3), randn(2), {"stride": 2, "pad": 1}])
    assert result.status == "mismatch"
    assert "worst at x[" in result.gradients["x"].verdict and "worst at w[" in result.gradients["w"].verdict
    # the padded windows read from the shapes and the kernel: each window's dx added at stride 1
    assert result.gradients["x"].cause == "window stride"
    assert "added at stride 1" in diagnosis(result, "x") and "padding 1" in diagnosis(result, "x")


def test_repeated_indices_not_accumulated():
    def backward(dout, cache):
        x, shape = cache
        dW = np.zeros(shape)
        dW[x] += dout  # one of the repeated rows' gradients is kept
        return dW

    words = np.array([[0, 3, 1], [3, 2, 0]])
    result = gradcheck.check_layer(L.word_embedding_forward, backward, [words, randn(5, 4)])
    text = diagnosis(result, "W")
    assert "repeated indices are not accumulated" in text and "0, 3" in text and "np.add.at" in text


def test_dropout_without_one_over_p():
    def backward(dout, cache):
        return dout * (cache > 0)  # the mask without its 1/p

    result = gradcheck.check_layer(L.dropout_forward, backward, [randn(5, 6), {"p": 0.6, "seed": 1}])
    assert "1/dropout_param['p']" in diagnosis(result, "x")


def test_a_batch_axis_not_summed_for_a_broadcast_bias():
    def backward(dout, cache):
        dx, dw, _ = L.affine_backward(dout, cache)
        return dx, dw, dout

    result = gradcheck.check_layer(L.affine_forward, backward, [randn(4, 3), randn(3, 2), randn(2)])
    assert "batch axis is not summed" in diagnosis(result, "b") and "(4,2)" in diagnosis(result, "b")


def test_a_bias_gradient_that_keeps_one_row_or_averages_the_batch():
    def last_row(dout, cache):
        dx, dw, db = L.affine_backward(dout, cache)
        for row in dout:
            db = row  # = where += belongs
        return dx, dw, db

    def averaged(dout, cache):
        dx, dw, _ = L.affine_backward(dout, cache)
        return dx, dw, dout.mean(axis=0)

    inputs = [randn(4, 3), randn(3, 2), randn(2)]
    assert "row 3 of the batch alone" in diagnosis(gradcheck.check_layer(L.affine_forward, last_row, inputs), "b")
    assert "4 times too small" in diagnosis(gradcheck.check_layer(L.affine_forward, averaged, inputs), "b")


def test_lstm_missing_the_path_through_next_h():
    def backward(dnext_h, dnext_c, cache):
        return L.lstm_step_backward(np.zeros_like(dnext_h), dnext_c + 0 * dnext_h, cache)

    def partial(dnext_h, dnext_c, cache):  # next_h's direct path (o) kept, its path into next_c dropped
        x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
        dc = dnext_c
        da = np.hstack([dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * np.tanh(next_c) * o * (1 - o),
                        dc * i * (1 - g ** 2)])
        return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)

    inputs = [randn(2, 3), randn(2, 2), randn(2, 2), 0.5 * randn(3, 8), 0.5 * randn(2, 8), randn(8)]
    for wrong in (backward, partial):
        result = gradcheck.check_layer(L.lstm_step_forward, wrong, inputs)
        words = diagnosis(result, "prev_c")
        assert words.index("right when only output 2") < words.index("wrong when only output 1"), words


def test_a_constant_factor_is_named():
    result = gradcheck.check_layer(L.relu_forward, lambda dout, x: -dout * (x > 0), [randn(3, 4)])
    assert "wrong sign" in diagnosis(result, "x")
    half = gradcheck.check_vjp(lambda x: x ** 2, lambda dout, x: dout * x, [randn(3, 4)])
    assert "half" in diagnosis(half, "x")


# ----- precision and kinks ------------------------------------------------------------------------------
def test_a_correct_float32_layer_passes_and_a_wrong_one_fails():
    inputs = [randn(4, 3, 5).astype(np.float32), randn(15, 6).astype(np.float32), randn(6).astype(np.float32)]
    right = gradcheck.check_layer(L.affine_forward, L.affine_backward, inputs)
    assert right.status == "pass", str(right)
    assert right.dtype == "float32" and "precision assumed: float32" in str(right)
    conv = gradcheck.check_layer(L.conv_forward_naive, L.conv_backward_naive,
                                 [randn(2, 3, 5, 5).astype(np.float32), randn(2, 3, 3, 3).astype(np.float32),
                                  randn(2).astype(np.float32), {"stride": 2, "pad": 1}])
    assert conv.status == "pass", str(conv)

    def wrong(dout, cache):
        dx, dw, db = L.affine_backward(dout, cache)
        return dx, dw * np.float32(1.01), db  # 1% off

    assert gradcheck.check_layer(L.affine_forward, wrong, inputs).gradients["w"].status == "mismatch"


def test_a_float64_input_to_a_float32_computation_is_judged_in_float32():
    def f(x):
        return np.tanh(x.astype(np.float32)) * np.float32(3)

    def vjp(dout, x):
        return (dout * 3 * (1 - np.tanh(x.astype(np.float32)) ** 2)).astype(np.float64)

    result = gradcheck.check_vjp(f, vjp, [randn(4, 4)])
    assert result.status == "pass" and result.dtype == "float32", str(result)


@pytest.mark.parametrize("seed", range(4))
def test_float16_is_supported(seed):
    x = np.random.default_rng(seed).standard_normal((3, 4)).astype(np.float16)
    result = gradcheck.check_vjp(lambda x: x * x, lambda dout, x: 2 * dout * x, [x])
    assert result.status == "pass" and result.dtype == "float16", str(result)
    half = gradcheck.check_vjp(lambda x: x * x, lambda dout, x: dout * x, [x])
    assert half.status == "mismatch", str(half)  # seed 0 passed while float16's error estimate counted every output


def test_relu_at_exactly_zero_and_a_max_pool_tie_are_kinks():
    x = randn(3, 4)
    x[1, 2] = 0.0
    relu = gradcheck.check_layer(L.relu_forward, L.relu_backward, [x])
    assert relu.status == "kink" and relu.exit_code == 0, str(relu)
    assert [k[0] for k in relu.gradients["x"].kinks] == [[1, 2]]
    assert "kink" in relu.gradients["x"].verdict
    pool = randn(1, 1, 2, 2)
    pool[0, 0, 0, 1] = pool[0, 0, 1, 0] = np.max(pool) + 1  # two maxima in the one window
    tied = gradcheck.check_layer(L.max_pool_forward_naive, L.max_pool_backward_naive,
                                 [pool, {"pool_height": 2, "pool_width": 2, "stride": 2}])
    assert tied.status == "kink", str(tied)
    assert sorted(k[0] for k in tied.gradients["x"].kinks) == [[0, 0, 0, 1], [0, 0, 1, 0]]
    clip = gradcheck.check_vjp(lambda x: np.clip(x, -1, 1), lambda dout, x: dout * (np.abs(x) < 1),
                               [np.array([0.3, 1.0, -2.0])])
    assert clip.status == "kink" and [k[0] for k in clip.gradients["x"].kinks] == [[1]]


def test_a_relu_mask_wrong_at_the_kink_itself_is_still_a_mismatch():
    x = np.array([[0.0, 1.0], [-1.0, 2.0]])
    result = gradcheck.check_layer(L.relu_forward, lambda dout, x: dout * (x > 0) + 5 * dout * (x == 0), [x])
    assert result.status == "mismatch" and "outside the one-sided derivatives" in result.verdict


# ----- contracts ----------------------------------------------------------------------------------------
def test_a_backward_that_writes_into_dout_has_right_gradients_and_a_broken_contract():
    def backward(dout, x):
        dout[x <= 0] = 0  # the classic in-place shortcut
        return dout

    result = gradcheck.check_layer(L.relu_forward, backward, [randn(3, 4)])
    assert result.status == "contract" and result.exit_code == 5, str(result)
    assert result.verdict.startswith("gradient right; backward writes into its argument dout")
    assert result.gradients["x"].status == "pass"
    allowed = gradcheck.check_layer(L.relu_forward, backward, [randn(3, 4)], allow_writes=True)
    assert allowed.status == "pass" and allowed.exit_code == 0
    assert any("writes into its argument dout" in note and note.endswith("(allowed: allow_writes)")
               for note in allowed.notes)


def test_an_lstm_backward_that_adds_into_dnext_c_is_named_by_its_own_parameter():
    def lstm_step_backward(dnext_h, dnext_c, cache):
        x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
        dnext_c += dnext_h * o * (1 - np.tanh(next_c) ** 2)  # the student's in-place sum of both paths
        da = np.hstack([dnext_c * g * i * (1 - i), dnext_c * prev_c * f * (1 - f),
                        dnext_h * np.tanh(next_c) * o * (1 - o), dnext_c * i * (1 - g ** 2)])
        return da @ Wx.T, da @ Wh.T, dnext_c * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)

    inputs = [randn(3, 4), randn(3, 5), randn(3, 5), randn(4, 20), randn(5, 20), randn(20)]
    result = gradcheck.check_layer(L.lstm_step_forward, lstm_step_backward, inputs)
    assert result.status == "contract" and result.exit_code == 5, str(result)
    assert all(g.status == "pass" for g in result.gradients.values())
    assert "writes into its argument dnext_c" in result.verdict and "dout2" not in result.verdict


def test_a_wrong_gradient_that_also_writes_into_dout_stays_a_mismatch():
    def backward(dout, x):
        dout *= 2
        return dout

    result = gradcheck.check_layer(L.relu_forward, backward, [randn(3, 4)])
    assert result.status == "mismatch" and result.exit_code == 1
    assert "writes into its argument dout" in result.verdict


def test_a_backward_that_writes_to_the_cache_and_an_f_that_writes_to_its_input_are_reported():
    def backward(dout, cache):
        dx, dw, db = L.affine_backward(dout, cache)
        cache[1][...] = 0
        return dx, dw, db

    result = gradcheck.check_layer(L.affine_forward, backward, [randn(2, 3), randn(3, 2), randn(2)])
    assert result.status == "contract" and "writes into" in result.verdict and "cache (the cache)" in result.verdict

    def scribbling(x):
        y = x * 2
        x[...] = 0
        return y

    result = gradcheck.check_vjp(scribbling, lambda dout, x: 2 * dout, [randn(3)])
    assert result.status == "contract" and "f writes into its input x" in result.verdict


def test_a_keepdims_gradient_has_right_values_in_the_wrong_shape():
    def backward(dout, cache):
        dx, dgamma, dbeta = L.batchnorm_backward(dout, cache)
        return dx, dgamma[None, :], dbeta.reshape(1, -1)  # keepdims=True in the sums

    result = gradcheck.check_layer(L.batchnorm_forward, backward, [randn(6, 4) + 1, randn(4), randn(4), {}])
    assert result.status == "contract" and result.exit_code == 5, str(result)
    assert all(g.status == "pass" and g.diagnosis is None for g in result.gradients.values())
    assert all(words in result.verdict for words in ("gradient for gamma has shape (1,4)", "(4,)")), result.verdict
    assert "batch axis" not in str(result)

    def wrong(dout, cache):
        dx, dgamma, dbeta = L.batchnorm_backward(dout, cache)
        return dx, 2 * dgamma[None, :], dbeta

    doubled = gradcheck.check_layer(L.batchnorm_forward, wrong, [randn(6, 4) + 1, randn(4), randn(4), {}])
    assert doubled.status == "mismatch" and doubled.gradients["gamma"].status == "mismatch"
    assert "twice" in doubled.gradients["gamma"].diagnosis and "shape (1,4)" in doubled.verdict


def test_a_backward_not_linear_in_dout_is_reported():
    w = randn(3, 2)

    def backward(dout, cache):
        dx, dw, db = L.affine_backward(dout, cache)
        return dx, dw + 0.0 * w, db + 1e-3  # a stray term that does not depend on dout

    only_x_w = gradcheck.check_layer(L.affine_forward, backward, [randn(2, 3), w, randn(2)], wrt=["x", "w"])
    assert only_x_w.status == "pass" and list(only_x_w.gradients) == ["x", "w"]  # the stray term is in db
    wrong_b = gradcheck.check_layer(L.affine_forward, backward, [randn(2, 3), w, randn(2)])
    assert "dout = 0 gives a gradient that is not 0" in wrong_b.verdict


def test_a_nondeterministic_backward_is_reported_unless_tolerated():
    noise = np.random.default_rng(0)

    def vjp(dout, x):
        return 2 * dout * x * (1 + 1e-12 * noise.standard_normal(x.shape))

    result = gradcheck.check_vjp(lambda x: x ** 2, vjp, [randn(3, 3)])
    assert "not deterministic" in result.verdict
    assert gradcheck.check_vjp(lambda x: x ** 2, vjp, [randn(3, 3)], nondeterminism=1e-9).status == "pass"


def test_a_gradient_of_the_wrong_dtype_is_reported():
    x = randn(3).astype(np.float32)
    result = gradcheck.check_vjp(lambda x: 2 * x, lambda dout, x: (2 * dout).astype(np.float64), [x])
    assert result.status == "contract" and "is float64, but x is float32" in result.verdict


# ----- inputs -------------------------------------------------------------------------------------------
def test_integer_labels_and_dicts_are_passed_through_untouched():
    seen = []

    def loss(x, y, options):
        seen.append((y.dtype, type(options)))
        return L.softmax_loss(x, y)[0] * options["scale"]

    y = np.array([0, 2, 1])
    result = gradcheck.check_function(loss, lambda x, y, options: L.softmax_loss(x, y)[1] * options["scale"],
                                      [randn(3, 3), y, {"scale": 2.0}])
    assert result.status == "pass" and list(result.gradients) == ["x"]
    assert all(dtype == y.dtype and kind is dict for dtype, kind in seen)


def test_wrt_by_name_and_index_and_mapping_inputs():
    inputs = {"x": randn(2, 3), "w": randn(3, 2), "b": randn(2)}
    by_name = gradcheck.check_layer(L.affine_forward, L.affine_backward, inputs, wrt="w")
    assert list(by_name.gradients) == ["w"] and by_name.status == "pass"
    by_index = gradcheck.check_layer(L.affine_forward, L.affine_backward, list(inputs.values()), wrt=[0, 2])
    assert list(by_index.gradients) == ["x", "b"] and by_index.status == "pass"
    with pytest.raises(SpecError, match="wrt names 'z'"):
        gradcheck.check_layer(L.affine_forward, L.affine_backward, inputs, wrt="z")
    with pytest.raises(SpecError, match="booleans are masks, data"):
        gradcheck.check_layer(lambda x, m: (x * m, m), lambda dout, m: dout * m, [randn(2), np.array([True, False])],
                              wrt=1)
    # an integer array wrt names is made float64 and differentiated, as an expression's --wrt does
    whole = gradcheck.check_vjp(lambda x: x ** 2, lambda dout, x: 2 * x * dout, [np.array([1, 2, 3])], wrt="x")
    assert whole.status == "pass" and whole.gradients["x"].shape == (3,)


def test_fast_mode_on_a_large_layer():
    inputs = [randn(20, 60), randn(60, 30), randn(30)]
    result = gradcheck.check_layer(L.affine_forward, L.affine_backward, inputs)
    assert result.status == "pass" and result.gradients["w"].numeric_mode == "fast"

    def wrong(dout, cache):
        dx, dw, db = L.affine_backward(dout, cache)
        return dx, dw * 1.001, -db

    caught = gradcheck.check_layer(L.affine_forward, wrong, inputs)
    assert caught.gradients["w"].status == "mismatch"
    assert "wrong sign" in caught.gradients["b"].diagnosis  # b is small enough to diagnose entry by entry


# ----- issue 10 item 11: what f returns -----------------------------------------------------------------
def layer_of(f):
    return lambda x: (f(x), None)


@pytest.mark.parametrize("api", ["function", "vjp", "layer"])
def test_nan_none_huge_and_complex_outputs(api):
    def run(f, grad=lambda *a: np.ones(2)):
        x = np.ones(2)
        if api == "function":
            return gradcheck.check_function(f, grad, [x])
        if api == "vjp":
            return gradcheck.check_vjp(f, lambda dout, x: grad(x), [x])
        return gradcheck.check_layer(layer_of(f), lambda dout, cache: grad(None), [x])

    nan = run(lambda x: float("nan"))
    assert nan.status == "mismatch" and "not finite" in nan.verdict and "not finite" in str(nan)
    huge = run(lambda x: 10**400)
    assert huge.status == "mismatch" and "too large for a float" in str(huge)
    with pytest.raises(SpecError, match="returned None"):
        run(lambda x: None)
    with pytest.raises(SpecError, match="complex"):
        run(lambda x: complex(1, 1) * float(x.sum()))
    complex_grad = run(lambda x: float(np.sum(x)), lambda *a: np.ones(2) * (1 + 1j))
    assert complex_grad.status == "mismatch" and "complex" in complex_grad.gradients["x"].verdict


def test_errors_in_the_users_functions_are_typed():
    with pytest.raises(FunctionError, match="backward raised KeyError"):
        gradcheck.check_layer(L.relu_forward, lambda dout, cache: {}["k"], [randn(2)])
    with pytest.raises(SpecError, match=r"forward must return \(out, cache\)"):
        gradcheck.check_layer(lambda x: x, lambda dout, cache: dout, [randn(2)])
    with pytest.raises(SpecError, match="3 gradients, but 2 inputs"):
        gradcheck.check_vjp(lambda x, y: x * y, lambda d, x, y: (d, d, d), [randn(2), randn(2)])


# ----- the command line and the pytest fixture -----------------------------------------------------------
LAYERS_FILE = '''
import numpy as np

def affine_forward(x, w, b):
    return x.reshape(len(x), -1) @ w + b, (x, w, b)

def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(len(x), -1).T @ dout, dout.sum(0)

def no_sum_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(len(x), -1).T @ dout, dout

def embed_forward(idx, W, options):
    assert idx.dtype.kind == "i" and options == {"scale": 2}
    return W[idx] * options["scale"], (idx, W.shape, options["scale"])

def embed_backward(dout, cache):
    idx, shape, scale = cache
    dW = np.zeros(shape)
    np.add.at(dW, idx, dout * scale)
    return dW

def square(x):
    return x * x

def square_vjp(dout, x):
    return 2 * dout * x
'''


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_script(*args, cwd=cwd)


def test_gradcheck_layer_and_vjp_commands(tmp_path):
    (tmp_path / "mylayers.py").write_text(LAYERS_FILE)
    at = ["--at", "x=randn(4,3,5)", "--at", "w=randn(15,2)", "--at", "b=randn(2)"]
    right = run_cli("layer", "mylayers.py:affine_forward", "mylayers.py:affine_backward", *at, cwd=tmp_path)
    assert right.returncode == 0 and "✓ all 3 gradients agree" in right.stdout, right.stdout + right.stderr
    wrong = run_cli("layer", "mylayers.py:affine_forward", "mylayers.py:no_sum_backward", *at, cwd=tmp_path)
    assert wrong.returncode == 1 and "batch axis is not summed" in wrong.stdout
    data = run_cli("layer", "mylayers.py:embed_forward", "mylayers.py:embed_backward", "--at",
                   "idx=randint(0,4,(3,2))", "--at", "W=randn(4,3)", "--at", 'options={"scale": 2}', cwd=tmp_path)
    assert data.returncode == 0, data.stdout + data.stderr
    vjp = run_cli("vjp", "mylayers.py:square", "mylayers.py:square_vjp", "--at", "x=randn(3)", "--format", "json",
                  cwd=tmp_path)
    import json

    assert vjp.returncode == 0 and json.loads(vjp.stdout)["cases"][0]["status"] == "pass"


LSTM_FILE = """
import numpy as np

def sigmoid(x):
    return 1 / (1 + np.exp(-x))

def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    h = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o, g = sigmoid(a[:, :h]), sigmoid(a[:, h:2 * h]), sigmoid(a[:, 2 * h:3 * h]), np.tanh(a[:, 3 * h:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)

def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    dnext_c += dnext_h * o * (1 - np.tanh(next_c) ** 2)   # in place: the caller's dnext_c changes
    da = np.hstack([dnext_c * g * i * (1 - i), dnext_c * prev_c * f * (1 - f),
                    dnext_h * np.tanh(next_c) * o * (1 - o), dnext_c * i * (1 - g ** 2)])
    return da @ Wx.T, da @ Wh.T, dnext_c * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)
"""


def test_a_broken_contract_exits_5_from_the_command_line_and_allow_writes_allows_it(tmp_path):
    (tmp_path / "lstm.py").write_text(LSTM_FILE)
    args = ["layer", "lstm.py:lstm_step_forward", "lstm.py:lstm_step_backward", "--at", "x=randn(3,4)",
            "--at", "prev_h=randn(3,5)", "--at", "prev_c=randn(3,5)", "--at", "Wx=randn(4,20)",
            "--at", "Wh=randn(5,20)", "--at", "b=randn(20)"]
    broken = run_cli(*args, cwd=tmp_path)
    assert broken.returncode == 5, broken.stdout + broken.stderr
    shown = " ".join(broken.stdout.split())
    assert "gradients right;" in shown and "writes into its argument dnext_c" in shown, shown
    allowed = run_cli(*args, "--allow-writes", "--format", "json", cwd=tmp_path)
    import json

    assert allowed.returncode == 0 and json.loads(allowed.stdout)["cases"][0]["status"] == "pass"


@pytest.mark.parametrize(("args", "words"), [
    (["layer", "mylayers.py:nope", "mylayers.py:affine_backward", "--at", "x=randn(2)"], "no function 'nope'"),
    (["layer", "missing.py:f", "missing.py:g", "--at", "x=randn(2)"], "no such file missing.py"),
    (["layer", "broken.py:f", "broken.py:g", "--at", "x=randn(2)"], "importing broken.py raised NameError"),
    (["layer", "mylayers.py:affine_forward", "mylayers.py:affine_backward", "--at", "x=randn(2,2)"],
     "the --at values do not fit"),
    (["vjp", "mylayers.py:square", "mylayers.py:square_vjp", "--at", "x={{{"], "x"),
    (["vjp", "mylayers.py", "mylayers.py:square_vjp", "--at", "x=randn(2)"], "FILE.py:NAME"),
])
def test_bad_modules_names_and_values_are_exit_2_in_one_line(tmp_path, args, words):
    (tmp_path / "mylayers.py").write_text(LAYERS_FILE)
    (tmp_path / "broken.py").write_text("x = undefined_name\n")
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(messages(done.stderr)) == 1 and words in messages(done.stderr)[0], done.stderr


def test_a_kink_passes_the_layer_command_unless_strict(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from gradcheck.cli import main

    (tmp_path / "kinked_layers.py").write_text(
        "import numpy as np\ndef relu_forward(x):\n    return np.maximum(0, x), x\n"
        "def relu_backward(dout, x):\n    return dout * (x > 0)\n")
    monkeypatch.chdir(tmp_path)
    args = ["layer", "kinked_layers.py:relu_forward", "kinked_layers.py:relu_backward", "--at", "x=[0.0, 1.5, -2.0]"]
    relaxed = CliRunner().invoke(main, args)
    assert relaxed.exit_code == 0 and "kink" in relaxed.output and "x[0]" in relaxed.output
    assert CliRunner().invoke(main, [*args, "--strict"]).exit_code == 1


def test_the_layer_command_in_process(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from gradcheck.cli import main

    (tmp_path / "inproc_layers.py").write_text(LAYERS_FILE)
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(main, ["vjp", "inproc_layers.py:square", "inproc_layers.py:square_vjp", "--at",
                                     "x=[1.5, -2.0]"])
    assert done.exit_code == 0 and "the gradient agrees" in done.output
    single = CliRunner().invoke(main, ["vjp", "inproc_layers.py:square", "inproc_layers.py:square_vjp", "--at",
                                       "x=randn(3,2)", "--dtype", "float32", "--format", "json"])
    assert single.exit_code == 0, single.output
    import json

    assert json.loads(single.output)["cases"][0]["dtype"] == "float32"


def test_the_pytest_fixture_checks_layers(tmp_path):
    (tmp_path / "mylayers.py").write_text(LAYERS_FILE)
    (tmp_path / "test_mine.py").write_text(
        "import numpy as np\nfrom mylayers import affine_forward, affine_backward, no_sum_backward, square, square_vjp\n"
        "X, W, B = np.ones((2, 3)), np.arange(6.0).reshape(3, 2), np.zeros(2)\n"
        "def test_right(gradcheck):\n    gradcheck.layer(affine_forward, affine_backward, [X, W, B])\n"
        "def test_vjp(gradcheck):\n    gradcheck.vjp(square, square_vjp, [np.array([1.0, 2.0])])\n"
        "def test_wrong(gradcheck):\n    gradcheck.layer(affine_forward, no_sum_backward, [X, W, B])\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                           str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False)
    assert "2 passed" in done.stdout and "1 failed" in done.stdout, done.stdout
    assert "test_wrong" in done.stdout and "batch axis is not summed" in done.stdout


def test_layer_values_from_the_command_line():
    from gradcheck.base.errors import ValueSpecError
    from gradcheck.inputs.data import parse_data, split_at

    at = split_at(['x=randn(2,3),conv_param={"stride": 2, "pad": 1}', "y=[0, 2, 1]", "p=0.5", "m=[True, False]"])
    assert list(at) == ["x", "conv_param", "y", "p", "m"]
    values = {name: parse_data(name, text) for name, text in at.items()}
    assert values["x"].dtype == np.float64 and values["x"].shape == (2, 3)
    assert values["conv_param"] == {"stride": 2, "pad": 1}
    assert values["y"].dtype.kind == "i" and values["y"].tolist() == [0, 2, 1]
    assert values["p"] == 0.5 and isinstance(values["p"], float)
    assert values["m"].dtype == bool
    labels = parse_data("labels", "randint(0,10,(4,3))", seed=1)
    assert labels.shape == (4, 3) and labels.dtype.kind == "i" and 0 <= labels.min() and labels.max() < 10
    assert np.array_equal(labels, parse_data("labels", "randint(0,10,(4,3))", seed=1))  # seeded
    for text in ("[" * 40 + "]" * 40, "{'a': __import__('os')}", "randint(5,1,(2,))"):
        with pytest.raises(ValueSpecError):
            parse_data("bad", text)


def test_a_time_budget_ends_a_slow_layer_check():
    import time as clock

    from gradcheck.base.errors import CheckTimeout

    def slow_forward(x):
        clock.sleep(0.05)
        return x * 2, None

    with pytest.raises(CheckTimeout, match="checking slow_forward took longer"):
        gradcheck.check_layer(slow_forward, lambda dout, cache: 2 * dout, [randn(50)], timeout=0.5)


# ----- gradients that are rounding beside their terms: no false alarm, and wrong ones still caught -----
def affine_bn_forward(x, w, b, gamma, beta):
    """CS231n's affine then batch norm: the affine bias's gradient is exactly 0 (the mean takes it out),
    and a right backward returns rounding there, da.sum(0) of terms of size 1."""
    a, fc_cache = L.affine_forward(x, w, b)
    out, bn_cache = L.batchnorm_forward(a, gamma, beta, {})
    return out, (fc_cache, bn_cache)


def affine_bn_backward(dout, cache):
    fc_cache, bn_cache = cache
    da, dgamma, dbeta = L.batchnorm_backward(dout, bn_cache)
    dx, dw, db = L.affine_backward(da, fc_cache)
    return dx, dw, db, dgamma, dbeta


def test_a_bias_before_batch_norm_whose_gradient_is_0_passes():
    """Each right check passes (every one of them failed ∂f/∂b: the complex step's 1e-20 left an ulp in
    the batch mean that read as a derivative of 3e-17 ± 1e-24); one that takes dout for da is caught."""
    rng = np.random.default_rng(20261202)
    for _ in range(12):
        n, d, m = (int(k) for k in rng.integers(2, 7, size=3))
        inputs = [rng.standard_normal(s) for s in ((n, d), (d, m), (m,), (m,), (m,))]
        result = gradcheck.check_layer(affine_bn_forward, affine_bn_backward, inputs)
        assert result.status == "pass", str(result)

    def wrong(dout, cache):
        dx, dw, _, dgamma, dbeta = affine_bn_backward(dout, cache)
        return dx, dw, dout.sum(axis=0), dgamma, dbeta  # dout where da belongs

    result = gradcheck.check_layer(affine_bn_forward, wrong, [randn(5, 4), randn(4, 3), randn(3), randn(3), randn(3)])
    assert result.status == "mismatch" and result.gradients["b"].status == "mismatch", str(result)
    assert all(result.gradients[n].status == "pass" for n in ("x", "w", "gamma", "beta")), str(result)
    # a layer large enough for fast mode: b is probed along random directions, where it failed too
    for _ in range(3):
        inputs = [rng.standard_normal(s) for s in ((16, 40), (40, 64), (64,), (64,), (64,))]
        result = gradcheck.check_layer(affine_bn_forward, affine_bn_backward, inputs)
        assert result.status == "pass" and result.gradients["b"].numeric_mode == "fast", str(result)
    result = gradcheck.check_layer(affine_bn_forward, wrong, inputs)
    assert result.status == "mismatch" and result.gradients["b"].status == "mismatch", str(result)


def cancelling(rng, shape):
    """Data of a few values of both signs, whose sums and products cancel to rounding."""
    return rng.choice([0.1, 0.2, 0.3, 0.7, 1.1, 1e-3, 3.3], size=shape) * rng.choice([-1, 1], size=shape)


def test_a_backward_whose_answer_is_rounding_passes_and_a_wrong_one_does_not():
    """The gradient of sum(softmax(x @ w)) is exactly 0; a right grad_f returns x.T @ (s * (1 - sum(s))),
    with 1 - sum(s) an ulp or 0 at every point near this one (systematic rounding, which a move of an
    ulp does not change): 30 of 120 such checks failed. Its disagreement with numeric changes by its own
    size when the inputs move by 1e-6 of themselves (black_box_rounding.py), so it passes; forgetting
    the subtracted sum gives x.T @ s, a smooth error that stays, and is caught."""
    rng = np.random.default_rng(7)

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    for _ in range(20):
        m, k, j = (int(v) for v in rng.integers(1, 5, size=3))
        x, w = cancelling(rng, (m, k)), cancelling(rng, (k, j))

        def f(w, x=x):
            return softmax(x @ w).sum()

        def right(w, x=x):
            s = softmax(x @ w)
            return x.T @ (s * (1 - s.sum(axis=1, keepdims=True)))

        def forgot_the_sum(w, x=x):
            return x.T @ softmax(x @ w)

        result = gradcheck.check_function(f, right, [w])
        # never a mismatch; where the whole gradient is below numeric's resolution (every entry 0 beside
        # an error estimate of 1e-9) nothing can confirm it either: inconclusive, not a pass
        assert result.status in ("pass", "inconclusive"), str(result)
        forgot = gradcheck.check_function(f, forgot_the_sum, [w])
        assert forgot.status == "mismatch", str(forgot)


def test_a_tiny_entry_claimed_wrong_is_still_caught():
    """An entry of 1e-17 claimed as 2e-17 beside one of 1: its disagreement is the same at every point
    near this one, so measuring the rounding does not let it pass (issue 9: each entry on its own)."""
    c = np.array([1e-17, 1.0])
    result = gradcheck.check_function(lambda w: np.sum(w * c), lambda w: np.array([2e-17, 1.0]), [np.ones(2)])
    assert result.status == "mismatch" and "w[0]" in result.verdict, str(result)
    right = gradcheck.check_function(lambda w: np.sum(w * c), lambda w: c.copy(), [np.ones(2)])
    assert right.status == "pass", str(right)
