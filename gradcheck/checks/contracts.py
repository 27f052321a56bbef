"""What the user's f and backward must return, and the promises a backward makes beyond its values.

- f's output: arrays (or a tuple of them) of real numbers; their dtype says the precision f computes in.
- The gradients: one per differentiated input, each with that input's shape and dtype.
- A vector-Jacobian product is linear in dout: 2·dout gives twice the gradient, a zero dout gives zero.
- Calling backward twice gives the same gradients (up to a nondeterminism tolerance, 0 by default).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..base.errors import DomainError, SpecError
from ..base.limits import MAX_ENTRIES
from ..inputs.calling import Inputs, is_differentiable
from ..inputs.trees import converted, from_framework, is_tree, leaves, path
from ..ops.arrays import format_shape
from ..verdict.agreement import Rule

PRECISIONS = ("float16", "float32", "float64")


class NotFinite(DomainError):
    """f's output has NaN or inf (or a Python number too large for a float): at the point itself a wrong
    result, not bad input; at a step of the finite differences, a step out of f's domain."""


def read_output(value: Any, what: str, complex_ok: bool = False) -> tuple[np.ndarray, ...]:
    """f's output as a tuple of real arrays (a tuple of outputs stays a tuple; one array is a 1-tuple).
    complex_ok: under the complex step (complex inputs) complex outputs are what is expected."""
    parts = tuple(from_framework(v) for v in value) if isinstance(value, tuple) else (from_framework(value),)
    if not parts:
        raise SpecError(f"{what} returned an empty tuple; it must return an array of numbers")
    out = []
    for i, part in enumerate(parts):
        where = f"{what}'s output {i + 1}" if len(parts) > 1 else f"{what}'s output"
        if part is None:
            raise SpecError(f"{what} returned None{f' as output {i + 1}' if len(parts) > 1 else ''}; "
                            "it must return an array of numbers (did it forget a return?)")
        try:
            array = np.asarray(part)
        except (TypeError, ValueError, OverflowError):
            raise SpecError(f"{where} is a {type(part).__name__}, not an array of numbers") from None
        if array.dtype.kind == "c" and not complex_ok:
            raise SpecError(f"{where} is complex ({array.dtype}); gradcheck checks real functions: "
                            "return the real loss (or check the real and imaginary parts as two functions)")
        if array.dtype == object:
            try:
                array = array.astype(np.float64)
            except OverflowError:
                raise NotFinite(f"{where} holds a number too large for a float") from None
            except (TypeError, ValueError):
                raise SpecError(f"{where} is not an array of numbers ({type(part).__name__})") from None
        if array.dtype.kind not in "fiuc":
            raise SpecError(f"{where} is not an array of numbers (dtype {array.dtype})")
        out.append(array)
    entries = sum(int(a.size) for a in out)
    if entries > MAX_ENTRIES:  # each dout, and every evaluation kept by the differences, would be as large
        raise SpecError(f"{what}'s output has {entries:,} entries; the limit is {MAX_ENTRIES:,} (check the layer "
                        "on a smaller batch)")
    for i, array in enumerate(out):
        if not np.all(np.isfinite(array)):
            raise NotFinite(f"{what}'s output {i + 1} is not finite here (NaN or inf)" if len(out) > 1
                            else f"{what}'s output is not finite here (NaN or inf)")
    return tuple(out)


def precision(outputs: Sequence[np.ndarray]) -> str:
    """The dtype f computes in, as its outputs show it: the widest floating type among them (integers: float64)."""
    floats = [o.dtype for o in outputs if o.dtype.kind == "f"]
    if not floats:
        return "float64"
    widest = np.result_type(*floats)
    return widest.name if widest.name in PRECISIONS else "float64"


