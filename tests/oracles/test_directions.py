"""Fast mode's random directions are drawn again from their seed, never kept (gradcheck/directions.py)."""

from __future__ import annotations

import pickle

import numpy as np

from gradcheck.base.columns import Evaluation, Probes
from gradcheck.base.limits import FAST_PROBES
from gradcheck.oracles.directions import Directions, projections
from gradcheck.oracles.numeric import Section, fast


def test_directions_are_the_same_every_time_they_are_drawn():
    d = Directions((3, 17, 0xFA57), (40, 30), "<f8", FAST_PROBES, (0, 2, 5))
    first, again = list(d), list(d)
    assert len(first) == len(d) == 3
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert np.array_equal(d[1], first[1])
    assert np.allclose([np.linalg.norm(v) for v in first], 1.0, rtol=1e-15, atol=0)
    assert not np.allclose(first[0], first[1])


def test_directions_are_fast_modes_draw_of_normals_scaled_to_unit_norm():
    """The same normals fast mode always drew: FAST_PROBES arrays from one generator, in order."""
    shape = (25, 8)
    rng = np.random.default_rng([7, 11, 0xFA57])
    eager = rng.standard_normal((FAST_PROBES, *shape))
    eager /= np.sqrt(np.sum(eager**2, axis=(1, 2), keepdims=True))
    lazy = np.asarray(Directions((7, 11, 0xFA57), shape, "<f8", FAST_PROBES, tuple(range(FAST_PROBES))))
    assert lazy.shape == eager.shape
    np.testing.assert_allclose(lazy, eager, rtol=4e-16, atol=0)


def test_fast_mode_reports_the_directions_it_probed_along():
    """For a linear f = sum(A * W), the derivative along a direction v is <A, v>: the directions the
    result carries (drawn again from the seed) must be those the probes were taken along."""
    A = np.random.default_rng(5).standard_normal((60, 50))
    W = np.random.default_rng(6).standard_normal((60, 50))

    def f(point):
        return Evaluation(float(np.sum(A * point["W"])))

    result = fast(Section(f, {"W": W}, "W", "central", f({"W": W})), 4)
    probes = result.probes
    assert isinstance(probes, Probes) and isinstance(probes.directions, Directions)
    expected = [float(np.sum(A * v)) for v in probes.directions]
    # within the differences' own error estimate (another direction's <A, v> is off by ~0.1)
    assert np.all(np.abs(np.asarray(probes.directional) - expected) <= 10 * np.asarray(probes.directional_error))
    (along,), _ = projections(probes.directions, [A], [])
    np.testing.assert_allclose(along, expected, rtol=1e-15, atol=0)


def test_fast_mode_keeps_no_array_of_the_variables_size():
    """Eight directions through a million entries were 64 MB of the result; the seed is a few bytes."""
    W = np.random.default_rng(1).standard_normal((300, 300))

    def f(point):
        return Evaluation(float(np.sum(np.sin(point["W"]))))

    result = fast(Section(f, {"W": W}, "W", "central", f({"W": W})), 0)
    assert len(pickle.dumps(result.probes)) < W.nbytes / 100


def test_projections_of_a_plain_array_and_of_directions_agree():
    d = Directions((1, 2, 3), (7, 9), "<f8", FAST_PROBES, (1, 3, 4, 7))
    a, b = np.random.default_rng(0).standard_normal((2, 7, 9))
    lazy = projections(d, [a], [b])
    plain = projections(np.asarray(d), [a], [b])
    for x, y in zip(lazy, plain):
        assert np.array_equal(x, y)
    np.testing.assert_allclose(lazy[0][0], [np.sum(a * v) for v in d], rtol=1e-15)
    np.testing.assert_allclose(lazy[1][0], [np.sum(b * np.abs(v)) for v in d], rtol=1e-15)


def test_check_function_in_fast_mode_keeps_its_directions_as_a_seed_too():
    """oracles/vjp_numeric.py draws the same way: a wrong gradient of a 2,400-entry input is still
    caught along the directions drawn again for the comparison."""
    import gradcheck

    x = np.random.default_rng(3).standard_normal((40, 60))
    right = gradcheck.check_function(lambda x: np.sum(np.sin(x)), lambda x: np.cos(x), [x])
    numeric = right.gradients["x"].columns["numeric"]
    assert right.status == "pass" and isinstance(numeric.directions, Directions) and len(numeric.directions) == 8
    wrong = gradcheck.check_function(lambda x: np.sum(np.sin(x)), lambda x: np.cos(x) * (1 + 1e-3 * (x > 2)), [x])
    assert wrong.status == "mismatch"
