"""The numeric oracle's forward passes recompute only what the moved variable moves (evaluate.py's
_Reevaluation), and the per-variable path questions read one Paths per case: both must give exactly
what a whole forward pass and a walk of the tree give."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck
from gradcheck.base.columns import Evaluation
from gradcheck.base.errors import DomainError
from gradcheck.inputs.problem import Spec, build
from gradcheck.language.evaluate import differenced, forward, jumps_at, non_analytic, without_complex_form
from gradcheck.language.tree import Apply, Paths, depends_on, topological

CASES = [
    ("sigmoid(w0*x0 + w1*x1 + w2)", "w0=2,w1=-3,w2=-3,x0=-1,x1=-2"),
    ("relu(x)*y + abs(x-y) + max(x, y) + erf(y)", "x=0,y=0.5"),  # kinks, one on its switch; no complex form
    ("x**3 + y**2 + step(y)", "x=-2,y=0"),  # negative bases, a jump on its switch
    ("softmax_ce(X @ W, y) + sum(onehot(y, 3) * W[0])", "X=randn(4,5),W=randn(5,3),y=[0,2,1,2]"),  # labels
]


def _moves(point, names):
    """Points the numeric oracle builds: one variable replaced (real, then a complex step)."""
    for name in names:
        x = np.asarray(point[name])
        for t in (1e-3, 1e-20j):
            moved = x + t
            yield {**point, name: moved[()] if moved.ndim == 0 else moved}


def _outcome(f, point):
    """What f gives at point, comparable with ==: its value's bytes (and kink branches), or its error."""
    try:
        got = f(point)
    except DomainError as exc:
        return "DomainError", str(exc)
    return np.asarray(got.value).tobytes(), np.asarray(got.value).dtype, got.branches, got.at_kink


@pytest.mark.parametrize(("expr", "at"), CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_moved_point_evaluates_to_what_a_whole_forward_pass_gives(expr, at, dtype):
    problem = build(Spec(expr, at=at))
    point = {k: (v.astype(dtype) if np.issubdtype(np.asarray(v).dtype, np.floating) else v)
             for k, v in ((k, np.asarray(v)) for k, v in problem.point.items())}
    point = {k: v[()] if v.ndim == 0 else v for k, v in point.items()}
    f = differenced(problem.root)
    whole = differenced(problem.root)  # a fresh one each time: its first point is its reference
    f(point)
    for moved in _moves(point, [v.name for v in problem.wrt]):
        expected, got = _outcome(differenced(problem.root), moved), _outcome(f, moved)
        assert got == expected
        assert _outcome(f.shaken, moved) == _outcome(
            lambda p: Evaluation(forward(problem.root, p, shake=True)[problem.root]), moved)
    assert np.array_equal(f(point).value, whole(point).value)


@pytest.mark.parametrize(("expr", "at"), CASES)
def test_paths_answer_what_a_walk_of_the_tree_answers(expr, at):
    problem = build(Spec(expr, at=at))
    values = forward(problem.root, problem.point)
    paths = Paths(problem.root)
    order = topological(problem.root)
    for var in problem.wrt:
        needs = depends_on(order, [var])
        on_path = [n for n in order if isinstance(n, Apply) and n in needs]
        assert [n for n in paths.order if isinstance(n, Apply) and var in paths.below(n)] == on_path
        for ask in (without_complex_form, non_analytic):
            assert ask(problem.root, var, paths) == ask(problem.root, var)
        assert jumps_at(problem.root, values, var, paths) == jumps_at(problem.root, values, var)
        moved = set(paths.moved_by([var]))
        # every operation with var anywhere below it (data inputs included) moves, and no other
        assert moved == {n for n in order if isinstance(n, Apply) and var in topological(n)}


def test_a_linear_operation_reuses_the_reference_value_under_the_complex_step():
    """matmul is linear in each input (Primitive.linear): under the complex step X @ (W + iV) is the
    reference's X @ W plus i X @ V, one real product (evaluate._linear_step). With matmul's complex
    form made to fail, the numeric oracle's pass still goes through, to the same value."""
    from gradcheck.ops.registry import BY_NAME

    problem = build(Spec("sum(tanh(X @ W))", at="X=randn(3,4),W=randn(4,2)"))
    f = differenced(problem.root)
    f(problem.point)  # the reference pass
    moved = {**problem.point, "W": problem.point["W"] + 1e-20j * np.arange(8.0).reshape(4, 2)}
    expected = forward(problem.root, moved)[problem.root]  # through matmul's complex form
    matmul = BY_NAME["matmul"]
    form = matmul.complex_form

    def refused(a, b):
        raise AssertionError("the complex form ran: the linear step was not taken")

    object.__setattr__(matmul, "complex_form", refused)
    try:
        got = f(moved).value
        with pytest.raises(AssertionError):
            differenced(problem.root)(moved)  # no reference pass: the complex form it is
    finally:
        object.__setattr__(matmul, "complex_form", form)
    assert np.iscomplexobj(got) and np.imag(got) != 0
    assert np.allclose(np.real(got), np.real(expected), rtol=1e-14, atol=0)
    assert np.allclose(np.imag(got), np.imag(expected), rtol=1e-14, atol=0)


def test_the_shaken_pass_of_a_complex_step_reuses_the_plain_passs_linear_product(monkeypatch):
    """evaluate._Products: the shaken pass of a step gets the very array the plain pass did, and its
    product X @ imag(W + ih·v) is looked up instead of computed again: the same numbers either way."""
    import gradcheck.language.evaluate as evaluate

    at = {"X": "randn(6,5)", "W": "randn(5,4)"}
    looked_up = []
    get = evaluate._Products.get

    def counted(self, *args):
        found = get(self, *args)
        looked_up.append(found is not None)
        return found

    monkeypatch.setattr(evaluate._Products, "get", counted)
    reused = gradcheck.check("sum(tanh(X @ W))", at=at, method="complex")
    assert sum(looked_up) >= 20 + 30  # every entry of W and of X: one shaken step each
    monkeypatch.setattr(evaluate._Products, "get", lambda self, *args: None)
    computed = gradcheck.check("sum(tanh(X @ W))", at=at, method="complex")
    for name in ("X", "W"):
        ours, theirs = reused.gradients[name], computed.gradients[name]
        assert np.array_equal(ours.columns["numeric"], theirs.columns["numeric"])
        assert np.array_equal(ours.numeric_error, theirs.numeric_error)
