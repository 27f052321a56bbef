"""Every primitive in the registry, checked three ways: its VJP rule against finite differences of
its own forward, its SymPy form against the forward and the VJP, and the derivative it advertises
in `gradcheck functions` against the VJP."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from gradcheck.language.evaluate import value
from gradcheck.language.parser import Scope, parse
from gradcheck.language.tree import Var
from gradcheck.ops.registry import BY_NAME, FUNCTIONS, PRIMITIVES, zero_vjp
from registry_cases import (ARRAY_CASES, ARRAY_EXAMPLES, ARRAY_IDS, CASES, ELEMENTWISE, H, IDS, array_inputs, sample_points)

def central(prim, inputs, i):
    up, down = list(inputs), list(inputs)
    up[i] = up[i] + H
    down[i] = down[i] - H
    return (prim.forward(*up) - prim.forward(*down)) / (2 * H)


def vjp_at(prim, inputs, i):
    rule = prim.vjps[i]
    if rule is zero_vjp:
        return 0.0
    return float(rule(np.float64(1.0), prim.forward(*inputs), *inputs))


@pytest.mark.parametrize(("prim", "i"), CASES, ids=IDS)
def test_vjp_matches_finite_differences(prim, i):
    rng = np.random.default_rng(1234)
    for inputs in sample_points(prim, rng, i):
        expected = central(prim, inputs, i)
        assert vjp_at(prim, inputs, i) == pytest.approx(expected, rel=1e-6, abs=1e-8), inputs


@pytest.mark.parametrize(("prim", "i"), CASES, ids=IDS)
def test_advertised_derivative_matches_vjp(prim, i):
    """The text `gradcheck functions` prints is an expression in our own language; evaluate it."""
    scope = Scope(variables={p: Var(p, None) for p in prim.params}, closed=True)
    derivative = parse(prim.derivatives[i], origin=f"{prim.name} derivative", scope=scope)
    rng = np.random.default_rng(99)
    for inputs in sample_points(prim, rng, i):
        point = dict(zip(prim.params, inputs))
        assert float(value(derivative, point)) == pytest.approx(vjp_at(prim, inputs, i), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("prim", "i"), CASES, ids=IDS)
def test_sympy_form_matches_forward_and_vjp(prim, i):
    symbols = [sp.Symbol(p, real=True) for p in prim.params]
    form = prim.sympy(sp, *symbols)
    derivative = sp.diff(form, symbols[i])
    rng = np.random.default_rng(7)
    for inputs in sample_points(prim, rng, i):
        subs = {s: sp.Float(float(v), 30) for s, v in zip(symbols, inputs)}
        assert float(form.evalf(30, subs=subs)) == pytest.approx(float(prim.forward(*inputs)), rel=1e-13)
        assert float(derivative.evalf(30, subs=subs)) == pytest.approx(vjp_at(prim, inputs, i), rel=1e-12, abs=1e-15)


def test_registry_names_are_unique_and_complete():
    names = [p.name for p in PRIMITIVES]
    assert len(names) == len(set(names))
    assert {p.name for p in PRIMITIVES if not p.elementwise} == set(ARRAY_EXAMPLES), \
        "every array primitive needs examples in ARRAY_EXAMPLES"
    required = {"exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "softplus", "abs",
                "max", "min", "pow"}
    assert required <= set(FUNCTIONS)
    for prim in PRIMITIVES:
        assert len(prim.vjps) == len(prim.derivatives) == prim.arity, prim.name


@pytest.mark.parametrize("x", [-750.0, -40.0, 0.0, 40.0, 750.0])
def test_sigmoid_is_stable_in_both_tails(x):
    sigmoid = FUNCTIONS["sigmoid"].forward
    with np.errstate(all="raise", under="ignore"):
        got = sigmoid(np.float64(x))
    exact = float(1 / (1 + sp.exp(-sp.Float(x, 50))))
    assert got == pytest.approx(exact, rel=1e-14, abs=1e-300)


def test_kinks_use_the_midpoint_convention_all_oracles_share():
    """At 0, relu' = step = 1/2: the central difference across the kink and SymPy's Heaviside(0) agree."""
    relu = FUNCTIONS["relu"]
    assert vjp_at(relu, [np.float64(0.0)], 0) == 0.5
    assert float(central(relu, [np.float64(0.0)], 0)) == pytest.approx(0.5)
    x = sp.Symbol("x", real=True)
    assert sp.diff(relu.sympy(sp, x), x).subs(x, 0) == sp.Rational(1, 2)


# ----- array primitives ----------------------------------------------------------------------------
@pytest.mark.parametrize(("prim", "shapes", "static"), ARRAY_CASES, ids=ARRAY_IDS)
def test_array_vjp_matches_finite_differences(prim, shapes, static):
    """VJP(g) against the central difference of <g, f(x)> entry by entry, for every input but labels."""
    rng = np.random.default_rng(5)
    inputs = array_inputs(prim, shapes, static, rng)
    ans = prim.forward(*inputs, **static)
    assert np.shape(ans) == prim.shape(*shapes, **static)
    g = rng.standard_normal(np.shape(ans))
    for i, x in enumerate(inputs):
        if i in prim.labels or prim.vjps[i] is zero_vjp:
            continue
        got = np.broadcast_to(prim.vjps[i](g, ans, *inputs, **static), np.shape(x))
        expected = np.empty(np.shape(x))
        for idx in np.ndindex(np.shape(x)):
            up, down = [np.array(v, dtype=float) for v in inputs], [np.array(v, dtype=float) for v in inputs]
            up[i][idx] += H
            down[i][idx] -= H
            expected[idx] = np.sum(g * (prim.forward(*up, **static) - prim.forward(*down, **static))) / (2 * H)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(("prim", "shapes", "static"), ARRAY_CASES, ids=ARRAY_IDS)
def test_array_sympy_form_matches_forward_and_vjp(prim, shapes, static):
    """The SymPy form on object arrays gives the forward's numbers, and SymPy's derivative of
    <g, f(x)> by each entry gives the VJP."""
    from gradcheck.oracles.sym_eval import Evaluator, as_float
    from gradcheck.oracles.symbolic import sympy_numbers, sympy_symbols

    rng = np.random.default_rng(6)
    inputs = array_inputs(prim, shapes, static, rng)
    ans = prim.forward(*inputs, **static)
    g = rng.standard_normal(np.shape(ans))
    symbolic_inputs, values = [], {}
    for i, x in enumerate(inputs):
        if i in prim.labels:
            symbolic_inputs.append(sympy_numbers(sp, x))
        else:
            symbols = sympy_symbols(sp, f"a{i}", x)
            symbolic_inputs.append(symbols)
            values.update({s: np.asarray(x)[idx] for idx, s in np.ndenumerate(symbols)})
    form = np.asarray(prim.sympy(sp, *symbolic_inputs, **static), dtype=object)
    evaluate = Evaluator(values)
    got = np.vectorize(lambda e: as_float(evaluate(sp.sympify(e))), otypes=[float])(form)
    np.testing.assert_allclose(got, ans, rtol=1e-12, atol=1e-14)
    inner = sp.Add(*(sp.Float(float(gi)) * e for gi, e in zip(np.ravel(g), form.ravel())))
    for i, x in enumerate(inputs):
        if i in prim.labels or prim.vjps[i] is zero_vjp:
            continue
        vjp = np.broadcast_to(prim.vjps[i](g, ans, *inputs, **static), np.shape(x))
        for idx, s in np.ndenumerate(symbolic_inputs[i]):
            assert as_float(evaluate(sp.diff(inner, s))) == pytest.approx(float(vjp[idx]), rel=1e-10, abs=1e-12)


# ----- the sizes of the terms a VJP adds up (backprop's rounding) ------------------------------------

def _size_cases():
    cases = [(prim, shapes, static) for prim, shapes, static in ARRAY_CASES]
    for prim in PRIMITIVES:  # elementwise: every input but the first broadcast along a new axis
        if prim.elementwise and prim.arity >= 2:
            cases.append((prim, [(3, 4)] + [(4,)] * (prim.arity - 1), {}))
            cases.append((prim, [(4,)] + [(3, 4)] * (prim.arity - 1), {}))
    return [(prim, shapes, static, i) for prim, shapes, static in cases for i in range(prim.arity)
            if i not in prim.labels and prim.vjps[i] is not zero_vjp]


SIZE_CASES = _size_cases()


@pytest.mark.parametrize(("prim", "shapes", "static", "i"), SIZE_CASES,
                         ids=[f"{p.name}-{'x'.join(map(str, s))}-{st}-{i}" for p, s, st, i in SIZE_CASES])
def test_term_sizes_bound_every_term_of_the_vjp(prim, shapes, static, i):
    """What backprop's rounding is measured by (oracles/backprop.term_sizes) is at least |J|^T s, the
    sum of every term's size, built here one output entry at a time (a unit vector's VJP holds one
    term per entry), and at most twice it. The VJP of s itself cancels where terms of both signs meet:
    X.T @ S, a broadcast w in x * w, softmax's subtracted sum."""
    from gradcheck.ops.arrays import unbroadcast
    from gradcheck.oracles.backprop import sizes_rule

    rng = np.random.default_rng(11)
    if prim.elementwise:  # inside every domain (log, sqrt, a power's base), away from 0
        inputs = [rng.uniform(0.5, 2.0, size=shape) for shape in shapes]
        inputs = [np.round(x) % 2 if k in prim.labels else x for k, x in enumerate(inputs)]
    else:
        inputs = array_inputs(prim, shapes, static, rng)
    ans = prim.forward(*inputs, **static)
    s = rng.uniform(0.5, 1.5, size=np.shape(ans))
    shape = np.shape(inputs[i])
    brute = np.zeros(shape)
    for o in np.ndindex(np.shape(ans)):
        unit = np.zeros(np.shape(ans))
        unit[o] = 1.0
        brute += s[o] * np.abs(unbroadcast(prim.vjps[i](unit, ans, *inputs, **static), shape))
    rule, positive = sizes_rule(prim, i)
    raw = rule(s, ans, *inputs, **static)
    got = unbroadcast(np.abs(raw) if positive else raw, shape)
    assert np.shape(got) == shape
    assert np.all(got >= brute * (1 - 1e-12)), (got, brute)
    if prim.name in ("softmax", "log_softmax"):
        # their VJP subtracts within one entry too, s_o (1 - s_o): the terms it rounds are s_o and s_o²,
        # so the sizes are the terms as written (softmax_sizes), above |J|
        return
    assert np.all(got <= 2 * brute + 1e-300), (got, brute)


