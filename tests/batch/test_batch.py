"""check -j N (gradcheck/batch.py): the first case runs in the parent, forked workers read the specs
they inherit, and the results come back in file order, each case run once."""

from __future__ import annotations

import gc

import pytest

from gradcheck.batch import runner as batch
from gradcheck.batch.cases import CaseSpec


def specs(n: int, wrong: set[int] = frozenset()) -> list[CaseSpec]:
    return [CaseSpec(f"case {i}", "f.toml", 1 + 4 * i,
                     {"name": f"case {i}", "expr": f"sin(x*{i + 1}) * y", "at": f"x={0.1 * i},y=2",
                      **({"grad": {"x": "3*y + 1"}} if i in wrong else {})}) for i in range(n)]


def outcome(results) -> list[tuple]:
    return [(r.name, r.status, r.value, float(r.gradients["x"].columns["backprop"])) for r in results]


def test_two_jobs_give_the_results_of_one_in_file_order():
    cases = specs(13, wrong={5})
    parallel = batch.run_all(cases, jobs=2)
    assert outcome(parallel) == outcome(batch.run_all(cases, jobs=1))
    assert [r.status for r in parallel].count("mismatch") == 1
    assert batch._inherited == [] and gc.get_freeze_count() == 0  # nothing left behind by the run


def test_exitfirst_on_the_first_case_starts_no_worker(monkeypatch):
    def no_pool(*args):
        raise AssertionError("a worker pool was started")

    monkeypatch.setattr(batch, "_pool", no_pool)
    results = batch.run_all(specs(6, wrong={0}), jobs=2, exitfirst=True)
    assert [r.name for r in results] == ["case 0"] and results[0].status == "mismatch"


@pytest.mark.parametrize("fork", [True, False])
def test_exitfirst_in_parallel_reports_up_to_the_first_failure(monkeypatch, fork):
    if not fork:  # the platforms without fork: specs sent pickled
        monkeypatch.setattr(batch, "_fork_context", lambda: None)
    results = batch.run_all(specs(9, wrong={4}), jobs=2, exitfirst=True)
    assert [r.name for r in results][:5] == [f"case {i}" for i in range(5)]
    assert results[-1].name == "case 4" and results[-1].status == "mismatch"
