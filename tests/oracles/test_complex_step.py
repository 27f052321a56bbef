"""The complex step through every primitive's complex form (issue 16): away from kinks,
f(x + ih).imag / h is the derivative to machine precision, for smooth and piecewise primitives
alike; on a kink the entry keeps its one-sided treatment; --method complex is refused only where
f has no complex form or jumps at the point."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import sympy as sp
from conftest import EXPRESSIONS, joined, run_script
from registry_cases import ARRAY_CASES, ARRAY_IDS, CASES, IDS, array_inputs, sample_points

import gradcheck
from gradcheck.base.errors import SpecError
from gradcheck.batch.cases import load
from gradcheck.ops.registry import KINKED, PRIMITIVES, WITHOUT_COMPLEX_FORM, zero_vjp

STEP = 1e-20  # the numeric oracle's COMPLEX_STEP: its O(h²) error is far below an ulp
# The complex step is exact but for the rounding of the forward pass itself: a few ulps.
ULPS = 1e-14
# Relu nets' numeric column against backprop, the issue's target at the default method.
NET_TARGET = 1e-13
# An entry far below its gradient's largest is a sum of larger terms that cancel: float64 cannot
# give it to 1e-13 of itself (backprop itself is 7e-13 off on one such entry, against a longdouble
# reference), so it is measured at 1/100 of the largest entry, as in tests/test_numerics.py.
CANCELLATION_FLOOR = 1e-2


def relative(numeric, backprop, largest: float) -> np.ndarray:
    numeric, backprop = np.asarray(numeric, dtype=float), np.asarray(backprop, dtype=float)
    scale = np.maximum(np.maximum(np.abs(numeric), np.abs(backprop)), CANCELLATION_FLOOR * largest)
    return np.where(scale > 0, np.abs(numeric - backprop) / np.where(scale > 0, scale, 1), 0.0)


def complex_slope(prim, inputs, i, static=None, direction=None):
    """d/dt of the complex form at inputs + t·direction (along input i), by the complex step."""
    stepped = list(inputs)  # labels and the other inputs stay real
    stepped[i] = np.asarray(stepped[i]) + 1j * STEP * (1.0 if direction is None else direction)
    return np.imag(prim.complex_forward(*stepped, **(static or {}))) / STEP


def test_every_primitive_has_a_complex_form_but_erf_and_gelu():
    """numpy has no complex erf; every other primitive, the piecewise ones included, has a form."""
    assert set(WITHOUT_COMPLEX_FORM) == {"erf", "gelu"}
    assert {"relu", "abs", "max", "min", "clip", "leaky_relu", "elu", "step", "sign", "amax", "amin",
            "max_pool2d"} <= set(KINKED)
    for prim in PRIMITIVES:
        assert prim.complex_forward is not None or prim.name in WITHOUT_COMPLEX_FORM
        assert prim.analytic == (prim.kink is None and prim.complex_forward is not None)


@pytest.mark.parametrize(("prim", "i"), [c for c in CASES if c[0].complex_forward is not None],
                         ids=[n for n, c in zip(IDS, CASES) if c[0].complex_forward is not None])
def test_the_complex_step_through_every_elementwise_primitive_matches_sympy(prim, i):
    """Away from kinks (sample_points keeps 0.1 from them), the complex form's value is the forward's
    and its complex-step slope is SymPy's derivative, to a few ulps."""
    symbols = [sp.Symbol(p, real=True) for p in prim.params]
    derivative = sp.diff(prim.sympy(sp, *symbols), symbols[i])
    rng = np.random.default_rng(16)
    for inputs in sample_points(prim, rng, i):
        subs = {s: sp.Float(float(v), 30) for s, v in zip(symbols, inputs)}
        exact = float(derivative.evalf(30, subs=subs))
        got = complex_slope(prim, inputs, i)
        assert float(got) == pytest.approx(exact, rel=ULPS, abs=1e-15), inputs
        real = np.real(prim.complex_forward(*[np.complex128(v) for v in inputs]))
        assert float(real) == pytest.approx(float(prim.forward(*inputs)), rel=1e-15), inputs


@pytest.mark.parametrize(("prim", "shapes", "static"),
                         [c for c in ARRAY_CASES if c[0].complex_forward is not None and c[1]],
                         ids=[n for n, c in zip(ARRAY_IDS, ARRAY_CASES) if c[0].complex_forward is not None and c[1]])
