"""A convolution's backward written with its kernel flipped: dx built from w[..., ::-1] where w belongs
(a convolution's gradient written for a cross-correlation's forward, or the reverse). The claim is then
exactly the true gradient of the same layer at a point whose kernel is reversed along its spatial axes,
which one pass of differences of the user's own forward at that point measures; nothing about the
layer's code is assumed.

Tried only where the table named nothing and the shapes say convolution: the gradient is of an input
with a batch, a channel and a spatial axis at least, and another differentiated input is a kernel beside
it (the same input channels, a window narrower than the positions) that reversing changes. Each candidate
costs one full pass of differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base.errors import GradcheckError
from ..oracles.vjp_numeric import BlackBox, measure
from .hypotheses import Evidence, explains, has_claims
from .patterns import axes_words

# A kernel's spatial axes are the ones after (out channels, in channels); an input of fewer axes is no kernel.
KERNEL_NDIM = 3
# At most this many kernels are tried (one pass of differences each, per set of axes).
KERNELS_MAX = 2


def _flips(w: np.ndarray) -> list[tuple[int, ...]]:
    """The spatial axes to reverse together (all of them first, then each one alone) that change w."""
    spatial = tuple(a for a in range(KERNEL_NDIM - 1, w.ndim) if w.shape[a] > 1)
    if not spatial:
        return []
    tried = [spatial] + ([(a,) for a in spatial] if len(spatial) > 1 else [])
    return [axes for axes in tried if not np.array_equal(np.flip(w, axis=axes), w)]


def _kernels(box: BlackBox, ev: Evidence) -> list[tuple[str, np.ndarray]]:
    """The differentiated inputs that may be the kernel sliding over ev's input, in the (out channels, in
    channels, window) layout beside (batch, channels, positions): as many axes, the same input channels, a
    window no wider than the positions and narrower along some axis (attention's Q beside K is not one)."""
    found = []
    for n, v in box.point.items():
        if n == ev.name or not isinstance(v, np.ndarray) or v.dtype.kind != "f" or v.ndim != len(ev.shape):
            continue
        spatial, across = v.shape[KERNEL_NDIM - 1:], ev.shape[KERNEL_NDIM - 1:]
        if v.shape[1] != ev.shape[1] or any(k > s for k, s in zip(spatial, across)) or spatial == across:
            continue  # not (out, in channels, smaller window) beside (batch, channels, positions): not its kernel
        found.append((n, v))
    return found[:KERNELS_MAX]


def flipped_kernel(box: BlackBox, ev: Evidence) -> dict[str, Any] | None:
    """The kernel and axes whose reversal makes the truth the claim, for every random dout; else None."""
    if not ev.whole or not has_claims(ev) or len(ev.shape) < KERNEL_NDIM or ev.random < 1 or len(box.base) != 1:
        return None
    douts = list(ev.douts[:ev.random])
    for n, w in _kernels(box, ev):
        for axes in _flips(w):
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
