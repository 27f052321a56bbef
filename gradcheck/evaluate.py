"""The forward pass: every node's value at a point, with numpy.

A value that is not a finite number stops the pass with a DomainError naming the node and its
inputs ("log(x) is undefined at x = -1 (needs x > 0)"), so no oracle ever works on NaN or Inf.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Mapping

import numpy as np

from .columns import Evaluation
from .errors import DomainError
from .tree import Apply, Const, Node, Var, text, topological

# Floating-point events that make a value meaningless raise; underflow to 0 is ordinary rounding.
STRICT: dict[str, Any] = {"all": "raise", "under": "ignore"}


# A shaken forward pass perturbs every intermediate value by this many ulps, up or down (a fixed
# pseudo-random pattern): how much a derivative moves then is how much the rounding of f's
# intermediates can move it (the numeric oracle adds that to its error estimate).
SHAKE_ULPS = 1.0
# Knuth's multiplicative hash constant: spreads node positions over the sign pattern.
_HASH = 2654435761


def _signs(position: int, shape: tuple[int, ...]) -> Any:
    """±1 for each entry of the node at this position of the evaluation order: a fixed pattern."""
    if not shape:
        return 1.0 if (position * _HASH >> 7) & 1 else -1.0
    count = int(np.prod(shape))
    return np.where((np.arange(position, position + count, dtype=np.uint64) * np.uint64(_HASH) >> np.uint64(7))
                    & np.uint64(1), 1.0, -1.0).reshape(shape)


def forward(root: Node, point: Mapping[str, Any], shake: bool = False,
            order: list[Node] | None = None) -> dict[Node, Any]:
    """The value of every node reachable from root, keyed by node (order: topological(root), when
    the caller evaluates f many times and has it already)."""
    values: dict[Node, Any] = {}
    real = working_dtype(point)
    eps = float(np.finfo(real).eps)
    order = order or topological(root)
    data = _data_nodes(order) if shake else set()
    with np.errstate(**STRICT):
        for node in order:
            if isinstance(node, Const):
                values[node] = real(node.value)
            elif isinstance(node, Var):
                values[node] = point[node.name]
            else:
                values[node] = apply(node, [values[arg] for arg in node.args])
                if shake and node not in data:
                    values[node] = values[node] * (1 + SHAKE_ULPS * eps * _signs(len(values), np.shape(values[node])))
    return values


def _data_nodes(order: list[Node]) -> set[Node]:
    """The nodes the shaken pass leaves alone: those that compute a data input (indices, labels, a
    condition: arange(4) in S[arange(4), y]), and those of constants alone (the exponent -101 in
    x**-101). Shaking them would make whole numbers fractional, and they are not differentiated."""
    data: set[Node] = set()
    for node in reversed(order):
        if isinstance(node, Apply):
            sources = node.args if node in data else [node.args[i] for i in node.prim.labels]
            data.update(sources)
    constant: set[Node] = set()
    for node in order:  # children first
        if isinstance(node, Apply) and all(isinstance(a, Const) or a in constant for a in node.args):
            constant.add(node)
    return data | constant


def working_dtype(point: Mapping[str, Any]) -> type:
    """float32 when the point is float32 (--dtype float32, or its complex step), else float64:
    constants take it too, so that nothing quietly promotes a float32 forward pass."""
    single = any(np.asarray(v).dtype in (np.float32, np.complex64) for v in point.values())
    return np.float32 if single else np.float64


def value(root: Node, point: Mapping[str, Any]) -> Any:
    return forward(root, point)[root]


def apply(node: Apply, inputs: list[Any]) -> Any:
    prim, static = node.prim, node.kwargs
    if prim.domain is not None:
        # Under the complex step the inputs carry a tiny imaginary part; the domain is the real one.
        inside = np.asarray(prim.domain(*(np.real(v) for v in inputs), **static))
        if not np.all(inside):
            condition = prim.domain_text.format(**{p: text(a) for p, a in zip(prim.params, node.args)})
            where = describe_inputs(node, inputs, inside)
            raise DomainError(f"{shown(node)} is undefined{where} (needs {condition})", node.span)
    rule: Any = prim.forward
    if any(np.iscomplexobj(v) for v in inputs):  # the complex step: the registry's complex form
        rule = prim.complex_forward
        if rule is None:
            raise DomainError(f"{shown(node)} has no complex form: the complex step cannot go through "
                              f"{prim.name}", node.span)
    try:
        out = rule(*inputs, **static)  # under the caller's errstate: floating-point errors raise
    except FloatingPointError:
        with floating_point_events() as events:  # again, to learn which error it was
            rule(*inputs, **static)
        raise DomainError(f"{shown(node)} {failure(events)}{describe_inputs(node, inputs)}", node.span) from None
    if not np.all(np.isfinite(out)):
        raise DomainError(f"{shown(node)} is not finite{describe_inputs(node, inputs)}", node.span)
    return out


# numpy's floating-point error flags, as its errstate `call` handler receives them (FPE_OVERFLOW).
OVERFLOW_FLAG = 2


@contextmanager
def floating_point_events() -> Iterator[list[int]]:
    """The numpy floating-point errors raised inside (their flags), underflow to 0 excepted."""
    flags: list[int] = []
    with np.errstate(all="call", under="ignore", call=lambda kind, flag: flags.append(flag)):
        yield flags


def failure(events: list[int]) -> str:
    """What a list of floating-point error flags means for the value."""
    return "overflows" if any(flag & OVERFLOW_FLAG for flag in events) else "is undefined"


# How much of a node's text a message quotes; the caret excerpt shows the place anyway.
SHOWN_TEXT = 60


def shown(node: Node) -> str:
    """A node's text for a one-line message: whitespace folded, long text cut."""
    written = " ".join(text(node).split()) if isinstance(node, Apply) and node.label else " ".join(node.span.text.split())
    return written if len(written) <= SHOWN_TEXT else written[: SHOWN_TEXT - 1] + "…"


