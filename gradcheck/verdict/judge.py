"""Judging: one variable's columns compared by the agreement rule (agreement.py), its status, and
the sentences that say so; then the case's status and verdict from its variables'.

At a kink (an entry where f is not differentiable) any value between the left and right
derivatives is a subgradient: there each column is checked against that interval instead of
against the others, and the status is "kink" if nothing else disagrees.
"""

from __future__ import annotations

import math

from dataclasses import dataclass, replace
from itertools import combinations
from typing import Any, Mapping

import numpy as np

from ..base.columns import COLUMNS, Along, Kink, Measured, PoolShare, Probes
from ..base.status import Status
from ..oracles.numeric import NumericResult
from .agreement import (SAFETY, Allowance, PairError, Rule, compare_pair, conclusive, conclusive_share, index_text,
                        uncertainty)
from .result import GradientResult


@dataclass(frozen=True)
class Comparison:
    agree: bool
    max_abs_error: float | None
    max_rel_error: float | None
    verdict: str  # "symbolic = backprop = numeric" or "claimed disagrees with symbolic = backprop = numeric"
    pairs: tuple[PairError, ...] = ()
    odd: str | None = None  # the one column that disagrees with all the others (which agree), if any
    nothing: bool = False  # fewer than two columns could be compared: nothing was judged


def compare(columns: Mapping[str, Any], allowance: Allowance, skip: Any = None) -> Comparison:
    """Every pair of the columns that have a value (None marks a column without one), each column
    granted its own uncertainty (agreement.Allowance); `skip` marks entries not compared (kinks)."""
    present = {name: v for name, v in columns.items() if v is not None}
    if skip is not None and np.all(skip) and len(present) >= 2:  # every entry is a kink: judged there
        return Comparison(True, None, None, " = ".join(present))
    pairs = tuple(compare_pair(a, present[a], b, present[b], allowance, skip)
                  for a, b in combinations(present, 2))
    compared = [p for p in pairs if p.compared]
    # A column compared with nothing (numeric could not difference a single entry) says nothing.
    active = [n for n in present if any(n in (p.a, p.b) for p in compared)]
    if len(active) < 2:
        if len(present) >= 2:
            return Comparison(False, None, None, "no entry could be compared (numeric could not difference any: "
                                                 "see its note)", pairs, nothing=True)
        only = ", ".join(present) or "no oracle"
        return Comparison(False, None, None, f"only {only} could be computed: nothing to compare with", pairs,
                          nothing=True)
    agreeing = {(p.a, p.b) for p in compared if p.agree}
    # A column that is missing because its oracle could not run (symbolic too large) does not fail
    # the check; a claim that could not be evaluated does.
    agree = all(p.agree for p in compared) and columns.get("claimed", 0.0) is not None
    verdict, odd = _verdict(active, agreeing)
    relative = [p.max_rel_error for p in compared if not math.isnan(p.max_rel_error)]
    return Comparison(agree, max(p.max_abs_error for p in compared), max(relative) if relative else None,
                      verdict, pairs, odd)


