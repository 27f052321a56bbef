"""What the tests of hostile and odd input share: the console script run (optionally under an
address-space limit or on the test clock), its exit asserted, case files and layer modules written,
and "only a GradcheckError, never another exception" through the API.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import HANG_GUARD, TEST_CLOCK, joined, run_script, subprocess_env

import gradcheck
from gradcheck import GradcheckError

TIMEOUT = HANG_GUARD  # seconds for one subprocess: a hang guard, not a speed target
MEMORY_LIMIT = 1 << 30  # bytes of address space a hostile run may use: a bound of 1 GB, proved by running under it


def env(clock: bool = False) -> dict[str, str]:
    """For the processes run_script cannot start (Popen, pytest in a subprocess): this checkout's code, no
    colors, a wide terminal; the test clock if asked."""
    return subprocess_env(NO_COLOR="1", COLUMNS="200", **(TEST_CLOCK if clock else {}))


def run(*args: str, cwd: Path | str | None = None, memory: int | None = None, timeout: float = TIMEOUT,
        clock: bool = False, **extra: str) -> subprocess.CompletedProcess:
    """gradcheck ARGS through the console script on a 200-column terminal, optionally under an address-space
    limit of `memory` bytes and on the test clock."""
    return run_script(*args, cwd=cwd, timeout=timeout, memory=memory,
                      **{"COLUMNS": "200", **(TEST_CLOCK if clock else {}), **extra})


def assert_exit(proc: subprocess.CompletedProcess, code: int, *words: str) -> str:
    """The exit code, no traceback anywhere, every word in stderr (its wrapped lines joined); for exit 2 a
    first line 'gradcheck: error:'. Returns stderr, joined."""
    assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    for stream in (proc.stdout, proc.stderr):
        assert "Traceback" not in stream, stream[-3000:]
    if code == 2:
        assert proc.stderr.startswith("gradcheck: error:"), proc.stderr[:2000]
    text = joined(proc.stderr)
    for word in words:
        assert word in text, (word, text[-2000:])
    return text


def assert_clean_exit(proc: subprocess.CompletedProcess, what: str) -> None:
    """Exit 0, 1 or 2 with no traceback; on 2 a first line that says what is wrong, else some output."""
    assert proc.returncode in (0, 1, 2), (what, proc.returncode, proc.stderr[-2000:])
    for stream in (proc.stdout, proc.stderr):
        assert "Traceback" not in stream, (what, stream[-3000:])
    if proc.returncode == 2:
        first = proc.stderr.split("\n", 1)[0]
        assert first.startswith(("gradcheck: error:", "Usage:", "Error:")), (what, proc.stderr[:2000])
    else:
        assert proc.stdout.strip(), what


def case(name: str, expr: str, **keys: str) -> str:
    """One [[case]] table; keys are written as given (TOML values)."""
    lines = ["[[case]]", f"name = {json.dumps(name)}", f"expr = {json.dumps(expr)}"]
    return "\n".join(lines + [f"{key} = {value}" for key, value in keys.items()]) + "\n"


def lets(template: str, count: int, first: str) -> list[str]:
    """--let a1=FIRST --let a2=TEMPLATE(a1) ... as command-line arguments."""
    args = ["--let", f"a1={first}"]
    for i in range(2, count + 1):
        args += ["--let", f"a{i}={template.format(prev=f'a{i - 1}')}"]
    return args


def no_foreign_exception(expr, **kwargs):
    """gradcheck.check, where a GradcheckError is a fine answer (returned) and anything else propagates."""
    try:
        return gradcheck.check(expr, **kwargs)
    except GradcheckError as exc:
        return exc


# A module of layers for `gradcheck layer`: a right pair, backwards that end the program, and a forward
# whose output is one entry past the size limit. The line numbers of the exits are asserted.
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
