"""From the user's text to a Problem: f's tree, its --let names and claims, and the point.

Everything the user typed is parsed and validated here, before any oracle runs, so that every
input error is found up front and reported with where it is.
"""

from __future__ import annotations

import ast
import keyword
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from ..base.errors import ShapeError, SpecError, suggest
from ..base.source import Source, Span
from ..language.cost import check_nesting
from ..language.parser import Scope, parse
from ..language.shapes import infer_shapes
from ..language.tree import Apply, Node, Var, differentiable_variables, variables
from ..ops.arrays import format_shape
from ..ops.registry import CONSTANTS, FUNCTIONS
from ..base.limits import MAX_VALUE_TEXT
from .values import Assignments, parse_value, random_value, split_assignments, top_level_split


@dataclass(frozen=True)
class Spec:
    """What the user gave for one check, as given: f's text, the values (`at`), claimed gradients (`grad`),
    named intermediates (`let`), the variables to differentiate by (`wrt`) and those that are data; the
    folder .npy paths are relative to (`base`) and the one they must stay inside (`npy_root`; None: any)."""

    expr: str
    at: Assignments = None
    grad: Assignments = None
    let: Assignments = None
    wrt: str | Iterable[str] | None = None
    data: str | Iterable[str] | None = None
    base: Path | None = None
    npy_root: Path | None = None


@dataclass
class Problem:
    expr: str
    root: Node
    wrt: list[Var]  # the variables to differentiate by, in the order written
    point: dict[str, np.ndarray]  # a value for every variable any text uses (scalars are 0-d)
    random: list[str] = field(default_factory=list)  # the variables whose value was drawn
    claims: dict[str, Node] = field(default_factory=dict)  # variable -> the user's ∂f/∂variable
    lets: dict[str, Node] = field(default_factory=dict)


