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
# difference measures across the kink, so the three oracles agree there (the verdict reports kinks).
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


@dataclass(frozen=True, kw_only=True)
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
    # Scalar operations of one evaluation: (output shape, *input shapes, **static) -> int. None: one per
    # output entry (or per input entry, if more). The numeric oracle's cost limit reads it.
    cost: Rule | None = None
    # Scalar operations of its SymPy form, where that is more than `cost` (same signature): every entry
    # of softmax's form holds its whole row's sum. None: as `cost`. The symbolic size limits read it;
    # the registry walk (tests/ops/test_registry.py) checks both against the SymPy form's own count.
    expansion: Rule | None = None
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
    # `--emit numpy`: the function in numpy under its gradcheck name, as the emitted module defines it
    # ("exp = np.exp", or a def), and the other primitives' definitions it calls. None: not emitted yet.
    numpy_source: str | None = None
    numpy_needs: tuple[str, ...] = ()

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


def _unary(*, vjp: Rule, derivative: str, **fields: Any) -> Primitive:
    """A function of one input x: its one VJP rule and its one derivative, the rest as Primitive's."""
    return Primitive(params=("x",), vjps=(vjp,), derivatives=(derivative,), **fields)


def _binary(**fields: Any) -> Primitive:
    """A function of two inputs a and b."""
    return Primitive(params=("a", "b"), **fields)


