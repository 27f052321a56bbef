"""Where f's kinks are, decided exactly rather than by float64.

A kink (relu, abs, max, a tie of amax or max_pool2d) sits where its kink quantity is 0 (relu: its
input; max: a - b). float64 decides that quantity's sign wrongly within rounding of the switch:
relu(x*y - 1) at x = 2 + 2**-51, y = 0.5 + 2**-53 is smooth (x*y - 1 = 2**-51 + 2**-104), while a
sum such as a + b - a - b of representable values is exactly 0 and float64 makes it 2**-60. Each
mistake would make a wrong claim pass: the other side's derivative at a point that is not on the
kink, or the average at one that is.

So every kinked node whose quantity float64 cannot sign for sure — 0 in the plain forward pass, or
a sign that flips when f's intermediate values are shaken by an ulp either way (evaluate.SHAKE_ULPS)
— has its quantity evaluated again from the registry's SymPy forms at two precisions (the symbolic
column's per-operation evaluation, sym_chain.exact_value). A quantity is exactly 0 where the two
precisions do not agree on a value (at twice EVAL_DIGITS digits and at four times, the value of
0 is only rounding, and differs), and has the sign they agree on elsewhere. The numeric oracle then
differences one-sidedly where the quantity is exactly 0 and not where float64 only rounded it to 0
(evaluate.differenced). A quantity too large to evaluate so is left to float64, as before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..base.budget import checkpoint
from ..language.tree import Apply, Node, topological
from .symbolic import size_limit

# The two precisions, in units of the symbolic column's EVAL_DIGITS: a product of two float64 values
# needs 106 bits (32 digits) to be exact, a sum of such products a few more.
PRECISIONS = (2, 4)
# Two evaluations of a quantity that is not 0 agree to about this many digits fewer than the lower
# precision's; one of a quantity that is exactly 0 is only the rounding of its terms, which differs.
AGREED_DIGITS = 10


@dataclass(frozen=True)
class Switches:
    """Each decided kinked node's entries that are exactly on its switch (its kink quantity is 0)."""

    on: dict[Node, np.ndarray]

    def __bool__(self) -> bool:
        return bool(self.on)


def kinked(root: Node) -> list[Apply]:
    return [n for n in topological(root) if isinstance(n, Apply) and n.prim.kink is not None]


def quantity(node: Apply, values: Mapping[Node, Any]) -> np.ndarray:
    """The node's kink quantity (its real part) at a forward pass's values."""
    rule = node.prim.kink
    assert rule is not None
    return np.asarray(np.real(rule(*(values[a] for a in node.args), **node.kwargs)))


def uncertain(root: Node, plain: Mapping[Node, Any], shaken: Sequence[Mapping[Node, Any]]) -> list[Apply]:
    """The kinked nodes whose quantity float64 cannot sign for sure: 0 in the plain pass, or a sign a
    shaken pass does not share."""
    found = []
    for node in kinked(root):
        here = np.sign(quantity(node, plain))
        if np.any(here == 0) or any(np.any(np.sign(quantity(node, s)) != here) for s in shaken):
            found.append(node)
    return found


def decide(root: Node, point: Mapping[str, Any], plain: Mapping[Node, Any],
           shaken: Sequence[Mapping[Node, Any]]) -> Switches:
    """The switches of the uncertain kinked nodes, decided exactly (module docstring); a node whose
    quantity cannot be evaluated so is left out (float64 decides it)."""
    # deferred: mpmath on first use only (start-up)
    from .sym_eval import EVAL_DIGITS

    on: dict[Node, np.ndarray] = {}
    for node in uncertain(root, plain, shaken):
        checkpoint()
        if any(size_limit(arg, point, []) is not None for arg in node.args):
            continue
        low, high = (_exact_quantity(node, point, k * EVAL_DIGITS) for k in PRECISIONS)
        if low is None or high is None:
            continue
        with np.errstate(all="ignore"):
            agreed = np.abs(low - high) <= 10.0 ** (AGREED_DIGITS - PRECISIONS[0] * EVAL_DIGITS) * np.abs(high)
        on[node] = ~(agreed & (high != 0))
    return Switches(on)


def _exact_quantity(node: Apply, point: Mapping[str, Any], digits: int) -> np.ndarray | None:
    """The kink quantity from its inputs evaluated to `digits` digits, as float64 ratios that keep its
    sign and size (an mpf far below float64's range is kept at its sign)."""
    import mpmath

    # deferred: mpmath on first use only (start-up)
    from .sym_chain import exact_value

    args = []
    for arg in node.args:
        value = exact_value(arg, point, digits)
        if value is None:
            return None
        args.append(value[()] if value.ndim == 0 else value)
    rule = node.prim.kink
    assert rule is not None
    with mpmath.workdps(digits):
        q = np.asarray(rule(*args, **node.kwargs), dtype=object)
        return np.array([_as_float(v) for v in q.flat], dtype=np.float64).reshape(q.shape)


def _as_float(v: Any) -> float:
    """An mpf as float64; one below float64's range keeps its sign, as float64's smallest number."""
    f = float(v)
    if f == 0 and v != 0:
        return math.copysign(float(np.finfo(np.float64).smallest_subnormal), 1.0 if v > 0 else -1.0)
    return f
