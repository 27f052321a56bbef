"""What the oracles hand to the verdict: a measured numeric gradient, fast mode's probes, kinks;
and what the numeric oracle needs of f at a point (Evaluation).

Plain data, shared by the numeric oracle that makes them and the agreement rule that reads them
(so that neither imports the other).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Column order everywhere: table, JSON, verdicts.
COLUMNS = ("symbolic", "backprop", "numeric", "claimed")


@dataclass(frozen=True)
class Measured:
    """A numeric gradient: its value and its error estimate, entry by entry. An entry that could not
    be differenced (every usable step crossed a kink) is NaN with an infinite error."""

    value: Any
    error: Any


@dataclass(frozen=True)
class Kink:
    """An entry where f is not differentiable: the one-sided derivatives (NaN for a jump) and the
    error of their one-sided differences."""

    index: tuple[int, ...]
    left: float
    right: float
    error: float = 0.0


@dataclass(frozen=True)
class Along:
    """f's derivative along a direction in which it is differentiable though each entry on it is a kink:
    every kinked entry of a variable moved together (a tie of maxima stays a tie). A claim must give it
    too: giving each tied maximum the whole gradient lies between each entry's one-sided derivatives,
    and is twice the slope of the pair moved together."""

    direction: Any  # the variable's shape: 1 at each kinked entry, 0 elsewhere
    value: float
    error: float


@dataclass(frozen=True)
class Probes:
    """What fast mode measured for one variable."""

    directions: Any  # (k, *shape), each of unit norm
    directional: Any  # (k,): the derivative of f along each direction
    directional_error: Any
    entries: tuple[tuple[int, ...], ...]  # the entries differenced one at a time
    entry_values: Any
    entry_errors: Any
    labels: tuple[str, ...] | None = None  # how the entries are named, if not as indices (a pool's: `s7`, `b[1]`)


@dataclass(frozen=True)
class PoolShare:
    """Fast mode's numeric column for a variable probed with the other small variables (pool.py): the
    pool's probes, over the concatenation of their entries, and every other column concatenated the
    same way, so that a column is compared over the whole pool."""

    probes: Probes
    columns: dict[str, Any]  # column name -> its values over the pool (None: some variable lacks it)
    rounding: Any  # each pool entry's rounding
    span: slice  # this variable's entries in the concatenation
    members: int  # how many variables the pool has
    own: dict[str, Any] = field(default_factory=dict)  # the self-contained columns' own errors over the pool


@dataclass(frozen=True)
class Evaluation:
    """What the numeric oracle needs of f at one point."""

    value: Any
    branches: bytes | None = None  # the branch taken at every kink; None if f cannot say
    at_kink: bool = False  # some kink's quantity is exactly 0 here
    ambiguous: bool = False  # the complex step moves a quantity float64 rounded to 0 that is not 0 (switches.py)
