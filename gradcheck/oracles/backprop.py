"""Reverse-mode differentiation on the expression tree, by hand, node by node.

One forward pass stores every node's value; one backward pass walks the nodes in reverse
topological order and sends each node's gradient g to its inputs through the primitive's VJP
rules. A node used twice receives two contributions, which add. Gradients live in a dict keyed
by node that is returned, never stored on nodes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..array_ops import unbroadcast
from ..errors import DomainError, RuleError
from ..evaluate import STRICT, describe_inputs, failure, floating_point_events, shown
from ..primitives import zero_vjp
from ..tree import Apply, Node, Var, depends_on, topological


def backprop(root: Node, values: dict[Node, Any], wrt: list[Var]) -> dict[str, Any]:
    """∂root/∂v for every v in wrt, given the forward values of every node."""
    grads = adjoints(root, values, wrt)
    return {v.name: _plain(grads.get(v, np.zeros_like(values[v]))) for v in wrt}


def magnitudes(root: Node, values: dict[Node, Any], wrt: list[Var]) -> dict[str, Any]:
    """Σ|terms| that backprop adds up into each gradient: its rounding error is about eps times this
    (x + x**2 - x at 1e-12 sums 1 + 2e-12 - 1; the result is only good to ~1e-16, not to 1e-28)."""
    sizes: dict[Node, Any] = {}
    adjoints(root, values, wrt, sizes)
    return {v.name: sizes.get(v, 0.0) for v in wrt}


def adjoints(root: Node, values: dict[Node, Any], wrt: list[Var], sizes: dict | None = None) -> dict[Node, Any]:
    """∂root/∂node for every node on a path from wrt to root: the backward pass itself. With `sizes`,
    also the sum of the absolute contributions each node received (the scale of its rounding)."""
    order = topological(root)
    needs = depends_on(order, wrt)
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
                    # |g| carried down the graph bounds the terms: upstream sizes times |local|
                    size = vjp(node, i, sizes.get(node, np.abs(g)), values[node], inputs)
                    sizes[arg] = np.abs(size) + sizes.get(arg, 0.0)
    return grads


def _plain(g: Any) -> Any:
    """A scalar gradient as a numpy float, an array one as an array."""
    return np.float64(g) if np.ndim(g) == 0 else np.asarray(g, dtype=np.float64)


def vjp(node: Apply, i: int, g, ans, inputs: list[Any]) -> Any:
    """One VJP contribution, g · ∂node/∂input i, reduced to the input's shape (undoing numpy
    broadcasting) and checked finite."""
    arg, rule = node.args[i], node.prim.vjps[i]
    if rule is zero_vjp:
        return np.zeros(np.shape(inputs[i]))
    events: list[int] = []
    try:
        out = unbroadcast(rule(g, ans, *inputs, **node.kwargs), np.shape(inputs[i]))
    except FloatingPointError:
        with floating_point_events() as events:  # again, to learn which error it was
            out = unbroadcast(rule(g, ans, *inputs, **node.kwargs), np.shape(inputs[i]))
    if np.shape(out) != np.shape(inputs[i]):  # tinygrad asserts this too
        raise RuleError(f"the VJP rule of {node.prim.name} for its input {node.prim.params[i]} returned shape "
                        f"{np.shape(out)}, but that input has shape {np.shape(inputs[i])}")
    if events or not np.all(np.isfinite(out)):
        raise DomainError(f"the derivative of {shown(node)} with respect to {shown(arg)} "
                          f"{failure(events)}{describe_inputs(node, inputs)}", node.span)
    return out
