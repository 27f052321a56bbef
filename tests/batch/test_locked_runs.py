"""A grader's run: unlocked, case files choose their own tolerances; --locked lets them only tighten,
its limits come from its command line, and --run-timeout bounds the whole run.
"""

from __future__ import annotations

import json

import pytest
from hostile_input import assert_exit, case, run


# Each case loosens one key; ∂(x*y)/∂x is y, so the claims y*1.5 are 50 % off.
LOOSE = {
    "rtol": case("rtol", "x*y", at="{ x = 1, y = 2 }", grad='{ x = "y*1.5" }', rtol="0.9"),
    "atol": case("atol", "x*y", at="{ x = 1, y = 2 }", grad='{ x = "y*1.5" }', atol="1e300"),
    "expect": case("expect", "x*y", at="{ x = 1, y = 2 }", grad='{ x = "y*1.5" }', expect='"mismatch"'),
    "timeout": case("timeout", "x*y", timeout="0"),
    "dtype": case("dtype", "x*y", dtype='"float32"'),
}


def test_case_files_choose_their_own_verdict_unless_the_run_is_locked(tmp_path):
    """Unlocked, a case file's rtol 0.9 passes a wrong claim (its own file, its own choice). Locked, each
    loosening is an input error naming its key, and a case that only tightens still runs."""
    (tmp_path / "loose.toml").write_text("".join(LOOSE.values()))
    (tmp_path / "tight.toml").write_text(case("tight", "x*y", at="{ x = 1, y = 2 }", rtol="1e-8", timeout="30"))
    assert_exit(run("check", "loose.toml", cwd=tmp_path), 0)
    proc = run("check", "loose.toml", "tight.toml", "--locked", "--junit", "out.xml", "--format", "json", cwd=tmp_path)
    assert_exit(proc, 2, *(f"case '{key}': key '{key}'" for key in LOOSE), "--locked")
    cases = {c["name"]: c for c in json.loads(proc.stdout)["cases"]}
    assert cases["tight"]["status"] == "pass"
    assert all(cases[key]["status"] == "error" for key in LOOSE)
    assert 'errors="5"' in (tmp_path / "out.xml").read_text()


def test_a_locked_runs_limits_come_from_its_command_line(tmp_path):
    (tmp_path / "cases.toml").write_text(case("wider", "x*y", at="{ x = 1, y = 2 }", rtol="1e-3", atol="1e-9",
                                              timeout="300"))
    assert_exit(run("check", "cases.toml", "--locked", cwd=tmp_path), 2, "key 'rtol'")
    assert_exit(run("check", "cases.toml", "--locked", "--rtol", "1e-2", "--atol", "1e-6", "--timeout", "600",
                    cwd=tmp_path), 0)
    # --rtol for the run is the tolerance of every case that sets none: a wrong claim 1e-4 off now passes
    (tmp_path / "near.toml").write_text(case("near", "x*y", at="{ x = 1, y = 2 }", grad='{ x = "y*1.0001" }'))
    assert_exit(run("check", "near.toml", cwd=tmp_path), 1)
    assert_exit(run("check", "near.toml", "--rtol", "1e-3", cwd=tmp_path), 0)


def test_a_budget_for_the_whole_run(tmp_path):
    """--run-timeout: the cases the run's budget leaves unchecked are timeout errors (exit 2), reported with
    the others, JUnit and HTML written. A budget that cannot be met: none is checked."""
    (tmp_path / "cases.toml").write_text(case("one", "x*y") + case("two", "sin(x)"))
    proc = run("check", "cases.toml", "--run-timeout", "1e-9", "--junit", "out.xml", "--html", "out.html",
               "--format", "json", cwd=tmp_path)
    assert_exit(proc, 2, "case 'one'", "case 'two'", "--run-timeout")
    assert [c["error"]["kind"] for c in json.loads(proc.stdout)["cases"]] == ["timeout", "timeout"]
    assert 'errors="2"' in (tmp_path / "out.xml").read_text() and (tmp_path / "out.html").exists()
    assert_exit(run("check", "cases.toml", "--run-timeout", "600", cwd=tmp_path), 0)
    refused = run("check", "cases.toml", "--run-timeout", "0", cwd=tmp_path)  # click's usage error: must be > 0
    assert refused.returncode == 2 and "Traceback" not in refused.stderr and "--run-timeout" in refused.stderr


def test_a_case_the_run_budget_ends_says_so(monkeypatch):
    """The run's budget running out inside a case: the case's budget was cut to what the run had left, and
    its message names the run's budget, not the case's."""
    from gradcheck.base.errors import CheckTimeout
    from gradcheck.batch import cases as C
    from gradcheck.batch import grading

    clock = [100.0]
    monkeypatch.setattr(grading.time, "monotonic", lambda: clock[0])
    seen = {}

    def slow(expr, **options):
        seen.update(options)
        clock[0] += 10  # the case used up the run's budget
        raise CheckTimeout("the check took longer than its time budget of 5 s: it ran out in the numeric step")
    monkeypatch.setattr("gradcheck.checks.expression.check", slow)
    spec = C.CaseSpec("slow", "cases.toml", 3, {"expr": "x*y", "timeout": 60.0})
    grading.apply([spec], grading.RunOptions(run_timeout=5.0))
    result = C.run(spec)
    assert seen["timeout"] == pytest.approx(5.0)
    # the run's budget is named (5 s, --run-timeout), not the case's own 60 s
    assert result.error["kind"] == "timeout" and "--run-timeout" in result.verdict and "of 5 s" in result.verdict
    assert "60" not in result.verdict
    assert "ran out before" in C.run(spec).verdict  # the next case is not started