# ----- the registry's risky defaults, walked entry by entry -----------------------------------------
# complex_form defaults to the forward itself and `linear` to nothing: a wrong complex form would make
# the complex step's derivative silently wrong, a wrong `linear` would reuse f(x) where it does not hold.
STEP = 1e-20


@pytest.mark.parametrize(("prim", "i"), CASES, ids=IDS)
def test_every_complex_form_gives_the_vjp_of_its_piece(prim, i):
    """Under the complex step x + ih, every elementwise primitive's complex form (its forward where that
    is analytic, the piece the real part picks where it is not) has imaginary part h times the VJP."""
    if prim.complex_forward is None or prim.vjps[i] is zero_vjp:
        return
    for inputs in sample_points(prim, np.random.default_rng(11), i)[:5]:
        stepped = [complex(v) for v in inputs]
        stepped[i] += STEP * 1j
        slope = np.imag(prim.complex_forward(*stepped)) / STEP
        assert slope == pytest.approx(vjp_at(prim, inputs, i), rel=1e-9, abs=1e-12), (prim.name, inputs)


@pytest.mark.parametrize(("prim", "shapes", "static"), ARRAY_CASES, ids=ARRAY_IDS)
def test_every_array_complex_form_gives_the_vjp_along_a_direction(prim, shapes, static):
    """The same for arrays, along a random direction v of each input: Im f(x + ihv) / h = <VJP(g), v>
    contracted with g. Inputs are drawn where no kink is within reach (ties of max_pool2d and amax are
    broken by the random draw)."""
    if prim.complex_forward is None:
        return
    rng = np.random.default_rng(13)
    inputs = array_inputs(prim, shapes, static, rng)
    ans = prim.forward(*inputs, **static)
    g = rng.standard_normal(np.shape(ans))
    for i, x in enumerate(inputs):
        if i in prim.labels or prim.vjps[i] is zero_vjp:
            continue
        v = rng.standard_normal(np.shape(x))
        stepped = list(inputs)  # labels stay the whole numbers they are
        stepped[i] = np.asarray(x, dtype=np.complex128) + STEP * 1j * v
        along = np.sum(g * np.imag(prim.complex_forward(*stepped, **static))) / STEP
        expected = np.sum(np.broadcast_to(prim.vjps[i](g, ans, *inputs, **static), np.shape(x)) * v)
        assert along == pytest.approx(expected, rel=1e-9, abs=1e-12), (prim.name, i)