def judge(variable: str, shape: tuple[int, ...], columns: Mapping[str, tuple[Any, str | None]],
          measured: NumericResult | None, allowance: Allowance, formula: str | None = None,
          tied: Along | None = None) -> GradientResult:
    """One variable's columns other than numeric, each (value or None, note), and the numeric oracle's
    `measured` result (its value or fast mode's probes, its method and the kinks it found), compared,
    each column granted its own uncertainty (agreement.Allowance). `tied` is f's slope with its kinked
    entries moved together, which every column must give too."""
    values = {name: v for name, (v, _) in columns.items()}
    notes = {name: note for name, (_, note) in columns.items() if note}
    rule = allowance.rule
    allowance = replace(allowance, rounding=np.broadcast_to(np.asarray(allowance.rounding, dtype=np.float64), shape),
                        own=dict(allowance.own))
    kinks: tuple[Kink, ...] = ()
    mode, method = "full", "central"
    if measured is not None:
        mode, method = ("full" if measured.probes is None else "fast"), measured.method
        if measured.note:
            notes["numeric"] = measured.note
        kinks, values["numeric"] = _smooth_kinks(measured.kinks, numeric_values(measured), rule)
    values = {name: values[name] for name in sorted(values, key=_column_order)}  # the table's order: verdicts read alike
    skip = np.zeros(shape, dtype=bool)
    for k in kinks:
        skip[k.index] = True
    outside = _outside_kinks(values, kinks, allowance) + _off_the_tie(values, tied, allowance)
    result = compare(values, allowance, skip if kinks else None)
    witnessed, vague = _witnesses(values, shape, kinks, allowance, skip)
    for name in vague:
        notes.setdefault(name, _vague_note(values[name], values.get("symbolic") is not None))
    column = values.get("numeric")
    error = column.error if isinstance(column, Measured) else None
    if isinstance(column, Measured):
        values["numeric"] = column.value
    verdict = result.verdict
    # nothing could be compared: nothing contradicts a claim and nothing confirms it (a claim that
    # does not compute is still wrong)
    unjudged = result.nothing and not outside and not ("claimed" in values and values["claimed"] is None)
    agree = (result.agree or unjudged) and not outside
    unconfirmed = unjudged or agree and values.get("claimed") is not None and not bool(np.all(witnessed))
    if "claimed" in values and values["claimed"] is None:
        verdict = f"claimed {notes['claimed']}"
    elif outside:
        verdict = "; ".join(outside)
    elif not result.agree:
        verdict += _worst(variable, result)
        if vague:
            verdict += f" ({' and '.join(vague)} too inaccurate here to tell)"
    elif unconfirmed and not unjudged:
        verdict = _unconfirmed_verdict(variable, shape, witnessed, vague)
    elif kinks:
        verdict = _kink_verdict(variable, shape, kinks)
    status = Status.MISMATCH if not agree else Status.INCONCLUSIVE if unconfirmed else Status.KINK if kinks else Status.PASS
    return GradientResult(variable, shape, values, result.max_abs_error, result.max_rel_error, status, verdict,
                          notes, formula, mode, list(result.pairs), numeric_error=error, numeric_method=method,
                          kinks=[(list(k.index), k.left, k.right) for k in kinks], odd=result.odd)


def _column_order(name: str) -> int:
    return COLUMNS.index(name) if name in COLUMNS else len(COLUMNS)


def numeric_values(result: NumericResult) -> Any:
    """The numeric column: the measured gradient with its error estimate, or fast mode's probes."""
    return result.probes if result.probes is not None else result.value


