"""The symbolic column of large expansions, one operation at a time.

Each kind of call (a primitive, its static arguments and the shapes of its inputs) has its SymPy
form built once on symbols; SymPy differentiates each entry of that form by each symbol it holds,
and the derivatives are evaluated with mpmath (EVAL_DIGITS digits) at every entry of the node, then
chained over the tree in reverse. Entries of one form that differ only in which symbols they hold
(every entry of a matmul is a sum of the same products) are one template, differentiated once:
the 112-parameter net needs a few dozen differentiations instead of one per entry.

No VJP rule of gradcheck's is used: what matmul, softmax or broadcasting contribute to the gradient
comes from SymPy differentiating their forms, as in the whole-expression path.

Each kind of call is found by a key that needs no SymPy (the primitive, its static arguments, the
shapes of its inputs, its exact constants and labels), first among the calls of this process, then
on disk (sym_store.py), and only then built with SymPy, which is imported at that moment: a check
whose kinds of call were all differentiated before, with every partial it needs, runs without
importing SymPy. A stored template that must be differentiated by a new symbol (a relu's zeros
moved) is built again with SymPy and checked to be the one stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import mpmath
import numpy as np

from ..base.budget import checkpoint
from ..language.cost import operations
from ..language.evaluate import value
from ..language.tree import Apply, Const, Node, Var, depends_on, topological
from ..ops.arrays import scalar
from . import sym_store
from .sym_constants import constant_key, constant_value, sympy_constant
from .sym_constants import constant_nodes as _constant_nodes
from .sym_eval import Program, whole_number, working_digits
from .sym_record import NotRecordable, Recorded, RecordingSympy, replay, structure

# How many forms and templates are kept between checks in one process (a batch of cases, a test
# session): enough for the primitives of a few hundred cases, small next to SymPy's own caches.
CACHE_SIZE = 2_000
# The longest program (a template's value or one of its partials) read from the store for a kind of
# call: STEPS_PER_OPERATION steps per scalar operation of one of its output entries (cost.operations),
# plus STEPS_SLACK. The longest SymPy writes for the registry's primitives is measured by
# tests/oracles/test_sym_store_tampering.py; a longer one was not written by SymPy for this call and
# is ignored, so that a tampered entry cannot make every check run its programs until the time budget.
STEPS_PER_OPERATION = 16
STEPS_SLACK = 64


class Template:
    """An expression in canonical symbols: its value and its partial derivatives as mpmath programs."""

    def __init__(self, expr: Any, symbols: list[Any]):
        self.expr, self.symbols = expr, symbols
        self.value = Program(expr, symbols)
        self._partials: dict[int, Program] = {}
        self._free: dict[Any, Any] = {}  # free symbols of subexpressions, asked for by every partial
        self._source: Callable[[], tuple[Any, list[Any]]] | None = None

    @classmethod
    def stored(cls, value: Program, partials: dict[int, Program],
               source: Callable[[], tuple[Any, list[Any]]]) -> Template:
        """A template read from the store: its programs, and how to build its SymPy expression
        should another partial be asked for."""
        template = cls.__new__(cls)
        template.expr, template.symbols, template.value = None, [], value
        template._partials, template._free, template._source = partials, {}, source
        return template

    def partial(self, sp, j: int) -> Program:
        """∂expr/∂(its j-th symbol), differentiated by SymPy the first time it is asked for."""
        if j not in self._partials:
            if self.expr is None and self._source is not None:
                self.expr, self.symbols = self._source()
            checkpoint()  # a look at the clock before each SymPy differentiation (budget.py)
            self._partials[j] = Program(_partial(sp, self.expr, self.symbols[j], self._free), self.symbols)
        return self._partials[j]

    def differentiated(self) -> int:
        return len(self._partials)

    def fits(self, max_steps: int) -> bool:
        """Every program reads the template's inputs, is at most max_steps long, and every partial is by
        one of its symbols."""
        inputs = self.value.inputs
        return all(p.inputs == inputs and len(p.steps) <= max_steps for p in (self.value, *self._partials.values())) \
            and all(0 <= j < inputs for j in self._partials)

    def dump(self) -> dict[str, Any] | None:
        programs = {str(j): p.dump() for j, p in self._partials.items()}
        value = self.value.dump()
        if value is None or any(p is None for p in programs.values()):
            return None  # a step SymPy evaluates itself: kept in this process only
        return {"value": value, "partials": programs}


@dataclass(frozen=True)
class Expected:
    """What a stored kind of call must be to be used for one node: its output shape (None: elementwise,
    one template of `symbols` symbols), the number of entries of each input whose entries are symbols
    (None for a constant or labels, which no register may read), and the longest program accepted."""

    shape: tuple[int, ...] | None
    symbols: int
    sizes: tuple[int | None, ...]
    max_steps: int


class StaleEntry(Exception):
    """A stored kind of call is not what SymPy builds for its key now."""


class Call:
    """One kind of call: the shape of its output (None: elementwise, one template for each entry),
    and for each output entry its template and the (input, flat index) each symbol stands for."""

    def __init__(self, shape: tuple[int, ...] | None, entries: list[tuple[Template, Any]]):
        self.shape, self.entries = shape, entries
        self.templates = list({id(t): t for t, _ in entries}.values())
        self.saved: tuple[int, ...] | None = None  # partials per template as last written or read
        self.read = False  # from the store

    def layout(self) -> list[tuple[int, Any]]:
        index = {id(t): k for k, t in enumerate(self.templates)}
        return [(index[id(t)], registers) for t, registers in self.entries]

    def changed(self) -> bool:
        return self.saved != tuple(t.differentiated() for t in self.templates)

    def fits(self, expected: Expected) -> bool:
        """Whether a call read from the store can be run for this node: its shape, every register of
        every entry inside the inputs it names, and programs no longer than SymPy writes for it."""
        if self.shape != expected.shape:
            return False
        if self.shape is None and (len(self.entries) != 1 or self.entries[0][1] is not None
                                   or self.entries[0][0].value.inputs != expected.symbols):
            return False
        for template, registers in self.entries:
            if registers is None:
                if self.shape is not None:
                    return False
                continue
            if len(registers) != template.value.inputs or not all(
                    i < len(expected.sizes) and expected.sizes[i] is not None and k < expected.sizes[i]
                    for i, k in registers):
                return False
        return all(t.fits(expected.max_steps) for t in self.templates)

    def dump(self) -> dict[str, Any] | None:
        templates = [t.dump() for t in self.templates]
        if any(t is None for t in templates):
            return None
        return {"shape": None if self.shape is None else list(self.shape), "templates": templates,
                "entries": [[k, registers] for k, registers in self.layout()]}

    @classmethod
    def load(cls, data: dict[str, Any], build: Callable[[], Call]) -> Call:
        """A stored call; ValueError (or KeyError, TypeError) when the data is not one."""
        built: list[Call] = []

        def source(k: int) -> Callable[[], tuple[Any, list[Any]]]:
            def rebuild() -> tuple[Any, list[Any]]:
                if not built:
                    built.append(build())
                fresh = built[0]
                if (fresh.shape != call.shape or fresh.layout() != call.layout()
                        or fresh.templates[k].value.dump() != data["templates"][k]["value"]):
                    raise StaleEntry
                return fresh.templates[k].expr, fresh.templates[k].symbols
            return rebuild

        templates = [Template.stored(Program.load(t["value"]),
                                     {int(j): Program.load(p) for j, p in t["partials"].items()}, source(k))
                     for k, t in enumerate(data["templates"])]
        shape = None if data["shape"] is None else tuple(_index(n) for n in data["shape"])
        entries = [(templates[_index(k)], None if registers is None
                    else [(_index(i), _index(n)) for i, n in registers]) for k, registers in data["entries"]]
        if shape is None and len(entries) != 1 or shape is not None and len(entries) != int(np.prod(shape)):
            raise ValueError("entries")
        call = cls(shape, entries)
        if len(call.templates) != len(templates):
            raise ValueError("templates")
        call.saved, call.read = tuple(t.differentiated() for t in templates), True
        return call


def _index(x: Any) -> int:
    if not whole_number(x) or x < 0:
        raise ValueError("index")
    return x


class _SympyOnDemand:
    """The sympy module, imported the first time anything is looked up on it."""

    def __getattr__(self, name: str) -> Any:
        import sympy

        return getattr(sympy, name)


@dataclass
class _Run:
    reading: bool  # stored calls may be read
    used: dict[str, Call] = field(default_factory=dict)


_templates: dict[Any, Template] = {}  # array forms' entries, by structure (see _structure)
_calls: dict[str, Call] = {}  # kinds of call, by key (see _elementwise_template, _array_form)
_canonical: list[Any] = []  # c0, c1, ...: the symbols templates are written in
_derivatives: dict[Any, Any] = {}  # by structure of a term and its symbol: the derivative in canonical symbols


def chained(root: Node, point: Mapping[str, Any], wrt: list[Var]) -> dict[str, Any]:
    """The gradient by each variable in wrt (a list of floats, in C order), or why there is none."""
    if len(_templates) > CACHE_SIZE or len(_calls) > CACHE_SIZE or len(_derivatives) > CACHE_SIZE:
        _templates.clear()
        _calls.clear()
        _derivatives.clear()
    try:
        return _chained(_SympyOnDemand(), root, point, wrt, _Run(reading=True))
    except StaleEntry:  # the store disagrees with SymPy: once more, from SymPy alone
        for key in [key for key, call in _calls.items() if call.read]:
            del _calls[key]
        return _chained(_SympyOnDemand(), root, point, wrt, _Run(reading=False))


def _chained(sp, root: Node, point: Mapping[str, Any], wrt: list[Var], run: _Run) -> dict[str, Any]:
    result = _chain(sp, root, point, wrt, run)
    _save(run)
    return result


def exact_value(root: Node, point: Mapping[str, Any], digits: int | None = None) -> np.ndarray | None:
    """root's value at the point to `digits` digits (an object array of mpf), computed operation by
    operation from the registry's SymPy forms, as the symbolic column computes f's; None where some
    operation has no finite value there. The kinds of call come from the same caches and store.
    digits: the symbolic column's working digits by default (sym_eval.working_digits)."""
    if len(_calls) > CACHE_SIZE:
        _calls.clear()
    digits = digits or working_digits()
    run = _Run(reading=True)
    try:
        with mpmath.workdps(digits):
            values, _, bad = _forward_pass(_SympyOnDemand(), topological(root), point, run, None)
    except StaleEntry:
        for key in [key for key, call in _calls.items() if call.read]:
            del _calls[key]
        return exact_value(root, point, digits)
    _save(run)
    return None if bad is not None or any(v is None for v in values[root].flat) else values[root]


