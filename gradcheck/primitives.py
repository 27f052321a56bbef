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

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from . import array_ops as A

Rule = Callable[..., Any]

REQUIRED = object()  # a static argument with no default

# The value of step(x) and relu'(x) at x = 0. 1/2 is SymPy's Heaviside(0) and also what a central
# difference measures across the kink, so the three oracles agree there (issue 5 reports kinks).
STEP_AT_ZERO = 0.5


def zero_vjp(g, ans, *inputs):
    """Declares that the local derivative is 0 wherever it exists (step, sign): no work is done."""
    return None


def _sigmoid(x):
    if np.iscomplexobj(x):  # complex step: the analytic formula (logaddexp has no complex loop)
        return 1 / (1 + np.exp(-x))
    # exp(-log(1 + e^-x)): no overflow for large |x| and full relative accuracy in both tails.
    return np.exp(-np.logaddexp(0.0, -x))


def _softplus(x):
    if np.iscomplexobj(x):
        return np.log1p(np.exp(x))
    return np.logaddexp(0.0, x)


def _step(x):
    return np.heaviside(x, STEP_AT_ZERO)


def _pow_domain(a, b):
    whole = np.equal(np.floor(b), b)
    return (a > 0) | ((a == 0) & (b > 0)) | ((a < 0) & whole)


