"""Wrong matrix claims for ∇W1 of the two-layer net, each named as the mistake it is (issue 13).

Square shapes (m = n = d = k = 4) so that every mistaken formula still computes, as a learner's would.
"""

from __future__ import annotations

import json

import pytest
from conftest import invoke, run_script

SQUARE = ["--at", "X=randn(4,4)", "--at", "W1=randn(4,4)", "--at", "W2=randn(4,4)", "--at", "y=[0,1,2,3]",
          "--wrt", "W1"]
D = "(softmax({s}(X @ W1) @ W2) - onehot(y, 4))"


def claim_diagnosis(sigma: str, claim: str) -> dict:
    runner = invoke("eval", f"softmax_ce({sigma}(X @ W1) @ W2, y)", *SQUARE, "--grad", f"W1={claim}",
                    "--format", "json")
    assert runner.exit_code == 1, runner.output
    return json.loads(runner.stdout)["cases"][0]["gradients"]["W1"]


@pytest.mark.parametrize("sigma, claim, named", [
    ("relu", "X.T @ ({d} @ W2.T) / 4",
     "it is missing the local gradient of relu(X @ W1): multiply elementwise by step(X @ W1)"),
    ("sigmoid", "X.T @ (({d} @ W2.T) * sigmoid(X @ W1)) / 4",
     "it uses sigmoid(X @ W1) (σ) where its derivative sigmoid(X @ W1) * (1 - sigmoid(X @ W1)) (σ') belongs"),
    ("relu", "X.T @ (({d} @ W2) * step(X @ W1)) / 4", "it has W2 where W2.T belongs"),
    ("relu", "(({d} @ W2.T) * step(X @ W1)) @ X.T / 4", "the factors of @ are in the wrong order"),
    ("relu", "X.T @ (({d} @ W2.T) * step(X @ W1))", "1/m"),
])
def test_each_classic_mistake_on_w1_is_named(sigma, claim, named):
    g = claim_diagnosis(sigma, claim.format(d=D.format(s=sigma)))
    assert named in g["diagnosis"]


def test_a_right_claim_gets_no_diagnosis():
    g = invoke("eval", "softmax_ce(relu(X @ W1) @ W2, y)", *SQUARE, "--format", "json",
               "--grad", f"W1=X.T @ (({D.format(s='relu')} @ W2.T) * step(X @ W1)) / 4")
    assert g.exit_code == 0
    assert "diagnosis" not in json.loads(g.stdout)["cases"][0]["gradients"]["W1"]


def test_the_mask_mistake_through_the_console_script():
    done = run_script("eval", "softmax_ce(relu(X @ W1) @ W2, y)", *SQUARE, "--let", "H=relu(X @ W1)",
                      "--grad", "W1=X.T @ ((softmax(H @ W2) - onehot(y, 4)) @ W2.T) / 4", COLUMNS="200")
    assert done.returncode == 1
    assert "multiply elementwise by step(X @ W1)" in done.stdout