def _forward_pass(sp, order: list[Node], point: Mapping[str, Any], run: _Run, needs: set[Node] | None):
    """Every node's values (object arrays of mpf), each Apply's per-entry calls, and the first node of
    `needs` (every node, for None) that has no finite value, or None."""
    fixed = _constant_nodes(order)
    values: dict[Node, np.ndarray] = {}
    calls: dict[Node, list] = {}  # per entry of each Apply: (template, the registers it reads)
    for node in order:
        checkpoint()
        if isinstance(node, Var):
            values[node] = _mpf_array(point[node.name])
        elif isinstance(node, Const):
            values[node] = scalar(constant_value(node))
        elif node in fixed:
            values[node] = _mpf_array(value(node, {}))
        else:
            values[node], calls[node] = _forward(sp, node, [values[a] for a in node.args], run)
            if (needs is None or node in needs) and any(v is None for v in values[node].flat):
                return values, calls, node
    return values, calls, None


def _save(run: _Run) -> None:
    """The kinds of call this run differentiated further, written to the store."""
    for key, call in run.used.items():
        if call.changed():
            data = call.dump()
            if data is not None:
                sym_store.save(key, data)
            call.saved = tuple(t.differentiated() for t in call.templates)


def _chain(sp, root: Node, point: Mapping[str, Any], wrt: list[Var], run: _Run) -> dict[str, Any]:
    order = topological(root)
    needs = depends_on(order, wrt)
    with mpmath.workdps(working_digits()):
        values, calls, bad = _forward_pass(sp, order, point, run, needs)
        if bad is not None:
            return _everywhere(wrt, f"SymPy gives no finite number for {bad.span.text.strip()}")
        adjoint: dict[Node, np.ndarray] = {root: scalar(mpmath.mpf(1))}
        for node in reversed(order):
            if node not in needs or not isinstance(node, Apply) or node not in adjoint:
                continue
            checkpoint()
            upstream = adjoint.pop(node)
            sources = [i for i, a in enumerate(node.args) if a in needs and i not in node.prim.labels]
            for i, contribution in _backward(sp, node, calls[node], upstream, sources, values):
                if contribution is None:
                    return _everywhere(wrt, f"SymPy gives no finite derivative of {node.span.text.strip()}")
                arg = node.args[i]
                adjoint[arg] = np.asarray(adjoint[arg] + contribution if arg in adjoint else contribution,
                                          dtype=object)
        return {v.name: [float(a) for a in adjoint[v].ravel()] if v in adjoint
                else [0.0] * int(np.size(point[v.name])) for v in wrt}


