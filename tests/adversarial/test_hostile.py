"""Hostile input through every channel (issue 10): case files from an untrusted pull request, big
declared sizes, deep or exponential expressions, signals, odd option values.

Each numbered point of issue 10 that this suite holds has a test named test_item_N_...; the CLI paths run
the real console script, some under a 1 GB address-space limit (RLIMIT_AS) to prove a memory bound.
None may end in a traceback, a hang past its budget or a wrong exit code.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import HANG_GUARD, TEST_CLOCK, TICK, console_script, joined, run_script, subprocess_env

import gradcheck
from gradcheck import GradcheckError, SpecError, ValueSpecError

PACKAGE_ROOT = str(Path(gradcheck.__file__).resolve().parents[1])
TIMEOUT = HANG_GUARD  # seconds for one subprocess: a hang guard, not a speed target
MEMORY_LIMIT = 1 << 30  # bytes of address space a hostile run may use (issue 10: "more than 1 GB")


def env(clock: bool = False) -> dict[str, str]:
    """For the processes run_script cannot start (Popen, a shell): this checkout's code, no colors, a wide
    terminal; the test clock if asked."""
    return subprocess_env(NO_COLOR="1", COLUMNS="200", **(TEST_CLOCK if clock else {}))


def gradcheck_run(args: list[str], cwd: Path | str | None = None, memory: bool = False,
                  timeout: float = TIMEOUT, clock: bool = False) -> subprocess.CompletedProcess:
    return run_script(*args, cwd=cwd, timeout=timeout, memory=MEMORY_LIMIT if memory else None, COLUMNS="200",
                      **(TEST_CLOCK if clock else {}))


def assert_exit(proc: subprocess.CompletedProcess, code: int, *words: str) -> str:
    """The exit code, no traceback; for exit 2 a first line 'gradcheck: error:' holding every word."""
    assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    for stream in (proc.stdout, proc.stderr):
        assert "Traceback" not in stream, stream[-3000:]
    if code == 2:
        first = proc.stderr.split("\n", 1)[0]
        assert first.startswith("gradcheck: error:"), proc.stderr[:2000]
        for word in words:
            assert word in joined(proc.stderr), (word, proc.stderr[:2000])
    return proc.stderr


def toml_case(name: str, expr: str, **keys: str) -> str:
    lines = ["[[case]]", f"name = {json.dumps(name)}", f"expr = {json.dumps(expr)}"]
    lines += [f"{key} = {value}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def npy_header(path: Path, descr: str, shape: tuple[int, ...], payload: bytes = b"") -> None:
    from numpy.lib import format as npy_format

    with open(path, "wb") as stream:
        npy_format.write_array_header_1_0(stream, {"descr": descr, "fortran_order": False, "shape": shape})
        stream.write(payload)


# ----- item 1: .npy paths in case files stay inside the root ---------------------------------------
@pytest.fixture
def project(tmp_path):
    """tmp/secret/secret.npy outside the project; tmp/proj with data/ok.npy and a symlink pointing out."""
    (tmp_path / "secret").mkdir()
    np.save(tmp_path / "secret" / "secret.npy", np.array(SECRET))
    proj = tmp_path / "proj"
    (proj / "data").mkdir(parents=True)
    np.save(proj / "data" / "ok.npy", np.array([1.0, 2.0, 3.0]))
    (proj / "data" / "link.npy").symlink_to(tmp_path / "secret" / "secret.npy")
    return proj


# Values no output would hold by chance (the first test used 41 and 59, which a temporary folder's
# name, pytest-341, held one day).
SECRET = [31415.926, 27182.818, 14142.135]


def _assert_secret_not_shown(proc, project) -> None:
    """Not one of the secret's values in either stream, the temporary folders' names left out."""
    for stream in (proc.stdout, proc.stderr):
        shown = stream.replace(str(project.parent), "<tmp>")
        assert not any(str(v) in shown or f"{v:g}" in shown or str(int(v)) in shown for v in SECRET), shown[-500:]


@pytest.mark.parametrize("path, words", [
    ("../secret/secret.npy", ["resolves outside the root"]),
    ("data/../../secret/secret.npy", ["resolves outside the root"]),
    ("data/link.npy", ["resolves outside the root", "symlinks"]),
    ("ABSOLUTE", ["an absolute path"]),
])
def test_item_1_case_files_cannot_read_npy_outside_the_root(project, path, words):
    path = str(project.parent / "secret" / "secret.npy") if path == "ABSOLUTE" else path
    (project / "cases.toml").write_text(toml_case("leak", "sum(X*X)", at=f"{{ X = {json.dumps(path)} }}"))
    for fmt in ("table", "json"):
        proc = gradcheck_run(["check", "cases.toml", "--format", fmt, "--show"], cwd=project)
        assert_exit(proc, 2, "cases.toml:1", "case 'leak'", "at X", *words)
        _assert_secret_not_shown(proc, project)


def test_item_1_inside_the_root_and_with_root_option(project):
    (project / "cases.toml").write_text(toml_case("inside", "sum(X*X)", at='{ X = "data/ok.npy" }'))
    assert_exit(gradcheck_run(["check", "cases.toml"], cwd=project), 0)
    # a root that does not hold the data refuses it; one given explicitly that does, allows it
    sibling = project.parent / "elsewhere"
    sibling.mkdir()
    assert_exit(gradcheck_run(["check", str(project / "cases.toml"), "--root", str(sibling)], cwd=project), 2,
                "resolves outside the root")
    assert_exit(gradcheck_run(["check", "proj/cases.toml", "--root", "proj"], cwd=project.parent), 0)
    # --root widened to the parent lets the symlink's target in: the root is the user's choice
    (project / "cases.toml").write_text(toml_case("link", "sum(X*X)", at='{ X = "data/link.npy" }'))
    assert_exit(gradcheck_run(["check", "cases.toml", "--root", ".."], cwd=project), 0)


def test_item_1_command_line_and_api_paths_stay_free(project):
    secret = str(project.parent / "secret" / "secret.npy")
    assert_exit(gradcheck_run(["eval", "sum(X*X)", "--at", f"X={secret}"], cwd=project), 0)
    assert_exit(gradcheck_run(["eval", "sum(X*X)", "--at", "X=../secret/secret.npy"], cwd=project), 0)
    assert gradcheck.check("sum(X*X)", at={"X": secret}).status == "pass"


def test_item_1_pytest_plugin_confines_to_its_rootdir(project):
    (project / "test_cases.toml").write_text(
        toml_case("inside", "sum(X*X)", at='{ X = "data/ok.npy" }')
        + toml_case("leak", "sum(X*X)", at='{ X = "../secret/secret.npy" }'))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "--rootdir", str(project),
                           "-p", "no:cacheprovider", "test_cases.toml"], cwd=project, capture_output=True,
                          encoding="utf-8", timeout=TIMEOUT, env=env(), check=False)
    assert "1 failed, 1 passed" in proc.stdout, proc.stdout[-3000:]
    assert "resolves outside the root" in proc.stdout


# ----- item 5 (and 12): .npy headers are checked before any data is read ----------------------------
@pytest.mark.parametrize("kind, words", [
    ("1e9 int8 entries", ["1,000,000,000 entries", "limit is 10,000,000"]),
    ("1e12 float64 entries", ["entries", "limit is 10,000,000"]),
    ("complex", ["complex128", "not real numbers"]),
    ("object", ["not real numbers"]),
    ("structured", ["not real numbers"]),
    ("strings", ["not real numbers"]),
    ("call in header", ["header is not valid"]),
    ("truncated", ["shorter than its header says"]),
    ("text file", ["not a .npy file"]),
    ("symlink to text", ["not a .npy file"]),
    ("zip", ["not a .npy file"]),
    ("fifo", ["not a regular file"]),
    ("directory", ["not a regular file"]),
])
def test_item_5_npy_header_checked_before_data(tmp_path, kind, words):
    path = tmp_path / "w.npy"
    if kind == "1e9 int8 entries":  # a 4 KB sparse file that declares a gigabyte
        npy_header(path, "|i1", (10**9,), b"\0" * 4000)
    elif kind == "1e12 float64 entries":
        npy_header(path, "<f8", (10**6, 10**6))
    elif kind == "complex":
        npy_header(path, "<c16", (2,), b"\0" * 32)
    elif kind == "object":
        npy_header(path, "|O", (2,), b"\0" * 16)
    elif kind == "structured":
        np.save(path, np.zeros(2, dtype=[("a", "<f8"), ("b", "<i4")]))
    elif kind == "strings":
        np.save(path, np.array(["1", "2"]))
    elif kind == "call in header":
        from numpy.lib import format as npy_format
        header = b"{'descr': __import__('os').getcwd(), 'fortran_order': False, 'shape': (3,), }"
        header += b" " * (117 - len(header)) + b"\n"
        path.write_bytes(npy_format.MAGIC_PREFIX + b"\x01\x00" + len(header).to_bytes(2, "little") + header)
    elif kind == "truncated":
        npy_header(path, "<f8", (1000,), b"\0" * 80)
    elif kind == "text file":
        path.write_text("1, 2, 3\n")
    elif kind == "symlink to text":
        (tmp_path / "notes.txt").write_text("hello")
        path.symlink_to(tmp_path / "notes.txt")
    elif kind == "zip":
        path.write_bytes(b"PK\x03\x04 not really a zip")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    # refused from the header; the FIFO never blocks (a blocked read would end past the hang guard, a failure)
    stderr = assert_exit(gradcheck_run(["eval", "sum(w)", "--at", "w=w.npy"], cwd=tmp_path, memory=True), 2, "w.npy",
                         *words)
    assert "allow_pickle" not in stderr and "ast." not in stderr and "object at 0x" not in stderr
    with pytest.raises(ValueSpecError):
        gradcheck.check("sum(w)", at={"w": "w.npy"}, base=tmp_path)


def test_item_5_header_check_does_not_refuse_good_files(tmp_path):
    data = np.arange(6, dtype=">f4").reshape(2, 3)
    np.save(tmp_path / "F.npy", np.asfortranarray(data))
    np.save(tmp_path / "I.npy", np.arange(4, dtype=np.int16))
    result = gradcheck.check("sum(F*F) + sum(I*I)", at={"F": "F.npy", "I": "I.npy"}, base=tmp_path)
    assert np.array_equal(result.point["F"], data) and np.array_equal(result.point["I"], np.arange(4))
    assert result.status == "pass"


# ----- item 4 (and 12's BOM): no case file is skipped without a word --------------------------------
@pytest.mark.parametrize("kind, words", [
    ("latin-1", ["bad.toml:2", "not valid UTF-8", "0xe9"]),
    ("broken link", ["bad.toml", "cannot read", "broken link"]),
    ("fifo", ["bad.toml", "cannot read", "not a regular file"]),
])
def test_item_4_unreadable_case_file_in_a_folder_is_exit_2(tmp_path, kind, words):
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "good.toml").write_text(toml_case("good", "x*x"))
    bad = folder / "bad.toml"
    if kind == "latin-1":
        bad.write_bytes(b'[[case]]\nname = "caf\xe9"\nexpr = "x"\ngrad = { x = "2" }\n')  # a wrong claim, unseen
    elif kind == "broken link":
        bad.symlink_to(tmp_path / "nowhere.toml")
    else:
        os.mkfifo(bad)
    proc = gradcheck_run(["check", "cases"], cwd=tmp_path)
    assert_exit(proc, 2, *words)
    assert "good" in proc.stdout  # the other files still ran


def test_item_12_utf8_byte_order_mark_is_accepted(tmp_path):
    (tmp_path / "bom.toml").write_bytes(b"\xef\xbb\xbf" + toml_case("with a BOM", "x*x").encode())
    proc = gradcheck_run(["check", "bom.toml", "--format", "json"], cwd=tmp_path)
    assert_exit(proc, 0)
    assert [c["name"] for c in json.loads(proc.stdout)["cases"]] == ["with a BOM"]


# ----- item 10 (and 7's budget): every check has a budget, from any thread, without touching others' timers ----
# Budgets run on the test clock (tests/conftest.py's TICK seconds a look, gradcheck/budget.py) or on work whose
# cost is certain (a sleep), never on how fast the machine happens to be.
SLOW = ("sum(sin(X) * cos(X))", {"X": "randn(1000)"})  # 1,000 entries differenced one by one: > 1,000 looks


def test_item_10_timeout_names_the_step_and_works_in_a_thread(ticking_clock):
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


def test_item_10_check_function_has_a_timeout_in_a_thread():
    from concurrent.futures import ThreadPoolExecutor

    def f(v):  # work of certain cost on the real clock: the three calls timed to plan the check take 0.3 s or
        time.sleep(0.1)  # more, so even the smallest plan (checks/planning.py) cannot fit and the budget ends it
        return float(np.sum(v**2))

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(lambda: gradcheck.check_function(f, lambda v: 2 * v, np.ones(200), timeout=0.3))
        with pytest.raises(gradcheck.GradcheckError, match="time budget of 0.3 s"):
            future.result(timeout=HANG_GUARD)


def test_item_10_the_default_budget_applies_when_none_is_given(monkeypatch, ticking_clock):
    import gradcheck.base.budget

    monkeypatch.setattr(gradcheck.base.budget, "DEFAULT_TIMEOUT", 0.3)
    with pytest.raises(gradcheck.GradcheckError, match="time budget of 0.3 s"):
        gradcheck.check(SLOW[0], at=SLOW[1], mode="full")


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="POSIX interval timers only")
def test_item_10_a_callers_itimer_survives_a_check():
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


def test_item_10_console_script_timeout_zero_and_nonsense(tmp_path):
    assert_exit(gradcheck_run(["eval", "x*y", "--at", "x=1,y=2", "--timeout", "0"]), 0)
    for bad in ("-1", "abc", "nan"):
        proc = gradcheck_run(["eval", "x*y", "--timeout", bad])
        assert proc.returncode == 2 and "Traceback" not in proc.stderr and "--timeout" in joined(proc.stderr), proc.stderr
    (tmp_path / "c.toml").write_text(toml_case("slow", SLOW[0], at='{ X = "randn(1000)" }', mode='"full"',
                                               timeout="0.5"))
    assert_exit(gradcheck_run(["check", "c.toml"], cwd=tmp_path, clock=True), 2, "time budget of 0.5 s",
                "numeric step")


# ----- items 6 and 7: recursion and exponential work are bounded across --let names -----------------
def lets(template: str, count: int, first: str) -> list[str]:
    """--let a1=FIRST --let a2=TEMPLATE(a1) ... as command-line arguments."""
    args = ["--let", f"a1={first}"]
    for i in range(2, count + 1):
        args += ["--let", f"a{i}={template.format(prev=f'a{i - 1}')}"]
    return args


def test_item_6_a_chain_of_300_let_names_is_refused_not_a_traceback():
    chain = lets("sin({prev})", 300, "sin(x)")
    for extra in ([], ["--grad", "x=1"], ["--order", "2"], ["--formulas"]):
        assert_exit(gradcheck_run(["eval", "a300", *chain, "--at", "x=0.5", *extra]), 2,
                    "nests function calls and powers 300 deep", "--let names", "limit is 100")


def test_item_6_recursion_never_escapes_through_the_api(monkeypatch):
    import gradcheck.language.cost

    monkeypatch.setattr(gradcheck.language.cost, "MAX_DAG_NESTING", 10**6)  # past the guard: the backstop must hold
    let = {"a1": "sin(x)", **{f"a{i}": f"sin(a{i - 1})" for i in range(2, 3001)}}
    for options in ({"grad": {"x": "1"}}, {"formulas": True}, {"order": 2}):
        try:
            result = gradcheck.check("a3000", at="x=0.5", let=let, timeout=HANG_GUARD, **options)
        except GradcheckError as exc:  # refused as input: fine; a RecursionError would fail the test
            assert "nested too deeply" in str(exc) or "--order 2" in str(exc), exc
        else:
            assert result.status in ("pass", "mismatch")


@pytest.mark.parametrize("levels", [16, 60])
def test_item_7_a_dag_of_let_names_is_not_exponential(levels):
    dag = lets("sin({prev}) + cos({prev})", levels, "sin(x) + cos(x)")
    # On the test clock, 30 s is 3,000 looks at the clock (every SymPy derivative, every difference takes one):
    # the work is counted, not timed, and 2**60 paths would take more.
    proc = gradcheck_run(["eval", f"a{levels}", *dag, "--at", "x=0.5", "--grad", "x=1", "--formulas",
                          "--format", "json", "--timeout", "30"], clock=True)
    assert_exit(proc, 1)  # the claim is wrong; every oracle still ran
    gradient = json.loads(proc.stdout)["cases"][0]["gradients"]["x"]
    assert gradient["symbolic"] == pytest.approx(gradient["backprop"], rel=1e-9)


@pytest.mark.parametrize("args, words", [
    (["eval", "sum(A @ B @ C)", "--at", "A=randn(3000,3000),B=randn(3000,3000),C=randn(3000,3000)"],
     ["one evaluation of f", "limit is 1,000,000,000"]),
    (["eval", "sum(A @ B)", "--at", "A=randn(300,300),B=randn(300,300)", "--mode", "full"],
     ["finite differences would take", "limit is 100,000,000,000"]),
    (["eval", "logsumexp(A @ x)", "--at", "A=randn(40,40),x=randn(40)", "--wrt", "x", "--order", "2"],
     ["--order 2", "1,600 second derivatives", "--wrt"]),
], ids=["A@B@C 3000", "full mode on a big product", "Hessian of logsumexp(A @ x)"])
def test_item_7_and_12_costly_checks_are_refused_up_front(args, words):
    # up front: on the test clock with a budget of 0.05 s (5 looks), any step past the estimate would run out
    assert_exit(gradcheck_run([*args, "--timeout", "0.05"], memory=True, clock=True), 2, *words)


def test_item_7_formulas_are_bounded():
    proc = gradcheck_run(["eval", "sin(1 + (exp(z) + z + 1)**3)", "--formulas", "--timeout", "20"], clock=True)
    assert_exit(proc, 0)
    assert "∂f/∂z = " in proc.stdout


# ----- item 8: fast mode's cost is bounded by the number of arrays, not of scalar variables ---------
def _sines(count: int, wrong: tuple[str, ...] = ()):
    """f = Σ sin over `count` 0-d inputs and one 3,000-entry array, its gradient (wrong for `wrong`), and a
    list that counts f's evaluations."""
    calls: list[int] = []
    inputs = {**{f"s{i}": np.array(0.01 * i) for i in range(count)}, "W": np.linspace(-1, 1, 3000)}

    def f(**xs):
        calls.append(1)
        return float(sum(np.sin(v).sum() for v in xs.values()))

    def grad_f(**xs):
        g = {k: np.cos(v) for k, v in xs.items()}
        for name in wrong:
            g[name] = -2 * g[name]
        return g

    return f, grad_f, inputs, calls


