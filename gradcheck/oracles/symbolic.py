"""SymPy: map the tree to a SymPy expression, differentiate, evaluate at the point.

Arrays are expanded entry by entry (numpy object arrays of SymPy expressions): each entry of a
variable being differentiated is a symbol, and every other input (data, labels) is substituted as
numbers first, so the expressions stay small. All partial derivatives are then evaluated in one
pass over their shared subexpressions (see sym_eval.py) instead of one lambdify each.

SymPy is imported here and only here, when this oracle runs, so that `gradcheck --help` and the
other oracles do not pay its start-up; one operation at a time (sym_chain.py), not even then when
every kind of call was differentiated before (sym_store.py). The tree is mapped node by node (no text is ever handed to
sympify), so SymPy sees the same expression the other oracles do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from ..base.budget import checkpoint
from ..base.limits import SYMBOLIC_MAX_OPERATIONS, SYMBOLIC_MAX_PARTIALS
from ..language.cost import expanded_operations, node_costs
from ..language.evaluate import value
from ..language.tree import Apply, Const, Node, Var, topological
from ..ops.arrays import as_object_array, scalar
from . import sym_store
from .sym_constants import constant_key, constant_nodes, sympy_constant

# Without --formulas, f is differentiated whole up to this many scalar operations: -1, every check
# goes one operation at a time (sym_chain.py), even f = x, whose derivatives of each kind of call
# are kept between the cases of a batch (200 scalar cases: 7 ms a case instead of 16) and on disk
# (sym_store.py: a check of kinds of call seen before does not import SymPy).
WHOLE_MAX_OPERATIONS = -1
# --formulas writes each partial as one formula, so SymPy differentiates the whole of f as long as
# its tree expansion stays below this (above it, the values are chained and no formula is shown).
FORMULA_MAX_OPERATIONS = 2_000
# The formula shown beside a wrong claim is simplified up to this size (simplifying costs more).
CORRECTION_MAX_OPERATIONS = 300
# A formula read from the store longer than this is not one SymPy wrote for so small an f.
FORMULA_MAX_CHARACTERS = 20_000


@dataclass(frozen=True)
class SymbolicResult:
    value: Any | None  # the gradient (scalar or array) evaluated at the point
    formula: str | None = None  # simplified ∂f/∂x, when asked for (scalars)
    note: str | None = None  # why value is None


def symbolic(root: Node, point: Mapping[str, Any], wrt: list[Var], formulas: bool = False
             ) -> dict[str, SymbolicResult]:
    too_large = size_limit(root, point, wrt)
    if too_large:
        return {v.name: SymbolicResult(None, note=f"skipped (too large): {too_large}") for v in wrt}
    shapes = {name: np.shape(x) for name, x in point.items()}
    # Whole only while f written out as a tree stays small: SymPy walks a DAG of --let names as a tree.
    # SymPy's formulas are printed for scalar variables only: arrays alone need not pay for the whole expansion.
    wants_formula = formulas and any(np.ndim(point[v.name]) == 0 for v in wrt)
    whole = expanded_operations(root, shapes) <= (FORMULA_MAX_OPERATIONS if wants_formula else WHOLE_MAX_OPERATIONS)
    try:
        gradients, formula_of = _whole(root, point, wrt, formulas) if whole else _chained(root, point, wrt)
    except RecursionError:
        return {v.name: SymbolicResult(None, note="skipped: expression too deep for SymPy") for v in wrt}
    results = {}
    for v in wrt:
        got, shape = gradients[v.name], np.shape(point[v.name])
        if isinstance(got, str):
            results[v.name] = SymbolicResult(None, note=got)
        else:
            value = np.float64(got[0]) if shape == () else np.array(got, dtype=np.float64).reshape(shape)
            results[v.name] = SymbolicResult(value, formula_of.get(v.name))
    return results


def _whole(root: Node, point: Mapping[str, Any], wrt: list[Var], formulas: bool):
    """SymPy differentiates the whole expansion of f by each symbol: SymPy's own chain rule."""
    import sympy as sp

    # deferred: mpmath on first use only (start-up)
    from .sym_eval import Evaluator, as_float

    wrt_names = {v.name for v in wrt}
    symbols = {name: sympy_symbols(sp, name, point[name]) for name in wrt_names}
    inputs = {name: symbols[name] if name in wrt_names else sympy_numbers(sp, x) for name, x in point.items()}
    expr = to_sympy(sp, root, inputs)[()]
    evaluate = Evaluator({s: np.asarray(point[name])[idx] for name in wrt_names
                          for idx, s in np.ndenumerate(symbols[name])})
    gradients: dict[str, Any] = {}
    formula_of: dict[str, str] = {}
    for v in wrt:
        partials = [sympy_partial(sp, expr, s) for s in symbols[v.name].ravel()]
        numbers = [as_float(evaluate(d)) for d in partials]
        if any(n is None for n in numbers):
            bad = next(d for d, n in zip(partials, numbers) if n is None)
            gradients[v.name] = f"SymPy gives no finite number here: {_short(bad)}"
            continue
        gradients[v.name] = numbers
        if formulas and np.ndim(point[v.name]) == 0:
            formula_of[v.name] = readable(sp, partials[0])
    return gradients, formula_of


