"""Hostile input, round three: a course autograder or a CI job that runs `gradcheck check` on case files
and .npy data from untrusted people, on runners whose cache folder may be shared.

Each finding of the round has tests named test_finding_N_...; the CLI paths run the real console script
(some under an address-space limit, to prove a memory bound). Store tests run in-process against a
store folder of their own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from conftest import NEURON, NEURON_AT, joined, messages, run_script, subprocess_env

import gradcheck
from gradcheck.oracles import sym_chain, sym_store

TIMEOUT = 60  # seconds for one console-script run; each takes a few
MEMORY_LIMIT = 1 << 30  # bytes of address space for a run that must stay small


def run(*args: str, cwd: Path | str | None = None, memory: int | None = None, timeout: float = TIMEOUT,
        **env: str) -> subprocess.CompletedProcess:
    """gradcheck ARGS through the console script, optionally under an address-space limit."""
    return run_script(*args, cwd=cwd, timeout=timeout, memory=memory, **{"COLUMNS": "200", **env})


def assert_exit(proc: subprocess.CompletedProcess, code: int, *words: str) -> str:
    """The exit code, no traceback anywhere, and every word in stderr (its wrapped lines joined)."""
    assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    for stream in (proc.stdout, proc.stderr):
        assert "Traceback" not in stream, stream[-3000:]
    text = joined(proc.stderr)
    for word in words:
        assert word in text, (word, text[-2000:])
    return text


def case(name: str, expr: str, **keys: str) -> str:
    """One [[case]] table; keys are written as given (TOML values)."""
    lines = ["[[case]]", f"name = {json.dumps(name)}", f"expr = {json.dumps(expr)}"]
    return "\n".join(lines + [f"{key} = {value}" for key, value in keys.items()]) + "\n"


# ----- the symbolic store: a folder of this test's own --------------------------------------------------


@pytest.fixture
def store(tmp_path, monkeypatch):
    """GRADCHECK_CACHE_DIR at a fresh folder of this test's, nothing remembered in this process."""
    cache = tmp_path / "cache"
    monkeypatch.setenv(sym_store.ENVIRONMENT, str(cache))
    monkeypatch.setattr(sym_store, "_written", [])
    _forget()
    yield cache
    _forget()


def _forget() -> None:
    sym_store.forget_folder()
    sym_chain._calls.clear()
    sym_chain._templates.clear()
    sym_chain._derivatives.clear()


def _entries(cache: Path) -> dict[str, tuple[Path, dict]]:
    found = {}
    for path in cache.glob("symbolic-*/*.json"):
        data = json.loads(path.read_text())
        found[data["key"]] = (path, data)
    return found


def _sigmoid_entry(cache: Path) -> tuple[Path, dict]:
    (key,) = [key for key in _entries(cache) if "'sigmoid'" in key]
    return _entries(cache)[key]


# What a tampered sigmoid entry says: its derivative is the constant 1/2 (the right one is 0.105 at z = 1).
HALF = {"inputs": 1, "steps": [["n", [0, 1, -1]]], "result": 1}


def _tamper_sigmoid(cache: Path) -> Path:
    """Replace sigmoid's stored derivative by 1/2; the entry's path."""
    path, data = _sigmoid_entry(cache)
    data["templates"][0]["partials"] = {"0": HALF}
    path.write_text(json.dumps(data))
    return path


def _old_folders(cache: Path, count: int) -> None:
    for k in range(count):
        old = cache / f"symbolic-old{k}"
        old.mkdir(parents=True, mode=0o700)
        (old / "x.json").write_text("{}")


def test_finding_1_a_link_in_the_cache_folder_is_never_followed_when_pruning(store, tmp_path):
    """Someone sharing the cache plants symbolic-0000 -> the victim's thesis, made to look oldest: the
    victim's next run with a new store folder prunes old folders, and must leave the thesis alone."""
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("years of work")
    (thesis / "x.json").write_text("{}")
    os.utime(thesis, (1, 1))  # older than any store folder: first in line to be pruned
    _old_folders(store, sym_store.MAX_FOLDERS + 2)
    (store / "symbolic-0000").symlink_to(thesis, target_is_directory=True)
    assert gradcheck.check("x*y", at="x=1,y=2").status == "pass"
    assert sorted(p.name for p in thesis.iterdir()) == ["chapter1.tex", "x.json"]
    assert (store / "symbolic-0000").is_symlink()  # left as it was
    assert len([p for p in store.glob("symbolic-*") if not p.is_symlink()]) == sym_store.MAX_FOLDERS


def test_finding_1_only_the_users_own_private_folders_are_pruned(store):
    """A folder of old installations that others may write to is not the user's to empty."""
    _old_folders(store, sym_store.MAX_FOLDERS + 2)
    shared = store / "symbolic-old0"
    shared.chmod(0o777)
    os.utime(shared, (1, 1))
    gradcheck.check("x*y", at="x=1,y=2")
    assert (shared / "x.json").exists()


