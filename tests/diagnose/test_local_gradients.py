"""An elementwise step's local gradient written wrong: its derivative in the output's form applied to the
input (1 − x**2 where 1 − y**2 belongs), in the input's form applied to the output (σ(y)·(1 − σ(y))), or
the activation for its derivative; named from the claim's values alone, for the step as the layer, inside
a product (a gate) or under a matrix product (an rnn step), and never for a local gradient that is wrong
in another way."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck

RNG = np.random.default_rng(41)
LOCAL_CAUSES = ("activation for its derivative", "input for output", "output for input")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softplus(x):
    return np.logaddexp(0.0, x)


def elementwise(a):
    def forward(x):
        y = a(x)
        return y, (x, y)
    return forward


def tanh_gelu(x):
    return 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x ** 3)))


# name -> (activation, local gradient claimed from (x, y)): each a catalogue form
WRONG = {
    "tanh, 1 - x**2": (np.tanh, lambda x, y: 1 - x ** 2, "input for output", "1 − x**2 where 1 − y**2"),
    "sigmoid, x (1 - x)": (sigmoid, lambda x, y: x * (1 - x), "input for output", "x·(1 − x) where y·(1 − y)"),
    "exp, x for y": (np.exp, lambda x, y: x, "input for output", "uses x where y belongs"),
    "sigmoid of the output": (sigmoid, lambda x, y: sigmoid(y) * (1 - sigmoid(y)), "output for input",
                              "σ(y)·(1 − σ(y)) where σ(x)·(1 − σ(x))"),
    "tanh of the output": (np.tanh, lambda x, y: 1 - np.tanh(y) ** 2, "output for input", "1 − tanh(y)**2"),
    "softplus, sigmoid of the output": (softplus, lambda x, y: sigmoid(y), "output for input", "σ(y) where σ(x)"),
    "softplus for its derivative": (softplus, lambda x, y: y, "activation for its derivative", "softplus"),
}


@pytest.mark.parametrize("case", sorted(WRONG))
def test_an_elementwise_layers_local_gradient_in_the_wrong_variable_is_named(case):
    a, local, cause, said = WRONG[case]
    x = RNG.standard_normal((4, 5))
    g = gradcheck.check_layer(elementwise(a), lambda d, c: d * local(*c), [x]).gradients["x"]
    assert g.status == "mismatch" and g.cause == cause, (g.cause, g.diagnosis)
    assert said in g.diagnosis, g.diagnosis


# near misses: a local gradient wrong in another way (not a catalogue form), or the form with an error besides
NEAR = {
    "tanh, 1 - y**3": (np.tanh, lambda x, y: 1 - y ** 3),
    "sigmoid with tanh's derivative": (sigmoid, lambda x, y: 1 - y ** 2),
    "tanh, 1 - x**2 times 1.05": (np.tanh, lambda x, y: 1.05 * (1 - x ** 2)),
    "tanh, 1 - x**2 with 3% noise": (np.tanh, lambda x, y: (1 - x ** 2) * NOISE),
    "softplus, sigmoid(-x)": (softplus, lambda x, y: sigmoid(-x)),
    "gelu with d/dx x**3 written as x**2": (tanh_gelu, None),
}
NOISE = 1 + 0.03 * np.random.default_rng(5).standard_normal((4, 5))


def gelu_backward_wrong(d, c):
    x, _ = c
    k, a = 0.7978845608, 0.044715
    t = np.tanh(k * (x + a * x ** 3))
    return d * (0.5 * (1 + t) + 0.5 * x * (1 - t ** 2) * k * (1 + a * x ** 2))  # 3 a x**2 belongs


@pytest.mark.parametrize("case", sorted(NEAR))
def test_a_local_gradient_wrong_in_another_way_is_not_named_a_form(case):
    a, local = NEAR[case]
    x = RNG.standard_normal((4, 5))
    backward = gelu_backward_wrong if local is None else (lambda d, c: d * local(*c))
    g = gradcheck.check_layer(elementwise(a), backward, [x]).gradients["x"]
    assert g.status == "mismatch" and g.cause not in LOCAL_CAUSES, (g.cause, g.diagnosis)


def test_the_right_layer_passes():
    for a, right in ((np.tanh, lambda x, y: 1 - y ** 2), (sigmoid, lambda x, y: y * (1 - y)),
                     (softplus, lambda x, y: sigmoid(x))):
        backward = lambda d, c, right=right: d * right(*c)  # noqa: E731
        assert gradcheck.check_layer(elementwise(a), backward, [RNG.standard_normal((3, 4))]).exit_code == 0


def rnn_step(x, h, Wx, Wh, b):
    a = x @ Wx + h @ Wh + b
    nh = np.tanh(a)
    return nh, (x, h, Wx, Wh, a, nh)


def rnn_step_backward(local):
    def backward(d, c):
        x, h, Wx, Wh, a, nh = c
        dz = d * local(a, nh)
        return dz @ Wx.T, dz @ Wh.T, x.T @ dz, h.T @ dz, dz.sum(axis=0)
    return backward


RNN = [RNG.standard_normal((3, 4)), RNG.standard_normal((3, 5)), 0.5 * RNG.standard_normal((4, 5)),
       0.5 * RNG.standard_normal((5, 5)), 0.1 * RNG.standard_normal(5)]


@pytest.mark.parametrize("local, cause", [(lambda a, y: 1 - a ** 2, "input for output"),
                                          (lambda a, y: 1 - np.tanh(y) ** 2, "output for input")],
                         ids=["1 - a**2", "1 - tanh(y)**2"])
def test_an_rnn_steps_tanh_derivative_in_the_wrong_variable_is_named_through_the_matrix_products(local, cause):
    result = gradcheck.check_layer(rnn_step, rnn_step_backward(local), RNN)
    for name in ("x", "Wx"):
        g = result.gradients[name]
        assert g.status == "mismatch" and g.cause == cause, (name, g.cause, g.diagnosis)
        assert "z the tanh's input" in g.diagnosis, g.diagnosis


def test_an_rnn_step_with_another_wrong_local_gradient_is_not_named_a_form():
    result = gradcheck.check_layer(rnn_step, rnn_step_backward(lambda a, y: 1 - y ** 3), RNN)
    assert result.gradients["Wx"].status == "mismatch" and result.gradients["Wx"].cause not in LOCAL_CAUSES
    assert gradcheck.check_layer(rnn_step, rnn_step_backward(lambda a, y: 1 - y ** 2), RNN).exit_code == 0


def gate(x, g):
    t = np.tanh(x)
    return t * g, (t, g)


@pytest.mark.parametrize("local, cause", [(lambda t: t, "activation for its derivative"),
                                          (lambda t: 1 - np.arctanh(t) ** 2, "input for output"),
                                          (lambda t: 1.05 * t, None), (lambda t: 1 - t ** 3, None)],
                         ids=["t", "1 - x**2", "1.05 t", "1 - t**3"])
def test_a_gates_local_gradient_is_read_beside_the_other_factor(local, cause):
    x, g = RNG.standard_normal((4, 5)), RNG.standard_normal((4, 5))
    d = gradcheck.check_layer(gate, lambda dout, c: (dout * c[1] * local(c[0]), dout * c[0]), [x, g]).gradients["x"]
    assert d.status == "mismatch", d.diagnosis
    assert d.cause == cause if cause else d.cause not in LOCAL_CAUSES, (d.cause, d.diagnosis)


# ----- a power's local gradient: an exponent off by one, the factor n missing ---------------------------
def cube(a):
    return a ** 3, a


def power(a, b):
    return a ** b, (a, b)


POWER_INPUTS = {"cube": [RNG.standard_normal((4, 5))],
                "power": [RNG.uniform(0.5, 2.0, (4, 5)), RNG.uniform(0.5, 2.0, (4, 5))]}


def power_backward(da):
    return lambda d, c: (d * da(*c), d * c[0] ** c[1] * np.log(c[0]))


@pytest.mark.parametrize("layer, backward, cause, said", [
    (cube, lambda d, a: d * 3 * a ** 3, "local gradient factor", "uses 3·a**3 where 3·a**2 belongs"),
    (cube, lambda d, a: d * 3 * a, "local gradient factor", "exponent is one too low"),
    (cube, lambda d, a: d * a ** 2, "constant factor", "the factor 3 is missing"),
    (power, power_backward(lambda a, b: b * a ** b), "local gradient factor", "uses b·a**b where b·a**(b − 1)"),
    (power, power_backward(lambda a, b: a ** (b - 1)), "local gradient factor", "the factor b is missing"),
], ids=["n a**n", "n a**(n-2)", "a**(n-1)", "b a**b", "a**(b-1)"])
def test_a_powers_local_gradient_says_which_exponent_or_factor(layer, backward, cause, said):
    g = gradcheck.check_layer(layer, backward, POWER_INPUTS[layer.__name__]).gradients["a"]
    assert g.status == "mismatch" and g.cause == cause and said in g.diagnosis, (g.cause, g.diagnosis)


@pytest.mark.parametrize("backward", [lambda d, a: d * 2 * a ** 2, lambda d, a: 1.01 * d * a ** 2,
                                      lambda d, a: d * 3 * a ** 2 * (1 + a ** 2)],
                         ids=["2 a**2", "1.01 a**2", "another factor"])
def test_a_power_wrong_in_another_way_is_not_said_to_miss_n_or_an_exponent(backward):
    g = gradcheck.check_layer(cube, backward, POWER_INPUTS["cube"]).gradients["a"]
    assert g.status == "mismatch" and "is missing" not in g.diagnosis and "exponent" not in g.diagnosis, g.diagnosis
    assert gradcheck.check_layer(cube, lambda d, a: 3 * d * a ** 2, POWER_INPUTS["cube"]).exit_code == 0