def test_item_8_fast_mode_costs_the_same_for_40_or_400_scalar_variables():
    from gradcheck.base.limits import FAST_PROBES
    from gradcheck.verdict.pool import PoolShare

    counts = []
    for count in (40, 400):
        f, grad_f, inputs, calls = _sines(count)
        result = gradcheck.check_function(f, grad_f, inputs, mode="fast", method="central")
        assert result.status == "pass", result.verdict
        assert isinstance(result.gradients["s3"].columns["numeric"], PoolShare)  # probed with the others
        counts.append(len(calls))
    arrays = 2  # W, and the pool of the scalars
    assert max(counts) <= 4 * 2 * FAST_PROBES * arrays + 4, counts  # central differences: 4 evaluations each
    assert counts[1] == counts[0], counts  # ten times the scalars, not one evaluation more


def test_item_8_a_wrong_scalar_among_400_is_reported_as_itself_at_a_bounded_cost():
    f, grad_f, inputs, calls = _sines(400, wrong=("s42", "s317"))
    result = gradcheck.check_function(f, grad_f, inputs, mode="fast", method="central")
    failing = {name for name, g in result.gradients.items() if g.status != "pass"}
    assert result.status == "mismatch" and failing == {"s42", "s317"}, result.verdict
    assert "claimed disagrees with numeric" in result.gradients["s42"].verdict
    assert len(calls) < 400, len(calls)  # differencing every scalar would take 1,600