def _call(key: str, run: _Run, build: Callable[[], Call], expected: Expected) -> Call:
    """The kind of call for this key: from this process, else the store (if it fits the node), else
    built with SymPy."""
    call = _calls.get(key)
    if call is None:
        data = sym_store.load(key) if run.reading else None
        if data is not None:
            try:
                call = Call.load(data, build)
            except (ValueError, KeyError, TypeError, IndexError, AttributeError):
                call = None
            if call is not None and not call.fits(expected):
                call = None
        _calls[key] = call = call or build()
    run.used[key] = call
    return call


def _everywhere(wrt: list[Var], why: str) -> dict[str, Any]:
    return {v.name: why for v in wrt}


def _forward(sp, node: Apply, args: list[np.ndarray], run: _Run):
    """The node's values and, per entry, the template and input registers that compute it."""
    prim = node.prim
    if prim.elementwise:
        out_shape = np.broadcast_shapes(*(a.shape for a in args))
        spread = [a if a.shape == out_shape else np.broadcast_to(a, out_shape) for a in args]
        # Constants and data labels enter the form as exact numbers (x**2 stays 2*x); the rest as symbols.
        fixed = {i: a for i, a in enumerate(node.args) if isinstance(a, Const)}
        calls = []
        out = np.empty(out_shape, dtype=object)
        free = [i for i in range(len(args)) if i not in fixed and i not in prim.labels]
        labelled = [i for i in prim.labels if i not in fixed]
        template = None if labelled else _elementwise_template(sp, node, fixed, (), run)
        for idx in np.ndindex(out_shape):
            entry = [s[idx] for s in spread]
            if labelled:  # data (where's condition) enters as the number it is at this entry
                template = _elementwise_template(sp, node, fixed, tuple(float(entry[i]) for i in labelled), run)
            assert template is not None
            out[idx] = template.value([entry[i] for i in free])
            calls.append((template, [(i, idx) for i in free]))
        return out, calls
    call = _array_form(sp, node, args, run)
    assert call.shape is not None
    out = np.empty(call.shape, dtype=object)
    for idx, (template, registers) in zip(np.ndindex(call.shape), call.entries):
        out[idx] = template.value([args[i].flat[k] for i, k in registers])
    return out, call.entries


