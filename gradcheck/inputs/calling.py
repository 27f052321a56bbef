"""How the user's functions are called: inputs by position or by name, which of them are differentiated,
and fresh copies for every call (so the caller's arrays are never touched, and writes can be detected).

Shared by check_function, check_vjp and check_layer. Only floating-point arrays are differentiated by
default; everything else (integer labels and indices, boolean masks, Python numbers, dicts such as
CS231n's conv_param) is data: passed through as given, never cast.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..base.errors import STOPS, CheckTimeout, FunctionError, SpecError


@dataclass(frozen=True)
class Inputs:
    """The inputs of f, by name, in f's order."""

    names: tuple[str, ...]
    values: dict[str, Any]  # private copies: differentiated ones are arrays (0-d for scalars)
    wrt: tuple[str, ...]  # the differentiated names, in input order
    convention: str  # "single" f(x), "positional" f(*xs) or "keywords" f(**xs)

    def arguments(self, point: Mapping[str, Any] | None = None) -> tuple[list[Any], dict[str, Any]]:
        """Fresh copies of every input (moved ones from `point`), as f's args and kwargs."""
        values = [fresh((point or {}).get(n, self.values[n])) for n in self.names]
        if self.convention == "keywords":
            return [], dict(zip(self.names, values))
        return values, {}


def is_differentiable(value: Any) -> bool:
    """A floating-point numpy array or numpy floating scalar: what is differentiated unless wrt says otherwise."""
    return (isinstance(value, np.ndarray) and value.dtype.kind == "f") or isinstance(value, np.floating)


def prepare(f: Callable, inputs: Any, wrt: Any = None) -> Inputs:
    """inputs: one value, a sequence (f(*inputs)) or a mapping of names (f(**inputs)); wrt: a name, an index,
    or a list of them (default: every floating-point array)."""
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
    chosen = _choose(names, values, wrt)
    kept = {}
    for name, value in zip(names, values):
        if name in chosen:
            kept[name] = _float_input(name, value)
        else:
            kept[name] = value
    return Inputs(tuple(names), kept, tuple(n for n in names if n in chosen), convention)


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


def _choose(names: list[str], values: list[Any], wrt: Any) -> set[str]:
    if wrt is None:
        chosen = {n for n, v in zip(names, values) if is_differentiable(v)}
        if not chosen:
            kinds = ", ".join(f"{n} is {_kind(v)}" for n, v in zip(names, values))
            raise SpecError(f"inputs: nothing to differentiate, no input is an array of floating-point numbers "
                            f"({kinds}); integer and boolean arrays are data (labels, indices, masks): give the "
                            "input to differentiate as floats ([1.0, 2, 3], randn(3), a float64 array), or name a "
                            "number input with wrt")
        return chosen
    items = wrt.split(",") if isinstance(wrt, str) else [wrt] if isinstance(wrt, int) else wrt
    if not isinstance(items, (list, tuple)) or not items:
        raise SpecError(f"wrt takes a name, an index or a list of them, got {wrt!r}")
    chosen = set()
    for item in items:
        if isinstance(item, str) and item.strip() in names:
            name = item.strip()
        elif isinstance(item, int) and not isinstance(item, bool) and -len(names) <= item < len(names):
            name = names[item]
        else:
            raise SpecError(f"wrt names {item!r}, which is not an input; the inputs are {', '.join(names)}")
        value = values[names.index(name)]
        if not (is_differentiable(value) or isinstance(value, float)):
            raise SpecError(f"wrt names {name}, which is {_kind(value)}: only floating-point values can be "
                            "differentiated (integers and booleans are data: labels, indices, masks)")
        chosen.add(name)
    return chosen


def _kind(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype}"
    return f"a {type(value).__name__}"


def _float_input(name: str, value: Any) -> np.ndarray:
    """A private copy of a differentiated input, in its own floating-point dtype."""
    array = np.array(value, dtype=np.float64 if isinstance(value, float) else None)
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
            raise FunctionError(f"{what} raised {type(exc).__name__}{_where(exc)}: {exc}") from exc


def _where(exc: BaseException) -> str:
    """' at layers.py:12': the innermost line of the user's own files the exception came through (not
    gradcheck's, numpy's or Python's), so that one line says where to look; '' if there is none."""
    import sysconfig

    skipped = [Path(__file__).resolve().parent] + [Path(p).resolve() for p in {sysconfig.get_paths()["stdlib"],
                                                                            sysconfig.get_paths()["purelib"],
                                                                            sysconfig.get_paths()["platlib"]}]
    found, tb = "", exc.__traceback__
    while tb is not None:
        path = Path(tb.tb_frame.f_code.co_filename)
        if path.is_file() and not any(root == path.resolve() or root in path.resolve().parents for root in skipped):
            found = f" at {path.name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found
