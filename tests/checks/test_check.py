"""Expression files and `gradcheck check`, JUnit output, the pytest plugin, and check_function."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import PACKAGE_ROOT, console_script, joined

import conftest
import gradcheck
from gradcheck.base.errors import FunctionError, SpecError
from gradcheck.cli import main

ROOT = Path(PACKAGE_ROOT)
EXPRESSIONS = ROOT / "expressions"

WRONG_CASE = '''
[[case]]
name = "appended wrong derivative"
expr = "x^3"
at = { x = 2 }
grad = { x = "3*x" }
'''


def script() -> str:
    return console_script()


def run_script(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return conftest.run_script(*args, cwd=cwd)


@pytest.fixture(scope="module")
def shipped() -> subprocess.CompletedProcess:
    return run_script("check", str(EXPRESSIONS), "--format", "json")


def test_the_shipped_expressions_all_check_green(shipped):
    assert shipped.returncode == 0, shipped.stdout[-2000:] + shipped.stderr
    document = json.loads(shipped.stdout)
    cases = document["cases"]
    assert len(cases) >= 20 and all(c["as_expected"] for c in cases)
    files = {Path(c["file"]).name for c in cases}
    assert {"cs231n_sigmoid_neuron.toml", "cs231n_circuits.toml", "two_layer_net.toml", "classic_functions.toml",
            "mistakes.toml"} <= files
    mistakes = [c for c in cases if Path(c["file"]).name == "mistakes.toml"]
    assert mistakes and all(c["expect"] == "mismatch" and c["status"] == "mismatch" for c in mistakes)
    assert document["summary"]["total"] == len(cases) and document["summary"]["error"] == 0


def test_the_shipped_layers_and_ops_are_green_and_their_mistakes_caught(shipped):
    """Issue 12's files, from the same run of every shipped file."""
    assert shipped.returncode == 0, shipped.stdout[-2000:] + shipped.stderr
    cases = json.loads(shipped.stdout)["cases"]
    new = [c for c in cases if Path(c["file"]).name in ("cs231n_layers.toml", "needle_ops.toml")]
    assert len(new) == 15 + 16
    for case in new:  # every layer and op green, every gradient claimed and agreeing
        assert case["status"] == "pass", case["name"]
        assert all(g["status"] == "pass" and g["claimed"] is not None for g in case["gradients"].values()), case["name"]
    for case in cases:
        if case["expect"] == "mismatch":
            assert case["status"] == "mismatch", case["name"]


def test_every_mistake_is_commented():
    lines = (EXPRESSIONS / "mistakes.toml").read_text().splitlines()
    headers = [i for i, line in enumerate(lines) if line.strip() == "[[case]]"]
    assert headers
    for i in headers:
        assert lines[i + 1].lstrip().startswith("#"), f"the case at line {i + 1} says nothing about its mistake"


def test_a_wrong_case_appended_exits_1_and_is_named(tmp_path):
    target = tmp_path / "cases.toml"
    target.write_text((EXPRESSIONS / "classic_functions.toml").read_text() + WRONG_CASE)
    done = run_script("check", str(target))
    assert done.returncode == 1, done.stdout
    assert "appended wrong derivative" in done.stdout and "✗ mismatch" in done.stdout
    assert "claimed disagrees" in done.stdout  # its details are shown
    line = target.read_text().splitlines().index("[[case]]", len((EXPRESSIONS / "classic_functions.toml").read_text().splitlines())) + 1
    assert f"cases.toml:{line}" in done.stdout


