"""Terms: gradients as expressions in gradcheck's own language, with their shapes, simplified as built.

The matrix rules in the registry build Terms (`G @ b.T`, `G * step(x)`); the constructors here
simplify as a course would write (no `* 1`, no `1 *`, `--x` is x, `(A @ B).T` is `B.T @ A.T`, a
constant divisor moved to the end: `X.T @ D / 8`), and `show` prints a Term as text the parser
reads back. Pure Python: no numpy, no SymPy (the registry imports this module).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .arrays import broadcast_shape, matmul_shape

Shape = tuple[int, ...]

# Printing levels. The operators' binding powers come from the registry (read when printing, to keep
# this module free of an import cycle); these two bound them from below and above.
LOWEST, ATOM = 0, 100


@dataclass(frozen=True, eq=False)
class Term:
    kind: str  # "leaf" (a name or text as written), "num", "op" (binary operator), "neg", "T", "call"
    text: str  # the name, the operator, or the function
    args: tuple[Term, ...] = ()
    shape: Shape = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    value: float = 0.0  # of a "num"
    atomic: bool = True  # of a "leaf": False when it is text that needs parentheses as an operand

    # ----- arithmetic, simplifying -------------------------------------------------------------
    def __add__(self, other: Term) -> Term:
        if is_num(other, 0) and _fits(self, other):
            return self
        if is_num(self, 0) and _fits(other, self):
            return other
        if other.kind == "neg":
            return self - other.args[0]
        return binary("+", self, other)

    def __sub__(self, other: Term) -> Term:
        if is_num(other, 0) and _fits(self, other):
            return self
        if other.kind == "neg":
            return self + other.args[0]
        return binary("-", self, other)

    def __mul__(self, other: Term) -> Term:
        if self.kind == "neg":
            return -(self.args[0] * other)
        if other.kind == "neg":
            return -(self * other.args[0])
        if self.kind == "num" and other.kind == "num":
            return num(self.value * other.value)
        if is_num(self, 1) and _fits(other, self):
            return other
        if is_num(other, 1) and _fits(self, other):
            return self
        if _is_ones(other) and _fits(self, other):
            return self
        if _is_ones(self) and _fits(other, self):
            return other
        if self.kind == "op" and self.text == "*" and _is_ones(self.args[0]) \
                and broadcast(self.args[1].shape, other.shape) == broadcast(self.shape, other.shape):
            return self.args[1] * other  # ones((2, 3)) * 2 * cos(X) is 2 * cos(X)
        if self.kind == "op" and self.text == "/" and self.args[1].kind == "num":  # (a / m) * b = a * b / m
            return (self.args[0] * other) / self.args[1]
        if other.kind == "op" and other.text == "/" and other.args[1].kind == "num":
            return (self * other.args[0]) / other.args[1]
        if other.kind == "op" and other.text == "*":  # a * (b * c) = a * b * c: no parentheses needed
            return (self * other.args[0]) * other.args[1]
        return binary("*", self, other)

    def __truediv__(self, other: Term) -> Term:
        if is_num(other, 1):
            return self
        if self.kind == "neg":
            return -(self.args[0] / other)
        if self.kind == "op" and self.text == "/" and self.args[1].kind == "num" and other.kind == "num":
            return self.args[0] / num(self.args[1].value * other.value)
        return binary("/", self, other)

    def __matmul__(self, other: Term) -> Term:
        if self.kind == "neg":
            return -(self.args[0] @ other)
        if other.kind == "neg":
            return -(self @ other.args[0])
        for side in (0, 1):  # a constant divisor moves out: X.T @ (D / 8) = X.T @ D / 8
            t = (self, other)[side]
            if t.kind == "op" and t.text == "/" and t.args[1].kind == "num":
                inner = (t.args[0] @ other) if side == 0 else (self @ t.args[0])
                return inner / t.args[1]
        return Term("op", "@", (self, other), matmul_shape(self.shape, other.shape))

    def __pow__(self, other: Term) -> Term:
        if is_num(other, 1):
            return self
        return binary("**", self, other)

    def __neg__(self) -> Term:
        if self.kind == "neg":
            return self.args[0]
        if self.kind == "num":
            return num(-self.value)
        return Term("neg", "-", (self,), self.shape)

    @property
    def T(self) -> Term:  # noqa: N802 - written as in numpy and in the language
        if len(self.shape) < 2:
            return self
        if self.kind == "T":
            return self.args[0]
        if self.kind == "op" and self.text == "@":
            return self.args[1].T @ self.args[0].T
        if self.kind == "op" and self.text == "/" and self.args[1].kind == "num":
            return self.args[0].T / self.args[1]
        if self.kind == "neg":
            return -self.args[0].T
        return Term("T", ".T", (self,), tuple(reversed(self.shape)))


def leaf(text: str, shape: Shape, atomic: bool = True) -> Term:
    return Term("leaf", text, shape=tuple(shape), atomic=atomic)


def num(value: float) -> Term:
    return Term("num", _number_text(value), value=float(value))


def call(name: str, *args: Term, out: Shape | None = None, **kwargs: Any) -> Term:
    """name(args, key=value): elementwise (the arguments' broadcast shape) unless `out` gives the shape."""
    shape = broadcast(*(a.shape for a in args)) if out is None else tuple(out)
    return Term("call", name, tuple(args), shape, tuple(kwargs.items()))


def expand_dims(t: Term, axis: int) -> Term:
    """t with a new axis of size 1 at `axis`; of ones(s) (or ones(s) / n), simply a bigger ones."""
    shape = t.shape[:axis] + (1,) + t.shape[axis:]
    if _is_ones(t):
        return call("ones", out=shape, shape=shape)
    if t.kind == "op" and t.text == "/" and t.args[1].kind == "num" and _is_ones(t.args[0]):
        return expand_dims(t.args[0], axis) / t.args[1]
    return call("expand_dims", t, out=shape, axis=axis)


def binary(op: str, a: Term, b: Term) -> Term:
    return Term("op", op, (a, b), broadcast(a.shape, b.shape))


def is_num(t: Term, value: float) -> bool:
    return t.kind == "num" and t.value == value


def _is_ones(t: Term) -> bool:
    return t.kind == "call" and t.text == "ones"


def _fits(kept: Term, dropped: Term) -> bool:
    """Dropping `dropped` from an elementwise operation keeps the result's shape."""
    return broadcast(kept.shape, dropped.shape) == kept.shape


def broadcast(*shapes: Shape) -> Shape:
    """numpy's broadcasting of shapes (ValueError where they do not broadcast): the arrays' rule, one owner."""
    return broadcast_shape(*shapes)


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))