@pytest.mark.parametrize("how", ["world-writable", "group-writable", "a link", "another user's"])
def test_finding_1_a_store_folder_that_is_not_the_users_own_is_not_used(store, tmp_path, how):
    """A store folder made by someone else (its name is predictable) is neither read nor written: the
    store is off for the run, and the check is still right."""
    folder = sym_store.folder()
    _forget()
    store.mkdir()
    if how == "a link":
        target = tmp_path / "elsewhere"
        target.mkdir(mode=0o700)
        folder.symlink_to(target, target_is_directory=True)
        inside = target
    else:
        folder.mkdir(mode=0o700)
        inside = folder
        if how == "another user's":
            if os.geteuid() != 0:
                pytest.skip("making a folder of another user's needs root")
            os.chown(folder, 65534, -1)
        else:
            folder.chmod(0o777 if how == "world-writable" else 0o770)
    result = gradcheck.check(NEURON, at=NEURON_AT)
    assert result.status == "pass"
    assert list(inside.iterdir()) == []  # nothing written there


def test_finding_1_an_entry_planted_in_an_unsafe_folder_is_not_read(store):
    """The same folder name made world-writable, with a tampered entry in it: not read."""
    gradcheck.check(NEURON, at=NEURON_AT)
    _tamper_sigmoid(store)
    sym_store.folder().chmod(0o777)
    _forget()
    result = gradcheck.check(NEURON, at=NEURON_AT, grad="w0=-0.5")
    assert result.gradients["w0"].columns["symbolic"] != pytest.approx(-0.5)


def _script_with_store(cache: Path, *args: str, memory: int | None = None, timeout: float = TIMEOUT):
    return run(*args, memory=memory, timeout=timeout, GRADCHECK_CACHE_DIR=str(cache))


@pytest.mark.parametrize("plant", ["fifo", "/dev/zero", "a link to a file elsewhere"])
def test_finding_4_an_entry_that_is_not_a_regular_file_is_skipped_not_read(tmp_path, plant):
    """Each stored entry replaced by a FIFO (which would block every case for its whole budget), a link
    to /dev/zero (read until memory is gone) or a link to a tampered entry elsewhere: skipped, the check
    is right."""
    cache = tmp_path / "cache"
    args = ("eval", NEURON, "--at", NEURON_AT, "--format", "json")
    assert_exit(_script_with_store(cache, *args), 0)
    _tamper_sigmoid(cache)
    for k, path in enumerate(cache.glob("symbolic-*/*.json")):
        if plant == "fifo":
            path.unlink()
            os.mkfifo(path)
        elif plant == "/dev/zero":
            path.unlink()
            path.symlink_to("/dev/zero")
        else:
            outside = tmp_path / f"outside{k}.json"
            path.rename(outside)
            path.symlink_to(outside)
    done = _script_with_store(cache, *args, memory=MEMORY_LIMIT, timeout=TIMEOUT)
    assert_exit(done, 0)
    assert json.loads(done.stdout)["cases"][0]["status"] == "pass"


def test_finding_4_an_entry_larger_than_the_cap_is_not_read(store, monkeypatch):
    """A tampered entry padded past MAX_ENTRY_BYTES is not read (its size is checked before reading)."""
    gradcheck.check(NEURON, at=NEURON_AT)
    path = _tamper_sigmoid(store)
    monkeypatch.setattr(sym_store, "MAX_ENTRY_BYTES", 10_000)
    path.write_text(path.read_text() + " " * 20_000)
    _forget()
    result = gradcheck.check(NEURON, at=NEURON_AT)
    assert result.gradients["w0"].columns["symbolic"] == pytest.approx(result.gradients["w0"].columns["backprop"])


def test_finding_4_registers_outside_the_call_are_ignored_not_a_crash(store):
    """A matmul entry whose registers name entries its inputs do not have (an IndexError that ended the
    whole batch), or an input that is a constant: the stored call does not fit the node, SymPy builds it."""
    first = gradcheck.check("sum(A @ B)", at={"A": np.ones((2, 3)), "B": np.ones((3, 2))})
    for path, data in _entries(store).values():
        if "'matmul'" in data["key"]:
            data["entries"][0][1][0] = [1, 999]
            path.write_text(json.dumps(data))
    _forget()
    again = gradcheck.check("sum(A @ B)", at={"A": np.ones((2, 3)), "B": np.ones((3, 2))})
    assert again.status == first.status == "pass"
    np.testing.assert_array_equal(again.gradients["A"].columns["symbolic"], first.gradients["A"].columns["symbolic"])