@pytest.mark.parametrize(("content", "words"), [
    ('[[case]]\nname = "typo"\nexpr = "x"\natx = { x = 1 }\n', ["case 'typo'", "unknown key 'atx'", "did you mean 'at'"]),
    ('[[case]]\nname = "no expression"\nat = { x = 1 }\n', ["case 'no expression'", "has no 'expr'"]),
    ('[[case]]\nname = "bad seed"\nexpr = "x"\nseed = "zero"\n', ["case 'bad seed'", "key 'seed' must be a whole number"]),
    ('[[case]]\nname = "bad expect"\nexpr = "x"\nexpect = "fail"\n', ["key 'expect'"]),
    ('[[case]\nexpr = "x"\n', ["not valid TOML"]),
    ('[[case]]\nname = "bad expr"\nexpr = "sigmoi(x)"\n', ["case 'bad expr'", "unknown function 'sigmoi'"]),
    ('[[cases]]\nexpr = "x"\n', ["unknown top-level key 'cases'", "did you mean 'case'"]),
])
def test_a_broken_file_exits_2_naming_file_case_and_key_while_other_files_still_run(tmp_path, content, words):
    (tmp_path / "a_good.toml").write_text('[[case]]\nname = "fine"\nexpr = "x*y"\nat = { x = 1, y = 2 }\n')
    (tmp_path / "b_broken.toml").write_text(content)
    done = run_script("check", str(tmp_path), "--format", "json")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    document = json.loads(done.stdout)
    statuses = {c["name"]: c["status"] for c in document["cases"]}
    assert statuses["fine"] == "pass"
    error = next(c for c in document["cases"] if c["status"] == "error")
    for word in words + ["b_broken.toml"]:
        assert word in error["error"]["message"], error["error"]["message"]
    assert error["error"]["message"] in joined(done.stderr)


def test_an_input_error_outranks_a_mismatch(tmp_path):
    (tmp_path / "cases.toml").write_text(WRONG_CASE + '\n[[case]]\nname = "broken"\nexpr = "log(x)"\nat = { x = -1 }\n')
    assert run_script("check", str(tmp_path)).returncode == 2


def test_an_expected_mismatch_that_agrees_is_a_failure():
    result = CliRunner().invoke(main, ["check", "-"], catch_exceptions=False)  # no such path
    assert result.exit_code == 2
    from gradcheck.batch.cases import CaseSpec, run

    spec = CaseSpec("right after all", "f.toml", 3, {"expr": "x^2", "at": "x=3", "grad": {"x": "2*x"}}, "mismatch")
    outcome = run(spec)
    assert outcome.status == "pass" and not outcome.as_expected and outcome.exit_code == 1


def test_select_exitfirst_and_jobs(tmp_path):
    target = tmp_path / "cases.toml"
    target.write_text("".join(
        f'[[case]]\nname = "case {i}"\nexpr = "x^{i}"\nat = {{ x = 1.5 }}\n' + ('grad = { x = "x" }\n' if i == 3 else "")
        for i in range(1, 7)))
    runner = CliRunner()
    selected = json.loads(runner.invoke(main, ["check", str(target), "-k", "case 2", "--format", "json"]).output)
    assert [c["name"] for c in selected["cases"]] == ["case 2"]
    globbed = json.loads(runner.invoke(main, ["check", str(target), "-k", "case [45]", "--format", "json"]).output)
    assert [c["name"] for c in globbed["cases"]] == ["case 4", "case 5"]
    first = runner.invoke(main, ["check", str(target), "-x", "--format", "json"])
    assert first.exit_code == 1
    assert [c["name"] for c in json.loads(first.output)["cases"]] == ["case 1", "case 2", "case 3"]
    parallel_first = run_script("check", str(target), "-j", "2", "-x", "--format", "json")
    assert [c["name"] for c in json.loads(parallel_first.stdout)["cases"]] == ["case 1", "case 2", "case 3"]
    parallel = run_script("check", str(target), "-j", "2", "--format", "json")
    serial = run_script("check", str(target), "--format", "json")
    assert parallel.returncode == serial.returncode == 1
    strip = lambda doc: [(c["name"], c["status"], c["value"]) for c in json.loads(doc)["cases"]]  # noqa: E731
    assert strip(parallel.stdout) == strip(serial.stdout)


def test_junit_output_is_valid_junit_xml(tmp_path):
    target = tmp_path / "cases.toml"
    target.write_text((EXPRESSIONS / "cs231n_circuits.toml").read_text() + WRONG_CASE
                      + '\n[[case]]\nname = "undefined"\nexpr = "log(x)"\nat = { x = -1 }\n')
    report = tmp_path / "report.xml"
    done = run_script("check", str(target), "--junit", str(report))
    assert done.returncode == 2
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == int(suite.get("tests")) == 4
    assert int(suite.get("failures")) == 1 and int(suite.get("errors")) == 1
    for case in cases:
        assert case.get("name") and case.get("classname") and float(case.get("time")) >= 0
    failure = next(c for c in cases if c.get("name") == "appended wrong derivative").find("failure")
    assert "claimed disagrees" in failure.get("message") and "∂f/∂" in failure.text
    error = next(c for c in cases if c.get("name") == "undefined").find("error")
    assert error.get("type") == "domain" and "log(x)" in error.get("message")


