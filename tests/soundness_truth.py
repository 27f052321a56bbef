"""The truth tests/test_soundness.py judges gradcheck by, computed here without any of gradcheck's code.

An expression is built as a small tree (E) that prints as gradcheck's language and is evaluated here
exactly: in fractions.Fraction while only + - * / and integer powers are involved (every float64 and
float32 is a dyadic rational, so a kink reached through arithmetic of the given values is found exactly,
and a point a few ulps off it is seen on its true side), and in mpmath at PRECISION bits after a
transcendental function (kinks never follow one in these expressions).

Derivatives are forward-mode tangents with a lexicographic branch choice (Nesterov's lexicographic
derivatives): where relu's argument is 0 or a max ties, the branch taken is the one the first nonzero
tangent points into. With one tangent, s*e_k, that is the one-sided derivative along e_k, so per
entry of each differentiated variable

- right = f'(x; e_k) and left = -f'(x; -e_k), the one-sided partial derivatives;
- a piece = the tangents along every e_k after a generic direction d (and d2) chose the branches: the
  gradient of the smooth piece f follows on the side d points into, i.e. a true gradient at points
  arbitrarily close by (a Clarke subgradient, and so is any mean of pieces).

Claims are judged by `judge_numbers` (entry by entry against [min(left, right), max(left, right)]) and
`judge_formula` (the same at the point, and against the truth at nearby points where f is smooth).
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable

import mpmath
import numpy as np

# A private mpmath context: gradcheck's symbolic oracle uses mpmath's global one, which this must not change.
CTX = mpmath.MPContext()
# Bits after a transcendental function: (1 - cos x)/x**2 at x = 1e-6 loses ~80 bits to cancellation
# and a product of two float64 needs 106, so 320 leaves every truth here good to far below an ulp.
CTX.prec = 320
ZERO = Fraction(0)
HALF = Fraction(1, 2)

# How close a claim must be to the truth to count as equal to it: its own rounding to the working
# precision (a right claim is the exact truth rounded once), with a factor 4 of slack.
CLAIM_ROUNDING = {"float64": 4 * 2.0**-53, "float32": 4 * 2.0**-24}
# A wrong claim is "clearly" wrong when it is off by more than this many times gradcheck's default rtol
# (1e-5, 1e-3 in float32) relative to the entry's size: far outside any tolerance, so a verdict that
# passes it is unsound, not strict.
CLEARLY = 5.0
RTOL = {"float64": 1e-5, "float32": 1e-3}
# mpmath's residue of an exact cancellation at PRECISION bits (1e-98 where softmax's columns are equal
# and the derivative is exactly 0): a derivative this small is snapped to 0. No true derivative in these
# generators comes near it (their values are O(1e-12) to O(1e8)).
RESIDUE = 1e-60
# A piece and the one-sided derivatives are computed by the same operations in different runs; where
# they went through mpmath they may differ in the last of PRECISION's bits.
PIECE_SLACK = 1e-80


# ----- exact numbers: Fraction while possible, mpf after a transcendental -------------------------------
def exact(v: Any) -> Any:
    """A number as an exact rational (every finite float is one), or an mpf as it is."""
    if isinstance(v, Fraction):
        return v
    if isinstance(v, (bool, np.bool_)):
        return Fraction(int(v))
    if isinstance(v, (int, np.integer)):
        return Fraction(int(v))
    if isinstance(v, (float, np.floating)):
        return Fraction(float(v))  # float32 widens to float64 exactly
    return v


def mp(v: Any) -> Any:
    return CTX.mpf(v.numerator) / v.denominator if isinstance(v, Fraction) else v


def _both(a: Any, b: Any) -> bool:
    return isinstance(a, Fraction) and isinstance(b, Fraction)


def add(a, b):
    return a + b if _both(a, b) else mp(a) + mp(b)


def sub(a, b):
    return a - b if _both(a, b) else mp(a) - mp(b)


def mul(a, b):
    if _both(a, b):
        return a * b
    if (isinstance(a, Fraction) and a == 0) or (isinstance(b, Fraction) and b == 0):
        return ZERO  # keeps untouched tangents exact
    return mp(a) * mp(b)


def div(a, b):
    return a / b if _both(a, b) else mp(a) / mp(b)


def same(a, b) -> bool:
    """a == b exactly, across Fraction and mpf (which do not compare with each other)."""
    return a == b if _both(a, b) else mp(exact(a)) == mp(exact(b))


def le(a, b) -> bool:
    return a <= b if _both(a, b) else mp(exact(a)) <= mp(exact(b))


def sgn(v) -> int:
    return (v > 0) - (v < 0)


def to_float(v: Any, dtype: str = "float64") -> float:
    """The number rounded to nearest in the working precision (as a Python float)."""
    f = float(Fraction(v.numerator, v.denominator)) if isinstance(v, Fraction) else float(CTX.mpf(v))
    return float(np.float32(f)) if dtype == "float32" else f


def close(a: Any, b: Any, rel: float) -> bool:
    a, b = mp(exact(a)), mp(exact(b))
    return abs(a - b) <= rel * max(abs(a), abs(b))


# ----- dual numbers with lexicographic branches ----------------------------------------------------------
class D:
    """A value and its tangents along a list of directions."""

    __slots__ = ("v", "t")

    def __init__(self, v: Any, t: Any = ()):
        self.v, self.t = v, tuple(t)

    @staticmethod
    def const(v: Any, n: int) -> "D":
        return D(exact(v), (ZERO,) * n)

    def _lift(self, o: Any) -> Any:
        if isinstance(o, np.ndarray):
            return None
        return o if isinstance(o, D) else D.const(o, len(self.t))

    def __add__(self, o):
        o = self._lift(o)
        if o is None:
            return NotImplemented
        return D(add(self.v, o.v), [add(p, q) for p, q in zip(self.t, o.t)])

    def __radd__(self, o):
        return self._lift(o) + self

    def __sub__(self, o):
        o = self._lift(o)
        if o is None:
            return NotImplemented
        return D(sub(self.v, o.v), [sub(p, q) for p, q in zip(self.t, o.t)])

    def __rsub__(self, o):
        return self._lift(o) - self

    def __mul__(self, o):
        o = self._lift(o)
        if o is None:
            return NotImplemented
        return D(mul(self.v, o.v), [add(mul(self.v, q), mul(o.v, p)) for p, q in zip(self.t, o.t)])

    def __rmul__(self, o):
        return self._lift(o) * self

    def __truediv__(self, o):
        o = self._lift(o)
        if o is None:
            return NotImplemented
        if o.v == 0:
            raise ZeroDivisionError("division by zero in the truth")
        v = div(self.v, o.v)
        return D(v, [div(sub(p, mul(v, q)), o.v) for p, q in zip(self.t, o.t)])

    def __rtruediv__(self, o):
        return self._lift(o) / self

    def __neg__(self):
        return D(-self.v, [-p for p in self.t])

    def __pow__(self, n: int):
        assert isinstance(n, int), "only integer powers in the truth"
        if n == 0:
            return D.const(1, len(self.t))
        out = self
        for _ in range(abs(n) - 1):
            out = out * self
        return D.const(1, len(self.t)) / out if n < 0 else out

    def lexsign(self) -> int:
        """The sign of the value, or where it is 0 the sign of the first nonzero tangent."""
        for c in (self.v, *self.t):
            s = sgn(c)
            if s:
                return s
        return 0

    def apply(self, value: Any, slope: Any) -> "D":
        """g(self) for a smooth g with g(v) = value and g'(v) = slope."""
        return D(value, [mul(slope, p) for p in self.t])

    def __repr__(self) -> str:
        return f"D({to_float(self.v)}, {[to_float(t) for t in self.t]})"


