"""The time budget: every check has one (a default too), it names the step it ran out in, it works in
any thread, a caller's own interval timer survives it, and odd values are refused or read as no budget.
Budgets run on the test clock (tests/conftest.py's TICK seconds a look) or on work whose cost is certain
(a sleep), never on how fast the machine happens to be.
"""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest
from conftest import HANG_GUARD, TICK, joined
from hostile_input import assert_exit, case, no_foreign_exception, run

import gradcheck


# Budgets run on the test clock (tests/conftest.py's TICK seconds a look, gradcheck/budget.py) or on work whose
# cost is certain (a sleep), never on how fast the machine happens to be.
SLOW = ("sum(sin(X) * cos(X))", {"X": "randn(1000)"})  # 1,000 entries differenced one by one: > 1,000 looks


def test_a_timeout_names_the_step_and_works_in_a_thread(ticking_clock):
    from concurrent.futures import ThreadPoolExecutor

    def slow_check():
        with pytest.raises(gradcheck.GradcheckError) as caught:
            gradcheck.check(SLOW[0], at=SLOW[1], mode="full", timeout=0.3)
        return caught.value

    with ThreadPoolExecutor(1) as pool:  # not the main thread: no SIGALRM there, the deadline is cooperative
        error = pool.submit(slow_check).result(timeout=HANG_GUARD)
    assert error.kind == "timeout" and "in the numeric step" in str(error), error
    # it ended at the first look past the deadline (0.3 s is 30 looks after the one that set it), long
    # before the 1,000 entries' looks
    assert abs(ticking_clock.looks - (0.3 / TICK + 2)) <= 1, ticking_clock.looks


def test_check_function_has_a_timeout_in_a_thread():
    from concurrent.futures import ThreadPoolExecutor

    def f(v):  # work of certain cost on the real clock: the three calls timed to plan the check take 0.3 s or
        time.sleep(0.1)  # more, so even the smallest plan (checks/planning.py) cannot fit and the budget ends it
        return float(np.sum(v**2))

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(lambda: gradcheck.check_function(f, lambda v: 2 * v, np.ones(200), timeout=0.3))
        with pytest.raises(gradcheck.GradcheckError, match="time budget of 0.3 s"):
            future.result(timeout=HANG_GUARD)


def test_the_default_budget_applies_when_none_is_given(monkeypatch, ticking_clock):
    import gradcheck.base.budget

    monkeypatch.setattr(gradcheck.base.budget, "DEFAULT_TIMEOUT", 0.3)
    with pytest.raises(gradcheck.GradcheckError, match="time budget of 0.3 s"):
        gradcheck.check(SLOW[0], at=SLOW[1], mode="full")


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="POSIX interval timers only")
def test_a_callers_itimer_survives_a_check():
    fired = []

    def handler(signum, frame):
        fired.append(signum)

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        started = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, 1000)  # a watchdog due long after the check's budget
        gradcheck.check("x*y", at="x=1,y=2", timeout=5)
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        elapsed = time.monotonic() - started
        # re-armed with what it had left: the time gone by is taken off, however long the check took
        assert 1000 - elapsed - 1e-3 <= left <= 1000 and signal.getsignal(signal.SIGALRM) is handler
        signal.setitimer(signal.ITIMER_REAL, 0.5)  # one due before the budget: left alone, and it fires
        gradcheck.check("x*y", at="x=1,y=2", timeout=5)
        time.sleep(1.0)  # a sleep lasts at least its time, so the timer is due before it ends
        assert fired == [signal.SIGALRM]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_console_script_timeout_zero_and_nonsense(tmp_path):
    assert_exit(run("eval", "x*y", "--at", "x=1,y=2", "--timeout", "0"), 0)
    for bad in ("-1", "abc", "nan"):
        proc = run("eval", "x*y", "--timeout", bad)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr and "--timeout" in joined(proc.stderr), proc.stderr
    (tmp_path / "c.toml").write_text(case("slow", SLOW[0], at='{ X = "randn(1000)" }', mode='"full"',
                                               timeout="0.5"))
    assert_exit(run("check", "c.toml", cwd=tmp_path, clock=True), 2, "time budget of 0.5 s",
                "numeric step")


@pytest.mark.parametrize("seconds", [1e10, float("inf")])
def test_a_huge_or_infinite_timeout_raises_only_gradcheck_errors(seconds):
    no_foreign_exception("x * y", at="x=1,y=2", timeout=seconds)
