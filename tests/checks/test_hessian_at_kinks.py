"""--order 2 at a kink: a Hessian entry that cannot be checked there is a kink, not a mismatch; off
the kink it is compared as usual.
"""

from __future__ import annotations


from conftest import run_script

import gradcheck


def test_a_hessian_at_a_kink_that_cannot_be_checked_is_a_kink_not_a_mismatch():
    """relu(x)**3 at 0 (first derivative fine) failed, exit 1, with 'only numeric could be computed:
    nothing to compare with' while numeric had no value either."""
    result = gradcheck.check("relu(x)**3", at="x=0", order=2)
    assert result.status == "kink" and result.exit_code == 0, result.verdict
    assert result.hessian["x,x"].status == "kink" and "only numeric" not in result.verdict
    assert "∂²f/∂x∂x: not checked" in result.verdict and "on a kink" in result.verdict
    assert gradcheck.check("relu(x)**3", at="x=0", order=2, strict=True).exit_code == 1
    done = run_script("eval", "relu(x)**3", "--at", "x=0", "--order", "2", COLUMNS="80")
    assert done.returncode == 0 and "✗" not in done.stdout, done.stdout


def test_off_a_kink_the_hessian_is_compared_as_before():
    """Only a point exactly on a kink, with no entry compared, is left unchecked."""
    away = gradcheck.check("relu(x)**3 + sin(y)", at="x=0.5,y=1", order=2)
    assert away.status == "pass" and all(g.status == "pass" for g in away.hessian.values())
