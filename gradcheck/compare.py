"""When two gradients agree, and which column is the odd one out when they do not.

A column is a scalar, an array (compared entry by entry), or, for the numeric oracle in fast mode,
Probes: directional derivatives along random directions and a few single entries, compared with
the same projections of the other column.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any, Iterable, Mapping

import numpy as np

from .tolerance import DEFAULT_ATOL, DEFAULT_RTOL, FLOAT32_ATOL, FLOAT32_RTOL, Tolerance  # noqa: F401

def case_scale(value: float, variables: Iterable, gradients: Iterable) -> float:
    """The size a gradient of this f is measured against: |f| per unit of its variables, or the
    largest gradient entry, whichever is larger."""
    largest_input = max((float(np.max(np.abs(v))) for v in variables if np.size(v)), default=0.0)
    largest_gradient = max((float(np.nanmax(np.abs(g))) for g in gradients if np.size(g)), default=0.0)
    return max(abs(float(value)) / max(1.0, largest_input), largest_gradient)


def tolerance(rtol: float | None, atol: float | None, scale: float, dtype: str = "float64") -> Tolerance:
    """The agreement rule of one case: a tolerance not given is the working precision's default,
    and the default atol is relative to the case's scale."""
    default_rtol, default_atol = (FLOAT32_RTOL, FLOAT32_ATOL) if dtype == "float32" else (DEFAULT_RTOL, DEFAULT_ATOL)
    return Tolerance(default_rtol if rtol is None else rtol, default_atol * scale if atol is None else atol)


# Column order everywhere: table, JSON, verdicts.
COLUMNS = ("symbolic", "backprop", "numeric", "claimed")

@dataclass(frozen=True)
class PairError:
    """How far apart two columns are."""

    a: str
    b: str
    agree: bool
    max_abs_error: float
    max_rel_error: float
    worst: str  # where they are furthest apart, relative to the tolerance: "[1,2]", "direction 3", ""
    worst_values: tuple[float, float]  # a's and b's value there


@dataclass(frozen=True)
class Comparison:
    agree: bool
    max_abs_error: float | None
    max_rel_error: float | None
    verdict: str  # "symbolic = backprop = numeric" or "claimed disagrees with symbolic = backprop = numeric"
    pairs: tuple[PairError, ...] = ()


def compare(columns: Mapping[str, Any], tol: Tolerance) -> Comparison:
    """Compare every pair of the columns that have a value (None marks a column without one)."""
    present = {name: v for name, v in columns.items() if v is not None}
    if len(present) < 2:
        only = ", ".join(present) or "no oracle"
        return Comparison(False, None, None, f"only {only} could be computed: nothing to compare with")
    pairs = tuple(compare_pair(a, present[a], b, present[b], tol) for a, b in combinations(present, 2))
    agreeing = {(p.a, p.b) for p in pairs if p.agree}
    # A column that is missing because its oracle could not run (symbolic too large) does not fail
    # the check; a claim that could not be evaluated does.
    agree = len(agreeing) == len(pairs) and columns.get("claimed", 0.0) is not None
    return Comparison(agree, max(p.max_abs_error for p in pairs), max(p.max_rel_error for p in pairs),
                      _verdict(list(present), agreeing), pairs)


# The numeric column carries an estimate of its own error: it agrees with another column within
# NUMERIC_SAFETY times that estimate (or by the fixed rule, whichever allows more). The estimate is
# itself an estimate (of truncation and rounding); a factor 10 covers its usual slack.
NUMERIC_SAFETY = 10.0


def compare_pair(a_name: str, a: Any, b_name: str, b: Any, tol: Tolerance) -> PairError:
    from .oracles.numeric import Measured, Probes

    if isinstance(a, (Probes, Measured)):
        return _swap(compare_pair(b_name, b, a_name, a, tol))
    if isinstance(b, Probes):
        return _against_probes(a_name, np.asarray(a, dtype=np.float64), b_name, b, tol)
    error = None
    if isinstance(b, Measured):
        b, error = b.value, b.error
    x, y = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    if error is not None:
        error = np.broadcast_to(np.asarray(error, dtype=np.float64), x.shape)
    return _entrywise(a_name, x, b_name, y, tol, scale=None, labels=None, error=error)


