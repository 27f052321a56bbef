"""The expression parser: precedence, numbers, names, calls, error messages and columns, limits.

Structure is checked against hand-written trees and, for a seeded batch of random arithmetic, against
Python's own parser (`ast.parse`, which parses but never runs anything). Values are checked against
Python arithmetic written out in this file, never by evaluating the expression text.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import random

import numpy as np
import pytest

from gradcheck.base.errors import GradcheckError, ParseError
from gradcheck.base.source import EXCERPT_WIDTH
from gradcheck.language.evaluate import value
from gradcheck.language.parser import MAX_NESTING, MAX_TEXT_LENGTH, Scope, parse
from gradcheck.language.tree import Apply, Const, Var, text, topological, variables
from gradcheck.ops.registry import BINARY_OPERATORS, BY_NAME, FUNCTIONS, OVERLOADS, REQUIRED


# ----- helpers -----------------------------------------------------------------------------------
def shape(node):
    """A tree as nested tuples: ('add', 'x', 2.0); a variable is its name, a constant its name or value."""
    if isinstance(node, Var):
        return node.name
    if isinstance(node, Const):
        return node.name if node.name is not None else node.value
    assert isinstance(node, Apply)
    return (node.prim.name, *(shape(a) for a in node.args))


_AST_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}


def python_shape(source: str):
    """The same nested tuples from Python's own parser (with ^ read as **, as gradcheck does)."""

    def walk(node):
        if isinstance(node, ast.BinOp):
            return (_AST_BINARY[type(node.op)], walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return ("neg", walk(node.operand))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
            return walk(node.operand)  # unary plus changes nothing
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Call):
            return (node.func.id, *(walk(a) for a in node.args))
        raise AssertionError(f"unexpected Python node {ast.dump(node)}")

    # parenthesised so that Python accepts leading whitespace and line breaks as gradcheck does
    return walk(ast.parse("(" + source.replace("^", "**") + ")", mode="eval").body)


def evaluate(text_: str, **point: float) -> float:
    return float(value(parse(text_), {k: np.float64(v) for k, v in point.items()}))


def parse_error(text_: str, **kwargs) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(text_, **kwargs)
    return info.value


def accepted(text_: str) -> Apply | Var | Const:
    """parse(), but a refusal fails the test with a one-line reason (no 200-frame traceback to format)."""
    try:
        return parse(text_)
    except ParseError as exc:
        refusal = str(exc)
    pytest.fail(f"refused {text_[:30]!r}...: {refusal}", pytrace=False)


def caret_position(caret: str) -> tuple[str, int, int]:
    """(the character above the first ^, index of the first ^ in its line, number of ^)."""
    shown, marks = caret.split("\n")
    first = marks.index("^")
    return shown[first], first, marks.count("^")


# ----- precedence and associativity --------------------------------------------------------------
STRUCTURE = [
    ("x^2+1", ("add", ("pow", "x", 2.0), 1.0)),
    ("x**2+1", ("add", ("pow", "x", 2.0), 1.0)),
    ("1+x^2", ("add", 1.0, ("pow", "x", 2.0))),
    ("-x**2", ("neg", ("pow", "x", 2.0))),
    ("-x^2", ("neg", ("pow", "x", 2.0))),
    ("2**-x", ("pow", 2.0, ("neg", "x"))),
    ("2^-x", ("pow", 2.0, ("neg", "x"))),
    ("2**-x**2", ("pow", 2.0, ("neg", ("pow", "x", 2.0)))),
    ("a**-b*c", ("mul", ("pow", "a", ("neg", "b")), "c")),
    ("a-b-c", ("sub", ("sub", "a", "b"), "c")),
    ("a-b+c", ("add", ("sub", "a", "b"), "c")),
    ("a/b/c", ("div", ("div", "a", "b"), "c")),
    ("a/b*c", ("mul", ("div", "a", "b"), "c")),
    ("a*b/c", ("div", ("mul", "a", "b"), "c")),
    ("a+b*c", ("add", "a", ("mul", "b", "c"))),
    ("(a+b)*c", ("mul", ("add", "a", "b"), "c")),
    ("a-(b-c)", ("sub", "a", ("sub", "b", "c"))),
    ("2**3**2", ("pow", 2.0, ("pow", 3.0, 2.0))),
    ("2^3^2", ("pow", 2.0, ("pow", 3.0, 2.0))),
    ("2^3**2", ("pow", 2.0, ("pow", 3.0, 2.0))),
    ("(2**3)**2", ("pow", ("pow", 2.0, 3.0), 2.0)),
    ("a**b*c", ("mul", ("pow", "a", "b"), "c")),
    ("-a*b", ("mul", ("neg", "a"), "b")),
    ("a*-b", ("mul", "a", ("neg", "b"))),
    ("a--b", ("sub", "a", ("neg", "b"))),
    ("--a", ("neg", ("neg", "a"))),
    ("+x", "x"),
    ("+-+x", ("neg", "x")),
    ("a + +b", ("add", "a", "b")),
    ("2*+x^2", ("mul", 2.0, ("pow", "x", 2.0))),
    ("sin(x)^2", ("pow", ("sin", "x"), 2.0)),
    ("-sin(x)**2", ("neg", ("pow", ("sin", "x"), 2.0))),
    ("max(a-b, -c)*2", ("mul", ("max", ("sub", "a", "b"), ("neg", "c")), 2.0)),
    ("  a *\tb\n+ c ", ("add", ("mul", "a", "b"), "c")),
]


