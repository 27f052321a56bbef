"""The JAX checks' bodies, each run in a fresh interpreter by test_jax.py: JAX starts threads when it is
imported, and a pytest worker that had imported it would then fork (the batch tests' -j) with them
running. Not collected by pytest (no test_ prefix); each function raises on failure."""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import gradcheck.jax as gj
from gradcheck import FunctionError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import jax_functions as jf  # noqa: E402

JAX_FILE = str(Path(__file__).resolve().parents[2] / "examples" / "jax_functions.py")


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def a_right_custom_vjp_passes_in_float64_and_leaves_x64_as_it_was():
    before = jax.config.jax_enable_x64
    result = gj.check(jf.softplus, randn(4, 5))
    assert result.status == "pass" and result.exit_code == 0, result.verdict
    assert result.dtype == "float64"  # not JAX's default float32
    assert jax.config.jax_enable_x64 == before


def a_wrong_custom_vjp_fails():
    result = gj.check(jf.softplus_wrong, randn(4, 5))
    assert result.status == "mismatch" and result.exit_code == 1
    transposed = gj.check(jf.matmul_transposed, randn(3, 3), randn(3, 3, seed=1))
    assert [n for n, g in transposed.gradients.items() if g.status == "mismatch"] == ["a"]
    assert "it uses b where b.T belongs" in transposed.gradients["a"].diagnosis


def a_custom_jvp_is_checked_through_its_vjp():
    result = gj.check(jf.scaled_tanh, randn(4, 5), randn(5, seed=1))
    assert result.status == "pass", result.verdict
    assert list(result.gradients) == ["x", "w"]


def float32_and_bfloat16_are_judged_in_their_precision():
    assert gj.check(jf.softplus, randn(4, 5).astype(np.float32)).dtype == "float32"
    right = gj.check(jf.softplus, randn(4, 5), dtype="bfloat16")
    assert right.status == "pass", right.verdict
    assert any("precision assumed: bfloat16" in n for n in right.notes)
    assert gj.check(jf.softplus_wrong, randn(4, 5), dtype="bfloat16").status == "mismatch"


def integer_arrays_are_data_and_errors_are_one_line():
    def take(x, index):
        return x[index] ** 2

    result = gj.check(take, randn(5), np.array([0, 3, 3]))
    assert list(result.gradients) == ["x"] and result.status == "pass"

    def broken(x):
        return x @ np.ones((7, 2))

    with pytest.raises(FunctionError) as info:
        gj.check(broken, randn(3, 4))
    assert "\n" not in str(info.value) and "jax_cases.py:" in str(info.value)


def the_command_line_in_process():
    from conftest import invoke

    assert invoke("jax", f"{JAX_FILE}:softplus", "--at", "x=randn(4,5)").exit_code == 0
    wrong = invoke("jax", f"{JAX_FILE}:matmul_transposed", "--at", "a=randn(3,3)", "--at", "b=randn(3,3)")
    assert wrong.exit_code == 1 and "b.T" in wrong.output


if __name__ == "__main__":
    globals()[sys.argv[1]]()