# The switches met exactly (relu's argument 0, a tie in a max) while `switches_at` evaluates.
SWITCHES: list[str] = []
RECORDING = [False]


def _note_switch(name: str, gap: Any) -> None:
    if RECORDING[0] and gap == 0:
        SWITCHES.append(name)


def _smooth(name: str, d: D) -> D:
    x = mp(d.v)
    if name == "exp":
        v = CTX.exp(x)
        return d.apply(v, v)
    if name == "log":
        assert x > 0, "log of a nonpositive number in the truth"
        return d.apply(CTX.log(x), 1 / x)
    if name == "sqrt":
        assert x > 0, "sqrt at or below 0 in the truth"
        v = CTX.sqrt(x)
        return d.apply(v, 1 / (2 * v))
    if name == "sin":
        return d.apply(CTX.sin(x), CTX.cos(x))
    if name == "cos":
        return d.apply(CTX.cos(x), -CTX.sin(x))
    if name == "tanh":
        v = CTX.tanh(x)
        return d.apply(v, 1 - v * v)
    if name == "sigmoid":
        v = 1 / (1 + CTX.exp(-x))
        return d.apply(v, v * (1 - v))
    raise KeyError(name)


def _relu(d: D) -> D:
    _note_switch("relu", d.v)
    return d if d.lexsign() > 0 else D.const(0, len(d.t))