@pytest.mark.parametrize("number", [[0, 1, 10**9], [0, 1, -(10**9)], [0, 2**5000 + 1, 0]])
def test_finding_4_a_huge_stored_number_is_refused_when_read(number):
    """A stored constant with a huge exponent or mantissa (mpmath would work on it until the budget) is
    not a number SymPy wrote for a float64 f: the program is refused as it is read."""
    from gradcheck.oracles.sym_eval import Program

    with pytest.raises(ValueError):
        Program.load({"inputs": 1, "steps": [["n", number], ["exp", 1]], "result": 2})


def test_finding_4_a_program_that_squares_its_way_to_a_huge_number_ends_at_once():
    """Forty squarings of 2 then sin: mpmath would reduce sin's argument to 2**40 bits. Values beyond
    2**8192 have no finite value here, so the program is done in microseconds."""
    import mpmath

    from gradcheck.oracles.sym_eval import EVAL_DIGITS, Program

    steps = [["n", [0, 1, 1]]] + [["Mul", 1 + k, 1 + k] for k in range(40)] + [["sin", 41]]
    program = Program.load({"inputs": 1, "steps": steps, "result": 42})
    with mpmath.workdps(EVAL_DIGITS), _hang_guard(HANG_SECONDS):
        assert program([mpmath.mpf(0)]) is None
        power = Program.load({"inputs": 1, "steps": [["n", [0, 1, 8000]], ["Pow", 0, 1]], "result": 2})
        assert power([mpmath.mpf("1.0000001")]) is None  # 1.0000001 ** 2**8000: refused before mpmath runs it


# Far beyond the microseconds these take; before the bound, they ran for minutes.
HANG_SECONDS = 20


@contextmanager
def _hang_guard(seconds: float):
    """Fail instead of hanging (SIGALRM: mpmath is Python, so the handler runs between its steps)."""
    def expire(signum, frame):
        raise AssertionError(f"still running after {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_finding_4_a_program_longer_than_sympy_writes_for_its_call_is_ignored(store, monkeypatch):
    """sigmoid's stored value padded to a million steps: longer than any program SymPy writes for one
    elementwise operation, so the entry is ignored and SymPy differentiates again."""
    gradcheck.check(NEURON, at=NEURON_AT)
    path, data = _sigmoid_entry(store)
    value = data["templates"][0]["value"]
    pad = [["n", [0, 1, 0]]] * 1000
    value["steps"] = value["steps"] + pad
    path.write_text(json.dumps(data))
    _forget()
    read = []
    monkeypatch.setattr(sym_chain.Call, "load", _recording(sym_chain.Call.load, read))
    result = gradcheck.check(NEURON, at=NEURON_AT)
    assert result.status == "pass"
    assert any(len(t.value.steps) > 1000 for call in read for t in call.templates)  # it was read as a program,
    assert all(call not in sym_chain._calls.values() for call in read if len(call.templates[0].value.steps) > 1000)


def _recording(load, read: list):
    def recorded(data, build):
        call = load(data, build)
        read.append(call)
        return call
    return staticmethod(recorded)


def test_finding_4_mutated_store_entries_never_crash_or_pass_a_wrong_claim(store):
    """Every leaf of every stored entry replaced, one at a time, by odd values: no exception, no wrong
    claim passing (the symbolic column may be wrong: the verdict then fails)."""
    at = {"X": np.array([[0.5, -1.0], [2.0, 0.25]]), "w": np.array([0.3, -0.7])}
    expr, wrong = "sum(tanh(X @ w))", {"w": "X.T @ tanh(X @ w)"}
    gradcheck.check(expr, at=at)
    originals = {path: path.read_text() for path, _ in _entries(store).values()}
    odd = [None, -1, 10**30, 2**63, 1.5, True, "exp", [], {}, [0, 1, 10**9], [[1, 99]]]
    for path, text in originals.items():
        leaves = list(_leaves(json.loads(text)))
        for k, (where, _) in enumerate(leaves):
            data = json.loads(text)
            _set(data, where, odd[k % len(odd)])
            path.write_text(json.dumps(data))
            _forget()
            assert gradcheck.check(expr, at=at, grad=wrong).status == "mismatch"
        path.write_text(text)


def _leaves(data, where=()):
    if isinstance(data, dict):
        for key, value in data.items():
            if key not in ("key", "format"):
                yield from _leaves(value, (*where, key))
    elif isinstance(data, list) and data:
        for i, value in enumerate(data):
            yield from _leaves(value, (*where, i))
    else:
        yield where, data


def _set(data, where, value) -> None:
    for key in where[:-1]:
        data = data[key]
    data[where[-1]] = value


def test_finding_4_an_expected_mismatch_is_met_only_by_the_claim(store):
    """expect = "mismatch" for a claim since corrected: with sigmoid's stored derivative tampered, the
    symbolic column is the odd one out, which is not the wrong derivation the case documents."""
    gradcheck.check(NEURON, at=NEURON_AT)
    _tamper_sigmoid(store)
    _forget()
    from gradcheck.batch.cases import CaseSpec
    from gradcheck.batch.cases import run as run_case

    right = "x0*sigmoid(w0*x0+w1*x1+w2)*(1-sigmoid(w0*x0+w1*x1+w2))"
    spec = CaseSpec("corrected", "cases.toml", 1, {"expr": NEURON, "at": NEURON_AT, "grad": {"w0": right}},
                    expect="mismatch")
    result = run_case(spec)
    assert result.status == "mismatch" and result.gradients["w0"].odd == "symbolic"
    assert not result.as_expected and result.exit_code == 1
    # the wrong claim the case documents is still caught as expected
    for path, _ in _entries(store).values():
        path.unlink()
    _forget()
    spec.options["grad"] = {"w0": "x0*sigmoid(w0*x0+w1*x1+w2)"}
    caught = run_case(spec)
    assert caught.as_expected and caught.exit_code == 0


def test_finding_4_the_right_formula_shown_is_checked_not_read_from_the_store_unchecked(store):
    """The formula beside a wrong claim, tampered in the store: what is shown is SymPy's right one."""
    claim = "w0=x0*sigmoid(z)"
    first = gradcheck.check(NEURON, at=NEURON_AT, grad=claim, let="z=w0*x0+w1*x1+w2").gradients["w0"].correct
    assert first is not None
    assert any(data["key"].startswith("('registry formula'") for _, data in _entries(store).values())
    for path, data in _entries(store).values():
        if data["key"].startswith("('registry formula'"):
            for lie in ("x0*sigmoid(z)", "x0*exp(-z)/(1 + exp(-z))**2 + (w0 - 2)/7"):  # wrong; right at the point only
                data["formula"] = lie
                path.write_text(json.dumps(data))
                _forget()
                shown = gradcheck.check(NEURON, at=NEURON_AT, grad=claim, let="z=w0*x0+w1*x1+w2").gradients["w0"]
                assert shown.correct == first, lie


def test_finding_9_a_relative_xdg_cache_home_is_ignored(tmp_path, monkeypatch):
    """The XDG rules: a relative XDG_CACHE_HOME is invalid and ignored (it put the store in the working
    directory, perhaps a repository others write to)."""
    monkeypatch.delenv(sym_store.ENVIRONMENT, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path))
    sym_store.forget_folder()
    try:
        assert sym_store.folder().parent == tmp_path / ".cache" / "gradcheck"
    finally:
        sym_store.forget_folder()