def _backward(sp, node: Apply, calls: list, upstream: np.ndarray, sources: list[int], values):
    """(input position, upstream · ∂node/∂input) for each input that needs a gradient."""
    args = [values[a] for a in node.args]
    grads = {i: np.zeros(args[i].shape, dtype=object) for i in sources}
    elementwise = node.prim.elementwise
    out_shape = upstream.shape
    for (template, registers), g in zip(calls, upstream.flat):
        if not g:  # nothing flows back through this entry (a relu's zeros): its derivative is not needed
            continue
        if elementwise:
            inputs = [args[i][where] if args[i].shape == out_shape else np.broadcast_to(args[i], out_shape)[where]
                      for i, where in registers]
        else:
            inputs = [args[i].flat[k] for i, k in registers]
        for j, (i, where) in enumerate(registers):
            if i not in grads:
                continue
            local = template.partial(sp, j)(inputs)
            if local is None:
                yield i, None
                return
            if elementwise:  # the entry of the input that was broadcast to idx
                where = tuple(0 if n == 1 else w for n, w in zip(args[i].shape, where[len(where) - args[i].ndim:]))
                grads[i][where] += g * local
            else:
                grads[i].flat[where] += g * local
    yield from grads.items()


def _elementwise_template(sp, node: Apply, fixed: dict[int, Const], labels: tuple[float, ...],
                          run: _Run) -> Template:
    prim = node.prim
    key = repr(("elementwise", prim.name, node.static, tuple((i, constant_key(c)) for i, c in fixed.items()),
                labels))
    symbols = sum(1 for i in range(prim.arity) if i not in fixed and i not in prim.labels)
    expected = Expected(None, symbols, (), _max_steps(1))
    return _call(key, run, lambda: Call(None, [(_elementwise_form(sp, node, fixed, labels), None)]),
                 expected).entries[0][0]


