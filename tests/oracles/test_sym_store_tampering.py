"""The symbolic store kept on disk, in a cache folder others may share or tamper with: only the user's
own private folders are used and pruned, links are never followed, an entry that is not a regular file,
too large, or not what SymPy writes for its call is ignored, and a tampered entry can only make the
symbolic column disagree, never pass a wrong claim or change the formula shown. Store tests run
in-process against a store folder of their own.
"""

from __future__ import annotations

import json
import os
import signal
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from conftest import NEURON, NEURON_AT
from hostile_input import MEMORY_LIMIT, TIMEOUT, assert_exit, run

import gradcheck
from gradcheck.oracles import sym_chain, sym_store


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


def test_a_link_in_the_cache_folder_is_never_followed_when_pruning(store, tmp_path):
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


def test_only_the_users_own_private_folders_are_pruned(store):
    """A folder of old installations that others may write to is not the user's to empty."""
    _old_folders(store, sym_store.MAX_FOLDERS + 2)
    shared = store / "symbolic-old0"
    shared.chmod(0o777)
    os.utime(shared, (1, 1))
    gradcheck.check("x*y", at="x=1,y=2")
    assert (shared / "x.json").exists()


@pytest.mark.parametrize("how", ["world-writable", "group-writable", "a link", "another user's"])
def test_a_store_folder_that_is_not_the_users_own_is_not_used(store, tmp_path, how):
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


def test_an_entry_planted_in_an_unsafe_folder_is_not_read(store):
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
def test_an_entry_that_is_not_a_regular_file_is_skipped_not_read(tmp_path, plant):
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


def test_an_entry_larger_than_the_cap_is_not_read(store, monkeypatch):
    """A tampered entry padded past MAX_ENTRY_BYTES is not read (its size is checked before reading)."""
    gradcheck.check(NEURON, at=NEURON_AT)
    path = _tamper_sigmoid(store)
    monkeypatch.setattr(sym_store, "MAX_ENTRY_BYTES", 10_000)
    path.write_text(path.read_text() + " " * 20_000)
    _forget()
    result = gradcheck.check(NEURON, at=NEURON_AT)
    assert result.gradients["w0"].columns["symbolic"] == pytest.approx(result.gradients["w0"].columns["backprop"])


def test_registers_outside_the_call_are_ignored_not_a_crash(store):
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
def test_a_huge_stored_number_is_refused_when_read(number):
    """A stored constant with a huge exponent or mantissa (mpmath would work on it until the budget) is
    not a number SymPy wrote for a float64 f: the program is refused as it is read."""
    from gradcheck.oracles.sym_eval import Program

    with pytest.raises(ValueError):
        Program.load({"inputs": 1, "steps": [["n", number], ["exp", 1]], "result": 2})


def test_a_program_that_squares_its_way_to_a_huge_number_ends_at_once():
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


def test_a_program_longer_than_sympy_writes_for_its_call_is_ignored(store, monkeypatch):
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


def test_mutated_store_entries_never_crash_or_pass_a_wrong_claim(store):
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


def test_an_expected_mismatch_is_met_only_by_the_claim(store):
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


def test_the_right_formula_shown_is_checked_not_read_from_the_store_unchecked(store):
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


def test_a_relative_xdg_cache_home_is_ignored(tmp_path, monkeypatch):
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
