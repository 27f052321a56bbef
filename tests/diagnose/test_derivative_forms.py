"""An activation's derivative written with one slip (an exponent off by one, a coefficient dropped, a sign
flipped inside, a factor or a term dropped, a constant squared): the activation recognised from the
forward's values, its SymPy derivative mutated one node at a time, and the slip named only where dout
times it is the whole claim and no different slip is too. Through check_layer, check_vjp and
check_function, and under a matrix product (an affine layer's weight, with the activation on X @ W + b)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradcheck
from gradcheck.diagnose import derivative_forms


SQRT_2_PI = math.sqrt(2 / math.pi)
GELU_K = 0.044715


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def erf(x):
    return np.vectorize(math.erf)(x)


def gelu(x):
    return 0.5 * x * (1 + np.tanh(SQRT_2_PI * (x + GELU_K * x ** 3)))


def gelu_local(x, cube=3.0, power=2, scale=SQRT_2_PI):
    """gelu's derivative as a backward writes it, with the knobs its slips turn."""
    t = np.tanh(SQRT_2_PI * (x + GELU_K * x ** 3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t ** power) * scale * (1 + cube * GELU_K * x ** 2)


def elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(x))


def softsign(x):
    return x / (1 + np.abs(x))


def points(shape=(5, 4), scale=1.3, seed=7):
    """Gaussian values kept off 0, where the piecewise activations bend; the same for every test, in
    whatever order a worker runs them."""
    x = scale * np.random.default_rng(seed).standard_normal(shape)
    x[np.abs(x) < 0.05] += 0.2
    return x


def elementwise(a):
    def forward(x):
        y = a(x)
        return y, (x, y)
    return forward


# name -> (activation, the claimed local gradient from (x, y), words the sentence says)
SLIPS = {
    "gelu, x**2 where 3*x**2": (gelu, lambda x, y: gelu_local(x, cube=1.0), ["0.044715*x**2 where 3*0.044715*x**2"]),
    "gelu, 1 - t where 1 - t**2": (gelu, lambda x, y: gelu_local(x, power=1), ["1 - t where 1 - t**2", "t = tanh"]),
    "gelu, sqrt(2/pi) squared": (gelu, lambda x, y: gelu_local(x, scale=2 / math.pi), ["√(2/π)**2 where √(2/π)"]),
    "softplus, sigmoid(-x)": (lambda x: np.logaddexp(0, x), lambda x, y: sigmoid(-x), ["softplus", "exp(-x)"]),
    "log-sigmoid, sigmoid(x)": (lambda x: -np.logaddexp(0, -x), lambda x, y: sigmoid(x), ["log-sigmoid"]),
    "tanh, 1 - out": (np.tanh, lambda x, y: 1 - y, ["1 - out where 1 - out**2"]),
    "elu, out without alpha": (lambda x: elu(x, 0.5), lambda x, y: np.where(x > 0, 1.0, y),
                               ["out where out + α", "x <= 0", "α = 0.5"]),
    "swish, a sign flipped": (lambda x: x * sigmoid(x), lambda x, y: sigmoid(x) + x * sigmoid(x) * (1 + sigmoid(x)),
                              ["s + 1 where 1 - s", "swish (β = 1)"]),
    "gelu erf form, exp(x**2 / 2)": (lambda x: 0.5 * x * (1 + erf(x / math.sqrt(2))),
                                     lambda x, y: 0.5 * (1 + erf(x / math.sqrt(2))) + x * np.exp(x ** 2 / 2) / math.sqrt(2 * math.pi),
                                     ["exp(x**2/2) where exp(-x**2/2)", "gelu (erf form)"]),
    "softsign, an exponent off by one": (softsign, lambda x, y: 1 / (1 + np.abs(x)) ** 3,
                                         ["(|x| + 1)**(-3) where (|x| + 1)**(-2)", "softsign"]),
    "mish, a factor dropped": (lambda x: x * np.tanh(np.logaddexp(0, x)),
                               lambda x, y: np.tanh(np.logaddexp(0, x)) + x * (1 - np.tanh(np.logaddexp(0, x)) ** 2),
                               ["mish", "where s*x*(1 - t**2)"]),
    "selu with rounded constants, out + alpha": (lambda x: 1.0507 * np.where(x > 0, x, 1.67326 * np.expm1(x)),
                                                 lambda x, y: np.where(x > 0, 1.0507, y + 1.67326),
                                                 ["out + α where out + α*λ", "λ = 1.0507, α = 1.67326"]),
    "swish with beta 2, a sign flipped": (lambda x: x * sigmoid(2 * x),
                                          lambda x, y: sigmoid(2 * x) + 2 * x * sigmoid(2 * x) * (1 + sigmoid(2 * x)),
                                          ["swish (β = 2)", "s + 1 where 1 - s"]),
}


