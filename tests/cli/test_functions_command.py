"""`gradcheck functions`: each domain said as a sentence, no blank derivative for a constructor."""

from __future__ import annotations


from conftest import run_script


def test_gradcheck_functions_says_each_domain_as_a_sentence():
    """'(defined where i to hold indices within the size of x)' did not read."""
    done = run_script("functions", COLUMNS="200")
    assert done.returncode == 0 and "defined where" not in done.stdout
    # golden: how a domain reads as a sentence is what this test is about
    assert "(needs x > 0)" in done.stdout and "(needs i to hold indices within the size of x)" in done.stdout


def test_gradcheck_functions_prints_no_blank_derivative_for_a_constructor():
    lines = run_script("functions", COLUMNS="80").stdout.splitlines()
    after = lines[lines.index("zeros(shape)") + 1]
    assert after.strip() == "an array of zeros: zeros((2, 3))", after