def read_gradients(value: Any, inputs: Inputs, what: str) -> tuple[dict[str, tuple[Any, str | None]],
                                                                     dict[str, Any], list[str]]:
    """The gradient per differentiated value (by path) as (array or None, why not); the raw arrays (for the
    diagnosis of a wrong shape); and the broken contracts (a dtype that is not the input's, a shape that
    differs from it by size-1 axes only: the values are then judged in the input's shape)."""
    parts = _by_path(converted(value), inputs, what)
    claimed: dict[str, tuple[Any, str | None]] = {}
    raw: dict[str, Any] = {}
    problems: list[str] = []
    for name in inputs.wrt:
        part, x = parts[name], inputs.leaf(name)
        if isinstance(part, Missing):
            claimed[name] = (None, part.why)
            continue
        if part is None:
            claimed[name] = (None, "is None")
            continue
        try:
            g = np.asarray(part)
        except (TypeError, ValueError, OverflowError):
            claimed[name] = (None, f"is not an array of numbers ({type(part).__name__})")
            continue
        if g.dtype.kind == "c":
            claimed[name] = (None, f"is complex ({g.dtype}), but the gradient of a real f is real")
            continue
        try:
            g64 = g.astype(np.float64)
        except (TypeError, ValueError, OverflowError):
            claimed[name] = (None, f"is not an array of numbers ({type(part).__name__})")
            continue
        raw[name] = g64
        if g.shape != np.shape(x) and squeezed(g.shape) == squeezed(np.shape(x)):
            # the same entries in the same order (keepdims=True in a bias's or batch norm's dgamma): judged as
            # values, and the shape reported as a broken contract rather than taken for a summing mistake
            problems.append(f"{what}'s gradient for {name} has shape {format_shape(g.shape)}, but {name} has shape "
                            f"{format_shape(np.shape(x))}: the same entries with size-1 axes "
                            f"{'added' if g.ndim > np.ndim(x) else 'dropped' if g.ndim < np.ndim(x) else 'moved'} "
                            f"(keepdims=True, or a reshape missing); `{name} -= lr * d{name}` fails on it or changes "
                            f"{name}'s shape")
            g, g64 = g.reshape(np.shape(x)), g64.reshape(np.shape(x))
        if g.shape != np.shape(x):
            claimed[name] = (None, (f"has shape {format_shape(g.shape)}, but ∂f/∂{name} has shape "
                                   f"{format_shape(np.shape(x))}"))
        elif not np.all(np.isfinite(g64)):
            claimed[name] = (None, "is not finite (NaN or inf)")
        else:
            claimed[name] = (g64, None)
            if is_differentiable(x) and isinstance(part, (np.ndarray, np.generic)) and g.dtype != x.dtype:
                problems.append(f"{what}'s gradient for {name} is {g.dtype}, but {name} is {x.dtype} "
                                "(a gradient has its input's shape and dtype)")
    return claimed, raw, problems


def squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape without its size-1 axes: two shapes equal so hold the same entries in the same order."""
    return tuple(n for n in shape if n != 1)


@dataclass(frozen=True)
class Missing:
    """No gradient where one of a structured input's values needs one: a claim that does not compute."""

    why: str


def gradient_key(mapping: Mapping, name: Any) -> Any:
    """The key of a returned dict that holds the gradient of `name`: name itself, or dname, d_name, grad_name
    (CS231n's {"dx": ..., "dw": ...}); None if there is none."""
    candidates = [name] + ([f"d{name}", f"d_{name}", f"grad_{name}"] if isinstance(name, str) else [])
    return next((k for k in candidates if k in mapping), None)


def _by_path(value: Any, inputs: Inputs, what: str) -> dict[str, Any]:
    """The part of the answer for each differentiated value, by path (a Missing where a structure lacks one)."""
    tops = _by_input(value, inputs, what)
    return {p: _descend(tops[name], keys, name, what) for p, (name, keys) in inputs.places.items()}


