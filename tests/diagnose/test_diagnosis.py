"""How a wrong claim is wrong, established at several random points (issue 6's diagnoses)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from conftest import console_script

import gradcheck

NEURON_AT = "w0=2,w1=-3,w2=-3,x0=-1,x1=-2"
Z = {"z": "w0*x0 + w1*x1 + w2"}
NET_AT = {"X": "randn(8,5)", "W1": "randn(5,4)", "W2": "randn(4,3)", "y": "[0,2,1,1,0,2,2,1]"}
H = {"H": "relu(X @ W1)"}


def claim(expr, at, grad, let=None, wrt=None):
    result = gradcheck.check(expr, at=at, grad=grad, let=let, wrt=wrt)
    (variable,) = grad
    return result, result.gradients[variable]


def test_the_seed_mistake_is_a_missing_sigmoid_local_gradient():
    result, g = claim("sigmoid(z)", NEURON_AT, {"w0": "x0*sigmoid(z)"}, Z)
    assert result.status == "mismatch"
    # golden: the founding question's answer, in the words a student reads
    assert g.diagnosis == ("it is missing the local gradient of sigmoid(z), sigmoid(z)*(1 - sigmoid(z)): "
                           "it uses the value of sigmoid(z) where its local gradient belongs")
    assert g.correct is not None and "z" in g.correct and "w0" not in g.correct  # written with the --let name


def test_a_dropped_local_gradient_and_an_extra_one():
    _, missing = claim("sigmoid(z)", NEURON_AT, {"w0": "x0"}, Z)
    assert missing.diagnosis.startswith("it is missing the factor sigmoid(z)*(1 - sigmoid(z))")
    _, extra = claim("tanh(u)", "a=0.3,b=0.8", {"a": "b*(1 - tanh(u)^2)^2"}, {"u": "a*b"})
    assert extra.diagnosis.startswith("it has an extra factor 1 - tanh(u)**2")


def test_a_sign_error():
    _, g = claim("sigmoid(z)", NEURON_AT, {"w0": "-x0*sigmoid(z)*(1 - sigmoid(z))"}, Z)
    assert g.diagnosis == "it has the wrong sign"


def test_a_missing_1_over_m():
    _, g = claim("softmax_ce(relu(X @ W1) @ W2, y)", NET_AT, {"W2": "H.T @ (softmax(H @ W2) - onehot(y, 3))"},
                 H, wrt="W2")
    assert g.diagnosis.startswith("it is 8 times too large") and "mean over 8 rows" in g.diagnosis
    assert "1/8" in g.diagnosis, g.diagnosis


def test_a_transposed_matrix_claim():
    _, g = claim("softmax_ce(relu(X @ W1) @ W2, y)", NET_AT, {"W2": "(softmax(H @ W2) - onehot(y, 3)).T @ H / 8"},
                 H, wrt="W2")
    assert g.status == "mismatch" and g.diagnosis.startswith("it is transposed") and "(.T)" in g.diagnosis
    square = gradcheck.check("sum(sin(A @ B))", at={"A": "randn(3,3)", "B": "randn(3,3)"}, wrt="A",
                             grad={"A": "(cos(A @ B) @ B.T).T"})
    assert square.gradients["A"].diagnosis == g.diagnosis  # the same words for a square claim


def test_a_formula_right_only_at_the_given_point_fails():
    result, g = claim("x^2", "x=1", {"x": "x + 1"})  # 2 at x = 1, as 2*x is: right here, wrong as a formula
    assert result.status == g.status == "mismatch" and result.exit_code == 1
    assert g.diagnosis.startswith("it agrees at the given point only by chance")
    assert "only by chance" in result.verdict
    right, good = claim("x^2", "x=1", {"x": "2*x"})
    assert right.status == "pass" and good.diagnosis is None and "chance" not in right.verdict
    number, said = claim("x^2", "x=1", {"x": "2"})  # a number is a claim about this point only
    assert number.status == "pass" and said.diagnosis is None


def test_a_wrong_claim_without_a_simple_pattern_gets_no_invented_diagnosis():
    _, g = claim("sin(x)*x", "x=1", {"x": "sin(x)"})
    assert g.diagnosis is None and g.correct == "x*cos(x) + sin(x)"


def test_the_diagnosis_reaches_the_console_and_json():
    script = console_script()
    done = subprocess.run([script, "eval", "sigmoid(z)", "--let", "z=w0*x0 + w1*x1 + w2", "--at", NEURON_AT,
                           "--grad", "w0=x0*sigmoid(z)"], capture_output=True, text=True, timeout=120)
    shown = " ".join(done.stdout.split())  # the diagnosis wraps at word boundaries to the width
    assert done.returncode == 1 and "missing the local gradient" in shown and "sigmoid(z)" in shown
    # golden: the right formula in the registry's vocabulary, not SymPy's expansion
    assert "the right one: ∂f/∂w0 = x0*sigmoid(z)*(1 - sigmoid(z))" in done.stdout
    chance = subprocess.run([script, "eval", "x^2", "--at", "x=1", "--grad", "x=x+1", "--format", "json"],
                            capture_output=True, text=True, timeout=120)
    import json

    g = json.loads(chance.stdout)["cases"][0]["gradients"]["x"]
    assert chance.returncode == 1 and g["status"] == "mismatch"
    assert g["diagnosis"].startswith("it agrees at the given point only by chance")


@pytest.mark.parametrize(("expr", "at", "grad", "let", "points"), [
    ("sigmoid(z)", NEURON_AT, {"w0": "x0*sigmoid(z)"}, Z, 5),
    ("log(x) + sqrt(y) * x", "x=0.3,y=0.2", {"x": "1/x + y"}, None, 5),  # some random points leave the domain
    ("(1 - x)^2 + 100*(y - x^2)^2", "x=1,y=1", {"x": "-2*(1 - x) - 400*x*(y - x^2)"}, None, 5),
    ("exp(a*b) + a", "a=1,b=2", {"a": "b*exp(a*b) + log(-1 - a*a)"}, None, 0),  # the claim is nowhere defined
])
def test_the_random_points_of_one_vectorized_pass_are_those_of_one_point_at_a_time(expr, at, grad, let, points):
    """A scalar f's diagnosis points come from one pass over every try (diagnosis._batched_samples):
    the same points kept, the same gradients and claimed values as trying one point at a time."""
    from gradcheck.diagnose.claims import _batchable, _batched_samples, _one_by_one
    from gradcheck.inputs.problem import Spec, build

    problem = build(Spec(expr, at=at, grad=grad, let=let))
    (variable,) = grad
    claim = problem.claims[variable]
    assert _batchable(problem, claim)
    batched, single = _batched_samples(problem, variable, claim, 0), _one_by_one(problem, variable, claim, 0)
    assert len(batched) == len(single) == points
    for (t1, c1, v1), (t2, c2, v2) in zip(batched, single):
        assert np.allclose(t1, t2, rtol=1e-14, atol=0) and np.allclose(c1, c2, rtol=1e-14, atol=0)
        assert np.allclose(v1[problem.root], v2[problem.root], rtol=1e-14, atol=0)