def test_table_output_has_a_row_per_case_and_a_summary():
    path = EXPRESSIONS / "cs231n_circuits.toml"
    result = CliRunner().invoke(main, ["check", str(path)], env={"COLUMNS": "200"})  # wide enough for rows
    assert result.exit_code == 0
    first = path.read_text().splitlines().index("[[case]]") + 1
    assert "(x + y) * z" in result.output and f"cs231n_circuits.toml:{first} " in result.output
    assert result.output.strip().splitlines()[-1].startswith("✓ 2 cases: 2 passed")


def test_pytest_collects_each_case_as_a_test(tmp_path):
    shutil.copy(EXPRESSIONS / "cs231n_circuits.toml", tmp_path / "circuits.toml")
    (tmp_path / "wrong.toml").write_text(WRONG_CASE)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 1, done.stdout
    assert "2 passed" in done.stdout and "1 failed" in done.stdout
    assert "claimed disagrees" in done.stdout
    assert "∂f/∂" in done.stdout  # the table is in the failure report


# Cases enough for two processes to share; every shipped file is checked in one process above.
SHARED_CASES = 6


@pytest.mark.slow
def test_pytest_runs_case_files_on_two_processes(tmp_path):
    (tmp_path / "cases.toml").write_text("".join(
        f'[[case]]\nname = "product {i}"\nexpr = "x*y + {i}"\nat = {{ x = {i}, y = 2 }}\ngrad = {{ x = "y" }}\n'
        for i in range(SHARED_CASES)))
    done = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-n", "2", "cases.toml"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    passed = [line for line in done.stdout.splitlines() if "PASSED" in line]
    assert any("[gw0]" in line for line in passed) and any("[gw1]" in line for line in passed)
    assert f"{SHARED_CASES} passed" in done.stdout