@dataclass(frozen=True)
class Primitive:
    name: str
    params: tuple[str, ...]  # the inputs' names in `derivatives` and `domain_text`; len = arity
    forward: Rule  # numpy: (*inputs, **static) -> output
    vjps: tuple[Rule, ...]  # one per input: (g, ans, *inputs, **static) -> g · ∂output/∂input
    sympy: Rule  # (sympy module, *args, **static) -> SymPy form; see `elementwise`
    derivatives: tuple[str, ...]  # ∂output/∂input per input, in the expression language (or the VJP, for array ops)
    summary: str
    domain: Rule | None = None  # (*inputs, **static) -> bool: where forward is defined; None = everywhere
    domain_text: str = ""  # the domain as a condition on the inputs, e.g. "{x} > 0"
    operator: str | None = None  # "+", "-", ... when written as an operator rather than a call
    # Elementwise primitives broadcast like numpy; `sympy` maps scalars and is applied entry by entry.
    # The others (matmul, sum, softmax, ...) have a `shape` rule and a `sympy` that maps whole arrays
    # of SymPy expressions (numpy object arrays).
    elementwise: bool = True
    shape: Rule | None = None  # (*input shapes, **static) -> output shape; raises ValueError when they do not fit
    static: tuple[tuple[str, Any], ...] = ()  # integer constants written in the call: (name, default)
    labels: tuple[int, ...] = ()  # inputs that are integer data (class labels): never differentiated
    syntax: str | None = None  # how it is written when not as a call: "x.T", "x[i, j]"
    aliases: tuple[str, ...] = ()  # function names it may also be called by: pow(a, b) for a ** b
    # Where the primitive is not differentiable: the quantity whose sign picks its branch (relu: x,
    # max: a - b). Such a primitive is not analytic, so the complex-step method cannot go through
    # it, and a finite difference whose two sides fall on different branches has crossed a kink.
    kink: Rule | None = None
    # (*inputs) -> bool: whether the complex step is accurate at these (real) inputs; None: wherever
    # the primitive is analytic. pow's complex form goes through log of its base: at a negative base
    # the step's 1e-20 drowns in the rounding of the angle (x**101 at -1 measured 881,622 for 101).
    complex_step: Rule | None = None

    @property
    def analytic(self) -> bool:
        return self.kink is None

    @property
    def arity(self) -> int:
        return len(self.params)

    def signature(self) -> str:
        if self.syntax:
            return self.syntax
        if self.operator and self.arity == 2:
            return f"{self.params[0]} {self.operator} {self.params[1]}"
        if self.operator:
            return f"{self.operator}{self.params[0]}"
        extra = [name if default is REQUIRED else f"{name}={default}" for name, default in self.static]
        return f"{self.name}({', '.join([*self.params, *extra])})"


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
            "power; also written a ^ b",
            operator="**", domain=_pow_domain, domain_text="{a} > 0, or a whole-number exponent {b}",
            aliases=("pow",), complex_step=lambda a, b: bool(np.all(np.real(a) >= 0))),
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
           lambda sp, x: sp.Max(0, x), "step(x)", "max(x, 0)", kink=lambda x: x),
    _unary("softplus", _softplus, lambda g, ans, x: g * _sigmoid(x),
           lambda sp, x: sp.log(1 + sp.exp(x)), "sigmoid(x)", "log(1 + e^x), a smooth relu"),
    _unary("abs", np.abs, lambda g, ans, x: g * np.sign(x), lambda sp, x: sp.Abs(x), "sign(x)",
           "absolute value", kink=lambda x: x),
    _unary("step", _step, zero_vjp, lambda sp, x: sp.Heaviside(x, sp.Rational(1, 2)), "0",
           "Heaviside step: 1 for x > 0, 0 for x < 0, 1/2 at 0 (relu's derivative)", kink=lambda x: x),
    _unary("sign", np.sign, zero_vjp, lambda sp, x: sp.sign(x), "0", "-1, 0 or 1 (abs's derivative)",
           kink=lambda x: x),
    _binary("max", np.maximum,
            (lambda g, ans, a, b: g * _step(a - b), lambda g, ans, a, b: g * _step(b - a)),
            lambda sp, a, b: sp.Max(a, b), ("step(a - b)", "step(b - a)"), "larger of a and b",
            kink=lambda a, b: a - b),
    _binary("min", np.minimum,
            (lambda g, ans, a, b: g * _step(b - a), lambda g, ans, a, b: g * _step(a - b)),
            lambda sp, a, b: sp.Min(a, b), ("step(b - a)", "step(a - b)"), "smaller of a and b",
            kink=lambda a, b: a - b),
    # ----- arrays: `derivatives` gives the VJP, in terms of the upstream gradient g ---------------
    Primitive("matmul", ("a", "b"), np.matmul, (A.matmul_vjp_a, A.matmul_vjp_b), A.sym_matmul,
              ("g @ b.T", "a.T @ g"), "matrix product of vectors and matrices", operator="@",
              elementwise=False, shape=A.matmul_shape),
    Primitive("transpose", ("x",), np.transpose, (lambda g, ans, x: np.transpose(g),),
              lambda sp, x: x.T, ("g.T",), "transpose", elementwise=False, shape=A.transpose_shape,
              syntax="x.T"),
    Primitive("index", ("x",), A.index, (A.index_vjp,), lambda sp, x, index: A.as_object_array(x[index]),
              ("g at [i, j], 0 elsewhere",), "an entry (or a row) of an array; integer constants only",
              elementwise=False, shape=A.index_shape, static=(("index", REQUIRED),), syntax="x[i, j]"),
    Primitive("sum", ("x",), A.total, (A.total_vjp,), A.sym_sum, ("g copied to every entry",),
              "sum of all entries, or along an axis", elementwise=False, shape=A.reduce_shape,
              static=(("axis", None),)),
    Primitive("mean", ("x",), A.mean, (A.mean_vjp,), A.sym_mean, ("g / n copied to every entry",),
              "mean of all entries, or along an axis", elementwise=False, shape=A.reduce_shape,
              static=(("axis", None),)),
    Primitive("softmax", ("x",), A.softmax, (A.softmax_vjp,), A.sym_softmax,
              ("softmax(x) * (g - sum(g * softmax(x), -1))",), "softmax along the last axis (row-wise)",
              elementwise=False, shape=A.rows_shape),
    Primitive("log_softmax", ("x",), A.log_softmax, (A.log_softmax_vjp,), A.sym_log_softmax,
              ("g - softmax(x) * sum(g, -1)",), "log of softmax along the last axis",
              elementwise=False, shape=A.rows_shape),
    Primitive("logsumexp", ("x",), A.logsumexp, (A.logsumexp_vjp,), A.sym_logsumexp,
              ("g[:, None] * softmax(x)",), "log(sum(exp(x))) along the last axis",
              elementwise=False, shape=A.logsumexp_shape),
    Primitive("softmax_ce", ("z", "y"), A.softmax_ce, (A.softmax_ce_vjp, zero_vjp), A.sym_softmax_ce,
              ("g * (softmax(z) - onehot(y, k)) / m", "none: labels are data"),
              "mean over the m rows of the cross-entropy of softmax(z) with integer labels y",
              elementwise=False, shape=A.softmax_ce_shape, labels=(1,),
              domain=lambda z, y: A.labels_fit(y, np.shape(z)[-1]), domain_text="{y} to hold class numbers 0 … k-1"),
    Primitive("onehot", ("y",), A.onehot, (zero_vjp,), A.sym_onehot, ("none: labels are data",),
              "one row of the k×k identity per label", elementwise=False, shape=A.onehot_shape,
              static=(("k", REQUIRED),), labels=(0,),
              domain=lambda y, k: A.labels_fit(y, k), domain_text="{y} to hold class numbers 0 … k-1"),
)

BY_NAME: dict[str, Primitive] = {p.name: p for p in PRIMITIVES}

# What each operator token builds. `^` is power, as in the course notes, not Python's xor.
BINARY_OPERATORS: dict[str, Primitive] = {
    "+": BY_NAME["add"], "-": BY_NAME["sub"], "*": BY_NAME["mul"], "/": BY_NAME["div"],
    "**": BY_NAME["pow"], "^": BY_NAME["pow"], "@": BY_NAME["matmul"],
}
PREFIX_OPERATORS: dict[str, Primitive] = {"-": BY_NAME["neg"]}

# Functions callable by name: every primitive written as a call, and the aliases (pow(a, b)).
FUNCTIONS: dict[str, Primitive] = {p.name: p for p in PRIMITIVES if p.operator is None and p.syntax is None}
FUNCTIONS.update({alias: p for p in PRIMITIVES for alias in p.aliases})

# Named constants: value and SymPy attribute name.
CONSTANTS: dict[str, tuple[float, str]] = {"pi": (float(np.pi), "pi"), "e": (float(np.e), "E")}