def test_the_complex_step_through_every_array_primitive_matches_its_vjp(prim, shapes, static):
    """<g, f(x + ih·v)>.imag / h against <VJP(g), v> along a random direction v of each input
    (random normal entries: no ties in max, amax or max_pool2d)."""
    rng = np.random.default_rng(61)
    inputs = array_inputs(prim, shapes, static, rng)
    ans = prim.forward(*inputs, **static)
    g = rng.standard_normal(np.shape(ans))
    for i, x in enumerate(inputs):
        if i in prim.labels or prim.vjps[i] is zero_vjp:
            continue
        v = rng.standard_normal(np.shape(x))
        got = float(np.sum(g * complex_slope(prim, inputs, i, static, v)))
        expected = float(np.sum(np.broadcast_to(prim.vjps[i](g, ans, *inputs, **static), np.shape(x)) * v))
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-13)


@pytest.mark.parametrize(("name", "inputs"), [
    ("relu", [-0.5]), ("abs", [-0.5]), ("max", [0.3, 0.7]), ("min", [0.3, 0.7]), ("clip", [2.0, -1.0, 1.0]),
    ("leaky_relu", [-0.5, 0.1]), ("elu", [-0.5]), ("sign", [-0.5]), ("step", [0.5])])
def test_the_real_part_picks_the_piece(name, inputs):
    """A piece other than the identity on the side the real part says, checked by value too."""
    prim = next(p for p in PRIMITIVES if p.name == name)
    complex_value = prim.complex_forward(*[np.complex128(v) for v in inputs])
    assert complex(complex_value).real == pytest.approx(float(prim.forward(*inputs)), rel=1e-15)


# ----- through the pipeline --------------------------------------------------------------------------


def relative_difference(result) -> float:
    worst = 0.0
    for g in result.gradients.values():
        backprop = np.asarray(g.columns["backprop"], dtype=float)
        worst = max(worst, float(np.max(relative(g.columns["numeric"], backprop, float(np.max(np.abs(backprop)))))))
    return worst


def shipped(predicate):
    for path in sorted(EXPRESSIONS.glob("*.toml")):
        for spec in load(path):
            if spec.error is None and predicate(spec.options["expr"]) and "grad" not in spec.options.get("expect", ""):
                yield pytest.param({k: v for k, v in spec.options.items() if k not in ("name", "grad", "expect")},
                                   id=spec.name)


PIECEWISE = list(shipped(lambda expr: "relu" in expr or "max_pool2d" in expr))


def test_the_shipped_piecewise_cases_are_there():
    assert len(PIECEWISE) >= 4


@pytest.mark.parametrize("options", PIECEWISE)
def test_shipped_relu_and_pooling_cases_take_the_complex_step_to_machine_precision(options):
    options = dict(options)
    result = gradcheck.check(options.pop("expr"), **options)
    assert {g.numeric_method for g in result.gradients.values()} == {"complex"}
    assert not any(g.kinks for g in result.gradients.values())
    assert relative_difference(result) <= NET_TARGET


def test_the_relu_net_in_fast_mode_samples_entries_to_machine_precision():
    at = {"X": "randn(20,30)", "W1": "randn(30,40)", "W2": "randn(40,5)",
          "y": "[" + ",".join(str(i % 5) for i in range(20)) + "]"}
    result = gradcheck.check("softmax_ce(relu(X @ W1) @ W2, y)", at=at, wrt="W1,W2", mode="fast")
    for g in result.gradients.values():
        assert g.numeric_method == "complex"
        probes = g.columns["numeric"]
        backprop = np.asarray(g.columns["backprop"])
        assert len(probes.entries) == 8
        sampled = np.array([backprop[idx] for idx in probes.entries])
        assert np.max(relative(probes.entry_values, sampled, float(np.max(np.abs(backprop))))) <= NET_TARGET
        directional = np.array([np.sum(v * backprop) for v in probes.directions])
        assert np.max(relative(probes.directional, directional, float(np.max(np.abs(directional))))) <= NET_TARGET


def test_an_entry_on_a_kink_keeps_its_one_sided_derivatives_while_the_others_take_the_complex_step():
    result = gradcheck.check("sum(relu(x) * y)", at={"x": "[0, 0.5, -2]", "y": "[2, 3, 5]"}, wrt="x")
    g = result.gradients["x"]
    assert g.numeric_method == "complex" and g.status == result.status == "kink"
    (idx, left, right), = g.kinks
    assert list(idx) == [0] and left == pytest.approx(0.0, abs=1e-6) and right == pytest.approx(2.0, rel=1e-6)
    numeric = np.asarray(g.columns["numeric"])
    assert numeric[1] == 3.0 and numeric[2] == 0.0  # the complex step, exact


def test_a_kink_of_another_variable_leaves_the_complex_step_exact():
    """x is on relu's kink; y's step does not move it, so y's entry is the complex step's, not a difference."""
    result = gradcheck.check("relu(x) * 3 + sin(y) * exp(y)", at="x=0,y=0.7")
    assert result.gradients["x"].status == "kink"
    g = result.gradients["y"]
    assert g.status == "pass" and g.numeric_method == "complex"
    assert float(g.columns["numeric"]) == pytest.approx(float(g.columns["symbolic"]), rel=ULPS)
    assert float(g.numeric_error) < ULPS


