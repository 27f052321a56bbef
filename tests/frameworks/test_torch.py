"""gradcheck.torch: autograd's gradient of Functions, modules and plain functions against the numeric oracle."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="gradcheck.torch needs torch: pip install 'gradcheck[torch]'")

import gradcheck.torch as gt  # noqa: E402
from gradcheck import FunctionError  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import torch_functions as tf  # noqa: E402


def randn(*shape, dtype=torch.float64, seed=0):
    return torch.randn(*shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))


def wrong(result):
    return {n: g for n, g in result.gradients.items() if g.status == "mismatch"}


@pytest.mark.parametrize("fn, inputs", [
    (tf.MatMul, (randn(3, 4), randn(4, 2, seed=1))),
    (tf.ReLU, (randn(4, 5),)),
    (tf.LayerNorm, (randn(4, 6),)),
    (tf.Attention, (randn(4, 3), randn(4, 3, seed=1), randn(4, 3, seed=2))),
    (tf.Conv, (randn(2, 2, 5, 5), randn(3, 2, 3, 3, seed=1))),
    (tf.swish, (randn(5),)),
])
def test_a_right_function_passes(fn, inputs):
    result = gt.check(fn, *inputs)
    assert result.status == "pass", result.verdict
    assert result.exit_code == 0


@pytest.mark.parametrize("fn, inputs, variable, cause, words", [
    (tf.Square, (randn(3, 4),), "x", "twice or half", "half the true gradient"),
    (tf.MatMulTransposed, (randn(3, 3), randn(3, 3, seed=1)), "a", "untransposed matrix", "b.T"),
    (tf.ReLUNoMask, (randn(4, 5),), "x", "mask", "a mask is missing"),
    (tf.ConvHalfWeight, (randn(2, 2, 5, 5), randn(3, 2, 3, 3, seed=1)), "w", "one over rows", "divides by N = 2"),
])
def test_a_wrong_backward_fails_with_a_diagnosis_naming_it(fn, inputs, variable, cause, words):
    result = gt.check(fn, *inputs)
    assert result.status == "mismatch" and result.exit_code == 1
    assert set(wrong(result)) == {variable}
    assert result.gradients[variable].cause == cause
    assert words in result.gradients[variable].diagnosis
    assert words in str(result)  # the table says it too


def test_attention_with_a_transposed_or_unmasked_backward_fails():
    q, k, v = randn(4, 3), randn(4, 3, seed=1), randn(4, 3, seed=2)
    assert set(wrong(gt.check(tf.AttentionTransposed, q, k, v))) == {"v"}
    assert "q" in wrong(gt.check(tf.AttentionNoMask, q, k, v))


def test_float32_is_judged_in_float32_and_says_so():
    right = gt.check(tf.LayerNorm, randn(4, 6, dtype=torch.float32))
    assert right.status == "pass", right.verdict
    assert right.dtype == "float32"
    assert any("precision assumed: float32" in n for n in right.notes)
    bad = gt.check(tf.Square, randn(4, 6, dtype=torch.float32))
    assert bad.status == "mismatch" and bad.gradients["x"].cause == "twice or half"


def test_bfloat16_is_judged_by_its_own_rule_against_a_float32_forward():
    right = gt.check(tf.LayerNorm, randn(4, 6), dtype="bfloat16")
    assert right.status == "pass", right.verdict
    assert any("precision assumed: bfloat16" in n for n in right.notes)
    assert gt.check(tf.ReLUNoMask, randn(4, 6), dtype="bfloat16").status == "mismatch"
    assert gt.check(tf.Square, randn(4, 6, dtype=torch.bfloat16)).status == "mismatch"


def test_a_modules_parameters_are_checked_by_name():
    linear = torch.nn.Linear(4, 3).double()
    result = gt.check(linear, randn(5, 4))
    assert result.status == "pass", result.verdict
    assert list(result.gradients) == ["input", "weight", "bias"]


class Scaled(torch.nn.Module):
    """x * weight², weight's gradient through Square's wrong backward."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.linspace(0.5, 2.0, 4, dtype=torch.float64))

    def forward(self, x):
        return x * tf.Square.apply(self.weight)


def test_a_wrong_parameter_gradient_is_named():
    result = gt.check(Scaled(), randn(3, 4))
    assert set(wrong(result)) == {"weight"}
    assert result.gradients["x"].status == "pass"
    assert result.gradients["weight"].cause == "twice or half"