def _descend(part: Any, keys: tuple, name: str, what: str) -> Any:
    """Down a returned structure along one value's keys, as its input holds it."""
    at = name
    for k in keys:
        if isinstance(part, Mapping):
            key = gradient_key(part, k)
            if key is None:
                held = ", ".join(repr(h) for h in list(part)[:8])
                return Missing(f"is missing: {what}'s gradients for {at} have no key {k!r} (they have {held or 'none'})")
            part = part[key]
        elif isinstance(part, (list, tuple)) and isinstance(k, int) and -len(part) <= k < len(part):
            part = part[k]
        else:
            return Missing(f"is missing: {what}'s gradient for {at} is {_shape_of(part)}, where {at} holds "
                           f"{'a dict' if isinstance(k, str) else 'a sequence'}")
        at = path(at, (k,))
    return part


def _shape_of(part: Any) -> str:
    if isinstance(part, (list, tuple)):
        return f"a {type(part).__name__} of {len(part)}"
    return f"a {type(part).__name__}"


def _by_input(value: Any, inputs: Inputs, what: str) -> dict[str, Any]:
    """The part of the answer for each input that holds a differentiated value: by name (a dict keyed x or dx),
    by position (a tuple in input order), or the whole answer for the one such input."""
    holders, wrt = inputs.holders, inputs.wrt
    if isinstance(value, Mapping):
        keys = {n: gradient_key(value, n) for n in holders}
        if all(k is not None for k in keys.values()):
            return {n: value[k] for n, k in keys.items()}
        mirrored = [n for n in holders if _keyed_like(value, inputs.values[n])]
        if len(holders) == 1 and isinstance(inputs.values[holders[0]], Mapping):
            return {holders[0]: value}  # grads keyed like the one dict of parameters (CS231n's models)
        if len(mirrored) == 1:  # the gradients of one dict of parameters, and other inputs taken for variables
            rest = tuple(n for n in holders if n != mirrored[0])
            raise SpecError(f"{what} returned the gradients of {mirrored[0]} (a dict keyed like it), but "
                            f"{', '.join(rest)} {'is' if len(rest) == 1 else 'are'} differentiated too: if "
                            f"{'it is' if len(rest) == 1 else 'they are'} data, say so with data={_listed(rest)} "
                            f"(--data {','.join(rest)}), or choose the variables with wrt={mirrored[0]!r}")
        missing = [n for n, k in keys.items() if k is None]
        raise SpecError(f"{what} returned a mapping without {', '.join(missing)}; it needs a gradient for "
                        f"each of {', '.join(holders)} (keyed by name, as x or dx)")
    if isinstance(value, (tuple, list)) and not (len(wrt) == 1 and _is_one_array(value)):
        if len(holders) == 1 and _mirrors(value, inputs.values[holders[0]]):
            return {holders[0]: value}  # the gradients of one list of weights, as a list
        floats = [n for n in inputs.names if n in holders or _holds_floats(inputs.values[n])]
        for order in (list(holders), floats, list(inputs.names)):
            if len(value) == len(order):
                return dict(zip(order, value))
        raise SpecError(_count_message(what, f"a {type(value).__name__} of {len(value)} gradients", len(value),
                                       holders))
    if len(holders) != 1:
        raise SpecError(_count_message(what, f"one {type(value).__name__}", 1, holders))
    return {holders[0]: value}


def _count_message(what: str, returned: str, count: int, holders: tuple[str, ...]) -> str:
    """Too few or too many gradients; too few most often means an input that is data (a dropout mask, X of a
    loss) was differentiated as a floating-point array: name the inputs wrt= or data= would take."""
    message = (f"{what} returned {returned}, but {len(holders)} input{'s are' if len(holders) != 1 else ' is'} "
               f"differentiated ({', '.join(holders)})")
    if 0 < count < len(holders):
        kept, rest = holders[:count], holders[count:]
        return (message + f": if {', '.join(rest)} {'is' if len(rest) == 1 else 'are'} data, say so with "
                f"data={_listed(rest)} (--data {','.join(rest)}), or choose the variables with wrt={_listed(kept)} "
                f"(--wrt {','.join(kept)}); else return one gradient per differentiated input, in input order")
    return message + ": return one gradient per differentiated input, in input order"


def _listed(names: tuple[str, ...]) -> str:
    return repr(names[0]) if len(names) == 1 else repr(list(names))


