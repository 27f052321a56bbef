"""The library end to end: gradcheck.check on the cases the project started from, claims right and
wrong, named intermediates, and the values the oracles produce against the exact math."""

from __future__ import annotations

import math

import pytest

import gradcheck
from gradcheck.base.errors import DomainError, SpecError

NEURON = "sigmoid(w0*x0 + w1*x1 + w2)"
NEURON_AT = "w0=2,w1=-3,w2=-3,x0=-1,x1=-2"
EXACT_REL = 1e-12  # symbolic and backprop: exact up to rounding
NUMERIC_REL = 1e-8  # finite differences


def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def assert_columns(result, expected):
    for name, exact in expected.items():
        g = result.gradients[name]
        assert rel(g.columns["symbolic"], exact) <= EXACT_REL, (name, g.columns)
        assert rel(g.columns["backprop"], exact) <= EXACT_REL, (name, g.columns)
        assert rel(g.columns["numeric"], exact) <= NUMERIC_REL, (name, g.columns)
        assert g.status == "pass"


def sigmoid(t):
    return 1 / (1 + math.exp(-t))


def test_cs231n_sigmoid_neuron():
    w0, w1, w2, x0, x1 = 2, -3, -3, -1, -2
    s = sigmoid(w0 * x0 + w1 * x1 + w2)
    ds = s * (1 - s)
    result = gradcheck.check(NEURON, at=NEURON_AT)
    assert result.status == "pass" and result.exit_code == 0
    assert result.value == pytest.approx(s, rel=1e-15)
    assert_columns(result, {"w0": x0 * ds, "w1": x1 * ds, "w2": ds, "x0": w0 * ds, "x1": w1 * ds})
    # the digest's rounded figures
    assert round(result.gradients["w0"].columns["backprop"], 5) == -0.19661
    assert round(result.gradients["x1"].columns["backprop"], 5) == -0.58984


def test_cs231n_add_multiply_circuit():
    result = gradcheck.check("(x+y)*z", at="x=-2,y=5,z=-4")
    assert result.value == -12
    assert_columns(result, {"x": -4.0, "y": -4.0, "z": 3.0})


FIFTEEN = ("exp(sin(x)) + log(y)*sqrt(z) - cos(x*y)/tan(z) + tanh(x)*sigmoid(y) + relu(x) "
           "+ softplus(z) + abs(y) + max(x, z) + min(y, z) + pow(x, 2) + x^3")


def test_expression_using_every_function():
    x, y, z = 0.7, 1.3, 0.4
    _sx, sy = sigmoid(x), sigmoid(y)
    tz = math.tan(z)
    expected = {
        "x": (math.cos(x) * math.exp(math.sin(x)) + y * math.sin(x * y) / tz + (1 - math.tanh(x) ** 2) * sy
              + 1 + 1 + 2 * x + 3 * x**2),  # relu' = 1 (x > 0); max(x, z) picks x
        "y": (math.sqrt(z) / y + x * math.sin(x * y) / tz + math.tanh(x) * sy * (1 - sy) + 1 + 0),
        "z": (math.log(y) / (2 * math.sqrt(z)) + math.cos(x * y) * (1 + tz**2) / tz**2
              + sigmoid(z) + 0 + 1),  # min(y, z) picks z
    }
    result = gradcheck.check(FIFTEEN, at={"x": x, "y": y, "z": z})
    assert_columns(result, expected)
    from gradcheck.language.parser import parse
    from gradcheck.language.tree import topological

    assert len(topological(parse(FIFTEEN))) >= 15


def test_the_source_question_mistake_is_caught_in_the_claimed_column():
    result = gradcheck.check("sigmoid(z)", at=NEURON_AT, let={"z": "w0*x0+w1*x1+w2"},
                             grad={"w0": "x0*sigmoid(z)"})
    assert result.status == "mismatch" and result.exit_code == 1
    g = result.gradients["w0"]
    assert g.status == "mismatch"
    assert g.odd == "claimed" and g.verdict.startswith("claimed disagrees")  # the three oracles agree
    assert all(other.status == "pass" for name, other in result.gradients.items() if name != "w0")


def test_the_precedence_bug_of_the_source_question_is_a_different_function():
    """`1 / 1 + exp(-t)` is 1 + e^-t, not σ(t): its derivative is -e^-t, and a σ' claim fails."""
    result = gradcheck.check("1 / 1 + exp(-t)", at="t=1", grad={"t": "sigmoid(t)*(1-sigmoid(t))"})
    assert result.gradients["t"].columns["backprop"] == pytest.approx(-math.exp(-1), rel=1e-14)
    assert result.status == "mismatch"


