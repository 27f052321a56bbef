"""What the property-based (fuzz) tests share: their budgets, the property every input must satisfy
(`outcome`), and hypothesis strategies for random text, valid and smooth expression trees, points and
value texts.

Every run is deterministic (derandomize=True) and bounded (EXAMPLES below), so CI sees the same inputs
each time. For a longer local hunt, scale the examples with GRADCHECK_FUZZ_SCALE=10, and draw new inputs
each run with GRADCHECK_FUZZ_RANDOM=1.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re
import traceback
from collections import Counter
from pathlib import Path

from conftest import HANG_GUARD
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import gradcheck
from gradcheck import GradcheckError
import gradcheck.checks.expression as gradcheck_pipeline
from gradcheck.ops.registry import FUNCTIONS
from gradcheck.render.json import render_json
from gradcheck.verdict.result import Report


# Examples per property. The file runs in ~35 s on the project's 2-core machine. For a longer local
# hunt, scale them with GRADCHECK_FUZZ_SCALE=10, and draw new inputs each run with GRADCHECK_FUZZ_RANDOM=1.
SCALE = float(os.environ.get("GRADCHECK_FUZZ_SCALE", "1"))
RANDOM = os.environ.get("GRADCHECK_FUZZ_RANDOM", "") not in ("", "0")


EXAMPLES = {
    "text": 150,  # arbitrary unicode text as the expression
    "grammar_text": 150,  # random strings over the language's own characters
    "token_soup": 200,  # random sequences of the language's tokens
    "stress": 40,  # power towers, nesting near the limit, inputs near and past 10,000 characters
    "every_option": 80,  # random text in expr, let, grad, wrt at once
    "trees": 150,  # random valid trees over every scalar function, random points (some extreme)
    "smooth": 150,  # smooth trees at moderate points: must pass
    "claims": 40,  # a chain-rule derivation of a smooth tree as the claim: must pass (and +1 must not)
    "values": 200,  # random --at value texts for fixed expressions
    "python_values": 60,  # random Python objects as values
    "shapes": 80,  # random shapes for X @ W and elementwise ops
    "toml": 60,  # random expression files, loaded and run in this process
    "cli_batches": 4,  # console-script batches ...
}


CLI_BATCH = 5  # ... of this many inputs each, run two at a time: 20 subprocesses in all


PER_EXAMPLE_SECONDS = HANG_GUARD  # a hang guard, not a speed target: an example takes seconds; no test times one


OK_STATUSES = {"pass", "mismatch", "kink"}


# check(timeout=...) turns a hang into a CheckTimeout after PER_EXAMPLE_SECONDS (a failure here), so a
# slow input fails this file instead of stalling it. Older versions have no time budget.
SUPPORTS_TIMEOUT = "timeout" in inspect.signature(gradcheck_pipeline.check).parameters


def fuzz_settings(kind: str, **extra) -> settings:
    return settings(max_examples=max(1, int(EXAMPLES[kind] * SCALE)), deadline=None, derandomize=not RANDOM,
                    database=None, print_blob=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much, HealthCheck.large_base_example],
                    **extra)


# Inputs these properties once broke are pinned by fixed-input tests beside the module they exercise. A
# bug found later can be listed in KNOWN_BUGS (a name and a predicate on the exception) so the random
# properties keep exploring past it while a strict xfail pins it; the list is empty now.
def _frames(exc: BaseException) -> list[str]:
    return [Path(frame.filename).name for frame in traceback.extract_tb(exc.__traceback__)]


KNOWN_BUGS: dict = {}  # every bug the properties found is fixed and pinned by a test of its own
found_known_bugs: Counter = Counter()


def known_bug(exc: BaseException) -> str | None:
    for name, matches in KNOWN_BUGS.items():
        if matches(exc):
            found_known_bugs[name] += 1
            return name
    return None


def outcome(expr, allow_timeout: bool = False, **kwargs):
    """gradcheck.check(expr, **kwargs): a result with a known status, or the GradcheckError raised
    (or None after a known bug).

    Fails the test if any other exception escapes, if the check hangs (its budget, PER_EXAMPLE_SECONDS,
    runs out), or if the result does not render as JSON and as the table."""
    if SUPPORTS_TIMEOUT:
        kwargs.setdefault("timeout", PER_EXAMPLE_SECONDS)
    try:
        result = gradcheck.check(expr, **kwargs)
    except GradcheckError as exc:
        result = exc
        assert exc.kind != "timeout" or allow_timeout, \
            f"took {kwargs.get('timeout')} s or more: {expr!r:.300}, {kwargs!r:.300}"
        assert isinstance(exc.kind, str) and str(exc)
    except Exception as exc:  # noqa: BLE001 - the property is about which exception escapes
        if known_bug(exc):
            return None
        raise AssertionError(f"{type(exc).__module__}.{type(exc).__qualname__} escaped "
                             f"gradcheck.check({expr!r:.300}, **{kwargs!r:.300}): {exc!s:.300}") from exc
    if not isinstance(result, GradcheckError):
        assert result.status in OK_STATUSES, result.status
        assert math.isfinite(result.value)
        document = json.loads(render_json(Report([result])))  # valid JSON: no NaN, no Infinity
        assert document["cases"][0]["status"] == result.status
        try:
            assert str(result)  # the table renders
        except Exception as exc:  # noqa: BLE001
            if not known_bug(exc):
                raise
    return result


VARIABLES = ("x", "y", "z")


# Functions of arrays only (reductions, row-wise ops, labels); every other registered function is an
# elementwise scalar function and is generated below with its arity, so a new one is covered automatically.
ARRAY_ONLY = {name for name, prim in FUNCTIONS.items() if not prim.elementwise}


# clip(x, lo, hi) and where(cond, a, b) take three arguments (where's first is data): the tree
# strategy builds unary and binary calls; tests/language/test_language_properties.py covers these two.
THREE_ARGUMENTS = {name for name, prim in FUNCTIONS.items() if prim.elementwise and prim.arity == 3}


SCALAR_FUNCTIONS = sorted((name, prim.arity) for name, prim in FUNCTIONS.items()
                          if prim.elementwise and prim.arity < 3)


UNARY = [name for name, arity in SCALAR_FUNCTIONS if arity == 1]


BINARY = [name for name, arity in SCALAR_FUNCTIONS if arity == 2]


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
        # No negative whole-number exponent: 10**-2**99 hangs in SymPy (tests/oracles/test_symbolic_edge_cases.py).
        exponents = draw(st.lists(st.sampled_from(["10", "2", "x", "-x", "0.5", "99", "-0.5", "y", "1e3",
                                                   "999999999999999", "-y"]), min_size=1, max_size=8))
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


moderate = st.floats(-2, 2, allow_nan=False, allow_infinity=False)


# The smooth properties keep nonzero values at least this large. Below it, f's own float64 value can
# lose its digits where terms cancel (exp(x) - exp(-x) at x = 1e-20 is 0, so backprop and numeric see
# another function than SymPy does: a mismatch about f, not about gradients); and in float32, f' of a
# product of up to 10 factors fell under 1.2e-38 / 1e-20 (fixed: tests/oracles/test_complex_step_limits.py).
TINY, TINY_FLOAT32 = 1e-3, 0.05


def away_from_underflow(v: float, floor: float) -> float:
    return math.copysign(floor, v) if 0 < abs(v) < floor else v


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


def _supported(name: str) -> bool:
    return name in inspect.signature(gradcheck_pipeline.check).parameters


TREE_OPTIONS = [{}, {}, {}]
if _supported("method"):
    TREE_OPTIONS += [{"method": m} for m in getattr(gradcheck_pipeline, "METHODS", ()) if m != "auto"]
if _supported("dtype"):
    TREE_OPTIONS.append({"dtype": "float32"})
if _supported("order"):
    TREE_OPTIONS.append({"order": 2})
if _supported("strict"):
    TREE_OPTIONS.append({"strict": True})


@st.composite
def tree_and_point(draw, tree_strategy=general_trees, values=any_value):
    text = draw(tree_strategy)
    return text, draw(point_for((text,), values))


# exp, sin, cos, tanh, sigmoid, softplus, + - *, unary minus and whole powers 1 to 3, always fully
# parenthesised, built together with their structure so the test can evaluate every subexpression.
SMOOTH_UNARY = ["exp", "sin", "cos", "tanh", "sigmoid", "softplus"]


SMOOTH_MATH = {"exp": math.exp, "sin": math.sin, "cos": math.cos, "tanh": math.tanh,
               "sigmoid": lambda v: 1 / (1 + math.exp(-v)), "softplus": lambda v: math.log1p(math.exp(v))}


smooth_leaves = st.one_of(st.sampled_from(VARIABLES), st.sampled_from(VARIABLES),
                          st.sampled_from(["1", "2", "0.5", "3"]))


# The largest |value| of any subexpression at the point (see test_smooth_trees_pass).
SMOOTH_BOUND = 100.0


SMOOTH_BOUND_FLOAT32 = 10.0


@st.composite
def smooth_trees(draw, max_operations: int = 10):
    """(text, structure) of a smooth expression with 1 to max_operations operations."""

    def build(budget: int):
        if budget == 0:
            leaf = draw(smooth_leaves)
            return leaf, ("leaf", leaf)
        kind = draw(st.sampled_from(["op", "op", "neg", "call", "call", "power"]))
        if kind == "op":
            split = draw(st.integers(0, budget - 1))
            (a, left), (b, right), op = build(split), build(budget - 1 - split), draw(st.sampled_from("+-*"))
            return f"({a} {op} {b})", ("op", op, left, right)
        text, node = build(budget - 1)
        if kind == "neg":
            return f"-({text})", ("neg", node)
        if kind == "call":
            name = draw(st.sampled_from(SMOOTH_UNARY))
            return f"{name}({text})", ("call", name, node)
        k = draw(st.integers(1, 3))
        return f"({text}){draw(st.sampled_from(['**', '^']))}{k}", ("pow", node, k)

    return build(draw(st.integers(1, max_operations)))


def evaluate_smooth(node, point: dict[str, float]) -> tuple[float, float]:
    """(value, the largest |value| of any subexpression); (nan, inf) if something overflows."""
    largest = 0.0

    def value(n) -> float:
        nonlocal largest
        kind = n[0]
        if kind == "leaf":
            v = point[n[1]] if n[1] in point else float(n[1])
        elif kind == "neg":
            v = -value(n[1])
        elif kind == "call":
            v = SMOOTH_MATH[n[1]](value(n[2]))
        elif kind == "pow":
            v = value(n[1]) ** n[2]
        else:
            a, b = value(n[2]), value(n[3])
            v = a + b if n[1] == "+" else a - b if n[1] == "-" else a * b
        largest = max(largest, abs(v))
        return v

    try:
        return value(node), largest
    except OverflowError:
        return math.nan, math.inf


# Options of check that must not change the verdict on a smooth, well-conditioned f, where this
# version has them: every numeric method, float32 (with its own tolerances), and the Hessian.
SMOOTH_OPTIONS = [{}]
if _supported("method"):
    SMOOTH_OPTIONS += [{"method": m} for m in getattr(gradcheck_pipeline, "METHODS", ()) if m != "auto"]
if _supported("dtype"):
    SMOOTH_OPTIONS.append({"dtype": "float32"})
if _supported("order"):
    SMOOTH_OPTIONS.append({"order": 2})


def render(node) -> str:
    """The text of a smooth structure, as smooth_trees writes it."""
    kind = node[0]
    if kind == "leaf":
        return node[1]
    if kind == "neg":
        return f"-({render(node[1])})"
    if kind == "call":
        return f"{node[1]}({render(node[2])})"
    if kind == "pow":
        return f"({render(node[1])})**{node[2]}"
    return f"({render(node[2])} {node[1]} {render(node[3])})"


LOCAL_DERIVATIVE = {"exp": "exp({a})", "sin": "cos({a})", "cos": "-sin({a})", "tanh": "(1 - tanh({a})**2)",
                    "sigmoid": "sigmoid({a})*(1 - sigmoid({a}))", "softplus": "sigmoid({a})"}


def derivative(node, var: str) -> str:
    """∂node/∂var as text, by the chain rule written out (a hand derivation, done by the test)."""
    kind = node[0]
    if kind == "leaf":
        return "1" if node[1] == var else "0"
    if kind == "neg":
        return f"-({derivative(node[1], var)})"
    if kind == "call":
        inner = render(node[2])
        return f"{LOCAL_DERIVATIVE[node[1]].format(a=inner)}*({derivative(node[2], var)})"
    if kind == "pow":
        k, inner = node[2], node[1]
        # (a)**0 would be undefined at a = 0 (0**0): write k = 1 and 2 without it
        local = "1" if k == 1 else f"2*({render(inner)})" if k == 2 else f"{k}*({render(inner)})**{k - 1}"
        return f"{local}*({derivative(inner, var)})"
    op, a, b = node[1], node[2], node[3]
    if op in "+-":
        return f"({derivative(a, var)}) {op} ({derivative(b, var)})"
    return f"(({derivative(a, var)})*{render(b)} + {render(a)}*({derivative(b, var)}))"


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