def test_the_fixture_fails_a_test_with_the_table(tmp_path):
    (tmp_path / "test_layer.py").write_text(
        "import numpy as np\n"
        "X = np.arange(6.0).reshape(3, 2)\n"
        "def loss(W):\n    return float(np.sum((X @ W) ** 2))\n"
        "def test_right(gradcheck):\n    gradcheck.check_function(loss, lambda W: 2 * X.T @ (X @ W), np.ones(2))\n"
        "def test_wrong(gradcheck):\n    gradcheck.check_function(loss, lambda W: X.T @ (X @ W), np.ones(2))\n"
        "def test_expression(gradcheck):\n    gradcheck.check('x*y', at='x=1,y=2', grad={'x': 'y'})\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert "2 passed" in done.stdout and "1 failed" in done.stdout, done.stdout
    assert "test_wrong" in done.stdout and "claimed disagrees with numeric" in done.stdout


# ----- check_function ------------------------------------------------------------------------------
RNG = np.random.default_rng(3)
X = RNG.standard_normal((7, 4))
T = RNG.standard_normal((7, 3))


def mse(W, b):
    return float(np.mean((X @ W + b - T) ** 2))


def mse_backward(W, b):
    residual = 2 * (X @ W + b - T) / T.size
    return X.T @ residual, residual.sum(axis=0)


def test_check_function_passes_a_right_backward():
    result = gradcheck.check_function(mse, mse_backward, [RNG.standard_normal((4, 3)), np.zeros(3)])
    assert result.status == "pass" and list(result.gradients) == ["W", "b"]  # names from the signature
    assert set(result.gradients["W"].columns) == {"numeric", "claimed"}


def test_check_function_catches_a_transposed_gradient():
    def transposed(W, b):
        dW, db = mse_backward(W, b)
        return (X.T @ (2 * (X @ W + b - T) / T.size)).T.T.T, db  # (3, 4) where W is (4, 3)

    result = gradcheck.check_function(mse, transposed, [RNG.standard_normal((4, 3)), np.zeros(3)])
    assert result.status == "mismatch"
    verdict = result.gradients["W"].verdict
    assert result.gradients["W"].status == "mismatch" and "claimed has shape (3,4)" in verdict and "(4,3)" in verdict
    square = RNG.standard_normal((4, 4))
    sq = gradcheck.check_function(lambda W: float(np.sum(np.sin(X @ W))),
                                  lambda W: (X.T @ np.cos(X @ W)).T, square)
    assert sq.status == "mismatch" and sq.gradients["W"].verdict.startswith("claimed disagrees with numeric")


def test_check_function_catches_a_missing_factor():
    def no_mean(W, b):
        residual = 2 * (X @ W + b - T)  # forgot the 1/N of the mean
        return X.T @ residual, residual.sum(axis=0)

    result = gradcheck.check_function(mse, no_mean, [RNG.standard_normal((4, 3)), np.zeros(3)])
    assert result.status == "mismatch"
    assert all(g.status == "mismatch" for g in result.gradients.values())
    assert "worst at W[" in result.gradients["W"].verdict


def test_check_function_with_a_mapping_a_single_array_and_fast_mode():
    params = {"W": RNG.standard_normal((4, 3)), "b": np.zeros(3)}
    as_mapping = gradcheck.check_function(lambda W, b: mse(W, b), lambda W, b: dict(zip("Wb", mse_backward(W, b))), params)
    assert as_mapping.status == "pass"
    single = gradcheck.check_function(lambda v: float(np.sum(v ** 3)), lambda v: 3 * v ** 2, np.linspace(-1, 1, 5))
    assert single.status == "pass" and list(single.gradients) == ["v"]
    big = RNG.standard_normal((40, 40))
    fast = gradcheck.check_function(lambda A: float(np.sum(np.tanh(A) ** 2)),
                                    lambda A: 2 * np.tanh(A) * (1 - np.tanh(A) ** 2), big)
    assert fast.status == "pass" and fast.gradients["A"].numeric_mode == "fast"
    assert "claimed disagrees" not in str(fast)


def test_check_function_leaves_the_callers_arrays_alone():
    W = np.ones((4, 3))

    def scribbling_loss(W):
        value = float(np.sum(W ** 2))
        W *= 0  # a careless function that writes to its input
        return value

    gradcheck.check_function(scribbling_loss, lambda W: 2 * W, W)
    assert np.all(W == 1)


@pytest.mark.parametrize(("f", "grad_f", "inputs", "error", "words"), [
    (lambda x: 1 / 0, lambda x: x, np.ones(2), FunctionError, "f raised ZeroDivisionError"),
    (lambda x: float(np.sum(x)), lambda x: {}["k"], np.ones(2), FunctionError, "grad_f raised KeyError"),
    (lambda x: x, lambda x: x, np.ones(2), SpecError, "f must return a scalar"),
    (lambda x, y: float(x.sum()), lambda x, y: x, [np.ones(2), np.ones(2)], SpecError, "2 inputs are differentiated"),
    (lambda x: float(x.sum()), lambda x: x, "abc", SpecError, "nothing to differentiate.*x is a str"),
])
def test_check_function_bad_input_raises_gradcheck_errors(f, grad_f, inputs, error, words):
    with pytest.raises(error, match=words):
        gradcheck.check_function(f, grad_f, inputs)


def test_the_shipped_example_passes_and_its_broken_variant_fails():
    example = ROOT / "examples" / "two_layer_net.py"
    right = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, timeout=300)
    assert right.returncode == 0, right.stdout + right.stderr
    assert "✓ all 4 gradients agree" in right.stdout
    broken = subprocess.run([sys.executable, str(example), "--broken"], capture_output=True, text=True, timeout=300)
    assert broken.returncode == 1
    for name in ("W1", "W2", "b2"):
        assert f"∂f/∂{name}: claimed" in broken.stdout
    assert "∂f/∂b1" not in broken.stdout.split("✗")[-1]


def test_the_pre_commit_hook_runs_gradcheck_check_on_case_files():
    import re

    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert re.search(r"^- id: gradcheck$", text, re.M) and re.search(r"^  entry: gradcheck check$", text, re.M)
    files = re.search(r"^  files: (.+)$", text, re.M).group(1)
    assert re.search(files, "expressions/mistakes.toml") and re.search(files, "docs/expressions/a.toml")
    assert not re.search(files, "pyproject.toml")
