"""Property-based (fuzz) tests: random text, random trees, random values, random shapes, the console
script and expression files from an untrusted pull request.

tests/test_safety.py pins down fixed hostile inputs; here hypothesis generates them. Every run is
deterministic (derandomize=True) and bounded (the example counts below), so CI sees the same inputs
each time. The properties:

- gradcheck.check on any text (or any value text) returns a result with a known status or raises a
  GradcheckError subclass, never another exception, within PER_EXAMPLE_SECONDS, and the result renders
  as a table and as valid JSON;
- on expressions built from smooth functions at moderate points, the three oracles agree ("pass");
- shapes that do not fit raise ShapeError, shapes that fit pass;
- the console script exits 0, 1 or 2 with no traceback and, on 2, one "gradcheck: error:" line first;
- expression files cannot run code, whatever their strings hold.

Bugs found by fuzzing are kept at the end as strict xfails, each with the input that shows it.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import gradcheck
from gradcheck import DomainError, GradcheckError, ShapeError
from gradcheck.primitives import FUNCTIONS
from gradcheck.render.json import render_json
from gradcheck.result import Report

# ----- budgets -----------------------------------------------------------------------------------
# Examples per property. The file runs in ~30 s on the project's 2-core machine; scale them all with
# GRADCHECK_FUZZ_SCALE=10 for a longer local hunt (still derandomized: same inputs for the same scale).
SCALE = float(os.environ.get("GRADCHECK_FUZZ_SCALE", "1"))
EXAMPLES = {
    "text": 150,  # arbitrary unicode text as the expression
    "grammar_text": 150,  # random strings over the language's own characters
    "token_soup": 200,  # random sequences of the language's tokens
    "stress": 40,  # power towers, nesting near the limit, inputs near and past 10,000 characters
    "every_option": 80,  # random text in expr, let, grad, wrt at once
    "trees": 150,  # random valid trees over every scalar function, random points (some extreme)
    "smooth": 150,  # smooth trees at moderate points: must pass
    "values": 200,  # random --at value texts for fixed expressions
    "python_values": 60,  # random Python objects as values
    "shapes": 80,  # random shapes for X @ W and elementwise ops
    "cli_batches": 4,  # console-script batches ...
}
CLI_BATCH = 5  # ... of this many inputs each, run two at a time: 20 subprocesses in all
PER_EXAMPLE_SECONDS = 20.0  # generous: every example so far takes well under 2 s
SUBPROCESS_TIMEOUT = 60

OK_STATUSES = {"pass", "mismatch", "kink"}
PACKAGE_ROOT = str(Path(gradcheck.__file__).resolve().parents[1])


def fuzz_settings(kind: str, **extra) -> settings:
    return settings(max_examples=max(1, int(EXAMPLES[kind] * SCALE)), deadline=None, derandomize=True,
                    database=None, print_blob=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much, HealthCheck.large_base_example],
                    **extra)


# ----- the property every input must satisfy ----------------------------------------------------
def outcome(expr, render: bool = True, **kwargs):
    """gradcheck.check(expr, **kwargs): a result with a known status, or the GradcheckError raised.

    Fails the test if any other exception escapes, if it takes too long, or if the result does not
    render as JSON and (with `render`) as the table."""
    started = time.perf_counter()
    try:
        result = gradcheck.check(expr, **kwargs)
    except GradcheckError as exc:
        result = exc
        assert isinstance(str(exc), str) and exc.kind in {"parse", "value", "spec", "shape", "domain", "function"}
    except Exception as exc:  # noqa: BLE001 - the property is about which exception escapes
        raise AssertionError(f"{type(exc).__module__}.{type(exc).__qualname__} escaped "
                             f"gradcheck.check({expr!r:.300}, **{kwargs!r:.300}): {exc!s:.300}") from exc
    seconds = time.perf_counter() - started
    assert seconds < PER_EXAMPLE_SECONDS, f"took {seconds:.1f} s: {expr!r:.200}"
    if not isinstance(result, GradcheckError):
        assert result.status in OK_STATUSES, result.status
        assert math.isfinite(result.value)
        document = json.loads(render_json(Report([result])))  # valid JSON: no NaN, no Infinity
        assert document["cases"][0]["status"] == result.status
        if render:
            assert str(result)  # the table renders
    return result


# ----- strategies: random text ------------------------------------------------------------------
VARIABLES = ("x", "y", "z")
# Functions of arrays only (reductions, row-wise ops, labels); every other registered function is an
# elementwise scalar function and is generated below with its arity, so a new one is covered automatically.
ARRAY_ONLY = {"sum", "mean", "softmax", "log_softmax", "logsumexp", "softmax_ce", "onehot"}
SCALAR_FUNCTIONS = sorted((name, prim.arity) for name, prim in FUNCTIONS.items() if prim.elementwise)
UNARY = [name for name, arity in SCALAR_FUNCTIONS if arity == 1]
BINARY = [name for name, arity in SCALAR_FUNCTIONS if arity == 2]
SMOOTH_UNARY = ["exp", "sin", "cos", "tanh", "sigmoid", "softplus"]

HUGE_INTEGERS = ["999999999999999", "1000000000000000", "12345678901234567890", "9" * 309, "1" + "0" * 400,
                 "0" * 50 + "1", "1e308", "1e309", "1e-400", "4.9e-324", "1.7976931348623157e308"]
PUNCTUATION = ["+", "-", "*", "/", "**", "^", "@", "(", ")", "[", "]", ",", ".", "=", ".T", " ", "\t", "\n"]
ODD_WORDS = ["lambda", "import", "__import__", "if", "None", "True", "not", "and", "x1", "_", "__class__",
             "inf", "nan", "axis", "k", "T", "σ", "ｘ", "𝑥", "é", "İ", "\0", "\x1b[31m", "'", '"', "#", "$", "`",
             ";", ":", "{", "}", "%", "&", "|", "~", "!", "<", ">", "\\", "\u202e", "\ufeff", "\u00a0"]
GRAMMAR_CHARS = "xyzeT019.eE+-*/^@()[],= \t\n_\0σ"

numbers = st.one_of(
    st.integers(0, 10**6).map(str),
    st.floats(0, 1e6, allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["0.5", ".5", "5.", "1e-3", "2.5E+2", "0e0", "00", "1.0e", "1..2", "3e", ".", "0x10",
                     "1_000", "pi", "e"]),
    st.sampled_from(HUGE_INTEGERS),
)
tokens = st.one_of(
    numbers,
    st.sampled_from(VARIABLES + ("w", "W", "X", "A", "B")),
    st.sampled_from(sorted(FUNCTIONS)),
    st.sampled_from(PUNCTUATION),
    st.sampled_from(ODD_WORDS),
)
token_soup = st.tuples(st.lists(tokens, max_size=40), st.sampled_from(["", " ", "  "])) \
    .map(lambda parts: parts[1].join(parts[0]))


@st.composite
def stress_text(draw) -> str:
    """Shapes of input that stress the limits: power towers, nesting around MAX_NESTING (100), and
    texts around MAX_TEXT_LENGTH (10,000) made of a random valid piece repeated."""
    kind = draw(st.sampled_from(["tower", "nesting", "long"]))
    if kind == "tower":
        base = draw(st.sampled_from(["x", "2", "10", "0.5", "1", "(-x)", "e", "x*y", "sigmoid(x)"]))
        power = draw(st.sampled_from(["**", "^"]))
        exponents = draw(st.lists(st.sampled_from(["10", "2", "x", "-x", "-1", "0.5", "99", "-2", "y",
                                                   "1e3", "999999999999999"]), min_size=1, max_size=8))
        return base + "".join(power + e for e in exponents)
    if kind == "nesting":
        depth = draw(st.sampled_from([1, 2, 50, 98, 99, 100, 101, 102, 150]))
        opener, closer = draw(st.sampled_from([("(", ")"), ("sin(", ")"), ("-", ""), ("sigmoid(", ")"),
                                               ("tanh(x*", ")"), ("x**", ""), ("max(x,", ")"), ("-(", ")"),
                                               ("exp(", ")"), ("abs(-", ")"), ("(x+", ")")]))
        core = draw(st.sampled_from(["x", "y", "0.5", "-x"]))
        return opener * depth + core + closer * depth
    piece = draw(st.sampled_from(["x+", "x*", "sin(x)*", "x*y/z-", "relu(x)+", "max(x,y)*", "(x-y)+",
                                  "x**2+", "1+", "-x-"]))
    length = draw(st.sampled_from([2_000, 9_990, 9_999, 10_000, 10_001, 10_500, 20_000, 100_000]))
    text = (piece * (length // len(piece) + 1))[: length - 1]
    return text.rstrip("+-*/(") + "x"  # may end a little shorter than `length`, never longer


any_expression_text = st.one_of(st.text(max_size=60), st.text(GRAMMAR_CHARS, max_size=60), token_soup)


# ----- strategies: random valid trees ------------------------------------------------------------
def _call(name: str, args: list[str]) -> str:
    return f"{name}({', '.join(args)})"


@st.composite
def trees(draw, leaves, unary: list[str], binary: list[str], operators: list[str], exponents,
          max_operations: int) -> str:
    """Expression text built from the grammar with 1 to max_operations operations (operators, unary
    minus, calls, powers), each operand a random split of the rest. Parentheses around an operator
    are sometimes left out: the text then means something else, but it is still a valid expression."""
    kinds = ["infix", "infix", "neg", "call", "call", "power"] + (["call2"] if binary else [])

    def build(budget: int) -> str:
        if budget == 0:
            return draw(leaves)
        kind = draw(st.sampled_from(kinds))
        if kind == "neg":
            operand = build(budget - 1)
            return f"-({operand})" if operand.startswith("-") else f"-{operand}"
        if kind == "call":
            return _call(draw(st.sampled_from(unary)), [build(budget - 1)])
        if kind == "power":
            return f"({build(budget - 1)}){draw(st.sampled_from(['**', '^']))}{draw(exponents)}"
        left = draw(st.integers(0, budget - 1))
        a, b = build(left), build(budget - 1 - left)
        if kind == "call2":
            return _call(draw(st.sampled_from(binary)), [a, b])
        op = draw(st.sampled_from(operators))
        return f"({a} {op} {b})" if draw(st.booleans()) else f"{a} {op} {b}"

    return build(draw(st.integers(1, max_operations)))


general_leaves = st.one_of(
    st.sampled_from(VARIABLES),
    st.sampled_from(VARIABLES),
    st.integers(0, 12).map(str),
    st.sampled_from(["0.5", ".25", "1e-3", "2.5e1", "3.0", "pi", "e", "0", "1e2"]),
)
general_exponents = st.one_of(st.sampled_from(["2", "3", "-1", "0.5", "-2", "1.5", "0", "x", "y", "(-x)",
                                               "(1/3)", "e"]), general_leaves)
general_trees = trees(general_leaves, UNARY, BINARY, ["+", "-", "*", "/", "**", "^"], general_exponents,
                      max_operations=12)

# Smooth: exp, sin, cos, tanh, sigmoid, softplus, + - *, and small positive whole powers. Bounded in
# size (max_operations) so that intermediate values stay moderate: see test_smooth_trees_pass.
smooth_leaves = st.one_of(st.sampled_from(VARIABLES), st.sampled_from(VARIABLES),
                          st.sampled_from(["1", "2", "0.5", "3"]))
smooth_trees = trees(smooth_leaves, SMOOTH_UNARY, [], ["+", "-", "*"], st.sampled_from(["1", "2", "3"]),
                     max_operations=10)

moderate = st.floats(-2, 2, allow_nan=False, allow_infinity=False)
EXTREME = [0.0, -0.0, 1.0, -1.0, 1e-300, -1e-300, 5e-324, 1e-8, 1e15, -1e15, 1e154, 1e300, -1e300,
           709.0, 710.0, -745.0, 1.7976931348623157e308, math.pi / 2, -math.pi, 0.5, 2.0, 100.0]
any_value = st.one_of(moderate, moderate, st.sampled_from(EXTREME),
                      st.floats(allow_nan=False, allow_infinity=False))


def used_variables(*texts: str) -> list[str]:
    return [v for v in VARIABLES if any(re.search(rf"\b{v}\b", t) for t in texts)]


@st.composite
def point_for(draw, texts: tuple[str, ...], values=any_value):
    """Values for the variables the texts use: a mapping of floats, of value texts, or one --at text."""
    names = used_variables(*texts)
    point = {name: draw(values) for name in names}
    form = draw(st.sampled_from(["floats", "texts", "one text"]))
    if form == "floats":
        return point
    if form == "texts":
        return {name: repr(v) for name, v in point.items()}
    return ",".join(f"{name}={v!r}" for name, v in point.items()) or None


# ----- random text through the Python API ------------------------------------------------------
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


# ----- random valid trees -----------------------------------------------------------------------
def test_the_scalar_functions_are_all_generated():
    """The tree strategy calls every function that takes scalars, with its arity; only array
    functions are left out."""
    generated = {name for name, _ in SCALAR_FUNCTIONS}
    assert generated | ARRAY_ONLY == set(FUNCTIONS)
    assert generated.isdisjoint(ARRAY_ONLY)
    assert set(UNARY) | set(BINARY) == generated  # no function of three arguments goes missing
    assert {"exp", "log", "sqrt", "tan", "relu", "abs", "step", "sign", "max", "min", "pow"} <= generated


@st.composite
def tree_and_point(draw, tree_strategy=general_trees, values=any_value):
    text = draw(tree_strategy)
    return text, draw(point_for((text,), values))


@fuzz_settings("trees")
@given(tree_and_point(), st.sampled_from(["auto", "full", "fast"]))
@example(("x ** 10 ** 10 ** 10", {"x": 1.0}), "auto")
@example(("x ** y", {"x": -1.5, "y": 2.0}), "auto")
@example(("relu(x) + abs(y) + max(x, y) + step(z) + sign(z)", {"x": 0.0, "y": 0.0, "z": 0.0}), "auto")
@example(("sqrt(x) + log(y)", {"x": 0.0, "y": 5e-324}), "auto")
@example(("tan(x)", "x=pi/2"), "auto")
@example(("x / y", {"x": 1.0, "y": -0.0}), "auto")
@example(("0 ** x", {"x": 1.0}), "auto")
@example(("exp(x)", {"x": 709.0}), "auto")
def test_random_trees_at_random_points(case, mode):
    text, at = case
    # The table of a scalar gradient in fast mode does not render: see test_bug_fast_mode_table.
    result = outcome(text, at=at, mode=mode, render=mode != "fast")
    if isinstance(result, GradcheckError):
        # An undefined point is a DomainError; anything else would mean the strategy built bad text.
        assert isinstance(result, (DomainError, gradcheck.SpecError)), result
        if isinstance(result, gradcheck.SpecError):
            assert "no variables" in str(result)


@fuzz_settings("smooth")
@given(tree_and_point(smooth_trees, moderate),
       st.one_of(st.none(), smooth_trees.filter(lambda t: bool(used_variables(t)))))
@example(("sigmoid(x) * tanh(y) + softplus(z) ** 3", {"x": 2.0, "y": -2.0, "z": 0.0}), None)
@example(("exp(x) * sin(y) - cos(x * y) ** 2", {"x": -2.0, "y": 2.0}), "tanh(x)")
def test_smooth_trees_pass(case, let_body):
    """The key correctness property: on smooth functions at moderate points (|v| <= 2) symbolic,
    backprop and numeric agree at the default tolerances.

    The strategy is bounded to make this a fair test of finite differences: at most 8 leaves and
    exponents of at most 3, so that no intermediate value is large enough for central differences'
    rounding error (about 2e-11 times the size of the terms that cancel) to exceed atol = 1e-8 when
    the true gradient is ~0. Within those bounds any mismatch is a bug.

    With `let_body`, the tree is named u (--let) and used twice, so its gradient accumulates twice.
    """
    text, at = case
    let = None
    if let_body is not None:
        let = {"u": let_body}
        text = f"u * ({text}) + sin(u)"
        names = used_variables(let_body, text)
        if isinstance(at, dict):
            at = {n: at.get(n, 0.25) for n in names}
        else:  # a single --at text
            given_ = dict(item.split("=") for item in at.split(",")) if at else {}
            at = {n: given_.get(n, "0.25") for n in names}
    result = outcome(text, at=at, let=let)
    if isinstance(result, gradcheck.SpecError) and "no variables" in str(result):
        return  # a constant tree: nothing to differentiate
    assert not isinstance(result, GradcheckError), f"{type(result).__name__}: {result}"
    assert result.status == "pass", f"{text!r} at {at!r} (let {let!r}):\n{result}"


# ----- random values ------------------------------------------------------------------------------
# Expressions whose variables take the random value texts below (scalars and arrays).
VALUE_EXPRESSIONS = {
    "x * y": ("x", "y"),
    "sigmoid(x) + log(y ** 2 + 1)": ("x", "y"),
    "sum(W)": ("W",),
    "sum(X * W)": ("X", "W"),
    "sum(X @ W)": ("X", "W"),
    "mean(softmax(W))": ("W",),
    "sum(logsumexp(W)) + sum(log_softmax(X))": ("W", "X"),
    "softmax_ce(W, y)": ("W", "y"),
    "sum(W.T) + W[0]": ("W",),
}

list_values = st.recursive(
    st.one_of(st.floats(allow_nan=False).map(repr), st.integers(-10**20, 10**20).map(str),
              st.sampled_from(["pi", "-e", "--1", "+-2", "1e999", "nan", "x", "", "[]", "()"])),
    lambda children: st.lists(children, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
    max_leaves=20,
)
dims = st.one_of(st.integers(0, 6).map(str), st.sampled_from(["0", "100000000", "10" + "0" * 30, "", " ", "-1",
                                                                "1.5", "2e3", "x"]))
random_calls = st.tuples(st.sampled_from(["randn", "rand", "randn ", "RANDN", "randint", "zeros"]),
                         st.lists(dims, max_size=9), st.sampled_from([",", ", ", ",,", " "])) \
    .map(lambda t: f"{t[0]}({t[2].join(t[1])})")
value_texts = st.one_of(
    st.text(max_size=30),
    st.text("0123456789.eE+-*/^()[], xpi\0", max_size=30),
    st.sampled_from(["1e309", "-1e309", "nan", "-nan", "inf", "-inf", "NaN", "Infinity", "-0", "+0", "-0.0",
                     "0", "1e-400", "4.9e-324", "1/0", "0/0", "log(0)", "exp(1000)", "10**10**10", "-pi/4",
                     "1/3", "2**-1074", "9" * 400, "sqrt(-1)", "x", "W", "randn(3,3)", "randn()", "rand(2)",
                     "randn(2,2,2,2,2,2,2,2,2)", "a.npy", "/dev/null.npy", "/etc/passwd", "../x.npy", ".npy",
                     "1,2", "[1,2", "[[1,2],[3]]", "[[[[[[[[[1]]]]]]]]]", "[1,[2]]", "[1e308*10]",
                     "[0, 1, 2]", "[[0.5, -1], [2, 3]]"]),
    list_values,
    random_calls,
)


@fuzz_settings("values")
@given(st.sampled_from(sorted(VALUE_EXPRESSIONS)), st.data())
def test_random_value_texts(expr, data):
    names = VALUE_EXPRESSIONS[expr]
    values = {name: data.draw(value_texts, label=name) for name in names}
    if data.draw(st.booleans(), label="as one --at text"):
        at = ",".join(f"{name}={text}" for name, text in values.items())
    else:
        at = values
    outcome(expr, at=at, seed=data.draw(st.integers(0, 10), label="seed"))


python_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.complex_numbers(), st.binary(max_size=5),
    st.text(max_size=5), st.lists(st.floats(), max_size=3), st.lists(st.lists(st.integers(), max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.sampled_from([np.float32(1.5), np.int64(3), np.array(2.0), np.ones((2, 2)), np.array(["a"]),
                     np.array([1, 2], dtype=object), np.float64("nan"), np.zeros((0, 3)), object(), {1, 2},
                     (1.0, 2.0), range(3), 10**400, -(10**400), 2**63, float("inf"), np.array([True])]),
)


@fuzz_settings("python_values")
@given(st.sampled_from(["x * y", "sum(x * y)", "sum(x @ y)"]), python_values, python_values,
       st.one_of(st.none(), python_values))
def test_random_python_objects_as_values(expr, x, y, wrt):
    outcome(expr, at={"x": x, "y": y}, wrt=wrt if not isinstance(wrt, (int, float)) else None)


# ----- random shapes ------------------------------------------------------------------------------
shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)


def array_value(shape: tuple[int, ...], as_text: bool, rng: np.random.Generator):
    if as_text:
        return f"randn({','.join(map(str, shape))})"
    return rng.standard_normal(shape) if shape else float(rng.standard_normal())


@fuzz_settings("shapes")
@given(shapes, shapes, st.booleans(), st.sampled_from(["@", "+", "-", "*"]), st.booleans(),
       st.integers(0, 2**32 - 1))
@example((3, 2), (3, 2), False, "@", False, 0)  # the README's example
@example((3,), (3,), False, "@", False, 0)  # vector · vector: a scalar
@example((2, 1, 3), (3, 2), False, "@", False, 0)  # a stack of matrices: not supported
@example((), (2,), False, "@", False, 0)
@example((4, 1), (3,), False, "+", False, 0)  # broadcasts to (4,3)
@example((2, 3), (3, 2), False, "*", False, 0)
def test_random_shapes(a, b, transpose, op, as_text, seed):
    rng = np.random.default_rng(seed)
    left = "X.T" if transpose else "X"
    a_used = a[::-1] if transpose else a
    if op == "@":
        fits = len(a_used) in (1, 2) and len(b) in (1, 2) and a_used[-1] == b[0]
    else:
        try:
            np.broadcast_shapes(a_used, b)
            fits = True
        except ValueError:
            fits = False
    expr = f"sum({left} {op} W)"
    result = outcome(expr, at={"X": array_value(a, as_text, rng), "W": array_value(b, as_text, rng)})
    if fits:
        assert not isinstance(result, GradcheckError), f"{expr} with X {a}, W {b}: {result}"
        assert result.status == "pass", f"{expr} with X {a}, W {b}:\n{result}"
        assert {k: g.shape for k, g in result.gradients.items()} == {"X": a, "W": b}
    else:
        assert isinstance(result, ShapeError), f"{expr} with X {a}, W {b}: {result!r}"


# ----- the console script -----------------------------------------------------------------------
def console_script() -> str:
    script = shutil.which("gradcheck", path=os.path.dirname(sys.executable)) or shutil.which("gradcheck")
    if script is None:
        pytest.fail("the gradcheck console script is not installed (pip install -e .)")
    return script


def subprocess_env() -> dict[str, str]:
    """Run the code under test even if the editable install points at another checkout (as test_cli.py)."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "CLICOLOR_FORCE")}
    env["PYTHONPATH"] = os.pathsep.join([PACKAGE_ROOT, *filter(None, [env.get("PYTHONPATH")])])
    env["NO_COLOR"] = "1"
    return env


