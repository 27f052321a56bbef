"""The largest of several entries, as SymPy should differentiate it at a tie.

SymPy's Max(a, b, c) has the derivative Heaviside(a - Max(b, c)) by a, each 1/2 at a tie, so at a
three-way tie moving every entry together (amax(x + b) by b) comes out 3/2 instead of 1; and Min of
112 entries builds a Min of 111 for each of its derivatives (amin(X) at 4×7×4 ran out of its two
minutes). TieMax(a, b, c) is the same maximum whose derivative by its i-th entry is TieShare(i, a, b,
c): 1/k where that entry is one of the k tied largest, 0 elsewhere, so that the shares of a tie add up
to 1, as backprop shares the gradient among tied maxima. Each is evaluated by the registry's mpmath
rules (max_rule, share_rule: primitives.py), in time linear in the entries.

SymPy is imported by the caller (the symbolic oracle), never here: the classes are made on first use
from the sympy module handed in. A registry form running on sym_record's placeholders records the
call instead ("gc.tie_max"), and sym_record replays it through tie_max.
"""

from __future__ import annotations

from typing import Any

_classes: dict[str, Any] = {}


def tie_max(sp: Any, *terms: Any) -> Any:
    """The largest of terms, as a SymPy expression (TieMax), or, where `sp` records the forms' calls
    (sym_record.RecordingSympy), the record of this one."""
    if hasattr(type(sp), "recorded"):
        return sp.recorded("gc.tie_max", terms)
    if len(terms) == 1:
        return terms[0]
    return _made(sp)[0](*terms)


def tie_min(sp: Any, *terms: Any) -> Any:
    """The smallest of terms: minus the largest of their negatives."""
    return -tie_max(sp, *(-t for t in terms))


def _made(sp: Any) -> tuple[Any, Any]:
    """TieMax and TieShare as SymPy Function classes, made once."""
    if not _classes:
        class TieShare(sp.Function):
            """1/k where entry i is one of the k tied largest of the rest of the arguments, else 0."""

            def fdiff(self, argindex: int = 1) -> Any:
                return sp.Integer(0)  # piecewise constant

        class TieMax(sp.Function):
            """max(args), differentiated as ties share it (module docstring)."""

            def fdiff(self, argindex: int = 1) -> Any:
                return TieShare(sp.Integer(argindex - 1), *self.args)

        _classes.update(TieMax=TieMax, TieShare=TieShare)
    return _classes["TieMax"], _classes["TieShare"]


def max_rule(mp: Any, *values: Any) -> Any:
    return max(values)


def share_rule(mp: Any, index: Any, *values: Any) -> Any:
    largest = max(values)
    if values[int(index)] != largest:
        return mp.mpf(0)
    return mp.mpf(1) / sum(1 for v in values if v == largest)


MPMATH = (("TieMax", max_rule), ("TieShare", share_rule))
