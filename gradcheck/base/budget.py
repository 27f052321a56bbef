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

Every budget reads the time through one function, `clock`. Tests replace it with a TickingClock, which
advances a fixed amount at each look, so that a budget runs out after a known number of checkpoints
whatever the machine's speed or load: in-process by monkeypatching `gradcheck.base.budget.clock`, in a
console script through the environment variable GRADCHECK_TEST_CLOCK_TICK (a testing hook: seconds per
look). Under such a clock the SIGALRM backstop stays off, since it measures real time.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

from .errors import CheckTimeout

# The default budget of one check, in seconds. The slowest check among the documentation's examples and
# benchmarks/ (the 112-parameter two-layer net, symbolic chained entry by entry) takes a few seconds on
# a shared 2-core runner; two minutes is far beyond any honest check and short enough for CI.
DEFAULT_TIMEOUT = 120.0

# The testing hook: when set to a positive number of seconds, the budget's clock is a TickingClock
# advancing that much at each look instead of the real one. Users never need it.
TEST_CLOCK_VARIABLE = "GRADCHECK_TEST_CLOCK_TICK"


class TickingClock:
    """A clock for tests: each call advances it by `tick` seconds (a budget of B seconds then runs out
    at the first checkpoint after B / tick looks), and `looks` counts the calls."""

    def __init__(self, tick: float) -> None:
        self.tick = tick
        self.looks = 0

    def __call__(self) -> float:
        self.looks += 1
        return self.looks * self.tick


def _clock_from_environment() -> Callable[[], float]:
    """time.monotonic, or the TickingClock that GRADCHECK_TEST_CLOCK_TICK asks for (a value that is not a
    positive number is ignored: the hook is for tests, and a user's check keeps the real clock)."""
    try:
        tick = float(os.environ.get(TEST_CLOCK_VARIABLE, ""))
    except ValueError:
        return time.monotonic
    return TickingClock(tick) if math.isfinite(tick) and tick > 0 else time.monotonic


# The one function every budget reads the time through (seconds; only differences matter).
clock: Callable[[], float] = _clock_from_environment()


@dataclass
class _Budget:
    seconds: float
    deadline: float  # clock() at which the budget runs out
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


def remaining() -> float | None:
    """Seconds left in the current check's budget (by `clock`), or None when it has none."""
    budget = getattr(_local, "budget", None)
    return None if budget is None else budget.deadline - clock()


def checkpoint() -> None:
    """Raise CheckTimeout if the current check's budget has run out (cheap: call it in loops)."""
    budget = getattr(_local, "budget", None)
    if budget is not None and clock() > budget.deadline:
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
    """SIGALRM as a backstop: POSIX, the main thread, and the real clock (a test's clock is not real time)."""
    return (clock is time.monotonic and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread())


@contextmanager
def time_budget(seconds: float | None, what: str = "the check"):
    """Run the body under a budget of `seconds` (None or 0: no budget). Nested budgets: the inner one
    holds inside its body, the outer one again after it."""
    outer = getattr(_local, "budget", None)
    if not seconds:
        yield
        return
    budget = _Budget(seconds, clock() + seconds, what)
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
    seconds = budget.deadline - clock()  # the real clock here (_alarm_usable)
    if previous is None or (remaining and remaining <= seconds) or seconds <= 0:
        return None  # a handler we could not restore, or the caller's timer comes first: cooperative only

    def expire(signum, frame):
        raise _timeout(budget)

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    return previous, remaining, interval, time.monotonic()  # real time: the caller's timer runs on it


def _disarm(alarm) -> None:
    if alarm is None:
        return
    previous, remaining, interval, armed_at = alarm
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)
    if remaining:  # the caller's timer goes on with the time it had left (at least a moment, so it fires)
        signal.setitimer(signal.ITIMER_REAL, max(remaining - (time.monotonic() - armed_at), 1e-6), interval)