def _abs(d: D) -> D:
    _note_switch("abs", d.v)
    return d if d.lexsign() >= 0 else -d


def _elu(d: D) -> D:
    _note_switch("elu", d.v)
    return d if d.lexsign() > 0 else _smooth("exp", d) - 1


def _max2(a: D, b: D) -> D:
    diff = a - b
    _note_switch("max", diff.v)
    return a if diff.lexsign() >= 0 else b


def _min2(a: D, b: D) -> D:
    diff = a - b
    _note_switch("min", diff.v)
    return a if diff.lexsign() <= 0 else b


def _step(d: D) -> D:
    """gradcheck's step as a claim uses it: 1 above 0, 0 below, 1/2 at 0 (a value; its derivative is 0)."""
    return D.const({1: Fraction(1), -1: ZERO, 0: HALF}[sgn(d.v)], len(d.t))


def _sign(d: D) -> D:
    return D.const(sgn(d.v), len(d.t))


def _elementwise(fn: Callable) -> Callable:
    def apply(*args):
        if any(isinstance(a, np.ndarray) for a in args):
            return np.frompyfunc(fn, len(args), 1)(*args)
        return fn(*args)
    return apply


def _amax(x: Any) -> D:
    return functools.reduce(_max2, np.asarray(x, dtype=object).flat)


def _amin(x: Any) -> D:
    return functools.reduce(_min2, np.asarray(x, dtype=object).flat)


def _sum(x: Any) -> D:
    return functools.reduce(lambda a, b: a + b, np.asarray(x, dtype=object).flat)


def _softmax_ce(z: np.ndarray, labels: np.ndarray) -> D:
    """The mean over rows of logsumexp(row) - row[label]."""
    rows = []
    for i in range(z.shape[0]):
        lse = _smooth("log", _sum([_smooth("exp", v) for v in z[i]]))
        rows.append(lse - z[i][int(labels[i])])
    return _sum(rows) / len(rows)


def _max_pool2d(x: np.ndarray, size: int, stride: int | None = None) -> np.ndarray:
    """Max pooling of an NCHW array: each size x size window's largest entry (stride = size by default)."""
    stride = size if stride is None else stride
    n, c, h, w = x.shape
    oh, ow = 1 + (h - size) // stride, 1 + (w - size) // stride
    out = np.empty((n, c, oh, ow), dtype=object)
    for idx in np.ndindex(n, c, oh, ow):
        a, b, i, j = idx
        out[idx] = _amax(x[a, b, i * stride:i * stride + size, j * stride:j * stride + size])
    return out


FUNCTIONS: dict[str, Callable] = {
    "relu": _elementwise(_relu), "abs": _elementwise(_abs), "elu": _elementwise(_elu),
    "max": _elementwise(_max2), "min": _elementwise(_min2),
    "step": _elementwise(_step), "sign": _elementwise(_sign),
    **{name: _elementwise(functools.partial(_smooth, name)) for name in ("exp", "log", "sqrt", "sin", "cos",
                                                                         "tanh", "sigmoid")},
    "amax": _amax, "amin": _amin, "sum": _sum, "softmax_ce": _softmax_ce, "max_pool2d": _max_pool2d,
}