@pytest.mark.parametrize("source, expected", STRUCTURE, ids=[s for s, _ in STRUCTURE])
def test_structure(source, expected):
    assert shape(parse(source)) == expected


@pytest.mark.parametrize("source", [s for s, _ in STRUCTURE])
def test_structure_matches_python_parser(source):
    assert shape(parse(source)) == python_shape(source)


def test_caret_is_power_not_xor():
    # 6 ^ 3 is 5 in Python (xor) and 216 as a power; gradcheck means the power.
    assert evaluate("6 ^ 3") == 6.0**3
    assert BINARY_OPERATORS["^"] is BINARY_OPERATORS["**"] is BY_NAME["pow"]


def _random_expression(rng: random.Random, depth: int) -> str:
    """Random arithmetic in the common subset of gradcheck and Python (^ is turned into ** for Python)."""
    if depth == 0 or rng.random() < 0.25:
        return rng.choice(["a", "b", "c", "x1", "2", "0.5", ".5", "3.", "1e-3", "7", "pi", "e"])
    kind = rng.random()
    if kind < 0.15:
        return rng.choice(["-", "+", "- "]) + _random_expression(rng, depth - 1)
    if kind < 0.25:
        return f"({_random_expression(rng, depth - 1)})"
    if kind < 0.32:
        return f"sin({_random_expression(rng, depth - 1)})"
    if kind < 0.37:
        return f"max({_random_expression(rng, depth - 1)}, {_random_expression(rng, depth - 1)})"
    op = rng.choice(["+", "-", "*", "/", "**", "^", " + ", " ** "])
    return f"{_random_expression(rng, depth - 1)}{op}{_random_expression(rng, depth - 1)}"


def test_random_expressions_parse_like_python():
    rng = random.Random(20240601)
    for _ in range(400):
        source = _random_expression(rng, 5)
        assert shape(parse(source)) == python_shape(source), source


