"""The expression tree: the expression exactly as the user wrote it, and the one form every oracle reads.

Nodes compare by identity (eq=False), so they key dicts of values and gradients. A variable is one
Var node however often it is written, and a --let name is the node of its body, so the tree is a DAG
and a subexpression used twice is one node whose gradient accumulates twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Union
from weakref import WeakKeyDictionary

from ..base.source import Span

if TYPE_CHECKING:
    from ..ops.registry import Primitive


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


# Each tree's order, remembered: a case asks for it dozens of times (forward passes, backprop, shapes,
# costs), and nodes are immutable. Keyed weakly, and without the root itself among the remembered
# nodes, so that a tree nobody holds is freed with its entry.
_ORDERS: WeakKeyDictionary[Node, tuple[Node, ...]] = WeakKeyDictionary()


def topological(root: Node) -> list[Node]:
    """Every node reachable from root, each once, inputs before users, in the order written."""
    below = _ORDERS.get(root)
    if below is None:
        order = _walk(root)
        _ORDERS[root] = tuple(order[:-1])
        return order
    return [*below, root]


def _walk(root: Node) -> list[Node]:
    """topological's walk: an iterative post-order, so a deep tree cannot hit Python's recursion limit."""
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


class Paths:
    """A tree's topological order, and who depends on whom, worked out once per case: asking "which
    primitives lie between this variable and f" or "which nodes move when this variable moves" for
    each of a thousand variables is then a lookup each, not a walk of the whole tree each."""

    def __init__(self, root: Node, order: list[Node] | None = None) -> None:
        self.root = root
        self.order = order if order is not None else topological(root)
        self.position = {node: i for i, node in enumerate(self.order)}
        self._below: dict[Node, frozenset[Var]] = {}
        self._selected: dict[Callable[[Apply], bool], list[Apply]] = {}
        self._users: dict[Node, list[Apply]] | None = None
        self._moved: dict[frozenset[Node], list[Apply]] = {}

    def select(self, test: Callable[[Apply], bool]) -> list[Apply]:
        """The operations for which test holds, in order (remembered per test function)."""
        if test not in self._selected:
            self._selected[test] = [n for n in self.order if isinstance(n, Apply) and test(n)]
        return self._selected[test]

    def below(self, node: Node) -> frozenset[Var]:
        """The variables node depends on through differentiable inputs (not class labels)."""
        if node not in self._below:
            self._below[node] = frozenset(n for n in _reached(node) if isinstance(n, Var))
        return self._below[node]

    def on_path(self, var: Var, nodes: list[Apply]) -> list[Apply]:
        """Those of nodes (in their order) that lie between var and f."""
        return [n for n in nodes if var in self.below(n)]

    def moved_by(self, changed: Iterable[Node]) -> list[Apply]:
        """The operations whose value changes when the nodes in changed change (through any input,
        data included), in topological order (remembered per set of nodes)."""
        if self._users is None:
            self._users = {}
            for node in self.order:
                if isinstance(node, Apply):
                    for arg in dict.fromkeys(node.args):
                        self._users.setdefault(arg, []).append(node)
        key = frozenset(changed)
        if key in self._moved:
            return self._moved[key]
        moved: set[Node] = set()
        stack = list(key)
        while stack:
            for user in self._users.get(stack.pop(), ()):
                if user not in moved:
                    moved.add(user)
                    stack.append(user)
        self._moved[key] = sorted(moved, key=self.position.__getitem__)  # type: ignore[arg-type]
        return self._moved[key]


def _reached(root: Node) -> Iterator[Node]:
    """Every node below root through differentiable inputs (class labels are not followed)."""
    seen = {root}
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Apply):
            for i, arg in enumerate(node.args):
                if arg not in seen and i not in node.prim.labels:
                    seen.add(arg)
                    stack.append(arg)


def depends_on(order: list[Node], wrt: list[Var]) -> set[Node]:
    """The nodes (of a topological order) whose value changes with a variable in wrt, through
    differentiable inputs: only they need a gradient."""
    needs: set[Node] = set(wrt)
    for node in order:
        if isinstance(node, Apply) and any(arg in needs for i, arg in enumerate(node.args)
                                           if i not in node.prim.labels):
            needs.add(node)
    return needs
