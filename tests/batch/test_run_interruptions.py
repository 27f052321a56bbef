"""A run of many cases when something stops or breaks: a signal ends the workers and leaves no partial
JUnit file, a worker that dies or a bug in one case ends only that case as an internal error, -j is
capped at the cores unless forced, and the JUnit file is written whole.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import HANG_GUARD, console_script, joined, messages
from hostile_input import assert_exit, case, env, run


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def wait_for(look, done, guard: float = HANG_GUARD):
    """look() again every 0.1 s until done(what it saw), or until the hang guard; returns what it saw last."""
    deadline = time.monotonic() + guard
    seen = look()
    while not done(seen) and time.monotonic() < deadline:
        time.sleep(0.1)
        seen = look()
    return seen


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process parents from Linux's /proc")
@pytest.mark.parametrize("signum, code, words", [(signal.SIGTERM, 143, "terminated"),
                                                 (signal.SIGINT, 130, "interrupted")])
def test_a_signal_ends_the_workers_and_leaves_no_partial_junit(tmp_path, signum, code, words):
    # A quick first case (run in the parent before it forks), then work no machine ends soon: each case
    # differences 20,000 entries one by one, 80,000 evaluations of f, at least a second even for Python's
    # overhead alone, and the workers are stopped as soon as both have started.
    (tmp_path / "slow.toml").write_text(case("quick", "x*y") + "".join(
        case(f"slow {i}", "sum(sin(X) * cos(X))", at='{ X = "randn(20000)" }', mode='"full"', timeout="0")
        for i in range(40)))
    # As from a terminal: SIGINT at its default even when this run inherited it ignored (a background
    # job), so that Python turns it into KeyboardInterrupt; exec keeps the pid, and the disposition.
    interactive = [sys.executable, "-c", "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                   "os.execv(sys.argv[1], sys.argv[1:])"]
    proc = subprocess.Popen([*interactive, console_script(), "check", "slow.toml", "-j", "2", "--junit", "report.xml"],
                            cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = wait_for(lambda: [p for p in children(proc.pid) if alive(p)], lambda found: len(found) == 2)
    assert len(workers) == 2, workers  # both workers started
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=HANG_GUARD)
    assert proc.returncode == code, stderr
    assert stderr.strip().splitlines()[-1] == f"gradcheck: error: {words} ({'SIGTERM' if code == 143 else 'Ctrl-C'})"
    assert "Traceback" not in stderr and "Aborted!" not in stderr
    assert wait_for(lambda: [p for p in workers if alive(p)], lambda left: left == []) == []  # no orphans
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slow.toml"]  # no report.xml, no temp file


def test_jobs_are_capped_at_the_cores_unless_forced(tmp_path):
    (tmp_path / "c.toml").write_text("".join(case(f"c{i}", "x*y") for i in range(4)))
    proc = run("check", "c.toml", "-j", "1000", cwd=tmp_path)
    assert_exit(proc, 0)
    assert f"-j 1000 capped at {os.cpu_count()}" in joined(proc.stderr)
    forced = run("check", "c.toml", "-j", "3", "--force-jobs", cwd=tmp_path)
    assert_exit(forced, 0)
    assert "capped" not in forced.stderr
    for bad in ("0", "-1", "many"):
        nonsense = run("check", "c.toml", "-j", bad, cwd=tmp_path)
        assert nonsense.returncode == 2 and "Traceback" not in nonsense.stderr and "-j" in joined(nonsense.stderr)


def test_the_junit_report_is_written_whole(tmp_path):
    (tmp_path / "c.toml").write_text(case("c", "x*y"))
    (tmp_path / "report.xml").write_text("the previous report")
    assert_exit(run("check", "c.toml", "--junit", "report.xml", cwd=tmp_path), 0)
    import xml.etree.ElementTree as ElementTree

    assert ElementTree.parse(tmp_path / "report.xml").getroot().iter("testcase")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml", "report.xml"]


def test_an_unexpected_exception_is_exit_3_naming_the_case_and_the_others_still_run(tmp_path,
                                                                                            monkeypatch):
    """A bug in gradcheck (here: a check that raises a RuntimeError for one case) ends that case as an
    internal error, exit 3, one line naming it; the others are checked and reported, JUnit written."""
    from conftest import invoke

    from gradcheck.checks import expression as pipeline

    original = pipeline.check

    def buggy(expr, **options):
        if "sin" in expr:
            raise RuntimeError("a rule broke")
        return original(expr, **options)
    monkeypatch.setattr(pipeline, "check", buggy)
    (tmp_path / "cases.toml").write_text(case("fine", "x*x") + case("buggy", "sin(x)") + case("also fine", "x*y"))
    junit = tmp_path / "out.xml"
    done = invoke("check", str(tmp_path / "cases.toml"), "--junit", str(junit), "--format", "json")
    assert done.exit_code == 3, done.output
    lines = [line for line in messages(done.stderr) if line.strip()]
    assert len(lines) == 1 and "case 'buggy'" in lines[0] and "internal error" in lines[0], done.stderr
    cases = {c["name"]: c for c in json.loads(done.stdout)["cases"]}
    assert cases["fine"]["status"] == cases["also fine"]["status"] == "pass"
    assert cases["buggy"]["error"]["kind"] == "internal"
    assert 'errors="1"' in junit.read_text()


def test_a_worker_process_that_dies_ends_its_cases_as_internal_errors(monkeypatch):
    """check -j 2 with a worker killed (for memory, by a crash in a library): its cases are internal errors
    naming them, the other cases are reported."""
    from gradcheck.batch import runner as batch
    from gradcheck.batch.cases import CaseSpec

    parent = os.getpid()
    original = batch.run

    def dies(spec):
        if spec.name == "dies" and os.getpid() != parent:
            os._exit(9)
        return original(spec)
    monkeypatch.setattr(batch, "run", dies)
    specs = [CaseSpec(name, "cases.toml", k + 1, {"expr": "x*x", "name": name})
             for k, name in enumerate(["first", "dies", "third"])]
    results = batch.run_all(specs, jobs=2)
    assert [r.name for r in results] == ["first", "dies", "third"]
    assert results[0].status == "pass"
    assert results[1].exit_code == 3 and "case 'dies'" in results[1].verdict
