"""The expression language of issue 12: what the courses' layers need, written as in numpy.

Bad input in the new syntax through the real console script (exit 2, one line, a caret), the
choices the language makes (max(x) reduces, methods are refused, a condition is data), and the
shipped layer files green through `gradcheck check`."""

from __future__ import annotations

import subprocess
from itertools import pairwise

import numpy as np
import pytest
from conftest import SUBPROCESS_TIMEOUT as TIMEOUT
from conftest import console_script, invoke, messages, subprocess_env

import gradcheck
from gradcheck.base.errors import ParseError
from gradcheck.language.parser import parse
from gradcheck.ops.registry import BY_NAME


# (what is wrong, argv after `gradcheck`, words of the message, the text the caret must underline)
BAD_INPUT = [
    ("a reshape that does not fit", ["eval", "sum(reshape(x, (4, 2)))", "--at", "x=rand(2,3)"],
     "cannot reshape 6 entries into (4, 2)", "reshape(x, (4, 2))"),
    ("an index out of range", ["eval", "sum(x[5, :])", "--at", "x=rand(2,3)"],
     "index 5 is out of range for a dimension of size 2", "x[5, :]"),
    ("a slice of a scalar", ["eval", "x[1:] + y", "--at", "x=2,y=1"],
     "a scalar cannot be indexed or sliced", "x[1:]"),
    ("an axis out of range", ["eval", "sum(sum(x, axis=(0, 2)))", "--at", "x=rand(2,3)"],
     "axis 2 is out of range for 2 dimensions", "sum(x, axis=(0, 2))"),
    ("a conv whose stride does not divide", ["eval", "sum(conv2d(x, w, b, stride=2))", "--at",
                                             "x=rand(1,1,6,6),w=rand(1,1,3,3),b=rand(1)"],
     "the stride 2 does not divide height + 2·pad − window = 3", "conv2d(x, w, b, stride=2)"),
    ("a gathered index out of range", ["eval", "sum(W[idx])", "--at", "W=rand(3,2),idx=[0,3]"],
     "idx[1] = 3 (needs idx to hold indices within the size of W)", "W[idx]"),
    ("a method call", ["eval", "sum(x.reshape((6,)))", "--at", "x=rand(2,3)"],
     "methods are not supported: write reshape(x, ...)", ".reshape"),
    ("a batch that does not broadcast", ["eval", "sum(x @ y)", "--at", "x=rand(2,3,4),y=rand(3,4,2)"],
     "the batch dimensions (2,) and (3,) do not broadcast", "x @ y"),
    ("arithmetic on draws that do not broadcast", ["eval", "sum(x)", "--at", "x=rand(2)+rand(3)"],
     "the shapes do not broadcast (rand(2) is (2,), rand(3) is (3,))", "rand(2)+rand(3)"),
]


def _caret_marks(stderr: str, underlined: str) -> bool:
    """The excerpt line holds the text, and the caret line under it marks exactly that text."""
    lines = stderr.splitlines()
    for excerpt, carets in pairwise(lines):
        start = excerpt.find(underlined)
        if start >= 0 and carets.strip() and set(carets.strip()) == {"^"}:
            return carets.index("^") == start and len(carets.strip()) == len(underlined)
    return False


# Through the console script: one of each kind (a parse error, a shape error, a value error); every
# case of BAD_INPUT runs in process below.
SCRIPTED = [b for b in BAD_INPUT if b[0] in ("a method call", "a reshape that does not fit",
                                              "a gathered index out of range")]


@pytest.fixture(scope="module")
def bad_runs():
    script, env = console_script(), subprocess_env()
    return {what: subprocess.run([script, *argv], check=False, capture_output=True, encoding="utf-8", env=env,
                                 timeout=TIMEOUT) for what, argv, _, _ in SCRIPTED}


@pytest.mark.parametrize(("what", "argv", "words", "underlined"), SCRIPTED, ids=[b[0] for b in SCRIPTED])
def test_bad_input_in_the_new_syntax_is_exit_2_one_line_and_a_caret(bad_runs, what, argv, words, underlined):
    proc = bad_runs[what]
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    first = messages(proc.stderr)[0]
    assert first.startswith("gradcheck: error: ") and words in first
    assert _caret_marks(proc.stderr, underlined), proc.stderr


