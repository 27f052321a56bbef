"""A statistic's path in a gradient: the truth of a normalisation (a mean, a variance, an rms) or a softmax
over one axis, split into its local part, dout times one number per entry (the gradient with the statistic
held constant: γ/σ·dout, γ/rms·dout, s·dout), and the part through the statistic, which lies, on each line
along the axis, in the span of 1 and the arrays of the gradient's shape (x, the output): a mean's path
along 1, a variance's or an rms's along x, a softmax's sum's along its output.

The split is read from the truth alone, over many douts: one number per entry for the local part, and per
dout and line one coefficient per array of the span. A claim is then the truth with each path (the part
along 1, the mean's; the rest, the variance's or the rms's or the sum's) scaled by a factor: 0 where the
backward held that statistic constant, a clean factor (a size of the output, 2, 1/2, -1) where the path's
own constant is wrong, or the line's own statistic (its std or rms, or their inverse) where the path's
power of it is one off (a staged batch norm's dvar with std**-2 where std**-3 belongs), or the line's
variance (std**2, or its inverse) where the path's power of the variance is one off (dvar with
(var + eps)**-0.5 where (var + eps)**-1.5 belongs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

# Equations beyond the unknowns of a line's fit that the split needs: with fewer, any truth splits.
SPARE_PER_LINE = 2
# The two factors of no mistake: a path held constant (0) and a path kept as it is (1).
HELD, KEPT = 0.0, 1.0
# Small numbers a path's constant is wrong by, besides the output's sizes (a factor 2 of a square's
# derivative, its sign).
SMALL_FACTORS = (2, -1)
# The powers of a line's statistic a path may be off by: one too low (std**-2 for std**-3) or one too high.
POWER_SLIPS = (1, -1)
# The powers of a line's std a path may be off by when its power of the variance (std**2) is one off:
# (var + eps)**-0.5 where (var + eps)**-1.5 belongs is std**2 times too large.
VARIANCE_SLIPS = (2, -2)
# A variance is a std squared: its powers are half the std's.
STD_PER_VARIANCE = 2
# The power of the statistic each path has in a normalisation's gradient: the mean's term σ**-1 (Σ dx̂/σ),
# the variance's or the rms's σ**-3 (its derivative's σ**-3 / 2).
MEAN_POWER, SPREAD_POWER = -1, -3


@dataclass(frozen=True, eq=False)
class PerLine:
    """A path's factor that is a line's own statistic (std or rms of an input along the axis) to a power."""

    stat: str  # "std" or "rms"
    of: str  # the input's name
    power: int  # one of POWER_SLIPS, or of VARIANCE_SLIPS for a std
    values: np.ndarray  # the factor, one per line (keepdims)


def split(douts: Sequence[np.ndarray], truths: Sequence[np.ndarray], spans: Sequence[np.ndarray],
          axis: int) -> tuple[np.ndarray, list[np.ndarray]] | None:
    """(w, paths): truth_k = w·dout_k + path_k for every dout k, each path_k on each line along `axis` a
    combination of 1 and `spans` (least squares, per line); None where too few douts for the unknowns."""
    shape = np.shape(truths[0])
    line = shape[axis]
    lines = [np.moveaxis(np.asarray(a, dtype=np.float64), axis, -1).reshape(-1, line)
             for a in (*douts, *truths, *spans)]
    d, t, s = lines[:len(douts)], lines[len(douts):2 * len(douts)], lines[2 * len(douts):]
    per_dout = 1 + len(s)
    if len(d) * line < line + len(d) * per_dout + SPARE_PER_LINE:
        return None
    w = np.empty_like(d[0])
    paths = [np.empty_like(d[0]) for _ in d]
    for i in range(d[0].shape[0]):
        basis = np.stack([np.ones(line)] + [b[i] for b in s], axis=1)
        rows = []
        for k in range(len(d)):
            block = np.zeros((line, line + len(d) * per_dout))
            block[:, :line] = np.diag(d[k][i])
            block[:, line + k * per_dout:line + (k + 1) * per_dout] = basis
            rows.append(block)
        matrix = np.concatenate(rows)
        coef = np.linalg.lstsq(matrix, np.concatenate([tk[i] for tk in t]), rcond=None)[0]
        w[i] = coef[:line]
        for k in range(len(d)):
            paths[k][i] = basis @ coef[line + k * per_dout:line + (k + 1) * per_dout]

    def back(a: np.ndarray) -> np.ndarray:
        return np.moveaxis(a.reshape(np.moveaxis(np.empty(shape), axis, -1).shape), -1, axis)

    return back(w), [back(p) for p in paths]


def along_one(path: np.ndarray, axis: int) -> np.ndarray:
    """The part of a path along 1 on each line (a mean's path; the rest is a variance's, an rms's or a sum's)."""
    return np.broadcast_to(path.mean(axis=axis, keepdims=True), path.shape)


def line_statistics(arrays: Sequence[tuple[str, np.ndarray]], axis: int) -> list[PerLine]:
    """Each array's std and rms along `axis` (one per line), to each power of POWER_SLIPS, and its std to
    each of VARIANCE_SLIPS (its variance or the inverse): the per-line factors a path whose power of its
    statistic is one off is scaled by."""
    found = []
    for name, a in arrays:
        stats = {"std": a.std(axis=axis, keepdims=True), "rms": np.sqrt((a ** 2).mean(axis=axis, keepdims=True))}
        found += [PerLine(stat, name, power, v ** power) for stat, v in stats.items() if np.all(v > 0)
                  for power in POWER_SLIPS + (VARIANCE_SLIPS if stat == "std" else ())]
    return found


def said_per_line(k: PerLine, right: int, axis: int) -> str:
    """k in words, as the path's error: 'std times too large (the std of x over axis 0, one per line): a
    power of std one too low, as std**-2 where std**-3 belongs'; a variance's slip (std**±2) in powers of
    the variance: 'var times too large (...): a power of (var + eps) one too low, as (var + eps)**-0.5
    where (var + eps)**-1.5 belongs'."""
    size, slip = ("too large", "low") if k.power > 0 else ("too small", "high")
    if k.power in VARIANCE_SLIPS:
        var = "(var + eps)"
        wrong_var, right_var = (_power(var, Fraction(p, STD_PER_VARIANCE)) for p in (right + k.power, right))
        return (f"var times {size} (the variance of {k.of} over axis {axis}, one per line): a power of {var} "
                f"one too {slip}, as {wrong_var} where {right_var} belongs")
    wrong = right + k.power
    written = f"{k.stat}**{wrong}" if wrong else f"no {k.stat} at all"
    return (f"{k.stat} times {size} (the {k.stat} of {k.of} over axis {axis}, one per line): a power of "
            f"{k.stat} one too {slip}, as {written} where {k.stat}**{right} belongs")


