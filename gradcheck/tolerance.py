"""The agreement rule and its defaults: plain Python, so the CLI can show the defaults without numpy."""

from __future__ import annotations

from dataclasses import dataclass

# |a - b| <= atol + rtol * max(|a|, |b|), entry by entry.
# rtol: central differences with h = cbrt(eps) are good to ~1e-10 relative on smooth functions of
# moderate scale, while a wrong derivation is off by a factor (1e-2 or more): 1e-5 sits between
# the two with room on both sides (every correct and wrong case in tests/ is checked against it).
DEFAULT_RTOL = 1e-5
# atol covers a true gradient of 0, where an oracle may leave rounding noise. Unless the user gives
# an absolute --atol, it is this fraction of the case's scale (see `scaled`), so that gradients that
# are themselves tiny (1e-8·x²) are still compared relatively, and a wrong one does not pass.
DEFAULT_ATOL = 1e-8
# --dtype float32: float32 keeps ~7 digits and a forward pass loses a few of them, while a wrong
# derivation is still off by a factor; rtol 1e-3 and atol 1e-5 (times the scale) sit between.
FLOAT32_RTOL, FLOAT32_ATOL = 1e-3, 1e-5
DTYPES = ("float64", "float32")


@dataclass(frozen=True)
class Tolerance:
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL

    def agree(self, a: float, b: float) -> bool:
        return abs(a - b) <= self.atol + self.rtol * max(abs(a), abs(b))