# ----- expression trees that print as gradcheck's language ---------------------------------------------
@dataclass(frozen=True, eq=False)
class E:
    op: str  # var, const, let, call, + - * / @ ** neg T
    args: tuple

    def __add__(self, o): return E("+", (self, lit(o)))
    def __radd__(self, o): return E("+", (lit(o), self))
    def __sub__(self, o): return E("-", (self, lit(o)))
    def __rsub__(self, o): return E("-", (lit(o), self))
    def __mul__(self, o): return E("*", (self, lit(o)))
    def __rmul__(self, o): return E("*", (lit(o), self))
    def __truediv__(self, o): return E("/", (self, lit(o)))
    def __rtruediv__(self, o): return E("/", (lit(o), self))
    def __matmul__(self, o): return E("@", (self, lit(o)))
    def __neg__(self): return E("neg", (self,))

    def __pow__(self, n: int):
        assert isinstance(n, int)
        return E("**", (self, n))

    @property
    def T(self) -> "E":
        return E("T", (self,))

    def __str__(self) -> str:
        return text(self)

    __repr__ = __str__


def var(name: str) -> E:
    return E("var", (name,))


def lit(v: Any) -> E:
    if isinstance(v, E):
        return v
    assert isinstance(v, (int, float, np.floating)) and not isinstance(v, bool), v
    return E("const", (int(v) if isinstance(v, int) else float(v),))


def call(name: str, *args: Any) -> E:
    """name(args); max_pool2d's size and stride stay Python ints, other numbers become constants."""
    keep = (E, int) if name == "max_pool2d" else (E,)
    return E("call", (name, *[a if isinstance(a, keep) else lit(a) for a in args]))


def let(name: str, body: E) -> E:
    return E("let", (name, body))


BINARY = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2}
ATOM = 9


def _text(e: E) -> tuple[str, int]:
    op, args = e.op, e.args
    if op == "var":
        return args[0], ATOM
    if op == "let":
        return args[0], ATOM
    if op == "const":
        v = args[0]
        s = str(v) if isinstance(v, int) else repr(v)
        return (f"({s})", ATOM) if v < 0 else (s, ATOM)
    if op == "call":
        return f"{args[0]}({', '.join(str(a) if isinstance(a, int) else text(a) for a in args[1:])})", ATOM
    if op == "T":
        s, p = _text(args[0])
        return (f"{s}.T" if p == ATOM else f"({s}).T"), ATOM
    if op == "neg":
        s, p = _text(args[0])
        return ("-" + (s if p >= 4 else f"({s})")), 3
    if op == "**":
        s, p = _text(args[0])
        return f"{s if p == ATOM else f'({s})'}**{args[1] if args[1] >= 0 else f'({args[1]})'}", 4
    prec = BINARY[op]
    (ls, lp), (rs, rp) = _text(args[0]), _text(args[1])
    # The right operand of the same precedence keeps its parentheses: a + (b + c) rounds differently
    # from a + b + c, and the cancelling sums depend on the order written.
    return f"{ls if lp >= prec else f'({ls})'} {op} {rs if rp > prec else f'({rs})'}", prec


def text(e: E) -> str:
    return _text(e)[0]


def lets_of(e: E) -> dict[str, str]:
    """The --let definitions an expression uses, innermost first (a later one may use an earlier one)."""
    found: dict[str, str] = {}

    def walk(node: Any) -> None:
        if not isinstance(node, E):
            return
        if node.op == "let":
            walk(node.args[1])
            found.setdefault(node.args[0], text(node.args[1]))
            return
        for a in node.args:
            walk(a)
    walk(e)
    return found


def variables_of(e: E) -> set[str]:
    if not isinstance(e, E):
        return set()
    if e.op == "var":
        return {e.args[0]}
    return set().union(*(variables_of(a) for a in e.args)) if e.args else set()


