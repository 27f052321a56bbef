"""When two gradients agree, and which column is the odd one out when they do not."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Mapping

# |a - b| <= atol + rtol * max(|a|, |b|).
# rtol: central differences with h = cbrt(eps) are good to ~1e-10 relative on smooth functions of
# moderate scale, while a wrong derivation is off by a factor (1e-2 or more): 1e-5 sits between
# the two with room on both sides (every correct and wrong case in tests/ is checked against it).
DEFAULT_RTOL = 1e-5
# atol: for a true gradient of 0, finite differences leave rounding noise of about
# eps·|f|/h ≈ 4e-11·|f|; 1e-8 absorbs it for |f| up to ~100.
DEFAULT_ATOL = 1e-8

# Column order everywhere: table, JSON, verdicts.
COLUMNS = ("symbolic", "backprop", "numeric", "claimed")


@dataclass(frozen=True)
class Tolerance:
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL

    def agree(self, a: float, b: float) -> bool:
        return abs(a - b) <= self.atol + self.rtol * max(abs(a), abs(b))


@dataclass(frozen=True)
class Comparison:
    agree: bool
    max_abs_error: float | None
    max_rel_error: float | None
    verdict: str  # "symbolic = backprop = numeric" or "claimed disagrees with symbolic = backprop = numeric"


def compare(columns: Mapping[str, float | None], tol: Tolerance) -> Comparison:
    """Compare every pair of the columns that have a value."""
    present = {name: v for name, v in columns.items() if v is not None}
    missing = [name for name, v in columns.items() if v is None]
    if len(present) < 2:
        only = ", ".join(present) or "no oracle"
        return Comparison(False, None, None, f"only {only} could be computed: nothing to compare with")
    pairs = list(combinations(present, 2))
    abs_errors = [abs(present[a] - present[b]) for a, b in pairs]
    rel_errors = [_relative(present[a], present[b]) for a, b in pairs]
    agreeing = {(a, b) for a, b in pairs if tol.agree(present[a], present[b])}
    agree = len(agreeing) == len(pairs) and "claimed" not in missing
    verdict = _verdict(list(present), agreeing)
    if "claimed" in missing:
        verdict = f"claimed is undefined at this point; {verdict}"
    return Comparison(agree, max(abs_errors), max(rel_errors), verdict)


def _relative(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale > 0 else 0.0


def _verdict(names: list[str], agreeing: set[tuple[str, str]]) -> str:
    def same(a: str, b: str) -> bool:
        return (a, b) in agreeing or (b, a) in agreeing

    def all_same(group: list[str]) -> bool:
        return all(same(a, b) for a, b in combinations(group, 2))

    if all_same(names):
        return " = ".join(names)
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
