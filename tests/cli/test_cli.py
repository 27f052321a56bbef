"""The command line, end to end, two ways.

- Through the real console script `gradcheck` (and `python -m gradcheck`) in subprocesses: a
  module-scoped fixture launches a fixed batch of commands once, concurrently, some of them on a
  pseudo-terminal, and the tests read the cached results.
- Through click.testing.CliRunner on gradcheck.cli.main, in-process, for everything else.

The subprocesses get PYTHONPATH pointing at the checkout whose `gradcheck` these tests import, so the
installed script runs the code under test even when the editable install points at another tree.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations
from pathlib import Path

import click
import numpy as np
import pytest
from conftest import (  # noqa: F401
    CLEAN_ENV,
    HANG_GUARD,
    LET_Z,
    NEURON,
    NEURON_AT,
    NEURON_VARS,
    PACKAGE_ROOT,
    RIGHT_W0,
    WRONG_W0,
    console_script,
    invoke,
    joined,
    make_runner,
    messages,
    run_script,
    subprocess_env,
)
from table_text import REL, parse_gradients

import gradcheck
from gradcheck.ops.registry import FUNCTIONS

TIMEOUT = HANG_GUARD  # seconds for one subprocess: a hang guard, not a speed target

CS231N = "(x+y)*z"
CS231N_AT = "x=-2,y=5,z=-4"

WRONG_CLAIM_ARGS = ["eval", "sigmoid(z)", "--let", LET_Z, "--at", NEURON_AT, "--grad", WRONG_W0]
RIGHT_CLAIM_ARGS = ["eval", "sigmoid(z)", "--let", LET_Z, "--at", NEURON_AT, "--grad", RIGHT_W0]
WRONG_VERDICT = "✗ ∂f/∂w0: claimed disagrees with symbolic = backprop = numeric"

EXACT_REL = 1e-12  # symbolic and backprop
NUMERIC_REL = 1e-8  # finite differences
ORACLES = ("symbolic", "backprop", "numeric")
STATUSES = {"pass", "mismatch", "kink", "inconclusive", "contract", "error"}
ERROR_KINDS = {"parse", "value", "spec", "domain"}


# ----- the exact math ----------------------------------------------------------------------------
def neuron_exact() -> tuple[float, dict[str, float]]:
    """f and ∂f/∂each of the CS231n neuron at NEURON_AT, by hand with the math module."""
    w0, w1, w2, x0, x1 = 2.0, -3.0, -3.0, -1.0, -2.0
    z = w0 * x0 + w1 * x1 + w2
    assert z == 1.0
    sigma = 1 / (1 + math.exp(-z))
    d = sigma * (1 - sigma)
    return sigma, {"w0": x0 * d, "x0": w0 * d, "w1": x1 * d, "x1": w1 * d, "w2": d}


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


# ----- output helpers ----------------------------------------------------------------------------
SGR = re.compile(r"\x1b\[([0-9;]*)m")
ANY_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
COLOR_PARAMS = set(range(30, 38)) | {38} | set(range(40, 48)) | {48} | set(range(90, 98)) | set(range(100, 108))


def color_codes(text: str) -> set[int]:
    """The foreground/background color parameters of every SGR sequence in text (bold, dim etc. ignored)."""
    found = set()
    for match in SGR.finditer(text):
        params = [int(p) for p in match.group(1).split(";") if p]
        i = 0
        while i < len(params):
            p = params[i]
            if p in COLOR_PARAMS:
                found.add(p)
            if p in (38, 48):  # 38;5;N or 38;2;R;G;B: skip the arguments
                i += 3 if i + 1 < len(params) and params[i + 1] == 5 else 5
                continue
            i += 1
    return found


def plain(text: str) -> str:
    return ANY_ESCAPE.sub("", text).replace("\r\n", "\n")


def parse_table(stdout: str) -> tuple[list[str], dict[str, dict]]:
    """The gradient table: its oracle columns, and per variable row: cells, rel. error, status
    (whatever layout the width chose: tests/table_text.py)."""
    columns, rows = parse_gradients(stdout)
    return columns, {name: {"cells": {c: row[c] for c in columns if c in row}, "rel": row[REL],
                            "status": row["status"]} for name, row in rows.items()}


def verdict_line(stdout: str) -> str:
    return [line for line in stdout.splitlines() if line.strip()][-1].strip()


def assert_caret_under(stderr: str, source: str, column: int | None = None) -> None:
    """Line 1 names the column; line 2 shows the text, line 3 a caret under the offending character."""
    lines = messages(stderr)  # the message (wrapped at the width) joined into one line
    match = re.search(r", column (\d+):", lines[0])
    assert match, lines[0]
    col = int(match.group(1))
    if column is not None:
        assert col == column, lines[0]
    assert len(lines) >= 3, stderr
    shown, carets = lines[1], lines[2]
    assert shown.startswith("  "), shown
    assert set(carets.strip()) == {"^"}, carets
    at = carets.index("^")
    if "…" not in shown:
        assert shown[2:] == source
    assert shown[at] == source[col - 1], (shown, carets, source[col - 1])


# ----- running the CLI in-process --------------------------------------------------------------
def invoke_json(*args: str) -> tuple[int, dict, str]:
    result = invoke(*args, "--format", "json")
    return result.exit_code, json.loads(result.stdout), result.stderr


# ----- running the real console script ---------------------------------------------------------
def run_piped(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, encoding="utf-8", errors="replace", env=env, cwd=cwd,
                          stdin=subprocess.DEVNULL, timeout=TIMEOUT)


def run_in_pty(argv: list[str], env: dict[str, str], cwd: Path, columns: int = 200) -> subprocess.CompletedProcess:
    """Run with stdout and stderr on one pseudo-terminal (200 columns); returns what it showed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env, cwd=cwd)
    finally:
        os.close(slave)
    chunks, deadline = [], time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child has closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        else:
            proc.kill()
    finally:
        os.close(master)
    returncode = proc.wait(timeout=TIMEOUT)
    return subprocess.CompletedProcess(argv, returncode, b"".join(chunks).decode("utf-8", "replace"), "")