@pytest.mark.parametrize("case", sorted(SLIPS))
def test_one_slip_in_an_activations_derivative_is_named(case):
    a, local, said = SLIPS[case]
    r = gradcheck.check_layer(elementwise(a), lambda d, c: d * local(*c), [points()])
    g = r.gradients["x"]
    assert r.exit_code == 1 and g.status == "mismatch"  # the verdict is the diagnosis's to explain, not change
    assert g.cause == "derivative form", (g.cause, g.diagnosis)
    for words in said:
        assert words in g.diagnosis, g.diagnosis


def test_the_same_slip_through_check_vjp_and_check_function():
    x = points()
    vjp = gradcheck.check_vjp(gelu, lambda d, x: d * gelu_local(x, power=1), [x]).gradients["x"]
    assert vjp.cause == "derivative form" and "1 - t where 1 - t**2" in vjp.diagnosis, vjp.diagnosis
    loss = gradcheck.check_function(lambda x: np.sum(gelu(x)), lambda x: gelu_local(x, cube=1.0), [x])
    g = loss.gradients["x"]
    assert loss.exit_code == 1 and g.cause == "derivative form", (g.cause, g.diagnosis)
    assert "0.044715*x**2 where 3*0.044715*x**2" in g.diagnosis
    mean = gradcheck.check_function(lambda x: np.mean(np.tanh(x)), lambda x: (1 - np.tanh(x)) / x.size, [x])
    g = mean.gradients["x"]
    assert mean.exit_code == 1 and g.cause == "derivative form" and "1 - out where 1 - out**2" in g.diagnosis, g.diagnosis


def test_a_slip_under_an_affine_layers_product_is_named_on_the_weight():
    """out = gelu(X @ W + b): dW = X.T @ g′ with the slip in g′; X has fewer rows than columns, so g is
    recovered from dW's truth and the slip is read in z = X @ W + b (products.py)."""
    x, w, b = points((3, 6), seed=1), 0.5 * points((6, 4), seed=2), 0.3 * points((4,), seed=3)

    def forward(x, w, b):
        z = x @ w + b
        return gelu(z), (x, w, z)

    def backward(dout, cache):
        x, w, z = cache
        dz_right, dz = dout * gelu_local(z), dout * gelu_local(z, power=1)
        return dz_right @ w.T, x.T @ dz, dz_right.sum(axis=0)

    r = gradcheck.check_layer(forward, backward, [x, w, b])
    g = r.gradients["w"]
    assert r.exit_code == 1 and g.status == "mismatch"
    assert "derivative form" in (g.cause, *g.causes), (g.cause, g.diagnosis)
    assert "1 - t where 1 - t**2" in g.diagnosis and "z = x @ w + b" in g.diagnosis, g.diagnosis


# near misses: a right layer, a claim off by noise, wrong on a few entries only, two slips at once, and a
# local gradient wrong in a way no one slip is
NEAR = {
    "right": (gelu, lambda x, y: gelu_local(x)),
    "noise": (np.tanh, lambda x, y: (1 - y ** 2) * (1 + 1e-3 * np.sin(37 * x))),
    "a few entries": (np.tanh, lambda x, y: np.where(np.abs(x) > 1.8, 1 - y, 1 - y ** 2)),
    "two slips": (gelu, lambda x, y: gelu_local(x, cube=1.0, power=1)),
    "another function": (softsign, lambda x, y: np.cos(x) / (1 + np.abs(x)) ** 2),
}


@pytest.mark.parametrize("case", sorted(NEAR))
def test_a_claim_no_single_slip_explains_is_not_named(case):
    a, local = NEAR[case]
    r = gradcheck.check_layer(elementwise(a), lambda d, c: d * local(*c), [points()])
    g = r.gradients["x"]
    assert g.cause != "derivative form", g.diagnosis
    assert r.exit_code == (0 if case == "right" else 1) or case == "a few entries" and r.exit_code == 1