def test_item_8_the_pool_traces_a_wrong_vjp_rule_to_its_variable(monkeypatch):
    """An expression whose backprop is wrong for one of 40 scalar variables, in fast mode: the pooled
    probes disagree, bisection finds the variable, and only it is reported."""
    from dataclasses import replace

    from gradcheck.ops import registry as primitives

    tanh = primitives.FUNCTIONS["tanh"]
    monkeypatch.setitem(primitives.FUNCTIONS, "tanh", replace(tanh, vjps=(lambda g, ans, x: 2 * g * (1 - ans**2),)))
    expr = "sum(sin(W)) + tanh(s7) + " + " + ".join(f"cos(s{i})" for i in range(40) if i != 7)
    at = {"W": np.linspace(-1, 1, 2000), **{f"s{i}": 0.05 * i for i in range(40)}}
    result = gradcheck.check(expr, at=at, mode="fast")
    failing = {name: g for name, g in result.gradients.items() if g.status != "pass"}
    assert set(failing) == {"s7"}, result.verdict
    # symbolic is skipped at this size: the pool's probes are the only check of backprop's s7
    assert failing["s7"].columns["symbolic"] is None and failing["s7"].numeric_mode == "full"
    assert failing["s7"].verdict.startswith("backprop ≠ numeric"), failing["s7"].verdict
    assert result.gradients["s8"].numeric_mode == "fast" and "small variables" in result.gradients["s8"].notes["numeric"]


