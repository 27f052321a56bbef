"""SymPy: map the tree to a SymPy expression, differentiate, evaluate at the point.

SymPy is imported here and only here, when this oracle runs, so that `gradcheck --help` and the
other oracles do not pay its start-up. The tree is mapped node by node (no text is ever handed to
sympify), so SymPy sees the same expression the other oracles do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..primitives import CONSTANTS
from ..tree import Apply, Const, Node, Var, topological

# Digits SymPy carries when it evaluates a derivative: well past float64's 16, so the symbolic
# column is the reference the others are measured against.
EVAL_DIGITS = 30


@dataclass(frozen=True)
class SymbolicResult:
    value: float | None
    formula: str | None = None  # simplified ∂f/∂x, when asked for
    note: str | None = None  # why value is None


def symbolic(root: Node, point: Mapping[str, Any], wrt: list[Var], formulas: bool = False
             ) -> dict[str, SymbolicResult]:
    import sympy as sp

    symbols = {name: sp.Symbol(name, real=True) for name in point}
    try:
        expr = to_sympy(sp, root, symbols)
    except RecursionError:
        return {v.name: SymbolicResult(None, note="skipped: expression too deep for SymPy") for v in wrt}
    subs = {symbols[name]: sp.Float(float(x), EVAL_DIGITS) for name, x in point.items()}
    results = {}
    for v in wrt:
        try:
            d = sp.diff(expr, symbols[v.name])
            number = _as_float(d.evalf(EVAL_DIGITS, subs=subs))
            formula = str(sp.simplify(d)) if formulas else None
        except RecursionError:
            results[v.name] = SymbolicResult(None, note="skipped: expression too deep for SymPy")
            continue
        note = None if number is not None else f"SymPy gives no finite number here: {d}"
        results[v.name] = SymbolicResult(number, formula, note)
    return results


def to_sympy(sp, root: Node, symbols: Mapping[str, Any]):
    """The SymPy expression for root, built bottom-up through the registry's SymPy forms."""
    built: dict[Node, Any] = {}
    for node in topological(root):
        if isinstance(node, Var):
            built[node] = symbols[node.name]
        elif isinstance(node, Const):
            built[node] = _constant(sp, node)
        else:
            assert isinstance(node, Apply)
            built[node] = node.prim.sympy(sp, *(built[a] for a in node.args))
    return built[root]


def _constant(sp, node: Const):
    if node.name is not None:
        return getattr(sp, CONSTANTS[node.name][1])
    if node.exact is not None:
        return sp.Integer(node.exact)
    return sp.Float(node.value)


def _as_float(number) -> float | None:
    try:
        result = complex(number)
    except (TypeError, ValueError):
        return None
    if result.imag != 0 or result.real != result.real or abs(result.real) == float("inf"):
        return None
    return result.real