def test_a_tie_the_step_does_not_move_leaves_the_complex_step_exact():
    """Every entry of a pooling window negative: relu makes them a four-way tie of zeros, which no
    step of x moves (relu is flat there), so every entry is differenced by the complex step."""
    x = np.array([[[[-1.0, -2.0, 0.5, 1.5], [-3.0, -0.5, 0.25, -1.0]]]])
    result = gradcheck.check("sum(max_pool2d(relu(x), 2) * 3)", at={"x": x})
    g = result.gradients["x"]
    assert result.status == "pass" and g.numeric_method == "complex" and not g.kinks
    assert relative_difference(result) == 0.0


def test_method_complex_is_refused_only_without_a_complex_form_or_at_a_jump():
    assert gradcheck.check("relu(x) * abs(y) + max(x, y)", at="x=1,y=-2", method="complex").status == "pass"
    with pytest.raises(SpecError, match="erf has none"):
        gradcheck.check("relu(x) * erf(x)", at="x=1", method="complex")
    with pytest.raises(SpecError, match=r"jumps in x at this point \(step\(x\) at x = 0\)"):
        gradcheck.check("step(x) * y", at="x=0,y=2", method="complex")
    assert gradcheck.check("step(x) * y", at="x=0,y=2", method="complex", wrt="y").status == "pass"


def run(*args: str) -> subprocess.CompletedProcess:
    return run_script(*args)


def test_no_relu_net_false_alarm_with_pre_activations_1e_9_from_their_kinks():
    """X @ W1 has entries 1e-9 above and below 0: a central step crosses them; the complex step does not."""
    X = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    W1 = [[1e-9, -1e-9, 0.7], [0.4, -0.3, -1e-9]]
    at = f"X={json.dumps(X)},W1={json.dumps(W1)},W2=[[0.5,-1.2],[0.3,0.8],[-0.6,0.2]],y=[0,1,1]"
    done = run("eval", "softmax_ce(relu(X @ W1) @ W2, y)", "--at", at, "--wrt", "W1,W2",
               "--grad", "W2=relu(X @ W1).T @ (softmax(relu(X @ W1) @ W2) - onehot(y, 2)) / 3", "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    case = json.loads(done.stdout)["cases"][0]
    for name in ("W1", "W2"):
        grad = case["gradients"][name]
        assert grad["status"] == "pass" and grad["numeric_method"] == "complex", grad
        np.testing.assert_allclose(grad["numeric"], grad["backprop"], rtol=NET_TARGET, atol=1e-300)


def test_the_console_script_refuses_method_complex_at_a_jump_with_the_reason():
    done = run("eval", "sign(x) * y + relu(y)", "--at", "x=0,y=1", "--method", "complex")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "f jumps in x" in joined(done.stderr) and "sign(x) at x = 0" in joined(done.stderr)


def test_the_complex_step_is_a_power_of_two_so_a_batch_mean_takes_it_out_exactly():
    """x + b minus its mean over the batch does not depend on b: the complex step must say exactly 0.
    With a step of 1e-20, N·h / N is not h, and the ulp left read as a derivative of ~1e-17 with an
    error estimate of ~1e-24 (a batch norm layer's right bias gradient failed against it). A power
    of two leaves nothing: the complex step finds 0, and an exact 0 is taken from central differences."""
    from gradcheck.oracles.numeric import COMPLEX_STEP, binary_step

    for h in (COMPLEX_STEP, 3.7e-19, 1e-20 * 123.4):
        step = binary_step(h)
        assert step <= h < 2 * step and np.log2(step) == int(np.log2(step))
    rng = np.random.default_rng(3)
    for n in (3, 5, 6, 7, 11):
        x, dout = rng.standard_normal((n, 4)), rng.standard_normal((n, 4))

        def f(b, x=x, dout=dout):
            a = x + b
            return np.sum(dout * (a - a.mean(axis=0)))

        b = rng.standard_normal(4)
        result = gradcheck.check_function(f, lambda b: np.zeros(4), [b])
        # exactly 0 (where the complex step's 0 sends it to central differences, 0 within their error)
        g = result.gradients["b"]
        assert np.all(np.abs(g.columns["numeric"]) <= g.numeric_error), (g.columns["numeric"], g.numeric_error)
        # a gradient that is 0 throughout, beside an error estimate of 1e-9, cannot be confirmed; nothing
        # contradicts it; an atol says the size that does not matter, and then it passes
        assert result.status in ("pass", "inconclusive") and g.status != "mismatch", str(result)
        assert gradcheck.check_function(f, lambda b: np.zeros(4), [b], atol=1e-7).status == "pass"