def test_a_nested_modules_parameters_are_named_by_path():
    torch.manual_seed(0)
    result = gt.check(tf.Block().double(), randn(3, 4))
    assert result.status == "pass", result.verdict
    assert 'params["linear.weight"]' in result.gradients and 'params["norm.bias"]' in result.gradients


def test_inputs_that_do_not_require_grad_are_data_when_one_does():
    a, b = randn(3, 4).requires_grad_(), randn(4, 2, seed=1)
    assert list(gt.check(tf.MatMul, a, b).gradients) == ["a"]
    assert list(gt.check(tf.MatMul, a.detach(), b).gradients) == ["a", "b"]  # none does: every float tensor
    assert list(gt.check(tf.MatMul, a, b, wrt="b").gradients) == ["b"]


def test_integer_tensors_are_data():
    def gather(x, index):
        return x[index] * 2

    result = gt.check(gather, randn(5), torch.tensor([0, 2, 2]))
    assert list(result.gradients) == ["x"] and result.status == "pass"


class Broken(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x @ torch.ones(5, 5, dtype=x.dtype)  # x is (3, 4)

    @staticmethod
    def backward(ctx, grad):
        return grad


class Chatty(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        raise RuntimeError("the first line\n  and a second one\nand a third")

    @staticmethod
    def backward(ctx, grad):
        return grad


def test_a_torch_error_in_the_users_forward_is_one_line_naming_it():
    with pytest.raises(FunctionError) as info:
        gt.check(Broken, randn(3, 4))
    message = str(info.value)
    assert "\n" not in message
    assert "RuntimeError" in message and "test_torch.py:" in message and "cannot be multiplied" in message
    with pytest.raises(FunctionError) as info:
        gt.check(Chatty, randn(3, 4))
    assert str(info.value).endswith("RuntimeError at test_torch.py:" + str(Chatty.forward.__code__.co_firstlineno + 2)
                                    + ": the first line …")


def test_the_complex_step_moves_every_input_to_complex_where_torch_takes_it():
    """a @ b with a complex a and a real b raises in torch: both are made complex, and the step is exact."""
    result = gt.check(tf.MatMul, randn(3, 4), randn(4, 2, seed=1))
    for name in ("a", "b"):
        errors = np.asarray(result.to_dict()["gradients"][name]["numeric_error"], dtype=float)
        assert errors.max() < 1e-13  # central differences' own error here is about 1e-9


def test_a_function_torch_refuses_complex_input_for_falls_back_to_real_differences(capfd):
    with pytest.raises(NotImplementedError):
        torch.zeros(1, dtype=torch.complex128).clamp(min=0)  # what ReLU's forward does
    result = gt.check(tf.ReLU, randn(4, 5), method="auto")
    assert result.status == "pass", result.verdict
    assert gt.check(tf.ReLUNoMask, randn(4, 5)).status == "mismatch"
    assert "Warning" not in capfd.readouterr().err


def test_bad_arguments_are_one_line_errors():
    from gradcheck import SpecError

    with pytest.raises(SpecError, match="nothing to differentiate"):
        gt.check(tf.ReLU, torch.tensor([1, 2, 3]))
    with pytest.raises(SpecError, match="dtype must be one of"):
        gt.check(tf.ReLU, randn(3), dtype="float8")
    with pytest.raises(SpecError, match="nn.Module class"):
        gt.check(torch.nn.Linear, randn(3))


def test_an_output_autograd_cannot_differentiate_is_said_so():
    def detached(a):
        return a.detach() * 2

    with pytest.raises(FunctionError, match="detached's output has no gradient in autograd: it does not depend on a"):
        gt.check(detached, randn(3))


def test_several_outputs_and_an_unused_input():
    def two(a, b):
        return a * b, (a + b).sum()

    def unused(a, b):
        return a * 2

    result = gt.check(two, randn(3), randn(3, seed=1))
    assert result.status == "pass" and "one per output (2 outputs)" in " ".join(result.notes)
    assert gt.check(unused, randn(3), randn(3, seed=1)).gradients["b"].status == "pass"  # zero, as autograd's None


class BrokenBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 3

    @staticmethod
    def backward(ctx, grad):
        return grad @ torch.ones(7, 7, dtype=grad.dtype)  # grad is (3, 4)


def test_a_torch_error_in_the_users_backward_is_one_line_naming_it():
    with pytest.raises(FunctionError) as info:
        gt.check(BrokenBackward, randn(3, 4))
    message = str(info.value)
    line = BrokenBackward.backward.__code__.co_firstlineno + 2
    assert "\n" not in message and message.startswith(f"vjp raised RuntimeError at test_torch.py:{line}: ")