VALUES = [
    ("x^2+1", dict(x=3.0), lambda x: x**2 + 1),
    ("-x**2", dict(x=3.0), lambda x: -(x**2)),
    ("-x^2", dict(x=3.0), lambda x: -(x**2)),
    ("(-x)**2", dict(x=3.0), lambda x: (-x) ** 2),
    ("2**-x", dict(x=2.0), lambda x: 2.0 ** (-x)),
    ("2^-x^2", dict(x=2.0), lambda x: 2.0 ** (-(x**2))),
    ("a-b-c", dict(a=7.0, b=3.0, c=2.0), lambda a, b, c: (a - b) - c),
    ("a/b/c", dict(a=7.0, b=3.0, c=2.0), lambda a, b, c: (a / b) / c),
    ("a-b+c", dict(a=7.0, b=3.0, c=2.0), lambda a, b, c: (a - b) + c),
    ("a/b*c", dict(a=7.0, b=3.0, c=2.0), lambda a, b, c: (a / b) * c),
    ("a+b*c", dict(a=7.0, b=3.0, c=2.0), lambda a, b, c: a + (b * c)),
    ("a**b*c", dict(a=7.0, b=3.0, c=2.0), lambda a, b, c: (a**b) * c),
    ("a*b**c", dict(a=7.0, b=3.0, c=2.0), lambda a, b, c: a * (b**c)),
    ("-a*b", dict(a=7.0, b=3.0), lambda a, b: (-a) * b),
    ("a--b", dict(a=7.0, b=3.0), lambda a, b: a - (-b)),
    ("+a", dict(a=7.0), lambda a: a),
    ("+-+a", dict(a=7.0), lambda a: -a),
    ("2**3**2", {}, lambda: 2.0 ** (3.0**2.0)),
    ("2^3^2", {}, lambda: 2.0 ** (3.0**2.0)),
    ("(2**3)**2", {}, lambda: (2.0**3.0) ** 2.0),
    ("-2**2", {}, lambda: -(2.0**2.0)),
    ("2**-2**2", {}, lambda: 2.0 ** (-(2.0**2.0))),
    ("10/4/5", {}, lambda: (10.0 / 4.0) / 5.0),
    ("2*pi", {}, lambda: 2 * math.pi),
    ("e^2", {}, lambda: math.e**2),
    ("pow(2, 3) - max(1, 5) + min(1, 5)", {}, lambda: 2.0**3 - 5.0 + 1.0),
]


@pytest.mark.parametrize("source, point, python", VALUES, ids=[v[0] for v in VALUES])
def test_value_matches_python_arithmetic(source, point, python):
    assert evaluate(source, **point) == pytest.approx(python(**point), rel=1e-14)


def test_long_left_associative_chain_is_not_nesting():
    # 3000 terms: a left-leaning tree 2999 deep, far past Python's recursion limit; not a nesting level.
    source = "-".join(["x"] * 3000)
    tree = parse(source)
    assert shape(tree.args[1]) == "x" and tree.prim is BY_NAME["sub"]
    assert len(topological(tree)) == 3000  # one Var and 2999 subtractions
    assert evaluate(source, x=1.5) == 1.5 - 2999 * 1.5


# ----- numbers, constants, variables -------------------------------------------------------------
NUMBERS = [
    ("0", 0.0), ("42", 42.0), ("007", 7.0), ("3.25", 3.25), ("1e-3", 0.001), ("1E3", 1000.0),
    ("2.5e+2", 250.0), (".5", 0.5), ("3.", 3.0), ("0.1", 0.1),
    ("123456789012345678901234567890", 123456789012345678901234567890.0),
]


@pytest.mark.parametrize("source, number", NUMBERS, ids=[n for n, _ in NUMBERS])
def test_numbers(source, number):
    node = parse(source)
    assert isinstance(node, Const)
    assert node.value == number and node.name is None
    assert (node.span.start, node.span.end) == (0, len(source))


def test_integer_literals_are_kept_exact_and_floats_are_not():
    assert parse("2").exact == 2
    assert parse("2.0").exact is None
    assert parse("2e0").exact is None


@pytest.mark.parametrize("name, number", [("pi", math.pi), ("e", math.e)])
def test_constants(name, number):
    node = parse(name)
    assert isinstance(node, Const) and node.name == name and node.value == number
    tree = parse(f"{name}*x")
    assert [v.name for v in variables(tree)] == ["x"]  # a constant is not a variable


def test_names_that_merely_start_like_constants_are_variables():
    tree = parse("pie + e2 + epsilon")
    assert [v.name for v in variables(tree)] == ["pie", "e2", "epsilon"]
    assert parse("1e3").value == 1000.0  # an exponent, not the constant e


def test_repeated_variable_is_one_node():
    tree = parse("x*x + sin(x)")
    product, call = tree.args
    assert product.args[0] is product.args[1] is call.args[0]
    assert len(variables(tree)) == 1
    assert variables(tree)[0].span.start == 0  # the span is where it is first written


def test_variables_in_the_order_written():
    tree = parse("b + a*c + a - sin(d)/b")
    assert [v.name for v in variables(tree)] == ["b", "a", "c", "d"]