def _chained(root: Node, point: Mapping[str, Any], wrt: list[Var]):
    """For large expansions: SymPy differentiates each kind of operation once, and the local
    derivatives are evaluated at every entry and chained numerically (sym_chain.py). SymPy is
    imported there only if a kind of call was not differentiated before (sym_store.py)."""
    # deferred: mpmath on first use only (start-up)
    from .sym_chain import chained

    return chained(root, point, wrt), {}


def sympy_partial(sp, expr, s):
    """SymPy's ∂expr/∂s; of a sum, only the terms holding s are differentiated (the others give 0),
    which makes an entry of a convolution 27 times cheaper, and SymPy still does every derivative.
    Each one starts with a look at the clock (budget.py): on a large f one may take a while."""
    checkpoint()
    if expr.is_Add:
        return sp.Add(*(sp.diff(term, s) for term in expr.args if s in term.free_symbols))
    return sp.diff(expr, s)


def size_limit(root: Node, point: Mapping[str, Any], wrt: list[Var]) -> str | None:
    """Why the expansion would be too large for SymPy, or None if it is not."""
    partials = sum(int(np.size(point[v.name])) for v in wrt)
    if partials > SYMBOLIC_MAX_PARTIALS:
        return f"{partials:,} partial derivatives; the limit is {SYMBOLIC_MAX_PARTIALS:,}"
    operations = expansion_size(root, {name: np.shape(x) for name, x in point.items()})
    if operations > SYMBOLIC_MAX_OPERATIONS:
        return f"~{operations:,} scalar operations once expanded; the limit is {SYMBOLIC_MAX_OPERATIONS:,}"
    return None


def expansion_size(root: Node, shapes: Mapping[str, tuple[int, ...]]) -> int:
    """Scalar operations in the elementwise expansion, each primitive's as its registry entry counts
    them (an entry of A @ B costs its inner dimension): cost.node_costs."""
    return sum(cost for _, cost in node_costs(root, shapes, symbolic=True))