# ----- finding 2: case files read from outside the root ---------------------------------------------------

SECRET_NAME, SECRET_EXPR = "marks of student 4711", "x*31415 + y*27182"


@pytest.fixture
def linked(tmp_path):
    """tmp/secret/marks.toml outside the project; tmp/proj/cases/ with good.toml, link.toml pointing at the
    secret file, and alias.toml pointing at good.toml in the same folder (harmless)."""
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "marks.toml").write_text(case(SECRET_NAME, SECRET_EXPR, at="{ x = 1, y = 2 }"))
    cases = tmp_path / "proj" / "cases"
    cases.mkdir(parents=True)
    (cases / "good.toml").write_text(case("good", "x*x"))
    (cases / "link.toml").symlink_to(tmp_path / "secret" / "marks.toml")
    return tmp_path / "proj"


def _secret_not_shown(proc, *files: Path) -> None:
    for text in (proc.stdout, proc.stderr, *(f.read_text() for f in files if f.exists())):
        assert SECRET_NAME not in text and "31415" not in text and "27182" not in text, text[-2000:]


@pytest.mark.parametrize("named", ["cases", "cases/link.toml"])
def test_finding_2_a_linked_case_file_outside_the_root_is_not_read(linked, named):
    """A .toml that is a link out of the project (found in a folder, or named itself) is refused with exit 2,
    before its names, expressions or values are read; the other cases are still checked."""
    for fmt in ("table", "json"):
        proc = run("check", named, "cases/good.toml", "--format", fmt, "--show", "--junit", "out.xml",
                   "--html", "out.html", cwd=linked)
        assert_exit(proc, 2, "link.toml", "resolves outside")
        _secret_not_shown(proc, linked / "out.xml", linked / "out.html")
        assert "good" in proc.stdout


def test_finding_2_a_link_that_stays_inside_is_read(linked):
    (linked / "cases" / "alias.toml").symlink_to("good.toml")
    (linked / "cases" / "link.toml").unlink()
    assert_exit(run("check", "cases", "cases/alias.toml", cwd=linked), 0)
    # the root widened to hold the secret folder lets a link to it in: the root is the grader's choice
    (linked / "cases" / "link.toml").symlink_to(linked.parent / "secret" / "marks.toml")
    assert_exit(run("check", "cases", "--root", "..", cwd=linked), 0)