@pytest.mark.parametrize(("what", "argv", "words", "underlined"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_in_process_too(what, argv, words, underlined):
    result = invoke(*argv)
    assert result.exit_code == 2 and "Traceback" not in result.stderr and result.stdout == ""
    first = messages(result.stderr)[0]
    assert first.startswith("gradcheck: error: ") and words in first
    assert _caret_marks(result.stderr, underlined), result.stderr


# ----- the choices the language makes --------------------------------------------------------------


def test_max_of_one_array_reduces_and_of_two_is_elementwise():
    assert parse("max(x)").prim is BY_NAME["amax"]
    assert parse("max(x, axis=1, keepdims=True)").prim is BY_NAME["amax"]
    assert parse("max(a, b)").prim is BY_NAME["max"]
    assert parse("maximum(a, b)").prim is BY_NAME["max"]
    assert parse("min(x, axis=(0, 1))").kwargs == {"axis": (0, 1), "keepdims": False}


@pytest.mark.parametrize("text", ["x.sum()", "x.reshape((2, 3))", "x.mean(axis=0)"])
def test_methods_are_refused_with_the_function_to_write(text):
    with pytest.raises(ParseError, match="methods are not supported"):
        parse(text)


def test_a_tie_in_a_max_reduction_is_a_kink():
    result = gradcheck.check("sum(max(x, axis=1))", at={"x": "[[1.0, 1, 0], [0, 2, 1]]"})
    grad = result.gradients["x"]
    assert grad.status == "kink"
    assert gradcheck.check("sum(max(x, axis=1))", at={"x": "[[1, 0.5, 0], [0, 2, 1]]"}).gradients["x"].status == "pass"


def test_a_tie_in_a_max_pool_window_is_a_kink():
    at = {"x": "[[[[1.0, 1], [0, 0]]]]"}
    assert gradcheck.check("sum(max_pool2d(x, 2))", at=at).gradients["x"].status == "kink"


def test_a_repeated_index_accumulates_its_gradients():
    at = {"W": "zeros((3, 2))", "idx": "[1, 1, 2]", "G": "[[1, 2], [3, 4], [5, 6]]", "E": "[[0, 0], [4, 6], [5, 6]]"}
    result = gradcheck.check("sum(W[idx] * G)", at=at, wrt="W", grad={"W": "E"})
    assert result.gradients["W"].status == "pass"
    np.testing.assert_array_equal(result.gradients["W"].columns["backprop"], [[0, 0], [4, 6], [5, 6]])


def test_a_condition_is_data_and_where_picks_a_branch():
    result = gradcheck.check("sum(where(x > 0, x**2, -x))", at={"x": "[0.5, -2, 3]"}, grad={"x": "where(x > 0, 2*x, -1)"})
    assert result.gradients["x"].status == "pass"
    # at the switch it is a kink, as relu's is
    assert gradcheck.check("sum(where(x > 0, x, 0))", at={"x": "[0.0, 1]"}).gradients["x"].status == "kink"


def test_constructors_and_draw_arithmetic_in_values_and_claims():
    result = gradcheck.check("sum(x * eye(3) @ arange(3))", at={"x": "rand(3, 3) + 0.5"},
                             grad={"x": "eye(3) * broadcast_to(arange(3), (3, 3))"})
    assert result.gradients["x"].status == "pass"
    assert np.all(result.point["x"] >= 0.5)


def test_a_variable_used_only_by_a_claim_is_allowed():
    result = gradcheck.check("sum(x * x)", at={"x": "rand(3)", "two": 2}, grad={"x": "two * x"})
    assert result.gradients["x"].status == "pass"
    with pytest.raises(gradcheck.SpecError, match="f does not use and no claim uses"):
        gradcheck.check("sum(x * x)", at={"x": "rand(3)", "two": 2}, grad={"x": "2 * x"})
