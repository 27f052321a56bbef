"""A derivative written in the registry's vocabulary, for the formula shown beside a wrong claim.

SymPy writes sigmoid as 1/(1 + exp(-x)), so its derivative of sigmoid(z) reads
exp(-z)/(1 + exp(-z))**2. The registry knows sigmoid's derivative as sigmoid(x)*(1 - sigmoid(x)).
Here every elementwise primitive of one input that SymPy would write as something else (sigmoid,
softplus, relu, gelu, log1p, ...) stays a function of its own name, whose derivative is its registry
entry's `derivatives` text: differentiating sigmoid(w0*x0 + w1*x1 + w2) in w0 then gives
x0*(1 - sigmoid(z))*sigmoid(z). What it gives is only a text to show: shown_formula checks it at the
point and around it, as any formula, before it is shown.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..language.parser import parse
from ..language.tree import Const, Node, Var
from ..ops.registry import PRIMITIVES, Primitive
from .sym_constants import sympy_constant


class Unwritable(Exception):
    """The tree holds something this writing does not cover (an array operation): SymPy's own is used."""


def functions(sp) -> dict[str, Any]:
    """A SymPy function class per primitive SymPy would expand, its derivative from the registry."""
    x = sp.Symbol("x", real=True)
    made: dict[str, Any] = {}
    for p in PRIMITIVES:
        if not p.elementwise or p.arity != 1:
            continue
        form = p.sympy(sp, x)
        if form.is_polynomial(x) or form.args == (x,):  # -x; asin(x), Abs(x): SymPy has a function of its own
            continue
        made[p.name] = _function(sp, p, made)
    return made


def _function(sp, p: Primitive, made: dict[str, Any]) -> Any:
    def fdiff(self: Any, argindex: int = 1) -> Any:
        return written(sp, parse(p.derivatives[0], origin=f"{p.name}'s derivative"), {"x": self.args[0]}, made)
    return type(p.name, (sp.Function,), {"fdiff": fdiff})


def written(sp, node: Node, symbols: Mapping[str, Any], made: Mapping[str, Any]) -> Any:
    """A scalar tree as SymPy, with the primitives in `made` kept as themselves."""
    if isinstance(node, Var):
        return symbols[node.name]
    if isinstance(node, Const):
        return sympy_constant(sp, node)
    if not node.prim.elementwise or node.static:
        raise Unwritable(node.prim.name)
    args = [written(sp, a, symbols, made) for a in node.args]
    if node.prim.name in made:
        return made[node.prim.name](*args)
    return node.prim.sympy(sp, *args)
