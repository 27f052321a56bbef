"""One gate of a gated layer with its local gradient written wrong (gradcheck/diagnose/products.py and
the local-form tests of hypotheses.py): the pre-activation gradient da of z = x @ Wx + h @ Wh + b is
recovered (from one input of full rank, or from Wx's, Wh's and b's truths stacked) and its one gate's
block is the truth there times wrong/right local gradient, in that block of z; every other gate right.
Named for a sigmoid gate written as its output and a tanh gate written as its output (N > D and N ≤ D),
an input gate's derivative written in its input, an output gate written as its output (on next_h's path
alone: read before that path), and either beside dc2 dropped (each output's path read apart); the right
layer, a gate wrong by another factor, and a noisy gate keep the honest count; an output gate halved is
its path alone. The layers are this file's own (gates in f, i, g, o order)."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck

HONEST = {"count", "probe", None}
LOCAL = {"activation for its derivative", "input for output", "output for input"}
READ = ("Wx", "Wh", "b", "x", "h")


def randn(seed, *shape):
    return np.random.default_rng([131, seed]).standard_normal(shape)


def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def cell_forward(x, h, c, Wx, Wh, b):
    n = h.shape[1]
    a = x @ Wx + h @ Wh + b
    f, i, g, o = sig(a[:, :n]), sig(a[:, n:2 * n]), np.tanh(a[:, 2 * n:3 * n]), sig(a[:, 3 * n:])
    c2 = f * c + i * g
    return o * np.tanh(c2), c2, (x, h, c, Wx, Wh, a, f, i, g, o, c2)


def cell_backward(bugs):
    """The cell's backward with `bugs` (" + " between two): one gate's local gradient, and dc2 dropped."""
    bug, *more = bugs.split(" + ")

    def backward(dh2, dc2, cache):
        x, h, c, Wx, Wh, a, f, i, g, o, c2 = cache
        n = h.shape[1]
        t = np.tanh(c2)
        dc = dh2 * o * (1 - t ** 2) + (0.0 if "dc2 dropped" in more else dc2)
        local = {"f": f * (1 - f), "i": i * (1 - i), "g": 1 - g ** 2, "o": o * (1 - o)}
        if bug == "i as i":
            local["i"] = i
        elif bug == "g as g":
            local["g"] = g
        elif bug == "i in input":
            z = a[:, n:2 * n]
            local["i"] = z * (1 - z)
        elif bug == "o as o":
            local["o"] = o
        elif bug == "o halved":
            local["o"] = 0.5 * o * (1 - o)
        elif bug == "f halved":
            local["f"] = 0.5 * f * (1 - f)
        elif bug == "f as 1 - f":
            local["f"] = 1 - f
        da = np.concatenate([dc * c * local["f"], dc * g * local["i"], dc * i * local["g"], dh2 * t * local["o"]],
                            axis=1)
        if bug == "noise":
            da[:, n:2 * n] += 0.03 * randn(99, *da[:, n:2 * n].shape)
        return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, h.T @ da, da.sum(axis=0)
    return backward


def inputs(seed, rows, d, n):
    return [randn(seed, rows, d), randn(seed + 1, rows, n), randn(seed + 2, rows, n),
            0.5 * randn(seed + 3, d, 4 * n), 0.5 * randn(seed + 4, n, 4 * n), 0.2 * randn(seed + 5, 4 * n)]


@pytest.mark.parametrize("bug, rows, d, n, cause, act, columns", [
    ("i as i", 5, 3, 2, "activation for its derivative", "sigmoid", "2:4"),  # N > D: Wx, Wh, b stacked
    ("g as g", 2, 4, 3, "activation for its derivative", "tanh", "6:9"),  # N ≤ D: x alone recovers da
    ("g as g", 5, 2, 3, "activation for its derivative", "tanh", "6:9"),
    ("i in input", 3, 5, 2, "input for output", "sigmoid", "2:4"),
    ("o as o", 4, 3, 2, "activation for its derivative", "sigmoid", "6:8"),  # on next_h's path alone
    ("i as i + dc2 dropped", 4, 2, 3, "activation for its derivative", "sigmoid", "3:6"),  # two mistakes
    ("g as g + dc2 dropped", 3, 4, 2, "activation for its derivative", "tanh", "4:6"),
])
def test_one_gate_written_wrong_is_named(bug, rows, d, n, cause, act, columns):
    result = gradcheck.check_layer(cell_forward, cell_backward(bug), inputs(7 * rows + d, rows, d, n))
    assert result.exit_code == 1  # the verdict is the mismatch's, whatever the diagnosis
    for name in READ:
        gr = result.gradients[name]
        assert gr.status == "mismatch" and gr.cause == cause, (name, gr.cause, gr.diagnosis)
        assert f"columns {columns}" in gr.diagnosis and "the other gates are right" in gr.diagnosis, gr.diagnosis
        assert act in gr.diagnosis and "x @ Wx" in gr.diagnosis and "h @ Wh" in gr.diagnosis, gr.diagnosis
        if "dropped" in bug:  # the other path's mistake said beside it
            assert gr.causes == ("activation for its derivative", "output path"), gr.causes
            assert "path from output 2" in gr.diagnosis, gr.diagnosis


def test_the_right_cell_passes():
    assert gradcheck.check_layer(cell_forward, cell_backward("right"), inputs(3, 5, 3, 2)).exit_code == 0


@pytest.mark.parametrize("bug", ["f halved", "f as 1 - f", "noise", "f halved + dc2 dropped"])
@pytest.mark.parametrize("rows, d", [(5, 3), (2, 4)])
def test_a_gate_wrong_another_way_is_not_named_a_local_form(bug, rows, d):
    result = gradcheck.check_layer(cell_forward, cell_backward(bug), inputs(11 * rows + d, rows, d, 2))
    assert result.exit_code == 1
    for name in READ:
        gr = result.gradients[name]
        assert gr.status == "mismatch" and gr.cause not in LOCAL, (name, gr.cause, gr.diagnosis)
        assert gr.cause in HONEST, (name, gr.cause, gr.diagnosis)


def test_only_the_other_path_dropped_is_that_path_alone():
    result = gradcheck.check_layer(cell_forward, cell_backward("right + dc2 dropped"), inputs(5, 4, 2, 3))
    assert result.exit_code == 1
    for name in READ:
        gr = result.gradients[name]
        assert gr.status == "mismatch" and gr.cause == "output path" and not gr.causes, (name, gr.cause, gr.diagnosis)


def test_an_output_gate_wrong_another_way_is_its_path_alone():
    """The o gate lies on next_h's path alone: by a factor no local form gives, that path is said wrong."""
    result = gradcheck.check_layer(cell_forward, cell_backward("o halved"), inputs(9, 4, 3, 2))
    assert result.exit_code == 1
    for name in READ:
        gr = result.gradients[name]
        assert gr.status == "mismatch" and gr.cause == "output path", (name, gr.cause, gr.diagnosis)
