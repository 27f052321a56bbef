"""A time budget for one check, so that no input can hang a run (CI has a clock too).

Two mechanisms, one deadline:
- cooperative: the long loops (each evaluation of f in the numeric oracle, each SymPy derivative,
  each Hessian entry, each diagnosis point) call checkpoint(), which raises CheckTimeout once the
  deadline has passed. This works in any thread, touches no signal and no timer.
- a backstop for one long call that has no loop of ours inside (a single SymPy simplification):
  SIGALRM, only in a process's main thread on POSIX, and only when it cannot disturb the caller's
  own ITIMER_REAL (pytest-timeout, a watchdog): a caller's timer that fires before our deadline is
  left alone (the cooperative deadline still holds), a later one is re-armed with its remaining time.

Elsewhere (threads, Windows) a single call that never returns to our loops can overrun the budget;
the size limits of the symbolic oracle (symbolic.py) keep every such call small.

The pipeline marks the step it is in (parse, forward, backprop, numeric, symbolic, ...) so the
message says which one ran out.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import CheckTimeout

# The default budget of one check, in seconds. The slowest check among the README's examples and
# benchmarks/ (the 112-parameter two-layer net, symbolic chained entry by entry) takes a few seconds on
# a shared 2-core runner; two minutes is far beyond any honest check and short enough for CI.
DEFAULT_TIMEOUT = 120.0


@dataclass
class _Budget:
    seconds: float
    deadline: float  # time.monotonic() at which the budget runs out
    what: str
    step: str = "first"


_local = threading.local()


def step(name: str) -> None:
    """Mark the step the current check is in (named in the timeout message); then check the clock."""
    budget = getattr(_local, "budget", None)
    if budget is not None:
        budget.step = name
        checkpoint()


def current_step() -> str | None:
    budget = getattr(_local, "budget", None)
    return None if budget is None else budget.step


def checkpoint() -> None:
    """Raise CheckTimeout if the current check's budget has run out (cheap: call it in loops)."""
    budget = getattr(_local, "budget", None)
    if budget is not None and time.monotonic() > budget.deadline:
        raise _timeout(budget)


def _timeout(budget: _Budget) -> CheckTimeout:
    return CheckTimeout(f"{budget.what} took longer than its time budget of {budget.seconds:g} s: it ran out in the "
                        f"{budget.step} step (--timeout SECONDS changes it, --timeout 0 means none)")


def budget_seconds(timeout: float | None) -> float | None:
    """The budget a check runs under: DEFAULT_TIMEOUT for None (no --timeout given), none for 0."""
    if timeout is None:
        return DEFAULT_TIMEOUT
    return float(timeout) or None


def _alarm_usable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_budget(seconds: float | None, what: str = "the check"):
    """Run the body under a budget of `seconds` (None or 0: no budget). Nested budgets: the inner one
    holds inside its body, the outer one again after it."""
    outer = getattr(_local, "budget", None)
    if not seconds:
        yield
        return
    budget = _Budget(seconds, time.monotonic() + seconds, what)
    if outer is not None and outer.deadline < budget.deadline:
        budget = _Budget(outer.seconds, outer.deadline, outer.what, outer.step)
    _local.budget = budget
    alarm = _arm(budget)
    try:
        yield
    finally:
        _disarm(alarm)
        _local.budget = outer


def _arm(budget: _Budget):
    """Install the SIGALRM backstop when it is safe; returns what _disarm needs to undo it, or None."""
    if not _alarm_usable():
        return None
    previous = signal.getsignal(signal.SIGALRM)
    remaining, interval = signal.getitimer(signal.ITIMER_REAL)
    seconds = budget.deadline - time.monotonic()
    if previous is None or (remaining and remaining <= seconds) or seconds <= 0:
        return None  # a handler we could not restore, or the caller's timer comes first: cooperative only

    def expire(signum, frame):
        raise _timeout(budget)

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    return previous, remaining, interval, time.monotonic()


def _disarm(alarm) -> None:
    if alarm is None:
        return
    previous, remaining, interval, armed_at = alarm
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)
    if remaining:  # the caller's timer goes on with the time it had left (at least a moment, so it fires)
        signal.setitimer(signal.ITIMER_REAL, max(remaining - (time.monotonic() - armed_at), 1e-6), interval)
