"""The verdict: one agreement rule (gradcheck/agreement.py), per entry, that no scale can fool.

- A matrix of cases whose gradients span 1e-12 … 1e12 in one expression: every correct claim
  passes, every claim off by a sign, a factor 2, a transpose or a dropped term fails (eval,
  arrays, check_function, and the console script).
- The numeric column's error estimate, which the rule leans on, covers the exact derivative.
- Odd column out, shapes never broadcast, NaN never agrees, a VJP of the wrong shape is an
  internal error naming the primitive.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import console_script, subprocess_env

import gradcheck
from gradcheck.base.columns import Measured
from gradcheck.base.errors import RuleError
from gradcheck.verdict.agreement import SAFETY, Allowance, Rule, compare_pair
from gradcheck.verdict.judge import compare

AGREEMENT_MODULE = Path(gradcheck.__file__).parent / "verdict" / "agreement.py"


# ----- the rule, written once ---------------------------------------------------------------------

def _multiplies_rtol(path: Path) -> bool:
    """Whether the code (not its strings) of a module multiplies by an rtol."""
    def is_rtol(node: ast.AST) -> bool:
        return (isinstance(node, ast.Name) and node.id == "rtol") or (isinstance(node, ast.Attribute)
                                                                      and node.attr == "rtol")

    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult) and (is_rtol(n.left) or is_rtol(n.right))
               for n in ast.walk(tree))


def test_the_agreement_formula_is_written_in_one_module():
    package = Path(gradcheck.__file__).parent
    holders = sorted(str(p.relative_to(package)) for p in package.rglob("*.py") if _multiplies_rtol(p))
    assert holders == ["verdict/agreement.py"]


def test_rule_is_the_documented_one():
    rule = Rule(rtol=1e-3, atol=1e-6)
    ok = compare_pair("a", 1.0, "b", 1.0 + 0.999e-3, Allowance(rule))
    bad = compare_pair("a", 1.0, "b", 1.0 + 1.01e-3, Allowance(rule))
    assert ok.agree and not bad.agree
    assert compare_pair("a", 0.0, "b", 0.9e-6, Allowance(rule)).agree
    assert not compare_pair("a", 0.0, "b", 1.1e-6, Allowance(rule)).agree


def test_an_entry_is_allowed_its_own_uncertainty_and_no_more():
    rule = Rule(rtol=0.0, atol=0.0)
    measured = Measured(np.array([1.0, 1.0]), np.array([1e-3, 1e-9]))
    pair = compare_pair("numeric", measured, "claimed", np.array([1.0 + 0.5 * SAFETY * 1e-3, 1.0 + 1e-6]), Allowance(rule))
    assert not pair.agree and pair.worst == "[1]"  # entry 0 is within its estimate, entry 1 is not


def test_verdict_names_the_odd_column_out():
    rule = Rule()
    wrong_claim = compare({"symbolic": 1.0, "backprop": 1.0, "numeric": 1.0, "claimed": 2.0}, Allowance(rule))
    # golden: the verdict's sentence, pinned once here at the rule that writes it
    assert wrong_claim.verdict == "claimed disagrees with symbolic = backprop = numeric"
    assert wrong_claim.odd == "claimed"
    bad_backprop = compare({"symbolic": 1.0, "backprop": 3.0, "numeric": 1.0}, Allowance(rule))
    # golden: likewise, for an odd column that is an oracle
    assert bad_backprop.verdict == "backprop disagrees with symbolic = numeric" and bad_backprop.odd == "backprop"
    split = compare({"symbolic": 1.0, "backprop": 1.0, "numeric": 2.0, "claimed": 2.0}, Allowance(rule))
    assert not split.agree and split.verdict == "symbolic = backprop ≠ numeric = claimed" and split.odd is None
    lonely = compare({"symbolic": None, "backprop": 1.0, "numeric": None}, Allowance(rule))
    assert not lonely.agree and "nothing to compare" in lonely.verdict


def test_columns_of_different_shapes_never_agree():
    pair = compare_pair("backprop", np.ones(3), "claimed", np.ones((2, 3)), Allowance(Rule()))
    assert not pair.agree and pair.worst == "shape"


def test_nan_never_agrees():
    assert not compare_pair("backprop", np.array([np.nan, np.nan]), "claimed", np.array([np.nan, np.nan]),
                            Allowance(Rule())).agree
    assert not compare({"backprop": np.full(2, np.nan), "claimed": np.full(2, np.nan)}, Allowance(Rule())).agree


def test_entries_numeric_could_not_difference_are_not_compared_and_do_not_agree():
    """numeric's NaN with an infinite estimate means 'not differenced' (a kink within reach)."""
    measured = Measured(np.array([np.nan, 2.0]), np.array([np.inf, 1e-12]))
    assert compare_pair("numeric", measured, "backprop", np.array([5.0, 2.0]), Allowance(Rule())).agree
    nothing = compare_pair("numeric", Measured(np.array([np.nan]), np.array([np.inf])), "backprop",
                           np.array([5.0]), Allowance(Rule()))
    assert nothing.compared == 0 and not nothing.agree