def evaluate(e: E, env: dict[str, Any], n: int, memo: dict | None = None) -> Any:
    """The expression's value with n tangents: a D, or an object array of D."""
    memo = {} if memo is None else memo
    key = id(e)
    if key in memo:
        return memo[key]
    op, args = e.op, e.args
    if op == "var":
        out = env[args[0]]
    elif op == "const":
        out = D.const(args[0], n)
    elif op == "let":
        out = evaluate(args[1], env, n, memo)
    elif op == "call":
        out = FUNCTIONS[args[0]](*[evaluate(a, env, n, memo) if isinstance(a, E) else a for a in args[1:]])
    elif op == "neg":
        out = -evaluate(args[0], env, n, memo)
    elif op == "T":
        out = evaluate(args[0], env, n, memo).T
    elif op == "**":
        base = evaluate(args[0], env, n, memo)
        out = _elementwise(lambda b: b ** args[1])(base)
    else:
        a, b = evaluate(args[0], env, n, memo), evaluate(args[1], env, n, memo)
        out = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b,
               "@": lambda: a @ b}[op]()
    memo[key] = out
    return out


# ----- derivative formulas (scalar expressions), for claims written as formulas ---------------------------
def _is_zero(e: E) -> bool:
    return e.op == "const" and e.args[0] == 0


def _is_one(e: E) -> bool:
    return e.op == "const" and e.args[0] == 1


def _plus(a: E, b: E) -> E:
    return b if _is_zero(a) else a if _is_zero(b) else a + b


def _times(a: E, b: E) -> E:
    if _is_zero(a) or _is_zero(b):
        return lit(0)
    return b if _is_one(a) else a if _is_one(b) else a * b


def derivative(e: E, name: str) -> E:
    """∂e/∂name as a formula of the variables (and --let names), with step(0) = 1/2 and sign(0) = 0 at
    switches, which makes it the midpoint of the one-sided derivatives there."""
    op, a = e.op, e.args
    if op == "var":
        return lit(1 if a[0] == name else 0)
    if op == "const":
        return lit(0)
    if op == "let":
        return derivative(a[1], name)
    if op == "neg":
        d = derivative(a[0], name)
        return lit(0) if _is_zero(d) else -d
    if op in ("+", "-"):
        da, db = derivative(a[0], name), derivative(a[1], name)
        if op == "+":
            return _plus(da, db)
        return da if _is_zero(db) else (-db if _is_zero(da) else da - db)
    if op == "*":
        return _plus(_times(derivative(a[0], name), a[1]), _times(a[0], derivative(a[1], name)))
    if op == "/":
        da, db = derivative(a[0], name), derivative(a[1], name)
        first = lit(0) if _is_zero(da) else da / a[1]
        second = lit(0) if _is_zero(db) else _times(a[0], db) / a[1] ** 2
        return first if _is_zero(second) else (-second if _is_zero(first) else first - second)
    if op == "**":
        k = a[1]
        return _times(_times(lit(k), a[0] ** (k - 1) if k != 2 else a[0]), derivative(a[0], name))
    if op == "call":
        fname, args = a[0], a[1:]
        if fname in ("max", "min"):
            p, q = args
            dp, dq = derivative(p, name), derivative(q, name)
            first, second = (p - q, q - p) if fname == "max" else (q - p, p - q)
            return _plus(_times(call("step", first), dp), _times(call("step", second), dq))
        (u,) = args
        du = derivative(u, name)
        if _is_zero(du):
            return lit(0)
        local = {"relu": lambda: call("step", u), "abs": lambda: call("sign", u),
                 "elu": lambda: call("step", u) + call("step", -u) * call("exp", u),
                 "exp": lambda: call("exp", u), "log": lambda: 1 / u, "sqrt": lambda: 1 / (2 * call("sqrt", u)),
                 "sin": lambda: call("cos", u), "cos": lambda: -call("sin", u),
                 "tanh": lambda: 1 - call("tanh", u) ** 2,
                 "sigmoid": lambda: call("sigmoid", u) * (1 - call("sigmoid", u))}[fname]()
        return _times(local, du)
    raise ValueError(f"no formula for {op}")


