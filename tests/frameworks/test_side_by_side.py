"""The classic failure reports side by side: torch.autograd.gradcheck prints two Jacobians, gradcheck.torch
says what is wrong (a forgotten factor, a transpose, a dropped mask) and passes a right float32 layer that
torch's check, built for float64, fails."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the comparison needs torch: pip install 'gradcheck[torch]'")

import gradcheck.torch as gt  # noqa: E402
from torch.autograd.gradcheck import GradcheckError  # noqa: E402  (torch.autograd.gradcheck is also the function)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import torch_functions as tf  # noqa: E402

# What a diagnosis says, and torch's report never does.
DIAGNOSIS_WORDS = ("half", "factor", "transpose", ".T", "mask", "missing", "wrong", "belongs")


def randn(*shape, dtype=torch.float64, seed=0):
    return torch.randn(*shape, dtype=dtype, generator=torch.Generator().manual_seed(seed)).requires_grad_()


def torch_report(fn, inputs) -> str:
    with pytest.raises(GradcheckError) as info:
        torch.autograd.gradcheck(fn.apply, inputs, raise_exception=True)
    return str(info.value)


@pytest.mark.parametrize("fn, inputs, named", [
    (tf.Square, (randn(3, 4),), "half the true gradient"),
    (tf.MatMulTransposed, (randn(3, 3), randn(3, 3, seed=1)), "it uses b where b.T belongs"),
    (tf.ReLUNoMask, (randn(4, 5),), "a mask is missing"),
])
def test_torch_prints_jacobians_where_gradcheck_names_the_bug(fn, inputs, named):
    theirs = torch_report(fn, inputs)
    assert "Jacobian mismatch" in theirs
    assert not [w for w in DIAGNOSIS_WORDS if w in theirs]
    ours = gt.check(fn, *inputs)
    assert ours.exit_code == 1
    assert named in str(ours)


def test_a_right_float32_layer_fails_torchs_check_and_passes_ours_in_float32():
    x = randn(4, 6, dtype=torch.float32)
    with pytest.warns(UserWarning, match="not a double precision"):
        theirs = torch_report(tf.LayerNorm, (x,))
    assert "Jacobian mismatch" in theirs
    ours = gt.check(tf.LayerNorm, x)
    assert ours.status == "pass", ours.verdict
    assert any("precision assumed: float32" in n for n in ours.notes)
    assert gt.check(tf.LayerNormNoFactor, x).status == "mismatch"  # and a wrong one still fails in float32
