"""How an expression was read (issue 13): the seed question's `1 / 1 + exp(-z)`."""

from __future__ import annotations

import json

from conftest import invoke, run_script

SLIP = "1 / 1 + exp(-z)"
SIGMOID_DERIVATIVE = "z=sigmoid(z)*(1-sigmoid(z))"


def test_the_reading_is_said_and_a_sigmoid_claim_is_recognised():
    done = run_script("eval", SLIP, "--at", "z=1", "--grad", SIGMOID_DERIVATIVE, COLUMNS="200")
    assert done.returncode == 1
    # golden: how the slip is read is the point of this test, said once in full
    assert "1 / 1 + exp(-z) is read as (1 / 1) + exp(-z)" in done.stdout
    assert "a sigmoid is 1/(1 + exp(-z))" in done.stdout
    assert "your claim is right for sigmoid(z)" in done.stdout and "f as written is (1 / 1) + exp(-z)" in done.stdout


def test_json_carries_the_reading():
    runner = invoke("eval", SLIP, "--at", "z=1", "--format", "json")
    case = json.loads(runner.stdout)["cases"][0]
    assert runner.exit_code == 0
    assert case["reading"] and "read as (1 / 1) + exp(-z)" in case["reading"][0]


def test_parentheses_written_by_the_user_are_no_slip():
    for expr in ("(1 / 1) + exp(-z)", "1 / (1 + exp(-z))", "z / 2 + 1"):
        case = json.loads(invoke("eval", expr, "--at", "z=1", "--format", "json").stdout)["cases"][0]
        assert "reading" not in case, expr


def test_a_wrong_claim_for_the_true_sigmoid_is_not_excused():
    runner = invoke("eval", SLIP, "--at", "z=1", "--grad", "z=sigmoid(z)", "--format", "json")
    g = json.loads(runner.stdout)["cases"][0]["gradients"]["z"]
    assert "right for sigmoid" not in (g.get("diagnosis") or "")


def test_trace_shows_the_parenthesized_reading():
    done = run_script("trace", SLIP, "--at", "z=1", COLUMNS="200")
    assert done.returncode == 0, done.stderr
    assert "read as ((1 / 1) + exp((-z)))" in done.stdout
    data = json.loads(run_script("trace", "a*b + c/d", "--format", "json").stdout)
    assert data["reading"] == "((a * b) + (c / d))"
