"""What the user's f and backward must return, and the promises a backward makes beyond its values.

- f's output: arrays (or a tuple of them) of real numbers; their dtype says the precision f computes in.
- The gradients: one per differentiated input, each with that input's shape and dtype.
- A vector-Jacobian product is linear in dout: 2·dout gives twice the gradient, a zero dout gives zero.
- Calling backward twice gives the same gradients (up to a nondeterminism tolerance, 0 by default).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..base.errors import DomainError, SpecError
from ..base.limits import MAX_ENTRIES
from ..inputs.calling import Inputs, is_differentiable
from ..ops.arrays import format_shape
from ..verdict.agreement import Rule

PRECISIONS = ("float16", "float32", "float64")


class NotFinite(DomainError):
    """f's output has NaN or inf (or a Python number too large for a float): at the point itself a wrong
    result, not bad input; at a step of the finite differences, a step out of f's domain."""


def read_output(value: Any, what: str, complex_ok: bool = False) -> tuple[np.ndarray, ...]:
    """f's output as a tuple of real arrays (a tuple of outputs stays a tuple; one array is a 1-tuple).
    complex_ok: under the complex step (complex inputs) complex outputs are what is expected."""
    parts = value if isinstance(value, tuple) else (value,)
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
    """The gradient per differentiated input as (array or None, why not); the raw arrays (for the
    diagnosis of a wrong shape); and the broken contracts (a dtype that is not the input's, a shape that
    differs from it by size-1 axes only: the values are then judged in the input's shape)."""
    parts = _by_name(value, inputs, what)
    claimed: dict[str, tuple[Any, str | None]] = {}
    raw: dict[str, Any] = {}
    problems: list[str] = []
    for name in inputs.wrt:
        part, x = parts[name], inputs.values[name]
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


def _by_name(value: Any, inputs: Inputs, what: str) -> dict[str, Any]:
    wrt = inputs.wrt
    if isinstance(value, Mapping):
        missing = [n for n in wrt if n not in value]
        if missing:
            raise SpecError(f"{what} returned a mapping without {', '.join(missing)}; it needs a gradient for "
                            f"each of {', '.join(wrt)}")
        return {n: value[n] for n in wrt}
    if isinstance(value, (tuple, list)) and not (len(wrt) == 1 and _is_one_array(value)):
        floats = [n for n in inputs.names if is_differentiable(inputs.values[n]) or n in wrt]
        for order in (list(wrt), floats, list(inputs.names)):
            if len(value) == len(order):
                return dict(zip(order, value))
        raise SpecError(f"{what} returned a {type(value).__name__} of {len(value)} gradients, but "
                        + f"{len(wrt)} input{'s are' if len(wrt) != 1 else ' is'} differentiated "
                        + f"({', '.join(wrt)}): return one gradient per differentiated input, in input order")
    if len(wrt) != 1:
        raise SpecError(f"{what} returned one {type(value).__name__}, but {len(wrt)} inputs are differentiated "
                        f"({', '.join(wrt)}): return a tuple of gradients in that order")
    return {wrt[0]: value}


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
