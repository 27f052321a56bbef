"""Matrix expressions: the two-layer network of the CMU notes, deeper nets, regressions, broadcasting,
vectors with indexing, and the mistakes students make in matrix gradients (transposes, masks, 1/m)."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from conftest import console_script, messages, subprocess_env

import gradcheck
from gradcheck.base.errors import DomainError, ShapeError, ValueSpecError
from gradcheck.base.limits import FULL_MODE_MAX_ENTRIES

NET_AT = {"X": "randn(8,5)", "W1": "randn(5,4)", "W2": "randn(4,3)", "y": "[0,2,1,1,0,2,2,1]"}
M = 8  # rows of X
S_MINUS_Y = "(softmax(H @ W2) - onehot(y, 3))"


def net(activation: str, **claims):
    return gradcheck.check(f"softmax_ce({activation}(X @ W1) @ W2, y)", at=NET_AT, wrt="W1,W2",
                           let={"H": f"{activation}(X @ W1)"}, grad=claims or None)


def test_the_vector_form_of_the_source_question():
    result = gradcheck.check("sigmoid(w[0]*x[0] + w[1]*x[1] + w[2])", at="w=[2.0,-3,-3],x=[-1.0,-2]")
    assert result.status == "pass"
    s = 1 / (1 + np.exp(-1.0))
    ds = s * (1 - s)
    for column in ("symbolic", "backprop", "numeric"):
        np.testing.assert_allclose(result.gradients["w"].columns[column], [-ds, -2 * ds, ds], rtol=1e-8)
        np.testing.assert_allclose(result.gradients["x"].columns[column], [2 * ds, -3 * ds], rtol=1e-8)
    np.testing.assert_allclose(result.gradients["w"].columns["backprop"], [-ds, -2 * ds, ds], rtol=1e-13)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_two_layer_network_passes(activation):
    result = net(activation)
    assert result.status == "pass", result.verdict
    assert list(result.gradients) == ["W1", "W2"]  # X is given but only W1, W2 are asked for
    for g in result.gradients.values():
        assert g.columns["symbolic"] is not None and g.numeric_mode == "full"


def test_seed_formula_for_w2_needs_the_1_over_m_of_a_mean_loss():
    right = net("relu", W2=f"H.T @ {S_MINUS_Y} / {M}")
    assert right.status == "pass" and right.exit_code == 0
    wrong = net("relu", W2=f"H.T @ {S_MINUS_Y}")
    assert wrong.status == "mismatch" and wrong.exit_code == 1
    assert wrong.gradients["W2"].verdict.startswith("claimed disagrees with symbolic = backprop = numeric")
    assert "worst at W2[" in wrong.gradients["W2"].verdict


W1_RIGHT = {
    "relu": f"X.T @ (step(X @ W1) * ({S_MINUS_Y} @ W2.T)) / {M}",
    "sigmoid": f"X.T @ (sigmoid(X @ W1) * (1 - sigmoid(X @ W1)) * ({S_MINUS_Y} @ W2.T)) / {M}",
    "tanh": f"X.T @ ((1 - tanh(X @ W1)^2) * ({S_MINUS_Y} @ W2.T)) / {M}",
}
W1_WRONG = {
    "relu mask missing": ("relu", f"X.T @ ({S_MINUS_Y} @ W2.T) / {M}"),
    "sigma in place of sigma'": ("sigmoid", f"X.T @ (sigmoid(X @ W1) * ({S_MINUS_Y} @ W2.T)) / {M}"),
    "W2 not transposed": ("relu", f"X.T @ (step(X @ W1) * ({S_MINUS_Y} @ W2)) / {M}"),
}


@pytest.mark.parametrize("activation", list(W1_RIGHT))
def test_the_notes_formula_for_w1_passes(activation):
    result = net(activation, W1=W1_RIGHT[activation], W2=f"H.T @ {S_MINUS_Y} / {M}")
    assert result.status == "pass", result.verdict


@pytest.mark.parametrize("mistake", list(W1_WRONG))
def test_wrong_w1_claims_are_caught(mistake):
    activation, claim = W1_WRONG[mistake]
    result = net(activation, W1=claim)
    assert result.status == "mismatch"
    g = result.gradients["W1"]
    assert g.status == "mismatch" and g.verdict.startswith("claimed")


def test_a_claim_of_the_wrong_shape_is_a_mismatch_that_says_so():
    result = net("relu", W2=f"{S_MINUS_Y}.T @ H / {M}")  # the transpose of the right answer
    g = result.gradients["W2"]
    assert result.status == "mismatch" and g.columns["claimed"] is None
    assert "claimed has shape (3,4)" in g.verdict and "∂f/∂W2 has shape (4,3)" in g.verdict


def test_a_claim_whose_shapes_do_not_fit_is_a_mismatch_not_an_input_error():
    result = net("relu", W2=f"H @ {S_MINUS_Y} / {M}")  # forgot the transpose: (8,4) @ (8,3)
    assert result.status == "mismatch"
    assert "does not compute" in result.gradients["W2"].verdict


def test_three_layer_mlp_and_the_general_recursion():
    at = {"X": "randn(6,5)", "W1": "randn(5,4)", "W2": "randn(4,4)", "W3": "randn(4,3)", "y": "[0,1,2,2,1,0]"}
    lets = {"Z2": "relu(X @ W1)", "Z3": "relu(Z2 @ W2)", "G4": "(softmax(Z3 @ W3) - onehot(y, 3)) / 6",
            # G_i = (G_{i+1} ∘ σ'(Z_i W_i)) W_iᵀ, with the last layer linear
            "G3": "G4 @ W3.T", "G2": "(G3 * step(Z2 @ W2)) @ W2.T"}
    claims = {"W3": "Z3.T @ G4", "W2": "Z2.T @ (G3 * step(Z2 @ W2))", "W1": "X.T @ (G2 * step(X @ W1))"}
    result = gradcheck.check("softmax_ce(Z3 @ W3, y)", at=at, let=lets, grad=claims, wrt="W1,W2,W3")
    assert result.status == "pass", result.verdict
    assert result.verdict == "all 3 gradients agree, claims included"


def test_linear_regression_with_a_mean_loss():
    at = {"X": "randn(10,3)", "w": "randn(3)", "t": "randn(10)"}
    right = gradcheck.check("mean((X @ w - t)^2)", at=at, wrt="w", grad={"w": "2 * X.T @ (X @ w - t) / 10"})
    assert right.status == "pass", right.verdict
    wrong = gradcheck.check("mean((X @ w - t)^2)", at=at, wrt="w", grad={"w": "2 * X.T @ (X @ w - t)"})
    assert wrong.status == "mismatch"


def test_logistic_regression_with_a_mean_loss():
    at = {"X": "randn(12,3)", "w": "randn(3)", "t": "[0,1,1,0,1,0,0,1,1,1,0,0]"}
    expr = "mean(-t * log(sigmoid(X @ w)) - (1 - t) * log(1 - sigmoid(X @ w)))"
    right = gradcheck.check(expr, at=at, wrt="w", grad={"w": "X.T @ (sigmoid(X @ w) - t) / 12"})
    assert right.status == "pass", right.verdict
    wrong = gradcheck.check(expr, at=at, wrt="w", grad={"w": "X.T @ (sigmoid(X @ w) - t)"})
    assert wrong.status == "mismatch"


@pytest.mark.parametrize("bias", ["randn(3)", "randn(1,3)"])
def test_a_broadcast_bias_gets_its_gradient_summed_over_the_batch(bias):
    at = {"X": "randn(5,4)", "W": "randn(4,3)", "b": bias, "y": "[0,1,2,1,0]"}
    result = gradcheck.check("softmax_ce(X @ W + b, y)", at=at, wrt="W,b")
    assert result.status == "pass", result.verdict
    expected_shape = (3,) if bias == "randn(3)" else (1, 3)
    assert result.gradients["b"].shape == expected_shape
    assert np.shape(result.gradients["b"].columns["backprop"]) == expected_shape
    if bias == "randn(3)":
        claim = gradcheck.check("softmax_ce(X @ W + b, y)", at=at, wrt="b",
                                grad={"b": "sum(softmax(X @ W + b) - onehot(y, 3), axis=0) / 5"})
        assert claim.status == "pass", claim.verdict


def test_reductions_and_the_softmax_family():
    at = {"A": "randn(4,3)"}
    for expr in ["sum(A^2)", "mean(tanh(A), axis=0)[1]", "sum(log_softmax(A)[2])", "mean(logsumexp(A))",
                 "sum(softmax(A) * A)", "sum(A.T @ A)", "A[1,2] * A[0,0]", "sum(mean(A, 1) * sum(A, -1))"]:
        result = gradcheck.check(expr, at=at)
        assert result.status == "pass", (expr, result.verdict)


def test_shapes_are_checked_before_anything_runs():
    with pytest.raises(ShapeError) as info:
        gradcheck.check("sum(X @ W)", at={"X": "randn(3,2)", "W": "randn(3,2)"})
    message = str(info.value)
    assert "X @ W" in message and "X is (3,2), W is (3,2)" in message
    assert "2 columns" in message and "3 rows" in message


@pytest.mark.parametrize(("expr", "at", "words"), [
    ("X @ W", {"X": "randn(3,2)", "W": "randn(2,4)"}, "f has shape (3,4)"),
    ("sum(A + B)", {"A": "randn(3,2)", "B": "randn(3)"}, "do not broadcast"),
    ("A[3]", {"A": "[1.0,2,3]"}, "index 3 is out of range"),
    ("sum(A, axis=2)", {"A": "randn(2,2)"}, "axis 2 is out of range"),
    ("softmax_ce(Z, y)", {"Z": "randn(4,3)", "y": "[0,1,2]"}, "softmax_ce takes scores"),
    ("x[0]", {"x": "2"}, "a scalar cannot be indexed or sliced"),
])
def test_shape_errors_name_the_node_and_shapes(expr, at, words):
    with pytest.raises(ShapeError) as info:
        gradcheck.check(expr, at=at)
    assert words in str(info.value)


def test_labels_are_data_and_must_be_class_numbers():
    result = gradcheck.check("softmax_ce(Z, y)", at={"Z": "randn(3,4)", "y": "[3,0,1]"})
    assert list(result.gradients) == ["Z"]
    with pytest.raises(DomainError, match=r"y\[0\] = 4 .*class numbers"):
        gradcheck.check("softmax_ce(Z, y)", at={"Z": "randn(3,4)", "y": "[4,0,1]"})
    with pytest.raises(DomainError):
        gradcheck.check("softmax_ce(Z, y)", at={"Z": "randn(3,4)", "y": "[0.5,0,1]"})
    with pytest.raises(gradcheck.SpecError, match="class labels"):
        gradcheck.check("softmax_ce(Z, y)", at={"Z": "randn(3,4)", "y": "[1,0,1]"}, wrt="y")


def test_values_from_lists_random_draws_and_npy_files(tmp_path):
    data = np.arange(6.0).reshape(2, 3) / 10
    np.save(tmp_path / "W.npy", data)
    result = gradcheck.check("sum(W * W)", at={"W": "W.npy"}, base=tmp_path)
    np.testing.assert_allclose(result.gradients["W"].columns["backprop"], 2 * data, rtol=1e-15)
    listed = gradcheck.check("sum(W * W)", at="W=[[0,0.1,0.2],[0.3,0.4,0.5]]")
    np.testing.assert_array_equal(listed.point["W"], data)
    first = gradcheck.check("sum(A)", at="A=randn(2,2)", seed=1)
    again = gradcheck.check("sum(A)", at="A=randn(2,2)", seed=1)
    other = gradcheck.check("sum(A)", at="A=randn(2,2)", seed=2)
    np.testing.assert_array_equal(first.point["A"], again.point["A"])
    assert not np.array_equal(first.point["A"], other.point["A"])
    for bad in ["[[1,2],[3]]", "missing.npy", "randn(0,3)", "[1, nan]"]:
        with pytest.raises(ValueSpecError):
            gradcheck.check("sum(A)", at={"A": bad}, base=tmp_path)


def test_fast_mode_passes_a_right_gradient_and_catches_a_wrong_one():
    at = {"X": "randn(20,30)", "W1": "randn(30,40)", "W2": "randn(40,5)",
          "y": "[" + ",".join(str(i % 5) for i in range(20)) + "]"}
    assert 30 * 40 + 40 * 5 > FULL_MODE_MAX_ENTRIES  # auto chooses fast mode here
    lets = {"H": "tanh(X @ W1)"}
    right = gradcheck.check("softmax_ce(tanh(X @ W1) @ W2, y)", at=at, let=lets, wrt="W1,W2",
                            grad={"W2": "H.T @ (softmax(H @ W2) - onehot(y, 5)) / 20"})
    assert right.status == "pass", right.verdict
    g = right.gradients["W2"]
    assert g.numeric_mode == "fast" and g.columns["numeric"] is not None
    assert "fast mode" in g.notes["numeric"]
    assert "skipped (too large)" in right.gradients["W1"].notes["symbolic"]
    wrong = gradcheck.check("softmax_ce(tanh(X @ W1) @ W2, y)", at=at, let=lets, wrt="W1,W2",
                            grad={"W2": "H.T @ (softmax(H @ W2) - onehot(y, 5))"})
    assert wrong.status == "mismatch"


def test_fast_mode_can_be_forced_and_agrees_with_full_mode():
    at = {"X": "randn(6,4)", "W": "randn(4,5)", "y": "[0,1,2,0,1,2]"}  # W above 16 entries: probed
    fast = gradcheck.check("softmax_ce(X @ W, y)", at=at, wrt="W", mode="fast")
    full = gradcheck.check("softmax_ce(X @ W, y)", at=at, wrt="W", mode="full")
    assert fast.status == full.status == "pass"
    assert fast.gradients["W"].numeric_mode == "fast" and full.gradients["W"].numeric_mode == "full"


def test_a_wrong_backprop_rule_would_be_caught_by_the_array_oracles(monkeypatch):
    """Break matmul's VJP (forget a transpose) and the symbolic and numeric oracles both object."""
    from dataclasses import replace

    from gradcheck.ops import registry as primitives

    matmul = primitives.BY_NAME["matmul"]
    broken = replace(matmul, vjps=(lambda g, ans, a, b: g @ b, matmul.vjps[1]))
    monkeypatch.setitem(primitives.BINARY_OPERATORS, "@", broken)
    result = gradcheck.check("sum(A @ B)", at={"A": "randn(3,3)", "B": "randn(3,3)"})
    assert result.gradients["A"].verdict.startswith("backprop disagrees with symbolic = numeric")
    assert result.gradients["B"].status == "pass"


