"""A slow black box checked within its time budget: the first calls of f are timed, and the numeric
column is planned to fit what is left of the budget instead of being cut off by it.

Each step down checks less and says so: fast mode instead of full (auto mode only), central
differences instead of the checked complex step (auto method only), then fewer random directions and
random entries per array (8, 4, 2, 1 of each; CS231n's notebooks check 10 random entries of a
gradient). A right function is refused as too slow only when even one direction and one entry per
array do not fit. Times are read through budget.clock, so tests plan with the test clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..base.limits import FAST_PROBES
from ..oracles.numeric import CHECKED_COMPLEX

# Calls of f per derivative along one line, as measured on a smooth f (tests/checks/test_planning.py
# counts them): central differences evaluate x ± h and x ± 2h (the second pair estimates the error),
# now and then a smaller step near a suspected kink; the checked complex step adds one complex call.
CALLS_PER_LINE = {CHECKED_COMPLEX: 5.5, "central": 4.5, "complex": 2.0, "richardson": 9.0}
# The share of what is left of the budget that the differences may plan for: the rest is for the
# backward's calls (three douts, linearity, determinism) and, for a wrong claim, its diagnosis.
SHARE = 0.5
# The numbers of random directions (and as many random entries) per array fast mode is cut down through.
PROBE_STEPS = (FAST_PROBES, 4, 2, 1)


@dataclass(frozen=True)
class Plan:
    mode: str  # "full" or "fast"
    method: str
    probes: int  # fast mode's random directions, and random entries, per array
    note: str | None = None  # what was cut, and why, for the case's notes

    @property
    def reduced(self) -> bool:
        return self.probes < FAST_PROBES


def plan(seconds_per_call: float, remaining: float | None, sizes: Sequence[int], mode: str, method: str,
         asked_mode: str, asked_method: str) -> Plan:
    """The largest check that fits SHARE of the remaining budget, given f's time per call. `mode` and
    `method` are what the check would use; `asked_*` what the user asked for (only "auto" is changed)."""
    usual = Plan(mode, method, FAST_PROBES)
    if remaining is None or seconds_per_call <= 0:
        return usual
    allowed = SHARE * max(remaining, 0.0)

    def cost(p: Plan) -> float:
        lines = sum(n if p.mode == "full" or n <= 2 * p.probes else 2 * p.probes for n in sizes)
        return lines * CALLS_PER_LINE.get(p.method, CALLS_PER_LINE["richardson"]) * seconds_per_call

    candidates = [usual]
    if mode == "full" and asked_mode == "auto":
        candidates.append(Plan("fast", method, FAST_PROBES))
    if candidates[-1].mode == "fast":
        methods = [method] + (["central"] if asked_method == "auto" and method == CHECKED_COMPLEX else [])
        candidates += [Plan("fast", m, k) for m in methods for k in PROBE_STEPS]
    chosen = next((p for p in candidates if cost(p) <= allowed), candidates[-1])
    if chosen == usual:
        return usual
    cut = []
    if chosen.mode != mode:
        cut.append("fast mode instead of full")
    if chosen.method != method:
        cut.append("central differences instead of the checked complex step")
    if chosen.probes < FAST_PROBES:
        cut.append(f"{chosen.probes} random direction{'s' if chosen.probes > 1 else ''} and {chosen.probes} random "
                   f"entr{'ies' if chosen.probes > 1 else 'y'} per array instead of {FAST_PROBES} of each")
    fits = "to fit" if cost(chosen) <= allowed else "as close as it can come to"
    note = (f"planned {fits} the time budget ({remaining:.3g} s left): f takes {seconds_per_call:.3g} s a call, "
            f"so {', '.join(cut)}; a longer --timeout (timeout=) checks more")
    return Plan(chosen.mode, chosen.method, chosen.probes, note)


def affordable(lines: int, seconds_per_call: float, remaining: float | None, method: str) -> bool:
    """Whether differencing `lines` more lines (a diagnosis's full pass) fits SHARE of the remaining budget."""
    if remaining is None:
        return True
    return lines * CALLS_PER_LINE.get(method, CALLS_PER_LINE["richardson"]) * seconds_per_call <= SHARE * remaining
