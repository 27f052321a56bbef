"""A forward that draws fresh randomness at each call is named as the problem (not read as kinks or
blamed on the backward); noise within the allowance given is checked.
"""

from __future__ import annotations


import numpy as np
import pytest
from conftest import messages, run_script

import gradcheck


DROPOUT = ("import numpy as np\n"
           "def dropout_forward(x, p):\n"
           "    mask = (np.random.rand(*x.shape) < p) / p\n"
           "    return x * mask, mask\n"
           "def dropout_backward(dout, mask):\n"
           "    return dout * mask\n")


def test_a_forward_that_is_not_deterministic_is_named_as_the_problem(tmp_path):
    """CS231n's dropout without its seed: the check read the fresh mask of every call as kinks with
    one-sided slopes of 1e6 and blamed the backward (not linear, not deterministic)."""
    (tmp_path / "drop.py").write_text(DROPOUT)
    done = run_script("layer", "drop.py:dropout_forward", "drop.py:dropout_backward", "--at", "x=randn(3,4)",
                      "--at", "p=0.5", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr and done.stdout == ""
    assert done.stderr.startswith("gradcheck: error: forward is not deterministic: two calls with the same inputs")
    assert "kink" not in done.stderr and len(messages(done.stderr)) == 1
    x = np.random.default_rng(0).standard_normal((3, 4))
    with pytest.raises(gradcheck.SpecError, match="f is not deterministic"):
        gradcheck.check_function(lambda x: np.sum(x * np.random.rand(*x.shape)), lambda x: x, [x])


def test_a_nondeterministic_forward_within_the_allowance_is_checked():
    x = np.random.default_rng(0).standard_normal((3, 4))
    noisy = gradcheck.check_vjp(lambda x: 2 * x + 1e-13 * np.random.rand(*x.shape), lambda d, x: 2 * d, [x],
                                nondeterminism=1e-9)
    assert noisy.status == "pass", noisy.verdict
