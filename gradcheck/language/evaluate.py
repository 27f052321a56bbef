"""The forward pass: every node's value at a point, with numpy.

A value that is not a finite number stops the pass with a DomainError naming the node and its
inputs ("log(x) is undefined at x = -1 (needs x > 0)"), so no oracle ever works on NaN or Inf.
"""

from __future__ import annotations

import cmath
import math
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from ..base.columns import Evaluation
from ..base.errors import DomainError
from .tree import Apply, Const, Node, Paths, Var, text, topological

# Floating-point events that make a value meaningless raise; underflow to 0 is ordinary rounding.
STRICT: dict[str, Any] = {"all": "raise", "under": "ignore"}


# A shaken forward pass perturbs every intermediate value by this many ulps, up or down (a fixed
# pseudo-random pattern): how much a derivative moves then is how much the rounding of f's
# intermediates can move it (the numeric oracle adds that to its error estimate).
SHAKE_ULPS = 1.0
# Knuth's multiplicative hash constant: spreads node positions over the sign pattern.
_HASH = 2654435761


def sign_pattern(position: int, shape: tuple[int, ...]) -> Any:
    """±1 for each entry of the node at this position of the evaluation order: a fixed pattern."""
    if not shape:
        return 1.0 if (position * _HASH >> 7) & 1 else -1.0
    count = int(np.prod(shape))
    return np.where((np.arange(position, position + count, dtype=np.uint64) * np.uint64(_HASH) >> np.uint64(7))
                    & np.uint64(1), 1.0, -1.0).reshape(shape)


def forward(root: Node, point: Mapping[str, Any], shake: bool | int = False,
            order: list[Node] | None = None) -> dict[Node, Any]:
    """The value of every node reachable from root, keyed by node (order: topological(root), when
    the caller evaluates f many times and has it already). shake: the shaken pass (SHAKE_ULPS), -1
    for its pattern of signs reversed."""
    order = order or topological(root)
    values: dict[Node, Any] = {}
    # Real inputs make real values throughout, so only a complex point asks each node which form to take.
    _evaluate(order, values, point, _Pass(working_dtype(point), _is_complex(point.values()), shake,
                                          _data_nodes(order) if shake else frozenset()))
    return values


class _Products:
    """The imaginary part of the last linear step at each node (see _linear_step), with the inputs it
    was computed from: the moved one held weakly and compared by identity, the others (a reference
    pass's values, alive as long as it is) by id. The plain and the shaken pass of one complex step
    share it: the numeric oracle hands both the same moved array (numeric._line), and where the other
    inputs are the same too the shaken pass's product is a lookup (a third of the 1M-parameter net's
    products X @ V), the same numbers."""

    def __init__(self) -> None:
        self.last: dict[Node, tuple[Any, tuple[int, ...], Any]] = {}

    def get(self, node: Node, moved: Any, others: tuple[int, ...]) -> Any:
        got = self.last.get(node)
        return got[2] if got is not None and got[0]() is moved and got[1] == others else None

    def put(self, node: Node, moved: Any, others: tuple[int, ...], imaginary: Any) -> None:
        self.last[node] = (weakref.ref(moved), others, imaginary)


@dataclass
class _Reference:
    """A pass at the reference point: every node's value, and each operation's value before it was
    shaken (the same dict for a plain pass); and the linear steps' products shared with another pass."""

    values: dict[Node, Any]
    unshaken: dict[Node, Any]
    products: _Products | None = None


@dataclass(frozen=True)
class _Pass:
    """How a pass computes: its real type (float64, float32), whether complex forms are asked for, and
    its shake (SHAKE_ULPS; -1 for the signs reversed; False for none), which leaves the data nodes
    alone and picks each node's pattern by its position in the whole order (by default its index in
    the nodes evaluated: a whole pass)."""

    real: type
    complex: bool
    shake: bool | int = False
    data: frozenset[Node] | set[Node] = frozenset()
    positions: Mapping[Node, int] | None = None