def _max_steps(operations_per_entry: int) -> int:
    return STEPS_PER_OPERATION * max(1, operations_per_entry) + STEPS_SLACK


def _elementwise_form(sp, node: Apply, fixed: dict[int, Const], labels: tuple[float, ...]) -> Template:
    prim = node.prim
    exact = {i: sympy_constant(sp, c) for i, c in fixed.items()}
    label_of = dict(zip((i for i in prim.labels if i not in exact), (_label(sp, v) for v in labels)))
    free = [i for i in range(prim.arity) if i not in exact and i not in prim.labels]
    symbols = _symbols(sp, len(free))
    named = dict(zip(free, symbols))
    form = prim.sympy(sp, *(exact.get(i, label_of.get(i, named.get(i))) for i in range(prim.arity)),
                      **node.kwargs)
    return Template(form, symbols)


def _array_form(sp, node: Apply, args: list[np.ndarray], run: _Run) -> Call:
    """An array primitive's form on symbols, with each entry's template and the (input, flat index)
    of each of its symbols; built once per kind of call."""
    prim = node.prim
    kinds: list[tuple[Any, ...]] = []
    for i, (arg, a) in enumerate(zip(node.args, args)):
        if isinstance(arg, Const):
            kinds.append(constant_key(arg))
        elif i in prim.labels:
            kinds.append(("labels", a.shape, tuple(float(v) for v in a.flat)))
        else:
            kinds.append(("symbols", a.shape))
    key = repr((prim.name, node.static, tuple(kinds)))

    def build() -> Call:
        try:
            return _recorded_form(sp, node, kinds, args)
        except NotRecordable:
            return _sympy_form(sp, node, kinds, args)
    return _call(key, run, build, _expected(node, kinds, args))


