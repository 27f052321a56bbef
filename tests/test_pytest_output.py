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
