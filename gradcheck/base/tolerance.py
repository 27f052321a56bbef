"""The agreement rule's default numbers (the rule itself is in agreement.py): plain Python, so the
CLI can show the defaults without numpy."""

from __future__ import annotations

# rtol, relative to the larger of two entries. Central differences with h = cbrt(eps) are good to
# ~1e-10 relative on smooth functions of moderate scale, while a wrong derivation is off by a factor
# (1e-2 or more): 1e-5 sits between the two with room on both sides. The default atol is 0: each
# entry's absolute allowance comes from its own oracles' rounding and error estimates (agreement.py).
DEFAULT_RTOL = 1e-5
# --dtype float32: float32 keeps ~7 digits and a forward pass loses a few of them, while a wrong
# derivation is still off by a factor: rtol 1e-3 sits between.
FLOAT32_RTOL = 1e-3
# rtol for a float16 f: ~3 significant digits, and its step of cbrt(eps) ≈ 0.1 leaves ~1% truncation;
# a wrong gradient is still off by a factor. (float32 and float64 take the defaults above.)
FLOAT16_RTOL = 3e-2
# bfloat16 (PyTorch's and JAX's; numpy has none): 8 significant bits, eps 2**-7, so ~2 digits, and
# its step of cbrt(eps) ≈ 0.2 leaves a few % of truncation: what it can show is a wrong factor, a
# transpose or a dropped mask, not an error of 1%.
BFLOAT16_RTOL = 1e-1
BFLOAT16_EPS = 2.0 ** -7
# How many times its own uncertainty a column may be off (verdict/agreement.py's docstring): each
# uncertainty is an estimate of a typical error, not a proven bound; a wrong claim is off by far more.
SAFETY = 10.0
# Rounding of one floating-point value in units of eps·size: a forward or backward pass loses a few
# ulps per entry at most (the same constant scales the numeric oracle's rounding of f).
ROUNDING_ULPS = 8