PRIMITIVES: tuple[Primitive, ...] = (
    # ----- operators -------------------------------------------------------------------------
    _binary(name="add", forward=np.add, vjps=(lambda g, ans, a, b: g, lambda g, ans, a, b: g),
            sympy=lambda sp, a, b: a + b, derivatives=("1", "1"), summary="sum", operator="+", precedence=SUM, matrix=(M.add_a, M.add_a),
            mpmath=(("Add", lambda mp, *a: mp.fsum(a)),)),
    _binary(name="sub", forward=np.subtract, vjps=(lambda g, ans, a, b: g, lambda g, ans, a, b: -g),
            sympy=lambda sp, a, b: a - b, derivatives=("1", "-1"), summary="difference", operator="-", precedence=SUM,
            matrix=(M.add_a, M.sub_b)),
    _binary(name="mul", forward=np.multiply, vjps=(lambda g, ans, a, b: g * b, lambda g, ans, a, b: g * a),
            sympy=lambda sp, a, b: a * b, derivatives=("b", "a"), summary="product", operator="*", precedence=PRODUCT,
            matrix=(M.mul_a, M.mul_b),
            mpmath=(("Mul", lambda mp, *a: mp.fprod(a)),)),
    _binary(name="div", forward=np.divide, vjps=(lambda g, ans, a, b: g / b, lambda g, ans, a, b: -g * ans / b),
            sympy=lambda sp, a, b: a / b, derivatives=("1/b", "-a/b**2"), summary="quotient",
            operator="/", precedence=PRODUCT, domain=lambda a, b: b != 0, domain_text="{b} ≠ 0",
            matrix=(M.div_a, M.div_b)),
    _binary(name="pow", forward=np.power,
            vjps=(lambda g, ans, a, b: g * b * np.power(a, b - 1), lambda g, ans, a, b: g * ans * np.log(a)),
            sympy=lambda sp, a, b: a**b, derivatives=("b*a**(b - 1)", "log(a)*a**b"),
            summary="power; also written a ^ b",
            operator="**", precedence=POWER, right_associative=True, operator_aliases=("^",),
            domain=_pow_domain, domain_text="{a} > 0, {a} = 0 with {b} > 0, or {a} < 0 with a whole-number exponent {b}",
            aliases=("pow",), mpmath=(("Pow", lambda mp, b, e: mp.power(b, e)),),
            complex_form=_pow_complex, matrix=(M.pow_a, M.pow_b)),
    _unary(name="neg", forward=np.negative, vjp=lambda g, ans, x: -g, sympy=lambda sp, x: -x, derivative="-1", summary="negation",
           operator="-",
           precedence=UNARY, matrix=(M.neg_x,)),
    # ----- functions -------------------------------------------------------------------------
    _unary(name="exp", forward=np.exp, vjp=lambda g, ans, x: g * ans, sympy=lambda sp, x: sp.exp(x), derivative="exp(x)",
           numpy_source='exp = np.exp',
           summary="e to the x",
           mpmath=(("exp", lambda mp, x: mp.exp(x)),), matrix=(M.exp_x,)),
    _unary(name="log", forward=np.log, vjp=lambda g, ans, x: g / x, sympy=lambda sp, x: sp.log(x), derivative="1/x",
           numpy_source='log = np.log',
           summary="natural logarithm", domain=lambda x: x > 0, domain_text="{x} > 0",
           mpmath=(("log", lambda mp, x: mp.log(x) if x > 0 else None),), matrix=(M.log_x,)),
    _unary(name="log1p", forward=np.log1p, vjp=lambda g, ans, x: g / (1 + x), sympy=lambda sp, x: sp.log(1 + x), derivative="1/(1 + x)",
           numpy_source='log1p = np.log1p',
           summary="log(1 + x), accurate for small x", domain=lambda x: x > -1, domain_text="{x} > -1"),
    _unary(name="expm1", forward=np.expm1, vjp=lambda g, ans, x: g * (ans + 1), sympy=lambda sp, x: sp.exp(x) - 1, derivative="exp(x)",
           numpy_source='expm1 = np.expm1',
           summary="e to the x, minus 1, accurate for small x"),
    _unary(name="sqrt", forward=np.sqrt, vjp=lambda g, ans, x: g / (2 * ans), sympy=lambda sp, x: sp.sqrt(x),
           numpy_source='sqrt = np.sqrt',
           derivative="1/(2*sqrt(x))", summary="square root", domain=lambda x: x >= 0, domain_text="{x} ≥ 0"),
    _unary(name="sin", forward=np.sin, vjp=lambda g, ans, x: g * np.cos(x), sympy=lambda sp, x: sp.sin(x), derivative="cos(x)",
           numpy_source='sin = np.sin',
           summary="sine",
           mpmath=(("sin", lambda mp, x: mp.sin(x)),)),
    _unary(name="cos", forward=np.cos, vjp=lambda g, ans, x: -g * np.sin(x), sympy=lambda sp, x: sp.cos(x), derivative="-sin(x)",
           numpy_source='cos = np.cos',
           summary="cosine",
           mpmath=(("cos", lambda mp, x: mp.cos(x)),)),
    _unary(name="tan", forward=np.tan, vjp=lambda g, ans, x: g * (1 + ans * ans), sympy=lambda sp, x: sp.tan(x),
           derivative="1 + tan(x)**2", summary="tangent",
           mpmath=(("tan", lambda mp, x: mp.tan(x)),)),
    _unary(name="arcsin", forward=np.arcsin, vjp=lambda g, ans, x: g / np.sqrt(1 - x * x), sympy=lambda sp, x: sp.asin(x),
           derivative="1/sqrt(1 - x**2)", summary="inverse sine", domain=lambda x: (x >= -1) & (x <= 1), domain_text="-1 ≤ {x} ≤ 1",
           mpmath=(("asin", lambda mp, x: mp.asin(x) if -1 <= x <= 1 else None),)),
    _unary(name="arccos", forward=np.arccos, vjp=lambda g, ans, x: -g / np.sqrt(1 - x * x), sympy=lambda sp, x: sp.acos(x),
           derivative="-1/sqrt(1 - x**2)", summary="inverse cosine", domain=lambda x: (x >= -1) & (x <= 1), domain_text="-1 ≤ {x} ≤ 1",
           mpmath=(("acos", lambda mp, x: mp.acos(x) if -1 <= x <= 1 else None),)),
    _unary(name="arctan", forward=np.arctan, vjp=lambda g, ans, x: g / (1 + x * x), sympy=lambda sp, x: sp.atan(x),
           numpy_source='arctan = np.arctan',
           derivative="1/(1 + x**2)", summary="inverse tangent", mpmath=(("atan", lambda mp, x: mp.atan(x)),)),
    _unary(name="sinh", forward=np.sinh, vjp=lambda g, ans, x: g * np.cosh(x), sympy=lambda sp, x: sp.sinh(x), derivative="cosh(x)",
           numpy_source='sinh = np.sinh',
           summary="hyperbolic sine", mpmath=(("sinh", lambda mp, x: mp.sinh(x)),)),
    _unary(name="cosh", forward=np.cosh, vjp=lambda g, ans, x: g * np.sinh(x), sympy=lambda sp, x: sp.cosh(x), derivative="sinh(x)",
           numpy_source='cosh = np.cosh',
           summary="hyperbolic cosine", mpmath=(("cosh", lambda mp, x: mp.cosh(x)),)),
    _unary(name="tanh", forward=np.tanh, vjp=lambda g, ans, x: g * (1 - ans * ans), sympy=lambda sp, x: sp.tanh(x),
           numpy_source='tanh = np.tanh',
           derivative="1 - tanh(x)**2", summary="hyperbolic tangent",
           mpmath=(("tanh", lambda mp, x: mp.tanh(x)),), matrix=(M.tanh_x,)),
    _unary(name="sigmoid", forward=_sigmoid, vjp=lambda g, ans, x: g * ans * (1 - ans),
           numpy_source='def sigmoid(x):\n    return np.exp(-np.logaddexp(0.0, -x))',
           sympy=lambda sp, x: 1 / (1 + sp.exp(-x)), derivative="sigmoid(x)*(1 - sigmoid(x))",
           summary="logistic function 1/(1+e^-x)", matrix=(M.sigmoid_x,)),
    _unary(name="log_sigmoid", forward=_log_sigmoid, vjp=lambda g, ans, x: g * _sigmoid(-x),
           sympy=lambda sp, x: -sp.log(1 + sp.exp(-x)), derivative="sigmoid(-x)", summary="log(sigmoid(x)), stable for large |x|"),
    _unary(name="silu", forward=lambda x: x * _sigmoid(x), vjp=lambda g, ans, x: g * _sigmoid(x) * (1 + x * (1 - _sigmoid(x))),
           sympy=lambda sp, x: x / (1 + sp.exp(-x)), derivative="sigmoid(x)*(1 + x*(1 - sigmoid(x)))",
           summary="x·sigmoid(x) (swish)"),
    _unary(name="erf", forward=_erf, vjp=lambda g, ans, x: g * 2 / math.sqrt(math.pi) * np.exp(-x * x), sympy=lambda sp, x: sp.erf(x),
           derivative="2*exp(-x**2)/sqrt(pi)", summary="error function", complex_form=None,
           mpmath=(("erf", lambda mp, x: mp.erf(x)),)),
    _unary(name="gelu", forward=_gelu, vjp=_gelu_vjp, sympy=lambda sp, x: x * (1 + sp.erf(x / sp.sqrt(2))) / 2,
           derivative="(1 + erf(x/sqrt(2)))/2 + x*exp(-x**2/2)/sqrt(2*pi)", summary="x·Φ(x), Φ the normal CDF (exact GELU)",
           complex_form=None),
    _unary(name="gelu_tanh", forward=_gelu_tanh, vjp=_gelu_tanh_vjp, sympy=_sym_gelu_tanh,
           derivative="(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3)))/2 + "
           "x*(1 - tanh(sqrt(2/pi)*(x + 0.044715*x**3))**2)*sqrt(2/pi)*(1 + 3*0.044715*x**2)/2",
           summary="GELU's tanh approximation x/2·(1 + tanh(√(2/π)(x + 0.044715x³)))"),
    _unary(name="relu", forward=lambda x: np.maximum(x, 0.0), vjp=lambda g, ans, x: g * _step(x),
           numpy_source='def relu(x):\n    return np.maximum(x, 0.0)',
           sympy=lambda sp, x: sp.Max(0, x), derivative="step(x)", summary="max(x, 0)", kink=lambda x: x, matrix=(M.relu_x,),
           complex_form=_relu_complex),
    Primitive(name="leaky_relu", params=("x", "a"), forward=_leaky_relu,
             vjps=(lambda g, ans, x, a: g * (_step(x) + a * _step(-x)), lambda g, ans, x, a: g * x * _step(-x)),
             sympy=lambda sp, x, a: sp.Max(x, 0) + a * sp.Min(x, 0), derivatives=("step(x) + a*step(-x)", "x*step(-x)"),
              summary="x for x > 0, a·x below", kink=lambda x, a: x),
    _unary(name="elu", forward=_elu, vjp=lambda g, ans, x: g * np.where(np.real(x) > 0, 1.0, ans + 1),
           sympy=lambda sp, x: sp.Max(x, 0) + sp.Min(sp.exp(x) - 1, 0), derivative="step(x) + step(-x)*exp(x)",
           summary="x for x > 0, e^x - 1 below (α = 1)", kink=lambda x: x),
    _unary(name="softplus", forward=_softplus, vjp=lambda g, ans, x: g * _sigmoid(x),
           sympy=lambda sp, x: sp.log(1 + sp.exp(x)), derivative="sigmoid(x)", summary="log(1 + e^x), a smooth relu"),
    _unary(name="abs", forward=np.abs, vjp=lambda g, ans, x: g * np.sign(x), sympy=lambda sp, x: sp.Abs(x), derivative="sign(x)",
           numpy_source='abs = np.abs',
           summary="absolute value", kink=lambda x: x, complex_form=_abs_complex, mpmath=(("Abs", lambda mp, x: abs(x)),)),
    _unary(name="step", forward=_step, vjp=zero_vjp, sympy=lambda sp, x: sp.Heaviside(x, sp.Rational(1, 2)), derivative="0",
           numpy_source="def step(x):\n    return np.heaviside(x, 0.5)  # relu's derivative; 1/2 at 0, as gradcheck's",
           summary="Heaviside step: 1 for x > 0, 0 for x < 0, 1/2 at 0 (relu's derivative)", kink=lambda x: x,
           complex_form=_real_part(_step),
           mpmath=(("Heaviside", _mp_heaviside), ("DiracDelta", _mp_dirac))),
    _unary(name="sign", forward=np.sign, vjp=zero_vjp, sympy=lambda sp, x: sp.sign(x), derivative="0",
           numpy_source='sign = np.sign',
           summary="-1, 0 or 1 (abs's derivative)",
           kink=lambda x: x, complex_form=_real_part(np.sign), mpmath=(("sign", lambda mp, x: mp.sign(x)),)),
    _binary(name="max", forward=np.maximum,
            vjps=(lambda g, ans, a, b: g * _step(a - b), lambda g, ans, a, b: g * _step(b - a)),
            sympy=lambda sp, a, b: sp.Max(a, b), derivatives=("step(a - b)", "step(b - a)"),
            summary="larger of a and b (elementwise; max(x) alone reduces)", aliases=("maximum",),
            kink=lambda a, b: a - b, complex_form=_max_complex, mpmath=(("Max", lambda mp, *a: max(a)),)),
    _binary(name="min", forward=np.minimum,
            vjps=(lambda g, ans, a, b: g * _step(b - a), lambda g, ans, a, b: g * _step(a - b)),
            sympy=lambda sp, a, b: sp.Min(a, b), derivatives=("step(b - a)", "step(a - b)"),
            summary="smaller of a and b (elementwise; min(x) alone reduces)", aliases=("minimum",),
            kink=lambda a, b: a - b, complex_form=_min_complex, mpmath=(("Min", lambda mp, *a: min(a)),)),
    *(_binary(name=name, forward=_compare(test), vjps=(zero_vjp, zero_vjp),
              sympy=lambda sp, a, b, at=at, sign=sign: sp.Heaviside(sign * (a - b), at),
              derivatives=("0", "0"), summary=f"1 where a {op} b, else 0: a condition for where(...)", operator=op, precedence=COMPARE,
              kink=lambda a, b: a - b)
      for name, op, test, sign, at in (("greater", ">", np.greater, 1, 0), ("less", "<", np.less, -1, 0),
                                       ("greater_equal", ">=", np.greater_equal, 1, 1),
                                       ("less_equal", "<=", np.less_equal, -1, 1))),
    Primitive(name="clip", params=("x", "lo", "hi"), forward=_clip,
              vjps=(lambda g, ans, x, lo, hi: g * _step(hi - np.maximum(x, lo)) * _step(x - lo),
               lambda g, ans, x, lo, hi: g * _step(hi - np.maximum(x, lo)) * _step(lo - x),
               lambda g, ans, x, lo, hi: g * _step(np.maximum(x, lo) - hi)),
              sympy=lambda sp, x, lo, hi: sp.Min(sp.Max(x, lo), hi),
              derivatives=("step(hi - max(x, lo))*step(x - lo)", "step(hi - max(x, lo))*step(lo - x)", "step(max(x, lo) - hi)"),
              summary="x limited to [lo, hi]: min(max(x, lo), hi)", kink=lambda x, lo, hi: (x - lo) * (hi - x),
              complex_form=_clip_complex),
    # ----- arrays: `derivatives` gives the VJP, in terms of the upstream gradient g ---------------
    Primitive(name="matmul", params=("a", "b"), forward=np.matmul, vjps=(A.matmul_vjp_a, A.matmul_vjp_b), sympy=A.sym_matmul,
              derivatives=("g @ b.T", "a.T @ g"), summary="matrix product of vectors and matrices", operator="@",
              precedence=PRODUCT, elementwise=False, shape=A.matmul_shape, cost=A.matmul_cost,
              matrix=(M.matmul_a, M.matmul_b), complex_form=A.matmul_complex, linear=(0, 1),
              sizes=(with_absolute_inputs(A.matmul_vjp_a), with_absolute_inputs(A.matmul_vjp_b))),
    Primitive(name="transpose", params=("x",), forward=S.transpose, vjps=(S.transpose_vjp,), sympy=S.sym_transpose,
              derivatives=("transpose(g, argsort(axes))",),
              summary="axes reordered (all reversed by default; also written x.T)", elementwise=False,
              shape=S.transpose_shape, static=(("axes", None),), matrix=(M.transpose_x,)),
    Primitive(name="index", params=("x",), forward=S.index, vjps=(S.index_vjp,), sympy=S.sym_index,
              derivatives=("g at [index], 0 elsewhere",), summary="entries, rows or slices (a:b:c, negatives, None) picked by constants",
              elementwise=False, shape=S.index_shape, static=(("index", REQUIRED),), syntax="x[1, -1], x[:, 1:-1:2]"),
    Primitive(name="gather", params=("x", "i"), forward=S.gather, vjps=(S.gather_vjp,), sympy=S.sym_gather,
              derivatives=("g added into the picked entries (repeats add up)",),
              summary="entries picked by an integer array: W[idx], x[:, y]", elementwise=False,
              shape=S.gather_shape, static=(("template", REQUIRED),), labels=(1,), syntax="W[idx]",
              domain=S.gather_domain, domain_text="{i} to hold indices within the size of {x}"),
    Primitive(name="gather2", params=("x", "i", "j"), forward=S.gather, vjps=(S.gather_vjp,), sympy=S.sym_gather,
              derivatives=("g added into the picked entries (repeats add up)",),
              summary="entries picked by two integer arrays: S[arange(N), y]", elementwise=False,
              shape=S.gather_shape, static=(("template", REQUIRED),), labels=(1, 2), syntax="S[arange(N), y]",
              domain=S.gather_domain, domain_text="{i} and {j} to hold indices within the sizes of {x}"),
    Primitive(name="reshape", params=("x",), forward=S.reshape, vjps=(S.reshape_vjp,), sympy=S.sym_reshape,
              numpy_source='reshape = np.reshape',
              derivatives=("reshape(g, shape of x)",),
              summary="the same entries in a new shape; one size may be -1", elementwise=False,
              shape=S.reshape_shape, static=(("shape", REQUIRED),)),
    Primitive(name="broadcast_to", params=("x",), forward=S.broadcast_to, vjps=(S.broadcast_to_vjp,), sympy=S.sym_broadcast_to,
              derivatives=("g summed over the broadcast axes",), summary="x repeated along new or size-1 axes", elementwise=False,
              shape=S.broadcast_to_shape, static=(("shape", REQUIRED),)),
    Primitive(name="concatenate", params=("a", "b"), forward=S.concatenate, vjps=(S.concatenate_vjp_a, S.concatenate_vjp_b),
              sympy=S.sym_concatenate, derivatives=("g's first part along axis", "g's second part along axis"),
              summary="arrays joined along an existing axis: concatenate((a, b, ...), axis=0)", elementwise=False,
              shape=S.concatenate_shape, static=(("axis", 0),), syntax="concatenate((a, b, ...), axis=0)",
              variadic="concatenate"),
    Primitive(name="stack", params=("a", "b"), forward=S.stack, vjps=(S.stack_vjp_a, S.stack_vjp_b), sympy=S.sym_stack,
              derivatives=("g's first part along axis", "g's last entry along axis"),
              summary="arrays of one shape stacked along a new axis: stack((a, b, ...), axis=0)", elementwise=False,
              shape=S.stack_shape, static=(("axis", 0),), syntax="stack((a, b, ...), axis=0)", variadic="stack"),
    Primitive(name="expand_dims", params=("x",), forward=S.expand_dims, vjps=(S.expand_dims_vjp,), sympy=S.sym_expand_dims,
              numpy_source='expand_dims = np.expand_dims',
              derivatives=("g without the new axis",), summary="x with a new axis of size 1", elementwise=False,
              shape=S.expand_dims_shape, static=(("axis", REQUIRED),)),
    Primitive(name="pad", params=("x",), forward=S.pad, vjps=(S.pad_vjp,), sympy=S.sym_pad, derivatives=("g without the padding",),
              summary="x surrounded by zeros: pad(x, ((0, 0), (1, 1)))", elementwise=False,
              shape=S.pad_shape, static=(("widths", REQUIRED),)),
    Primitive(name="where", params=("cond", "a", "b"), forward=S.where, vjps=(S.where_vjp_a, S.where_vjp_b), sympy=S.sym_where,
              derivatives=("where(cond, 1, 0)", "where(cond, 0, 1)"), summary="a where cond is nonzero (true), else b; cond is data",
              labels=(0,)),
    Primitive(name="sum", params=("x",), forward=R.total, vjps=(R.total_vjp,), sympy=R.sym_sum,
              numpy_source='def sum(x, axis=None, keepdims=False):\n    return np.sum(x, axis=axis, keepdims=keepdims)',
              derivatives=("g copied along the summed axes",),
              summary="sum of all entries, or along axis (an int or a tuple)", elementwise=False, shape=R.reduce_shape,
              static=(("axis", None), ("keepdims", False)), matrix=(M.sum_x,)),
    Primitive(name="mean", params=("x",), forward=R.mean, vjps=(R.mean_vjp,), sympy=R.sym_mean,
              numpy_source='def mean(x, axis=None, keepdims=False):\n    return np.mean(x, axis=axis, keepdims=keepdims)',
              derivatives=("g / n copied along the axes",),
              summary="mean of all entries, or along axis (an int or a tuple)", elementwise=False,
              shape=R.nonempty_reduce_shape, static=(("axis", None), ("keepdims", False)),
              matrix=(M.mean_x,)),
    Primitive(name="amax", params=("x",), forward=R.amax, vjps=(R.amax_vjp,), sympy=R.sym_max,
              derivatives=("g to the largest entry (ties share it)",),
              summary="largest entry, or along axis; also max(x, axis=...) with one array", elementwise=False,
              shape=R.nonempty_reduce_shape, static=(("axis", None), ("keepdims", False)), aliases=("max",),
              kink=R.amax_kink, mpmath=T.MPMATH),
    Primitive(name="amin", params=("x",), forward=R.amin, vjps=(R.amin_vjp,), sympy=R.sym_min,
              derivatives=("g to the smallest entry (ties share it)",),
              summary="smallest entry, or along axis; also min(x, axis=...) with one array", elementwise=False,
              shape=R.nonempty_reduce_shape, static=(("axis", None), ("keepdims", False)), aliases=("min",),
              kink=R.amin_kink),
    Primitive(name="softmax", params=("x",), forward=R.softmax, vjps=(R.softmax_vjp,), sympy=R.sym_softmax,
              numpy_source=('def softmax(x, axis=-1):\n'
                            '    e = np.exp(x - np.max(x, axis=axis, keepdims=True))\n'
                            '    return e / np.sum(e, axis=axis, keepdims=True)'),
              derivatives=("softmax(x) * (g - sum(g * softmax(x), axis, keepdims=True))",), summary="softmax along axis (default -1)",
              elementwise=False, shape=R.same_shape, static=(("axis", -1),), matrix=(M.softmax_x,),
              sizes=(R.softmax_sizes,), expansion=R.row_expansion),
    Primitive(name="log_softmax", params=("x",), forward=R.log_softmax, vjps=(R.log_softmax_vjp,), sympy=R.sym_log_softmax,
              numpy_source=('def log_softmax(x, axis=-1):\n'
                            '    return x - logsumexp(x, axis=axis, keepdims=True)'),
              numpy_needs=('logsumexp',),
              derivatives=("g - softmax(x) * sum(g, axis, keepdims=True)",), summary="log of softmax along axis (default -1)",
              elementwise=False, shape=R.same_shape, static=(("axis", -1),), matrix=(M.log_softmax_x,),
              sizes=(R.log_softmax_sizes,), expansion=R.row_expansion),
    Primitive(name="logsumexp", params=("x",), forward=R.logsumexp, vjps=(R.logsumexp_vjp,), sympy=R.sym_logsumexp,
              numpy_source=('def logsumexp(x, axis=-1, keepdims=False):\n'
                            '    top = np.max(x, axis=axis, keepdims=True)\n'
                            '    out = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top\n'
                            '    return out if keepdims else np.squeeze(out, axis=axis)'),
              derivatives=("g * softmax(x) along axis",), summary="log(sum(exp(x))) along axis (default -1; None for all)",
              elementwise=False, shape=R.logsumexp_shape, static=(("axis", -1), ("keepdims", False)),
              matrix=(M.logsumexp_x,)),
    Primitive(name="conv2d", params=("x", "w", "b"), forward=C.conv2d, vjps=(C.conv2d_vjp_x, C.conv2d_vjp_w, C.conv2d_vjp_b),
              sympy=C.sym_conv2d,
              derivatives=("full convolution of g with w", "correlation of x's windows with g", "sum(g, axis=(0, 2, 3))"),
              summary="convolution, NCHW: x (N,C,H,W), w (F,C,HH,WW), b (F,)", elementwise=False,
              shape=C.conv2d_shape, static=(("stride", 1), ("pad", 0)), cost=C.conv2d_cost,
              sizes=(with_absolute_inputs(C.conv2d_vjp_x), with_absolute_inputs(C.conv2d_vjp_w), None)),
    Primitive(name="max_pool2d", params=("x",), forward=C.max_pool2d, vjps=(C.max_pool2d_vjp,), sympy=C.sym_max_pool2d,
              derivatives=("g to each window's largest entry",), summary="largest entry of each size×size window, NCHW",
              elementwise=False, shape=C.pool_shape, static=(("size", REQUIRED), ("stride", None)),
              cost=C.pool_cost, kink=C.max_pool2d_kink, complex_form=C.max_pool2d_complex),
    Primitive(name="avg_pool2d", params=("x",), forward=C.avg_pool2d, vjps=(C.avg_pool2d_vjp,), sympy=C.sym_avg_pool2d,
              derivatives=("g / size² to each window's entries",), summary="mean of each size×size window, NCHW",
              elementwise=False, shape=C.pool_shape, static=(("size", REQUIRED), ("stride", None)),
              cost=C.pool_cost),
    # ----- constructors: constants built from whole numbers ------------------------------------------
    Primitive(name="zeros", params=(), forward=S.zeros, vjps=(), sympy=S.sym_constant(S.zeros), derivatives=(),
              summary="an array of zeros: zeros((2, 3))",
              elementwise=False, shape=S.zeros_shape, static=(("shape", REQUIRED),)),
    Primitive(name="ones", params=(), forward=S.ones, vjps=(), sympy=S.sym_constant(S.ones), derivatives=(),
              numpy_source='ones = np.ones',
              summary="an array of ones: ones((2, 3))",
              elementwise=False, shape=S.zeros_shape, static=(("shape", REQUIRED),)),
    Primitive(name="full", params=(), forward=S.full, vjps=(), sympy=S.sym_constant(S.full), derivatives=(),
              summary="an array of one number: full((2, 3), 0.5)",
              elementwise=False, shape=S.full_shape, static=(("shape", REQUIRED), ("value", REQUIRED))),
    Primitive(name="eye", params=(), forward=S.eye, vjps=(), sympy=S.sym_constant(S.eye), derivatives=(), summary="the n×n identity",
              elementwise=False,
              shape=S.eye_shape, static=(("n", REQUIRED),)),
    Primitive(name="arange", params=(), forward=S.arange, vjps=(), sympy=S.sym_constant(S.arange), derivatives=(),
              summary="0, 1, …, n-1", elementwise=False,
              shape=S.arange_shape, static=(("n", REQUIRED),)),
    Primitive(name="softmax_ce", params=("z", "y"), forward=A.softmax_ce, vjps=(A.softmax_ce_vjp,), sympy=A.sym_softmax_ce,
              numpy_source=('def softmax_ce(z, y):\n'
                            '    picked = np.take_along_axis(log_softmax(z), np.asarray(y).astype(int)[..., None], -1)\n'
                            '    return -np.mean(picked)'),
              numpy_needs=('log_softmax', 'logsumexp'),
              derivatives=("g * (softmax(z) - onehot(y, k)) / m",),
              summary="mean over the m rows of the cross-entropy of softmax(z) with integer labels y",
              elementwise=False, shape=A.softmax_ce_shape, labels=(1,), matrix=(M.softmax_ce_z,),
              domain=lambda z, y: A.labels_fit(y, np.shape(z)[-1]), domain_text="{y} to hold class numbers 0 … k-1"),
    Primitive(name="onehot", params=("y",), forward=A.onehot, vjps=(), sympy=A.sym_onehot, derivatives=(),
              numpy_source=('def onehot(y, k):\n'
                            '    y = np.asarray(y).astype(int)\n'
                            '    out = np.zeros(y.shape + (k,))\n'
                            '    np.put_along_axis(out, y[..., None], 1.0, axis=-1)\n'
                            '    return out'),
              summary="one row of the k×k identity per label", elementwise=False, shape=A.onehot_shape,
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
