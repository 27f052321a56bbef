"""A recurrence's backward that never carries the gradient back through its state: each step's gradient is
that step's own, with the state it received held fixed (an rnn's dh_t = dout_t where dout_t + dh_prev from
step t + 1 belongs). That claim is exactly the true gradient of another function of the same inputs: the
layer run one step at a time, each step started from the state the full run had reached there (its own
previous output, a constant), the outputs put back together along the time axis. One pass of differences
of the user's own forward, run that way, measures it; nothing about the layer's code is assumed.

Tried only where the table named nothing and the shapes say recurrence: the output has a time axis (0 or
1) that a differentiated input shares, and another differentiated input has the shape of one step of the
output (the first state, h0); and only where running the layer one step at a time from the states it
output gives back its output (a plain or gated rnn whose state is its output; not an lstm whose cell
state stays inside). That check costs T calls of the forward; the pass, one pass of differences.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..base.errors import GradcheckError
from ..oracles.vjp_numeric import BlackBox, entry, measure
from .hypotheses import Evidence, explains, float_inputs, has_claims, step_gradients

# How close the steps run one at a time must come to the output, relative to its largest entry, to be it.
SAME_STEPS = 1e-9
# The time axes tried: batch-major (N, T, ...) and time-major (T, N, ...).
TIME_AXES = (1, 0)
# At most this many (x, h0, axis) readings are run step by step (T calls of the forward each).
RECURRENCES_MAX = 4


def _recurrences(box: BlackBox) -> list[tuple[str, str, int]]:
    """(x, h0, time axis) for each differentiated x sharing the output's time axis and h0 of one step's shape."""
    out = np.asarray(box.base[0]) if len(box.base) == 1 else None
    if out is None or out.ndim < 2:
        return []
    arrays = {n: v for n, v in box.point.items() if isinstance(v, np.ndarray) and v.dtype.kind == "f"}
    found = []
    for a in TIME_AXES:
        if a > out.ndim - 2 or out.shape[a] < 2:
            continue
        step = out.shape[:a] + out.shape[a + 1:]
        for x, v in arrays.items():
            if v.ndim != out.ndim or v.shape[:a + 1] != out.shape[:a + 1]:
                continue
            found += [(x, h, a) for h, s in arrays.items() if h != x and s.shape == step]
    return found[:RECURRENCES_MAX]


def _stepped(box: BlackBox, x: str, h: str, a: int) -> Callable[[dict[str, Any]], tuple]:
    """The layer run one step at a time: step t from x's slice t and, after the first, the state the full
    run output at t − 1 (a constant), its outputs stacked along the time axis."""
    out = np.asarray(box.base[0])

    def f(point: dict[str, Any]) -> tuple:
        steps = []
        for t in range(out.shape[a]):
            moved = {**point, x: np.take(point[x], [t], axis=a)}
            if t:
                moved[h] = np.take(out, t - 1, axis=a).copy()
            steps.append(np.asarray(box.f(moved)[0]))
        return (np.concatenate(steps, axis=a),)
    return f


def _reproduces(box: BlackBox, x: str, h: str, a: int) -> bool:
    """Each step run alone, from the state the full run output before it, gives the output's step: checked
    step by step, so a layer that is no such recurrence costs a call or two of the forward, not T."""
    out = np.asarray(box.base[0])
    tolerance = SAME_STEPS * max(float(np.max(np.abs(out))), 1.0)
    for t in range(out.shape[a]):
        moved = {**box.point, x: np.take(box.point[x], [t], axis=a)}
        if t:
            moved[h] = np.take(out, t - 1, axis=a).copy()
        try:
            step = np.asarray(box.f(moved)[0])
        except GradcheckError:  # the user's forward refusing one step: not a recurrence it runs that way
            return False
        want = np.take(out, [t], axis=a)
        if step.shape != want.shape or not np.allclose(step, want, rtol=0, atol=tolerance):
            return False
    return True


def carry_missing(box: BlackBox, ev: Evidence) -> dict[str, Any] | None:
    """The time axis and state whose step-by-step run has the claim for its true gradient, for every random
    dout; else None."""
    if not has_claims(ev) or ev.random < 1 or not ev.known.any():
        return None
    for x, h, a in _recurrences(box):
        if not _reproduces(box, x, h, a):
            continue
        f = _stepped(box, x, h, a)
        truths = _local_truths(box.moved(f=f, base=box.base, douts=list(ev.douts[:ev.random])), ev)
        if truths is not None and explains(ev, truths):
            return {"x": x, "h": h, "axis": a, "steps": np.shape(box.base[0])[a]}
    return None


def _local_truths(box: BlackBox, ev: Evidence) -> list[np.ndarray] | None:
    """The step-by-step run's true gradient of ev's input, every entry (or, in fast mode, those ev knows)."""
    try:
        if ev.whole:
            results = measure(box, [ev.name], "full")[ev.name]
            if any(r.value is None for r in results):
                return None
            return [np.asarray(r.value.value, dtype=np.float64) for r in results]  # type: ignore[union-attr]
        truths = [np.full(ev.shape, np.nan) for _ in box.douts]
        for idx in np.argwhere(ev.known):
            index = tuple(int(i) for i in idx)
            for k, got in enumerate(entry(box, ev.name, index)):
                if isinstance(got, tuple):
                    truths[k][index] = got[0]
        return truths
    except GradcheckError:
        return None


# ----- a weight's gradient paired with another step's input ------------------------------------------
# The step offsets tried: the input of the next step, or of the one before, where step t's belongs.
OFFSETS = (1, -1)


def wrong_steps(ev: Evidence) -> dict[str, Any] | None:
    """A weight W (A, H) of an rnn over x (N, T, D), out (N, T, H) its states: the truth is Σ_t u_tᵀ·dz_t
    (u_t = x[:, t], or the state step t received: h0, then out[:, t − 1]) and the claim pairs each dz_t
    with u_(t+s) instead. dz_t is recovered from every input's truth (x's, the weights', b's and h0's), or
    where another input is no such rnn's from x's alone, dx_t = dz_t·Wxᵀ, Wx (D, H) of full column rank
    (hypotheses.step_gradients); named only where the right pairing is the truth and the shifted one the
    claim."""
    if not ev.whole or not has_claims(ev) or len(ev.shape) != 2 or len(ev.outputs) != 1 or ev.random < 1:
        return None
    out = np.asarray(ev.outputs[0], dtype=np.float64)
    if out.ndim != 3 or out.shape[1] < 2:
        return None
    arrays = dict(float_inputs(ev))
    for x_name, x in arrays.items():
        if x_name == ev.name or x.ndim != 3:
            continue
        recovered = step_gradients(ev, x_name)
        if recovered is None:
            continue
        dz, sources = recovered
        for what, steps in _step_inputs(ev, x_name, x, out, arrays):
            right = [np.einsum("nta,nth->ah", steps[:, 1:-1], d) for d in dz]
            if not explains(ev, right, claimed=ev.true[:ev.random]):
                continue
            for s in OFFSETS:
                shifted = [np.einsum("nta,nth->ah", steps[:, 1 + s:steps.shape[1] - 1 + s], d) for d in dz]
                if explains(ev, shifted):
                    return {"u": what, "offset": f"{s:+d}", "sources": ", ".join(sources)}
    return None


def _step_inputs(ev: Evidence, x_name: str, x: np.ndarray, out: np.ndarray, arrays: dict[str, np.ndarray]
                 ) -> list[tuple[str, np.ndarray]]:
    """The sequences a weight of ev's shape may multiply, padded by a step at both ends (so an offset reads
    there): x's steps between zeros, and the states each step received (h0, then the outputs) after a zero
    and followed by the last output (the state a next step would receive)."""
    found = []
    n, _, h = out.shape
    if ev.shape == (x.shape[2], h):
        pad = np.zeros((n, 1, x.shape[2]))
        found.append((f"input {x_name}[:, t]", np.concatenate([pad, x, pad], axis=1)))
    if ev.shape == (h, h):
        zero = np.zeros((n, 1, h))
        firsts = [v[:, None, :] for name, v in arrays.items() if v.shape == (n, h) and name != ev.name] or [zero]
        # the state step t received at t + 1 (h0, then the outputs), its own output beyond the last
        found.append(("state (the first state, then each output)", np.concatenate([zero, firsts[0], out], axis=1)))
    return found