# (expression, point, variable, a correct claim, a wrong claim) — the default tolerances must pass
# every correct claim and fail every wrong one.
CLAIMS = [
    ("sigmoid(z)", NEURON_AT, "w0", "x0*sigmoid(z)*(1-sigmoid(z))", "x0*sigmoid(z)"),
    ("sigmoid(z)", NEURON_AT, "w2", "sigmoid(z)*(1-sigmoid(z))", "sigmoid(z)"),
    ("sigmoid(z)", NEURON_AT, "x1", "w1*sigmoid(z)*(1-sigmoid(z))", "w0*sigmoid(z)*(1-sigmoid(z))"),
    ("x^2 + 1", "x=3", "x", "2*x", "x"),
    ("log(x*y)", "x=2,y=5", "x", "1/x", "1/(x*y)"),
    ("exp(-x^2/2)", "x=0.3", "x", "-x*exp(-x^2/2)", "x*exp(-x^2/2)"),
    ("tanh(a*b)", "a=0.5,b=-1.5", "a", "b*(1-tanh(a*b)^2)", "b*(1-tanh(a*b))"),
    ("(1-x)^2 + 100*(y-x^2)^2", "x=-1.2,y=1", "x", "-2*(1-x) - 400*x*(y-x^2)", "-2*(1-x) - 200*x*(y-x^2)"),
    ("sqrt(x^2 + y^2)", "x=3,y=4", "y", "y/sqrt(x^2+y^2)", "1/(2*sqrt(x^2+y^2))"),
    ("softplus(x)", "x=20", "x", "sigmoid(x)", "sigmoid(x)*(1-sigmoid(x))"),
    ("sin(x)*cos(x)", "x=0.25", "x", "cos(x)^2 - sin(x)^2", "cos(x)^2 + sin(x)^2"),
    ("x^y", "x=1.5,y=2.5", "y", "log(x)*x^y", "y*x^(y-1)"),
    ("exp(x)", "x=30", "x", "exp(x)", "exp(x)*(1+1e-4)"),
    ("1e-4*x^2", "x=1e-3", "x", "2e-4*x", "1e-4*x"),
]


@pytest.mark.parametrize(("expr", "at", "var", "right", "wrong"), CLAIMS, ids=[c[0] + "/" + c[2] for c in CLAIMS])
def test_default_tolerances_pass_right_claims_and_fail_wrong_ones(expr, at, var, right, wrong):
    let = {"z": "w0*x0+w1*x1+w2"} if "z" in expr else None
    good = gradcheck.check(expr, at=at, let=let, grad={var: right})
    assert good.status == "pass", good.verdict
    bad = gradcheck.check(expr, at=at, let=let, grad={var: wrong})
    assert bad.status == "mismatch"
    assert bad.gradients[var].verdict.startswith("claimed disagrees")


def test_a_subexpression_used_twice_accumulates_twice():
    result = gradcheck.check("z*z", at="x=1.5,y=0.25", let={"z": "x+y"})
    assert result.gradients["x"].columns["backprop"] == pytest.approx(2 * 1.75, rel=1e-15)


def test_lets_chain_and_claims_may_use_them():
    result = gradcheck.check("a2", at="x=0.5", let=["a1=sin(x)", "a2=a1*a1"], grad=["x=2*a1*cos(x)"])
    assert result.status == "pass"
    assert result.value == pytest.approx(math.sin(0.5) ** 2)


def test_values_may_be_constant_expressions():
    result = gradcheck.check("sin(x)", at="x=-pi/4")
    assert result.point["x"] == pytest.approx(-math.pi / 4, rel=1e-15)
    assert result.gradients["x"].columns["backprop"] == pytest.approx(math.cos(math.pi / 4), rel=1e-15)


def test_unset_variables_get_seeded_random_values():
    first = gradcheck.check("x*y", at="x=2", seed=3)
    again = gradcheck.check("x*y", at="x=2", seed=3)
    other = gradcheck.check("x*y", at="x=2", seed=4)
    assert first.random == ["y"]
    assert first.point == again.point and first.point["y"] != other.point["y"]
    # what is shown reproduces the run
    assert gradcheck.check("x*y", at=f"x=2,y={first.point['y']!r}").value == first.value


def test_wrt_restricts_the_gradient():
    result = gradcheck.check(NEURON, at=NEURON_AT, wrt="w0,w2")
    assert list(result.gradients) == ["w0", "w2"]


def test_undefined_point_names_the_node():
    with pytest.raises(DomainError, match=r"log\(x\) is undefined at x = -1") as info:
        gradcheck.check("2 + log(x)", at="x=-1")
    assert info.value.span.start == 4


def test_infinite_derivative_is_reported_not_compared():
    with pytest.raises(DomainError, match="derivative of sqrt"):
        gradcheck.check("sqrt(x)", at="x=0")


def test_a_claim_undefined_at_the_point_is_a_mismatch_that_says_so():
    result = gradcheck.check("x^2", at="x=-1", grad={"x": "log(x)"})
    g = result.gradients["x"]
    assert result.status == "mismatch" and g.columns["claimed"] is None
    assert "undefined" in g.notes["claimed"] and "claimed is undefined" in g.verdict


def test_an_expression_without_variables_is_bad_input():
    with pytest.raises(SpecError, match="no variables"):
        gradcheck.check("2*pi")


