"""The registry: every primitive gradcheck knows, each defined once.

A Primitive holds everything each part of gradcheck needs about one operation:
- the parser reads its name and arity,
- backprop reads `forward` (numpy) and `vjps` (one vector-Jacobian product per input, HIPS-autograd
  style, with the argument order (g, ans, *inputs) everywhere),
- the symbolic oracle reads `sympy` (a function of the sympy module and the SymPy arguments, so that
  importing this registry does not import SymPy),
- `gradcheck functions` and the tests read `derivatives`: the local derivative with respect to each
  input written in gradcheck's own expression language, checked against `vjps` and SymPy in tests.
Adding a function means adding one entry to PRIMITIVES below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

Rule = Callable[..., Any]

# The value of step(x) and relu'(x) at x = 0. 1/2 is SymPy's Heaviside(0) and also what a central
# difference measures across the kink, so the three oracles agree there (issue 5 reports kinks).
STEP_AT_ZERO = 0.5


def zero_vjp(g, ans, *inputs):
    """Declares that the local derivative is 0 wherever it exists (step, sign): no work is done."""
    return None


def _sigmoid(x):
    # exp(-log(1 + e^-x)): no overflow for large |x| and full relative accuracy in both tails.
    return np.exp(-np.logaddexp(0.0, -x))


def _step(x):
    return np.heaviside(x, STEP_AT_ZERO)


def _pow_domain(a, b):
    whole = np.equal(np.floor(b), b)
    return (a > 0) | ((a == 0) & (b > 0)) | ((a < 0) & whole)


@dataclass(frozen=True)
class Primitive:
    name: str
    params: tuple[str, ...]  # the inputs' names in `derivatives` and `domain_text`; len = arity
    forward: Rule  # numpy: (*inputs) -> output
    vjps: tuple[Rule, ...]  # one per input: (g, ans, *inputs) -> g · ∂output/∂input
    sympy: Rule  # (sympy module, *SymPy args) -> SymPy expression
    derivatives: tuple[str, ...]  # ∂output/∂input per input, in the expression language
    summary: str
    domain: Rule | None = None  # (*inputs) -> bool: where forward is defined; None = everywhere
    domain_text: str = ""  # the domain as a condition on the inputs, e.g. "{x} > 0"
    operator: str | None = None  # "+", "-", ... when written as an operator rather than a call
    aliases: tuple[str, ...] = field(default=())

    @property
    def arity(self) -> int:
        return len(self.params)

    def signature(self) -> str:
        if self.operator and self.arity == 2:
            return f"{self.params[0]} {self.operator} {self.params[1]}"
        if self.operator:
            return f"{self.operator}{self.params[0]}"
        return f"{self.name}({', '.join(self.params)})"


def _unary(name, forward, vjp, sympy, derivative, summary, **extra) -> Primitive:
    return Primitive(name, ("x",), forward, (vjp,), sympy, (derivative,), summary, **extra)


def _binary(name, forward, vjps, sympy, derivatives, summary, **extra) -> Primitive:
    return Primitive(name, ("a", "b"), forward, vjps, sympy, derivatives, summary, **extra)


PRIMITIVES: tuple[Primitive, ...] = (
    # ----- operators -------------------------------------------------------------------------
    _binary("add", np.add, (lambda g, ans, a, b: g, lambda g, ans, a, b: g),
            lambda sp, a, b: a + b, ("1", "1"), "sum", operator="+"),
    _binary("sub", np.subtract, (lambda g, ans, a, b: g, lambda g, ans, a, b: -g),
            lambda sp, a, b: a - b, ("1", "-1"), "difference", operator="-"),
    _binary("mul", np.multiply, (lambda g, ans, a, b: g * b, lambda g, ans, a, b: g * a),
            lambda sp, a, b: a * b, ("b", "a"), "product", operator="*"),
    _binary("div", np.divide, (lambda g, ans, a, b: g / b, lambda g, ans, a, b: -g * ans / b),
            lambda sp, a, b: a / b, ("1/b", "-a/b**2"), "quotient",
            operator="/", domain=lambda a, b: b != 0, domain_text="{b} ≠ 0"),
    _binary("pow", np.power,
            (lambda g, ans, a, b: g * b * np.power(a, b - 1), lambda g, ans, a, b: g * ans * np.log(a)),
            lambda sp, a, b: a**b, ("b*a**(b - 1)", "log(a)*a**b"),
            "power; also written a ** b and a ^ b",
            operator="**", domain=_pow_domain, domain_text="{a} > 0, or a whole-number exponent {b}"),
    _unary("neg", np.negative, lambda g, ans, x: -g, lambda sp, x: -x, "-1", "negation", operator="-"),
    # ----- functions -------------------------------------------------------------------------
    _unary("exp", np.exp, lambda g, ans, x: g * ans, lambda sp, x: sp.exp(x), "exp(x)", "e to the x"),
    _unary("log", np.log, lambda g, ans, x: g / x, lambda sp, x: sp.log(x), "1/x",
           "natural logarithm", domain=lambda x: x > 0, domain_text="{x} > 0"),
    _unary("sqrt", np.sqrt, lambda g, ans, x: g / (2 * ans), lambda sp, x: sp.sqrt(x),
           "1/(2*sqrt(x))", "square root", domain=lambda x: x >= 0, domain_text="{x} ≥ 0"),
    _unary("sin", np.sin, lambda g, ans, x: g * np.cos(x), lambda sp, x: sp.sin(x), "cos(x)", "sine"),
    _unary("cos", np.cos, lambda g, ans, x: -g * np.sin(x), lambda sp, x: sp.cos(x), "-sin(x)", "cosine"),
    _unary("tan", np.tan, lambda g, ans, x: g * (1 + ans * ans), lambda sp, x: sp.tan(x),
           "1 + tan(x)**2", "tangent"),
    _unary("tanh", np.tanh, lambda g, ans, x: g * (1 - ans * ans), lambda sp, x: sp.tanh(x),
           "1 - tanh(x)**2", "hyperbolic tangent"),
    _unary("sigmoid", _sigmoid, lambda g, ans, x: g * ans * (1 - ans),
           lambda sp, x: 1 / (1 + sp.exp(-x)), "sigmoid(x)*(1 - sigmoid(x))",
           "logistic function 1/(1+e^-x)"),
    _unary("relu", lambda x: np.maximum(x, 0.0), lambda g, ans, x: g * _step(x),
           lambda sp, x: sp.Max(0, x), "step(x)", "max(x, 0)"),
    _unary("softplus", lambda x: np.logaddexp(0.0, x), lambda g, ans, x: g * _sigmoid(x),
           lambda sp, x: sp.log(1 + sp.exp(x)), "sigmoid(x)", "log(1 + e^x), a smooth relu"),
    _unary("abs", np.abs, lambda g, ans, x: g * np.sign(x), lambda sp, x: sp.Abs(x), "sign(x)",
           "absolute value"),
    _unary("step", _step, zero_vjp, lambda sp, x: sp.Heaviside(x, sp.Rational(1, 2)), "0",
           "Heaviside step: 1 for x > 0, 0 for x < 0, 1/2 at 0 (relu's derivative)"),
    _unary("sign", np.sign, zero_vjp, lambda sp, x: sp.sign(x), "0", "-1, 0 or 1 (abs's derivative)"),
    _binary("max", np.maximum,
            (lambda g, ans, a, b: g * _step(a - b), lambda g, ans, a, b: g * _step(b - a)),
            lambda sp, a, b: sp.Max(a, b), ("step(a - b)", "step(b - a)"), "larger of a and b"),
    _binary("min", np.minimum,
            (lambda g, ans, a, b: g * _step(b - a), lambda g, ans, a, b: g * _step(a - b)),
            lambda sp, a, b: sp.Min(a, b), ("step(b - a)", "step(a - b)"), "smaller of a and b"),
)

BY_NAME: dict[str, Primitive] = {p.name: p for p in PRIMITIVES}

# What each operator token builds. `^` is power, as in the course notes, not Python's xor.
BINARY_OPERATORS: dict[str, Primitive] = {
    "+": BY_NAME["add"], "-": BY_NAME["sub"], "*": BY_NAME["mul"], "/": BY_NAME["div"],
    "**": BY_NAME["pow"], "^": BY_NAME["pow"],
}
PREFIX_OPERATORS: dict[str, Primitive] = {"-": BY_NAME["neg"]}

# Functions callable by name: every primitive that is not only an operator, plus pow(a, b).
FUNCTIONS: dict[str, Primitive] = {p.name: p for p in PRIMITIVES if p.operator is None}
FUNCTIONS["pow"] = BY_NAME["pow"]

# Named constants: value and SymPy attribute name.
CONSTANTS: dict[str, tuple[float, str]] = {"pi": (float(np.pi), "pi"), "e": (float(np.e), "E")}
