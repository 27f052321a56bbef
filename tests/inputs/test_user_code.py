"""Calling the user's own code: sys.exit, exit(), quit() or any BaseException in it is exit 2 naming
file and line (a FunctionError through the API), an exception names its file and line, a module that
loops at import ends at the budget, and the vjp command passes the inputs by position.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import messages, run_script
from hostile_input import LAYERS, assert_exit, run

import gradcheck


@pytest.mark.parametrize("forward, backward, line", [
    ("forward", "exits", 10), ("forward", "exits_with_text", 14), ("forward", "calls_exit", 18),
    ("forward", "calls_quit", 22), ("forward", "base_exception", 26), ("forward_exits", "backward", 30),
])
def test_sys_exit_or_a_base_exception_in_the_users_code_is_exit_2_naming_file_and_line(
        tmp_path, forward, backward, line):
    """A wrong backward that calls sys.exit(0) ended `gradcheck layer` with exit 0 and no output: CI read a pass."""
    (tmp_path / "layers.py").write_text(LAYERS)
    proc = run("layer", f"layers.py:{forward}", f"layers.py:{backward}", "--at", "x=randn(3)", cwd=tmp_path)
    assert_exit(proc, 2, f"layers.py:{line}")
    assert proc.stderr.startswith("gradcheck: error:") and len(messages(proc.stderr)) == 1


def test_a_sys_exit_through_the_api_is_a_function_error():
    import sys as system

    def loss(x):
        return float(np.sum(x * x))

    def leaves(x):
        system.exit(0)

    with pytest.raises(gradcheck.FunctionError, match="sys.exit"):
        gradcheck.check_function(loss, leaves, [np.array([1.0, 2.0])])


def test_an_exception_in_the_users_layer_names_its_file_and_line(tmp_path):
    """'forward raised ValueError: matmul: ...' said what, not where."""
    (tmp_path / "layers.py").write_text("import numpy as np\ndef f(x):\n    return np.maximum(x, 0), x\n"
                                        "def b(dout, x):\n    return dout * (x > 0) + undefined_name\n")
    done = run_script("layer", "layers.py:f", "layers.py:b", "--at", "x=randn(3)", cwd=tmp_path)
    assert done.returncode == 2
    (message,) = messages(done.stderr)  # one line: what, where, and Python's own words
    assert message.startswith("gradcheck: error: backward raised NameError"), message
    assert "at layers.py:5" in message and "'undefined_name'" in message, message


def test_a_module_that_loops_at_import_ends_at_the_budget(tmp_path):
    (tmp_path / "hangs.py").write_text("while True:\n    pass\n")
    done = run_script("layer", "hangs.py:f", "hangs.py:g", "--at", "x=randn(3)", "--timeout", "1", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    message = messages(done.stderr)[0]
    assert all(words in message for words in ("importing hangs.py", "time budget of 1 s", "import step")), message


def test_the_vjp_command_passes_the_inputs_by_position(tmp_path):
    """The --at values went to VJP by F's parameter names: a vjp naming its own parameters
    (def matmul_vjp(g, x, y) for def f(a, b)) raised 'unexpected keyword argument'."""
    (tmp_path / "ops.py").write_text(
        "def f(a, b):\n    return a @ b\n"
        "def f_vjp(g, x, y):\n    return g @ y.T, x.T @ g\n"
        "def f_vjp_bad(g, x, y):\n    return g @ y.T, g.T @ x\n")
    right = run_script("vjp", "ops.py:f", "ops.py:f_vjp", "--at", "b=randn(3,4)", "--at", "a=randn(2,3)", cwd=tmp_path)
    assert right.returncode == 0, right.stdout + right.stderr
    wrong = run_script("vjp", "ops.py:f", "ops.py:f_vjp_bad", "--at", "a=randn(3,3)", "--at", "b=randn(3,3)",
                       "--format", "json", cwd=tmp_path)
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    gradients = json.loads(wrong.stdout)["cases"][0]["gradients"]
    assert gradients["a"]["status"] == "pass" and gradients["b"]["status"] == "mismatch"


def test_a_file_that_does_not_parse_names_its_line_once(tmp_path):
    """str() of a SyntaxError carries its own '(file, line N)': the message said the line twice."""
    (tmp_path / "broken.py").write_text("import numpy as np\n\ndef forward(x:\n    return x\n")
    proc = run_script("layer", "broken.py:forward", "broken.py:backward", "--at", "x=randn(3)", cwd=tmp_path)
    assert proc.returncode == 2 and len(messages(proc.stderr)) == 1, proc.stderr
    assert "SyntaxError" in proc.stderr and proc.stderr.count("line 3") == 1, proc.stderr
