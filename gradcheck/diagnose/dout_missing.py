"""A local gradient returned without dout: `* dout` forgotten in an elementwise layer's backward.

An elementwise layer's true gradient is dout times its local gradient ∂out/∂u, entry by entry (tanh's
1 − out², a relu's (x > 0), a leaky relu's slope). Its local gradient is read from the truth for the
random douts (one least-squares number per entry: Σ t·d / Σ d²); where the truth is that times dout for
every dout, the layer is elementwise. A claim that is that local gradient alone (everywhere, or on the
side of 0 where an input's sign puts it, np.where(x > 0, dout, 0.01) for a leaky relu) does not change with
dout while the truth does: dout is missing there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def local_gradient(truths: Sequence[np.ndarray], douts: Sequence[np.ndarray]) -> np.ndarray | None:
    """Per entry, the number L with truth ≈ L · dout over the douts (least squares); NaN where the truth is
    not measured or every dout is 0 there. None where fewer than two douts tell it (one fits any layer)."""
    if len(truths) < 2 or any(np.shape(t) != np.shape(d) for t, d in zip(truths, douts)):
        return None
    top = np.sum([t * d for t, d in zip(truths, douts)], axis=0)
    bottom = np.sum([d * d for d in douts], axis=0)
    with np.errstate(all="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)

