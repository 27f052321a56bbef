"""Matrix-form gradients (issue 13): derived by symbolic reverse mode over the tree with the
registry's matrix rules, checked at the point before they are shown, and equal to the second
source text's formulas (with the 1/m of the mean loss), compared by evaluating both at random points.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_script

from gradcheck.language.evaluate import value
from gradcheck.language.parser import Scope, parse
from gradcheck.language.tree import Var
from gradcheck.ops.registry import BY_NAME

M, N, D, K = 8, 4, 5, 3  # batch, inputs, hidden units, classes
LABELS = "y=[0,1,2,0,1,2,0,1]"
NET_AT = ["--at", f"X=randn({M},{N})", "--at", f"W1=randn({N},{D})", "--at", f"W2=randn({D},{K})", "--at", LABELS]
RANDOM_POINTS = 3
SAME = 1e-10  # two evaluations of one gradient in float64, by different formulas

ACTIVATIONS = {  # σ and σ' in numpy, as the notes write them
    "relu": (lambda z: np.maximum(z, 0), lambda z: np.heaviside(z, 0.5)),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
}


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def notes_gradients(sigma: str, X, Ws, y):
    """The notes' recursion: G_{L+1} = S - I_y (divided by m for the mean loss),
    ∇W_i = Z_iᵀ (G_{i+1} ∘ σ'(Z_i W_i)), G_i = (G_{i+1} ∘ σ'(Z_i W_i)) W_iᵀ; the last layer is linear."""
    act, dact = ACTIVATIONS[sigma]
    Z = [X]
    for W in Ws[:-1]:
        Z.append(act(Z[-1] @ W))
    S = _softmax(Z[-1] @ Ws[-1])
    G = (S - np.eye(S.shape[1])[y]) / X.shape[0]
    grads = [Z[-1].T @ G]
    G = G @ Ws[-1].T
    for i in range(len(Ws) - 2, -1, -1):
        local = G * dact(Z[i] @ Ws[i])
        grads.insert(0, Z[i].T @ local)
        G = local @ Ws[i].T
    return grads


def evaluate_text(text: str, point: dict, lets: dict[str, str]):
    """A printed formula evaluated by gradcheck's own parser and forward pass (never eval)."""
    scope = Scope()
    for name, body in lets.items():
        scope.lets[name] = parse(body, scope=scope)
    scope.variables.update({n: Var(n, None) for n in point if n not in scope.variables})
    scope.closed = True
    return value(parse(text, scope=scope), point)


