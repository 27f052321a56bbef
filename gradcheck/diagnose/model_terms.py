"""What a model says about its loss's terms: its regularisation strengths (CS231n's `model.reg`).

check_model's loss is a black box of the parameters, X and y; the strength of its regularisation is an
attribute of the model, not an input, so the diagnosis of a term proportional to a weight (a
regularisation term's gradient that does not match the loss, a data term off beside a right one) could
not say "reg·W" or read the loss's own term off a number. check_model hands these attributes to the
diagnosis as one more data input the loss ignores, a `Strengths`; the tests of terms read them
(hypotheses.term_numbers) as they read the numbers among a function's inputs, and nothing else does: a
strength is no factor of the forward pass (not dropout's p), so a gradient off by 0.1 where reg = 0.1 is
not said to be reg's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The attribute names a model's regularisation strength goes by (CS231n's reg; weight decay, an L2
# penalty's lambda elsewhere), and names that begin "reg" (reg_strength).
STRENGTH_NAMES = ("reg", "l2", "l2_reg", "weight_decay", "wd", "lam", "lambda_", "lmbda")


@dataclass(frozen=True)
class Strengths:
    """A model's regularisation strengths by the name the sentences give them (`model.reg`)."""

    values: tuple[tuple[str, float], ...]


def strengths_of(model: Any, label: str = "model") -> Strengths:
    """The model's attributes named as a regularisation strength that hold a nonzero real number."""
    try:
        attributes = vars(model)
    except TypeError:  # a model with __slots__ or none: nothing to read
        return Strengths(())
    found = []
    for name, value in attributes.items():
        if not isinstance(name, str) or not (name in STRENGTH_NAMES or name.startswith("reg")):
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value != 0:
            found.append((f"{label}.{name}", float(value)))
    return Strengths(tuple(found))
