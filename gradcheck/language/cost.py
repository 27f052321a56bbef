"""What a check will cost, estimated from f's tree and shapes before any oracle runs.

Three measures, each with its limit:
- nesting across --let names: the parser bounds each text, but names nest inside each other; the
  depth of the whole DAG is what SymPy's recursive algorithms see;
- the numeric oracle's scalar operations: one forward pass (an entry of A @ B costs its inner
  dimension) times the passes its mode makes; sum(A @ B @ C) of three 3000×3000 matrices is 5.4e10
  per pass and is refused up front instead of running for half an hour;
- the tree expansion: --let names make a DAG (a_i = sin(a_{i-1}) + cos(a_{i-1}) uses a_{i-1} twice),
  but SymPy differentiates an expression as a tree, so its work doubles with every level. Where the
  expansion is too large, the symbolic oracle chains node by node instead (linear in the DAG).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np

from ..base.errors import SpecError
from ..base.limits import FAST_PROBES, MAX_DAG_NESTING, MAX_EVALUATION_OPERATIONS, MAX_NUMERIC_OPERATIONS
from .shapes import infer_shapes
from .tree import Apply, Node, topological

# Evaluations per differenced entry or probe: central differences take 4 (±h, ±2h), Richardson up to
# 2 × its table of 10 plus central's check; 4 is the usual case, and the bound is a guard, not a timer.
EVALUATIONS_PER_DERIVATIVE = 4


def operations(prim, out: tuple[int, ...], ins: list[tuple[int, ...]], static: Mapping[str, Any],
               symbolic: bool = False) -> int:
    """One primitive's scalar operations, as its registry entry counts them: one per output entry, or per
    input entry if more, unless it says otherwise (Primitive.cost; matmul: the inner dimension). With
    `symbolic`, those of its SymPy form (Primitive.expansion, where that is more: softmax's rows)."""
    rule = prim.expansion if symbolic and prim.expansion is not None else prim.cost
    if rule is not None:
        return int(rule(out, *ins, **static))
    return max(math.prod(s) for s in (out, *ins))


# Each tree's costs at the shapes last asked for, numeric and symbolic: a check asks several times (the
# numeric cost limit, the symbolic size limit, the expansion), and trees are immutable. Keyed weakly,
# like tree._ORDERS, and holding numbers only, so that the entry does not keep its tree alive.
_COSTS: WeakKeyDictionary[Node, dict[bool, tuple[frozenset, list[int]]]] = WeakKeyDictionary()


def node_costs(root: Node, shapes: Mapping[str, tuple[int, ...]], symbolic: bool = False) -> list[tuple[Node, int]]:
    """Each node of the DAG with its scalar operations: an entry of A @ B costs its inner dimension.
    `symbolic`: those of the SymPy forms (operations)."""
    key = frozenset(shapes.items())
    applied = [node for node in topological(root) if isinstance(node, Apply)]
    cached = _COSTS.setdefault(root, {})
    known = cached.get(symbolic)
    if known is None or known[0] != key:
        found = infer_shapes(root, shapes)
        known = cached[symbolic] = (key, [operations(node.prim, found[node], [found[a] for a in node.args],
                                                     node.kwargs, symbolic) for node in applied])
    return list(zip(applied, known[1]))


def tree_expansion(root: Node) -> dict[int, int]:
    """id(node) -> how many times the node appears when the DAG is written out as a tree."""
    order = topological(root)
    paths = {id(root): 1}
    for node in reversed(order):  # users before inputs
        count = paths.get(id(node), 0)
        for arg in getattr(node, "args", ()):
            paths[id(arg)] = paths.get(id(arg), 0) + count
    return paths


def expanded_operations(root: Node, shapes: Mapping[str, tuple[int, ...]]) -> int:
    """Scalar operations of f written out as a tree (what SymPy's diff walks)."""
    paths = tree_expansion(root)
    return sum(paths.get(id(node), 0) * cost for node, cost in node_costs(root, shapes, symbolic=True))


def nesting(root: Node) -> int:
    """The deepest nesting of function calls, powers and negations in the whole DAG, through --let
    names (what SymPy's recursive walks descend; + - * / chains are flattened by SymPy)."""
    depth: dict[int, int] = {}
    for node in topological(root):
        below = max((depth[id(a)] for a in getattr(node, "args", ())), default=0)
        nests = isinstance(node, Apply) and (node.prim.operator in (None, "**") or node.prim.name == "neg")
        depth[id(node)] = below + int(nests)
    return depth[id(root)]


def check_nesting(root: Node, what: str = "f") -> None:
    deepest = nesting(root)
    if deepest > MAX_DAG_NESTING:
        raise SpecError(f"{what} nests function calls and powers {deepest} deep (counted through its --let "
                        f"names); the limit is {MAX_DAG_NESTING}")


def check_numeric_cost(root: Node, point: Mapping[str, Any], names: list[str], mode: str) -> None:
    """Refuse, before anything runs, a check whose finite differences would take hours."""
    shapes = {name: np.shape(x) for name, x in point.items()}
    per_evaluation = sum(cost for _, cost in node_costs(root, shapes))
    if per_evaluation > MAX_EVALUATION_OPERATIONS:
        raise SpecError(f"one evaluation of f takes ~{per_evaluation:.2g} scalar operations; the limit is "
                        f"{MAX_EVALUATION_OPERATIONS:,} (use smaller arrays: a check needs many evaluations)")

    if mode == "full":
        derivatives = sum(int(np.size(point[n])) for n in names)
    else:
        derivatives = sum(min(int(np.size(point[n])), 2 * FAST_PROBES) for n in names)
    total = per_evaluation * derivatives * EVALUATIONS_PER_DERIVATIVE
    if total > MAX_NUMERIC_OPERATIONS:
        raise SpecError(f"the finite differences would take ~{total:.2g} scalar operations ({derivatives:,} "
                        f"derivatives of f at ~{per_evaluation:.2g} each); the limit is {MAX_NUMERIC_OPERATIONS:,} "
                        "(use smaller arrays, --mode fast, or --wrt fewer variables)")
