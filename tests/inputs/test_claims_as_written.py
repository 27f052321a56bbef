"""Claims (--grad) and --let names as a user writes them: a claim that is not text says what a claim
is, a number is a claim, commas inside one claim stay in it, several names in one option say how to
write them, and a --let name given to --wrt or --grad is not called unused.
"""

from __future__ import annotations


import numpy as np
import pytest
from conftest import joined, messages, run_script

import gradcheck


@pytest.mark.parametrize("claim", [np.full((2, 2), 2.0), [[2.0, 2.0], [2.0, 2.0]], lambda W: 2 * W, True])
def test_a_claim_that_is_not_an_expression_says_what_a_claim_is(claim):
    """A numpy user passes the gradient they computed: its repr reached the parser ('lists are not
    allowed inside an expression', 'unexpected <' for a function)."""
    with pytest.raises(gradcheck.SpecError, match=r"--grad W: an expression written as text is needed.*check_function"):
        gradcheck.check("sum(W**2)", at={"W": np.ones((2, 2))}, grad={"W": claim})


@pytest.mark.parametrize("claim", [2, 2.0, np.float64(2.0), np.int64(2)])
def test_a_number_is_still_a_claim(claim):
    assert gradcheck.check("x**2", at={"x": 1}, grad={"x": claim}).status == "pass"


def test_a_toml_claim_that_is_a_list_names_file_case_and_key(tmp_path):
    (tmp_path / "c.toml").write_text('[[case]]\nname = "listy"\nexpr = "sum(W**2)"\nat = { W = [1.0, 2.0] }\n'
                                     'grad = { W = [2.0, 4.0] }\n')
    done = run_script("check", "c.toml", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    message = joined(done.stderr)
    assert all(words in message for words in ("c.toml:1", "case 'listy'", "--grad W", "written as text")), message


@pytest.mark.parametrize(("args", "said"), [
    (["x*y", "--grad", "x=y,y=x"], ("--grad x", "one --grad gives one name", "write --grad x=y --grad y=x")),
    (["z*y", "--let", "z=x, w=2"], ("write --let z=x --let w=2",)),
])
def test_several_names_in_one_grad_or_let_say_how_to_write_them(args, said):
    """--at splits at commas, --grad and --let do not (a claim holds calls): 'x=y,y=x' was 'unexpected ','' at column 2."""
    done = run_script("eval", *args)
    assert done.returncode == 2 and all(words in messages(done.stderr)[0] for words in said), done.stderr


def test_a_claim_with_commas_of_its_own_is_still_one_claim():
    assert gradcheck.check("max(x, y)", at="x=1,y=2", grad={"x": "max(0, 0)", "y": "step(y - x)"}).status == "pass"


@pytest.mark.parametrize("option", [["--wrt", "z"], ["--grad", "z=1"]])
def test_a_let_name_given_to_wrt_or_grad_is_not_called_unused(option):
    """'--wrt names 'z', which f does not use' for f = sigmoid(z) with --let z=w*x: it does use it."""
    done = run_script("eval", "sigmoid(z)", "--let", "z=w*x", "--at", "w=1,x=2", *option)
    assert done.returncode == 2 and "does not use" not in done.stderr
    message = joined(done.stderr)
    assert f"{option[0]} names 'z'" in message and "a --let name" in message and "w, x" in message, message