def test_a_vjp_of_the_wrong_shape_is_an_internal_error_naming_the_primitive():
    from dataclasses import replace

    from gradcheck.inputs.problem import Spec, build
    from gradcheck.language.evaluate import forward
    from gradcheck.oracles.backprop import backprop

    problem = build(Spec("sum(A.T @ B)", at={"A": np.ones((2, 3)), "B": np.ones((2, 4))}))
    node = next(n for n in _nodes(problem.root) if getattr(n, "prim", None) and n.prim.name == "transpose")
    object.__setattr__(node, "prim", replace(node.prim, vjps=(lambda g, ans, x: g,)))  # forgets the .T
    with pytest.raises(RuleError, match=r"VJP rule of transpose.*\(2, 3\)"):
        backprop(problem.root, forward(problem.root, problem.point), problem.wrt)


def _nodes(root):
    from gradcheck.language.tree import topological

    return topological(root)


# ----- the scale matrix: gradients from 1e-12 to 1e12 in one expression -----------------------

SCALES = (1e-12, 1e-6, 1.0, 1e6, 1e12)


def scalar_cases():
    """(expr, at, variable, right claim, wrong claims) with the other variable's gradient `big`."""
    for big in SCALES:
        for small in SCALES:
            if big == small:
                continue
            expr = f"{big:g}*x**2/2 + {small:g}*(y**3/3 + y*z)"
            at = {"x": 1.3, "y": 0.7, "z": -0.4}
            right = f"{small:g}*(y**2 + z)"
            wrong = {"sign": f"-{small:g}*(y**2 + z)", "factor 2": f"2*{small:g}*(y**2 + z)",
                     "dropped term": f"{small:g}*y**2"}
            yield pytest.param(expr, at, "y", right, wrong, id=f"x:{big:g}-y:{small:g}")


@pytest.mark.parametrize("expr, at, var, right, wrong", list(scalar_cases()))
def test_scalar_claims_are_judged_by_their_own_scale(expr, at, var, right, wrong):
    assert gradcheck.check(expr, at=at, grad={var: right}).status == "pass"
    for what, claim in wrong.items():
        result = gradcheck.check(expr, at=at, grad={var: claim})
        assert result.gradients[var].status == "mismatch", f"{what}: {result.gradients[var].verdict}"


ARRAY_AT = {"W": [[0.5, -1.2, 0.3], [0.8, 0.1, -0.7]], "b": [0.2, -0.4, 0.9], "X": [[1.0, 2.0], [-0.5, 0.3]]}


