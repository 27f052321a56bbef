"""The work a check may cost, bounded before it starts: nesting across --let names, a DAG of --let
names chained node by node (not exponential), evaluations and finite differences over their limits
refused up front, --formulas without SymPy's simplify, and huge class counts.
"""

from __future__ import annotations

import json

import pytest
from conftest import HANG_GUARD
from hostile_input import MEMORY_LIMIT, assert_exit, lets, no_foreign_exception, run

from gradcheck import GradcheckError


def test_a_chain_of_300_let_names_is_refused_not_a_traceback():
    chain = lets("sin({prev})", 300, "sin(x)")
    for extra in ([], ["--grad", "x=1"], ["--order", "2"], ["--formulas"]):
        assert_exit(run("eval", "a300", *chain, "--at", "x=0.5", *extra), 2,
                    "nests function calls and powers 300 deep", "--let names", "limit is 100")


def test_recursion_never_escapes_through_the_api(monkeypatch):
    import gradcheck.language.cost

    monkeypatch.setattr(gradcheck.language.cost, "MAX_DAG_NESTING", 10**6)  # past the guard: the backstop must hold
    let = {"a1": "sin(x)", **{f"a{i}": f"sin(a{i - 1})" for i in range(2, 3001)}}
    for options in ({"grad": {"x": "1"}}, {"formulas": True}, {"order": 2}):
        try:
            result = gradcheck.check("a3000", at="x=0.5", let=let, timeout=HANG_GUARD, **options)
        except GradcheckError as exc:  # refused as input: fine; a RecursionError would fail the test
            assert "nested too deeply" in str(exc) or "--order 2" in str(exc), exc
        else:
            assert result.status in ("pass", "mismatch")


@pytest.mark.parametrize("levels", [16, 60])
def test_a_dag_of_let_names_is_not_exponential(levels):
    dag = lets("sin({prev}) + cos({prev})", levels, "sin(x) + cos(x)")
    # On the test clock, 30 s is 3,000 looks at the clock (every SymPy derivative, every difference takes one):
    # the work is counted, not timed, and 2**60 paths would take more.
    proc = run("eval", f"a{levels}", *dag, "--at", "x=0.5", "--grad", "x=1", "--formulas",
                          "--format", "json", "--timeout", "30", clock=True)
    assert_exit(proc, 1)  # the claim is wrong; every oracle still ran
    gradient = json.loads(proc.stdout)["cases"][0]["gradients"]["x"]
    assert gradient["symbolic"] == pytest.approx(gradient["backprop"], rel=1e-9)


@pytest.mark.parametrize("args, words", [
    (["eval", "sum(A @ B @ C)", "--at", "A=randn(3000,3000),B=randn(3000,3000),C=randn(3000,3000)"],
     ["one evaluation of f", "limit is 1,000,000,000"]),
    (["eval", "sum(A @ B)", "--at", "A=randn(300,300),B=randn(300,300)", "--mode", "full"],
     ["finite differences would take", "limit is 100,000,000,000"]),
    (["eval", "logsumexp(A @ x)", "--at", "A=randn(40,40),x=randn(40)", "--wrt", "x", "--order", "2"],
     ["--order 2", "1,600 second derivatives", "--wrt"]),
], ids=["A@B@C 3000", "full mode on a big product", "Hessian of logsumexp(A @ x)"])
def test_costly_checks_are_refused_up_front(args, words):
    # up front: on the test clock with a budget of 0.05 s (5 looks), any step past the estimate would run out
    assert_exit(run(*args, "--timeout", "0.05", memory=MEMORY_LIMIT, clock=True), 2, *words)


def test_formulas_on_a_cubed_sum_of_exponentials_are_bounded():
    proc = run("eval", "sin(1 + (exp(z) + z + 1)**3)", "--formulas", "--timeout", "20", clock=True)
    assert_exit(proc, 0)
    assert "∂f/∂z = " in proc.stdout


@pytest.mark.parametrize("k", ["10000000", "99999999999"])
def test_onehot_with_a_huge_class_count_raises_only_gradcheck_errors(k):
    no_foreign_exception(f"sum(onehot(y, {k})) + x", at={"y": "0", "x": "1"})