def _power(base: str, p: Fraction) -> str:
    """base**p in words: '(var + eps)**-0.5'; 'no (var + eps) at all' for p = 0."""
    return f"{base}**{float(p):g}" if p else f"no {base} at all"


def factors(shape: Sequence[int]) -> list[Fraction]:
    """The clean factors a path's constant can be wrong by: the output's sizes and 2, their inverses, and
    each of those and 1 with the sign flipped (a derivative's -1/2 dropped is a factor -2)."""
    whole = sorted({n for n in (*shape, *SMALL_FACTORS) if n > 1})
    positive = [Fraction(n) for n in whole] + [Fraction(1, n) for n in whole]
    return positive + [Fraction(-1)] + [-k for k in positive]


def said(k: Fraction, shape: Sequence[int], axis: int) -> str:
    """k in words, as the path's error: '6 times too large: its 1/6 (the size of the reduced axis) is
    missing'; 'of the wrong sign and 2 times too large: its -1/2 is missing'."""
    if k == -1:
        return "of the wrong sign"
    sign, lost = ("of the wrong sign and ", "-") if k < 0 else ("", "")
    n = abs(k.numerator) if abs(k) > 1 else k.denominator
    size = " (the size of the reduced axis)" if n == shape[axis] else \
        " (a size of the output)" if n in shape else ""
    if abs(k) > 1:
        return f"{sign}{n} times too large: its {lost}1/{n}{size} is missing"
    return f"{sign}{n} times too small: a factor {n}{size} is missing, or a 1/{n} is one too many"