def test_finding_2_the_pytest_plugin_does_not_follow_a_link_out_of_its_rootdir(linked):
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
                           "--rootdir", str(linked), "cases"], cwd=linked, capture_output=True, encoding="utf-8",
                          timeout=TIMEOUT, env=subprocess_env(NO_COLOR="1"), check=False)
    assert "1 failed, 1 passed" in proc.stdout, proc.stdout[-3000:]
    assert "resolves outside" in proc.stdout
    _secret_not_shown(proc)


# ----- finding 3: a locked run, and a budget for the whole run -------------------------------------------

# Each case loosens one key; ∂(x*y)/∂x is y, so the claims y*1.5 are 50 % off.
LOOSE = {
    "rtol": case("rtol", "x*y", at="{ x = 1, y = 2 }", grad='{ x = "y*1.5" }', rtol="0.9"),
    "atol": case("atol", "x*y", at="{ x = 1, y = 2 }", grad='{ x = "y*1.5" }', atol="1e300"),
    "expect": case("expect", "x*y", at="{ x = 1, y = 2 }", grad='{ x = "y*1.5" }', expect='"mismatch"'),
    "timeout": case("timeout", "x*y", timeout="0"),
    "dtype": case("dtype", "x*y", dtype='"float32"'),
}


def test_finding_3_case_files_choose_their_own_verdict_unless_the_run_is_locked(tmp_path):
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


def test_finding_3_the_locked_runs_limits_come_from_its_command_line(tmp_path):
    (tmp_path / "cases.toml").write_text(case("wider", "x*y", at="{ x = 1, y = 2 }", rtol="1e-3", atol="1e-9",
                                              timeout="300"))
    assert_exit(run("check", "cases.toml", "--locked", cwd=tmp_path), 2, "key 'rtol'")
    assert_exit(run("check", "cases.toml", "--locked", "--rtol", "1e-2", "--atol", "1e-6", "--timeout", "600",
                    cwd=tmp_path), 0)
    # --rtol for the run is the tolerance of every case that sets none: a wrong claim 1e-4 off now passes
    (tmp_path / "near.toml").write_text(case("near", "x*y", at="{ x = 1, y = 2 }", grad='{ x = "y*1.0001" }'))
    assert_exit(run("check", "near.toml", cwd=tmp_path), 1)
    assert_exit(run("check", "near.toml", "--rtol", "1e-3", cwd=tmp_path), 0)


def test_finding_3_a_budget_for_the_whole_run(tmp_path):
    """--run-timeout: the cases the run's budget leaves unchecked are timeout errors (exit 2), reported with
    the others, JUnit and HTML written. A budget that cannot be met: none is checked."""
    (tmp_path / "cases.toml").write_text(case("one", "x*y") + case("two", "sin(x)"))
    proc = run("check", "cases.toml", "--run-timeout", "1e-9", "--junit", "out.xml", "--html", "out.html",
               "--format", "json", cwd=tmp_path)
    assert_exit(proc, 2, "case 'one'", "case 'two'", "--run-timeout")
    assert [c["error"]["kind"] for c in json.loads(proc.stdout)["cases"]] == ["timeout", "timeout"]
    assert 'errors="2"' in (tmp_path / "out.xml").read_text() and (tmp_path / "out.html").exists()
    assert_exit(run("check", "cases.toml", "--run-timeout", "600", cwd=tmp_path), 0)
    assert_exit(run("check", "cases.toml", "--run-timeout", "0", cwd=tmp_path), 2)  # click: must be > 0


def test_finding_3_a_case_the_run_budget_ends_says_so(monkeypatch):
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
    assert result.error["kind"] == "timeout" and "run's time budget of 5 s (--run-timeout)" in result.verdict
    assert "ran out before" in C.run(spec).verdict  # the next case is not started


# ----- finding 5: --emit numpy with names the emitted code uses itself ------------------------------------

@pytest.mark.parametrize("names", [("f", "W"), ("np", "W"), ("_gc_value", "_gc_shape"), ("_gc_name", "ValueError"),
                                   ("f_and_gradient", "_gc_shapes")])