def _evaluate(nodes: Sequence[Node], values: dict[Node, Any], point: Mapping[str, Any], how: _Pass,
              reference: _Reference | None = None, unshaken: dict[Node, Any] | None = None) -> None:
    """Fill in values for nodes (a topological order; the inputs not among them already in values).
    reference: the pass this one reuses (see _linear_step); unshaken: filled with each operation's
    value before shaking."""
    real, complex_pass, shake = how.real, how.complex, how.shake
    eps = float(np.finfo(real).eps)
    with np.errstate(**STRICT):
        for position, node in enumerate(nodes):
            if isinstance(node, Const):
                values[node] = real(node.value)
            elif isinstance(node, Var):
                values[node] = point[node.name]
            else:
                inputs = [values[arg] for arg in node.args]
                out = None
                if complex_pass and reference is not None and node.prim.linear:
                    out = _linear_step(node, inputs, reference)
                if out is None:
                    out = apply(node, inputs, complex_pass)
                if unshaken is not None:
                    unshaken[node] = out
                if shake and node not in how.data:
                    place = how.positions[node] if how.positions is not None else position
                    out = out * (1 + int(shake) * SHAKE_ULPS * eps * sign_pattern(place + 1, np.shape(out)))
                values[node] = out


def forward_batch(root: Node, point: Mapping[str, Any], count: int) -> tuple[dict[Node, Any], Any]:
    """Every node's values at count points at once (a variable's value: a vector of count values, or
    one scalar for all; every operation elementwise), and at which points f is defined: every input
    inside its domain and every value finite. Where forward would raise, this marks the point instead."""
    order = topological(root)
    values: dict[Node, Any] = {}
    defined = np.ones(count, dtype=bool)
    real = working_dtype(point)
    with np.errstate(all="ignore"):
        for node in order:
            if isinstance(node, Const):
                values[node] = real(node.value)
            elif isinstance(node, Var):
                values[node] = point[node.name]
            else:
                inputs, static = [values[arg] for arg in node.args], node.kwargs
                if node.prim.domain is not None:
                    defined &= np.asarray(node.prim.domain(*inputs, **static), dtype=bool)
                values[node] = node.prim.forward(*inputs, **static)
                defined &= np.isfinite(values[node])
    return values, defined


def _linear_step(node: Apply, inputs: list[Any], reference: _Reference) -> Any:
    """Under the complex step, an operation linear in its one moved input x + iy (x: that input's
    value at the reference; the other inputs real and unmoved) is f(x) + i f(y), and f(x) is the
    reference's: one real evaluation instead of a complex one (X @ W1 of the 1M-parameter net).
    None where that does not hold, or where the value is not finite (apply then says why)."""
    moved = [i for i, (arg, v) in enumerate(zip(node.args, inputs)) if v is not reference.values.get(arg)]
    if len(moved) != 1 or moved[0] not in node.prim.linear:
        return None
    i = moved[0]
    x = inputs[i]
    if not np.iscomplexobj(x) or _is_complex(v for j, v in enumerate(inputs) if j != i):
        return None
    if not np.array_equal(np.real(x), reference.values[node.args[i]]):
        return None
    others = tuple(id(v) for j, v in enumerate(inputs) if j != i)
    products = reference.products
    imaginary = products.get(node, x, others) if products is not None and isinstance(x, np.ndarray) else None
    if imaginary is None:
        imaginary = node.prim.forward(*inputs[:i], np.imag(x), *inputs[i + 1:], **node.kwargs)
        if products is not None and isinstance(x, np.ndarray):
            products.put(node, x, others, imaginary)
    real = reference.unshaken[node]
    if np.ndim(real) == 0:
        out = real + 1j * imaginary
    else:  # written into one complex array: real + 1j * imaginary makes a second, temporary one
        out = np.empty(np.shape(real), dtype=np.result_type(real, imaginary, np.complex64))
        out.real, out.imag = real, imaginary
    return out if _finite(out) else None


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


def apply(node: Apply, inputs: list[Any], complex_inputs: bool = True) -> Any:
    """The node's value from its inputs' values. complex_inputs=False: the caller knows that no input
    is complex (a real forward pass), which spares the per-input test."""
    prim = node.prim
    static = dict(node.static) if node.static else _NO_STATIC
    if prim.domain is not None:
        # Under the complex step the inputs carry a tiny imaginary part; the domain is the real one.
        inside = np.asarray(prim.domain(*((np.real(v) for v in inputs) if complex_inputs else inputs), **static))
        if not inside.all():
            condition = prim.domain_text.format(**{p: text(a) for p, a in zip(prim.params, node.args)})
            where = describe_inputs(node, inputs, inside)
            raise DomainError(f"{shown(node)} is undefined{where} (needs {condition})", node.span)
    rule: Any = prim.forward
    if complex_inputs and _is_complex(inputs):  # the complex step: the registry's complex form
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
    if not _finite(out):
        raise DomainError(f"{shown(node)} is not finite{describe_inputs(node, inputs)}", node.span)
    return out


