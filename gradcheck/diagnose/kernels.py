"""A convolution's backward written with its kernel flipped: dx built from w[..., ::-1] where w belongs
(a convolution's gradient written for a cross-correlation's forward, or the reverse). The claim is then
exactly the true gradient of the same layer at a point whose kernel is reversed along its spatial axes,
which one pass of differences of the user's own forward at that point measures; nothing about the
layer's code is assumed.

Tried only where the table named nothing and the shapes say convolution: another differentiated input
is a kernel beside the gradient's input in some layout (channels first or last, a kernel per channel or
per group of channels, or a signal's kernel without channels), a window narrower than the positions that
reversing changes, and the output's spatial sizes are the windows' under one padding and stride. Each
candidate costs one full pass of differences (FLIPS_MAX in all).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base.errors import GradcheckError
from ..oracles.vjp_numeric import BlackBox, measure
from .hypotheses import Evidence, explains, has_claims
from .patterns import axes_words

# At most this many flipped points are measured (one pass of differences each), over every kernel and layout.
FLIPS_MAX = 4
# The paddings (per side) and strides an output's size is read with; "same" and "full" besides.
PADDINGS = (0, 1, 2)
STRIDES = (1, 2, 3)


def _out_sizes(n: tuple[int, ...], k: tuple[int, ...], rule: tuple[str, int, int]) -> tuple[int, ...]:
    """The output's spatial sizes of windows k over positions n under one padding rule and stride."""
    kind, p, s = rule
    if kind == "same":
        return tuple(-(-a // s) for a in n)
    pads = [b - 1 for b in k] if kind == "full" else [p] * len(k)
    return tuple((a + 2 * q - b) // s + 1 for a, b, q in zip(n, k, pads))


# "full" (every overlap, k - 1 padded per side) is a stride 1 convolution's (a transposed conv's gradient).
RULES = [("pad", p, s) for p in PADDINGS for s in STRIDES] + [("same", 0, s) for s in STRIDES] + [("full", 0, 1)]


def _slides(n: tuple[int, ...], k: tuple[int, ...], o: tuple[int, ...]) -> bool:
    """Windows of size k slide over positions n to give o outputs along every spatial axis, under one
    padding rule and stride for all of them, and the window is narrower than the positions somewhere."""
    if len(n) != len(k) or len(n) != len(o) or not k or k == n or any(b > a for a, b in zip(n, k)):
        return False
    return any(_out_sizes(n, k, rule) == o for rule in RULES)


def _layouts(x: tuple[int, ...], w: tuple[int, ...], out: tuple[int, ...]) -> list[tuple[int, ...]]:
    """w's spatial axes, for each layout in which w is a kernel sliding over x to give out:
    channels first, x (N, C, *positions) with w (F, C/groups, *window) or depthwise (C, *window);
    channels last, x (N, *positions, C) with w (*window, C/groups, F) or (*window, C); no channels,
    x (..., *positions) with w (*window) alone (a signal's or a batch of signals' kernel)."""
    found: list[tuple[int, ...]] = []
    if len(out) != len(x) or not x:
        return found
    n, m = len(x), len(w)
    d = n - 2
    if d >= 1 and m in (d + 1, d + 2) and out[0] == x[0]:
        channels = x[1]
        if (m == d + 2 and channels % w[1] == 0 or m == d + 1 and w[0] == channels) \
                and _slides(x[2:], w[m - d:], out[2:]):
            found.append(tuple(range(m - d, m)))
        channels = x[-1]
        if (m == d + 2 and channels % w[d] == 0 or m == d + 1 and w[d] == channels) \
                and _slides(x[1:n - 1], w[:d], out[1:n - 1]):
            found.append(tuple(range(d)))
    if 1 <= m <= n and out[:n - m] == x[:n - m] and _slides(x[n - m:], w, out[n - m:]):
        found.append(tuple(range(m)))
    return found


def _flips(w: np.ndarray, spatial: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The spatial axes to reverse together (all of them first, then each one alone) that change w."""
    spatial = tuple(a for a in spatial if w.shape[a] > 1)
    if not spatial:
        return []
    tried = [spatial] + ([(a,) for a in spatial] if len(spatial) > 1 else [])
    return [axes for axes in tried if not np.array_equal(np.flip(w, axis=axes), w)]


def _candidates(box: BlackBox, ev: Evidence) -> list[tuple[str, np.ndarray, tuple[int, ...]]]:
    """The differentiated inputs that may be the kernel sliding over ev's input, each with the axes to
    reverse it along; at most FLIPS_MAX (attention's Q beside K, a weight as large as the positions, is
    none: the window must be narrower somewhere). An axis that one layout reads as the window and another
    as channels is not tried: reversing the channels is another mistake than a flipped kernel."""
    out = tuple(np.shape(ev.outputs[0])) if ev.outputs else ()
    found: list[tuple[str, np.ndarray, tuple[int, ...]]] = []
    for n, v in box.point.items():
        if n == ev.name or not isinstance(v, np.ndarray) or v.dtype.kind != "f":
            continue
        layouts = _layouts(tuple(ev.shape), v.shape, out)
        if layouts:  # where several layouts fit, only the axes that are the window in all of them
            spatial = tuple(a for a in layouts[0] if all(a in other for other in layouts[1:]))
            found += [(n, v, axes) for axes in _flips(v, spatial)]
    return found[:FLIPS_MAX]


def flipped_kernel(box: BlackBox, ev: Evidence) -> dict[str, Any] | None:
    """The kernel and axes whose reversal makes the truth the claim, for every random dout; else None."""
    if not ev.whole or not has_claims(ev) or not ev.shape or ev.random < 1 or len(box.base) != 1:
        return None
    douts = list(ev.douts[:ev.random])
    for n, w, axes in _candidates(box, ev):
        point = {**box.point, n: np.flip(w, axis=axes).copy()}
        try:
            base = box.f(point)
            results = measure(box.moved(point=point, base=base, douts=douts), [ev.name], "full")[ev.name]
        except GradcheckError:  # the user's forward refusing a flipped kernel: not this mistake
            continue
        if any(r.value is None for r in results):
            continue
        truths = [np.asarray(r.value.value, dtype=np.float64) for r in results]  # type: ignore[union-attr]
        if explains(ev, truths):
            slices = ", ".join("::-1" if a in axes else ":" for a in range(w.ndim))
            return {"kernel": n, "which": axes_words(axes), "flipped": f"{n}[{slices}]"}
    return None
