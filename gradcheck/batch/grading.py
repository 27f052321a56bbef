"""What `gradcheck check` sets for every case of a run, and the locked mode an autograder runs in.

Case files say how they are checked (rtol, atol, timeout, dtype, expect). That is right for your own
files, and wrong for a course's autograder or a CI job checking files written by others: `rtol = 1e300`
or `expect = "mismatch"` would make a wrong claim exit 0, `timeout = 0` turn the budget off. In a
locked run (`gradcheck check --locked`) a case file may only tighten: its rtol, atol and timeout are at
most the run's (the command line's, else the defaults), a timeout of 0 (none) and `dtype = "float32"`
(whose default rtol is 100 times looser) are refused, and so is `expect = "mismatch"`: the run decides
what passes. A case that asks for more is an input error naming the key (exit 2); the others run.

A budget for the whole run (`--run-timeout`) holds besides each case's: every case runs with at most
the time the run has left, and a case not started when it has run out ends as a timeout error.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..base.budget import DEFAULT_TIMEOUT
from ..base.errors import CheckTimeout, SpecError
from ..base.status import Status
from ..base.tolerance import DEFAULT_RTOL

if TYPE_CHECKING:  # cases.run asks this module about the run's budget
    from .cases import CaseSpec


@dataclass(frozen=True)
class RunOptions:
    """The command line's options for every case: None where it gives none."""

    strict: bool = False  # a kink fails every case
    timeout: float | None = None  # each case's budget (replaces a case's own, unless locked)
    rtol: float | None = None  # the tolerances of cases that set none (locked: the most a case may set)
    atol: float | None = None
    locked: bool = False
    run_timeout: float | None = None  # the whole run's budget


def apply(specs: list[CaseSpec], run: RunOptions) -> None:
    """Give every case the run's options; in a locked run, a case that loosens them becomes an error.
    The run's budget starts now."""
    deadline = None if not run.run_timeout else time.monotonic() + run.run_timeout
    for spec in specs:
        if spec.error is not None:
            continue
        problem = loosened(spec, run) if run.locked else None
        if problem is not None:
            spec.error = SpecError(f"{spec.file}:{spec.line}: case '{spec.name}': {problem}")
            continue
        options = spec.options
        if run.strict:
            options["strict"] = True
        for key in ("rtol", "atol"):
            if getattr(run, key) is not None and key not in options:
                options[key] = getattr(run, key)
        if run.timeout is not None and not (run.locked and "timeout" in options):
            options["timeout"] = run.timeout
        if deadline is not None:
            spec.deadline, spec.run_timeout = deadline, run.run_timeout


def loosened(spec: CaseSpec, run: RunOptions) -> str | None:
    """Why a case may not run as written in a locked run, or None when it only tightens."""
    options = spec.options
    why = "(--locked: a case file may only tighten what the run allows)"
    if spec.expect != Status.PASS:
        return f"key 'expect' is not allowed in a locked run {why}; the run decides what passes"
    if options.get("dtype", "float64") != "float64":
        return f"key 'dtype' = {options['dtype']!r} loosens the tolerance {why}"
    ceilings = {"rtol": DEFAULT_RTOL if run.rtol is None else run.rtol, "atol": 0.0 if run.atol is None else run.atol,
                "timeout": DEFAULT_TIMEOUT if run.timeout is None else run.timeout or math.inf}  # --timeout 0: none
    for key, ceiling in ceilings.items():
        if key not in options:
            continue
        value = options[key]
        if key == "timeout" and value == 0 and ceiling < math.inf:
            return f"key 'timeout' = 0 turns the time budget off {why}"
        if value > ceiling:
            return f"key '{key}' = {value:g} is above the run's {ceiling:g} {why}"
    return None


def run_out(spec: CaseSpec) -> str | None:
    """Why a case is not started: the run's budget has run out (None while time is left)."""
    if spec.deadline is None or time.monotonic() < spec.deadline:
        return None
    return f"not checked: the run's time budget of {spec.run_timeout:g} s (--run-timeout) ran out before this case"


def case_budget(spec: CaseSpec) -> float | None:
    """The case's own budget, cut to what the run has left (None: the case's as it is)."""
    if spec.deadline is None:
        return None
    own = spec.options.get("timeout")
    own = DEFAULT_TIMEOUT if own is None else own or None  # 0: none of its own
    left = max(spec.deadline - time.monotonic(), 1e-6)
    return left if own is None else min(own, left)


def timed_out_by_run(spec: CaseSpec, exc: Exception) -> str | None:
    """The message of a case ended by the run's budget rather than its own, or None."""
    if not isinstance(exc, CheckTimeout) or spec.deadline is None or time.monotonic() < spec.deadline:
        return None
    return (f"the run's time budget of {spec.run_timeout:g} s (--run-timeout) ran out while checking this case "
            f"({exc.message})")
