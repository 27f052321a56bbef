"""Options with nonsense values and inputs at the edges through the console script: exit 2 with a
message, never a traceback; an unexpected exception is exit 3, one line, no traceback.
"""

from __future__ import annotations


import numpy as np
import pytest
from conftest import run_script
from hostile_input import assert_clean_exit, run


@pytest.mark.parametrize("args", [
    ["eval", "x", "--seed", "-3"], ["eval", "x", "--rtol", "abc"], ["eval", "x", "--atol", "-1"],
    ["eval", "x", "--mode", "turbo"], ["eval", "x", "--method", ""], ["eval", "x", "--order", "0"],
    ["eval", "x", "--dtype", "int8"], ["eval", "x", "--format", "xml"], ["eval", "x", "--wrt", ",,,"],
    ["eval", "x", "--at", "=1"], ["eval", "x", "--let", "x"], ["eval", "x", "--grad", "x"],
    ["check", "nowhere.toml"], ["check", ".", "--root", "/nonexistent/dir"], ["check", ".", "-k", "["],
    ["eval", "x", "--timeout", "1e400"],
])
def test_cli_options_with_nonsense_values(tmp_path, args):
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2, (args, proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.startswith(("gradcheck: error:", "Usage:")), proc.stderr


@pytest.mark.parametrize("args", [["eval", "logsumexp(x)", "--at", "x=empty.npy"],
                                  ["eval", "x*y", "--at", "x=1,y=2", "--mode", "fast"],
                                  ["eval", "sum(W)", "--at", "W=randn(3,)"],
                                  ["eval", "x", "--at", "x=1", "--timeout", "1e10"]],
                         ids=["empty .npy", "--mode fast", "randn(3,)", "--timeout 1e10"])
def test_console_script_edge_inputs_end_cleanly(tmp_path, args):
    np.save(tmp_path / "empty.npy", np.zeros(0))
    assert_clean_exit(run_script(*args, cwd=tmp_path), repr(args))


def test_the_command_line_never_shows_a_traceback_for_an_unexpected_exception(monkeypatch):
    from conftest import invoke

    from gradcheck.checks import expression as pipeline

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")
    monkeypatch.setattr(pipeline, "check", broken)
    done = invoke("eval", "x*y")
    assert done.exit_code == 3 and "internal error" in done.stderr and "ZeroDivisionError: a bug" in done.stderr