def test_item_8_a_pooled_variable_at_its_kink_is_found_and_reported_as_a_kink():
    """One of 40 scalar inputs sits on relu's kink: every pool direction goes through it, so the pool
    finds it by bisection, differences it alone (left and right derivatives), and probes the rest."""
    scalars = {f"s{i}": np.array(0.1 * i - 2) for i in range(40)}  # s20 is exactly 0
    inputs = {**scalars, "W": np.linspace(-1, 1, 3000)}

    def f(**xs):
        return float(sum(np.maximum(v, 0).sum() for v in xs.values()))

    def subgradient(**xs):
        return {k: (v > 0).astype(float) for k, v in xs.items()}

    result = gradcheck.check_function(f, subgradient, inputs, mode="fast")
    assert result.status == "kink" and result.gradients["s20"].status == "kink", result.verdict
    (_, left, right), = result.gradients["s20"].kinks
    assert left == pytest.approx(0.0, abs=1e-6) and right == pytest.approx(1.0, rel=1e-6)
    assert "8 random directions" in result.gradients["s3"].notes["numeric"]  # none lost to the kink

    def outside(**xs):
        return {**subgradient(**xs), "s20": np.array(3.0)}

    wrong = gradcheck.check_function(f, outside, inputs, mode="fast")
    assert wrong.status == "mismatch" and "outside the one-sided derivatives" in wrong.gradients["s20"].verdict