def test_finding_5_emitted_code_is_right_whatever_the_variables_are_called(tmp_path, names):
    a, b = names
    expr = f"sum(tanh({a} @ {b}) * {a}[0, 0]) + mean({b})"
    at = {a: "[[0.5, -1.0], [2.0, 0.25]]", b: "[[0.3, -0.7], [1.1, 0.2]]"}
    args = [x for name, value in at.items() for x in ("--at", f"{name}={value}")]
    done = run("eval", expr, *args, "--let", "f_=tanh(" + a + " @ " + b + ")", "--emit", "numpy")
    if done.returncode == 2 and "no matrix form" in done.stderr:  # x[0, 0] has none: without it
        expr = f"sum(tanh({a} @ {b}) * {a}) + mean({b})"
        done = run("eval", expr, *args, "--emit", "numpy")
    assert_exit(done, 0)
    (tmp_path / "emitted.py").write_text(done.stdout, encoding="utf-8")
    result = gradcheck.check(expr, at=at)
    driver = ("import json, sys, numpy as np\nsys.path.insert(0, sys.argv[1])\nimport emitted\n"
              "values = {k: np.array(v) for k, v in json.loads(sys.argv[2]).items()}\n"
              "f, grads = emitted.f_and_gradient(**values)\n"
              "print(json.dumps({'f': float(f), 'grads': {k: np.asarray(v).tolist() for k, v in grads.items()}}))\n")
    point = {k: np.asarray(v).tolist() for k, v in result.point.items()}
    ran = subprocess.run([sys.executable, "-c", driver, str(tmp_path), json.dumps(point)], capture_output=True,
                         text=True, timeout=TIMEOUT)
    assert ran.returncode == 0, ran.stderr
    out = json.loads(ran.stdout)
    assert out["f"] == pytest.approx(result.value, rel=1e-12)
    for name, g in result.gradients.items():
        np.testing.assert_allclose(out["grads"][name], g.columns["backprop"], rtol=1e-12, atol=1e-15)


# ----- finding 6: the user's code ending the program ---------------------------------------------------------

LAYERS = '''\
import sys
import numpy as np


def forward(x):
    return 2 * x, x


def exits(dout, cache):
    sys.exit(0)


def exits_with_text(dout, cache):
    raise SystemExit("done")


def calls_exit(dout, cache):
    exit()


def calls_quit(dout, cache):
    quit()


def base_exception(dout, cache):
    raise BaseException("boom")


def forward_exits(x):
    sys.exit(0)


def backward(dout, cache):
    return 2 * dout


def huge(x):
    return np.zeros(10_000_001), x
'''


@pytest.mark.parametrize("forward, backward, line", [
    ("forward", "exits", 10), ("forward", "exits_with_text", 14), ("forward", "calls_exit", 18),
    ("forward", "calls_quit", 22), ("forward", "base_exception", 26), ("forward_exits", "backward", 30),
])
def test_finding_6_sys_exit_or_a_base_exception_in_the_users_code_is_exit_2_naming_file_and_line(
        tmp_path, forward, backward, line):
    """A wrong backward that calls sys.exit(0) ended `gradcheck layer` with exit 0 and no output: CI read a pass."""
    (tmp_path / "layers.py").write_text(LAYERS)
    proc = run("layer", f"layers.py:{forward}", f"layers.py:{backward}", "--at", "x=randn(3)", cwd=tmp_path)
    assert_exit(proc, 2, f"layers.py:{line}")
    assert proc.stderr.startswith("gradcheck: error:") and len(messages(proc.stderr)) == 1


def test_finding_6_through_the_api_a_sys_exit_is_a_function_error():
    import sys as system

    def loss(x):
        return float(np.sum(x * x))

    def leaves(x):
        system.exit(0)

    with pytest.raises(gradcheck.FunctionError, match="sys.exit"):
        gradcheck.check_function(loss, leaves, [np.array([1.0, 2.0])])


# ----- finding 7: memory under the caps ---------------------------------------------------------------------

POOL_MEMORY = 64 << 20  # bytes: the 120×120 input is 115 kB; every window at once was 100-520 MB


@pytest.mark.parametrize("rule", ["conv2d_vjp_x", "max_pool2d_vjp", "max_pool2d_kink", "max_pool2d_complex",
                                  "avg_pool2d_vjp"])
def test_finding_7_pool_and_conv_backward_go_over_offsets_not_every_window_at_once(rule):
    """A 60×60 window sliding over a 120×120 x holds 13 million entries in all; the backward rules, the kink
    test and the complex step stay within a few tens of MB (tracemalloc), and agree with every window at once."""
    import tracemalloc

    from gradcheck.ops import convolution as C

    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 1, 120, 120))
    if rule == "conv2d_vjp_x":
        w = rng.standard_normal((1, 1, 60, 60))
        g = rng.standard_normal((1, 1, 61, 61))
        call = lambda: C.conv2d_vjp_x(g, None, x, w, np.zeros(1))  # noqa: E731
    elif rule == "max_pool2d_complex":
        call = lambda: C.max_pool2d_complex(x + 1e-20j, 60, 1)  # noqa: E731
    elif rule == "max_pool2d_kink":
        call = lambda: C.max_pool2d_kink(x, 60, 1)  # noqa: E731
    else:
        ans = (C.max_pool2d if rule == "max_pool2d_vjp" else C.avg_pool2d)(x, 60, 1)
        g = rng.standard_normal(ans.shape)
        call = lambda: getattr(C, rule)(g, ans, x, 60, 1)  # noqa: E731
    tracemalloc.start()
    try:
        call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < POOL_MEMORY, f"{peak / 2**20:.0f} MB"


