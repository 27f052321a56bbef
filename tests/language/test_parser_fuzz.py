"""The parser on generated text (hypothesis): any unicode, the language's own characters, token
soups, power towers, nesting around the limit and texts around the length limit, and random text in
--let, --grad and --wrt. Every input ends as a result (pass, mismatch or kink) or a GradcheckError,
never another exception, and the result renders as JSON and as the table.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from fuzz_strategies import (
    GRAMMAR_CHARS, VARIABLES, any_expression_text, fuzz_settings, general_trees, outcome, stress_text, token_soup
)
from hypothesis import example, given
from hypothesis import strategies as st

import gradcheck

pytestmark = pytest.mark.slow  # generated inputs, minutes in all: CI runs them, a quick loop skips them


@fuzz_settings("text")
@given(st.text(max_size=80), st.integers(0, 2**70))
@example("x\0", 0)
@example("\0" * 20, 0)
@example("x" + "\u0301" * 5, 0)
@example("ｘ+1", 0)
def test_any_unicode_text(text, seed):
    outcome(text, seed=seed)


@fuzz_settings("grammar_text")
@given(st.text(GRAMMAR_CHARS, max_size=80))
def test_text_over_the_language_characters(text):
    outcome(text)


@fuzz_settings("token_soup")
@given(token_soup)
@example("x ** 10 ** 10 ** 10")
@example("x[999999999999999]")
@example("sum(x, axis=999999999999999)")
@example("pow(x, 12345678901234567890)")
def test_random_token_sequences(text):
    outcome(text)


# A DomainError met inside the complex step names a complex input with float(): numpy warns (cosmetic).
@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning" if hasattr(np, "exceptions") else "ignore")
@fuzz_settings("stress")
@given(stress_text(), st.sampled_from([None, "x=2", "x=0.5", "x=-1", "x=1e-300", "x=1e300"]))
@example("x**10**10**10", "x=2")
@example("(" * 101 + "x" + ")" * 101, None)
@example("x+" * 4_999 + "x", "x=1")
def test_towers_nesting_and_long_inputs(text, at):
    if at is not None and not re.search(r"\bx\b", text):
        at = None
    result = outcome(text, at=at)
    if len(text) > 10_000:
        assert isinstance(result, gradcheck.ParseError) and "the limit is 10,000" in str(result)


@fuzz_settings("every_option")
@given(expr=st.one_of(any_expression_text, general_trees),
       let=st.one_of(st.none(), st.dictionaries(st.sampled_from(["u", "v", "x", "exp", "lambda", "1a"]),
                                                st.one_of(any_expression_text, general_trees), max_size=2),
                     any_expression_text),
       grad=st.one_of(st.none(), st.dictionaries(st.sampled_from(list(VARIABLES) + ["u", "q"]),
                                                 st.one_of(any_expression_text, general_trees), max_size=2),
                      any_expression_text),
       wrt=st.one_of(st.none(), any_expression_text, st.lists(st.sampled_from(list(VARIABLES) + ["", "u"]),
                                                              max_size=3)))
def test_random_text_in_every_option(expr, let, grad, wrt):
    outcome(expr, let=let, grad=grad, wrt=wrt)
