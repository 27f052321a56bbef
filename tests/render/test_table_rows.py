"""What the check and eval tables say of a claim: a claim of the wrong shape has no relative error and
is said once, and a kink failed by --strict is not labelled a pass.
"""

from __future__ import annotations


import pytest
from conftest import run_script


def test_a_wrong_shape_claim_does_not_read_as_a_near_miss_in_the_check_table(tmp_path):
    """The transposed ∇W2 of mistakes.toml showed 'worst rel. error 2.1e-14': the agreeing oracles'
    error, since a claim of the wrong shape has no relative error."""
    (tmp_path / "t.toml").write_text('[[case]]\nname = "transposed"\nexpr = "sum(W @ x)"\n'
                                     'at = { W = "randn(3,4)", x = "randn(4)" }\ngrad = { W = "x" }\n'
                                     '[[case]]\nname = "twice"\nexpr = "sum(W @ x) + y**2"\n'
                                     'at = { W = "randn(3,4)", x = "randn(4)", y = 1 }\ngrad = { y = "4*y" }\n')
    done = run_script("check", "t.toml", cwd=tmp_path, COLUMNS="100")
    assert done.returncode == 1
    rows = {line.split()[0]: line for line in done.stdout.splitlines()
            if line.startswith(("transposed ", "twice ")) and " t.toml:" in line and "(" not in line}
    assert rows["transposed"].split()[4] == "—", rows["transposed"]
    assert float(rows["twice"].split()[4]) == pytest.approx(0.5, rel=0.01), rows["twice"]


def test_a_kink_failed_by_strict_is_not_labelled_a_pass(tmp_path):
    """Its row read '✗ pass (expected a mismatch)' for a case that expects a pass and is a kink."""
    (tmp_path / "k.toml").write_text('[[case]]\nname = "relu at 0"\nexpr = "relu(x)"\nat = { x = 0 }\n'
                                     '[[case]]\nname = "abs at 0"\nexpr = "abs(x)"\nat = { x = 0 }\n'
                                     'expect = "mismatch"\n')
    strict = run_script("check", "k.toml", "--strict", cwd=tmp_path, COLUMNS="100")
    assert strict.returncode == 1
    row = next(line for line in strict.stdout.splitlines() if line.startswith("relu at 0 "))
    assert "✗ kink (strict)" in row and "pass" not in row, row
    plain = run_script("check", "k.toml", cwd=tmp_path, COLUMNS="100")
    rows = {line.split("  ")[0]: line for line in plain.stdout.splitlines() if " k.toml:" in line}
    assert "⚠ kink" in rows["relu at 0"] and "✗ kink (expected a mismatch)" in rows["abs at 0"], rows


def test_a_claim_of_the_wrong_shape_is_said_once():
    """The note 'claimed ∂f/∂W: has shape (4,), but ...' stood above the verdict saying the same."""
    done = run_script("eval", "sum(W @ x)", "--at", "W=randn(3,4),x=randn(4)", "--grad", "W=x", COLUMNS="80")
    assert done.returncode == 1
    assert done.stdout.count("has shape (4,), but ∂f/∂W has shape (3,4)") == 1, done.stdout