# ----- the truth at a point ------------------------------------------------------------------------------
@dataclass
class VarTruth:
    """One differentiated variable: per entry the one-sided partial derivatives, and the pieces."""

    left: np.ndarray  # object arrays of exact numbers, the variable's shape (() for a scalar)
    right: np.ndarray
    pieces: list[np.ndarray] = field(default_factory=list)

    @property
    def kinked(self) -> bool:
        return any(not same(a, b) for a, b in zip(self.left.flat, self.right.flat))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo = np.frompyfunc(lambda a, b: a if le(a, b) else b, 2, 1)(self.left, self.right)
        hi = np.frompyfunc(lambda a, b: b if le(a, b) else a, 2, 1)(self.left, self.right)
        return np.asarray(lo, dtype=object), np.asarray(hi, dtype=object)

    def smooth_value(self) -> np.ndarray:
        assert not self.kinked
        return self.right

    def describe(self) -> str:
        if self.left.shape == ():
            lo, hi = self.bounds()
            a, b = to_float(lo[()]), to_float(hi[()])
            return f"{a:.17g}" if same(lo[()], hi[()]) else f"[{a:.17g}, {b:.17g}]"
        lo, hi = self.bounds()
        parts = []
        for idx in np.ndindex(self.left.shape):
            a, b = to_float(lo[idx]), to_float(hi[idx])
            parts.append(f"{a:.6g}" if same(lo[idx], hi[idx]) else f"[{a:.6g},{b:.6g}]")
        return "(" + " ".join(parts) + ")"


def _env(point: dict[str, Any], wrt: list[str], data: set[str], directions: list[dict[str, np.ndarray]]) -> dict:
    """Every variable as D (or an object array of D) carrying its tangent along each direction;
    class labels (data) stay integer arrays."""
    env = {}
    for name, value in point.items():
        if name in data:
            env[name] = np.asarray(value)
            continue
        arr = np.asarray(value)
        out = np.empty(arr.shape, dtype=object)
        for idx in np.ndindex(arr.shape):
            tangents = [exact(np.asarray(dr[name], dtype=object)[idx]) if name in wrt and name in dr else ZERO
                        for dr in directions]
            out[idx] = D(exact(arr[idx]), tangents)
        env[name] = out[()] if arr.shape == () else out
    return env


def _snapped(v: Any) -> Any:
    return ZERO if not isinstance(v, Fraction) and abs(v) < RESIDUE else v


def _scalar(out: Any) -> D:
    if isinstance(out, np.ndarray):
        assert out.shape == (), f"f must be a scalar, got shape {out.shape}"
        out = out[()]
    assert isinstance(out, D)
    return out


def _unit(point: dict, name: str, idx: tuple, s: int) -> dict[str, np.ndarray]:
    shape = np.shape(point[name])
    arr = np.zeros(shape, dtype=object)
    arr[idx] = Fraction(s)
    return {name: arr}


def value_at(e: E, point: dict, data: set[str] = frozenset()) -> Any:
    """f's exact value at the point."""
    return _scalar(evaluate(e, _env(point, [], set(data), []), 0)).v


def switches_at(e: E, point: dict, data: set[str] = frozenset()) -> list[str]:
    """The switches whose argument is exactly at its switch here (relu's 0, a tie in a max)."""
    SWITCHES.clear()
    RECORDING[0] = True
    try:
        evaluate(e, _env(point, [], set(data), []), 0)
    finally:
        RECORDING[0] = False
    found = list(SWITCHES)
    SWITCHES.clear()
    return found


def directional(e: E, point: dict, wrt: list[str], direction: dict[str, np.ndarray], data: set[str] = frozenset()):
    """f'(x; v), the one-sided derivative along the direction v (a dict of arrays)."""
    return _snapped(_scalar(evaluate(e, _env(point, wrt, set(data), [direction]), 1)).t[0])