def _keyed_like(value: Mapping, given: Any) -> bool:
    """The returned dict holds a gradient for every key of a dict input that holds a floating-point array."""
    if not isinstance(given, Mapping):
        return False
    keys = [k for k, v in given.items() if _holds_floats(v)]
    return bool(keys) and all(gradient_key(value, k) is not None for k in keys)


def _mirrors(value: Any, given: Any) -> bool:
    """The answer has the structure of the input: a list of gradients for a list of weights."""
    return isinstance(given, (list, tuple)) and is_tree(given) and len(value) == len(given)


def _holds_floats(value: Any) -> bool:
    return any(is_differentiable(v) for _, v in leaves(value, "an input"))


def _is_one_array(value: Any) -> bool:
    """A list of numbers (one gradient written as a list) rather than a list of gradients."""
    return isinstance(value, list) and all(isinstance(v, (int, float)) for v in value)


def linearity(vjp: Callable[[Any], dict], dout: Any, claimed: dict[str, Any], rule: Rule) -> list[str]:
    """A vector-Jacobian product is linear in dout: 2·dout gives twice the gradient, 0 gives 0. Scaling by 2
    is exact in floating point, so a linear backward agrees to its rounding (agreement.Rule)."""
    problems = []
    doubled = vjp(_scaled(dout, 2.0))
    zero = vjp(_scaled(dout, 0.0))
    for name, g in claimed.items():
        if g is None:
            continue
        rounding = rule.rounding(float(np.max(np.abs(g))) if np.size(g) else 0.0)
        twice, none = doubled.get(name, (None, None))[0], zero.get(name, (None, None))[0]
        if twice is not None and not np.all(np.abs(twice - 2 * g) <= rule.allowed(twice, 2 * g, rounding, rounding)):
            problems.append(f"backward is not linear in dout: for {name}, 2·dout does not give twice the gradient")
        if none is not None and not np.all(np.abs(none) <= rule.allowed(none, 0.0, rounding, rounding)):
            problems.append(f"backward is not linear in dout: for {name}, dout = 0 gives a gradient that is not 0 "
                            f"(largest entry {float(np.max(np.abs(none))):.3g}): a term that does not depend on "
                            "dout, such as a regularization gradient, belongs to the loss's backward")
    return problems


def same_outputs(first: tuple, second: tuple, what: str, tolerance: float) -> None:
    """f called twice at the same inputs gives the same outputs (within `tolerance`, relative); else
    its gradient cannot be checked at all: every difference would measure its randomness (a dropout
    mask drawn at each call read as kinks of slope 1e6, and the backward blamed for it)."""
    for k, (a, b) in enumerate(zip(first, second)):
        difference = float(np.max(np.abs(b - a))) if np.size(a) else 0.0
        if not difference <= tolerance * (float(np.max(np.abs(a))) if np.size(a) else 0.0):
            which = f"output {k + 1} " if len(first) > 1 else ""
            raise SpecError(f"{what} is not deterministic: two calls with the same inputs gave {which}values "
                            f"{difference:.3g} apart, so no difference of it measures a derivative; fix its "
                            "randomness (a seed, or the mask passed in as an input, as CS231n's dropout_param['seed'])")


def determinism(again: dict[str, tuple[Any, str | None]], claimed: dict[str, Any], tolerance: float) -> list[str]:
    """The same call twice gives the same gradients (within `tolerance`, relative to the largest entry)."""
    problems = []
    for name, g in claimed.items():
        second = again.get(name, (None, None))[0]
        if g is None or second is None:
            continue
        allowed = tolerance * (float(np.max(np.abs(g))) if np.size(g) else 0.0)
        if not np.all(np.abs(second - g) <= allowed):
            problems.append(f"backward is not deterministic: a second call gave a different gradient for {name} "
                            f"(largest difference {float(np.max(np.abs(second - g))):.3g}; the nondeterminism "
                            f"option allows {tolerance:g} relative)")
    return problems


def _scaled(dout: Any, factor: float) -> Any:
    if isinstance(dout, tuple):
        return tuple(d * factor for d in dout)
    return dout * factor