def test_variables_are_recorded_in_an_open_scope():
    scope = Scope()
    tree = parse("w1*x1 + w0", scope=scope)
    assert list(scope.variables) == ["w1", "x1", "w0"]
    assert [v for v in variables(tree)] == list(scope.variables.values())


def test_topological_order_inputs_first_each_node_once():
    tree = parse("x*y + x*y + sin(x)")
    order = topological(tree)
    assert order[-1] is tree
    assert len({id(n) for n in order}) == len(order)
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for arg in getattr(node, "args", ()):
            assert position[id(arg)] < position[id(node)]
    # two distinct x*y products (the text is not deduplicated), one x, one y
    assert sum(isinstance(n, Apply) and n.prim.name == "mul" for n in order) == 2
    assert [n.name for n in order if isinstance(n, Var)] == ["x", "y"]


def test_text_of_nodes():
    tree = parse("(x + y) * -z")
    left, right = tree.args
    assert text(left) == "x + y"
    assert text(right) == "-z"
    assert text(tree.args[1].args[0]) == "z"
    assert text(parse("  sin( x )  ")) == "sin( x )"
    assert text(dataclasses.replace(left, label="s")) == "s"


# ----- --let names and closed scopes -------------------------------------------------------------
def test_let_names_resolve_to_their_node():
    scope = Scope()
    body = parse("w*x + b", scope=scope, origin="--let z")
    scope.lets["z"] = body
    tree = parse("sigmoid(z) * z", scope=scope)
    assert tree.args[0].args[0] is body and tree.args[1] is body
    assert [v.name for v in variables(tree)] == ["w", "x", "b"]
    assert sum(n is body for n in topological(tree)) == 1


def test_let_name_called_like_a_function():
    scope = Scope(lets={"z": parse("x+1")})
    err = parse_error("2*z(3)", scope=scope)
    assert "'z' is not a function" in err.message and "missing '*'" in err.message
    assert err.span.start == 2


def test_closed_scope_accepts_known_names():
    scope = Scope()
    tree = parse("w0*x0", scope=scope)
    closed = Scope(lets=scope.lets, variables=scope.variables, closed=True)
    claim = parse("x0 * pi", scope=closed, origin="--grad w0")
    assert claim.args[0] is tree.args[1]
    assert list(scope.variables) == ["w0", "x0"]


def test_closed_scope_rejects_new_names_with_suggestion():
    scope = Scope()
    parse("w0*x0 + w1", scope=scope)
    closed = Scope(variables=scope.variables, closed=True)
    err = parse_error("x0 + w00", scope=closed, origin="--grad w0")
    assert err.message.startswith("unknown variable 'w00' (did you mean 'w0'?)")
    assert "f's variables are w0, w1, x0" in err.message
    assert err.span.start == 5 and err.span.end == 8
    assert str(err).startswith("--grad w0, column 6: ")
    assert list(scope.variables) == ["w0", "x0", "w1"]  # nothing was added


def test_closed_empty_scope():
    err = parse_error("2*y", scope=Scope(closed=True))
    assert err.message == "unknown variable 'y'"


# ----- function calls --------------------------------------------------------------------------
# concatenate and stack take a tuple of arrays (tests/test_language.py)
CALLED_WITH_ARRAYS = sorted(name for name, prim in FUNCTIONS.items() if not prim.variadic)


@pytest.mark.parametrize("name", CALLED_WITH_ARRAYS)
def test_every_function_with_its_arity(name):
    prim = FUNCTIONS[name]
    params = [f"v{i}" for i in range(prim.arity)]
    required = [("3", key) for key, default in prim.static if default is REQUIRED]  # e.g. onehot's k
    tree = parse(f"{name}({', '.join(params + [text for text, _ in required])})")
    assert isinstance(tree, Apply) and tree.prim is prim
    assert [shape(a) for a in tree.args] == params
    assert all(tree.kwargs[key] == 3 for _, key in required)


