"""--latex says which gradient has no formula instead of printing an empty block."""

from __future__ import annotations


from conftest import run_script


def test_latex_says_which_gradient_has_no_formula():
    """sum(W[idx]) printed an empty align* block and nothing else."""
    done = run_script("eval", "sum(W[idx]) + sum(V**2)", "--at", "W=randn(4),idx=[0,1],V=randn(2)", "--latex")
    assert done.returncode == 0, done.stderr
    assert "% no formula for ∂f/∂W" in done.stdout and "(primitive gather)" in done.stdout
    assert r"{\partial V} &= 2 \cdot V" in done.stdout  # the other gradient's formula is still written
    alone = run_script("eval", "sum(W[idx])", "--at", "W=randn(4),idx=[0,1]", "--latex")
    assert r"\begin{align*}" not in alone.stdout and "% no formula for ∂f/∂W" in alone.stdout
