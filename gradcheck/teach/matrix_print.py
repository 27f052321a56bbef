"""Matrix-form terms printed in gradcheck's own language, with the registry's operator precedence.

Apart from matrix_terms.py (which the registry's matrix rules build on), so that the registry is
imported by the printer and not the other way round.
"""

from __future__ import annotations

from typing import Any

from ..ops.registry import BINARY_OPERATORS, FUNCTIONS, PREFIX_OPERATORS, REQUIRED
from ..ops.terms import ATOM, LOWEST, Term, leaf


def _power(op: str) -> int:
    return BINARY_OPERATORS[op].precedence


def _unary_power() -> int:
    return PREFIX_OPERATORS["-"].precedence


def level(t: Term) -> int:
    """How tightly the printed term holds together (an operand with a lower level gets parentheses)."""
    if t.kind == "op":
        return _power(t.text)
    if t.kind == "neg" or (t.kind == "num" and t.value < 0):
        return _unary_power()
    if t.kind == "leaf" and not t.atomic:
        return LOWEST
    return ATOM


def show(t: Term) -> str:
    if t.kind in ("leaf", "num"):
        return t.text
    if t.kind == "neg":
        inner = t.args[0]
        return "-" + _wrap(inner, level(inner) < _unary_power() or inner.kind == "neg")
    if t.kind == "T":
        inner = t.args[0]
        return _wrap(inner, level(inner) < ATOM or inner.kind == "num") + ".T"
    if t.kind == "call":
        return f"{t.text}({', '.join([*(show(a) for a in t.args), *_keywords(t)])})"
    a, b = t.args
    power = _power(t.text)
    if t.text == "**":  # right-associative
        left_wrap, right_wrap = level(a) <= power, level(b) < _unary_power()
    else:
        left_wrap = level(a) < power or _mixed(t, a)
        right_wrap = level(b) <= power
    return f"{_wrap(a, left_wrap)} {t.text} {_wrap(b, right_wrap)}"


def _mixed(parent: Term, child: Term) -> bool:
    """(A @ B) * C: legal without parentheses (same binding power), but a reader should not have to know."""
    if parent.text == "/" and parent.args[1].kind == "num":
        return False  # X.T @ D / 8: dividing the whole product by a number reads the same either way
    return child.kind == "op" and child.text != parent.text and "@" in (child.text, parent.text) \
        and _power(child.text) == _power(parent.text)


def _wrap(t: Term, needed: bool) -> str:
    return f"({show(t)})" if needed else show(t)


def _keywords(t: Term) -> list[str]:
    """The call's constant arguments, except those at the registry's default."""
    prim = FUNCTIONS.get(t.text)
    defaults = dict(prim.static) if prim is not None else {}
    out = []
    for name, value in t.kwargs:
        if defaults.get(name, ...) is REQUIRED:
            out.append(_constant(value))  # onehot(y, 3), ones((3, 4)): as a course writes them
        elif name not in defaults or defaults[name] != value:
            out.append(f"{name}={_constant(value)}")
    return out


def _constant(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_constant(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def replace_named(t: Term, names: dict[str, str]) -> Term:
    """Every subterm whose text is a --let body written out, replaced by the --let name (largest first)."""
    text = show(t)
    if t.kind not in ("leaf", "num") and text in names:
        return leaf(names[text], t.shape)
    if not t.args:
        return t
    args = tuple(replace_named(a, names) for a in t.args)
    return Term(t.kind, t.text, args, t.shape, t.kwargs, t.value, t.atomic)