@pytest.mark.parametrize("name", CALLED_WITH_ARRAYS)
@pytest.mark.parametrize("delta", [-1, 1])
def test_every_function_rejects_wrong_arity(name, delta):
    prim = FUNCTIONS[name]
    candidates = OVERLOADS.get(name, (prim,))  # max(a, b) and max(x, axis, keepdims)
    # too few array arguments, or more than the arrays and every static argument together
    prim = min(candidates, key=lambda p: p.arity)  # the message describes the fewest arguments first
    count = prim.arity - 1 if delta < 0 else max(p.arity + len(p.static) for p in candidates) + 1
    if count < 0:
        count = prim.arity + len(prim.static) + 2
    source = f"{name}({', '.join(['x'] * count)})"
    err = parse_error(source)
    required = prim.arity + sum(1 for _, default in prim.static if default is REQUIRED)
    unit = "argument" if required == 1 else "arguments"
    assert err.message.startswith(f"{name} takes {required} {unit} (")
    assert err.message.endswith(f"got {count}")
    assert (err.span.start, err.span.end) == (0, len(source))


def test_call_arguments_keep_their_order():
    assert evaluate("pow(2, 3)") == 8.0
    assert evaluate("pow(3, 2)") == 9.0
    assert shape(parse("pow(a, b)")) == shape(parse("a ** b"))
    assert evaluate("max(-1, 3) - min(-1, 3)") == 3.0 - (-1.0)


@pytest.mark.parametrize("operator_only", ["add", "sub", "mul", "div", "neg"])
def test_operator_primitives_are_not_callable(operator_only):
    err = parse_error(f"{operator_only}(x, y)")
    assert err.message.startswith(f"unknown function '{operator_only}'")


# ----- error messages and columns --------------------------------------------------------------
ERRORS = [
    # text, start of the span (0-based), end, words the message must contain
    ("sigmoi(x)", 0, 6, ["unknown function 'sigmoi' (did you mean 'sigmoid'?)"]),
    ("Sin(x)", 0, 3, ["unknown function 'Sin' (did you mean 'sin'?)"]),
    ("x +", 3, 4, ["ends too early"]),
    ("x ** ", 5, 6, ["ends too early"]),
    ("(x", 0, 1, ["'(' is never closed"]),
    ("sin((x)", 3, 4, ["'(' is never closed"]),
    ("2x", 1, 2, ["missing operator before 'x'"]),
    ("sin(2 x)", 6, 7, ["missing operator before 'x'"]),
    ("(x)(y)", 3, 4, ["missing operator before '('"]),
    ("x)", 1, 2, ["unexpected ')'"]),
    ("x = 3", 2, 3, ["unexpected '='", "not an assignment", "--let"]),
    ("sigmoid", 0, 7, ["'sigmoid' is a function", "sigmoid(...)"]),
    ("1 + sin", 4, 7, ["'sin' is a function"]),
    ("x*x(2)", 2, 3, ["'x' is not a function (missing '*' before '('?)"]),
    ("pi(2)", 0, 2, ["'pi' is not a function"]),
    ("not x", 0, 3, ["'not' is Python syntax"]),
    ("x + None", 4, 8, ["None is only allowed as an argument, like keepdims=True"]),
    ("x + (1, 2)", 4, 10, ["a tuple (a, b) is only allowed as an argument"]),
    ("x.reshape((2, 3))", 1, 9, ["methods are not supported: write reshape(x, ...)"]),
    ("a < b < c", 6, 7, ["comparisons cannot be chained"]),
    ("concatenate(a, axis=0)", 12, 13, ["concatenate takes a tuple of arrays first"]),
    ("lambda(x)", 0, 6, ["'lambda' is Python syntax"]),
    ("x.y", 1, 3, ["attribute access ('.y') is not allowed"]),
    ("x.__class__", 1, 11, ["attribute access ('.__class__') is not allowed"]),
    ("x[1:y]", 4, 5, ["a slice bound must be a whole number written as a constant"]),
    ("x[0.5]", 2, 5, ["an index must be a whole number written as a constant"]),
    ("[x]", 0, 1, ["lists are not allowed"]),
    ("'abc'", 0, 1, ["strings are not allowed"]),
    ('1 + "abc"', 4, 5, ["strings are not allowed"]),
    ("σ(x)", 0, 1, ["unexpected character 'σ'", "ASCII"]),
    ("x + é", 4, 5, ["unexpected character 'é'", "ASCII"]),
    ("x\0", 1, 2, ["unexpected character '\\x00'"]),
    ("x % 2", 2, 3, ["unexpected character '%'"]),
    ("x @ @ y", 4, 5, ["unexpected '@'"]),
    ("sum(x, axis=y)", 12, 13, ["sum's axis must be a constant: a number, a tuple like (0, 1)"]),
    ("sum(x, ax=1)", 7, 9, ["sum has no argument 'ax' (did you mean 'axis'?)"]),
    ("onehot(y)", 0, 9, ["onehot needs its argument 'k'"]),
    ("x, y", 1, 2, ["unexpected ','"]),
    ("1e999", 0, 5, ["number too large: 1e999"]),
    ("2 * " + "9" * 400, 4, 404, ["number too large: " + "9" * 20 + "…"]),
]