def matrix_formulas(expr: str, *args: str) -> dict:
    done = run_script("eval", expr, *args, "--formulas", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["cases"][0]["gradients"]


@pytest.mark.parametrize("sigma", sorted(ACTIVATIONS))
def test_two_layer_net_matches_the_notes(sigma):
    gradients = matrix_formulas(f"softmax_ce({sigma}(X @ W1) @ W2, y)", *NET_AT, "--wrt", "W1,W2")
    rng = np.random.default_rng(13)
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    for _ in range(RANDOM_POINTS):
        X, W1, W2 = rng.standard_normal((M, N)), rng.standard_normal((N, D)), rng.standard_normal((D, K))
        point = {"X": X, "W1": W1, "W2": W2, "y": y.astype(float)}
        want = notes_gradients(sigma, X, [W1, W2], y)
        for name, expected in zip(("W1", "W2"), want):
            got = evaluate_text(gradients[name]["matrix_formula"], point, {})
            np.testing.assert_allclose(got, expected, rtol=SAME, atol=SAME)


def test_three_layer_mlp_matches_the_notes():
    expr = "softmax_ce(tanh(relu(X @ W1) @ W2) @ W3, y)"
    # The notes' recursion with σ_1 = relu, σ_2 = tanh: checked layer by layer below.
    gradients = matrix_formulas(expr, "--at", f"X=randn({M},{N})", "--at", f"W1=randn({N},{D})",
                                "--at", f"W2=randn({D},{D})", "--at", f"W3=randn({D},{K})", "--at", LABELS,
                                "--wrt", "W1,W2,W3")
    rng = np.random.default_rng(31)
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    relu, drelu = ACTIVATIONS["relu"]
    tanh, dtanh = ACTIVATIONS["tanh"]
    for _ in range(RANDOM_POINTS):
        X, W1, W2, W3 = (rng.standard_normal(s) for s in ((M, N), (N, D), (D, D), (D, K)))
        Z2 = relu(X @ W1)
        Z3 = tanh(Z2 @ W2)
        G4 = (_softmax(Z3 @ W3) - np.eye(K)[y]) / M
        local3 = (G4 @ W3.T) * dtanh(Z2 @ W2)
        local2 = (local3 @ W2.T) * drelu(X @ W1)
        want = {"W3": Z3.T @ G4, "W2": Z2.T @ local3, "W1": X.T @ local2}
        point = {"X": X, "W1": W1, "W2": W2, "W3": W3, "y": y.astype(float)}
        for name, expected in want.items():
            got = evaluate_text(gradients[name]["matrix_formula"], point, {})
            np.testing.assert_allclose(got, expected, rtol=SAME, atol=SAME)


def test_two_layer_relu_text_is_pinned():
    """The course form, with the --let name H where it fits."""
    done = run_script("eval", "softmax_ce(relu(X @ W1) @ W2, y)", *NET_AT, "--let", "H=relu(X @ W1)",
                      "--wrt", "W1,W2", "--formulas", COLUMNS="200")
    assert done.returncode == 0, done.stderr
    # golden: this test pins the course form of both matrix-form gradients on purpose
    assert "∂f/∂W2 = H.T @ (softmax(H @ W2) - onehot(y, 3)) / 8" in done.stdout
    assert "∂f/∂W1 = X.T @ (((softmax(H @ W2) - onehot(y, 3)) @ W2.T) * step(X @ W1)) / 8" in done.stdout
    assert "each agrees with symbolic and backprop" in done.stdout


def test_sigmoid_neuron_by_the_chain_rule():
    gradients = matrix_formulas("sigmoid(w0*x0 + w1*x1 + w2)", "--let", "z=w0*x0 + w1*x1 + w2",
                                "--at", "w0=2,w1=-3,w2=-3,x0=-1,x1=-2")
    assert gradients["w2"]["matrix_formula"] == "sigmoid(z) * (1 - sigmoid(z))"
    assert gradients["w0"]["matrix_formula"] == "sigmoid(z) * (1 - sigmoid(z)) * x0"


@pytest.mark.parametrize("expr, at", [
    ("sum(relu(X @ W + b))", ["X=randn(3,2)", "W=randn(2,4)", "b=randn(4)"]),
    ("mean(logsumexp(X @ W, axis=1))", ["X=randn(3,2)", "W=randn(2,4)"]),
    ("sum(softmax(X) * C)", ["X=randn(3,4)", "C=randn(3,4)"]),
    ("sum(log_softmax(X, axis=0) * C)", ["X=randn(3,4)", "C=randn(3,4)"]),
    ("sum(exp(X) / (1 + X ** 2) - log(X * X + 1) * 2)", ["X=randn(3,4)"]),
    ("sum(sin(x) @ W.T) + mean(-x)", ["x=randn(4)", "W=randn(3,4)"]),
])
def test_each_derived_formula_agrees_at_the_point(expr, at):
    args = [a for item in at for a in ("--at", item)]
    for name, g in matrix_formulas(expr, *args).items():
        assert g.get("matrix_formula"), (name, g.get("matrix_note"))


def test_a_primitive_without_a_matrix_rule_is_named():
    gradients = matrix_formulas("sum(x[0] * W)", "--at", "x=randn(3)", "--at", "W=randn(2,2)")
    assert gradients["x"]["matrix_note"] == "no matrix form (primitive index)"
    assert "matrix_formula" not in gradients["x"]
    assert gradients["W"]["matrix_formula"]  # x[0] is an input here, as written: (x[0]) * ones


def test_a_wrong_rule_is_withheld_with_the_reason():
    """A derived formula is never shown unchecked: a broken matrix rule yields no formula."""
    from gradcheck import check
    from gradcheck.ops.terms import call

    relu = BY_NAME["relu"]
    saved = relu.matrix
    object.__setattr__(relu, "matrix", (lambda G, ans, x: G * call("sigmoid", x),))
    try:
        result = check("sum(relu(X @ W))", at=["X=randn(3,2)", "W=randn(2,4)"], formulas=True)
    finally:
        object.__setattr__(relu, "matrix", saved)
    g = result.gradients["W"]
    assert g.matrix_formula is None
    assert g.matrix_note.startswith("withheld: the derived formula disagrees")
    assert g.status == "pass"  # the check itself does not rest on gradcheck's derived formulas