def test_finding_7_the_rules_over_offsets_agree_with_every_window_at_once():
    from numpy.lib.stride_tricks import sliding_window_view

    from gradcheck.ops import convolution as C

    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 7, 7))
    x[0, 0, 0, 0] = x[0, 0, 0, 1]  # a tie in a window
    for size, stride in ((2, 1), (3, 2), (1, 1)):
        win = sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]
        ans = C.max_pool2d(x, size, stride)
        g = rng.standard_normal(ans.shape)
        mask = (win == ans[..., None, None]).astype(float)
        parts = g[..., None, None] * mask / mask.sum(axis=(4, 5), keepdims=True)
        expected = np.zeros_like(x)
        for i in range(size):
            for j in range(size):
                expected[:, :, i:i + stride * ans.shape[2]:stride, j:j + stride * ans.shape[3]:stride] += parts[..., i, j]
        np.testing.assert_allclose(C.max_pool2d_vjp(g, ans, x, size, stride), expected)
        kink = C.max_pool2d_kink(x, size, stride)
        flat = win.reshape(*win.shape[:4], -1)
        ordered = np.sort(flat, axis=-1)
        gap = ordered[..., -1] - (ordered[..., -2] if size > 1 else ordered[..., -1] - 1)
        np.testing.assert_allclose(kink[0], gap)  # the largest minus the next: 0 exactly at a tie
    # the complex step on the third of three tied entries still moves the tie apart: on the kink
    tied = np.zeros((1, 1, 2, 2))
    tied[0, 0, 1, 1] = -1.0
    step = np.zeros((1, 1, 2, 2), dtype=complex)
    step[0, 0, 1, 0] = 1e-20j
    gap = C.max_pool2d_kink(tied + step, 2)[0].ravel()[0]
    assert gap.real == 0 and gap.imag != 0
    w = rng.standard_normal((4, 3, 3, 3))
    out = C.conv2d(x, w, np.zeros(4), 2, 1)
    g = rng.standard_normal(out.shape)
    parts = np.einsum("nfhw,fcij->nchwij", g, w)
    expected = np.zeros((2, 3, 9, 9))
    for i in range(3):
        for j in range(3):
            expected[:, :, i:i + 2 * out.shape[2]:2, j:j + 2 * out.shape[3]:2] += parts[..., i, j]
    np.testing.assert_allclose(C.conv2d_vjp_x(g, out, x, w, None, 2, 1), expected[:, :, 1:8, 1:8])