@pytest.mark.parametrize("source, start, end, words", ERRORS, ids=[e[0][:20] for e in ERRORS])
def test_error_message_and_column(source, start, end, words):
    err = parse_error(source)
    assert isinstance(err, GradcheckError)
    for word in words:
        assert word in err.message
    assert (err.span.start, err.span.end) == (start, end)
    assert str(err) == f"the expression, column {start + 1}: {err.message}"
    assert err.excerpt() == err.span.caret()


def test_unknown_function_caret():
    err = parse_error("sigmoi(x)")
    assert "unknown function 'sigmoi'" in err.message and "did you mean 'sigmoid'" in err.message
    assert err.span.caret() == "  sigmoi(x)\n  ^^^^^^"


@pytest.mark.parametrize("source", ["x + 1)", "2 * sin(x", "x +* y", "σ + 1", "x + 1e999"])
def test_caret_sits_under_the_offending_text(source):
    err = parse_error(source)
    above, _, width = caret_position(err.span.caret())
    if source[err.span.start].isprintable():
        assert above == source[err.span.start]
    assert width == max(1, err.span.end - err.span.start)


def test_caret_in_a_long_text_is_cut_around_the_column():
    source = "x+" * 2000 + "x)" + "+x" * 2000
    err = parse_error(source)
    assert err.message == "unexpected ')'" and err.span.start == 4001
    caret = err.span.caret()
    above, _, width = caret_position(caret)
    assert above == ")" and width == 1
    assert all(len(line) <= EXCERPT_WIDTH + 4 for line in caret.split("\n"))


def test_control_characters_are_not_echoed_raw():
    err = parse_error("x\0\x1b[2J")
    assert err.span.start == 1
    caret = err.span.caret()
    assert "\0" not in caret and "\x1b" not in caret and "\0" not in str(err)


@pytest.mark.parametrize("source", ["", "   ", "\t\n"])
def test_empty_text(source):
    err = parse_error(source)
    assert err.message == "the expression is empty"
    assert parse_error(source, origin="--let z").message == "--let z is empty"


def test_error_names_its_origin():
    err = parse_error("w0 +", origin="--grad w0")
    assert str(err).startswith("--grad w0, column 5: ") and "ends too early" in str(err)


@pytest.mark.parametrize("source", ["lambda x: x", "lambda: 0", "x if y else z", "not x", "x and y", "x or y"])
def test_python_keywords_are_rejected(source):
    err = parse_error(source)
    assert 0 <= err.span.start < len(source)


def test_lambda_is_reported_as_python_syntax():
    err = parse_error("lambda x: x")
    assert "'lambda' is Python syntax" in err.message and "arithmetic only" in err.message
    assert err.span.start == 0


def test_conditional_expression_is_reported_as_python_syntax():
    err = parse_error("x if y else z")
    assert "'if' is Python syntax" in err.message and "arithmetic only" in err.message
    assert err.span.start == 2


# ----- limits ----------------------------------------------------------------------------------
def _sum_of_length(length: int) -> str:
    """x+x+...+x padded with spaces to exactly `length` characters."""
    terms = (length + 1) // 2
    source = "+".join(["x"] * terms)
    return source + " " * (length - len(source))


def test_text_at_the_length_limit_parses():
    source = _sum_of_length(MAX_TEXT_LENGTH)
    assert len(source) == MAX_TEXT_LENGTH
    assert evaluate(source, x=1.0) == (MAX_TEXT_LENGTH + 1) // 2


