"""The symbolic oracle on inputs SymPy finds hard: an exact power with a huge negative exponent, and
constants that are nan (0/sin(pi)) inside max, min, relu and abs.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import subprocess_env
from hostile_input import no_foreign_exception

from gradcheck import GradcheckError


def test_an_exact_power_with_a_huge_negative_exponent_is_checked():
    program = "import gradcheck; print(gradcheck.check('x**10**-2**99', at='x=2').status)"
    done = subprocess.run([sys.executable, "-c", program], timeout=30, capture_output=True, text=True,
                          env=subprocess_env(NO_COLOR="1"))
    assert done.returncode == 0 and done.stdout.strip() == "pass", done.stdout + done.stderr


@pytest.mark.parametrize("expr", ["max(0/sin(pi), x)", "min(x, 0/sin(pi))", "relu(0/sin(pi)) + x"])
def test_a_nan_constant_in_max_raises_only_gradcheck_errors(expr):
    no_foreign_exception(expr, at={"x": 1.0})


@pytest.mark.parametrize("expr", ["x + 0/sin(pi)", "x*sin(pi)/sin(pi)", "abs(0/sin(pi)) + x"])
def test_a_nan_constant_that_cancels_is_no_false_mismatch(expr):
    result = no_foreign_exception(expr, at={"x": 1.0})
    assert not isinstance(result, GradcheckError) and result.status == "pass", str(result)