HUGE_OPPOSITE = ["eval", "x*y", "--at", "x=1,y=-1.7e308", "--grad", "x=1.7e308", "--format", "json"]

# name -> (how, arguments after the launcher, extra environment)
SCRIPT_RUNS = {
    "neuron": ("pipe", ["eval", NEURON, "--at", NEURON_AT], {}),
    "neuron json": ("pipe", ["eval", NEURON, "--at", NEURON_AT, "--format", "json"], {}),
    "cs231n json": ("pipe", ["eval", CS231N, "--at", CS231N_AT, "--format", "json"], {}),
    "wrong claim": ("pipe", WRONG_CLAIM_ARGS, {}),
    "wrong claim NO_COLOR": ("pipe", WRONG_CLAIM_ARGS, {"NO_COLOR": "1"}),
    "right claim": ("pipe", RIGHT_CLAIM_ARGS, {}),
    "log(-1) json": ("pipe", ["eval", "log(x)", "--at", "x=-1", "--format", "json"], {}),
    "sigmoi": ("pipe", ["eval", "sigmoi(x)", "--at", "x=1"], {}),
    "bad --let": ("pipe", ["eval", "sigmoid(z)", "--let", "z=w0*x0+)"], {}),
    "unknown option": ("pipe", ["eval", "x*y", "--bogus"], {}),
    "missing argument": ("pipe", ["eval"], {}),
    "minus first": ("pipe", ["eval", "-x*y", "--at", "x=1,y=2"], {}),
    "functions": ("pipe", ["functions"], {}),
    "version": ("pipe", ["--version"], {}),
    "huge opposite json": ("pipe", HUGE_OPPOSITE, {}),
    "module help": ("module", ["--help"], {}),
    "tty wrong claim": ("pty", WRONG_CLAIM_ARGS, {"TERM": "xterm-256color"}),
    "tty wrong claim NO_COLOR": ("pty", WRONG_CLAIM_ARGS, {"TERM": "xterm-256color", "NO_COLOR": "1"}),
    "tty error": ("pty", ["eval", "log(x)", "--at", "x=-1"], {"TERM": "xterm-256color"}),
    "tty error NO_COLOR": ("pty", ["eval", "log(x)", "--at", "x=-1"], {"TERM": "xterm-256color", "NO_COLOR": "1"}),
}
PIPED = [name for name, (how, _, _) in SCRIPT_RUNS.items() if how != "pty"]


@pytest.fixture(scope="module")
def gradcheck_script() -> str:
    return console_script()