def _witnesses(values: Mapping[str, Any], shape: tuple[int, ...], kinks: tuple[Kink, ...], allowance: Allowance,
               skip: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Where some column (not the claim) can witness agreement (agreement.conclusive), and the columns
    that cannot everywhere they have a value. At a kink the witness is the interval of one-sided
    derivatives, where their own error is small beside them."""
    witnessed = np.zeros(shape, dtype=bool)
    vague = []
    allowance = replace(allowance, scale=max(_scale(values, kinks), allowance.scale))
    for name, v in values.items():
        if v is None or name == "claimed":
            continue
        mask = np.broadcast_to(conclusive(name, v, allowance), shape)
        witnessed |= mask & ~skip
        measured = np.isfinite(np.asarray(v.value if isinstance(v, Measured) else v, dtype=np.float64)) \
            if not isinstance(v, (Probes, PoolShare)) else np.ones(shape, dtype=bool)
        if np.any(measured & ~mask & ~skip):
            vague.append(name)
    for k in kinks:
        if not np.isnan(k.left):
            witnessed[k.index] = bool(SAFETY * k.error <= conclusive_share(allowance.rule) * allowance.scale)
    return witnessed, vague


def _scale(values: Mapping[str, Any], kinks: tuple[Kink, ...]) -> float:
    """The gradient's size: its largest entry by any oracle (not the claim), or a one-sided derivative."""
    sizes = [abs(k.left) for k in kinks] + [abs(k.right) for k in kinks]
    for name, v in values.items():
        if v is None or name == "claimed" or isinstance(v, (Probes, PoolShare)):
            continue
        entries = np.abs(np.asarray(v.value if isinstance(v, Measured) else v, dtype=np.float64))
        finite = entries[np.isfinite(entries)]
        if finite.size:
            sizes.append(float(np.max(finite)))
    return max((x for x in sizes if np.isfinite(x)), default=0.0)


def _vague_note(column: Any, exact: bool) -> str:
    """Why a column cannot witness agreement."""
    if isinstance(column, (Probes, PoolShare)):
        return "its error estimate is not small beside the derivatives it measured: it cannot confirm a claim"
    return ("too inaccurate here to confirm a claim: f cannot be evaluated accurately enough at this point"
            + ("; the symbolic column is exact" if exact else ""))


def _unconfirmed_verdict(variable: str, shape: tuple[int, ...], witnessed: np.ndarray, vague: list[str]) -> str:
    """Why a claim that nothing contradicts is not a pass."""
    where = "" if not shape else f" at {variable}{index_text(tuple(int(i) for i in np.argwhere(~witnessed)[0]))}"
    why = f" ({' and '.join(vague)} too inaccurate here)" if vague else ""
    return (f"inconclusive: no column is accurate enough{where} to confirm the claim{why}, and nothing "
            "contradicts it: check at another point, or give an atol for the size that does not matter")


def _smooth_kinks(kinks: tuple[Kink, ...], measured: Any, rule: Rule) -> tuple[tuple[Kink, ...], Any]:
    """The kinks where f is differentiable after all, taken out: a registry kink on the path need not
    make f kinked (relu(x)**2 and elu at 0, x*abs(x)); where the one-sided derivatives agree by the
    rule, the entry is measured as their midpoint, with their difference added to its error. That is
    decided from the one-sided derivatives and their own error alone: backprop's rounding there holds
    the jump of a branch that rounding flips, which would make every kink look removable."""
    if not isinstance(measured, Measured):
        return kinks, measured
    smooth = [k for k in kinks if not np.isnan(k.left)
              and abs(k.right - k.left) <= rule.allowed(k.left, k.right, k.error, 0.0)]
    if not smooth:
        return kinks, measured
    value, error = np.array(measured.value, dtype=np.float64), np.array(measured.error, dtype=np.float64)
    for k in smooth:
        value[k.index] = (k.left + k.right) / 2
        error[k.index] = k.error + abs(k.right - k.left) / 2
    if value.ndim == 0:
        value, error = np.float64(value), np.float64(error)
    return tuple(k for k in kinks if k not in smooth), Measured(value, error)


def _outside_kinks(values: dict[str, Any], kinks: tuple[Kink, ...], allowance: Allowance) -> list[str]:
    """A column whose value at a kink is not between the one-sided derivatives is wrong there. The
    interval is widened by the rule's allowance, with the one-sided differences' own error and the
    column's own uncertainty (agreement.uncertainty: a claim's is its own, never backprop's)."""
    problems = []
    for k in kinks:
        if np.isnan(k.left):
            continue  # a jump: there is no derivative to be between
        low, high = sorted((k.left, k.right))
        for name, v in values.items():
            if v is None or name == "numeric" or isinstance(v, (Measured, Probes)):
                continue
            u = float(np.asarray(uncertainty(name, v, allowance))[k.index])
            slack = float(allowance.rule.allowed(low, high, k.error, u))
            entry = float(np.asarray(v)[k.index])
            if not low - slack <= entry <= high + slack:
                where = index_text(k.index) if k.index else ""
                problems.append(f"{name} gives {entry:.6g} at a kink{f' (entry {where})' if where else ''}, "
                                f"outside the one-sided derivatives {k.left:.6g} (left) and {k.right:.6g} (right)")
    return problems


def _off_the_tie(values: dict[str, Any], tied: Along | None, allowance: Allowance) -> list[str]:
    """A column whose sum over the kinked entries is not f's slope with them moved together is wrong
    there, even where each entry lies between its one-sided derivatives (columns.Along)."""
    if tied is None:
        return []
    problems = []
    v = np.asarray(tied.direction, dtype=np.float64)
    for name, column in values.items():
        if column is None or name == "numeric" or isinstance(column, (Measured, Probes, PoolShare)):
            continue
        u = float(np.sum(v * np.asarray(uncertainty(name, column, allowance))))
        got = float(np.sum(v * np.asarray(column, dtype=np.float64)))
        if not abs(got - tied.value) <= float(allowance.rule.allowed(got, tied.value, u, tied.error)):
            problems.append(f"{name} gives {got:.6g} in all, summed over the kinked entries, where f's slope with "
                            f"them moved together is {tied.value:.6g} (a tie shares the gradient; it does not "
                            "give each tied entry the whole of it)")
    return problems


def _kink_verdict(variable: str, shape: tuple[int, ...], kinks: tuple[Kink, ...]) -> str:
    if not shape:
        k = kinks[0]
        if np.isnan(k.left):
            return f"kink: f jumps (is discontinuous) in {variable} here, so it has no derivative"
        return (f"kink: f is not differentiable in {variable} here; left derivative {k.left:.6g}, "
                f"right derivative {k.right:.6g}")
    where = ", ".join(f"{variable}{index_text(k.index)}" for k in kinks[:3])
    more = f" and {len(kinks) - 3} more" if len(kinks) > 3 else ""
    return f"kink: f is not differentiable in {where}{more}; the other entries agree"


def _worst(variable: str, result: Comparison) -> str:
    """'; worst at W2[1,2]: claimed 0.12, backprop 0.015' for the pair furthest apart."""
    bad = [p for p in result.pairs if p.compared and not p.agree]
    if not bad:
        return ""
    odd = result.odd
    pair = next((p for p in bad if odd in (p.a, p.b) and "backprop" in (p.a, p.b)), None) \
        or max(bad, key=lambda p: p.max_rel_error)
    if not pair.worst or pair.worst == "shape":
        return ""
    # "worst at W2[1,2]", or in fast mode "worst along random direction 5"
    where = f"at {variable}{pair.worst}" if pair.worst.startswith("[") else pair.worst
    a, b = pair.worst_values
    return f"; worst {where}: {pair.a} {a:.6g}, {pair.b} {b:.6g}"


def _verdict(names: list[str], agreeing: set[tuple[str, str]]) -> tuple[str, str | None]:
    """The sentence, and the odd column out if there is exactly one."""
    def same(a: str, b: str) -> bool:
        return (a, b) in agreeing or (b, a) in agreeing

    def all_same(group: list[str]) -> bool:
        return all(same(a, b) for a, b in combinations(group, 2))

    if all_same(names):
        return " = ".join(names), None
    if len(names) == 2 and "claimed" in names:
        other = next(n for n in names if n != "claimed")
        return f"claimed disagrees with {other}", "claimed"
    odd = [n for n in names if all_same([m for m in names if m != n])]
    if len(odd) == 1 and len(names) >= 3:
        rest = [m for m in names if m != odd[0]]
        return f"{odd[0]} disagrees with {' = '.join(rest)}", odd[0]
    # No single culprit: group the columns greedily, in column order, by agreement.
    groups: list[list[str]] = []
    for name in names:
        for group in groups:
            if all(same(name, m) for m in group):
                group.append(name)
                break
        else:
            groups.append([name])
    return " ≠ ".join(" = ".join(g) for g in groups), None


def case_status(gradients: Mapping[str, GradientResult]) -> Status:
    statuses = {g.status for g in gradients.values()}
    for status in (Status.MISMATCH, Status.INCONCLUSIVE, Status.KINK):
        if status in statuses:
            return status
    return Status.PASS


def case_verdict(gradients: Mapping[str, GradientResult], claimed: bool) -> str:
    bad = [g for g in gradients.values() if g.status != Status.PASS]
    if not bad:
        n = len(gradients)
        what = "partial derivative" if n == 1 else f"all {n} partial derivatives"
        if any(g.shape for g in gradients.values()):
            what = "gradient" if n == 1 else f"all {n} gradients"
        # a diagnosis is a sentence about the claim ("it agrees at the given point only by chance: ...")
        warnings = "".join(f"; but the claimed ∂f/∂{g.variable} {g.diagnosis.removeprefix('it ')}"
                           for g in gradients.values() if g.diagnosis)
        return f"{what} agree{'s' if n == 1 else ''}" + (", claims included" if claimed else "") + warnings
    return "; ".join(f"∂f/∂{g.variable}: {g.verdict}" for g in bad)


def unchecked_at_kink(block: GradientResult) -> None:
    """A Hessian block at a point on a kink in which no entry could be compared (every difference
    crossed the kink, SymPy's second derivative is not finite): not a mismatch, nothing was found
    wrong; a kink, like a first derivative there (relu(x)**3 at 0, where neither column has a value)."""
    if block.status in (Status.MISMATCH, Status.INCONCLUSIVE) and not any(p.compared for p in block.pairs):
        block.status = Status.KINK
        block.verdict = "not checked: the point is on a kink, where no difference avoids crossing it"


def hessian_verdict(verdict: str, hessian: Mapping[str, GradientResult]) -> str:
    """The case's verdict with the Hessian's (--order 2) appended."""
    if not hessian:
        return verdict
    bad = [g for g in hessian.values() if g.status == Status.MISMATCH] or [g for g in hessian.values() if g.status == Status.KINK]
    if bad:
        return verdict + "; Hessian: " + "; ".join(f"∂²f/∂{g.variable.replace(',', '∂')}: {g.verdict}" for g in bad)
    return verdict + f"; Hessian ({len(hessian)} block{'s' if len(hessian) != 1 else ''}) agrees"


__all__ = ["SAFETY", "Comparison", "compare", "judge", "case_status", "case_verdict", "hessian_verdict"]