def run_script(args: list[str], cwd: Path | str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([console_script(), *args], cwd=cwd, capture_output=True, encoding="utf-8",
                          errors="replace", timeout=SUBPROCESS_TIMEOUT, env=subprocess_env())


def assert_clean_exit(proc: subprocess.CompletedProcess, what: str) -> None:
    assert proc.returncode in (0, 1, 2), (what, proc.returncode, proc.stderr[-2000:])
    for stream in (proc.stdout, proc.stderr):
        assert "Traceback" not in stream, (what, stream[-3000:])
    if proc.returncode == 2:
        first = proc.stderr.split("\n", 1)[0]
        assert first.startswith(("gradcheck: error:", "Usage:", "Error:")), (what, proc.stderr[:2000])
    else:
        assert proc.stdout.strip(), what


def argv_safe(text: str) -> bool:
    return "\0" not in text  # the OS ends an argv string at NUL (NUL goes through the API tests)


@st.composite
def cli_invocation(draw) -> list[str]:
    kind = draw(st.sampled_from(["text", "tokens", "stress", "tree"]))
    if kind == "tree":
        text = draw(general_trees)
        at = draw(point_for((text,)))
        if isinstance(at, dict):
            at = ",".join(f"{k}={v}" for k, v in at.items())
        options = ["--at", at] if at else []
        options += draw(st.sampled_from([[], ["--format", "json"], ["--show"], ["--mode", "fast"]]))
        return ["eval", *options, "--", text]
    text = draw({"text": st.text(max_size=60), "tokens": token_soup, "stress": stress_text()}[kind]
                .filter(argv_safe).filter(lambda t: len(t) <= 20_000))
    return ["eval", "--", text]


@fuzz_settings("cli_batches")
@given(st.lists(cli_invocation(), min_size=CLI_BATCH, max_size=CLI_BATCH))
def test_console_script_on_random_input(invocations):
    """Exit 0, 1 or 2, no traceback, and on 2 a first stderr line that says what is wrong."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = list(pool.map(run_script, invocations))
    for args, proc in zip(invocations, procs):
        assert_clean_exit(proc, repr(args)[:500])
        if "--format" in args and proc.returncode in (0, 1, 2):
            json.loads(proc.stdout)  # --format json prints one JSON document even for bad input


# ----- expression files from an untrusted pull request ----------------------------------------
def payloads(marker: Path) -> dict[str, tuple[str, str]]:
    """id -> (payload text, how it would run: "python", "shell", or "" for syntax that does nothing on its own)."""
    m = str(marker)
    return {
        "os.system": (f"__import__('os').system('touch {m}')", "python"),
        "open": (f"open('{m}','w')", "python"),
        "pathlib": (f"__import__('pathlib').Path('{m}').touch()", "python"),
        "f-string": (f"f\"{{__import__('os').system('touch {m}')}}\"", "python"),
        "exec in lambda": (f"(lambda: exec(\"open('{m}','w')\"))()", "python"),
        "subclasses": ("().__class__.__base__.__subclasses__()", ""),
        "lambda": ("lambda: 0", ""),
        "shell $()": (f"$(touch {m})", "shell"),
        "shell ${}": (f"${{IFS}}x;touch {m}", "shell"),
        "backticks": (f"`touch {m}`", "shell"),
        "semicolon": (f"x; touch {m}", "shell"),
    }


def toml_string(text: str) -> str:
    """A TOML basic string holding `text` exactly."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_case(**keys) -> str:
    lines = ["[[case]]"]
    for key, value in keys.items():
        if isinstance(value, dict):
            inner = ", ".join(f"{toml_string(k)} = {toml_string(v)}" for k, v in value.items())
            lines.append(f"{key} = {{ {inner} }}")
        else:
            lines.append(f"{key} = {toml_string(value)}")
    return "\n".join(lines) + "\n"


class Pickled:
    """Unpickling this runs open(marker, 'w'): harmless, but it leaves a file if a loader unpickles."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def write_pull_request(folder: Path, marker) -> dict[str, str]:
    """Expression files whose every string is an injection attempt. Returns case name -> expected status."""
    folder.mkdir()
    expected: dict[str, str] = {}
    np.save(folder / "evil.npy", np.array([Pickled(marker("pickle")), {"harmless": 1}], dtype=object),
            allow_pickle=True)
    texts = []
    for n, (key, (payload, _)) in enumerate(sorted(payloads_by_id(marker).items())):
        cases = {
            f"{key} in expr": dict(expr=payload),
            f"{key} in let": dict(expr="x * u", let={"u": payload}),
            f"{key} as a let name": dict(expr="x", let={payload: "x"}),
            f"{key} in grad": dict(expr="x * y", grad={"x": payload}),
            f"{key} as a grad name": dict(expr="x * y", grad={payload: "y"}),
            f"{key} in at": dict(expr="x", at={"x": payload}),
            f"{key} as an at name": dict(expr="x", at={payload: "1"}),
            f"{key} in at text": dict(expr="x", at=f"x={payload}"),
            f"{key} in a .npy path": dict(expr="sum(x)", at={"x": payload + ".npy"}),
            f"{key} in wrt": dict(expr="x", wrt=payload),
            f"{key} in mode": dict(expr="x", mode=payload),
        }
        body = []
        for name, keys in cases.items():
            expected[name] = "error"
            body.append(toml_case(name=name, **keys))
        # The payload as a case name only labels a valid case: it runs, passes, and runs nothing else.
        expected[payload] = "pass"
        body.append(toml_case(name=payload, expr="x * y", at="x=1,y=2", grad={"x": "y"}))
        texts.append((folder / f"pr_{n:02d}.toml", "\n".join(body)))
    expected["pickled .npy"] = "error"
    texts.append((folder / "pickle.toml", toml_case(name="pickled .npy", expr="sum(X)", at={"X": "evil.npy"})))
    for path, text in texts:
        path.write_text(text, encoding="utf-8")
        tomllib.loads(text)  # valid TOML, so each payload reaches gradcheck intact
    return expected


def payloads_by_id(marker) -> dict[str, tuple[str, str]]:
    return {key: payloads(marker(key))[key] for key in payloads(Path("M"))}


def test_expression_files_cannot_run_code(tmp_path):
    """Every string of a TOML case (expr, let, grad, at, a .npy path, names, wrt, mode) and a pickled .npy
    holds an injection attempt; `gradcheck check` rejects each as input (exit 2) and creates no marker."""
    markers = tmp_path / "markers"
    markers.mkdir()

    def marker(key: str) -> Path:  # absolute, one per payload, all in one folder
        return markers / f"MARKER-{re.sub(r'[^A-Za-z]+', '_', key)}"

    expected = write_pull_request(tmp_path / "pr", marker)
    assert len(expected) > 100
    table = run_script(["check", "pr"], cwd=tmp_path)
    as_json = run_script(["check", "pr", "--format", "json"], cwd=tmp_path)
    assert list(markers.iterdir()) == [], "a payload ran"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["markers", "pr"]  # nothing written anywhere else
    for proc in (table, as_json):
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert_clean_exit(proc, "gradcheck check pr")
    document = json.loads(as_json.stdout)
    got = {case["name"]: case["status"] for case in document["cases"]}
    assert got == expected
    errors = {case["name"]: case["error"]["message"] for case in document["cases"] if case["error"]}
    assert "allow_pickle" in errors["pickled .npy"] or "pickle" in errors["pickled .npy"].lower()


def test_the_injection_payloads_do_run_when_executed(tmp_path):
    """Positive control for the test above: executed on purpose (Python by exec, shell by sh -c, the
    pickle by np.load with allow_pickle=True), every payload creates its marker, so the absence of
    markers above means nothing executed them."""
    markers = tmp_path / "markers"
    markers.mkdir()

    def marker(key: str) -> Path:
        return markers / f"MARKER-{re.sub(r'[^A-Za-z]+', '_', key)}"

    all_payloads = payloads_by_id(marker)
    python = [p for p, how in all_payloads.values() if how == "python"]
    shell = [p for p, how in all_payloads.values() if how == "shell"]
    program = "\n".join(f"exec({p!r})" for p in python)
    subprocess.run([sys.executable, "-c", program], cwd=tmp_path, check=True, timeout=SUBPROCESS_TIMEOUT)
    for payload in shell:
        subprocess.run(["sh", "-c", payload], cwd=tmp_path, timeout=SUBPROCESS_TIMEOUT, capture_output=True)
    np.save(tmp_path / "evil.npy", np.array([Pickled(marker("pickle"))], dtype=object), allow_pickle=True)
    subprocess.run([sys.executable, "-c", "import numpy; numpy.load('evil.npy', allow_pickle=True)"],
                   cwd=tmp_path, check=True, timeout=SUBPROCESS_TIMEOUT)
    made = {p.name for p in markers.iterdir()}
    wanted = {marker(k).name for k, (_, how) in all_payloads.items() if how} | {marker("pickle").name}
    assert made == wanted