def _against_probes(a_name: str, a: np.ndarray, b_name: str, probes, tol: Tolerance) -> PairError:
    """a's projections on the random directions and a's sampled entries, against what fast mode measured.

    A projection sums many terms; its rounding scales with Σ|a·v|, not with the (possibly cancelled)
    sum, so that is the scale its tolerance is relative to.
    """
    axes = tuple(range(1, probes.directions.ndim))
    projected = np.sum(a * probes.directions, axis=axes)
    scale = np.sum(np.abs(a * probes.directions), axis=axes)
    picked = np.array([a[idx] for idx in probes.entries])
    mine = np.concatenate([projected, picked])
    theirs = np.concatenate([probes.directional, probes.entry_values])
    scales = np.concatenate([scale, np.abs(picked)])
    errors = np.concatenate([probes.directional_error, probes.entry_errors])
    labels = [f"along random direction {i + 1}" for i in range(len(projected))] + \
             [_index(idx) for idx in probes.entries]
    if not len(mine):
        return PairError(a_name, b_name, True, 0.0, 0.0, "", (0.0, 0.0))
    return _entrywise(a_name, mine, b_name, theirs, tol, scale=scales, labels=labels, error=errors)


def _entrywise(a_name, x: np.ndarray, b_name, y: np.ndarray, tol: Tolerance, scale, labels,
               error: np.ndarray | None = None) -> PairError:
    """Entry by entry. NaN entries (numeric could not difference them: kinks) are left out."""
    counted = ~(np.isnan(x) | np.isnan(y))
    if not np.any(counted):
        return PairError(a_name, b_name, True, 0.0, 0.0, "", (float("nan"), float("nan")))
    size = np.maximum(np.abs(x), np.abs(y))
    if scale is not None:
        size = np.maximum(size, scale)
    with np.errstate(all="ignore"):
        safe = np.where(size > 0, size, 1.0)
        diff = np.abs(x - y)  # inf for huge values of opposite sign: the relative error is then
        rel = np.where(np.isfinite(diff), diff / safe, np.abs(x / safe - y / safe))  # taken scaled
        allowed = tol.atol + tol.rtol * size
        if error is not None:
            allowed = np.maximum(allowed, NUMERIC_SAFETY * error)
        excess = diff / np.maximum(allowed, np.finfo(np.float64).tiny)
    diff, rel, excess = (np.where(counted, v, 0.0) for v in (diff, rel, excess))
    worst = np.unravel_index(int(np.argmax(excess)), x.shape) if x.ndim else ()
    where = labels[int(worst[0])] if labels is not None else (_index(worst) if x.ndim else "")
    agree = bool(np.all((diff <= allowed) | ~counted))
    return PairError(a_name, b_name, agree, float(np.max(diff)), float(np.max(rel)), where,
                     (float(x[worst]), float(y[worst])))


def _swap(p: PairError) -> PairError:
    return PairError(p.b, p.a, p.agree, p.max_abs_error, p.max_rel_error, p.worst,
                     (p.worst_values[1], p.worst_values[0]))


def _index(idx: tuple[int, ...]) -> str:
    return "[" + ",".join(str(i) for i in idx) + "]"


def _verdict(names: list[str], agreeing: set[tuple[str, str]]) -> str:
    def same(a: str, b: str) -> bool:
        return (a, b) in agreeing or (b, a) in agreeing

    def all_same(group: list[str]) -> bool:
        return all(same(a, b) for a, b in combinations(group, 2))

    if all_same(names):
        return " = ".join(names)
    if len(names) == 2 and "claimed" in names:
        return f"claimed disagrees with {next(n for n in names if n != 'claimed')}"
    odd = [n for n in names if all_same([m for m in names if m != n])]
    if len(odd) == 1 and len(names) >= 3:
        rest = [m for m in names if m != odd[0]]
        return f"{odd[0]} disagrees with {' = '.join(rest)}"
    # No single culprit: group the columns greedily, in column order, by agreement.
    groups: list[list[str]] = []
    for name in names:
        for group in groups:
            if all(same(name, m) for m in group):
                group.append(name)
                break
        else:
            groups.append([name])
    return " ≠ ".join(" = ".join(g) for g in groups)