def test_item_8_console_script_with_60_scalar_variables_in_fast_mode():
    expr = " + ".join(f"sin(s{i})" for i in range(60))
    at = ",".join(f"s{i}={0.01 * i:g}" for i in range(60))
    proc = gradcheck_run(["eval", expr, "--at", at, "--mode", "fast", "--format", "json"])
    assert_exit(proc, 0)
    gradients = json.loads(proc.stdout)["cases"][0]["gradients"]
    assert {g["numeric_mode"] for g in gradients.values()} == {"fast"}
    table = gradcheck_run(["eval", expr, "--at", at, "--mode", "fast"])
    assert_exit(table, 0)
    assert "and 57 more: fast mode: probed with the other small variables" in " ".join(table.stdout.split())


# ----- item 11 (the expression part): the complex step only where it is valid -----------------------
def test_item_11_odd_power_of_a_negative_base_passes():
    """pow's complex form raises a whole-number exponent by repeated squaring, so the complex step is
    exact at a negative base too (np.power goes through log(x) above 100 and lost it: 881,622 for 101)."""
    proc = gradcheck_run(["eval", "x**101 * y + x**-101", "--at", "x=-1,y=2", "--format", "json"])
    assert_exit(proc, 0)
    gradients = json.loads(proc.stdout)["cases"][0]["gradients"]
    assert gradients["x"]["numeric_method"] == "complex" and gradients["y"]["numeric_method"] == "complex"
    assert gradients["x"]["numeric"] == pytest.approx(101 * 2 - 101, rel=1e-13)  # 101·x¹⁰⁰·y − 101·x⁻¹⁰²
    forced = gradcheck_run(["eval", "x**1001", "--at", "x=-1.0001", "--method", "complex", "--format", "json"])
    assert_exit(forced, 0)
    x = json.loads(forced.stdout)["cases"][0]["gradients"]["x"]
    assert x["numeric"] == pytest.approx(1001 * (-1.0001) ** 1000, rel=1e-13)


