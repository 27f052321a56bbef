"""How the user's functions are called: inputs by position or by name, which of them are differentiated,
and fresh copies for every call (so the caller's arrays are never touched, and writes can be detected).

Shared by check_function, check_vjp, check_layer and check_model. What is differentiated is one rule
(docs/conventions.md): floating-point arrays are variables, wherever they are in the inputs (in dicts,
lists and tuples too: trees.py), unless named as data (`data=`); everything else (integer labels and
indices, boolean masks, Python numbers such as reg or p, strings) is data: passed through as given,
never cast. `wrt=` chooses the variables instead, and may name a Python number.
"""

from __future__ import annotations

import copy
import functools
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..base.errors import STOPS, CheckTimeout, FunctionError, SpecError
from . import trees

USERS_FILES_KEPT = 1024  # files whose ownership (the user's or not) _where remembers: a traceback's few, many times over


@dataclass(frozen=True)
class Inputs:
    """The inputs of f, by name, in f's order; the differentiated values by path (`x`, `params["W1"]`)."""

    names: tuple[str, ...]
    values: dict[str, Any]  # private copies: differentiated leaves are arrays (0-d for scalars)
    wrt: tuple[str, ...]  # the differentiated leaves' paths, in input order
    convention: str  # "single" f(x), "positional" f(*xs) or "keywords" f(**xs)
    places: Mapping[str, tuple[str, trees.Keys]]  # path -> (the input holding it, the keys down to it)

    def leaf(self, path: str) -> Any:
        name, keys = self.places[path]
        return trees.get(self.values[name], keys)

    @property
    def holders(self) -> tuple[str, ...]:
        """The inputs that hold a differentiated value, in input order."""
        held = {name for name, _ in self.places.values()}
        return tuple(n for n in self.names if n in held)

    def move(self, point: Mapping[str, Any]) -> None:
        """Replace differentiated leaves by the values in `point` (by path): the check goes on from there."""
        moved: dict[str, dict[trees.Keys, Any]] = {}
        for p, value in point.items():
            name, keys = self.places[p]
            moved.setdefault(name, {})[keys] = value
        for name, leaves in moved.items():
            self.values[name] = trees.rebuilt(self.values[name], leaves, fresh)

    def arguments(self, point: Mapping[str, Any] | None = None) -> tuple[list[Any], dict[str, Any]]:
        """Fresh copies of every input (moved leaves from `point`, by path), as f's args and kwargs."""
        moved: dict[str, dict[trees.Keys, Any]] = {}
        for p, value in (point or {}).items():
            if p in self.places:
                name, keys = self.places[p]
                moved.setdefault(name, {})[keys] = value
        values = [trees.rebuilt(self.values[n], moved[n], fresh) if n in moved else fresh(self.values[n])
                  for n in self.names]
        if self.convention == "keywords":
            return [], dict(zip(self.names, values))
        return values, {}


def is_differentiable(value: Any) -> bool:
    """A floating-point numpy array or numpy floating scalar: what is differentiated unless wrt says otherwise."""
    return (isinstance(value, np.ndarray) and value.dtype.kind == "f") or isinstance(value, np.floating)


def prepare(f: Callable, inputs: Any, wrt: Any = None, data: Any = None) -> Inputs:
    """inputs: one value, a sequence (f(*inputs)) or a mapping of names (f(**inputs)), each may be a tree of
    values; wrt: names, paths or positions to differentiate (default: every floating-point array, less data)."""
    if isinstance(inputs, Mapping):
        for key in inputs:
            if not isinstance(key, str) or not key.isidentifier():
                raise SpecError(f"inputs: the names of a mapping must be Python names, got {key!r}")
        names, values, convention = list(inputs), list(inputs.values()), "keywords"
    else:
        values = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        convention = "positional" if isinstance(inputs, (list, tuple)) else "single"
        if not values:
            raise SpecError("inputs: f needs at least one input")
        names = _parameter_names(f, len(values))
    values = [trees.converted(v) for v in values]  # needle's and PyTorch's tensors as numpy arrays
    found = {n: trees.leaves(v, n) for n, v in zip(names, values)}
    chosen = _choose(names, found, wrt, data)
    kept, places = {}, {}
    for name, value in zip(names, values):
        moved = {keys: _float_input(trees.path(name, keys), leaf) for keys, leaf in found[name] if (name, keys) in chosen}
        kept[name] = trees.rebuilt(value, moved, lambda v: v) if moved else value
        places.update({trees.path(name, keys): (name, keys) for keys, _ in found[name] if (name, keys) in chosen})
    return Inputs(tuple(names), kept, tuple(places), convention, places)


