"""`gradcheck torch FILE.py:NAME` and `gradcheck jax FILE.py:NAME`, in-process (CliRunner) and through the
real console script; a missing framework is bad input naming the extra to install."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from conftest import PACKAGE_ROOT, invoke, messages, run_script, subprocess_env

EXAMPLES = Path(PACKAGE_ROOT) / "examples"
TORCH = str(EXAMPLES / "torch_functions.py")
JAX = str(EXAMPLES / "jax_functions.py")


def needs(module: str):
    return pytest.importorskip(module, reason=f"gradcheck {module} needs {module}: pip install 'gradcheck[{module}]'")


def test_a_right_function_exits_0_and_a_wrong_one_1_with_its_diagnosis():
    needs("torch")
    right = invoke("torch", f"{TORCH}:ReLU", "--at", "x=randn(4,5)")
    assert right.exit_code == 0, right.output + right.stderr
    wrong = invoke("torch", f"{TORCH}:ReLUNoMask", "--at", "x=randn(4,5)")
    assert wrong.exit_code == 1
    assert "a mask is missing" in " ".join(wrong.output.split())


def test_a_module_class_is_made_and_its_parameters_are_checked_by_name():
    needs("torch")
    done = invoke("torch", f"{TORCH}:Block", "--at", "x=randn(3,4)", "--format", "json")
    assert done.exit_code == 0, done.output + done.stderr
    case = json.loads(done.output)["cases"][0]
    names = list(case["gradients"])
    assert names[0] == "x" and 'params["linear.weight"]' in names and 'params["norm.bias"]' in names


def test_float32_and_bfloat16_from_the_command_line():
    needs("torch")
    done = invoke("torch", f"{TORCH}:LayerNorm", "--at", "x=randn(4,6)", "--dtype", "float32", "--format", "json")
    assert done.exit_code == 0, done.output + done.stderr
    assert json.loads(done.output)["cases"][0]["dtype"] == "float32"
    wrong = invoke("torch", f"{TORCH}:Square", "--at", "x=randn(4,6)", "--dtype", "bfloat16")
    assert wrong.exit_code == 1
    assert "bfloat16" in wrong.output


def test_the_console_script_checks_a_torch_function(tmp_path):
    needs("torch")
    done = run_script("torch", f"{TORCH}:MatMulTransposed", "--at", "a=randn(3,3)", "--at", "b=randn(3,3)")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "it uses b where b.T belongs" in " ".join(done.stdout.split())
    right = run_script("torch", f"{TORCH}:MatMul", "--at", "a=randn(3,3)", "--at", "b=randn(3,2)")
    assert right.returncode == 0, right.stdout + right.stderr


def test_an_error_in_the_users_forward_exits_2_with_one_line(tmp_path):
    needs("torch")
    source = tmp_path / "broken.py"
    source.write_text("import torch\n\n\ndef f(x):\n    return x @ torch.ones(5, 5, dtype=x.dtype)\n")
    done = run_script("torch", f"{source}:f", "--at", "x=randn(3,4)")
    assert done.returncode == 2
    assert len(messages(done.stderr)) == 1, done.stderr
    assert "RuntimeError at broken.py:5" in done.stderr and "Traceback" not in done.stderr


def test_inputs_must_be_named_as_the_function_names_them():
    needs("torch")
    done = invoke("torch", f"{TORCH}:swish", "--at", "y=randn(3)")
    assert done.exit_code == 2
    assert "takes (x)" in done.stderr


@pytest.mark.skipif(find_spec("jax") is None, reason="gradcheck jax needs jax: pip install 'gradcheck[jax]'")
def test_jax_from_the_command_line():
    """Through the console script; in-process (CliRunner) in test_jax.py's fresh interpreter, as JAX starts
    threads when imported."""
    right = run_script("jax", f"{JAX}:softplus", "--at", "x=randn(4,5)")
    assert right.returncode == 0, right.stdout + right.stderr
    wrong = run_script("jax", f"{JAX}:matmul_transposed", "--at", "a=randn(3,3)", "--at", "b=randn(3,3)")
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    assert "b.T" in wrong.stdout


@pytest.mark.parametrize("framework", ["torch", "jax"])
def test_a_missing_framework_is_bad_input_naming_the_extra(framework):
    """The framework made unimportable (sys.modules[name] = None), as where it is not installed."""
    code = (f"import sys\nsys.modules[{framework!r}] = None\nfrom gradcheck.cli import main\n"
            f"main([{framework!r}, {TORCH!r} + ':ReLU', '--at', 'x=randn(3)'])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=subprocess_env(NO_COLOR="1"))
    assert done.returncode == 2, done.stderr
    assert f"pip install 'gradcheck[{framework}]'" in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("framework", ["torch", "jax"])
def test_help_says_the_exit_codes_and_fits_80_columns(framework):
    done = invoke(framework, "--help", env={"COLUMNS": "80"})
    assert done.exit_code == 0
    text = " ".join(done.output.split())
    for code in ("0 right", "1 wrong", "2 bad input", "4 inconclusive", "5 a broken contract"):
        assert code in text
    assert max(len(line) for line in done.output.splitlines()) <= 80