def _expected(node: Apply, kinds: list, args: list[np.ndarray]) -> Expected:
    """What a stored call for this array node must be (Call.fits): the node's output shape as the shape
    pass gives it, the inputs whose entries are symbols, and programs as long as the node's cost allows."""
    shapes = [a.shape for a in args]
    shape = tuple(node.prim.shape(*shapes, **node.kwargs)) if node.prim.shape else np.broadcast_shapes(*shapes)
    entries = max(1, int(np.prod(shape, dtype=np.int64)))
    per_entry = -(-operations(node.prim, shape, shapes, node.kwargs, symbolic=True) // entries)
    sizes = tuple(a.size if kind[0] == "symbols" else None for kind, a in zip(kinds, args))
    return Expected(shape, 0, sizes, _max_steps(per_entry))


def _inputs(sp, node: Apply, kinds: list, args: list[np.ndarray], entry) -> list[np.ndarray]:
    """The form's inputs: exact numbers for constants and labels, entry((i, k)) for the others."""
    inputs = []
    for i, (kind, a) in enumerate(zip(kinds, args)):
        if kind[0] == "const":
            constant = node.args[i]
            assert isinstance(constant, Const)
            inputs.append(scalar(sympy_constant(sp, constant)))
        elif kind[0] == "labels":
            inputs.append(np.vectorize(lambda v: _label(sp, v), otypes=[object])(a) if a.size
                          else np.empty(a.shape, dtype=object))
        else:
            placeholders = np.empty(a.shape, dtype=object)
            for k, idx in enumerate(np.ndindex(a.shape)):
                placeholders[idx] = entry((i, k))
            inputs.append(placeholders)
    return inputs


def _recorded_form(sp, node: Apply, kinds: list, args: list[np.ndarray]):
    """The form run on placeholders (sym_record.py); one SymPy replay per structure of entry."""
    inputs = _inputs(sp, node, kinds, args, lambda origin: Recorded(None, (origin,)))
    form = node.prim.sympy(RecordingSympy(sp), *inputs, **node.kwargs)
    form = form if isinstance(form, np.ndarray) else scalar(form)
    entries = []
    for entry in form.flat:
        found: dict[Any, int] = {}
        key = ("recorded", structure(entry, found))
        template = _templates.get(key)
        if template is None:
            symbols = _symbols(sp, len(found))
            expr = _as_sympy(sp, replay(sp, entry, dict(zip(found, symbols)), {}))
            template = _templates[key] = Template(expr, symbols)
        entries.append((template, list(found)))
    return Call(form.shape, entries)


def _sympy_form(sp, node: Apply, kinds: list, args: list[np.ndarray]):
    """The form built with SymPy on one symbol per input entry; entries templated by structure."""
    origin: dict[Any, tuple[int, int]] = {}
    inputs = _inputs(sp, node, kinds, args, lambda where: _new_symbol(sp, where, origin))
    form = node.prim.sympy(sp, *inputs, **node.kwargs)
    form = form if isinstance(form, np.ndarray) else scalar(form)
    return Call(form.shape, [_template(sp, entry, origin) for entry in form.flat])


def _new_symbol(sp, where: tuple[int, int], origin: dict) -> Any:
    s = sp.Dummy("x", real=True)
    origin[s] = where
    return s


def _template(sp, entry: Any, origin: Mapping[Any, tuple[int, int]]):
    """The entry's template (shared by every entry of the same structure) and where its symbols come from."""
    found: dict[Any, int] = {}
    key = _structure(entry, origin, found)
    template = _templates.get(key)
    if template is None:
        symbols = _symbols(sp, len(found))
        template = _templates[key] = Template(entry.xreplace(dict(zip(found, symbols))), symbols)
    return template, [origin[s] for s in found]


def _structure(expr: Any, origin: Mapping[Any, Any], found: dict[Any, int]) -> Any:
    """The expression with each input symbol replaced by the order it first appears in: equal for
    two entries exactly when one is the other with its symbols renamed."""
    if expr in origin:
        return found.setdefault(expr, len(found))
    if expr.is_Atom:
        return (type(expr), expr)
    return (type(expr), *(_structure(a, origin, found) for a in expr.args))


def _symbols(sp, n: int) -> list[Any]:
    while len(_canonical) < n:
        _canonical.append(sp.Dummy(f"c{len(_canonical)}", real=True))
    return _canonical[:n]


def _partial(sp, expr, s, free: dict):
    """SymPy's ∂expr/∂s; of a sum, only the terms holding s are differentiated (the others give 0),
    and of a product, only the factor holding s when just one does (the others are constants)."""
    if expr.is_Add or expr.is_Mul:
        holding = [a for a in expr.args if s in _free(a, free)]
        if expr.is_Add:
            return sp.Add(*(_partial(sp, term, s, free) for term in holding))
        if len(holding) == 1:
            rest = [f for f in expr.args if f is not holding[0]]
            return sp.Mul(*rest, _partial(sp, holding[0], s, free))
    return _renamed_diff(sp, expr, s, free)


def _renamed_diff(sp, expr, s, free: dict):
    """sp.diff(expr, s), differentiated once per structure: the terms of a mean loss over rows
    (softmax_ce's log-sum-exp of each row) are one term with its symbols renamed, so SymPy
    differentiates the first row's term by each of its symbols and the others are renamings of
    those derivatives (a renaming of the symbols commutes with differentiation)."""
    symbols = _free(expr, free)
    if s not in symbols:
        return sp.Integer(0)
    found: dict[Any, int] = {}
    key = ("derivative", _structure(expr, symbols, found), found[s])
    canonical = _symbols(sp, len(found))
    if key not in _derivatives:
        _derivatives[key] = sp.diff(expr.xreplace(dict(zip(found, canonical))), canonical[found[s]])
    return _derivatives[key].xreplace(dict(zip(canonical, found)))


def _free(expr, free: dict):
    if expr not in free:
        free[expr] = expr.free_symbols
    return free[expr]


def _label(sp, v: Any):
    number = float(v)
    return sp.Integer(int(number)) if number.is_integer() else sp.Float(number)


def _mpf_array(x: Any) -> np.ndarray:
    numbers = np.asarray(x, dtype=np.float64)
    out = np.empty(numbers.shape, dtype=object)
    for idx, v in np.ndenumerate(numbers):
        out[idx] = mpmath.mpf(float(v))
    return out




def _as_sympy(sp, replayed: Any) -> Any:
    """A replayed entry as a SymPy expression: a plain number (an entry with no symbol) becomes a
    SymPy number directly; nothing here goes through sympify, which may eval text."""
    if isinstance(replayed, sp.Basic):
        return replayed
    if isinstance(replayed, (int, np.integer)) and not isinstance(replayed, bool):
        return sp.Integer(int(replayed))
    return sp.Float(float(replayed))