@pytest.fixture(scope="module")
def script(gradcheck_script, tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Every SCRIPT_RUNS command, run once and concurrently in an empty directory."""
    home = tmp_path_factory.mktemp("cli")
    launchers = {"pipe": [gradcheck_script], "pty": [gradcheck_script], "module": [sys.executable, "-m", "gradcheck"]}

    def run(name):
        how, args, extra = SCRIPT_RUNS[name]
        runner = run_in_pty if how == "pty" else run_piped
        return name, runner(launchers[how] + args, subprocess_env(**extra), home)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(pool.map(run, SCRIPT_RUNS))


def assert_no_traceback(proc) -> None:
    assert "Traceback" not in proc.stdout and "Traceback" not in (proc.stderr or ""), proc.stderr


# ===== the console script ========================================================================
def test_script_sigmoid_neuron_agrees_and_matches_the_math(script):
    proc = script["neuron"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    value, exact = neuron_exact()
    first = proc.stdout.splitlines()[0]
    assert first.startswith(f"f = {NEURON} = ")
    assert rel(float(first.rsplit("=", 1)[1]), value) < 1e-9
    columns, rows = parse_table(proc.stdout)
    assert columns == ["symbolic", "backprop", "numeric"]  # no claimed column without a claim
    assert list(rows) == NEURON_VARS
    for var, row in rows.items():
        for column in columns:
            assert rel(float(row["cells"][column]), exact[var]) < 1e-9, (var, row)
        assert float(row["rel"]) < 1e-8
        assert row["status"] == "✓ pass"
    assert verdict_line(proc.stdout) == "✓ all 5 partial derivatives agree"


def test_script_cs231n_circuit(script):
    proc = script["cs231n json"]
    assert proc.returncode == 0, proc.stderr
    case = json.loads(proc.stdout)["cases"][0]
    assert case["status"] == "pass"
    assert case["value"] == -12.0
    expected = {"x": -4.0, "y": -4.0, "z": 3.0}
    assert list(case["gradients"]) == list(expected)
    for var, exact in expected.items():
        g = case["gradients"][var]
        assert g["symbolic"] == exact and g["backprop"] == exact
        assert rel(g["numeric"], exact) < NUMERIC_REL
        assert g["status"] == "pass"


def test_script_wrong_claim_exits_1_and_names_the_claimed_column(script):
    proc = script["wrong claim"]
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""
    value, exact = neuron_exact()
    columns, rows = parse_table(proc.stdout)
    assert columns == ["symbolic", "backprop", "numeric", "claimed"]
    assert list(rows) == NEURON_VARS
    w0 = rows["w0"]
    assert w0["status"] == "✗ mismatch"
    assert rel(float(w0["cells"]["claimed"]), -1.0 * value) < 1e-9  # x0*sigmoid(z) = -sigma
    for column in ORACLES:
        assert rel(float(w0["cells"][column]), exact["w0"]) < 1e-9
    for var in NEURON_VARS[1:]:
        assert rows[var]["status"] == "✓ pass"
        assert rows[var]["cells"]["claimed"] == "—"  # not claimed
    assert verdict_line(proc.stdout) == WRONG_VERDICT


def test_script_right_claim_exits_0(script):
    proc = script["right claim"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _, rows = parse_table(proc.stdout)
    _, exact = neuron_exact()
    assert rel(float(rows["w0"]["cells"]["claimed"]), exact["w0"]) < 1e-9
    assert all(row["status"] == "✓ pass" for row in rows.values())
    verdict = verdict_line(proc.stdout)
    assert verdict.startswith("✓ all 5 partial derivatives") and "claims included" in verdict, verdict


def check_document(document: dict) -> None:
    """The documented schema of --format json, for any document."""
    assert set(document) == {"version", "cases", "summary"}
    # 2: a scalar's pairs leave out worst and worst_values (they repeat a and b); 3: large arrays packed
    assert document["version"] == 5  # 4: the status inconclusive; 5: the status contract
    summary = document["summary"]
    assert set(summary) == {"total"} | STATUSES
    assert all(isinstance(n, int) and n >= 0 for n in summary.values())
    assert summary["total"] == len(document["cases"]) == sum(summary[s] for s in STATUSES)
    for status in STATUSES:
        assert summary[status] == sum(case["status"] == status for case in document["cases"])
    for case in document["cases"]:
        assert {"name", "expr", "status", "value", "gradients", "error"} <= set(case)
        assert case["status"] in STATUSES
        if case["status"] == "error":
            assert set(case["error"]) == {"kind", "message"}
            assert case["error"]["kind"] in ERROR_KINDS
            assert case["error"]["message"]
            assert case["value"] is None and case["gradients"] == {}
            continue
        assert case["error"] is None
        assert isinstance(case["value"], float)
        for _var, g in case["gradients"].items():
            assert {"symbolic", "backprop", "numeric", "max_abs_error", "max_rel_error", "status"} <= set(g)
            assert g["status"] in ("pass", "mismatch")
            for pair in g["pairs"]:  # compact for a scalar: the worst entry is the only entry
                named = {"worst", "worst_values"} if g["shape"] or pair.get("worst") else set()
                assert set(pair) == {"a", "b", "agree", "max_abs_error", "max_rel_error", "compared"} | named
                assert pair["a"] in (*ORACLES, "claimed") and pair["b"] in (*ORACLES, "claimed")
            present = [g[c] for c in (*ORACLES, "claimed") if g.get(c) is not None]
            if len(present) >= 2:  # the error measures are the largest over every pair of columns
                assert g["max_abs_error"] == pytest.approx(max(abs(a - b) for a, b in combinations(present, 2)),
                                                           rel=1e-12, abs=1e-300)
                assert g["max_rel_error"] == pytest.approx(max(rel(a, b) if max(abs(a), abs(b)) else 0.0
                                                               for a, b in combinations(present, 2)),
                                                           rel=1e-9, abs=1e-300)


def test_json_writes_arrays_and_pairs_on_one_line_and_no_inf_or_nan_anywhere():
    """render/json.py writes each array and each pair on one line (the C encoder: a million-entry
    gradient took 11 s one number per line); a non-finite number, in an array too, is still null."""
    from gradcheck.render.json import render_json
    from gradcheck.verdict.result import Report

    result = gradcheck.check("sum(W * X)", at={"W": "randn(3,4)", "X": "randn(3,4)"})
    result.gradients["W"].columns["numeric"] = np.array([[np.inf] * 4, [1.0] * 4, [np.nan] * 4])
    result.notes.append("NaN and Infinity in a note are text")  # strings keep their words
    text = render_json(Report([result, gradcheck.check("x*y", at="x=1,y=2")]))
    document = json.loads(text)  # strict JSON: json.loads would accept NaN, so look at the text too
    assert "Infinity" not in text.replace("NaN and Infinity in a note", "") and "NaN," not in text
    w = document["cases"][0]["gradients"]["W"]
    assert w["numeric"] == [[None] * 4, [1.0] * 4, [None] * 4]
    assert document["cases"][0]["notes"][-1] == "NaN and Infinity in a note are text"
    lines = text.splitlines()
    assert any(line.strip().startswith('"W": [[') and line.rstrip().endswith("]],") for line in lines)
    pair_lines = [line for line in lines if line.strip().startswith('{"a": ')]
    assert len(pair_lines) == sum(len(g["pairs"]) for c in document["cases"] for g in c["gradients"].values())


def test_script_json_is_one_document_with_the_exact_neuron_numbers(script):
    proc = script["neuron json"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    document = json.loads(proc.stdout)  # the whole of stdout is one JSON document
    check_document(document)
    assert document["summary"] == {"total": 1, "pass": 1, "mismatch": 0, "kink": 0, "inconclusive": 0, "contract": 0, "error": 0}
    (case,) = document["cases"]
    assert case["name"] == case["expr"] == NEURON
    assert case["status"] == "pass"
    assert case["error"] is None
    assert case["point"] == {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
    assert case["random"] == []
    value, exact = neuron_exact()
    assert rel(case["value"], value) <= EXACT_REL
    assert list(case["gradients"]) == NEURON_VARS
    for var, g in case["gradients"].items():
        assert "claimed" not in g  # only when claimed
        assert rel(g["symbolic"], exact[var]) <= EXACT_REL, (var, g)
        assert rel(g["backprop"], exact[var]) <= EXACT_REL, (var, g)
        assert rel(g["numeric"], exact[var]) <= NUMERIC_REL, (var, g)
        assert 0 <= g["max_rel_error"] <= NUMERIC_REL
        assert g["status"] == "pass"


def test_script_error_still_writes_json_and_the_message_goes_to_stderr(script):
    proc = script["log(-1) json"]
    assert proc.returncode == 2
    assert_no_traceback(proc)
    document = json.loads(proc.stdout)
    check_document(document)
    assert document["summary"] == {"total": 1, "pass": 0, "mismatch": 0, "kink": 0, "inconclusive": 0, "contract": 0, "error": 1}
    (case,) = document["cases"]
    assert case["status"] == "error"
    assert case["error"]["kind"] == "domain"
    message = case["error"]["message"]
    assert "log(x)" in message and "x = -1" in message
    lines = proc.stderr.splitlines()
    assert lines[0] == f"gradcheck: error: {message}"
    assert lines[0].startswith("gradcheck: error: the expression, column 1:")
    assert lines[1:] == ["  log(x)", "  ^^^^^^"]
    assert "gradcheck: error" not in proc.stdout


def test_script_suggests_the_function_meant(script):
    proc = script["sigmoi"]
    assert proc.returncode == 2
    assert_no_traceback(proc)
    assert proc.stdout == ""
    first = proc.stderr.splitlines()[0]
    assert first.startswith("gradcheck: error: the expression, column 1:")
    assert "'sigmoi'" in first and "did you mean 'sigmoid'" in first
    assert_caret_under(proc.stderr, "sigmoi(x)", column=1)


def test_script_error_in_a_let_points_into_the_let(script):
    proc = script["bad --let"]
    assert proc.returncode == 2
    assert_no_traceback(proc)
    first = proc.stderr.splitlines()[0]
    assert first.startswith("gradcheck: error: --let z, column 7:")
    assert_caret_under(proc.stderr, "w0*x0+)", column=7)
    assert proc.stderr.splitlines()[1:3] == ["  w0*x0+)", "        ^"]


@pytest.mark.parametrize("name, words", [
    ("unknown option", ["--bogus"]),
    ("missing argument", ["Missing argument", "EXPR"]),
])
def test_script_usage_errors_exit_2(script, name, words):
    proc = script[name]
    assert proc.returncode == 2
    assert_no_traceback(proc)
    assert proc.stdout == ""
    assert proc.stderr.startswith("Usage: gradcheck eval")
    for word in words:
        assert word in joined(proc.stderr)


def test_script_expression_may_start_with_a_minus(script):
    proc = script["minus first"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "f = -x*y = -2"
    _, rows = parse_table(proc.stdout)
    assert {var: float(row["cells"]["symbolic"]) for var, row in rows.items()} == {"x": -2.0, "y": -1.0}


@pytest.mark.parametrize("name", PIPED)
def test_script_writes_no_escape_sequences_into_a_pipe(script, name):
    proc = script[name]
    assert "\x1b[" not in proc.stdout
    assert "\x1b[" not in proc.stderr


def test_script_no_color_in_a_pipe_changes_no_text(script):
    plain_run, no_color = script["wrong claim"], script["wrong claim NO_COLOR"]
    assert no_color.returncode == 1
    assert "\x1b" not in no_color.stdout
    assert no_color.stdout == plain_run.stdout


def test_script_colors_on_a_terminal(script):
    proc = script["tty wrong claim"]
    assert proc.returncode == 1
    codes = color_codes(proc.stdout)
    assert 31 in codes, repr(proc.stdout)  # the wrong claim and its status in red
    assert 32 in codes, repr(proc.stdout)  # the rows that pass in green
    text = plain(proc.stdout)
    assert WRONG_VERDICT in text


def test_script_no_color_on_a_terminal(script):
    proc = script["tty wrong claim NO_COLOR"]
    assert proc.returncode == 1
    assert color_codes(proc.stdout) == set(), repr(proc.stdout)
    assert WRONG_VERDICT in plain(proc.stdout)  # the same content, only without color


def test_script_error_is_red_on_a_terminal_unless_no_color(script):
    colored, uncolored = script["tty error"], script["tty error NO_COLOR"]
    assert colored.returncode == uncolored.returncode == 2
    assert 31 in color_codes(colored.stdout), repr(colored.stdout)
    assert color_codes(uncolored.stdout) == set(), repr(uncolored.stdout)
    for proc in (colored, uncolored):
        text = plain(proc.stdout)
        assert text.startswith("gradcheck: error: the expression, column 1: log(x) is undefined")
        assert "Traceback" not in text


def test_python_m_gradcheck_help(script):
    proc = script["module help"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: gradcheck [OPTIONS] COMMAND")
    assert re.search(r"^\s+eval\s", proc.stdout, re.M) and re.search(r"^\s+functions\s", proc.stdout, re.M)
    assert "Exit codes: 0" in proc.stdout


def test_script_version(script):
    proc = script["version"]
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"gradcheck, version {gradcheck.__version__}"


def listed_as_calls(stdout: str) -> set[str]:
    return set(re.findall(r"^([a-z_][a-z_0-9]*)\(", stdout, re.M))


def test_script_functions_lists_the_functions(script):
    proc = script["functions"]
    assert proc.returncode == 0, proc.stderr
    header = proc.stdout.splitlines()[0].split()
    # a wide terminal gets the table with its header; a narrow one a block per function
    assert header == ["function", "derivative", "meaning"] or proc.stdout.startswith("a + b\n"), proc.stdout[:300]
    listed = listed_as_calls(proc.stdout)
    missing = set(FUNCTIONS) - listed
    assert not missing, proc.stdout
    assert "∂/∂x = sigmoid(x)*(1 - sigmoid(x))" in proc.stdout
    for operator in ("a + b", "a - b", "a * b", "a / b", "a ** b"):
        assert operator in proc.stdout


def test_script_functions_lists_pow_as_a_function(script):
    assert "pow" in listed_as_calls(script["functions"].stdout), script["functions"].stdout


def test_script_json_survives_an_overflowing_error_measure(script):
    proc = script["huge opposite json"]
    assert_no_traceback(proc)
    assert proc.returncode == 1
    document = json.loads(proc.stdout)
    assert document["cases"][0]["gradients"]["x"]["status"] == "mismatch"


# ===== in-process, through CliRunner ==============================================================
@pytest.mark.parametrize("args, code", [
    (["eval", NEURON, "--at", NEURON_AT], 0),
    (["eval", CS231N, "--at", CS231N_AT], 0),
    (RIGHT_CLAIM_ARGS, 0),
    (["eval", "-x*y", "--at", "x=1,y=2"], 0),
    (["eval", "x*y", "--at", "x=1,y=2", "--grad", "x=y", "--grad", "y=x"], 0),
    (WRONG_CLAIM_ARGS, 1),
    (["eval", "x*y", "--at", "x=1,y=2", "--grad", "x=2*y"], 1),
    (["eval", "1+*x"], 2),
    (["eval", "foo(x)", "--at", "x=1"], 2),
    (["eval", "x*y", "--at", "x=1,y=2", "--grad", "x=z"], 2),
    (["eval", "x", "--at", "x=abc"], 2),
    (["eval", "log(x)", "--at", "x=-1"], 2),
    (["eval", "1/x", "--at", "x=0"], 2),
    (["eval", "exp(x)", "--at", "x=1000"], 2),
    (["eval", "x*y", "--bogus"], 2),
    (["eval"], 2),
    (["eval", "x", "--format", "xml"], 2),
    (["eval", "x", "--seed", "-1"], 2),
    (["nosuchcommand"], 2),
], ids=lambda v: " ".join(v) if isinstance(v, list) else str(v))
def test_exit_codes(args, code):
    result = invoke(*args)
    assert result.exit_code == code, result.stdout + result.stderr
    if code == 2:
        assert result.stderr.startswith(("gradcheck: error:", "Usage: gradcheck"))
        assert "Traceback" not in result.stderr
    else:
        assert result.stderr == ""
        assert verdict_line(result.stdout)[0] == ("✓" if code == 0 else "✗")


def test_wrong_claim_in_process_names_the_claimed_column():
    result = invoke(*WRONG_CLAIM_ARGS)
    assert result.exit_code == 1
    assert verdict_line(result.stdout) == WRONG_VERDICT
    code, document, _ = invoke_json(*WRONG_CLAIM_ARGS)
    assert code == 1
    check_document(document)
    assert document["summary"]["mismatch"] == 1
    case = document["cases"][0]
    assert case["status"] == "mismatch"
    w0 = case["gradients"]["w0"]
    value, exact = neuron_exact()
    assert rel(w0["claimed"], -value) <= EXACT_REL
    assert w0["status"] == "mismatch"
    assert w0["odd"] == "claimed" and w0["verdict"].startswith("claimed disagrees")  # the oracles agree
    assert w0["max_abs_error"] == pytest.approx(abs(-value - exact["w0"]), rel=1e-9)
    assert all("claimed" not in case["gradients"][v] for v in NEURON_VARS[1:])


# (arguments, error kind(s), the first line starts with, source shown under it or None)
BAD_INPUT = [
    (["1+*x"], "parse", "the expression, column 3:", "1+*x"),
    (["foo(x)", "--at", "x=1"], "parse", "the expression, column 1: unknown function 'foo'", "foo(x)"),
    (["x*y", "--at", "x=1,y=2", "--grad", "x=z"], "parse", "--grad x, column 1: unknown variable 'z'", "z"),
    (["x", "--at", "x=abc"], "value", "--at x, column 1:", "abc"),
    (["x", "--at", "x=nan"], "value", "--at x, column 1:", "nan"),
    (["x", "--at", "x=1e400"], ("parse", "value"), "--at x, column 1:", "1e400"),
    (["log(x)", "--at", "x=-1"], "domain", "the expression, column 1: log(x) is undefined", "log(x)"),
    (["1/x", "--at", "x=0"], "domain", "the expression, column 1: 1/x is undefined", "1/x"),
    (["2*exp(x)", "--at", "x=1000"], "domain", "the expression, column 3: exp(x) overflows", "2*exp(x)"),
    (["x*y", "--at", "x=1,y=2", "--grad", "q=1"], "spec", "--grad q:", None),
    (["x*y", "--wrt", "q"], "spec", "--wrt names 'q'", None),
    (["x*y", "--rtol", "-1"], "spec", "--rtol must be a finite number", None),
    (["x*y", "--atol", "-0.5"], "spec", "--atol must be a finite number", None),
    (["x*y", "--rtol", "nan"], "spec", "--rtol must be a finite number", None),
    (["1"], "spec", "the expression has no variables", None),
]


@pytest.mark.parametrize("args, kind, start, source", BAD_INPUT, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_input_exits_2_with_json_and_one_line_on_stderr(args, kind, start, source):
    code, document, stderr = invoke_json("eval", *args)
    assert code == 2
    check_document(document)
    case = document["cases"][0]
    assert case["status"] == "error" and case["expr"] == args[0]
    assert case["error"]["kind"] in (kind if isinstance(kind, tuple) else (kind,))
    lines = messages(stderr)
    assert lines[0] == f"gradcheck: error: {case['error']['message']}"
    assert lines[0].startswith(f"gradcheck: error: {start}"), lines[0]
    assert "Traceback" not in stderr
    if source is None:
        assert len(lines) == 1, stderr
    else:
        assert_caret_under(stderr, source)
    table = invoke("eval", *args)  # the table format: the same message, nothing on stdout
    assert table.exit_code == 2 and table.stderr == stderr and table.stdout == ""


def test_caret_is_under_the_column_in_a_long_cut_expression():
    expr = "x+" * 60 + ")" + "+x" * 60
    result = invoke("eval", expr)
    assert result.exit_code == 2
    first, shown, carets = result.stderr.splitlines()[:3]
    assert first.startswith("gradcheck: error: the expression, column 121:")
    assert shown.startswith("  …") and shown.endswith("…")
    assert shown[carets.index("^")] == ")"
    assert_caret_under(result.stderr, expr, column=121)


def test_unknown_function_suggests_sigmoid_in_process():
    result = invoke("eval", "sigmoi(x)")
    assert result.exit_code == 2
    first = joined(result.stderr).splitlines()[0]
    assert "unknown function 'sigmoi'" in first and "did you mean 'sigmoid'" in first, first


def test_unknown_variable_in_a_claim_is_suggested_and_pointed_at():
    result = invoke("eval", "sigmoid(z)", "--let", LET_Z, "--at", NEURON_AT, "--grad", "w0=x0*sigmoid(zz)")
    assert result.exit_code == 2
    assert result.stderr.startswith("gradcheck: error: --grad w0, column 12: unknown variable 'zz'")
    assert "did you mean 'z'" in joined(result.stderr)
    assert_caret_under(result.stderr, "x0*sigmoid(zz)", column=12)


def test_claim_undefined_at_the_point_is_null_with_a_note():
    code, document, stderr = invoke_json("eval", "x*y", "--at", "x=1,y=2", "--grad", "x=log(-1)")
    assert code == 1 and stderr == ""
    check_document(document)
    g = document["cases"][0]["gradients"]["x"]
    assert g["claimed"] is None
    assert "claimed" in g["notes"] and "undefined" in g["notes"]["claimed"]
    assert g["status"] == "mismatch"


# ----- colors through rich's environment -----------------------------------------------------------
def test_force_color_colors_the_table_and_no_color_wins():
    forced = invoke(*WRONG_CLAIM_ARGS, env={"FORCE_COLOR": "1"})
    assert forced.exit_code == 1
    codes = color_codes(forced.stdout)
    assert {31, 32} <= codes, repr(forced.stdout)
    both = invoke(*WRONG_CLAIM_ARGS, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert both.exit_code == 1
    assert color_codes(both.stdout) == set(), repr(both.stdout)
    assert plain(both.stdout) == plain(forced.stdout)
    assert "\x1b" not in invoke(*WRONG_CLAIM_ARGS).stdout


# ----- random values and --seed -------------------------------------------------------------------
def test_random_values_depend_on_the_seed_and_are_marked():
    _, a, _ = invoke_json("eval", "x*y + sin(x)", "--seed", "3")
    _, again, _ = invoke_json("eval", "x*y + sin(x)", "--seed", "3")
    _, b, _ = invoke_json("eval", "x*y + sin(x)", "--seed", "4")
    case_a, case_again, case_b = (d["cases"][0] for d in (a, again, b))
    assert case_a["random"] == ["x", "y"] and case_a["seed"] == 3
    assert case_a["point"] == case_again["point"]
    assert case_a["gradients"] == case_again["gradients"]
    assert case_b["seed"] == 4
    assert case_a["point"]["x"] != case_b["point"]["x"] and case_a["point"]["y"] != case_b["point"]["y"]
    x, y = case_a["point"]["x"], case_a["point"]["y"]
    assert case_a["gradients"]["x"]["symbolic"] == pytest.approx(y + math.cos(x), rel=1e-12)
    table = invoke("eval", "x*y + sin(x)", "--seed", "3")
    point_line = table.stdout.splitlines()[1]
    assert "x = " in point_line and "(random)" in point_line
    assert point_line.count("(random)") == 2
    assert "--seed 3" in point_line


def test_only_the_variables_without_at_are_random():
    _, document, _ = invoke_json("eval", "x*y", "--at", "x=0.5", "--seed", "1")
    case = document["cases"][0]
    assert case["random"] == ["y"] and case["point"]["x"] == 0.5
    table = invoke("eval", "x*y", "--at", "x=0.5", "--seed", "1")
    point_line = table.stdout.splitlines()[1]
    assert re.search(r"x = 0\.5(,|\s*$)", point_line) and re.search(r"y = \S+ \(random\)", point_line)


def test_random_value_depends_on_the_name_not_the_order():
    _, one, _ = invoke_json("eval", "x*y", "--seed", "7")
    _, other, _ = invoke_json("eval", "y + x*x", "--seed", "7")
    assert one["cases"][0]["point"] == other["cases"][0]["point"]


def test_shown_random_values_reproduce_the_run():
    table = invoke("eval", "x*y + sin(x)", "--seed", "11")
    shown = dict(re.findall(r"(\w+) = (\S+) \(random\)", table.stdout))
    assert set(shown) == {"x", "y"}
    _, seeded, _ = invoke_json("eval", "x*y + sin(x)", "--seed", "11")
    _, pinned, _ = invoke_json("eval", "x*y + sin(x)", "--at", ",".join(f"{k}={v}" for k, v in shown.items()))
    assert pinned["cases"][0]["random"] == []
    assert pinned["cases"][0]["point"] == seeded["cases"][0]["point"]
    assert pinned["cases"][0]["gradients"] == seeded["cases"][0]["gradients"]


# ----- --wrt, --rtol/--atol, --let ------------------------------------------------------------------
def test_wrt_restricts_the_gradient():
    code, document, _ = invoke_json("eval", "x*y*z", "--at", "x=1,y=2,z=3", "--wrt", "z,x")
    assert code == 0
    gradients = document["cases"][0]["gradients"]
    assert set(gradients) == {"x", "z"}
    assert gradients["x"]["symbolic"] == 6.0 and gradients["z"]["symbolic"] == 2.0
    result = invoke("eval", "x*y*z", "--at", "x=1,y=2,z=3", "--wrt", "x")
    _, rows = parse_table(result.stdout)
    assert list(rows) == ["x"]
    assert verdict_line(result.stdout) == "✓ partial derivative agrees"


def test_wrt_unknown_name_exits_2():
    result = invoke("eval", "x*y", "--wrt", "x,q")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("gradcheck: error: --wrt names 'q'")
    assert "x, y" in joined(result.stderr)  # f's variables
    claim_outside = invoke("eval", "x*y", "--at", "x=1,y=2", "--wrt", "x", "--grad", "y=x")
    assert claim_outside.exit_code == 2
    assert claim_outside.stderr.startswith("gradcheck: error: --grad y:")


def test_tolerances_are_honoured():
    claim = ["eval", "x*y", "--at", "x=1,y=2", "--grad", "x=2.002"]  # off by a relative 1e-3
    default = invoke(*claim)
    assert default.exit_code == 1
    verdict = verdict_line(default.stdout)
    assert verdict.startswith("✗ ∂f/∂x: claimed disagrees"), verdict
    assert invoke(*claim, "--rtol", "1e-2").exit_code == 0
    assert invoke(*claim, "--rtol", "1e-4").exit_code == 1
    assert invoke(*claim, "--atol", "0.01").exit_code == 0
    assert invoke(*claim, "--atol", "0.001").exit_code == 1
    for option in ("--rtol", "--atol"):
        negative = invoke(*claim, option, "-1e-3")
        assert negative.exit_code == 2
        assert negative.stderr.startswith(f"gradcheck: error: {option} must be a finite number ≥ 0")
    assert invoke(*claim, "--rtol", "abc").exit_code == 2


def test_lets_chain_and_share_their_node():
    code, document, _ = invoke_json("eval", "b*b", "--let", "a=2*x", "--let", "b=a+1", "--at", "x=1",
                                    "--grad", "x=4*b")
    assert code == 0
    g = document["cases"][0]["gradients"]["x"]
    assert g["symbolic"] == g["backprop"] == g["claimed"] == 12.0


# ----- expressions that start with a minus --------------------------------------------------------
def test_expression_starting_with_minus_needs_no_double_dash():
    for args in (["-x*y", "--at", "x=1,y=2"], ["--at", "x=1,y=2", "-x*y"], ["-(x*y)", "--at", "x=1,y=2"]):
        result = invoke("eval", *args)
        assert result.exit_code == 0, (args, result.stderr)
        assert result.stdout.splitlines()[0].endswith(" = -2")
        _, rows = parse_table(result.stdout)
        assert float(rows["x"]["cells"]["backprop"]) == -2.0 and float(rows["y"]["cells"]["backprop"]) == -1.0


def test_double_minus_expression_after_a_lone_double_dash():
    hint = invoke("eval", "--x", "--at", "x=2")
    assert hint.exit_code == 2
    assert "No such option: --x" in joined(hint.stderr) and "'--'" in joined(hint.stderr)
    after = invoke("eval", "--at", "x=2", "--", "--x")
    assert after.exit_code == 0, after.stderr
    assert after.stdout.splitlines()[0] == "f = --x = 2"


def test_mistyped_option_is_an_error_not_an_expression():
    result = invoke("eval", "x*y", "--att", "x=1")
    assert result.exit_code == 2
    assert "--att" in joined(result.stderr) and "--at" in joined(result.stderr).replace("--att", "")


# ----- help, version, functions, formulas -----------------------------------------------------------
def test_help_and_version_in_process():
    top = invoke("--help")
    assert top.exit_code == 0 and "eval" in top.stdout and "functions" in top.stdout
    version = invoke("--version")
    assert version.exit_code == 0 and gradcheck.__version__ in version.stdout


def test_eval_help():
    result = invoke("eval", "--help")
    assert result.exit_code == 0, result.stderr
    for option in ("--at", "--let", "--grad", "--wrt", "--seed", "--rtol", "--atol", "--format", "--formulas"):
        assert option in result.stdout


def test_functions_in_process_lists_every_name_but_pow():
    result = invoke("functions")
    assert result.exit_code == 0
    assert set(FUNCTIONS) - {"pow"} <= listed_as_calls(result.stdout)
    assert "constants: pi, e" in result.stdout


def test_formulas_prints_each_partial():
    result = invoke("eval", "x*y + sin(x)", "--at", "x=1,y=2", "--formulas")
    assert result.exit_code == 0
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "∂f/∂x = y + cos(x)" in lines
    assert "∂f/∂y = x" in lines
    code, document, _ = invoke_json("eval", "x*y + sin(x)", "--at", "x=1,y=2", "--formulas")
    assert code == 0
    gradients = document["cases"][0]["gradients"]
    assert gradients["x"]["formula"] == "y + cos(x)" and gradients["y"]["formula"] == "x"
    without = invoke("eval", "x*y + sin(x)", "--at", "x=1,y=2")
    assert "∂f/∂x =" not in without.stdout
    _, plain_document, _ = invoke_json("eval", "x*y + sin(x)", "--at", "x=1,y=2")
    assert all("formula" not in g for g in plain_document["cases"][0]["gradients"].values())


# ----- bugs ------------------------------------------------------------------------------------------
def test_relative_error_of_huge_opposite_gradients_is_finite():
    result = invoke("eval", "x*y", "--at", "x=1,y=-1.7e308", "--grad", "x=1.7e308")
    assert result.exit_code == 1
    _, rows = parse_table(result.stdout)
    assert float(rows["x"]["rel"]) == pytest.approx(2.0)


def test_bad_at_value_names_its_place_once():
    result = invoke("eval", "x", "--at", "x=abc")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].count("--at x") == 1, result.stderr


def test_domain_error_does_not_list_a_negative_literal_as_an_input():
    result = invoke("eval", "log(-1)*x", "--at", "x=1")
    assert result.exit_code == 2
    assert "-1 = -1" not in result.stderr, result.stderr


# ----- error lines fit the terminal, like the tables ----------------------------------------------------
COSTLY = ["eval", "sum(A @ B)", "--at", "A=randn(300,300),B=randn(300,300)", "--mode", "full"]


@pytest.mark.parametrize("width", [60, 80])
def test_a_long_error_wraps_at_the_width_the_tables_use(width):
    done = run_script(*COSTLY, COLUMNS=str(width))
    lines = done.stderr.splitlines()
    assert done.returncode == 2 and len(lines) >= 3, done.stderr
    assert lines[0].startswith("gradcheck: error: the finite differences would take")
    assert all(len(line) <= width for line in lines), lines
    assert all(line.startswith("  ") and not line.startswith("   ") for line in lines[1:]), lines
    assert "the limit is 100,000,000,000" in " ".join(line.strip() for line in lines)


def test_a_long_error_wraps_at_the_terminals_own_width(tmp_path):
    shown = run_in_pty([console_script(), *COSTLY], subprocess_env(NO_COLOR="1"), tmp_path, columns=64)
    lines = shown.stdout.replace("\r\n", "\n").strip().splitlines()
    assert shown.returncode == 2 and len(lines) >= 3, shown.stdout
    assert all(len(line) <= 64 for line in lines), lines


def test_an_error_on_a_wide_terminal_stays_one_line():
    lines = run_script(*COSTLY, COLUMNS="300").stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradcheck: error: ") and "limit is" in lines[0], lines


def test_an_errors_caret_excerpt_is_never_wrapped():
    done = invoke("eval", "sigmoi(x)" + " + x" * 40, env={"COLUMNS": "60"})
    lines = done.stderr.splitlines()
    assert lines[0].startswith("gradcheck: error: the expression, column 1: unknown function")
    assert "unknown function 'sigmoi'" in " ".join(line.strip() for line in lines[:2])
    caret = next(i for i, line in enumerate(lines) if line.strip().startswith("^"))
    assert lines[caret].index("^") == lines[caret - 1].index("sigmoi")  # under the name, as before


# ----- --help is true: every command and option listed, --formulas said as what it prints ---------------
def test_help_lists_every_command_and_every_option():
    from gradcheck.cli import main

    top = run_script("--help", COLUMNS="100")
    assert top.returncode == 0
    for name, command in main.commands.items():
        assert f"\n  {name} " in top.stdout, name
        for runner in (lambda *a: run_script(*a, COLUMNS="100").stdout, lambda *a: invoke(*a).stdout):
            shown = runner(name, "--help")
            for param in command.params:
                for flag in (param.opts if isinstance(param, click.Option) else []):
                    assert flag in shown, (name, flag)


def test_help_says_what_formulas_prints():
    shown = " ".join(invoke("eval", "--help").stdout.split())
    entry = shown[shown.index("--formulas"):shown.index("--html")]
    assert "matrix-form derivation" in entry and "SymPy" in entry and "every value is a scalar" in entry, entry


def test_every_help_fits_80_columns_and_lists_the_exit_codes_its_command_can_give():
    """A student's terminal is often 80 columns: click wraps prose, but not the \\b example blocks."""
    from gradcheck.cli import main

    pages = {"": run_script("--help", COLUMNS="80").stdout}
    pages.update({name: run_script(name, "--help", COLUMNS="80").stdout for name in main.commands})
    for name, page in pages.items():
        wide = [line for line in page.splitlines() if len(line) > 80]
        assert not wide, (name, wide)
    for name in ("layer", "vjp", "loss"):
        said = " ".join(pages[name].split())
        assert all(code in said for code in ("0 right", "1 wrong", "2 bad input", "4 inconclusive", "5 right")), name