def test_named_mistakes_keep_their_own_names():
    """A slip the table names more specifically (the activation for its derivative, a leaky slope on the
    wrong side) keeps that name, though it is also one node of the derivative changed."""
    x = points()
    g = gradcheck.check_layer(elementwise(sigmoid), lambda d, c: d * c[1], [x]).gradients["x"]
    assert g.cause == "activation for its derivative", g.diagnosis
    leaky = gradcheck.check_layer(elementwise(lambda v: np.where(v > 0, v, 0.1 * v)),
                                  lambda d, c: d * np.where(c[0] > 0, 0.1, 1.0), [x]).gradients["x"]
    assert leaky.cause not in (None, "count", "derivative form"), leaky.diagnosis


def test_a_relu_is_no_elu_or_leaky_relu_with_a_zero_constant():
    """A relu's negative side reads α = 0 and slope 0: no activation of the catalogue (the mask's entries
    own a relu), so a relu whose backward is wrong in a way one slip of those would fit is not told one."""
    x = points()
    assert derivative_forms.recognised("x", x, np.maximum(x, 0.0), [0.0]) == []
    assert derivative_forms.recognised("x", x, elu(x, 0.3), [])[0].act.name == "elu"  # (a selu with λ = 1 too)


def test_every_written_form_is_the_sympy_derivative():
    """The catalogue's forms written as a backward writes them (in the output, with t = tanh(...)) are the
    derivative SymPy takes of the forward, so a slip is said against the right formula."""
    x = points((40,), scale=2.0)
    for act in derivative_forms.catalogue():
        values = {sym: usual[0] for sym, (_, usual) in act.constants.items()}
        found = derivative_forms.Found(act, "x", x, values)
        env = derivative_forms.environment(found)
        for i, piece in enumerate(act.pieces):
            where = np.ones(x.shape, dtype=bool) if piece.holds is None else piece.holds(x)
            right = np.broadcast_to(derivative_forms.evaluate(derivative_forms.derivative(act, i), env), x.shape)
            for form in piece.forms:
                value = np.broadcast_to(derivative_forms.evaluate(form, env), x.shape)
                assert np.allclose(value[where], right[where], rtol=1e-12, atol=1e-12), (act.name, form)


def test_the_mutations_of_a_derivative_are_bounded_and_change_it():
    x = points((30,))
    for act in derivative_forms.catalogue():
        slips = derivative_forms.mutations(act.name)
        assert 0 < len(slips) <= derivative_forms.MUTATIONS_MAX
        assert all(m.wrong != m.right for m in slips)
    gelu_act = next(a for a in derivative_forms.catalogue() if a.name == "gelu (tanh form)")
    values = {sym: usual[0] for sym, (_, usual) in gelu_act.constants.items()}
    found = derivative_forms.Found(gelu_act, "x", x, values)
    assert derivative_forms.recognised("x", x, gelu(x), [])[0].act is gelu_act
    env = derivative_forms.environment(found)
    right = derivative_forms.local(found, env)
    assert np.allclose(right, gelu_local(x))
    with np.errstate(all="ignore"):  # some slips (a square root of a negative) have no value here
        assert any(np.allclose(derivative_forms.local(found, env, m), gelu_local(x, cube=1.0))
                   for m in derivative_forms.mutations(gelu_act.name))


def test_two_different_slips_that_both_fit_name_neither():
    """The search names a slip only where every slip that fits is one function: told that every slip fits,
    it names none; told that one does, that one."""
    x = points((20,))
    douts = [points((20,), seed=5)]
    args = ([("x", x)], np.tanh(x), [], douts)
    everything = derivative_forms.search(*args, truth_is=lambda p: True, claim_is=lambda p: True, same=1e-4)
    assert everything is None
    one = 1 - np.tanh(x)  # 1 - out for 1 - out**2
    found = derivative_forms.search(*args, truth_is=lambda p: True, same=1e-4,
                                    claim_is=lambda p: all(np.allclose(q, d * one) for q, d in zip(p, douts)))
    assert found is not None and found.found.act.name == "tanh"
    assert derivative_forms.words(found, "x")["wrong"] in ("1 - out", "1 - tanh(x)")