@pytest.mark.parametrize("big, small", [(1e6, 1e-3), (1e12, 1e-12), (1e-12, 1e12), (1.0, 1e-9)])
def test_a_weight_and_a_bias_of_very_different_scales(big, small):
    """The issue's `1e6*sum(W**2) + 1e-3*sum(b**2)`, a transposed weight gradient included."""
    expr = f"{big:g}*sum((X @ W)**2) + {small:g}*sum(b**2)"
    right = {"W": f"{big:g}*2*X.T @ (X @ W)", "b": f"{small:g}*2*b"}
    assert gradcheck.check(expr, at=ARRAY_AT, grad=right).status == "pass"
    wrongs = {"b": [f"-{small:g}*2*b", f"{small:g}*b"],  # sign, factor 2
              "W": [f"{big:g}*2*X @ (X @ W)", f"-{big:g}*2*X.T @ (X @ W)"]}  # X untransposed, sign
    for var, claims in wrongs.items():
        for claim in claims:
            result = gradcheck.check(expr, at=ARRAY_AT, grad={**right, var: claim})
            assert result.gradients[var].status == "mismatch", (var, claim, result.gradients[var].verdict)
    square = {"A": [[1.0, 2.0], [3.0, 4.5]], "c": 0.3}
    transposed = gradcheck.check(f"{big:g}*sum(A @ A @ A) + {small:g}*c**2", at=square,
                                 grad={"A": f"{big:g}*(A @ A + A @ A + A @ A).T", "c": f"2*{small:g}*c"})
    assert transposed.gradients["c"].status == "pass"
    wrong_transpose = gradcheck.check(f"{big:g}*sum(A @ A @ A) + {small:g}*c**2", at=square,
                                      grad={"A": f"{big:g}*(A @ A + A @ A + A @ A)", "c": f"2*{small:g}*c"})
    assert wrong_transpose.gradients["A"].status == "mismatch"


@pytest.mark.parametrize("big, small", [(1e12, 1e-12), (1e-12, 1e12), (1e6, 1e-3)])
def test_check_function_judges_each_input_by_its_own_scale(big, small):
    def f(w, b):
        return big * np.sum(w**2) / 2 + small * np.sum(b**3) / 3

    w, b = np.array([0.3, -1.1, 0.8]), np.array([[0.5, -0.2], [0.9, 1.4]])
    right = gradcheck.check_function(f, lambda w, b: (big * w, small * b**2), [w, b])
    assert right.status == "pass", right.verdict
    for wrong in (lambda w, b: (big * w, -small * b**2), lambda w, b: (big * w, 2 * small * b**2),
                  lambda w, b: (big * w, small * (b**2).T), lambda w, b: (-big * w, small * b**2)):
        assert gradcheck.check_function(f, wrong, [w, b]).status == "mismatch"


