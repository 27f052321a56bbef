"""A gradient that is 0 has no relative error: 0 claimed against 1e-11 measured is a relative error
of 1, which said nothing beside a pass (issue 27)."""

from __future__ import annotations

import json

import numpy as np

import gradcheck


def normalised(x, b):
    z = x + b
    return (z - z.mean(0)) / z.std(0)


def normalised_vjp(d, x, b):
    z = x + b
    s = z.std(0)
    zh = (z - z.mean(0)) / s
    n = len(x)
    return (n * d - d.sum(0) - zh * (d * zh).sum(0)) / (n * s), np.zeros_like(b)  # b's gradient is 0


def test_a_right_zero_gradient_shows_no_relative_error():
    rng = np.random.default_rng(0)
    result = gradcheck.check_vjp(normalised, normalised_vjp, [rng.normal(size=(5, 3)), rng.normal(size=3)])
    b = result.gradients["b"]
    assert result.status == "pass" and b.max_rel_error is None
    row = next(line for line in str(result).splitlines() if line.startswith("b "))
    assert "/ —" in row and "1.0e+00" not in row, row
    pair = json.loads(json.dumps(result.to_dict()))["gradients"]["b"]["pairs"][0]
    assert pair["max_rel_error"] is None and pair["agree"]
    assert result.gradients["x"].max_rel_error is not None  # a gradient that is not 0 keeps its relative error
