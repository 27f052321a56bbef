"""Record what a registry SymPy form does, entry by entry, without SymPy's arithmetic.

An array primitive's form (sym_matmul, sym_softmax_ce, ...) builds every output entry from its
input entries through `sp.Add`, `sp.exp`, `*`, `/`, ... Building those SymPy expressions for every
entry is most of the symbolic column's time (SymPy checks assumptions at each step), though most
entries differ only in which input entries they hold. Here the form runs on Recorded placeholders
and a stand-in for the sympy module that only write down the calls; entries of the same structure
are then replayed through real SymPy once (sym_chain.py), on canonical symbols. The replay makes
the very calls the form made, so SymPy's form, and its derivatives, are unchanged.

A form that asks its entries anything else (`.is_number`, comparisons) raises NotRecordable, and
the caller builds it with SymPy directly.
"""

from __future__ import annotations

from typing import Any

from ..ops.ties import tie_max


def _tie_max(sp, *terms):

    return tie_max(sp, *terms)


# The SymPy forms of gradcheck's own that registry forms call (recorded as "gc.<name>").
GRADCHECK_FUNCTIONS = {"gc.tie_max": _tie_max}


class NotRecordable(Exception):
    """The form does something with its entries that is not recorded."""


class Recorded:
    """A placeholder for an input entry (op None, args (origin,)) or the record of one operation."""

    __slots__ = ("op", "args", "kwargs")

    def __init__(self, op: str | None, args: tuple, kwargs: tuple = ()):
        self.op, self.args, self.kwargs = op, args, kwargs

    def __getattr__(self, name: str):
        raise NotRecordable(name)

    def __bool__(self):
        raise NotRecordable("truth value")

    def __eq__(self, other):  # numpy's object-array code may compare; the form must not
        raise NotRecordable("comparison")

    __hash__ = object.__hash__


def _operator(name: str):
    def op(self, *other):
        return Recorded(name, (self, *other))
    op.__name__ = name
    return op


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
              "__rtruediv__", "__pow__", "__rpow__", "__neg__", "__pos__", "__abs__"):
    setattr(Recorded, _name, _operator(_name))


class RecordingSympy:
    """Stands in for the sympy module: a call with a Recorded argument is written down; any other
    call (sp.Rational(1, 16), sp.Integer(0)) and every constant (sp.pi) is SymPy's own."""

    def __init__(self, sp):
        self._sp = sp

    def recorded(self, op: str, args: tuple):
        """A form of gradcheck's own (GRADCHECK_FUNCTIONS) called: written down if it has a Recorded
        argument, else built on SymPy at once."""
        if any(isinstance(a, Recorded) for a in args):
            return Recorded(op, args)
        return GRADCHECK_FUNCTIONS[op](self._sp, *args)

    def __getattr__(self, name: str):
        real = getattr(self._sp, name)
        if not callable(real):
            return real

        def call(*args, **kwargs):
            if any(isinstance(a, Recorded) for a in (*args, *kwargs.values())):
                return Recorded("sp." + name, args, tuple(sorted(kwargs.items())))
            return real(*args, **kwargs)
        return call


def structure(entry: Any, found: dict[Any, int]) -> Any:
    """The recorded entry with each input replaced by the order it first appears in: equal for two
    entries exactly when one is the other with its inputs renamed."""
    if isinstance(entry, Recorded):
        if entry.op is None:
            return found.setdefault(entry.args[0], len(found))
        return (entry.op, *(structure(a, found) for a in entry.args),
                *((k, structure(v, found)) for k, v in entry.kwargs))
    if isinstance(entry, (tuple, list)):
        return (type(entry), *(structure(a, found) for a in entry))
    return (type(entry), entry)


def replay(sp, entry: Any, symbol_of: dict[Any, Any], memo: dict[int, Any]) -> Any:
    """The SymPy expression the form would have built, with input `origin` as symbol_of[origin]."""
    if isinstance(entry, (tuple, list)):
        return type(entry)(replay(sp, a, symbol_of, memo) for a in entry)
    if not isinstance(entry, Recorded):
        return entry
    if id(entry) in memo:
        return memo[id(entry)]
    if entry.op is None:
        out = symbol_of[entry.args[0]]
    else:
        args = [replay(sp, a, symbol_of, memo) for a in entry.args]
        kwargs = {k: replay(sp, v, symbol_of, memo) for k, v in entry.kwargs}
        if entry.op.startswith("sp."):
            out = getattr(sp, entry.op[3:])(*args, **kwargs)
        elif entry.op in GRADCHECK_FUNCTIONS:  # a form of gradcheck's own (sym_ties.py), built on sp
            out = GRADCHECK_FUNCTIONS[entry.op](sp, *args)
        else:
            out = getattr(args[0], entry.op)(*args[1:])
            if out is NotImplemented:  # e.g. Integer.__rpow__ of a plain float: do it the other way round
                raise NotRecordable(entry.op)
    memo[id(entry)] = out
    return out
