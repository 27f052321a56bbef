"""`--emit numpy`: a self-contained numpy function computing f and its gradients, from the checked formulas.

The code is the derived matrix formulas printed as they are (gradcheck's language is numpy's for
+ - * / ** @ and .T), after a preamble that defines the functions they call under gradcheck's names
(only those used), each from its registry entry's `numpy_source`. Only formulas that were checked at the point are emitted.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..base.errors import SpecError
from ..language.parser import Scope, parse
from ..language.shapes import infer_shapes
from ..language.tree import Apply, Node, topological, variables
from ..ops.registry import BY_NAME, PRIMITIVES
from ..ops.terms import Term, leaf
from .matrix_form import forward_term, term_of
from .matrix_print import show


def emit(root: Node, lets: Mapping[str, Node], shapes: Mapping[Node, tuple[int, ...]],
         formulas: Mapping[str, str], parsed: Mapping[str, Node]) -> str:
    """The module text. formulas: variable -> checked matrix formula; parsed: the same, as trees."""
    fwd: dict[Node, Term] = {}
    for node in topological(root):
        fwd[node] = forward_term(node, fwd, shapes.get(node, ()))
    lines_of_lets = []
    for name, node in lets.items():
        if not isinstance(node, Apply):
            continue
        built: dict[Node, Term] = {}
        for n in topological(node):
            if n is not node and isinstance(n, Apply) and n.label:
                built[n] = leaf(n.label, ())
            else:
                built[n] = term_of(n, [built[a] for a in getattr(n, "args", ())], ())
        lines_of_lets.append(f"    {name} = {show(built[node])}")
    f_text = show(fwd[root])
    used = set()
    for tree in [root, *lets.values(), *parsed.values()]:
        for node in topological(tree):
            if isinstance(node, Apply):
                if not (node.prim.called and not node.prim.variadic or node.prim.operator
                        or node.prim.name == "transpose"):
                    raise SpecError(f"--emit numpy: {node.prim.name} ({node.span.text.strip()}) is not emitted yet")
                if node.prim.called and node.prim.name != "transpose":
                    if node.prim.numpy_source is None:
                        raise SpecError(f"--emit numpy: no numpy helper for {node.prim.name} yet")
                    used.add(node.prim.name)
    for name in list(used):
        used.update(BY_NAME[name].numpy_needs)
    params = [v.name for v in variables(root)]
    # The names the function's body uses besides the formulas' must not be f's variables or --let names
    # (a variable called f, np or ValueError rebound them: wrong code, or code that raises).
    taken = set(params) | set(lets)
    value_name, guard_name = _fresh("f", taken), _fresh("_gc_shapes", taken)
    # each function a formula calls, defined under gradcheck's name (sum and abs shadow the builtins inside
    # the emitted code, on purpose: the formulas read as gradcheck prints them), in the registry's order
    helpers = [p.numpy_source for p in PRIMITIVES if p.name in used and p.numpy_source is not None]
    preamble = "\n\n".join([*helpers, *_shape_helper(root, shapes, guard_name)])
    body = "\n".join(_shape_guard(root, shapes, guard_name) + lines_of_lets)
    grads = "".join(f"        {name!r}: {text},\n" for name, text in formulas.items())
    return (f'"""f = {_safe(show(fwd[root]))} and its gradient, derived and checked by gradcheck."""\n\n'
            "import numpy as np\n\n" + (preamble + "\n\n" if preamble else "") +
            f"\ndef f_and_gradient({', '.join(params)}):\n"
            f'    """f and {{variable: ∂f/∂variable}}; every array is a numpy float64 array."""\n'
            + (body + "\n" if body else "") +
            f"    {value_name} = {f_text}\n    return {value_name}, {{\n{grads}    }}\n")


def _fresh(name: str, taken: set[str]) -> str:
    """name, or name_, name__, ...: the first that is not taken."""
    while name in taken:
        name += "_"
    return name


def _shape_helper(root: Node, shapes: Mapping[Node, tuple[int, ...]], guard: str) -> list[str]:
    """The module-level function that refuses arrays of other shapes than the formulas were derived at
    (module level: its own names, np and ValueError, cannot be rebound by f's parameters)."""
    if not any(shapes.get(v, ()) for v in variables(root)):
        return []
    return [f"def {guard}(*given):\n"
            "    for name, value, shape in given:\n"
            "        if np.shape(value) != shape:\n"
            "            raise ValueError(f'f_and_gradient was derived for {name} of shape {shape}, "
            "got {np.shape(value)}: run gradcheck --emit numpy at that shape')"]


def _shape_guard(root: Node, shapes: Mapping[Node, tuple[int, ...]], guard: str) -> list[str]:
    """The call that refuses arrays of other shapes than the ones the formulas were derived at: a mean
    loss's 1/m is written as the number (`/ 8`), so the same function at another batch size would
    return a wrong gradient without a word."""
    given = [(v.name, tuple(shapes.get(v, ()))) for v in variables(root)]
    if not any(shape for _, shape in given):
        return []
    table = ", ".join(f"({name!r}, {name}, {shape!r})" for name, shape in given)
    return ["    # derived and checked at these shapes: numbers in the formulas (a batch size) hold for them only",
            f"    {guard}({table})"]


def _safe(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', "'''")


def formula_terms(problem: Any, gradients: Mapping[str, Any]) -> dict[str, Term]:
    """The checked matrix formulas as Terms (parsed back from their text), for --latex."""
    import numpy as np


    scope = Scope(lets=dict(problem.lets), variables={v.name: v for v in variables(problem.root)}, closed=True)
    out = {}
    for name, g in gradients.items():
        if g.matrix_formula is None:
            continue
        tree = parse(g.matrix_formula, scope=scope)
        shapes = infer_shapes(tree, {n: np.shape(v) for n, v in problem.point.items()})
        built: dict[Node, Term] = {}
        for node in topological(tree):
            if isinstance(node, Apply) and node.label:
                built[node] = leaf(node.label, shapes[node])
            else:
                built[node] = term_of(node, [built[a] for a in getattr(node, "args", ())], shapes[node])
        out[name] = built[tree]
    return out


def emit_for(problem: Any, gradients: Mapping[str, Any]) -> str:
    """The code for a checked case: every gradient must have its checked matrix formula."""
    import numpy as np


    missing = {n: g.matrix_note or "no formula" for n, g in gradients.items() if g.matrix_formula is None}
    if missing:
        name, why = next(iter(missing.items()))
        raise SpecError(f"--emit numpy needs every gradient's formula; ∂f/∂{name}: {why}")
    shapes = infer_shapes(problem.root, {n: np.shape(v) for n, v in problem.point.items()})
    scope = Scope(lets=dict(problem.lets), variables={v.name: v for v in variables(problem.root)}, closed=True)
    formulas = {n: g.matrix_formula for n, g in gradients.items()}
    parsed = {n: parse(text, scope=scope) for n, text in formulas.items()}
    return emit(problem.root, problem.lets, shapes, formulas, parsed)