def test_json_gradients_are_nested_lists():
    completed = subprocess.run(
        [console_script(), "eval", "softmax_ce(relu(X @ W1) @ W2, y)", "--at",
         "X=randn(8,5),W1=randn(5,4),W2=randn(4,3),y=[0,2,1,1,0,2,2,1]", "--wrt", "W1,W2",
         "--let", "H=relu(X @ W1)", "--grad", "W2=H.T @ (softmax(H @ W2) - onehot(y, 3)) / 8",
         "--format", "json"], capture_output=True, text=True, timeout=120, env=subprocess_env())
    assert completed.returncode == 0, completed.stderr
    case = json.loads(completed.stdout)["cases"][0]
    w2 = case["gradients"]["W2"]
    assert w2["shape"] == [4, 3] and len(w2["backprop"]) == 4 and len(w2["backprop"][0]) == 3
    assert len(w2["claimed"]) == 4 and case["point"]["y"] == [0, 2, 1, 1, 0, 2, 2, 1]
    assert {(p["a"], p["b"]) for p in w2["pairs"]} >= {("symbolic", "backprop"), ("backprop", "numeric")}


@pytest.mark.parametrize(("claim", "code"), [("H.T @ (softmax(H @ W2) - onehot(y, 3)) / 8", 0),
                                             ("H.T @ (softmax(H @ W2) - onehot(y, 3))", 1)])
def test_the_issue_command_through_the_console_script(claim, code):
    completed = subprocess.run(
        [console_script(), "eval", "softmax_ce(relu(X @ W1) @ W2, y)", "--at",
         "X=randn(8,5),W1=randn(5,4),W2=randn(4,3),y=[0,2,1,1,0,2,2,1]", "--wrt", "W1,W2",
         "--let", "H=relu(X @ W1)", "--grad", f"W2={claim}"], capture_output=True, text=True, timeout=120,
        env=subprocess_env())
    assert completed.returncode == code, completed.stderr
    assert "W2" in completed.stdout and "(4,3)" in completed.stdout


def test_shape_error_through_the_console_script():
    completed = subprocess.run([console_script(), "eval", "sum(X @ W)", "--at", "X=randn(3,2),W=randn(3,2)"],
                               capture_output=True, text=True, timeout=120, env=subprocess_env())
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    first = messages(completed.stderr)[0]
    assert first.startswith("gradcheck: error:") and "X is (3,2), W is (3,2)" in first
