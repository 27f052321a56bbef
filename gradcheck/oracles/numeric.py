"""Finite differences: ∂f/∂x ≈ (f(x+h) - f(x-h)) / 2h, knowing nothing of f but its values.

Full mode differences every entry of every variable: two forward passes an entry. Above
FULL_MODE_MAX_ENTRIES entries that is too slow, and `auto` switches to fast mode, which checks
FAST_PROBES random unit directions v per variable (the directional derivative v·∇f, from
f(x+hv) and f(x-hv)) and FAST_PROBES randomly chosen single entries.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import DomainError

# The function being differenced: the point (every variable's value) -> f's value. Finite
# differences know nothing else of f, so the same code checks an expression and a user's numpy code.
Function = Callable[[Mapping[str, Any]], Any]

# Central differences err by O(h²) from truncation and O(eps/h) from rounding; h = cbrt(eps)
# balances the two (Numerical Recipes §5.7), about 6.1e-6, scaled by the variable's magnitude.
STEP_SCALE = float(np.finfo(np.float64).eps ** (1 / 3))
# Full mode costs 2 forward passes per entry; up to this many entries (all differentiated
# variables together) it takes well under a second on the nets in tests/.
FULL_MODE_MAX_ENTRIES = 1_000
# Fast mode: this many random directions, and this many random entries, per variable.
FAST_PROBES = 8
MODES = ("auto", "full", "fast")


@dataclass(frozen=True)
class Probes:
    """What fast mode measured for one variable."""

    directions: np.ndarray  # (k, *shape), each of unit norm
    directional: np.ndarray  # (k,): (f(x+hv) - f(x-hv)) / 2h for each direction v
    entries: tuple[tuple[int, ...], ...]  # the entries differenced one at a time
    entry_values: np.ndarray  # (len(entries),)


@dataclass(frozen=True)
class NumericResult:
    value: Any | None  # the whole gradient (full mode); None in fast mode or when undefined
    probes: Probes | None = None  # fast mode
    note: str | None = None  # why value is None, or what fast mode checked


def choose_mode(mode: str, point: Mapping[str, Any], names: list[str]) -> str:
    if mode != "auto":
        return mode
    entries = sum(int(np.size(point[name])) for name in names)
    return "full" if entries <= FULL_MODE_MAX_ENTRIES else "fast"


def numeric(f: Function, point: Mapping[str, Any], names: list[str], mode: str = "full",
            seed: int = 0) -> dict[str, NumericResult]:
    """∂f/∂name for every name, by differences of f alone. f raises DomainError where it is undefined."""
    method = full if mode == "full" else fast
    results = {}
    for name in names:
        try:
            results[name] = method(f, point, name, seed)
        except DomainError as exc:
            results[name] = NumericResult(None, note=f"a step leaves the domain: {exc.message}")
    return results


def full(f: Function, point: Mapping[str, Any], name: str, seed: int) -> NumericResult:
    x = np.asarray(point[name], dtype=np.float64)
    if x.ndim == 0:
        return NumericResult(np.float64(entry(f, point, name, x, ())))
    grad = np.empty(x.shape)
    for idx in np.ndindex(x.shape):
        grad[idx] = entry(f, point, name, x, idx)
    return NumericResult(grad)


def fast(f: Function, point: Mapping[str, Any], name: str, seed: int) -> NumericResult:
    x = np.asarray(point[name], dtype=np.float64)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode()), 0xFA57])
    directions = rng.standard_normal((FAST_PROBES, *x.shape))
    directions /= np.sqrt(np.sum(directions**2, axis=tuple(range(1, directions.ndim)), keepdims=True))
    h = STEP_SCALE * max(1.0, float(np.max(np.abs(x))) if x.size else 1.0)
    directional = np.array([(f({**point, name: x + h * v}) - f({**point, name: x - h * v})) / (2 * h)
                            for v in directions])
    flat = rng.choice(x.size, size=min(FAST_PROBES, x.size), replace=False)
    entries = tuple(tuple(int(i) for i in np.unravel_index(f, x.shape)) for f in flat)
    values = np.array([entry(f, point, name, x, idx) for idx in entries])
    note = (f"fast mode: {FAST_PROBES} random directions and {len(entries)} random entries checked "
            f"(full mode up to {FULL_MODE_MAX_ENTRIES:,} entries; --mode full forces it)")
    return NumericResult(None, Probes(directions, directional, entries, values), note)


def entry(f: Function, point: Mapping[str, Any], name: str, x: np.ndarray, idx: tuple[int, ...]) -> float:
    """∂f/∂x[idx] by a central difference with a step scaled to |x[idx]|."""
    xi = float(x[idx])
    h = STEP_SCALE * max(1.0, abs(xi))
    h = (xi + h) - xi  # make x ± h exactly representable so the divisor is the true step
    up, down = x.copy(), x.copy()
    up[idx], down[idx] = xi + h, xi - h
    if x.ndim == 0:
        up, down = np.float64(up), np.float64(down)
    return float((f({**point, name: up}) - f({**point, name: down})) / (2 * h))