def to_sympy(sp, root: Node, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """The object array of SymPy expressions for root, built bottom-up through the registry."""
    built: dict[Node, np.ndarray] = {}
    order = topological(root)
    fixed = constant_nodes(order)
    for node in order:
        checkpoint()
        if isinstance(node, Var):
            built[node] = inputs[node.name]
        elif isinstance(node, Const):
            built[node] = scalar(sympy_constant(sp, node))
        elif node in fixed:
            built[node] = _folded(sp, node)
        else:
            built[node] = _apply(sp, node, [built[a] for a in node.args])
    return built[root]


def _folded(sp, node: Node):
    """A subtree without variables, as the number the forward pass computes. SymPy's exact arithmetic
    would work 10**-2**99 out digit by digit (and call 0/sin(pi) nan); f is a float64 program."""
    number = value(node, {})
    if np.ndim(number):  # a constructor (eye(3), arange(4)) or an array built from them
        return sympy_numbers(sp, number)
    return scalar(sp.Float(float(number)))


def _apply(sp, node: Apply, args: list[np.ndarray]) -> np.ndarray:
    """The registry's SymPy form of one node, on object arrays: entry by entry for elementwise ones."""
    if node.prim.elementwise:
        lifted = np.frompyfunc(lambda *xs: node.prim.sympy(sp, *xs), node.prim.arity, 1)
        return as_object_array(lifted(*args))
    return as_object_array(node.prim.sympy(sp, *args, **node.kwargs))


def sympy_symbols(sp, name: str, x: Any) -> np.ndarray:
    if np.ndim(x) == 0:
        return scalar(sp.Symbol(name, real=True))
    out = np.empty(np.shape(x), dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = sp.Symbol(f"{name}[{','.join(map(str, idx))}]", real=True)
    return out


def sympy_numbers(sp, x: Any) -> np.ndarray:
    out = np.empty(np.shape(x), dtype=object)
    for idx, v in np.ndenumerate(np.asarray(x, dtype=np.float64)):
        out[idx] = sp.Integer(int(v)) if float(v).is_integer() and abs(v) < 2**53 else sp.Float(float(v))
    return out


def _short(expr, limit: int = 120) -> str:
    text = str(expr)
    return text if len(text) <= limit else text[:limit] + "…"


def formula(root: Node, point: Mapping[str, Any], variable: str, lets: Mapping[str, Node],
            accept: Callable[[str], bool] = lambda text: True) -> str | None:
    """SymPy's simplified ∂f/∂variable for a scalar variable, written with the --let names where
    they fit (z for w0*x0 + w1*x1 + w2); None when the expansion is too large to simplify, or the
    formula is not accepted (shown_formula.agrees: text read from the store is checked before it is
    shown; one that fails is worked out again by SymPy, and checked again)."""
    if any(np.ndim(v) for v in point.values()):  # a formula in scalar symbols only
        return None
    if expanded_operations(root, {n: np.shape(v) for n, v in point.items()}) > CORRECTION_MAX_OPERATIONS:
        return None
    # SymPy's formula depends on the tree, the variable and the --let names, not on the point: it is
    # kept in the store (sym_store.py) like the symbolic column's derivatives.
    key = repr(("registry formula", tree_key(root), variable, sorted(point),
                [(name, tree_key(node)) for name, node in lets.items()]))
    stored = sym_store.load(key)
    if stored is not None and isinstance(stored.get("formula"), str) and len(stored["formula"]) <= FORMULA_MAX_CHARACTERS \
            and accept(stored["formula"]):
        return stored["formula"]
    for vocabulary in (True, False):  # the registry's words (sigmoid(z)), else SymPy's (exp(-z)/(1 + exp(-z))**2)
        text = _formula(root, point, variable, lets, vocabulary)
        if text is not None and accept(text):
            sym_store.save(key, {"formula": text})
            return text
    return None


def _formula(root: Node, point: Mapping[str, Any], variable: str, lets: Mapping[str, Node],
             vocabulary: bool = False) -> str | None:
    import sympy as sp

    from .sym_vocabulary import Unwritable, functions, written  # deferred with SymPy: only a wrong claim needs it

    if vocabulary:
        made = functions(sp)
        symbols = {n: sp.Symbol(n, real=True) for n in point}

        def build(node: Node) -> Any:
            return written(sp, node, symbols, made)
    else:
        scalars = {n: scalar(sp.Symbol(n, real=True)) for n in point}  # every value is a scalar (formula)

        def build(node: Node) -> Any:
            return to_sympy(sp, node, scalars)[()]
    try:
        derivative = sp.diff(build(root), sp.Symbol(variable, real=True))
    except Unwritable:
        return None
    for name, node in reversed(list(lets.items())):  # later names are built from earlier ones
        try:
            body = build(node)
        except (KeyError, Unwritable):
            continue
        derivative = derivative.subs(body, sp.Symbol(name, real=True)).subs(-body, -sp.Symbol(name, real=True))
    return readable(sp, derivative)


def tree_key(root: Node) -> list:
    """The tree as plain data, node by node in topological order (a shared node once, arguments by
    position in the list): equal for two trees exactly when SymPy builds the same expression from them."""
    position: dict[Node, int] = {}
    listing: list = []
    for node in topological(root):
        if isinstance(node, Var):
            listing.append(("var", node.name))
        elif isinstance(node, Const):
            listing.append(constant_key(node))
        else:
            listing.append((node.prim.name, node.static, tuple(position[a] for a in node.args)))
        position[node] = len(position)
    return listing


def readable(sp, derivative) -> str:
    """A derivative tidied for reading: factor_terms, not simplify, which can run without end on 15
    operations (sin(1 + (exp(z) + z + 1)**3), found by fuzzing) and has no loop of ours to stop it.
    A product's factors that are sums come last, as people write them: x0*sigmoid(z)*(1 - sigmoid(z)),
    not SymPy's x0*(1 - sigmoid(z))*sigmoid(z)."""
    from sympy.printing.precedence import precedence  # deferred with SymPy (this oracle's own import)
    from sympy.printing.str import StrPrinter

    class Printer(StrPrinter):
        def _print_Mul(self, expr: Any) -> str:
            factors = expr.args
            if any(f.is_Number or (f.is_Pow and f.exp.is_negative) for f in factors):
                return super()._print_Mul(expr)
            ordered = sorted(factors, key=lambda f: bool(f.is_Add))  # stable: SymPy's order otherwise
            return "*".join(self.parenthesize(f, precedence(expr)) for f in ordered)

    return Printer().doprint(sp.factor_terms(derivative))