LINEAR = [(prim, shapes, static) for prim, shapes, static in ARRAY_CASES if prim.linear] + \
         [(prim, [(), ()], {}) for prim in ELEMENTWISE if prim.linear]


@pytest.mark.parametrize(("prim", "shapes", "static"), LINEAR, ids=[p.name for p, _, _ in LINEAR])
def test_every_linear_input_is_linear(prim, shapes, static):
    """`linear` lets the complex step reuse f(x): f(x + iy) = f(x) + i f(y) in each input it names, the
    others held real."""
    assert prim.linear
    rng = np.random.default_rng(17)
    inputs = array_inputs(prim, shapes, static, rng)
    for i in prim.linear:
        y = rng.standard_normal(np.shape(inputs[i]))
        moved = list(inputs)
        moved[i] = inputs[i] + 1j * y
        imaginary = list(inputs)
        imaginary[i] = y
        np.testing.assert_allclose(prim.complex_forward(*moved, **static),
                                   prim.forward(*inputs, **static) + 1j * prim.forward(*imaginary, **static),
                                   rtol=1e-12, atol=1e-12)


EMITTED = [p for p in PRIMITIVES if p.numpy_source is not None]


@pytest.mark.parametrize("prim", EMITTED, ids=[p.name for p in EMITTED])
def test_every_numpy_source_computes_the_forward(prim):
    """--emit numpy defines each function from its entry's numpy_source (and those it needs): run here,
    it must compute what the entry's forward computes."""
    namespace: dict = {"np": np}
    for name in (*prim.numpy_needs, prim.name):
        exec(BY_NAME[name].numpy_source, namespace)  # noqa: S102 - the registry's own text, not user input
    emitted = namespace[prim.name]
    rng = np.random.default_rng(19)
    if prim.elementwise:
        cases = [([(3, 2)] * prim.arity, {})]
    else:
        cases = [(shapes, static) for shapes, static in ARRAY_EXAMPLES.get(prim.name, [])][:2]
    assert cases, prim.name
    for shapes, static in cases:
        inputs = array_inputs(prim, shapes, static, rng)
        if prim.domain is not None:
            inputs = [np.abs(x) + 0.5 if i not in prim.labels else x for i, x in enumerate(inputs)]
        np.testing.assert_allclose(emitted(*inputs, **static), prim.forward(*inputs, **static), rtol=1e-12)
