"""Layers and ops written as classes (check_op, `gradcheck layer FILE.py:Op`) and losses from the command line
(`gradcheck loss`): CS231n classes with a cache, stateful classes, needle's compute/gradient on its own Tensors."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import PACKAGE_ROOT, messages, run_script

import gradcheck
from gradcheck import FunctionError, SpecError

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(Path(PACKAGE_ROOT) / "examples"))
import mini_needle as ndl  # noqa: E402
import needle_ops as N  # noqa: E402

RNG = np.random.default_rng(27)


def randn(*shape):
    return RNG.standard_normal(shape)


class Affine:
    """CS231n-style, as a class: forward -> (out, cache), backward(dout, cache)."""

    def forward(self, x, w, b):
        return x @ w + b, (x, w)

    def backward(self, dout, cache):
        x, w = cache
        return dout @ w.T, x.T @ dout, dout.sum(axis=0)


class ReLU:
    """Stateful: forward keeps its mask, backward(dout) uses it."""

    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask


class LeakyReLUForgetsTheSlope(ReLU):
    def forward(self, x):
        self.mask = x > 0
        return np.where(self.mask, x, 0.1 * x)


def test_a_class_with_a_cache_and_a_stateful_class_pass():
    result = gradcheck.check_op(Affine, [randn(4, 3), randn(3, 2), randn(2)])
    assert result.status == "pass" and list(result.gradients) == ["x", "w", "b"], str(result)
    assert gradcheck.check_op(ReLU(), [randn(3, 4)]).status == "pass"
    wrong = gradcheck.check_op(LeakyReLUForgetsTheSlope, [randn(3, 4)])
    assert wrong.status == "mismatch" and wrong.name == "LeakyReLUForgetsTheSlope"


def test_needle_ops_on_needles_own_tensors_need_no_wrappers():
    a, b = randn(3, 4), randn(3, 4)
    for op, inputs in [(ndl.EWiseMul(), [a, b]), (ndl.EWiseAdd(), [a, b]), (ndl.MulScalar(-1.5), [a]),
                       (ndl.Exp(), [a]), (ndl.Summation((1,)), [a])]:
        result = gradcheck.check_op(op, inputs)
        assert result.status == "pass", (type(op).__name__, str(result))
    tensors = gradcheck.check_op(ndl.EWiseMul(), [ndl.Tensor(a), ndl.Tensor(b)])  # Tensors in: read with .numpy()
    assert tensors.status == "pass" and list(tensors.gradients) == ["a", "b"]
    wrong = gradcheck.check_op(ndl.ExpOfTheInput(), [a])
    assert wrong.status == "mismatch" and wrong.gradients["a"].status == "mismatch"


def test_needle_shaped_numpy_ops_pass_with_check_op():
    for op, inputs in [(N.EWiseMul(), [randn(3, 4), randn(3, 4)]), (N.Exp(), [randn(3, 4)]),
                       (N.LogSumExp((1,)), [randn(3, 4)]), (N.MatMul(), [randn(2, 3, 4), randn(4, 5)])]:
        assert gradcheck.check_op(op, inputs).status == "pass", type(op).__name__


def test_an_object_without_the_methods_is_refused_saying_what_it_has():
    with pytest.raises(SpecError, match="neither forward and backward nor compute and gradient"):
        gradcheck.check_op(object(), [randn(2)])
    with pytest.raises(FunctionError, match="ReLU"):
        gradcheck.check_op(type("ReLU", (), {"__init__": lambda self, k: None}), [randn(2)])


def test_a_loss_that_returns_loss_and_gradient_is_one_function():
    def softmax_loss_naive(W, X, y, reg):
        scores = X @ W
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
        n = len(y)
        loss = -np.log(p[np.arange(n), y]).mean() + reg * np.sum(W * W)
        p[np.arange(n), y] -= 1
        return loss, X.T @ p / n + 2 * reg * W

    inputs = [randn(6, 3), randn(5, 6), np.array([0, 2, 1, 1, 0]), 0.1]
    with pytest.raises(SpecError, match="data='X'"):
        gradcheck.check_function(softmax_loss_naive, None, inputs)
    assert gradcheck.check_function(softmax_loss_naive, None, inputs, data="X").status == "pass"


SOFTMAX_FILE = '''
import numpy as np

def softmax_loss_naive(W, X, y, reg):
    loss, dW = 0.0, np.zeros_like(W)
    for i in range(X.shape[0]):
        scores = X[i] @ W
        scores -= scores.max()
        p = np.exp(scores) / np.sum(np.exp(scores))
        loss -= np.log(p[y[i]])
        p[y[i]] -= 1
        dW += np.outer(X[i], p)
    n = X.shape[0]
    return loss / n + reg * np.sum(W * W), dW / n + 2 * reg * W

def loss_only(W, X, y, reg):
    return softmax_loss_naive(W, X, y, reg)[0]

def grad_without_reg(W, X, y, reg):
    return softmax_loss_naive(W, X, y, 0.0)[1]
'''


def test_the_loss_command_checks_a_loss_with_its_gradient_or_a_pair(tmp_path):
    (tmp_path / "softmax.py").write_text(SOFTMAX_FILE)
    at = ["--at", "W=randn(6,3)", "--at", "X=randn(5,6)", "--at", "y=[0,2,1,1,0]", "--at", "reg=0.1", "--data", "X"]
    pair = run_script("loss", "softmax.py:softmax_loss_naive", *at, "--format", "json", cwd=tmp_path)
    assert pair.returncode == 0, pair.stdout + pair.stderr
    assert list(json.loads(pair.stdout)["cases"][0]["gradients"]) == ["W"]
    wrong = run_script("loss", "softmax.py:loss_only", "softmax.py:grad_without_reg", *at, cwd=tmp_path)
    assert wrong.returncode == 1 and "∂f/∂W" in wrong.stdout, wrong.stdout + wrong.stderr
    refused = run_script("loss", "softmax.py:softmax_loss_naive", *at[:-2], cwd=tmp_path)
    assert refused.returncode == 2 and "--data X" in messages(refused.stderr)[0], refused.stderr


def test_the_layer_command_takes_a_class_and_needle_ops_with_arguments(tmp_path):
    shutil.copy(TESTS / "mini_needle.py", tmp_path / "ops.py")
    (tmp_path / "layers.py").write_text("import numpy as np\n"
                                        "class ReLU:\n    def forward(self, x):\n        self.mask = x > 0\n"
                                        "        return x * self.mask\n    def backward(self, dout):\n"
                                        "        return dout * self.mask\n")
    relu = run_script("layer", "layers.py:ReLU", "--at", "x=randn(3,4)", cwd=tmp_path)
    assert relu.returncode == 0 and "✓ the gradient agrees" in relu.stdout, relu.stdout + relu.stderr
    mul = run_script("layer", "ops.py:EWiseMul", "--at", "a=randn(3,4)", "--at", "b=randn(3,4)", cwd=tmp_path)
    assert mul.returncode == 0, mul.stdout + mul.stderr
    scaled = run_script("layer", "ops.py:MulScalar(2.5)", "--at", "a=randn(3,4)", "--format", "json", cwd=tmp_path)
    assert scaled.returncode == 0 and json.loads(scaled.stdout)["cases"][0]["status"] == "pass", scaled.stderr
    summed = run_script("layer", "ops.py:Summation(axes=(1,))", "--at", "a=randn(3,4)", cwd=tmp_path)
    assert summed.returncode == 0, summed.stdout + summed.stderr
    wrong = run_script("layer", "ops.py:ExpOfTheInput", "--at", "a=randn(3,4)", cwd=tmp_path)
    assert wrong.returncode == 1


@pytest.mark.parametrize(("spec", "words"), [
    ("ops.py:MulScalar(__import__('os'))", "must be literals"),
    ("ops.py:MulScalar(1, 2, 3)", "raised TypeError"),
    ("ops.py:Tensor", "without forward and backward"),
])
def test_bad_classes_on_the_command_line_are_one_line_exit_2(tmp_path, spec, words):
    shutil.copy(TESTS / "mini_needle.py", tmp_path / "ops.py")
    done = run_script("layer", spec, "--at", "a=randn(2)", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(messages(done.stderr)) == 1 and words in messages(done.stderr)[0], done.stderr
