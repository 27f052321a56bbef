"""Run many cases, in this process or in N worker processes, in order, optionally stopping at the first failure.

Workers never outlive the run: they ignore SIGINT (Ctrl-C reaches the whole process group; the parent
alone decides), on Linux they ask the kernel for SIGTERM when their parent dies (even by SIGKILL), and
if the parent is interrupted or terminated it terminates them before it exits.
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable

from ..verdict.result import CaseResult
from .cases import CaseSpec, internal_error, run

CHUNK_MAX = 50
CHUNKS_PER_WORKER = 4


def run_all(specs: list[CaseSpec], jobs: int = 1, exitfirst: bool = False,
            advance: Callable[[], None] = lambda: None) -> list[CaseResult]:
    """Results in the order of specs. With exitfirst, the cases after the first one that is not
    as expected are not run (in parallel, those not yet started are cancelled)."""
    if jobs <= 1 or len(specs) <= 1:
        results = []
        for spec in specs:
            results.append(run(spec))
            advance()
            if exitfirst and not results[-1].as_expected:
                break
        return results
    # The first case runs here before the workers start, so that what a check imports and builds on
    # first use (the oracles' modules, numpy's first calls, SymPy and mpmath when the symbolic store
    # lacks a kind of call: ~80 ms with the store, ~0.8 s without) is inherited by every forked worker
    # instead of paid by each.
    first = run(specs[0])
    advance()
    if exitfirst and not first.as_expected:
        return [first]
    done: dict[int, CaseResult] = {0: first}
    # Cases go to the workers in chunks: a scalar case takes a few milliseconds, about what sending
    # one to another process costs. Small enough chunks still keep both workers busy to the end.
    size = max(1, min(CHUNK_MAX, (len(specs) - 1) // (jobs * CHUNKS_PER_WORKER)))
    chunks = [range(i, min(i + size, len(specs))) for i in range(1, len(specs), size)]
    context = _fork_context()
    if context is not None:  # forked workers inherit the specs: a chunk is sent as two numbers
        _inherited[:] = specs
        gc.freeze()  # a worker's collections then leave the inherited heap alone (no copy of its pages)
    try:
        with _pool(min(jobs, len(chunks)), context) as pool:
            pending = {(pool.submit(_run_inherited, chunk.start, chunk.stop) if context is not None
                        else pool.submit(_run_chunk, [specs[i] for i in chunk])): chunk for chunk in chunks}
            stop = False
            while pending and not stop:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    chunk = pending.pop(future)
                    for i, result in zip(chunk, _results(future, [specs[i] for i in chunk])):
                        done[i] = result
                        advance()
                        stop = stop or (exitfirst and not result.as_expected)
            for future, chunk in pending.items():  # after a stop: cancel what has not started, keep what has
                if not future.cancel():
                    done.update(zip(chunk, _results(future, [specs[i] for i in chunk])))
    finally:
        if context is not None:
            gc.unfreeze()
            _inherited.clear()
    results = [done[i] for i in sorted(done)]
    if exitfirst:  # report up to and including the first failure in file order
        first_bad = next((k for k, r in enumerate(results) if not r.as_expected), None)
        results = results if first_bad is None else results[: first_bad + 1]
    return results


def _results(future: Any, specs: list[CaseSpec]) -> list[CaseResult]:
    """A chunk's results; if its worker process died (killed for memory, a crash in a library), each of
    its cases is an internal error naming it, and the others are still reported."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - BrokenProcessPool, or a result that could not be sent back
        return [internal_error(spec, f"the worker process checking it failed ({type(exc).__name__}: {exc})")
                for spec in specs]


class _pool:
    """A ProcessPoolExecutor whose workers are terminated, not waited for, when the parent is
    interrupted (KeyboardInterrupt, SystemExit from a SIGTERM handler): a worker deep in SymPy would
    otherwise finish its chunk first, or outlive the parent."""

    def __init__(self, workers: int, context: Any):
        self.executor = ProcessPoolExecutor(max_workers=workers, initializer=_worker_init, mp_context=context)

    def __enter__(self) -> ProcessPoolExecutor:
        return self.executor

    def __exit__(self, kind, error, trace) -> None:
        if kind is not None and not issubclass(kind, Exception):  # interrupted: stop the workers now
            for process in list((getattr(self.executor, "_processes", None) or {}).values()):
                process.terminate()
            self.executor.shutdown(wait=False, cancel_futures=True)
        else:
            self.executor.shutdown(wait=True, cancel_futures=True)


# prctl(2): PR_SET_PDEATHSIG, the signal a process receives when its parent dies.
PR_SET_PDEATHSIG = 1


def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
        except (OSError, AttributeError):  # not fatal: the parent still terminates its workers itself
            pass


def _run_chunk(specs: list[CaseSpec]) -> list[CaseResult]:
    return [run(spec) for spec in specs]


# The specs of the run in progress, for forked workers to read (set before they are forked).
_inherited: list[CaseSpec] = []


def _run_inherited(start: int, stop: int) -> list[CaseResult]:
    return _run_chunk(_inherited[start:stop])


def _fork_context() -> Any:
    """fork, so that workers start with all the parent has imported and warmed, and its specs.
    Where fork is not available (Windows, macOS's default), None: the platform's own start method,
    whose workers import what they need and receive their cases pickled."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    return multiprocessing.get_context("fork")