_NO_STATIC: dict[str, Any] = {}


def _finite(x: Any) -> bool:
    """Every entry finite; a real scalar (float, np.float64) without numpy's reduction machinery."""
    if isinstance(x, float):
        return math.isfinite(x)
    if isinstance(x, complex):  # np.complex128 too
        return cmath.isfinite(x)
    return bool(np.isfinite(x).all())


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


def differenced(root: Node, switches: Mapping[Node, Any] | None = None):
    """f for the numeric oracle: the point -> Evaluation (the value, and the branch of every kink).

    At a complex point (the complex step x + ih) `at_kink` says whether the step moves a kink
    quantity whose real part is exactly 0 (its imaginary part is not 0): that entry is on the kink,
    and the complex form's piece is not the derivative there. A kink quantity the step does not move
    (a tie of two relu outputs that are both 0) leaves the complex step exact.

    `switches` (oracles/switches.py) overrides float64 where it decided a kinked node's switch exactly:
    its entries exactly on the switch are on the kink whatever float64 computes there, and a step that
    moves an entry float64 rounded to 0 but that is not exactly 0 is `ambiguous` (the complex form's
    piece may be the wrong side): no derivative is taken along it.

    The numeric oracle moves one variable at a time: each pass recomputes only the nodes that
    variable moves, the others' values kept from the first point f was called at (the same numbers
    a whole pass would compute, since the same operations run on the same inputs)."""
    paths = Paths(root)
    kinked = paths.select(_kinked)
    products = _Products()  # shared by the plain and the shaken passes
    plain, shaken_pass = _Reevaluation(paths, False, products), _Reevaluation(paths, True, products)

    decided = {n: np.ravel(switches[n]) for n in kinked if switches is not None and n in switches}

    def f(point: Mapping[str, Any]) -> Evaluation:
        values, complex_pass = plain(point, plain)
        if not kinked:
            return Evaluation(values[root])
        quantities = [np.ravel(_kink(n)(*(values[a] for a in n.args), **n.kwargs)) for n in kinked]
        signs = np.concatenate([np.sign(np.real(q)) for q in quantities]).astype(np.int8)
        ambiguous = False
        if complex_pass:  # a real quantity is one the step does not move
            on = [(np.real(q) == 0) & (np.imag(q) != 0) for q in quantities]
            for i, n in enumerate(kinked):
                if n in decided:
                    moved = np.imag(quantities[i]) != 0
                    ambiguous = ambiguous or bool(np.any(on[i] & ~decided[n]))
                    on[i] = moved & decided[n]
        else:
            on = [decided[n] if n in decided else q == 0 for n, q in zip(kinked, quantities)]
        return Evaluation(values[root], signs.tobytes(), bool(any(np.any(o) for o in on)), ambiguous)

    def shaken(point: Mapping[str, Any]) -> Evaluation:
        return Evaluation(shaken_pass(point, plain)[0][root])

    f.shaken = shaken  # type: ignore[attr-defined]
    return f


def _kinked(node: Apply) -> bool:
    return node.prim.kink is not None


_MISSING = object()