def describe_inputs(node: Apply, inputs: list[Any], inside: Any = None) -> str:
    """' at x = -1, y = 0' for the inputs that are not literal numbers. For arrays, the first entry
    outside the domain (`inside` is the domain mask) is named: ' at x[2,1] = -0.5'."""
    bad = None
    if inside is not None and np.ndim(inside) > 0:
        bad = tuple(int(i) for i in np.argwhere(~inside)[0])
    named, seen = [], set()
    for arg, v in zip(node.args, inputs):
        if is_constant(arg) or arg in seen:
            continue  # -1 in log(-1) is not worth "-1 = -1"; x**x names x once
        seen.add(arg)
        label = " ".join(text(arg).split())
        label = label if len(label) <= SHOWN_TEXT else label[: SHOWN_TEXT - 1] + "…"
        if np.ndim(v) == 0:
            named.append(f"{label} = {format_value(v)}")
        elif bad is not None and np.shape(v) == np.shape(inside):
            named.append(f"{label}[{','.join(map(str, bad))}] = {format_value(v[bad])}")
        elif bad is None:
            named.append(f"{label} = {format_value(v)}")
    return f" at {', '.join(named)}" if named else ""


def is_constant(node: Node) -> bool:
    """No variable anywhere below: a literal such as 2, -1 or pi/4."""
    return not any(isinstance(n, Var) for n in topological(node))


def format_value(v: Any) -> str:
    """A value in a message; under the complex step, its real part (the point the user gave)."""
    v = np.real(v)
    if np.ndim(v) == 0:
        return f"{float(v):.6g}"
    return " ".join(np.array2string(np.asarray(v), precision=4, threshold=6, edgeitems=2).split())


def _kink(node: Apply) -> Any:
    """The quantity whose sign picks the branch of a kinked primitive."""
    assert node.prim.kink is not None
    return node.prim.kink


