"""The registry: every primitive gradcheck knows, each defined once.

A Primitive holds everything each part of gradcheck needs about one operation:
- the parser reads its name and arity,
- backprop reads `forward` (numpy) and `vjps` (one vector-Jacobian product per input, HIPS-autograd
  style, with the argument order (g, ans, *inputs) everywhere),
- the symbolic oracle reads `sympy` (a function of the sympy module and the SymPy arguments, so that
  importing this registry does not import SymPy),
- `gradcheck functions` and the tests read `derivatives`: the local derivative with respect to each
  input written in gradcheck's own expression language, checked against `vjps` and SymPy in tests,
- the symbolic oracle's evaluator reads `mpmath` (how to evaluate the SymPy functions its form
  introduces) and its size limit reads `cost`,
- the parser reads `operator`, `precedence` and `right_associative`,
- the complex step reads `complex_form` (how it evaluates on x + ih), the kink guard reads `kink`,
  and messages name them (WITHOUT_COMPLEX_FORM, KINKED).
Adding a function means adding one entry to PRIMITIVES below; nothing else (tests/test_registry.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import arrays as A
from . import convolution as C
from . import matrix_rules as M
from . import reductions as R
from . import shaping as S
from . import ties as T

Rule = Callable[..., Any]

REQUIRED = object()  # a static argument with no default
AS_FORWARD = object()  # complex_form: `forward` itself is analytic and takes complex input

# The value of step(x) and relu'(x) at x = 0. 1/2 is SymPy's Heaviside(0) and also what a central
# difference measures across the kink, so the three oracles agree there (issue 5 reports kinks).
STEP_AT_ZERO = 0.5


def zero_vjp(g, ans, *inputs):
    """Declares that the local derivative is 0 wherever it exists (step, sign): no work is done."""
    return


def with_absolute_inputs(rule: Rule) -> Rule:
    """A VJP rule on |inputs|: for a rule linear in each input apart (a matrix product, a
    convolution), whose Jacobian is built of the other inputs' entries, this is |J|^T s
    (Primitive.sizes): a_ik b_kj summed as |a_ik| |b_kj|."""

    def sizes(s, ans, *inputs, **static):
        return rule(s, ans, *(np.abs(x) for x in inputs), **static)

    return sizes


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


def _mp_heaviside(mp, x, at_zero=None):
    at_zero = mp.mpf(STEP_AT_ZERO) if at_zero is None else at_zero
    return mp.mpf(1) if x > 0 else mp.mpf(0) if x < 0 else at_zero


def _mp_dirac(mp, x, *rest):
    if x == 0:
        raise ValueError("DiracDelta at 0")
    return mp.mpf(0)


# Binding powers of the operators (higher binds tighter): Python's order, with ^ as power.
COMPARE, SUM, PRODUCT, UNARY, POWER = 5, 10, 20, 30, 40


_real_erf = np.vectorize(math.erf, otypes=[np.float64])


def _erf(x):
    """numpy has no erf; the standard library's is accurate to a few ulps. Real input only: so erf and
    gelu have no complex form (a complex erf needs the Faddeeva function, which only scipy has, and
    scipy is not a dependency), and the complex step does not go through them."""
    out = _real_erf(x)
    return out.astype(np.result_type(x, np.float32)) if np.ndim(out) else np.asarray(out, np.result_type(x, np.float32))[()]


# GELU: x·Φ(x) with Φ the standard normal CDF, and its tanh approximation with the constant
# 0.044715 of Hendrycks & Gimpel, "Gaussian Error Linear Units" (2016), eq. 2.
GELU_TANH_CUBIC = 0.044715
SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _gelu(x):
    return x * (1 + _erf(x / math.sqrt(2))) / 2


def _gelu_vjp(g, ans, x):
    return g * ((1 + _erf(x / math.sqrt(2))) / 2 + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi))


def _gelu_tanh(x):
    return x * (1 + np.tanh(SQRT_2_OVER_PI * (x + GELU_TANH_CUBIC * x**3))) / 2


def _gelu_tanh_vjp(g, ans, x):
    t = np.tanh(SQRT_2_OVER_PI * (x + GELU_TANH_CUBIC * x**3))
    return g * ((1 + t) / 2 + x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_TANH_CUBIC * x * x) / 2)


def _sym_gelu_tanh(sp, x):
    cubic = sp.Rational(44715, 1_000_000)  # GELU_TANH_CUBIC, exactly
    return x * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (x + cubic * x**3))) / 2


def _log_sigmoid(x):
    if np.iscomplexobj(x):
        return -np.log1p(np.exp(-x))
    return -np.logaddexp(0.0, -x)


def _elu(x):
    below = np.real(x) <= 0
    return np.where(below, np.expm1(np.where(below, x, 0)), x)  # the unused branch never overflows


def _leaky_relu(x, a):
    return np.where(np.real(x) > 0, x, a * x)


def _compare(test):
    def compare(a, b):
        real_a, real_b = np.real(a), np.real(b)
        return test(real_a, real_b).astype(np.result_type(real_a, real_b, np.float32))
    return compare


def _clip(x, lo, hi):
    return np.minimum(np.maximum(x, lo), hi)


# ----- complex forms: each piece is analytic, and the real part picks the piece --------------------
# Under the complex step x + ih (h ~ 1e-20) every real part is the point's own, so each kink
# quantity has the point's sign and the piece taken is the point's: f(x + ih).imag / h is the
# derivative of that piece, exactly. On a kink itself (real part 0) the numeric oracle does not use it.


def _relu_complex(x):
    return np.where(np.real(x) > 0, x, 0.0)


def _abs_complex(x):
    return x * np.sign(np.real(x))


def _real_part(rule):
    """A piecewise-constant primitive (step, sign) on complex input: its value at the real part;
    its imaginary part is 0, the derivative away from the jump."""
    return lambda *inputs, **static: rule(*(np.real(v) for v in inputs), **static)


def _max_complex(a, b):
    return np.where(np.real(a) >= np.real(b), a, b)


def _min_complex(a, b):
    return np.where(np.real(a) <= np.real(b), a, b)


def _clip_complex(x, lo, hi):
    return _min_complex(_max_complex(x, lo), hi)


# Exponents up to this size are raised by repeated squaring (at most 62 squarings); larger ones do
# not fit an int64 and are left to np.power.
WHOLE_POWER_MAX = 2.0**62


def _pow_complex(a, b):
    """a**b on the complex step's input. Where the exponent is a real whole number (it is not the one
    stepped), by repeated squaring, which is analytic in a for a negative base too; np.power itself
    does that only for |b| < 100 and otherwise goes through log(a), whose angle's rounding drowns the
    step at a negative base (x**101 at -1 measured 881,622 for 101)."""
    a, b = np.asarray(a), np.asarray(b)
    real_b = np.real(b)
    whole = (np.imag(b) == 0) & (np.floor(real_b) == real_b) & (np.abs(real_b) < WHOLE_POWER_MAX)
    if not np.any(whole):
        return np.power(a, b)
    z, n = np.broadcast_arrays(a.astype(np.complex128), np.where(whole, real_b, 0).astype(np.int64))
    result, square, left = np.ones(z.shape, dtype=np.complex128), z.copy(), np.abs(n)
    with np.errstate(all="ignore"):
        while np.any(left):
            result = np.where(left & 1, result * square, result)
            square, left = square * square, left >> 1
        exact = np.where(n < 0, 1 / result, result)
        return np.where(whole, exact, np.power(a, b))


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
    precedence: int = 0  # the operator's binding power (SUM … POWER above)
    right_associative: bool = False  # a ** b ** c is a ** (b ** c); its right side may start with a unary -
    operator_aliases: tuple[str, ...] = ()  # other spellings of the operator: ^ for **
    # Elementwise primitives broadcast like numpy; `sympy` maps scalars and is applied entry by entry.
    # The others (matmul, sum, softmax, ...) have a `shape` rule and a `sympy` that maps whole arrays
    # of SymPy expressions (numpy object arrays).
    elementwise: bool = True
    shape: Rule | None = None  # (*input shapes, **static) -> output shape; raises ValueError when they do not fit
    static: tuple[tuple[str, Any], ...] = ()  # integer constants written in the call: (name, default)
    # Inputs that are data (class labels, a condition): never differentiated. `vjps` and `derivatives`
    # list only the other inputs; the registry fills in "no gradient" for these.
    labels: tuple[int, ...] = ()
    syntax: str | None = None  # how it is written when not as a call: "x.T", "x[i, j]"
    aliases: tuple[str, ...] = ()  # function names it may also be called by: pow(a, b) for a ** b
    # Where the primitive is not differentiable: the quantity whose sign picks its branch (relu: x,
    # max: a - b). A finite difference whose two sides fall on different branches has crossed a kink,
    # and the complex step is not used where it is exactly 0. On complex input it keeps the imaginary
    # parts (relu: x + ih itself), so that 0 + i·0 says the step does not move it.
    kink: Rule | None = None
    # How it evaluates on complex input, for the complex step: AS_FORWARD when `forward` is analytic
    # and takes complex input; for a piecewise primitive, a rule that evaluates the piece the real
    # part picks (relu(z) = z where Re z > 0, else 0); None when there is no complex form.
    complex_form: Any = AS_FORWARD  # a Rule, AS_FORWARD or None
    # How mpmath evaluates the SymPy functions `sympy` introduces (its derivatives included), by the
    # SymPy class name: (("erf", lambda mp, x: mp.erf(x)),). A function without a rule anywhere in
    # the registry is evaluated by SymPy itself, more slowly.
    mpmath: tuple[tuple[str, Rule], ...] = ()
    # Written with a tuple of any length as its first argument, folded two at a time: "concatenate"
    # folds (a, b, c) as ((a, b), c); "stack" first gives a its new axis (expand_dims).
    variadic: str | None = None
    # Scalar operations in the elementwise expansion: (output shape, *input shapes, **static) -> int.
    # None: one per output entry (or per input entry, if more). The symbolic size limit reads it.
    cost: Rule | None = None
    # The VJP as an expression (matrix_rules.py): one rule per input, (G, ans, *inputs, **static) on
    # Terms -> the input's gradient expression, `G @ b.T`. None: no matrix form; elementwise
    # primitives without one use G * `derivatives` (matrix_form.py).
    matrix: tuple[Rule | None, ...] | None = None
    # The inputs in which it is linear, the others held fixed (matmul: both): f(x + iy) = f(x) + i f(y)
    # for real x, y, which lets the complex step reuse f(x) and evaluate f(y) in real arithmetic.
    linear: tuple[int, ...] = ()
    # How big the terms are that a VJP adds up, for backprop's rounding (oracles/backprop.py): one rule
    # per input, (s, ans, *inputs, **static) with s >= 0 -> |J|^T s, the VJP with every term made
    # positive. None (or a None entry): the VJP rule's own result, made positive entry by entry before
    # broadcasting is undone, which is |J|^T s wherever the rule sums nothing. A rule that sums terms
    # of both signs needs its own: a matrix product sums a_ik b_kj (with_absolute_inputs), softmax
    # subtracts a sum. Without one, 0.1 + 0.2 - 0.3 summed by X.T @ G rounds as if it were 5.6e-17.
    sizes: tuple[Rule | None, ...] | None = None

    def __post_init__(self):
        if self.labels:  # declared once: a data input has no gradient
            vjps, derivatives = iter(self.vjps), iter(self.derivatives)
            object.__setattr__(self, "vjps", tuple(zero_vjp if i in self.labels else next(vjps)
                                                   for i in range(self.arity)))
            object.__setattr__(self, "derivatives", tuple("none: data, not differentiated" if i in self.labels
                                                          else next(derivatives) for i in range(self.arity)))
            if self.matrix is not None:
                rules = iter(self.matrix)
                object.__setattr__(self, "matrix", tuple(None if i in self.labels else next(rules)
                                                         for i in range(self.arity)))

    @property
    def complex_forward(self) -> Rule | None:
        """The rule that evaluates it on complex input (the complex step), or None if it has none."""
        return self.forward if self.complex_form is AS_FORWARD else self.complex_form

    @property
    def analytic(self) -> bool:
        """Smooth everywhere: no kink, and a complex form (the complex step goes through the others too,
        away from their kinks)."""
        return self.kink is None and self.complex_form is not None

    @property
    def jumps(self) -> bool:
        """Piecewise constant (step, sign, a comparison): at its switch f jumps, with no derivative."""
        return self.kink is not None and all(v is zero_vjp for v in self.vjps)

    @property
    def called(self) -> bool:
        """Whether it is written as a call of its name (not an operator, x.T or x[i])."""
        return self.operator is None and (self.syntax is None or self.syntax.startswith(self.name + "("))

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
            lambda sp, a, b: a + b, ("1", "1"), "sum", operator="+", precedence=SUM, matrix=(M.add_a, M.add_a),
            mpmath=(("Add", lambda mp, *a: mp.fsum(a)),)),
    _binary("sub", np.subtract, (lambda g, ans, a, b: g, lambda g, ans, a, b: -g),
            lambda sp, a, b: a - b, ("1", "-1"), "difference", operator="-", precedence=SUM,
            matrix=(M.add_a, M.sub_b)),
    _binary("mul", np.multiply, (lambda g, ans, a, b: g * b, lambda g, ans, a, b: g * a),
            lambda sp, a, b: a * b, ("b", "a"), "product", operator="*", precedence=PRODUCT,
            matrix=(M.mul_a, M.mul_b),
            mpmath=(("Mul", lambda mp, *a: mp.fprod(a)),)),
    _binary("div", np.divide, (lambda g, ans, a, b: g / b, lambda g, ans, a, b: -g * ans / b),
            lambda sp, a, b: a / b, ("1/b", "-a/b**2"), "quotient",
            operator="/", precedence=PRODUCT, domain=lambda a, b: b != 0, domain_text="{b} ≠ 0",
            matrix=(M.div_a, M.div_b)),
    _binary("pow", np.power,
            (lambda g, ans, a, b: g * b * np.power(a, b - 1), lambda g, ans, a, b: g * ans * np.log(a)),
            lambda sp, a, b: a**b, ("b*a**(b - 1)", "log(a)*a**b"),
            "power; also written a ^ b",
            operator="**", precedence=POWER, right_associative=True, operator_aliases=("^",),
            domain=_pow_domain, domain_text="{a} > 0, {a} = 0 with {b} > 0, or {a} < 0 with a whole-number exponent {b}",
            aliases=("pow",), mpmath=(("Pow", lambda mp, b, e: mp.power(b, e)),),
            complex_form=_pow_complex, matrix=(M.pow_a, M.pow_b)),
    _unary("neg", np.negative, lambda g, ans, x: -g, lambda sp, x: -x, "-1", "negation", operator="-",
           precedence=UNARY, matrix=(M.neg_x,)),
    # ----- functions -------------------------------------------------------------------------
    _unary("exp", np.exp, lambda g, ans, x: g * ans, lambda sp, x: sp.exp(x), "exp(x)", "e to the x",
           mpmath=(("exp", lambda mp, x: mp.exp(x)),), matrix=(M.exp_x,)),
    _unary("log", np.log, lambda g, ans, x: g / x, lambda sp, x: sp.log(x), "1/x",
           "natural logarithm", domain=lambda x: x > 0, domain_text="{x} > 0",
           mpmath=(("log", lambda mp, x: mp.log(x) if x > 0 else None),), matrix=(M.log_x,)),
    _unary("log1p", np.log1p, lambda g, ans, x: g / (1 + x), lambda sp, x: sp.log(1 + x), "1/(1 + x)",
           "log(1 + x), accurate for small x", domain=lambda x: x > -1, domain_text="{x} > -1"),
    _unary("expm1", np.expm1, lambda g, ans, x: g * (ans + 1), lambda sp, x: sp.exp(x) - 1, "exp(x)",
           "e to the x, minus 1, accurate for small x"),
    _unary("sqrt", np.sqrt, lambda g, ans, x: g / (2 * ans), lambda sp, x: sp.sqrt(x),
           "1/(2*sqrt(x))", "square root", domain=lambda x: x >= 0, domain_text="{x} ≥ 0"),
    _unary("sin", np.sin, lambda g, ans, x: g * np.cos(x), lambda sp, x: sp.sin(x), "cos(x)", "sine",
           mpmath=(("sin", lambda mp, x: mp.sin(x)),)),
    _unary("cos", np.cos, lambda g, ans, x: -g * np.sin(x), lambda sp, x: sp.cos(x), "-sin(x)", "cosine",
           mpmath=(("cos", lambda mp, x: mp.cos(x)),)),
    _unary("tan", np.tan, lambda g, ans, x: g * (1 + ans * ans), lambda sp, x: sp.tan(x),
           "1 + tan(x)**2", "tangent",
           mpmath=(("tan", lambda mp, x: mp.tan(x)),)),
    _unary("arcsin", np.arcsin, lambda g, ans, x: g / np.sqrt(1 - x * x), lambda sp, x: sp.asin(x),
           "1/sqrt(1 - x**2)", "inverse sine", domain=lambda x: (x >= -1) & (x <= 1), domain_text="-1 ≤ {x} ≤ 1",
           mpmath=(("asin", lambda mp, x: mp.asin(x) if -1 <= x <= 1 else None),)),
    _unary("arccos", np.arccos, lambda g, ans, x: -g / np.sqrt(1 - x * x), lambda sp, x: sp.acos(x),
           "-1/sqrt(1 - x**2)", "inverse cosine", domain=lambda x: (x >= -1) & (x <= 1), domain_text="-1 ≤ {x} ≤ 1",
           mpmath=(("acos", lambda mp, x: mp.acos(x) if -1 <= x <= 1 else None),)),
    _unary("arctan", np.arctan, lambda g, ans, x: g / (1 + x * x), lambda sp, x: sp.atan(x),
           "1/(1 + x**2)", "inverse tangent", mpmath=(("atan", lambda mp, x: mp.atan(x)),)),
    _unary("sinh", np.sinh, lambda g, ans, x: g * np.cosh(x), lambda sp, x: sp.sinh(x), "cosh(x)",
           "hyperbolic sine", mpmath=(("sinh", lambda mp, x: mp.sinh(x)),)),
    _unary("cosh", np.cosh, lambda g, ans, x: g * np.sinh(x), lambda sp, x: sp.cosh(x), "sinh(x)",
           "hyperbolic cosine", mpmath=(("cosh", lambda mp, x: mp.cosh(x)),)),
    _unary("tanh", np.tanh, lambda g, ans, x: g * (1 - ans * ans), lambda sp, x: sp.tanh(x),
           "1 - tanh(x)**2", "hyperbolic tangent",
           mpmath=(("tanh", lambda mp, x: mp.tanh(x)),), matrix=(M.tanh_x,)),
    _unary("sigmoid", _sigmoid, lambda g, ans, x: g * ans * (1 - ans),
           lambda sp, x: 1 / (1 + sp.exp(-x)), "sigmoid(x)*(1 - sigmoid(x))",
           "logistic function 1/(1+e^-x)", matrix=(M.sigmoid_x,)),
    _unary("log_sigmoid", _log_sigmoid, lambda g, ans, x: g * _sigmoid(-x),
           lambda sp, x: -sp.log(1 + sp.exp(-x)), "sigmoid(-x)", "log(sigmoid(x)), stable for large |x|"),
    _unary("silu", lambda x: x * _sigmoid(x), lambda g, ans, x: g * _sigmoid(x) * (1 + x * (1 - _sigmoid(x))),
           lambda sp, x: x / (1 + sp.exp(-x)), "sigmoid(x)*(1 + x*(1 - sigmoid(x)))",
           "x·sigmoid(x) (swish)"),
    _unary("erf", _erf, lambda g, ans, x: g * 2 / math.sqrt(math.pi) * np.exp(-x * x), lambda sp, x: sp.erf(x),
           "2*exp(-x**2)/sqrt(pi)", "error function", complex_form=None,
           mpmath=(("erf", lambda mp, x: mp.erf(x)),)),
    _unary("gelu", _gelu, _gelu_vjp, lambda sp, x: x * (1 + sp.erf(x / sp.sqrt(2))) / 2,
           "(1 + erf(x/sqrt(2)))/2 + x*exp(-x**2/2)/sqrt(2*pi)", "x·Φ(x), Φ the normal CDF (exact GELU)",
           complex_form=None),
    _unary("gelu_tanh", _gelu_tanh, _gelu_tanh_vjp, _sym_gelu_tanh,
           "(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3)))/2 + "
           "x*(1 - tanh(sqrt(2/pi)*(x + 0.044715*x**3))**2)*sqrt(2/pi)*(1 + 3*0.044715*x**2)/2",
           "GELU's tanh approximation x/2·(1 + tanh(√(2/π)(x + 0.044715x³)))"),
    _unary("relu", lambda x: np.maximum(x, 0.0), lambda g, ans, x: g * _step(x),
           lambda sp, x: sp.Max(0, x), "step(x)", "max(x, 0)", kink=lambda x: x, matrix=(M.relu_x,),
           complex_form=_relu_complex),
    Primitive("leaky_relu", ("x", "a"), _leaky_relu,
             (lambda g, ans, x, a: g * (_step(x) + a * _step(-x)), lambda g, ans, x, a: g * x * _step(-x)),
             lambda sp, x, a: sp.Max(x, 0) + a * sp.Min(x, 0), ("step(x) + a*step(-x)", "x*step(-x)"),
              "x for x > 0, a·x below", kink=lambda x, a: x),
    _unary("elu", _elu, lambda g, ans, x: g * np.where(np.real(x) > 0, 1.0, ans + 1),
           lambda sp, x: sp.Max(x, 0) + sp.Min(sp.exp(x) - 1, 0), "step(x) + step(-x)*exp(x)",
           "x for x > 0, e^x - 1 below (α = 1)", kink=lambda x: x),
    _unary("softplus", _softplus, lambda g, ans, x: g * _sigmoid(x),
           lambda sp, x: sp.log(1 + sp.exp(x)), "sigmoid(x)", "log(1 + e^x), a smooth relu"),
    _unary("abs", np.abs, lambda g, ans, x: g * np.sign(x), lambda sp, x: sp.Abs(x), "sign(x)",
           "absolute value", kink=lambda x: x, complex_form=_abs_complex, mpmath=(("Abs", lambda mp, x: abs(x)),)),
    _unary("step", _step, zero_vjp, lambda sp, x: sp.Heaviside(x, sp.Rational(1, 2)), "0",
           "Heaviside step: 1 for x > 0, 0 for x < 0, 1/2 at 0 (relu's derivative)", kink=lambda x: x,
           complex_form=_real_part(_step),
           mpmath=(("Heaviside", _mp_heaviside), ("DiracDelta", _mp_dirac))),
    _unary("sign", np.sign, zero_vjp, lambda sp, x: sp.sign(x), "0", "-1, 0 or 1 (abs's derivative)",
           kink=lambda x: x, complex_form=_real_part(np.sign), mpmath=(("sign", lambda mp, x: mp.sign(x)),)),
    _binary("max", np.maximum,
            (lambda g, ans, a, b: g * _step(a - b), lambda g, ans, a, b: g * _step(b - a)),
            lambda sp, a, b: sp.Max(a, b), ("step(a - b)", "step(b - a)"),
            "larger of a and b (elementwise; max(x) alone reduces)", aliases=("maximum",),
            kink=lambda a, b: a - b, complex_form=_max_complex, mpmath=(("Max", lambda mp, *a: max(a)),)),
    _binary("min", np.minimum,
            (lambda g, ans, a, b: g * _step(b - a), lambda g, ans, a, b: g * _step(a - b)),
            lambda sp, a, b: sp.Min(a, b), ("step(b - a)", "step(a - b)"),
            "smaller of a and b (elementwise; min(x) alone reduces)", aliases=("minimum",),
            kink=lambda a, b: a - b, complex_form=_min_complex, mpmath=(("Min", lambda mp, *a: min(a)),)),
    *(_binary(name, _compare(test), (zero_vjp, zero_vjp),
              lambda sp, a, b, at=at, sign=sign: sp.Heaviside(sign * (a - b), at),
              ("0", "0"), f"1 where a {op} b, else 0: a condition for where(...)", operator=op, precedence=COMPARE,
              kink=lambda a, b: a - b)
      for name, op, test, sign, at in (("greater", ">", np.greater, 1, 0), ("less", "<", np.less, -1, 0),
                                       ("greater_equal", ">=", np.greater_equal, 1, 1),
                                       ("less_equal", "<=", np.less_equal, -1, 1))),
    Primitive("clip", ("x", "lo", "hi"), _clip,
              (lambda g, ans, x, lo, hi: g * _step(hi - np.maximum(x, lo)) * _step(x - lo),
               lambda g, ans, x, lo, hi: g * _step(hi - np.maximum(x, lo)) * _step(lo - x),
               lambda g, ans, x, lo, hi: g * _step(np.maximum(x, lo) - hi)),
              lambda sp, x, lo, hi: sp.Min(sp.Max(x, lo), hi),
              ("step(hi - max(x, lo))*step(x - lo)", "step(hi - max(x, lo))*step(lo - x)", "step(max(x, lo) - hi)"),
              "x limited to [lo, hi]: min(max(x, lo), hi)", kink=lambda x, lo, hi: (x - lo) * (hi - x),
              complex_form=_clip_complex),
    # ----- arrays: `derivatives` gives the VJP, in terms of the upstream gradient g ---------------
    Primitive("matmul", ("a", "b"), np.matmul, (A.matmul_vjp_a, A.matmul_vjp_b), A.sym_matmul,
              ("g @ b.T", "a.T @ g"), "matrix product of vectors and matrices", operator="@",
              precedence=PRODUCT, elementwise=False, shape=A.matmul_shape, cost=A.matmul_cost,
              matrix=(M.matmul_a, M.matmul_b), complex_form=A.matmul_complex, linear=(0, 1),
              sizes=(with_absolute_inputs(A.matmul_vjp_a), with_absolute_inputs(A.matmul_vjp_b))),
    Primitive("transpose", ("x",), S.transpose, (S.transpose_vjp,), S.sym_transpose, ("transpose(g, argsort(axes))",),
              "axes reordered (all reversed by default; also written x.T)", elementwise=False,
              shape=S.transpose_shape, static=(("axes", None),), matrix=(M.transpose_x,)),
    Primitive("index", ("x",), S.index, (S.index_vjp,), S.sym_index,
              ("g at [index], 0 elsewhere",), "entries, rows or slices (a:b:c, negatives, None) picked by constants",
              elementwise=False, shape=S.index_shape, static=(("index", REQUIRED),), syntax="x[1, -1], x[:, 1:-1:2]"),
    Primitive("gather", ("x", "i"), S.gather, (S.gather_vjp,), S.sym_gather,
              ("g added into the picked entries (repeats add up)",),
              "entries picked by an integer array: W[idx], x[:, y]", elementwise=False,
              shape=S.gather_shape, static=(("template", REQUIRED),), labels=(1,), syntax="W[idx]",
              domain=S.gather_domain, domain_text="{i} to hold indices within the size of {x}"),
    Primitive("gather2", ("x", "i", "j"), S.gather, (S.gather_vjp,), S.sym_gather,
              ("g added into the picked entries (repeats add up)",),
              "entries picked by two integer arrays: S[arange(N), y]", elementwise=False,
              shape=S.gather_shape, static=(("template", REQUIRED),), labels=(1, 2), syntax="S[arange(N), y]",
              domain=S.gather_domain, domain_text="{i} and {j} to hold indices within the sizes of {x}"),
    Primitive("reshape", ("x",), S.reshape, (S.reshape_vjp,), S.sym_reshape, ("reshape(g, shape of x)",),
              "the same entries in a new shape; one size may be -1", elementwise=False,
              shape=S.reshape_shape, static=(("shape", REQUIRED),)),
    Primitive("broadcast_to", ("x",), S.broadcast_to, (S.broadcast_to_vjp,), S.sym_broadcast_to,
              ("g summed over the broadcast axes",), "x repeated along new or size-1 axes", elementwise=False,
              shape=S.broadcast_to_shape, static=(("shape", REQUIRED),)),
    Primitive("concatenate", ("a", "b"), S.concatenate, (S.concatenate_vjp_a, S.concatenate_vjp_b),
              S.sym_concatenate, ("g's first part along axis", "g's second part along axis"),
              "arrays joined along an existing axis: concatenate((a, b, ...), axis=0)", elementwise=False,
              shape=S.concatenate_shape, static=(("axis", 0),), syntax="concatenate((a, b, ...), axis=0)",
              variadic="concatenate"),
    Primitive("stack", ("a", "b"), S.stack, (S.stack_vjp_a, S.stack_vjp_b), S.sym_stack,
              ("g's first part along axis", "g's last entry along axis"),
              "arrays of one shape stacked along a new axis: stack((a, b, ...), axis=0)", elementwise=False,
              shape=S.stack_shape, static=(("axis", 0),), syntax="stack((a, b, ...), axis=0)", variadic="stack"),
    Primitive("expand_dims", ("x",), S.expand_dims, (S.expand_dims_vjp,), S.sym_expand_dims,
              ("g without the new axis",), "x with a new axis of size 1", elementwise=False,
              shape=S.expand_dims_shape, static=(("axis", REQUIRED),)),
    Primitive("pad", ("x",), S.pad, (S.pad_vjp,), S.sym_pad, ("g without the padding",),
              "x surrounded by zeros: pad(x, ((0, 0), (1, 1)))", elementwise=False,
              shape=S.pad_shape, static=(("widths", REQUIRED),)),
    Primitive("where", ("cond", "a", "b"), S.where, (S.where_vjp_a, S.where_vjp_b), S.sym_where,
              ("where(cond, 1, 0)", "where(cond, 0, 1)"), "a where cond is nonzero (true), else b; cond is data",
              labels=(0,)),
    Primitive("sum", ("x",), R.total, (R.total_vjp,), R.sym_sum, ("g copied along the summed axes",),
              "sum of all entries, or along axis (an int or a tuple)", elementwise=False, shape=R.reduce_shape,
              static=(("axis", None), ("keepdims", False)), matrix=(M.sum_x,)),
    Primitive("mean", ("x",), R.mean, (R.mean_vjp,), R.sym_mean, ("g / n copied along the axes",),
              "mean of all entries, or along axis (an int or a tuple)", elementwise=False,
              shape=R.nonempty_reduce_shape, static=(("axis", None), ("keepdims", False)),
              matrix=(M.mean_x,)),
    Primitive("amax", ("x",), R.amax, (R.amax_vjp,), R.sym_max, ("g to the largest entry (ties share it)",),
              "largest entry, or along axis; also max(x, axis=...) with one array", elementwise=False,
              shape=R.nonempty_reduce_shape, static=(("axis", None), ("keepdims", False)), aliases=("max",),
              kink=R.amax_kink, mpmath=T.MPMATH),
    Primitive("amin", ("x",), R.amin, (R.amin_vjp,), R.sym_min, ("g to the smallest entry (ties share it)",),
              "smallest entry, or along axis; also min(x, axis=...) with one array", elementwise=False,
              shape=R.nonempty_reduce_shape, static=(("axis", None), ("keepdims", False)), aliases=("min",),
              kink=R.amin_kink),
    Primitive("softmax", ("x",), R.softmax, (R.softmax_vjp,), R.sym_softmax,
              ("softmax(x) * (g - sum(g * softmax(x), axis, keepdims=True))",), "softmax along axis (default -1)",
              elementwise=False, shape=R.same_shape, static=(("axis", -1),), matrix=(M.softmax_x,),
              sizes=(R.softmax_sizes,)),
    Primitive("log_softmax", ("x",), R.log_softmax, (R.log_softmax_vjp,), R.sym_log_softmax,
              ("g - softmax(x) * sum(g, axis, keepdims=True)",), "log of softmax along axis (default -1)",
              elementwise=False, shape=R.same_shape, static=(("axis", -1),), matrix=(M.log_softmax_x,),
              sizes=(R.log_softmax_sizes,)),
    Primitive("logsumexp", ("x",), R.logsumexp, (R.logsumexp_vjp,), R.sym_logsumexp,
              ("g * softmax(x) along axis",), "log(sum(exp(x))) along axis (default -1; None for all)",
              elementwise=False, shape=R.logsumexp_shape, static=(("axis", -1), ("keepdims", False)),
              matrix=(M.logsumexp_x,)),
    Primitive("conv2d", ("x", "w", "b"), C.conv2d, (C.conv2d_vjp_x, C.conv2d_vjp_w, C.conv2d_vjp_b), C.sym_conv2d,
              ("full convolution of g with w", "correlation of x's windows with g", "sum(g, axis=(0, 2, 3))"),
              "convolution, NCHW: x (N,C,H,W), w (F,C,HH,WW), b (F,)", elementwise=False,
              shape=C.conv2d_shape, static=(("stride", 1), ("pad", 0)), cost=C.conv2d_cost,
              sizes=(with_absolute_inputs(C.conv2d_vjp_x), with_absolute_inputs(C.conv2d_vjp_w), None)),
    Primitive("max_pool2d", ("x",), C.max_pool2d, (C.max_pool2d_vjp,), C.sym_max_pool2d,
              ("g to each window's largest entry",), "largest entry of each size×size window, NCHW",
              elementwise=False, shape=C.pool_shape, static=(("size", REQUIRED), ("stride", None)),
              cost=C.pool_cost, kink=C.max_pool2d_kink, complex_form=C.max_pool2d_complex),
    Primitive("avg_pool2d", ("x",), C.avg_pool2d, (C.avg_pool2d_vjp,), C.sym_avg_pool2d,
              ("g / size² to each window's entries",), "mean of each size×size window, NCHW",
              elementwise=False, shape=C.pool_shape, static=(("size", REQUIRED), ("stride", None)),
              cost=C.pool_cost),
    # ----- constructors: constants built from whole numbers ------------------------------------------
    Primitive("zeros", (), S.zeros, (), S.sym_constant(S.zeros), (), "an array of zeros: zeros((2, 3))",
              elementwise=False, shape=S.zeros_shape, static=(("shape", REQUIRED),)),
    Primitive("ones", (), S.ones, (), S.sym_constant(S.ones), (), "an array of ones: ones((2, 3))",
              elementwise=False, shape=S.zeros_shape, static=(("shape", REQUIRED),)),
    Primitive("full", (), S.full, (), S.sym_constant(S.full), (), "an array of one number: full((2, 3), 0.5)",
              elementwise=False, shape=S.full_shape, static=(("shape", REQUIRED), ("value", REQUIRED))),
    Primitive("eye", (), S.eye, (), S.sym_constant(S.eye), (), "the n×n identity", elementwise=False,
              shape=S.eye_shape, static=(("n", REQUIRED),)),
    Primitive("arange", (), S.arange, (), S.sym_constant(S.arange), (), "0, 1, …, n-1", elementwise=False,
              shape=S.arange_shape, static=(("n", REQUIRED),)),
    Primitive("softmax_ce", ("z", "y"), A.softmax_ce, (A.softmax_ce_vjp,), A.sym_softmax_ce,
              ("g * (softmax(z) - onehot(y, k)) / m",),
              "mean over the m rows of the cross-entropy of softmax(z) with integer labels y",
              elementwise=False, shape=A.softmax_ce_shape, labels=(1,), matrix=(M.softmax_ce_z,),
              domain=lambda z, y: A.labels_fit(y, np.shape(z)[-1]), domain_text="{y} to hold class numbers 0 … k-1"),
    Primitive("onehot", ("y",), A.onehot, (), A.sym_onehot, (),
              "one row of the k×k identity per label", elementwise=False, shape=A.onehot_shape,
              static=(("k", REQUIRED),), labels=(0,),
              domain=lambda y, k: A.labels_fit(y, k), domain_text="{y} to hold class numbers 0 … k-1"),
)

BY_NAME: dict[str, Primitive] = {p.name: p for p in PRIMITIVES}

# What each operator token builds. `^` is power, as in the course notes, not Python's xor.
BINARY_OPERATORS: dict[str, Primitive] = {
    spelling: p for p in PRIMITIVES if p.operator and p.arity == 2
    for spelling in (p.operator, *p.operator_aliases)}
PREFIX_OPERATORS: dict[str, Primitive] = {p.operator: p for p in PRIMITIVES if p.operator and p.arity == 1}

# For messages: the functions the complex step cannot go through ("erf and gelu"), and those with
# kinks, where a difference may cross from one piece to another ("relu, leaky_relu, …, max_pool2d").
WITHOUT_COMPLEX_FORM: tuple[str, ...] = tuple(p.name for p in PRIMITIVES if p.complex_forward is None)
KINKED: tuple[str, ...] = tuple(p.name for p in PRIMITIVES if p.kink is not None)


def listed(names: tuple[str, ...] | list[str], conjunction: str = "and") -> str:
    """"relu, abs and max": names joined for a sentence."""
    names = list(names)
    return ", ".join(names[:-1]) + f" {conjunction} {names[-1]}" if len(names) > 1 else "".join(names)


# How mpmath evaluates each SymPy function, gathered from every primitive's `mpmath`.
MPMATH_RULES: dict[str, Rule] = {name: rule for p in PRIMITIVES for name, rule in p.mpmath}

# Functions callable by name: every primitive written as a call, and the aliases (pow(a, b)).
FUNCTIONS: dict[str, Primitive] = {p.name: p for p in PRIMITIVES if p.called}
for _p in PRIMITIVES:
    for _alias in _p.aliases:
        FUNCTIONS.setdefault(_alias, _p)
# Names several primitives answer to, told apart by how many arrays the call passes:
# max(a, b) is elementwise, max(x) and max(x, axis=1) reduce.
OVERLOADS: dict[str, tuple[Primitive, ...]] = {
    name: tuple(p for p in PRIMITIVES if p.called and name in (p.name, *p.aliases)) for name in FUNCTIONS}
OVERLOADS = {name: prims for name, prims in OVERLOADS.items() if len(prims) > 1}

# Named constants: value, SymPy attribute name and mpmath attribute name.
CONSTANTS: dict[str, tuple[float, str, str]] = {"pi": (float(np.pi), "pi", "pi"), "e": (float(np.e), "E", "e")}
