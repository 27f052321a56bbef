"""The expression tree: the expression exactly as the user wrote it, and the one form every oracle reads.

Nodes compare by identity (eq=False), so they key dicts of values and gradients. A variable is one
Var node however often it is written, and a --let name is the node of its body, so the tree is a DAG
and a subexpression used twice is one node whose gradient accumulates twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Union

from .source import Span

if TYPE_CHECKING:
    from .primitives import Primitive


@dataclass(frozen=True, eq=False)
class Const:
    value: float
    span: Span
    name: str | None = None  # "pi" or "e" for named constants; None for a literal
    exact: int | None = None  # the integer a literal like `2` spells, so SymPy keeps it exact


@dataclass(frozen=True, eq=False)
class Var:
    name: str
    span: Span  # where it is first written


@dataclass(frozen=True, eq=False)
class Apply:
    prim: Primitive
    args: tuple[Node, ...]
    span: Span
    static: tuple[tuple[str, Any], ...] = ()  # integer constants of the call: (("axis", 0),)
    label: str | None = None  # the --let name this node was given, if any

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.static)


Node = Union[Const, Var, Apply]


def text(node: Node) -> str:
    """How the user wrote the node (its --let name if it has one)."""
    if isinstance(node, Apply) and node.label:
        return node.label
    if isinstance(node, Var):
        return node.name
    return node.span.text.strip()


def topological(root: Node) -> list[Node]:
    """Every node reachable from root, each once, inputs before users, in the order written.

    Iterative post-order, so a deep tree cannot hit Python's recursion limit.
    """
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, Iterator[Node]]] = [(root, iter(_inputs(root)))]
    seen.add(id(root))
    while stack:
        node, pending = stack[-1]
        child = next(pending, None)
        if child is None:
            stack.pop()
            order.append(node)
        elif id(child) not in seen:
            seen.add(id(child))
            stack.append((child, iter(_inputs(child))))
    return order


def variables(root: Node) -> list[Var]:
    """The variables f depends on, in evaluation order (left to right as written)."""
    return [n for n in topological(root) if isinstance(n, Var)]


def _inputs(node: Node) -> tuple[Node, ...]:
    return node.args if isinstance(node, Apply) else ()


def differentiable_variables(root: Node) -> list[Var]:
    """The variables f can be differentiated by: those reached without passing through an input
    that is integer data (the labels y of softmax_ce(Z, y) and onehot(y, k))."""
    order = topological(root)
    reached: set[Node] = {root}
    for node in reversed(order):
        if node in reached and isinstance(node, Apply):
            reached.update(arg for i, arg in enumerate(node.args) if i not in node.prim.labels)
    return [n for n in order if isinstance(n, Var) and n in reached]


def depends_on(order: list[Node], wrt: list[Var]) -> set[Node]:
    """The nodes (of a topological order) whose value changes with a variable in wrt, through
    differentiable inputs: only they need a gradient."""
    needs: set[Node] = set(wrt)
    for node in order:
        if isinstance(node, Apply) and any(arg in needs for i, arg in enumerate(node.args)
                                           if i not in node.prim.labels):
            needs.add(node)
    return needs
