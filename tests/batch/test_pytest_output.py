"""A failing gradcheck test in pytest reads well: the verdict once, first, then the table."""

from __future__ import annotations

import subprocess
import sys

import pytest

# each test runs pytest in a subprocess (about 10 s with gradcheck's imports)
pytestmark = pytest.mark.slow

WRONG_TOML = '''
[[case]]
name = "cube with a wrong derivative"
expr = "x^3"
at = { x = 2 }
grad = { x = "3*x" }
'''
WRONG_FIXTURE = (
    "def test_wrong(gradcheck):\n"
    "    gradcheck.check('x*y', at='x=1,y=2', grad={'x': 'x'})\n")


def run_pytest(folder) -> str:
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly",
                           "-p", "no:xdist", str(folder)], check=False, capture_output=True, text=True, timeout=300,
                          cwd=folder)
    assert done.returncode == 1, done.stdout + done.stderr
    return done.stdout


def failure_section(stdout: str) -> str:
    start = stdout.index("= FAILURES =")
    end = stdout.index("short test summary info")
    return stdout[start:end]


def test_a_failing_case_file_shows_its_verdict_once(tmp_path):
    (tmp_path / "cases.toml").write_text(WRONG_TOML)
    stdout = run_pytest(tmp_path)
    verdict = "∂f/∂x: claimed disagrees with symbolic = backprop = numeric"
    assert failure_section(stdout).count(verdict) == 1, stdout
    assert "∂f/∂" in failure_section(stdout) and "claimed" in failure_section(stdout)  # the table is there


def test_the_fixture_shows_its_verdict_once(tmp_path):
    (tmp_path / "test_it.py").write_text(WRONG_FIXTURE)
    stdout = run_pytest(tmp_path)
    verdict = "∂f/∂x: claimed disagrees with symbolic = backprop = numeric"
    assert failure_section(stdout).count(verdict) == 1, stdout
    summary = stdout[stdout.index("short test summary info"):]
    assert "Failed: ∂f/∂x: claimed" in summary  # the verdict heads the message: pytest's summary line shows it


FIXTURE_EDGES = (
    "import numpy as np\n"
    "def test_bad_expression(gradcheck):\n"
    "    gradcheck.check('x**', at={'x': 1.0})\n"
    "def test_kink(gradcheck):\n"
    "    gradcheck.check('relu(x)', at={'x': 0.0})\n"
    "def test_kink_strict(gradcheck):\n"
    "    gradcheck.check('relu(x)', at={'x': 0.0}, strict=True)\n"
    "def test_own_code_raises(gradcheck):\n"
    "    gradcheck.check_function(lambda x: np.sum(x) / undefined_name, lambda x: x, [np.ones(2)])\n")


def test_the_fixture_fails_as_the_command_line_exits(tmp_path):
    """Bad input fails the test with the one-line message and caret, not a traceback through gradcheck's
    parser; a kink passes unless strict (exit 0 on the command line: the fixture failed it); the user's
    own code that raises keeps its traceback."""
    (tmp_path / "test_edges.py").write_text(FIXTURE_EDGES)
    stdout = run_pytest(tmp_path)
    section = failure_section(stdout)
    bad = section[section.index("test_bad_expression"):section.index("test_kink_strict")]
    assert all(words in bad for words in ("input error", "the expression, column 4", "ends too early")), bad
    assert "  x**\n" in bad, bad  # the excerpt, with its caret below
    assert "parser.py" not in bad and "Traceback" not in bad, bad
    summary = stdout[stdout.index("short test summary info"):]
    failed = {line.split("::")[1].split()[0] for line in summary.splitlines() if line.startswith("FAILED")}
    assert failed == {"test_bad_expression", "test_kink_strict", "test_own_code_raises"}, summary
    assert "undefined_name" in section[section.index("test_own_code_raises"):]