def parameter_names(f: Callable) -> list[str]:
    """The names of f's positional parameters, as the user wrote them ([] where Python cannot tell)."""
    try:
        return [p.name for p in inspect.signature(f).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return []


def _parameter_names(f: Callable, count: int) -> list[str]:
    params = parameter_names(f)
    return params[:count] if len(params) >= count else [f"x{i}" for i in range(count)]


Found = Mapping[str, list[tuple[trees.Keys, Any]]]  # each input's leaves


def _choose(names: list[str], found: Found, wrt: Any, data: Any) -> set[tuple[str, trees.Keys]]:
    """The differentiated leaves as (input, keys): the one rule of the module's docstring."""
    default = {(n, keys) for n in names for keys, v in found[n] if is_differentiable(v)}
    excluded: set[tuple[str, trees.Keys]] = set()
    for item in _items(data, "data") if data is not None else []:
        excluded |= _selected(names, found, item, "data")
    if wrt is None:
        chosen = default - excluded
        if not chosen:
            kinds = ", ".join(f"{n} is {_kind_of(found[n])}" for n in names)
            named = " but those named as data" if excluded else ""
            raise SpecError(f"inputs: nothing to differentiate, no input{named} is an array of floating-point numbers "
                            f"({kinds}); integer and boolean arrays are data (labels, indices, masks): give the "
                            "input to differentiate as floats ([1.0, 2, 3], randn(3), a float64 array), or name a "
                            "number input with wrt")
        return chosen
    chosen = set()
    for item in _items(wrt, "wrt"):
        picked = _selected(names, found, item, "wrt")
        exact = [(name, keys) for name, keys in picked if len(keys) == _depth(item)]
        if exact:
            # one value named exactly, not a structure holding it: a Python number, or an integer array (made
            # float64, as an expression's --wrt does), may be chosen so
            name, keys = exact[0]
            value = dict(found[name])[keys]
            if not (is_differentiable(value) or _whole(value) or isinstance(value, float)):
                raise SpecError(f"wrt names {trees.path(name, keys)}, which is {_kind(value)}: only numbers can be "
                                "differentiated (booleans are masks, data)")
        else:
            picked = {(n, keys) for n, keys in picked if is_differentiable(dict(found[n])[keys])}
            if not picked:
                raise SpecError(f"wrt names {item!r}, which holds no floating-point array")
        chosen |= picked
    both = sorted(trees.path(n, k) for n, k in chosen & excluded)
    if both:
        raise SpecError(f"{', '.join(both)} named both to differentiate (wrt) and as data (data)")
    return chosen


def names_given(given: Any, what: str, among: Sequence[str], kind: str) -> list[str]:
    """wrt= or data= as a list of names ("x,w" or ["x", "w"]), for the framework adapters, whose inputs are
    named only (no positions, no paths); each must be one of `among`, which are `kind` (the message's words)."""
    items = given.split(",") if isinstance(given, str) else list(given) if isinstance(given, (list, tuple)) else None
    if not items or not all(isinstance(i, str) for i in items):
        raise SpecError(f"{what} takes a name or a list of names, got {str(given)[:40]!r}")
    names = [i.strip() for i in items]
    unknown = [n for n in names if n not in among]
    if unknown:
        raise SpecError(f"{what} names {', '.join(unknown)}, which is not {kind}; they are {', '.join(among) or 'none'}")
    return names


def _items(given: Any, what: str) -> list[Any]:
    items = given.split(",") if isinstance(given, str) else [given] if isinstance(given, int) else given
    if not isinstance(items, (list, tuple)) or not items:
        raise SpecError(f"{what} takes a name, an index or a list of them, got {given!r}")
    return [i.strip() if isinstance(i, str) else i for i in items]


def _depth(item: Any) -> int:
    """How many keys a wrt or data item names below its input (0 for a name or a position)."""
    return len(trees.selector(item, "wrt")[1]) if isinstance(item, str) else 0


def _selected(names: list[str], found: Found, item: Any, what: str) -> set[tuple[str, trees.Keys]]:
    """The leaves one wrt or data item names: an input by position, an input by name, or a path into one."""
    if isinstance(item, int) and not isinstance(item, bool) and -len(names) <= item < len(names):
        name, prefix = names[item], ()
    elif isinstance(item, str) and item:
        name, prefix = trees.selector(item, what)
        if name not in names:
            raise SpecError(f"{what} names {item!r}, which is not an input; the inputs are {', '.join(names)}")
    else:
        raise SpecError(f"{what} names {item!r}, which is not an input; the inputs are {', '.join(names)}")
    picked = {(name, keys) for keys, _ in found[name] if trees.under(keys, prefix)}
    if not picked:
        shown = ", ".join(trees.path(name, keys) for keys, _ in found[name][:6])
        raise SpecError(f"{what} names {item!r}, which is not in input {name} (it holds {shown})")
    return picked


def _kind_of(leaves: list[tuple[trees.Keys, Any]]) -> str:
    """An input as its leaves show it: one value's kind, or a structure's."""
    if len(leaves) == 1 and leaves[0][0] == ():
        return _kind(leaves[0][1])
    return f"a structure of {len(leaves)} values"


def _kind(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype}"
    return f"a {type(value).__name__}"


def _whole(value: Any) -> bool:
    """An integer array: data by default (labels, indices), a variable when wrt names it."""
    return isinstance(value, np.ndarray) and value.dtype.kind in "iu" and value.size > 0


def _float_input(name: str, value: Any) -> np.ndarray:
    """A private copy of a differentiated input, in its own floating-point dtype (float64 for a Python number
    or an integer array that wrt chose)."""
    array = np.array(value, dtype=np.float64 if isinstance(value, float) or _whole(value) else None)
    if not np.all(np.isfinite(array)):
        raise SpecError(f"input {name} is not finite (NaN or inf)")
    return array


def fresh(value: Any) -> Any:
    """A copy the user's function may write to without harm; numpy scalars and Python numbers are immutable."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (dict, list, set, tuple)) or hasattr(value, "__dict__"):
        try:
            return copy.deepcopy(value)
        except Exception:  # noqa: BLE001 - any object that cannot be copied is passed as it is
            return value
    return value


def same(a: Any, b: Any) -> bool:
    """Equal values (arrays entry by entry, NaN equal to NaN), through tuples, lists and dicts."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        try:
            return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        except TypeError:
            return bool(np.array_equal(a, b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    try:
        return bool(a == b) or (_is_nan(a) and _is_nan(b))
    except Exception:  # noqa: BLE001 - objects without a usable ==: cannot tell, so no claim is made
        return True


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def written(args: list[Any], kwargs: dict[str, Any], originals: list[Any], names: tuple[str, ...]) -> list[str]:
    """The names of the arguments a call changed (its arguments were fresh copies of `originals`)."""
    given = list(args) if args else [kwargs[n] for n in names]
    return [n for n, now, before in zip(names, given, originals) if not same(now, before)]


def call(what: str, function: Callable, *args: Any, **kwargs: Any) -> Any:
    """The user's code, with any exception it raises reported as a FunctionError naming `what`: a
    sys.exit(), exit() or quit() too (it ended `gradcheck layer` with exit 0 and no output, a wrong
    backward included), and a bare BaseException. Only the time budget, Ctrl-C and SIGTERM pass."""
    with np.errstate(all="ignore"):
        try:
            return function(*args, **kwargs)
        except CheckTimeout:  # the time budget ran out while the user's code ran: not the user's error
            raise
        except STOPS:
            raise
        except SystemExit as exc:
            raise FunctionError(f"{what} called sys.exit({exc.code!r}){_where(exc)}: a function checked by "
                                "gradcheck must return its result, not end the program") from exc
        except BaseException as exc:  # the user's code: reported, not propagated raw
            raise FunctionError(f"{what} raised {type(exc).__name__}{_where(exc)}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    """The exception's message on one line: PyTorch's and JAX's run to several (a C++ trace, a hint), the first
    says what went wrong."""
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0].strip() + (" …" if len(lines) > 1 else "") if lines else ""


@functools.lru_cache(maxsize=1)
def _not_users() -> tuple[Path, ...]:
    """The folders whose files are not the user's: gradcheck's (all of it: gradcheck.torch's calls into torch too),
    Python's, the installed packages'. Found once:
    a function refusing the complex step raises at every entry (462 times for a small convolution), and
    sysconfig took 0.4 s of that."""
    import sysconfig  # deferred: only when the user's code raises

    paths = sysconfig.get_paths()
    return tuple([Path(__file__).resolve().parents[1]] + [Path(paths[k]).resolve() for k in ("stdlib", "purelib", "platlib")])


def _where(exc: BaseException) -> str:
    """' at layers.py:12': the innermost line of the user's own files the exception came through (not
    gradcheck's, numpy's or Python's), so that one line says where to look; '' if there is none."""
    found, tb = "", exc.__traceback__
    while tb is not None:
        if _users_file(tb.tb_frame.f_code.co_filename):
            found = f" at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


@functools.lru_cache(maxsize=USERS_FILES_KEPT)
def _users_file(filename: str) -> bool:
    """Whether `filename` is a file of the user's own (_not_users'), decided once per file: a function refusing
    the complex step raises at every entry it is differenced at, and resolving each traceback's paths anew
    took 11 of a small convolution check's 14 seconds."""
    path = Path(filename)
    if not path.is_file():
        return False
    resolved = path.resolve()
    return not any(root == resolved or root in resolved.parents for root in _not_users())