def test_text_over_the_length_limit_fails_with_its_length():
    source = _sum_of_length(MAX_TEXT_LENGTH + 1)
    err = parse_error(source)
    assert f"{MAX_TEXT_LENGTH + 1:,} characters" in err.message and f"limit is {MAX_TEXT_LENGTH:,}" in err.message
    assert parse_error(source, origin="--let z").message.startswith(f"--let z is {MAX_TEXT_LENGTH + 1:,} characters")


def test_length_is_checked_before_anything_else():
    # a megabyte of characters the tokenizer would refuse: the length is what is reported
    err = parse_error("σ" * 1_000_000)
    assert "1,000,000 characters long" in err.message


NESTINGS = {
    "parentheses": lambda n: "(" * n + "x" + ")" * n,
    "calls": lambda n: "sin(" * n + "x" + ")" * n,
    "unary minus": lambda n: "-" * n + "x",
    "power tower": lambda n: "x**" * n + "x",
    "caret tower": lambda n: "x^" * n + "x",
    "mixed": lambda n: "".join(["(", "sin(", "-", "x**"][i % 4] for i in range(n)) + "x"
             + "".join([")", ")", "", ""][i % 4] for i in reversed(range(n))),
}


def _depth(tree) -> int:
    """How many operations/levels are nested along the deepest path (a leaf is 0)."""
    best, stack = 0, [(tree, 0)]
    while stack:
        node, d = stack.pop()
        best = max(best, d)
        stack.extend((a, d + 1) for a in getattr(node, "args", ()))
    return best


@pytest.mark.parametrize("kind", list(NESTINGS))
def test_nesting_just_under_the_limit_parses(kind):
    tree = parse(NESTINGS[kind](MAX_NESTING - 1))
    if kind in ("calls", "unary minus", "power tower", "caret tower"):
        assert _depth(tree) == MAX_NESTING - 1  # one operation per level
    assert [v.name for v in variables(tree)] == ["x"]


@pytest.mark.parametrize("kind", list(NESTINGS))
def test_nesting_exactly_at_the_limit_parses(kind):
    tree = accepted(NESTINGS[kind](MAX_NESTING))
    assert [v.name for v in variables(tree)] == ["x"]


def _deepest_that_fits(kind: str) -> int:
    """The most levels of `kind` that still fit in MAX_TEXT_LENGTH characters."""
    per_level = len(NESTINGS[kind](100)) / 100
    levels = int(MAX_TEXT_LENGTH / per_level)
    while len(NESTINGS[kind](levels)) > MAX_TEXT_LENGTH:
        levels -= 1
    return levels


@pytest.mark.parametrize("kind", list(NESTINGS))
@pytest.mark.parametrize("extra", [1, 2, "as deep as fits"])
def test_nesting_over_the_limit_fails(kind, extra):
    levels = _deepest_that_fits(kind) if extra == "as deep as fits" else MAX_NESTING + extra
    source = NESTINGS[kind](levels)
    assert levels > MAX_NESTING and len(source) <= MAX_TEXT_LENGTH
    err = parse_error(source)  # a ParseError, never a RecursionError
    assert f"nested more than {MAX_NESTING} levels" in err.message
    # the caret points into the deep part, not at the start
    assert MAX_NESTING - 1 <= err.span.start < len(source)


def test_nesting_value_is_right_just_under_the_limit():
    n = MAX_NESTING - 1
    assert evaluate(NESTINGS["unary minus"](n), x=2.0) == (-2.0 if n % 2 else 2.0)
    assert evaluate(NESTINGS["parentheses"](n), x=2.0) == 2.0
    assert evaluate(NESTINGS["caret tower"](n) + " + 1", x=1.0) == 2.0


@pytest.mark.parametrize("kind", ["parentheses", "calls", "unary minus", "power tower"])
def test_nesting_limit_does_not_depend_on_the_side_of_a_sum(kind):
    deep = NESTINGS[kind](MAX_NESTING - 1)
    accepted(deep + " + 1")  # parses (see test_nesting_just_under_the_limit_parses)
    accepted("1 + " + deep)