def test_the_issue_case_exits_1_through_the_console_script():
    done = subprocess.run([console_script(), "eval", "1e12*x**2/2 + y**2", "--at", "x=1,y=1", "--grad", "y=-2*y"],
                          capture_output=True, text=True, env=subprocess_env(), timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "∂f/∂y: claimed disagrees" in done.stdout
    right = subprocess.run([console_script(), "eval", "1e12*x**2/2 + y**2", "--at", "x=1,y=1", "--grad", "y=2*y"],
                           capture_output=True, text=True, env=subprocess_env(), timeout=120)
    assert right.returncode == 0, right.stdout + right.stderr


CANCELLING = [  # backprop sums 0.1 + 0.2 - 0.3 (5.6e-17 in floating point, 2.8e-17 exactly)
    ("sum(X @ W)", "X=[[0.1],[0.2],[-0.3]],W=[[2.0]]", "W", "W=2*W"),
    ("sum(x * w)", "x=[0.1,0.2,-0.3],w=2.0", "w", "w=0.3"),
    ("sum(conv2d(x, w, b))", "x=[[[[0.1,0.2,-0.3]]]],w=[[[[2.0]]]],b=[0.0]", "w", "w=2*w"),
]


@pytest.mark.parametrize(("expr", "at", "wrt", "wrong"), CANCELLING, ids=[c[0] for c in CANCELLING])
def test_a_gradient_that_cancels_to_rounding_is_no_false_alarm(expr, at, wrt, wrong):
    """An entry summed from terms of both signs keeps their rounding, not that of what is left:
    backprop's 5.6e-17 beside SymPy's 2.8e-17 is right to working precision (it was a mismatch, exit 1).
    A claim that is wrong by more than rounding is still caught, through the console script and CliRunner."""
    from click.testing import CliRunner

    from gradcheck.cli import main

    for run in ("script", "runner"):
        outcome = {}
        for claim in (None, wrong):
            args = ["eval", expr, "--at", at, "--wrt", wrt, *(["--grad", claim] if claim else [])]
            if run == "script":
                done = subprocess.run([console_script(), *args], capture_output=True, text=True,
                                      env=subprocess_env(), timeout=120)
                outcome[claim] = (done.returncode, done.stdout + done.stderr)
            else:
                done = CliRunner().invoke(main, args)
                outcome[claim] = (done.exit_code, done.output)
        assert outcome[None][0] == 0, outcome[None][1]
        assert outcome[wrong][0] == 1 and "claimed" in outcome[wrong][1], outcome[wrong][1]


CANCELLING_EXPRESSIONS = ("sum(softmax(X @ W))", "sum(relu(X @ W) * C)", "sum(log_softmax(X @ W) * C)",
                          "sum(X @ W @ V)", "sum(X * w)", "sum(tanh(X @ W) * C)")


@pytest.mark.parametrize("expr", CANCELLING_EXPRESSIONS)
def test_no_false_alarm_where_the_terms_cancel(expr):
    """Data of a few values of both signs (0.1, 0.2, 0.3, ...): products and sums cancel to rounding,
    and sum(softmax(z)) has the exact gradient 0. Each gradient is right, so each check passes; before
    backprop's rounding counted every term, 3-5 % of such checks were mismatches."""
    rng = np.random.default_rng(20261202)

    def data(shape):
        values = rng.choice([0.1, 0.2, 0.3, 0.7, 1.1, 1e-3, 3.3], size=shape) * rng.choice([-1, 1], size=shape)
        return np.array2string(values, separator=",", floatmode="unique", max_line_width=10**6)

    for _ in range(6):
        m, k, j = (int(n) for n in rng.integers(1, 5, size=3))
        at = {"X": data((m, k)), "W": data((k, j)), "V": data((j, 2)), "C": data((m, j)), "w": data((k,))}
        at = {name: v for name, v in at.items() if f"{name} " in expr or f"{name})" in expr}
        result = gradcheck.check(expr, at=at)
        assert result.status == "pass", (expr, at, result.verdict)


# ----- the numeric estimate is an honest bound ---------------------------------------------------

COVERAGE_EXPRESSIONS = (
    "exp(sin(x*y)) + x**3*y", "sigmoid(3*x - y)*tanh(x + 2*y)", "log(1 + x**2)*cos(y)**2",
    "x*y - y*x + 1e-9*x", "exp(-x**2)*sin(50*y)", "sqrt(x**2 + y**2 + 1)", "(x - y)**7",
    "softplus(x*y)/(1 + exp(y))", "tan(x/3)*y**4", "x**2*exp(y) - x**2*exp(y) + x",
    # piecewise: the complex step through relu, abs, max, min and clip's complex forms (issue 16)
    "relu(x + y)*sin(x) + abs(x*y - 0.3)", "max(x**2, y)*exp(-y) + min(x, y)**3",
    "clip(x*y, -0.5, 0.5)*cosh(y) + leaky_relu(x - y, 0.1)**2",
)


def test_the_numeric_estimate_covers_exact_derivatives():
    """Against SymPy's derivatives evaluated to 30 digits, at 40 points per expression, every
    method's numeric value is within SAFETY times the uncertainty the verdict gives it (its own
    estimate plus the entry's rounding) — including entries whose true value is essentially 0."""
    from gradcheck.inputs.problem import Spec, build
    from gradcheck.language.evaluate import differenced, forward
    from gradcheck.oracles.backprop import backprop_magnitudes
    from gradcheck.oracles.numeric import numeric
    from gradcheck.oracles.symbolic import symbolic
    from gradcheck.verdict.agreement import rule_for

    rng = np.random.default_rng(20261201)
    rule = rule_for(None, None)
    misses, total = [], 0
    for expr in COVERAGE_EXPRESSIONS:
        for _ in range(40):
            at = {"x": float(rng.uniform(-1.5, 1.5)), "y": float(rng.uniform(-1.5, 1.5))}
            problem = build(Spec(expr, at=at))
            names = [v.name for v in problem.wrt]
            exact = symbolic(problem.root, problem.point, problem.wrt)
            terms = backprop_magnitudes(problem.root, forward(problem.root, problem.point), problem.wrt)[1]
            for method in ("complex", "central", "richardson"):
                measured = numeric(differenced(problem.root), problem.point, names, method=method)
                for name in names:
                    got = measured[name].value
                    truth = float(exact[name].value)
                    allowed = SAFETY * (float(got.error) + float(rule.rounding(terms[name])))
                    total += 1
                    if not abs(float(got.value) - truth) <= allowed:
                        misses.append((expr, at, method, name, float(got.value), truth, allowed))
    assert total == len(COVERAGE_EXPRESSIONS) * 40 * 3 * 2
    assert not misses, f"{len(misses)} of {total} estimates exceeded: {misses[:5]}"


def test_nan_as_inf_is_numpys_nan_to_num_with_nan_as_inf():
    from gradcheck.verdict.agreement import _nan_as_inf

    x = np.array([np.nan, np.inf, -np.inf, 1.5, -2.0, 0.0, 1e308, 5e-324])
    assert np.array_equal(_nan_as_inf(x), np.nan_to_num(x, nan=np.inf))
    for v in x:
        assert np.array_equal(_nan_as_inf(np.asarray(v)), np.nan_to_num(np.asarray(v), nan=np.inf))


def test_one_backward_pass_gives_backprop_and_its_terms():
    """backprop_magnitudes is backprop's own gradient, bit for bit, with the sizes of the terms it
    summed; only the wanted adjoints are kept (keep), every node's without it (the trace shows them all)."""
    from gradcheck.inputs.problem import Spec, build
    from gradcheck.language.evaluate import forward
    from gradcheck.oracles.backprop import adjoints, backprop, backprop_magnitudes

    problem = build(Spec("sum(tanh(X @ W) * (X @ W)) + sum(W * W)", at={"X": "randn(5,3)", "W": "randn(3,4)"}), seed=3)
    values = forward(problem.root, problem.point)
    grads, terms = backprop_magnitudes(problem.root, values, problem.wrt)
    plain = backprop(problem.root, values, problem.wrt)
    for name in plain:
        assert np.array_equal(grads[name], plain[name])
        assert np.all(terms[name] >= 0) and np.shape(terms[name]) == np.shape(plain[name])
    small = build(Spec("x + x**2 - x", at={"x": 1e-12}))  # terms 1, 2e-12 and -1: their sizes add up to 2
    grads, terms = backprop_magnitudes(small.root, forward(small.root, small.point), small.wrt)
    assert grads["x"] == pytest.approx(2e-12, rel=1e-3) and terms["x"] == pytest.approx(2.0)
    assert set(adjoints(problem.root, values, problem.wrt, keep=problem.wrt)) == set(problem.wrt)
    assert len(adjoints(problem.root, values, problem.wrt)) > len(problem.wrt)