def test_finding_7_a_case_file_larger_than_the_cap_is_refused_before_it_is_parsed(tmp_path):
    from gradcheck.batch.cases import MAX_CASE_FILE_BYTES

    (tmp_path / "big.toml").write_text(case("big", "x*y") + "# padding\n" * (MAX_CASE_FILE_BYTES // 10 + 1))
    (tmp_path / "good.toml").write_text(case("good", "x*x"))
    proc = run("check", ".", cwd=tmp_path, memory=MEMORY_LIMIT)
    assert_exit(proc, 2, "big.toml", f"{MAX_CASE_FILE_BYTES:,}")
    assert "good" in proc.stdout


def test_finding_7_a_layer_whose_output_is_beyond_the_cap_is_refused(tmp_path):
    (tmp_path / "layers.py").write_text(LAYERS)
    proc = run("layer", "layers.py:huge", "layers.py:backward", "--at", "x=randn(3)", cwd=tmp_path,
               memory=MEMORY_LIMIT)
    assert_exit(proc, 2, "10,000,001 entries", "the limit is 10,000,000")


# ----- finding 8: tracebacks that ended the whole run --------------------------------------------------------

BROKEN_CASES = {
    "nested": "[[case]]\nname = 'nested'\nexpr = 'x'\nat = { x = " + "[" * 500 + "1" + "]" * 500 + " }\n",
    "rtol": case("rtol", "x*y", rtol="9" * 400),
    "listed dims": case("listed dims", "sum(x)", at="{ x = " + "[" * 33 + "1.0" + "]" * 33 + " }"),
    "reshaped dims": case("reshaped dims", "sum(reshape(x, (" + ",".join(["1"] * 33) + ")))", at="{ x = [1.0] }"),
    "built dims": case("built dims", "sum(x * ones((" + ",".join(["1"] * 33) + ")))", at="{ x = 1.0 }"),
}


@pytest.mark.parametrize("kind", list(BROKEN_CASES))
def test_finding_8_a_broken_case_file_ends_that_case_or_file_with_exit_2_not_the_run(tmp_path, kind):
    (tmp_path / "broken.toml").write_text(BROKEN_CASES[kind])
    (tmp_path / "good.toml").write_text(case("good", "x*x"))
    proc = run("check", "broken.toml", "good.toml", "--junit", "out.xml", cwd=tmp_path)
    assert_exit(proc, 2, "broken.toml")
    assert "good" in proc.stdout and 'errors="1"' in (tmp_path / "out.xml").read_text()


@pytest.mark.parametrize("value, words", [
    ("randint(0,99999999999999999999999,(3,))", ["randint", "64-bit"]),
    ("randint(0,10,(" + "9" * 5000 + ",))", ["too large"]),
    ("randn(" + "9" * 5000 + ")", ["too large"]),
])
def test_finding_8_odd_layer_values_are_exit_2(tmp_path, value, words):
    (tmp_path / "layers.py").write_text(LAYERS)
    proc = run("layer", "layers.py:forward", "layers.py:backward", "--at", "x=randn(3)", "--at", f"y={value}",
               cwd=tmp_path)
    assert_exit(proc, 2, *words)


ODD = [None, True, 0, -1, 5, 10**400, -10**400, 1e308, float("nan"), float("inf"), "", "x", "5", [], [1], ["x"],
       {}, {"x": 1}, {1: 2}, object(), b"x", 1j, np.float64("nan"), np.array([1, 2]), Path("/nonexistent"),
       (lambda: 0), 2**63, 1e-320]
CHECK_PARAMETERS = ["expr", "at", "grad", "let", "wrt", "seed", "rtol", "atol", "mode", "method", "dtype", "order",
                    "strict", "timeout", "formulas", "name", "base", "npy_root"]
FUNCTION_PARAMETERS = ["inputs", "wrt", "seed", "rtol", "atol", "mode", "method", "strict", "timeout", "name",
                       "nondeterminism"]


def _only_gradcheck_errors(call) -> None:
    try:
        call()
    except gradcheck.GradcheckError:
        pass


def test_finding_8_the_api_raises_only_gradcheck_errors_for_odd_arguments():
    """check(base=5), check(npy_root=5), rtol=10**400, name=an array ...: a GradcheckError or a result, never
    a bare TypeError, ValueError or OverflowError (63 of 1,881 odd calls were)."""
    def loss(x):
        return float(np.sum(x * x))

    def grad(x):
        return 2 * x

    for value in ODD:
        for parameter in CHECK_PARAMETERS:
            given = {"at": "x=1,y=2"}
            if parameter == "expr":
                _only_gradcheck_errors(lambda: gradcheck.check(value, **given))  # noqa: B023
                continue
            given[parameter] = value
            _only_gradcheck_errors(lambda: gradcheck.check("x*y", **given))  # noqa: B023
        for parameter in FUNCTION_PARAMETERS:
            if parameter == "inputs":
                _only_gradcheck_errors(lambda: gradcheck.check_function(loss, grad, value))  # noqa: B023
            else:
                _only_gradcheck_errors(lambda: gradcheck.check_function(  # noqa: B023
                    loss, grad, [np.array([1.0, 2.0])], **{parameter: value}))  # noqa: B023
        for parameter in ("at", "let", "wrt", "seed"):
            _only_gradcheck_errors(lambda: gradcheck.trace("x*y", **{parameter: value}))  # noqa: B023


def test_finding_8_an_unexpected_exception_is_exit_3_naming_the_case_and_the_others_still_run(tmp_path,
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


def test_finding_8_a_worker_process_that_dies_ends_its_cases_as_internal_errors(monkeypatch):
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


def test_finding_8_the_command_line_never_shows_a_traceback_for_an_unexpected_exception(monkeypatch):
    from conftest import invoke

    from gradcheck.checks import expression as pipeline

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")
    monkeypatch.setattr(pipeline, "check", broken)
    done = invoke("eval", "x*y")
    assert done.exit_code == 3 and "internal error" in done.stderr and "ZeroDivisionError: a bug" in done.stderr


# ----- finding 9: unclear output ---------------------------------------------------------------------------

def test_finding_9_a_right_layer_at_1e308_says_why_nothing_was_compared_without_warnings(tmp_path):
    (tmp_path / "scaled.py").write_text("def forward(x, p):\n    return x * p, p\n\n\n"
                                        "def backward(dout, p):\n    return dout * p\n")
    proc = run("layer", "scaled.py:forward", "scaled.py:backward", "--at", "x=randn(3)", "--at", "p=1e308",
               cwd=tmp_path)
    assert "Warning" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "overflows float64" in proc.stdout


def test_finding_9_the_documented_limit_of_finite_differences_is_the_codes():
    import re

    from gradcheck.language.cost import MAX_NUMERIC_OPERATIONS

    root = Path(gradcheck.__file__).resolve().parents[1]
    texts = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    superscript = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
    found = [int(m.group(1).translate(superscript)) for path in texts if path.exists()
             for m in re.finditer(r"finite differences at 10([⁰¹²³⁴⁵⁶⁷⁸⁹]+)", path.read_text(encoding="utf-8"))]
    assert all(10 ** power == MAX_NUMERIC_OPERATIONS for power in found), found
