"""When two gradients are the same pattern, and when one is a constant factor of the other: the one
owner of those thresholds and of factor detection, for a claim's diagnosis, a black box's and a
matrix claim's.

A diagnosis compares a claim with the truth at several points; "the same" there must be far looser
than rounding and far tighter than a coincidence across points. How loose depends on how the truth
was obtained.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# The truth computed (backprop at random points, a derived matrix formula): agreement to 1e-6 is far
# looser than rounding and far tighter than a coincidence across several points.
SAME_COMPUTED = 1e-6
# The truth measured by finite differences of a black box (good to ~1e-8 relative): 1e-4.
SAME_MEASURED = 1e-4
# Entries of the truth this small beside its largest carry no ratio (they are sums that cancel).
NEGLIGIBLE = 1e-12


def axes_words(axes: tuple[int, ...]) -> str:
    """Axes as a sentence says them: "axis 2", "axes 2, 3"."""
    return f"axis {axes[0]}" if len(axes) == 1 else f"axes {', '.join(map(str, axes))}"


def same(a: Any, b: Any, tolerance: float = SAME_COMPUTED) -> bool:
    """a and b agree entry by entry to `tolerance` of b's largest entry (and have one shape)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    scale = max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-300)
    return bool(np.all(np.abs(a - b) <= tolerance * scale))


def close(a: float, b: float, tolerance: float = SAME_COMPUTED) -> bool:
    """Two numbers agree to `tolerance` of the larger."""
    return abs(a - b) <= tolerance * max(abs(a), abs(b), 1e-300)


def constant_ratio(claimed: list, true: list, tolerance: float = SAME_COMPUTED,
                   known: Any = None, zeros: bool = False) -> float | None:
    """The one factor r with claimed = r · true at every point and entry (the truth's negligible
    entries left out; with `known`, only those entries), or None: none, or r = 1. With `zeros`, the
    claim must also be 0 where the truth is (a claim that is not is a pattern, not a factor)."""
    ratios: list[float] = []
    for c, t in zip(claimed, true):
        c, t = np.asarray(c, dtype=np.float64), np.asarray(t, dtype=np.float64)
        if known is not None:
            c, t = c[known], t[known]
        c, t = np.ravel(c), np.ravel(t)
        big = np.abs(t) > (NEGLIGIBLE if not zeros else 1e-6) * max(float(np.max(np.abs(t))) if t.size else 0.0, 1e-300)
        if not np.any(big):
            return None
        if zeros and np.any(np.abs(c[~big]) > tolerance * float(np.max(np.abs(c)))):
            return None
        ratios.extend((c[big] / t[big]).tolist())
    r = ratios[0]
    if r == 0 or abs(r - 1) <= tolerance or not all(abs(q - r) <= tolerance * abs(r) for q in ratios):
        return None
    return r