def build(spec: Spec, seed: int = 0) -> Problem:
    """The Problem the spec describes, its random values drawn with the seed; a GradcheckError names
    the first thing wrong in it."""
    expr, at, grad, let, wrt = spec.expr, spec.at, spec.grad, spec.let, spec.wrt
    if not isinstance(expr, str):
        raise SpecError(f"the expression must be text, got {type(expr).__name__}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SpecError(f"the seed must be a whole number ≥ 0, got {seed!r}")
    scope = Scope()
    for name, body in split_assignments(let, "--let").items():
        _check_let_name(name, scope)
        node = parse(_expression_text(body, f"--let {name}"), origin=f"--let {name}", scope=scope)
        scope.lets[name] = replace(node, label=name) if isinstance(node, Apply) and not node.label else node
    root = parse(expr, scope=scope)
    check_nesting(root)
    used = differentiable_variables(root)
    if not used:
        raise SpecError("the expression has no variables to differentiate")
    given = split_assignments(at, "--at")
    chosen = _choose_wrt(wrt, _variables_of(used, given, spec.data, wrt), variables(root), scope.lets, given)
    # A name given with --at that f does not use may still be used by a claim (a mask, a constant).
    extra = {name: Var(name, Span(Source(name, f"--at {name}"), 0, len(name))) for name in given
             if name not in scope.variables and name not in scope.lets and name not in CONSTANTS}
    claims = _claims(grad, scope, chosen, extra)
    claim_only = [name for name in extra if any(v.name == name for c in claims.values() for v in variables(c))]
    point, drawn = _point(given, scope, seed, spec.base, claim_only, spec.npy_root)
    shape = infer_shapes(root, {name: np.shape(v) for name, v in point.items()})[root]
    if shape != ():
        raise ShapeError(f"f has shape {format_shape(shape)}, but a gradient needs a scalar: "
                         "wrap it in sum(...) or mean(...)", root.span)
    return Problem(expr, root, chosen, point, drawn, claims, dict(scope.lets))


def _check_let_name(name: str, scope: Scope) -> None:
    if keyword.iskeyword(name) or name in FUNCTIONS or name in CONSTANTS:
        raise SpecError(f"--let {name}: '{name}' is a reserved name (a function, constant or keyword)")
    if name in scope.variables:
        raise SpecError(f"--let {name}: '{name}' is already a variable in an earlier --let")


def _intermediate(name: str, option: str, lets: Mapping[str, Node], variables: Iterable[str]) -> None:
    """A --let name given to --wrt or --grad: f does use it, as an intermediate, so 'f does not use'
    would be wrong; say what is differentiated instead and where ∂f/∂name is shown."""
    if name in lets:
        raise SpecError(f"{option} names '{name}', a --let name (an intermediate, computed from the variables): "
                        f"f is differentiated by its variables, {', '.join(variables)}; gradcheck trace shows "
                        f"∂f/∂{name} on its node")


def _names(given: str | Iterable[str], option: str) -> list[str]:
    if not isinstance(given, str) and not (isinstance(given, (list, tuple, set)) and all(isinstance(n, str) for n in given)):
        raise SpecError(f"{option} takes names such as 'w0,w1' or a list of names, got {type(given).__name__}")
    return [n.strip() for n in (given.split(",") if isinstance(given, str) else given) if n.strip()]


def _variables_of(used: list[Var], given: Mapping[str, Any], data: str | Iterable[str] | None,
                  wrt: str | Iterable[str] | None) -> list[Var]:
    """The one rule of what is differentiated (docs/conventions.md), as an expression applies it: f's
    variables, less its data by use (labels, indices, conditions: already left out of `used`), less
    arrays written as whole numbers or given as integer arrays, less the names --data gives. --wrt
    chooses among what is left."""
    named = _names(data, "--data") if data is not None else []
    by_name = {v.name for v in used}
    for name in named:
        if name not in by_name and name not in given:
            raise SpecError(f"--data names '{name}', which f does not use{suggest(name, by_name)}; "
                            f"f's variables are {', '.join(by_name)}")
    if wrt is not None:
        both = [n for n in _names(wrt, "--wrt") if n in named]
        if both:
            raise SpecError(f"{', '.join(both)} named both to differentiate (--wrt) and as data (--data)")
        return [v for v in used if v.name not in named]
    kept = [v for v in used if v.name not in named and not integers(given.get(v.name))]
    if not kept:
        held = [f"{v.name} is {'named as data' if v.name in named else 'written as whole numbers'}" for v in used]
        raise SpecError(f"the expression has no variables to differentiate: {', '.join(held)}; integer arrays are "
                        "data (labels, indices): write an array to differentiate with a decimal point ([1.0, 2, 3]) "
                        "or draw it (randn(3))")
    return kept


def integers(given: Any) -> bool:
    """An array given as whole numbers: a list written without a decimal point ([0, 2, 1], as numpy reads
    it too) or an integer numpy array. Data, like a label, unless it is named with --wrt; a number alone
    (w0=2) is a scalar variable: in an expression every name is a real number."""
    if isinstance(given, str):
        text = given.strip()
        if not text.startswith("[") or len(text) > MAX_VALUE_TEXT:
            return False
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return False  # parse_value says what is wrong with it, with its column
        given = value
    if isinstance(given, (np.ndarray, list, tuple)):
        try:
            array = np.asarray(given)
        except (ValueError, TypeError, OverflowError):  # ragged or not numbers: parse_value says why
            return False
        return array.ndim >= 1 and array.dtype.kind in "iu"
    return False


def _choose_wrt(wrt: str | Iterable[str] | None, used: list[Var], every: list[Var],
                lets: Mapping[str, Node] | None = None, given: Mapping[str, Any] | None = None) -> list[Var]:
    if wrt is None:
        return used
    names = _names(wrt, "--wrt")
    by_name = {v.name: v for v in used}
    for name in names:
        if name in {v.name for v in every} and name not in by_name:
            raise SpecError(f"--wrt names '{name}', which f uses only as class labels (data): "
                            "labels cannot be differentiated")
        _intermediate(name, "--wrt", lets or {}, by_name)
        if name not in by_name:
            raise SpecError(f"--wrt names '{name}', which f does not use{suggest(name, by_name)}; "
                            f"f's variables are {', '.join(by_name)}")
    if not names:
        raise SpecError("--wrt names no variable")
    return [v for v in used if v.name in names]


def _point(given: dict, scope: Scope, seed: int, base: Path | None, claim_only: list[str],
           npy_root: Path | None = None) -> tuple[dict[str, np.ndarray], list[str]]:
    for name in given:
        if name in scope.lets:
            raise SpecError(f"--at {name}: '{name}' is a --let name; its value follows from the variables")
        if name in CONSTANTS:
            raise SpecError(f"--at {name}: '{name}' is the constant {name}, not a variable")
        if name not in scope.variables and name not in claim_only:
            raise SpecError(f"--at gives a value for '{name}', which f does not use and no claim uses"
                            f"{suggest(name, scope.variables)}; f's variables are {', '.join(scope.variables)}")
    point: dict[str, Any] = {}
    drawn: list[str] = []
    for name in [*scope.variables, *claim_only]:
        if name in given:
            point[name] = parse_value(name, given[name], seed=seed, base=base, npy_root=npy_root)
        else:
            point[name] = random_value(name, seed)
            drawn.append(name)
    return point, drawn


# "y=x" after a comma: the next of several NAME=EXPR items crammed into one --grad or --let
NAME_EQUALS = re.compile(r"\s*[A-Za-z_][A-Za-z_0-9]*\s*=(?!=)")


def _expression_text(body: Any, where: str) -> str:
    """A --let or --grad body given through the API or TOML: text, or a plain number. Anything else
    (a numpy array, a list, a function) would reach the parser as its repr ('[[2. 4.] ...' read as
    'lists are not allowed'), so it is refused here, saying what an expression is."""
    if isinstance(body, str):
        items = top_level_split(body)
        if len(items) > 1 and all(NAME_EQUALS.match(item) for item in items[1:]):
            option, name = where.split(" ", 1)
            others = " ".join(f"{option} {item.strip()}" for item in items[1:])
            raise SpecError(f"{where}: one {option} gives one name (its value may hold commas, so they do not "
                            f"separate names): write {option} {name}={items[0].strip()} {others}")
        return body
    if isinstance(body, (int, np.integer)) and not isinstance(body, bool):
        return str(int(body))
    if isinstance(body, (float, np.floating)):
        return repr(float(body))
    hint = "; for a gradient computed with numpy, use gradcheck.check_function" if where.startswith("--grad") else ""
    raise SpecError(f"{where}: an expression written as text is needed, such as '2*x', got {type(body).__name__}"
                    f"{hint}")


def _claims(grad: Assignments, scope: Scope, wrt: list[Var], extra: dict[str, Var]) -> dict[str, Node]:
    claims = {}
    names = [v.name for v in wrt]
    closed = Scope(lets=scope.lets, variables={**scope.variables, **extra}, closed=True)
    for name, body in split_assignments(grad, "--grad").items():
        _intermediate(name, "--grad", scope.lets, names)
        if name not in names:
            raise SpecError(f"--grad {name}: f is not differentiated by '{name}'{suggest(name, names)}; "
                            f"the gradient has {', '.join(names)}")
        claims[name] = parse(_expression_text(body, f"--grad {name}"), origin=f"--grad {name}", scope=closed)
        check_nesting(claims[name], f"--grad {name}")
    return claims
