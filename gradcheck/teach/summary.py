"""How a node's value reads in the trace's table, its DOT and its SVG drawing: plain text, no rich.

The model (teach/trace.py) and every renderer of the graph use these, so the graph looks the
same everywhere, and no renderer needs to import the model at run time (no import cycles).
"""

from __future__ import annotations

from typing import Any

import numpy as np

# The course diagrams: forward values in green above the line, gradients in red below it (CSS names,
# for DOT and SVG; the terminal uses its own green and red).
VALUE_COLOR, GRADIENT_COLOR = "darkgreen", "firebrick"


def summary(value: Any) -> str:
    """A number to 4 significant digits; an array as its shape, norm and first entries."""
    if value is None:
        return "—"
    if np.ndim(value) == 0:
        return f"{float(value):.4g}"
    array = np.asarray(value, dtype=np.float64)
    first = ", ".join(f"{v:.3g}" for v in array.ravel()[:3])
    more = ", …" if array.size > 3 else ""
    shape = "×".join(map(str, array.shape))
    return f"{shape} [{first}{more}] ‖·‖={np.linalg.norm(array):.3g}"
