"""A point where f is undefined: the message is one line, does not repeat a long expression, and
says which condition a power needs.
"""

from __future__ import annotations


import pytest
from conftest import messages, run_script
from hostile_input import no_foreign_exception

from gradcheck import DomainError


def test_a_domain_error_message_is_one_line():
    error = no_foreign_exception("log(\n-x)", at="x=1")
    assert isinstance(error, DomainError)
    assert "\n" not in str(error), repr(str(error))


def test_a_domain_error_message_does_not_repeat_a_long_expression():
    error = no_foreign_exception("exp(x)*" * 1250 + "x", at="x=1")
    assert isinstance(error, DomainError)
    assert len(str(error)) < 2000, len(str(error))


@pytest.mark.parametrize(("expr", "at", "needs"), [
    ("x**y", "x=0,y=0", "x = 0 with y > 0"),  # 0 is a whole number: 'or a whole-number exponent y' was wrong
    ("x**0", "x=0", "x = 0 with 0 > 0"),
    ("x**y", "x=-1,y=0.5", "x < 0 with a whole-number exponent y"),
])
def test_an_undefined_power_says_which_condition_it_needs(expr, at, needs):
    done = run_script("eval", expr, "--at", at)
    assert done.returncode == 2 and needs in messages(done.stderr)[0], done.stderr
    assert len(messages(done.stderr)[0]) < 200 and "Traceback" not in done.stderr
