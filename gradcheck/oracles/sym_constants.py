"""Constants in the symbolic oracle: which nodes have no variable below them, and a literal's SymPy
form. Shared by symbolic.py (whole expressions) and sym_chain.py (per operation)."""

from __future__ import annotations

from ..language.tree import Apply, Const, Node
from ..ops.registry import CONSTANTS


def constant_nodes(order: list[Node]) -> set[Node]:
    """The operations without a variable below them, found in one pass over a topological order."""
    fixed: set[Node] = set()
    for node in order:
        if isinstance(node, Apply) and all(isinstance(a, Const) or a in fixed for a in node.args):
            fixed.add(node)
    return fixed


def constant_value(node: Const):
    """A literal's value as an mpf at the working precision, as SymPy's form of it evaluates, without SymPy."""
    import mpmath

    if node.name is not None:
        return +getattr(mpmath, CONSTANTS[node.name][2])
    if node.exact is not None:
        return mpmath.mpf(node.exact)
    return mpmath.mpf(node.value)


def constant_key(node: Const) -> tuple:
    """What determines a literal's SymPy form (sympy_constant), for keys that must not need SymPy."""
    return ("const", node.name, node.exact, node.value)


def sympy_constant(sp, node: Const):
    if node.name is not None:
        return getattr(sp, CONSTANTS[node.name][1])
    if node.exact is not None:
        return sp.Integer(node.exact)
    return sp.Float(node.value)
