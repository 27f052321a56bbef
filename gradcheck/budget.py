"""A time budget for one check: --timeout, so that no input can hang a run (CI has a clock too).

SIGALRM interrupts pure-Python work (SymPy, the oracles' loops) wherever it is. It exists only on
POSIX and only in a process's main thread; elsewhere the budget is not enforced, and says so.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

from .errors import CheckTimeout

# A day: longer than any check should take, and well inside what the platform's timer accepts.
MAX_TIMEOUT = 86_400.0


def enforceable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_budget(seconds: float | None, what: str = "the check"):
    if not seconds or not enforceable():
        yield
        return

    def expire(signum, frame):
        raise CheckTimeout(f"{what} took longer than its time budget of {seconds:g} s (--timeout)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
