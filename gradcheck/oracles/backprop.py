"""Reverse-mode differentiation on the expression tree, by hand, node by node.

One forward pass stores every node's value; one backward pass walks the nodes in reverse
topological order and sends each node's gradient g to its inputs through the primitive's VJP
rules. A node used twice receives two contributions, which add. Gradients live in a dict keyed
by node that is returned, never stored on nodes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base.errors import DomainError, RuleError
from ..language.evaluate import STRICT, describe_inputs, failure, floating_point_events, shown
from ..language.tree import Apply, Node, Var, depends_on, topological
from ..ops.arrays import unbroadcast
from ..ops.registry import Primitive, zero_vjp


def backprop(root: Node, values: dict[Node, Any], wrt: list[Var]) -> dict[str, Any]:
    """∂root/∂v for every v in wrt, given the forward values of every node."""
    return _by_name(adjoints(root, values, wrt, keep=wrt), values, wrt)


def backprop_magnitudes(root: Node, values: dict[Node, Any], wrt: list[Var]) -> tuple[dict[str, Any], dict[str, Any]]:
    """backprop's gradients, and the Σ|terms| it adds up into each entry, from one backward pass: the
    rounding error of an entry is about eps times its terms' sum (x + x**2 - x at 1e-12 sums
    1 + 2e-12 - 1; the result is only good to ~1e-16, not to 1e-28)."""
    sizes: dict[Node, Any] = {}
    grads = adjoints(root, values, wrt, sizes, keep=wrt)
    return _by_name(grads, values, wrt), {v.name: sizes.get(v, 0.0) for v in wrt}


def adjoints(root: Node, values: dict[Node, Any], wrt: list[Var], sizes: dict | None = None,
             keep: list[Var] | None = None) -> dict[Node, Any]:
    """∂root/∂node for every node on a path from wrt to root: the backward pass itself. With `sizes`,
    also the sum of the absolute contributions each node received (the scale of its rounding).
    keep: the nodes whose results are wanted (None: every node's, as the trace shows them); the
    others' are let go once sent on, so a large graph holds a few of its adjoints at a time, not all."""
    order = topological(root)
    needs = depends_on(order, wrt)
    kept = None if keep is None else set(keep)
    grads: dict[Node, Any] = {root: np.ones_like(values[root])}
    with np.errstate(**STRICT):
        for node in reversed(order):
            g = grads.get(node)
            if g is None or not isinstance(node, Apply):
                continue
            inputs = [values[arg] for arg in node.args]
            for i, arg in enumerate(node.args):
                if arg not in needs or node.prim.vjps[i] is zero_vjp:
                    continue
                contribution = vjp(node, i, g, values[node], inputs)
                grads[arg] = contribution if arg not in grads else grads[arg] + contribution
                if sizes is not None:
                    # the terms' sizes carried down the graph: upstream sizes through |J| (term_sizes)
                    size = term_sizes(node, i, sizes.get(node, np.abs(g)), values[node], inputs)
                    if arg in sizes:
                        size = size + sizes[arg]
                    sizes[arg] = size
            if kept is not None and node not in kept:  # sent on to its inputs: no longer needed
                del grads[node]
                if sizes is not None:
                    sizes.pop(node, None)
    return grads


def _by_name(grads: dict[Node, Any], values: dict[Node, Any], wrt: list[Var]) -> dict[str, Any]:
    """Each wrt variable's gradient by name (zeros where f does not depend on it)."""
    return {v.name: _plain(grads.get(v, np.zeros_like(values[v]))) for v in wrt}


def _plain(g: Any) -> Any:
    """A scalar gradient as a numpy float, an array one as an array."""
    return np.float64(g) if np.ndim(g) == 0 else np.asarray(g, dtype=np.float64)


def vjp(node: Apply, i: int, g, ans, inputs: list[Any]) -> Any:
    """One VJP contribution, g · ∂node/∂input i, reduced to the input's shape (undoing numpy
    broadcasting) and checked finite."""
    return _contribution(node, i, g, ans, inputs, node.prim.vjps[i], False)


def term_sizes(node: Apply, i: int, s, ans, inputs: list[Any]) -> Any:
    """|∂node/∂input i|^T s for sizes s >= 0: how big the terms are that vjp adds up into each entry
    of input i (0.1 + 0.2 - 0.3 summed by X.T @ G: 0.6, not 5.6e-17). The primitive's own `sizes`
    rule where its VJP sums terms of both signs, else the VJP made positive before broadcasting is
    undone (x * w with w broadcast sums g * x over x's entries)."""
    return _contribution(node, i, s, ans, inputs, *sizes_rule(node.prim, i))


def sizes_rule(prim: Primitive, i: int) -> tuple[Any, bool]:
    """The rule term_sizes applies for input i, and whether its result is to be made positive
    before broadcasting is undone (the VJP rule itself) or is |J|^T s already (Primitive.sizes)."""
    own = prim.sizes[i] if prim.sizes is not None else None
    return (own, False) if own is not None else (prim.vjps[i], True)


def _contribution(node: Apply, i: int, g, ans, inputs: list[Any], rule, positive: bool) -> Any:
    arg = node.args[i]
    if rule is zero_vjp:
        return np.zeros(np.shape(inputs[i]))

    def reduced() -> Any:
        out = rule(g, ans, *inputs, **node.kwargs)
        return unbroadcast(np.abs(out) if positive else out, np.shape(inputs[i]))

    events: list[int] = []
    try:
        out = reduced()
    except FloatingPointError:
        with floating_point_events() as events:  # again, to learn which error it was
            out = reduced()
    if np.shape(out) != np.shape(inputs[i]):  # tinygrad asserts this too
        raise RuleError(f"the VJP rule of {node.prim.name} for its input {node.prim.params[i]} returned shape "
                        f"{np.shape(out)}, but that input has shape {np.shape(inputs[i])}")
    if events or not np.all(np.isfinite(out)):
        raise DomainError(f"the derivative of {shown(node)} with respect to {shown(arg)} "
                          f"{failure(events)}{describe_inputs(node, inputs)}", node.span)
    return out
