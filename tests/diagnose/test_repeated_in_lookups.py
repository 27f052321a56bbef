"""Repeated indices in a lookup whose index is no input (a closure's): `dW[idx] += dout` keeps one position's
dout at a row idx holds twice. The index is read off the forward's output (indexing.read_index: each output
row the same constant times one row of W) and the truth must be that lookup's gradient. With the forward's
scale forgotten as well, both mistakes are named. Near misses (no repeated row, a lookup wrong another way, a
right lookup) are not named "repeated indices", and every wrong layer still exits 1."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck
from gradcheck.diagnose import indexing
from gradcheck.diagnose.hypotheses import FACTOR_CAUSES

TRIGGERS = [np.array([0, 2, 2, 4, 2]), np.array([[1, 3, 1], [0, 3, 2]])]


def _lookup(idx: np.ndarray, slips: frozenset[str] = frozenset(), scale: bool = False):
    """out = W[idx] (times √d where `scale`); `slips` names the backward's mistakes."""
    def forward(W):
        return W[idx] * (np.sqrt(W.shape[1]) if scale else 1.0), W.shape

    def backward(dout, shape):
        g = dout * (np.sqrt(shape[1]) if scale and "scale forgotten" not in slips else 1.0)
        dW = np.zeros(shape)
        if "fancy" in slips:
            dW[idx] += g
        elif "transposed" in slips:
            np.add.at(dW, idx.T, g)
        else:
            np.add.at(dW, idx, g)
        if "row dropped" in slips:
            dW[idx.flat[0]] = 0.0
        if "perturbed" in slips:
            dW[idx.flat[1]] += 0.3
        return dW
    return forward, backward


def _check(idx: np.ndarray, slips: tuple[str, ...] = (), scale: bool = False, seed: int = 0, rows: int = 5):
    forward, backward = _lookup(idx, frozenset(slips), scale)
    width = 4 if scale else 3
    return gradcheck.check_layer(forward, backward, [np.random.default_rng(seed).standard_normal((rows, width))])


@pytest.mark.parametrize("idx", TRIGGERS, ids=["1-D", "2-D"])
def test_a_closures_fancy_plus_equals_is_repeated_indices(idx):
    result = _check(idx, ("fancy",), seed=idx.ndim)
    g = result.gradients["W"]
    assert result.exit_code == 1
    assert g.cause == "repeated indices", g.diagnosis
    assert "np.add.at(dW, idx, dout)" in g.diagnosis and "read off its output" in g.diagnosis


def test_with_the_forwards_scale_forgotten_too_both_are_named():
    result = _check(TRIGGERS[1], ("fancy", "scale forgotten"), scale=True, seed=5)
    g = result.gradients["W"]
    assert result.exit_code == 1
    assert "repeated indices" in g.causes and len(g.causes) == 2, g.diagnosis
    assert set(g.causes) - {"repeated indices"} <= set(FACTOR_CAUSES), g.diagnosis


def test_a_closure_without_a_repeated_row_is_right_even_with_fancy_plus_equals():
    assert _check(np.array([[0, 3], [4, 1]]), ("fancy",), seed=2).exit_code == 0


def test_a_right_lookup_with_repeats_passes():
    assert _check(TRIGGERS[1], seed=3).exit_code == 0


@pytest.mark.parametrize("slip", ["row dropped", "perturbed"])
def test_a_lookup_wrong_another_way_is_not_repeated_indices(slip):
    result = _check(TRIGGERS[1], (slip,), seed=4)
    assert result.exit_code == 1
    assert result.gradients["W"].cause != "repeated indices", result.gradients["W"].diagnosis
    assert "repeated indices" not in result.gradients["W"].causes


def test_a_closures_index_transposed_is_the_lookup_index():
    result = _check(np.array([[0, 1, 1], [2, 0, 4], [3, 3, 1]]), ("transposed",), seed=6)
    g = result.gradients["W"]
    assert result.exit_code == 1
    assert g.cause == "lookup index" and "idx.T" in g.diagnosis, g.diagnosis


def test_the_index_is_read_off_a_scaled_lookups_output_and_only_off_one():
    W = np.random.default_rng(7).standard_normal((5, 3))
    idx = np.array([[4, 0], [4, 2]])
    assert np.array_equal(indexing.read_index(W, -2.5 * W[idx]), idx)
    assert indexing.read_index(W, W[idx] ** 2) is None  # no row of W
    alike = W.copy()
    alike[1] = alike[4]
    assert indexing.read_index(alike, alike[idx]) is None  # two rows it may be
    assert indexing.read_index(W, W[idx] * np.array([[1.0], [2.0]])[..., None]) is None  # no one constant



def test_an_index_the_call_passes_is_said_by_its_name_not_read_off_the_output():
    def forward(W, idx):
        return W[idx], (W.shape, idx)

    def backward(dout, cache):
        shape, idx = cache
        dW = np.zeros(shape)
        np.add.at(dW, idx.T, dout)
        return dW, None
    W = np.random.default_rng(8).standard_normal((5, 3))
    result = gradcheck.check_layer(forward, backward, [W, np.array([[0, 1, 1], [2, 0, 4], [3, 3, 1]])], data="idx")
    g = result.gradients["W"]
    assert result.exit_code == 1
    assert g.cause == "lookup index" and "read off its output" not in g.diagnosis, g.diagnosis


def _doubled_lookup(idx: np.ndarray, kept: int | None = None):
    """out = 2 W[idx]; the backward forgets the 2 and writes `dW[idx] += dout` (repeats kept once), or, with
    `kept`, adds (np.add.at) the first `kept` positions' dout alone."""
    def forward(W):
        return 2.0 * W[idx], W.shape

    def backward(dout, shape):
        dW = np.zeros(shape)
        if kept is None:
            dW[idx] += dout
        else:
            np.add.at(dW, idx[:kept], dout[:kept])
        return dW
    return forward, backward


def test_a_doubled_lookup_whose_last_writes_look_like_one_slice_of_dout_is_repeated_indices():
    """idx's last occurrences are its last positions (2, 3, 4): one slice of dout fits too, after the factor."""
    idx = np.array([3, 0, 3, 2, 0])
    result = gradcheck.check_layer(*_doubled_lookup(idx), [np.random.default_rng(9).standard_normal((4, 3))])
    g = result.gradients["W"]
    assert result.exit_code == 1
    assert set(g.causes) == {"repeated indices", "twice or half"}, g.diagnosis


def test_a_doubled_lookup_that_keeps_its_first_positions_is_not_repeated_indices():
    """Positions 0..2 kept: row 2 (indexed once) is wrong, so the repeats are not what it misses."""
    idx = np.array([3, 0, 3, 2, 0])
    result = gradcheck.check_layer(*_doubled_lookup(idx, kept=3), [np.random.default_rng(10).standard_normal((4, 3))])
    g = result.gradients["W"]
    assert result.exit_code == 1
    assert "repeated indices" not in g.causes, g.diagnosis