def test_item_11_a_tower_of_60_squarings_passes():
    squarings = lets("{prev}**2", 60, "x**2")
    proc = gradcheck_run(["eval", "a60", *squarings, "--at", "x=1", "--format", "json"])
    assert_exit(proc, 0)
    x = json.loads(proc.stdout)["cases"][0]["gradients"]["x"]
    assert x["numeric_method"] == "complex" and x["numeric"] == pytest.approx(2.0**60, rel=1e-12)


# ----- items 9 and 12: signals end the workers, leave no partial report, exit 130/143; -j is capped --------
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
def test_item_9_a_signal_ends_the_workers_and_leaves_no_partial_junit(tmp_path, signum, code, words):
    # A quick first case (run in the parent before it forks), then work no machine ends soon: each case
    # differences 20,000 entries one by one, 80,000 evaluations of f, at least a second even for Python's
    # overhead alone, and the workers are stopped as soon as both have started.
    (tmp_path / "slow.toml").write_text(toml_case("quick", "x*y") + "".join(
        toml_case(f"slow {i}", "sum(sin(X) * cos(X))", at='{ X = "randn(20000)" }', mode='"full"', timeout="0")
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


def test_item_9_jobs_capped_at_the_cores_unless_forced(tmp_path):
    (tmp_path / "c.toml").write_text("".join(toml_case(f"c{i}", "x*y") for i in range(4)))
    proc = gradcheck_run(["check", "c.toml", "-j", "1000"], cwd=tmp_path)
    assert_exit(proc, 0)
    assert f"-j 1000 capped at {os.cpu_count()}" in joined(proc.stderr)
    forced = gradcheck_run(["check", "c.toml", "-j", "3", "--force-jobs"], cwd=tmp_path)
    assert_exit(forced, 0)
    assert "capped" not in forced.stderr
    for bad in ("0", "-1", "many"):
        nonsense = gradcheck_run(["check", "c.toml", "-j", bad], cwd=tmp_path)
        assert nonsense.returncode == 2 and "Traceback" not in nonsense.stderr and "-j" in joined(nonsense.stderr)


def test_item_9_junit_written_whole(tmp_path):
    (tmp_path / "c.toml").write_text(toml_case("c", "x*y"))
    (tmp_path / "report.xml").write_text("the previous report")
    assert_exit(gradcheck_run(["check", "c.toml", "--junit", "report.xml"], cwd=tmp_path), 0)
    import xml.etree.ElementTree as ElementTree

    assert ElementTree.parse(tmp_path / "report.xml").getroot().iter("testcase")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml", "report.xml"]


# ----- every input channel at once: one hostile pull request through the console script -------------
HOSTILE_CASES = {  # name -> (the case's TOML keys, the status it must end in)
    "control characters in the name \u0007\u001b[2J": ({"expr": '"x*y"'}, "pass"),
    "[/] markup [link=https://example.com]click[/link]": ({"expr": '"x*y"'}, "pass"),
    "expr payload": ({"expr": '"__import__(\'os\').system(\'true\')"'}, "error"),
    "expr NUL": ({"expr": '"x\\u0000y"'}, "error"),
    "expr 20000 characters": ({"expr": json.dumps("x+" * 10_000 + "x")}, "error"),
    "let payload": ({"expr": '"z*x"', "let": '{ z = "open(\'/etc/passwd\')" }'}, "error"),
    "grad for an unknown variable": ({"expr": '"x*y"', "grad": '{ q = "1" }'}, "error"),
    "grad payload": ({"expr": '"x*y"', "grad": '{ x = "eval(\'y\')" }'}, "error"),
    "at is a string of junk": ({"expr": '"x"', "at": '"x=;rm -rf /"'}, "error"),
    "at boolean": ({"expr": '"x"', "at": "{ x = true }"}, "error"),
    "at datetime": ({"expr": '"x"', "at": "{ x = 1979-05-27T07:32:00Z }"}, "error"),
    "at nan and inf": ({"expr": '"x*y"', "at": "{ x = nan, y = inf }"}, "error"),
    "at huge integer": ({"expr": '"x"', "at": "{ x = 9223372036854775807 }"}, "pass"),
    "at nested table": ({"expr": '"x"', "at": "{ x = { y = 1 } }"}, "error"),
    "at randn of a gigabyte": ({"expr": '"sum(X)"', "at": '{ X = "randn(100000,100000)" }'}, "error"),
    "at .npy outside": ({"expr": '"sum(X)"', "at": '{ X = "../outside.npy" }'}, "error"),
    "at /dev/zero.npy": ({"expr": '"sum(X)"', "at": '{ X = "/dev/zero.npy" }'}, "error"),
    "unknown key": ({"expr": '"x"', "exprr": '"y"'}, "error"),
    "seed negative": ({"expr": '"x"', "seed": "-1"}, "error"),
    "timeout negative": ({"expr": '"x"', "timeout": "-5"}, "error"),
    "timeout nan": ({"expr": '"x"', "timeout": "nan"}, "error"),
    "rtol inf": ({"expr": '"x"', "rtol": "inf"}, "error"),
    "mode nonsense": ({"expr": '"x"', "mode": '"fastest"'}, "error"),
    "method nonsense": ({"expr": '"x"', "method": '"magic"'}, "error"),
    "order 3": ({"expr": '"x"', "order": "3"}, "error"),
    "dtype float16": ({"expr": '"x"', "dtype": '"float16"'}, "error"),
    "wrt list of numbers": ({"expr": '"x"', "wrt": "[1, 2]"}, "error"),
    "deep let chain": ({"expr": '"a120"', "let": "{ " + ", ".join(
        ["a1 = \"sin(x)\""] + [f'a{i} = "sin(a{i - 1})"' for i in range(2, 121)]) + " }"}, "error"),
}


NAMES_SHOWN_AS_TEXT = 2  # the first two cases: names that are markup or escapes (items 2-3, the renderer's)


def hostile_case_file(cases: dict) -> str:
    return "".join("[[case]]\n" + f"name = {json.dumps(name)}\n" + "".join(f"{k} = {v}\n" for k, v in keys.items())
                   for name, (keys, _) in cases.items())


def test_every_channel_of_a_hostile_case_file(tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    np.save(tmp_path / "outside.npy", np.array([1.0, 2.0]))
    (project / "pr.toml").write_text(hostile_case_file(HOSTILE_CASES))
    proc = gradcheck_run(["check", "pr.toml", "--format", "json"], cwd=project, memory=True)  # the default budget
    assert_exit(proc, 2)
    got = {case["name"]: case["status"] for case in json.loads(proc.stdout)["cases"]}
    assert got == {name: status for name, (_, status) in HOSTILE_CASES.items()}
    # The table, without the hostile names (shown literally by the renderer: its own tests hold that)
    plain_names = dict(list(HOSTILE_CASES.items())[NAMES_SHOWN_AS_TEXT:])
    (tmp_path / "table.toml").write_text(hostile_case_file(plain_names))
    table = gradcheck_run(["check", str(tmp_path / "table.toml"), "--root", str(project)], cwd=project, memory=True)
    assert_exit(table, 2)
    assert "\x1b" not in table.stdout  # NO_COLOR
    assert sorted(p.name for p in project.iterdir()) == ["pr.toml"]  # nothing ran, nothing was written


@pytest.mark.parametrize("args", [
    ["eval", "x", "--seed", "-3"], ["eval", "x", "--rtol", "abc"], ["eval", "x", "--atol", "-1"],
    ["eval", "x", "--mode", "turbo"], ["eval", "x", "--method", ""], ["eval", "x", "--order", "0"],
    ["eval", "x", "--dtype", "int8"], ["eval", "x", "--format", "xml"], ["eval", "x", "--wrt", ",,,"],
    ["eval", "x", "--at", "=1"], ["eval", "x", "--let", "x"], ["eval", "x", "--grad", "x"],
    ["check", "nowhere.toml"], ["check", ".", "--root", "/nonexistent/dir"], ["check", ".", "-k", "["],
    ["eval", "x", "--timeout", "1e400"],
])
def test_cli_options_with_nonsense_values(tmp_path, args):
    proc = gradcheck_run(args, cwd=tmp_path)
    assert proc.returncode == 2, (args, proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.startswith(("gradcheck: error:", "Usage:")), proc.stderr


# ----- a property: no generated case file ends in a foreign exception, a hang, or a wrong status ---------
from hypothesis import HealthCheck, given, settings  # noqa: E402 - the property's imports, with it
from hypothesis import strategies as st  # noqa: E402

PROPERTY_EXAMPLES = 25  # each writes and runs one case file; ~15 s in all on a shared 2-core machine
PROPERTY_BUDGET = 5.0  # seconds per case (--timeout): a case that runs out is an error result, as due
HOSTILE_TEXT = st.sampled_from([
    "x*y", "sin(x)", "sum(X)", "x**10**10**10", "((((((x))))))", "[/]", "\u001b[2J", "\u0000", "../x.npy",
    "/etc/passwd.npy", "randn(100000,100000)", "x=1,y=2", "open('f')", "a" * 300, "σ(x)", "", " ", "1e400",
    "x" + "+x" * 2000, "-" * 3000 + "x", "exp(1000)", "log(x)", "1/x", "x.T", "X @ X", "max(x, 0)",
])
TOML_VALUE = st.recursive(
    st.one_of(HOSTILE_TEXT.map(json.dumps), st.integers(-(2**63), 2**63 - 1).map(str),
              st.sampled_from(["nan", "inf", "-inf", "1e308", "true", "false", "1979-05-27T07:32:00Z", "0.5"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
                            st.dictionaries(st.sampled_from(["x", "y", "X", "z", "q"]), inner, max_size=3).map(
                                lambda d: "{ " + ", ".join(f"{k} = {v}" for k, v in d.items()) + " }")),
    max_leaves=4)
KEYS = ["name", "expr", "at", "let", "grad", "wrt", "seed", "rtol", "atol", "mode", "method", "timeout", "dtype",
        "order", "expect", "exprr", "bogus"]


@st.composite
def hostile_case_files(draw) -> bytes:
    if draw(st.integers(0, 9)) == 0:  # now and then, bytes that are not UTF-8 or not TOML at all
        return draw(st.binary(max_size=60))
    tables = []
    for _ in range(draw(st.integers(1, 3))):
        keys = draw(st.dictionaries(st.sampled_from(KEYS), TOML_VALUE, max_size=6))
        keys.setdefault("expr", draw(HOSTILE_TEXT.map(json.dumps)))
        keys["timeout"] = str(PROPERTY_BUDGET)
        tables.append("[[case]]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items()))
    return "".join(tables).encode()


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(content=hostile_case_files())
def test_property_hostile_case_files_end_cleanly(tmp_path_factory, content):
    from gradcheck.batch.cases import load, run

    folder = tmp_path_factory.mktemp("pr")
    path = folder / "case.toml"
    path.write_bytes(content)
    for spec in load(path, root=folder):
        result = run(spec)  # input errors become results (a timeout too); anything else raised fails the property
        assert result.status in {"pass", "mismatch", "kink", "error"}
        if result.status == "error":
            assert result.error["kind"] in {"parse", "value", "spec", "domain", "shape", "timeout", "input"}
            assert "Traceback" not in result.verdict and "object at 0x" not in result.verdict


# ----- item 12: values through the API are real numbers ----------------------------------------------
@pytest.mark.parametrize("given, words", [
    (np.array(["1", "2"]), "dtype is <U1"),
    (np.array([True, False]), "dtype is bool"),
    (True, "is not a number"),
    (np.datetime64("2020-01-01"), "datetime64"),
    (np.ma.array([1.0, 2.0], mask=[0, 1]), "masked array"),
    ([1.0, "a"], "not a number"),
    ([1 + 2j], "complex"),
    (10**400, "does not fit a float64"),
    (object(), "not a number"),
])
def test_item_12_api_at_values_are_real_numbers(given, words):
    with pytest.raises(ValueSpecError, match=words.replace("(", r"\(")) as caught:
        gradcheck.check("sum(x * x)", at={"x": given})
    assert "\n" not in str(caught.value)


def test_item_12_api_at_still_takes_numbers_fractions_and_arrays():
    from fractions import Fraction

    for value in (2, 2.5, Fraction(1, 3), np.float32(2), np.arange(3), [[1, 2], [3, 4]], np.int8(3)):
        # integer arrays are data unless --wrt names them (the one rule, docs/conventions.md)
        assert gradcheck.check("sum(x * x)", at={"x": value}, wrt="x").status == "pass"
    with pytest.raises(SpecError, match="written as whole numbers"):
        gradcheck.check("sum(x * x)", at={"x": np.arange(3)})