def differenced(root: Node):
    """f for the numeric oracle: the point -> Evaluation (the value, and the branch of every kink).

    At a complex point (the complex step x + ih) `at_kink` says whether the step moves a kink
    quantity whose real part is exactly 0 (its imaginary part is not 0): that entry is on the kink,
    and the complex form's piece is not the derivative there. A kink quantity the step does not move
    (a tie of two relu outputs that are both 0) leaves the complex step exact."""
    order = topological(root)
    kinked = [n for n in order if isinstance(n, Apply) and n.prim.kink is not None]

    def f(point: Mapping[str, Any]) -> Evaluation:
        values = forward(root, point, order=order)
        if not kinked:
            return Evaluation(values[root])
        quantities = [np.ravel(_kink(n)(*(values[a] for a in n.args), **n.kwargs)) for n in kinked]
        signs = np.concatenate([np.sign(np.real(q)) for q in quantities]).astype(np.int8)
        if any(np.iscomplexobj(v) for v in point.values()):  # a real quantity is one the step does not move
            on = [(np.real(q) == 0) & (np.imag(q) != 0) for q in quantities]
        else:
            on = [q == 0 for q in quantities]
        return Evaluation(values[root], signs.tobytes(), bool(any(np.any(o) for o in on)))

    def shaken(point: Mapping[str, Any]) -> Evaluation:
        return Evaluation(forward(root, point, shake=True, order=order)[root])

    f.shaken = shaken  # type: ignore[attr-defined]
    return f


def _on_path(root: Node, var: Var, test) -> list[str]:
    """The names of the primitives between var and f for which test(prim) holds, in the order written."""
    from .tree import depends_on

    order = topological(root)
    needs = depends_on(order, [var])
    names = [n.prim.name for n in order if isinstance(n, Apply) and n in needs and test(n.prim)]
    return list(dict.fromkeys(names))


def without_complex_form(root: Node, var: Var) -> list[str]:
    """The primitives between var and f that have no complex form (the complex step cannot go
    through them: erf, gelu); [] when it can."""
    return _on_path(root, var, lambda prim: prim.complex_forward is None)


def non_analytic(root: Node, var: Var) -> list[str]:
    """The primitives between var and f that are not analytic (a kink, or no complex form)."""
    return _on_path(root, var, lambda prim: not prim.analytic)


def analytic_path(root: Node, wrt: list[Var]) -> bool:
    """Whether every primitive between the variables in wrt and f is smooth (no kink anywhere, so
    every method applies everywhere: the complex step, Richardson)."""
    return not any(non_analytic(root, v) for v in wrt)


def jumps_at(root: Node, values: Mapping[Node, Any], var: Var) -> list[str]:
    """The jumps between var and f at this point: a piecewise-constant primitive (step, sign, a
    comparison) exactly on its switch, as "step(x) at x = 0"; f has no derivative there in var."""
    from .tree import depends_on

    needs = depends_on(topological(root), [var])
    found = []
    for node in topological(root):
        if isinstance(node, Apply) and node in needs and node.prim.jumps:
            quantity = _kink(node)(*(values[a] for a in node.args), **node.kwargs)
            if np.any(np.asarray(quantity) == 0):
                found.append(f"{shown(node)}{describe_inputs(node, [values[a] for a in node.args])}")
    return found


def complex_step_invalid(root: Node, var: Var, values: Mapping[Node, Any]) -> list[str]:
    """The primitives between var and f where the complex step is inaccurate at these values (a power
    with a negative base: see Primitive.complex_step_valid), in the order written; [] when it is accurate."""
    from .tree import depends_on

    order = topological(root)
    needs = depends_on(order, [var])
    names = [n.prim.name for n in order if isinstance(n, Apply) and n in needs and n.prim.complex_step_valid is not None
             and not n.prim.complex_step_valid(*(values[a] for a in n.args))]
    return list(dict.fromkeys(names))