class _Reevaluation:
    """Forward passes that reuse a reference pass: at a point that differs from the reference point
    in a few variables (compared by identity: the numeric oracle builds each point from the reference
    with one variable replaced), only the operations those variables move are computed again. A value
    changed in place, in the same array object, would go unnoticed: callers pass new arrays (numeric.py's
    x + t·v, pool.py's unpacking, hessian.py's copies)."""

    def __init__(self, paths: Paths, shake: bool, products: _Products | None = None) -> None:
        self.paths, self.shake, self.products = paths, shake, products
        self.data = _data_nodes(paths.order) if shake else set()
        self.variables = {n.name: n for n in paths.order if isinstance(n, Var)}
        self.point: Mapping[str, Any] | None = None  # the reference point, and its pass:
        self.values: dict[Node, Any] = {}
        self.single: set[str] = set()  # the reference's float32 values, and its complex ones
        self.complex: set[str] = set()
        self.reference: _Reference | None = None

    def __call__(self, point: Mapping[str, Any], anchor: _Reevaluation) -> tuple[dict[Node, Any], bool]:
        """The values at point, and whether the pass was complex. The reference point is the first
        point anchor (the plain passes) saw, so that shaken passes share it."""
        if self.point is None:
            reference = anchor.point if anchor.point is not None else point
            values: dict[Node, Any] = {}
            unshaken: dict[Node, Any] = {}
            try:
                self.values = values
                _evaluate(self.paths.order, values, reference,
                          _Pass(working_dtype(reference), _is_complex(reference.values()), self.shake, self.data),
                          unshaken=unshaken if self.shake else None)
            except DomainError:
                if reference is point:
                    raise
                return self._whole(point), _is_complex(point.values())
            self.point = reference
            self.single = {k for k, v in reference.items() if _is_single(v)}
            self.complex = {k for k, v in reference.items() if np.iscomplexobj(v)}
            # a real reference pass is what linear operations reuse under the complex step
            self.reference = None if self.complex else _Reference(values, unshaken if self.shake else values,
                                                                  self.products)
        changed = [k for k, v in point.items() if self.point.get(k, _MISSING) is not v]
        if len(point) != len(self.point) or any(_is_single(point[k]) != (k in self.single) for k in changed):
            return self._whole(point), _is_complex(point.values())  # other variables, or another precision
        key = frozenset(changed)
        complex_pass = bool(self.complex - key) or _is_complex(point[k] for k in changed)
        if not changed:
            return self.values, complex_pass
        moved = self.paths.moved_by(self.variables[k] for k in changed if k in self.variables)
        values = dict(self.values)
        for k in changed:
            if k in self.variables:
                values[self.variables[k]] = point[k]
        _evaluate(moved, values, point, _Pass(np.float32 if self.single else np.float64, complex_pass,
                                              self.shake, self.data, self.paths.position), self.reference)
        return values, complex_pass

    def _whole(self, point: Mapping[str, Any]) -> dict[Node, Any]:
        return forward(self.paths.root, point, shake=self.shake, order=self.paths.order)


def _is_single(v: Any) -> bool:
    return np.asarray(v).dtype in (np.float32, np.complex64)


def _is_complex(values: Iterable[Any]) -> bool:
    """Whether any of values is complex (a Python or numpy scalar answered without np.iscomplexobj)."""
    return any(isinstance(v, complex) or (not isinstance(v, float) and np.iscomplexobj(v)) for v in values)


def _on_path(root: Node, var: Var, test: Callable[[Apply], bool], paths: Paths | None) -> list[str]:
    """The names of the primitives between var and f for which test(node) holds, in the order written."""
    paths = paths or Paths(root)
    return list(dict.fromkeys(n.prim.name for n in paths.on_path(var, paths.select(test))))


def _no_complex_form(node: Apply) -> bool:
    return node.prim.complex_forward is None


def _not_analytic(node: Apply) -> bool:
    return not node.prim.analytic


def _jumps(node: Apply) -> bool:
    return node.prim.jumps


def without_complex_form(root: Node, var: Var, paths: Paths | None = None) -> list[str]:
    """The primitives between var and f that have no complex form (the complex step cannot go
    through them: erf, gelu); [] when it can. paths: the tree's, when the caller asks for many variables."""
    return _on_path(root, var, _no_complex_form, paths)


def non_analytic(root: Node, var: Var, paths: Paths | None = None) -> list[str]:
    """The primitives between var and f that are not analytic (a kink, or no complex form)."""
    return _on_path(root, var, _not_analytic, paths)


def jumps_at(root: Node, values: Mapping[Node, Any], var: Var, paths: Paths | None = None) -> list[str]:
    """The jumps between var and f at this point: a piecewise-constant primitive (step, sign, a
    comparison) exactly on its switch, as "step(x) at x = 0"; f has no derivative there in var."""
    paths = paths or Paths(root)
    found = []
    for node in paths.on_path(var, paths.select(_jumps)):
        quantity = _kink(node)(*(values[a] for a in node.args), **node.kwargs)
        if np.any(np.asarray(quantity) == 0):
            found.append(f"{shown(node)}{describe_inputs(node, [values[a] for a in node.args])}")
    return found