def one_sided(e: E, point: dict, wrt: list[str], data: set[str] = frozenset()) -> dict[str, VarTruth]:
    truths = {}
    for name in wrt:
        shape = np.shape(point[name])
        left, right = np.empty(shape, dtype=object), np.empty(shape, dtype=object)
        for idx in np.ndindex(shape):
            right[idx] = directional(e, point, wrt, _unit(point, name, idx, 1), data)
            left[idx] = -directional(e, point, wrt, _unit(point, name, idx, -1), data)
        truths[name] = VarTruth(left, right)
    return truths


def piece(e: E, point: dict, wrt: list[str], d: dict, d2: dict, data: set[str] = frozenset()) -> dict[str, np.ndarray]:
    """The gradient of the smooth piece of f that the directions d, then d2, lead into."""
    coords = [(name, idx) for name in wrt for idx in np.ndindex(np.shape(point[name]))]
    directions = [d, d2]
    for name, idx in coords:
        directions.append(_unit(point, name, idx, 1))
    out = _scalar(evaluate(e, _env(point, wrt, set(data), directions), len(directions)))
    grads = {name: np.empty(np.shape(point[name]), dtype=object) for name in wrt}
    for k, (name, idx) in enumerate(coords):
        grads[name][idx] = _snapped(out.t[2 + k])
    return grads


def random_direction(point: dict, wrt: list[str], rng: random.Random) -> dict[str, np.ndarray]:
    """Small nonzero integers per entry: generic enough that no switch's argument has zero slope along
    it unless its whole gradient is zero (d2 settles the rare tie)."""
    out = {}
    for name in wrt:
        shape = np.shape(point[name])
        arr = np.empty(shape, dtype=object)
        for idx in np.ndindex(shape):
            arr[idx] = Fraction(rng.choice([-1, 1]) * rng.randint(1, 97), rng.randint(1, 13))
        out[name] = arr
    return out


def truth(e: E, point: dict, wrt: list[str], data: set[str] = frozenset(), seed: int = 0,
          directions: int = 2) -> dict[str, VarTruth]:
    """One-sided partials of every entry, and the pieces along ±d for `directions` random d, those
    inside the entry-wise intervals kept (distinct ones only)."""
    truths = one_sided(e, point, wrt, data)
    rng = random.Random(seed)
    found: list[dict[str, np.ndarray]] = []
    for _ in range(directions):
        d, d2 = random_direction(point, wrt, rng), random_direction(point, wrt, rng)
        for s in (1, -1):
            neg = {k: np.asarray(-v, dtype=object) for k, v in d.items()}
            g = piece(e, point, wrt, d if s == 1 else neg, d2, data)
            if not any(all(all(same(p, q) for p, q in zip(np.asarray(g[n]).flat, np.asarray(h[n]).flat)) for n in wrt)
                       for h in found):
                found.append(g)
    for name in wrt:
        truths[name].pieces = [g[name] for g in found]
    # A piece lies in every entry's interval where the pieces are a convex function's or a concave
    # one's; where two switches meet along one coordinate it may not, and such a point is not used.
    inside = [g for g in found if all(within(g[n], truths[n], PIECE_SLACK) for n in wrt)]
    for name in wrt:
        truths[name].pieces = [g[name] for g in inside]
    return truths


# ----- judging a claim -------------------------------------------------------------------------------------
def within(claim: Any, t: VarTruth, rel: float) -> bool:
    """Every entry within [lo, hi], up to `rel` times the entry's size (the claim's own rounding)."""
    lo, hi = t.bounds()
    c = np.asarray(claim, dtype=object)
    if c.shape != lo.shape:
        return False
    for idx in np.ndindex(lo.shape):
        value, a, b = exact(c[idx]), lo[idx], hi[idx]
        slack = mul(rel, max(abs(mp(a)), abs(mp(b)))) if rel else ZERO
        if mp(value) < mp(a) - mp(slack) or mp(value) > mp(b) + mp(slack):
            return False
    return True


