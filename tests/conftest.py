"""What every test file shares: the console script under test, its environment, the CLI run
in-process, and the worked examples of the source texts.

The subprocesses get PYTHONPATH pointing at the checkout whose `gradcheck` these tests import, so the
installed script runs the code under test even when the editable install points at another tree.
"""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner

import gradcheck

PACKAGE_ROOT = str(Path(gradcheck.__file__).resolve().parents[1])
EXPRESSIONS = Path(PACKAGE_ROOT) / "expressions"
SUBPROCESS_TIMEOUT = 120  # seconds for one run of the console script
# A hang guard only, never a speed target: far beyond any single check here (the slowest takes seconds),
# so that a hang fails its test instead of stalling the run. No test asserts how long something takes.
HANG_GUARD = 120.0
# The test clock (gradcheck/budget.py): each look at it advances it by TICK seconds, so a budget of B seconds
# runs out at the first checkpoint after B / TICK looks, whatever the machine's speed or load.
TICK = 0.01
TEST_CLOCK = {"GRADCHECK_TEST_CLOCK_TICK": str(TICK)}  # for a console script, through run_script(**TEST_CLOCK)
# `pytest --slow` runs the property tests of tests/test_soundness.py with this many times their examples
# (a few thousand instead of a few hundred): a longer hunt before a release, not CI.
SLOW_FACTOR = 10
_example_scale = [1.0]


def pytest_addoption(parser) -> None:
    parser.addoption("--slow", action="store_true", default=False,
                     help=f"run the soundness properties with {SLOW_FACTOR}x their examples (thousands)")


def soundness_scale() -> float:
    """How many times its default examples a soundness property runs (SLOW_FACTOR under --slow)."""
    return _example_scale[0]


def pytest_configure(config) -> None:
    if config.getoption("--slow", default=False):  # every process, xdist workers too: they import the tests
        _example_scale[0] = float(SLOW_FACTOR)
    """Byte-compile gradcheck once, before the tests start a few hundred console-script processes.
    Where PYTHONDONTWRITEBYTECODE is set (it is on this project's machines) no process writes the
    cache, so each one compiled the whole package from source again (~0.1 s a process); pip compiled
    the dependencies at install time, but an editable install leaves the package itself uncompiled."""
    if not hasattr(config, "workerinput"):  # the controller only, not every xdist worker
        compileall.compile_dir(str(Path(gradcheck.__file__).parent), quiet=1)
        _own_symbolic_store(config)


def _own_symbolic_store(config) -> None:
    """SymPy's derivatives stored for this session alone (oracles/sym_store.py), shared by the xdist
    workers and every console script they start (they inherit the environment): the tests never
    read or write the user's ~/.cache, and start from an empty store each time. A run that sets
    GRADCHECK_CACHE_DIR itself keeps it."""
    if "GRADCHECK_CACHE_DIR" in os.environ:
        return
    folder = tempfile.mkdtemp(prefix="gradcheck-store-")
    os.environ["GRADCHECK_CACHE_DIR"] = folder
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


def messages(stderr: str) -> list[str]:
    """The lines of stderr with each message's wrapped lines joined: an error line is wrapped at the
    terminal's width (or COLUMNS, or 100) and continued on lines indented by two spaces. An excerpt under
    it (the text, and the caret line below) stays two lines of its own. So `len(messages(err)) == 1`
    says: one message, nothing else."""
    lines = stderr.splitlines()
    joined: list[str] = []
    excerpt = {i + offset for i, line in enumerate(lines[1:], 1) if set(line.strip()) == {"^"} for offset in (-1, 0)}
    for i, line in enumerate(lines):
        if i in excerpt or not (line.startswith(" ") and joined):
            joined.append(line)
        else:
            joined[-1] += " " + line.strip()
    return [line for line in joined if line.strip()]


def joined(stderr: str) -> str:
    """stderr with each message's wrapped lines joined (messages()), one message a line: what a phrase is
    looked for in."""
    return "\n".join(messages(stderr))


@pytest.fixture
def ticking_clock(monkeypatch):
    """The budget's clock replaced in this process (every thread) by a TickingClock of TICK seconds a look."""
    from gradcheck.base import budget

    clock = budget.TickingClock(TICK)
    monkeypatch.setattr(budget, "clock", clock)
    return clock


# The first source text: the CS231n sigmoid neuron and the learner's mistake.
NEURON = "sigmoid(w0*x0 + w1*x1 + w2)"
NEURON_AT = "w0=2,w1=-3,w2=-3,x0=-1,x1=-2"
NEURON_VARS = ["w0", "x0", "w1", "x1", "w2"]  # the order they are written in
LET_Z = "z=w0*x0+w1*x1+w2"
WRONG_W0 = "w0=x0*sigmoid(z)"  # the activation where its local gradient belongs
RIGHT_W0 = "w0=x0*sigmoid(z)*(1-sigmoid(z))"

# Variables that would change how the CLI colors or lays out its output.
DISPLAY_VARIABLES = ("NO_COLOR", "FORCE_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE", "TTY_INTERACTIVE",
                     "COLUMNS", "LINES", "COLORTERM", "TERM")


def console_script() -> str:
    """The gradcheck script installed for this Python (else the first one on PATH)."""
    script = shutil.which("gradcheck", path=os.path.dirname(sys.executable)) or shutil.which("gradcheck")
    if script is None:
        pytest.fail("the gradcheck console script is not installed (pip install -e .)")
    return script


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment without display settings, running the code under test."""
    env = {k: v for k, v in os.environ.items() if k not in DISPLAY_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def run_script(*args: str, cwd: Path | str | None = None, timeout: float = SUBPROCESS_TIMEOUT,
               memory: int | None = None, interpreter: tuple[str, ...] = (), **env: str) -> subprocess.CompletedProcess:
    """gradcheck ARGS through the real console script, running this checkout's code (subprocess_env),
    colors off unless env says otherwise: the one way the tests start gradcheck in a process.
    memory: an address-space limit in bytes (RLIMIT_AS); interpreter: flags for Python itself
    (("-X", "importtime")), which then runs the script."""
    def limit() -> None:  # runs in the child, before exec
        if memory:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    command = [sys.executable, *interpreter, console_script()] if interpreter else [console_script()]
    return subprocess.run([*command, *args], capture_output=True, encoding="utf-8", errors="replace",
                          cwd=cwd, env=subprocess_env(**{"NO_COLOR": "1", **env}), stdin=subprocess.DEVNULL,
                          timeout=timeout, preexec_fn=limit if memory else None)


CLEAN_ENV = {"NO_COLOR": None, "FORCE_COLOR": None, "CLICOLOR_FORCE": None, "TTY_COMPATIBLE": None,
             "TTY_INTERACTIVE": None, "COLUMNS": None, "TERM": "xterm"}


def make_runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()  # click >= 8.2 keeps stderr apart anyway


def invoke(*args: str, env: dict | None = None):
    """gradcheck ARGS in-process. Fails the test if anything but SystemExit escapes the CLI."""
    from gradcheck.cli import main

    result = make_runner().invoke(main, list(args), env={**CLEAN_ENV, **(env or {})}, prog_name="gradcheck")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        pytest.fail("an exception escaped the CLI:\n" + "".join(traceback.format_exception(*result.exc_info)),
                    pytrace=False)
    return result
