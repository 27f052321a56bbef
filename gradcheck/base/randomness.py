"""Every random number gradcheck draws comes from one seeded source: the check's seed, the name it is
drawn for (a variable's), and a tag saying what it is for. Two uses never share a stream, and a run is
reproduced by its seed alone.
"""

from __future__ import annotations

import zlib

import numpy as np

# What each stream is for. The numbers are the streams' history (changing one changes every result
# drawn from it): the random values of --at, fast mode's directions and entries, the random points of
# a claim's diagnosis, of the formula shown beside it and of a matrix claim's diagnosis, the douts of a
# layer check, the direction a pool is split along at a kink, and the move off a tie of --retry-at-random.
VALUES = ()
FAST = (0xFA57,)
DIAGNOSIS = (0xD1A6,)
SHOWN_FORMULA = (0xF0A1,)
MATRIX_DIAGNOSIS = (0x3A7,)
DOUTS = (0xD0D7,)
POOL_KINKS = (0xC1A5,)
RETRY = (0x7E7E,)


def key(seed: int, *parts: int | str) -> tuple[int, ...]:
    """A stream's key: the seed, then each part (a name as its CRC-32)."""
    return (seed, *(zlib.crc32(p.encode()) if isinstance(p, str) else int(p) for p in parts))


def stream(seed: int, *parts: int | str) -> np.random.Generator:
    """The generator for a seed and its parts: stream(seed, "W1", *FAST)."""
    return np.random.default_rng(list(key(seed, *parts)))