def clearly_outside(claim: Any, t: VarTruth, dtype: str) -> bool:
    """Some entry further outside [lo, hi] than CLEARLY x rtol of its size."""
    lo, hi = t.bounds()
    c = np.asarray(claim, dtype=object)
    if c.shape != lo.shape:
        return True
    for idx in np.ndindex(lo.shape):
        value, a, b = mp(exact(c[idx])), mp(lo[idx]), mp(hi[idx])
        gap = a - value if value < a else value - b if value > b else 0
        if gap > CLEARLY * RTOL[dtype] * max(abs(a), abs(b), abs(value)) and gap > RESIDUE:
            return True
    return False


def judge_numbers(claims: dict[str, Any], truths: dict[str, VarTruth], dtype: str) -> str:
    """"right" (every entry of every claim within its interval, up to rounding), "wrong" (some entry
    clearly outside), or "unclear" (neither: such a claim is not used)."""
    if all(within(c, truths[n], CLAIM_ROUNDING[dtype]) for n, c in claims.items()):
        return "right"
    if any(clearly_outside(c, truths[n], dtype) for n, c in claims.items()):
        return "wrong"
    return "unclear"


def nearby_points(point: dict, names: list[str], rng: random.Random, count: int = 4) -> list[dict]:
    """Points a little way off, each variable moved by a random dyadic amount."""
    out = []
    for _ in range(count):
        moved = dict(point)
        for name in names:
            v = float(point[name])
            step = rng.choice([-1, 1]) * rng.randint(1, 15) / 64 * max(1.0, abs(v))
            if abs(v) < 0.01 and v != 0:  # keep the sign and the scale of a small value
                step = v * rng.randint(1, 7) / 8
            moved[name] = v + step
        out.append(moved)
    return out


def formula_wrong_elsewhere(f: E, claim: E, name: str, point: dict, wrt: list[str], rng: random.Random) -> bool:
    """Whether the claimed formula differs from ∂f/∂name at some nearby point where f is smooth."""
    for q in nearby_points(point, [n for n in wrt], rng, count=6):
        try:
            t = one_sided(f, q, wrt)[name]
            c = value_at(claim, q)
        except (ZeroDivisionError, AssertionError):
            continue
        if t.kinked:
            continue
        truth_value = mp(t.right[()])
        if abs(mp(c) - truth_value) > 1e-6 * max(1, abs(truth_value)):
            return True
    return False


def formula_right_elsewhere(f: E, claim: E, name: str, point: dict, wrt: list[str], rng: random.Random) -> bool:
    """The self-check of `derivative`: the formula equals the truth at nearby smooth points."""
    checked = 0
    for q in nearby_points(point, [n for n in wrt], rng, count=6):
        try:
            t = one_sided(f, q, wrt)[name]
            c = value_at(claim, q)
        except (ZeroDivisionError, AssertionError):
            continue
        if t.kinked:
            continue
        checked += 1
        if not close(c, t.right[()], 1e-40) and not same(c, t.right[()]):
            return False
    return checked > 0


def difference_quotient(e: E, point: dict, name: str, idx: tuple, data: set[str] = frozenset()) -> Any:
    """(f(x + h) - f(x - h)) / 2h with h = 2**-110 of the entry, f evaluated exactly / at PRECISION bits:
    a check of the tangent rules by values alone (truncation ~h**2, rounding ~2**-210 of f)."""
    v = exact(np.asarray(point[name], dtype=object)[idx])
    h = Fraction(1, 2**110) * max(Fraction(1), abs(v))

    def at(s: int):
        arr = np.array(point[name], dtype=object)
        arr[idx] = v + s * h
        return value_at(e, {**point, name: arr if arr.shape else arr[()]}, data)
    return div(sub(at(1), at(-1)), 2 * h)


def at_precision(bits: int, compute: Callable[[], Any]) -> Any:
    """compute() with mpmath at `bits` instead of PRECISION (to see what a 30-digit evaluation loses)."""
    saved = CTX.prec
    CTX.prec = bits
    try:
        return compute()
    finally:
        CTX.prec = saved
