"""Values for `gradcheck layer` and `gradcheck vjp`: arrays to differentiate, and the data a layer takes.

- arrays (differentiated): randn(4,3,5), rand(2,2), [[1.5, 2], [3, 4]], a .npy path — as `eval` reads them;
- integer arrays (labels, indices): randint(0,10,(4,)) or a list of whole numbers [0, 2, 1];
- boolean arrays (masks): [True, False, True];
- Python numbers (p=0.5, passed as they are; --wrt NAME differentiates one) and dicts of them
  ({"stride": 2, "pad": 1}), read with ast.literal_eval after length and nesting caps.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..base.errors import ValueSpecError
from ..base.limits import LITERAL_MAX_NESTING as MAX_NESTING
from ..base.limits import MAX_ENTRIES, MAX_LITERAL
from .values import MAX_DIMENSIONS, MAX_VALUE_TEXT, named_items, parse_value, top_level_split, value_rng, whole

RANDINT = re.compile(r"randint\(\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*\(?\s*((?:\d+\s*,\s*)*\d*)\s*\)?\s*\)")


def split_at(texts: list[str]) -> dict[str, str]:
    """--at NAME=VALUE (repeatable; commas at the top level separate several, as in eval)."""
    return named_items([item for text in texts for item in top_level_split(text, literals=True)], "--at", ValueSpecError)


def parse_data(name: str, text: str, seed: int = 0, base: Path | None = None) -> Any:
    text = text.strip()
    drawn = RANDINT.fullmatch(text)
    if drawn:
        return _randint(name, whole(name, drawn.group(1)), whole(name, drawn.group(2)), drawn.group(3), seed)
    if text.startswith(("{", "[")) or text in ("True", "False") or _is_number(text):
        literal = _literal(name, text)
        if isinstance(literal, dict):
            return literal
        if isinstance(literal, (bool, int, float)):
            return literal
        return _list_array(name, text, literal)
    value = parse_value(name, text, seed=seed, base=base)
    return float(value) if np.ndim(value) == 0 else value


def _is_number(text: str) -> bool:
    return re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text) is not None


def _literal(name: str, text: str) -> Any:
    if len(text) > MAX_LITERAL or len(text) > MAX_VALUE_TEXT:
        raise ValueSpecError(f"--at {name} is {len(text):,} characters long; the limit is {MAX_LITERAL:,} "
                             "(save a large array as .npy)")
    depth = deepest = 0
    for char in text:
        depth += char in "([{"
        depth -= char in ")]}"
        deepest = max(deepest, depth)
    if deepest > MAX_NESTING:
        raise ValueSpecError(f"--at {name}: brackets nested more than {MAX_NESTING} deep")
    try:
        return ast.literal_eval(text)  # literals only: no names, calls or attributes are evaluated
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        if text.startswith("["):
            parse_value(name, text)  # a malformed list: eval's list reader names the column, with a caret
        raise ValueSpecError(f"--at {name}: {text[:60]!r} is not a number, a list, a dict of numbers, "
                             "randn(...)/rand(...)/randint(...) or a .npy path") from None


def _list_array(name: str, text: str, literal: Any) -> np.ndarray:
    try:
        array = np.array(literal)
    except ValueError:
        raise ValueSpecError(f"--at {name}: the rows of {text[:40]} differ in length") from None
    if array.dtype.kind not in "biuf" or array.ndim > MAX_DIMENSIONS:
        raise ValueSpecError(f"--at {name}: {text[:60]!r} is not a list of numbers")
    if array.size == 0:
        raise ValueSpecError(f"--at {name}: the array is empty")
    return array if array.dtype.kind in "bi" else parse_value(name, text)


# randint draws 64-bit integers: its bounds must fit one (numpy raised a bare ValueError past them).
INT64 = np.iinfo(np.int64)


def _randint(name: str, low: int, high: int, dims_text: str, seed: int) -> np.ndarray:
    dims = tuple(whole(name, d) for d in dims_text.split(",") if d.strip())
    if high <= low:
        raise ValueSpecError(f"--at {name}: randint({low}, {high}, ...) needs low < high")
    if low < INT64.min or high > INT64.max:
        raise ValueSpecError(f"--at {name}: randint's bounds must lie between {INT64.min:,} and {INT64.max:,} "
                             "(64-bit integers)")
    if not dims or any(d < 1 for d in dims) or len(dims) > MAX_DIMENSIONS:
        raise ValueSpecError(f"--at {name}: randint needs 1 to {MAX_DIMENSIONS} sizes, each ≥ 1")
    if int(np.prod(dims, dtype=np.float64)) > MAX_ENTRIES:
        raise ValueSpecError(f"--at {name}: randint{dims} has more than {MAX_ENTRIES:,} entries")
    return value_rng(name, seed).integers(low, high, dims)


def as_dtype(value: Any, dtype: str) -> Any:
    """A floating-point array in the dtype asked for (--dtype); data (integers, masks, numbers, dicts) as it is."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        with np.errstate(over="ignore"):
            cast = value.astype(dtype)
        if not np.all(np.isfinite(cast)):
            raise ValueSpecError(f"a value does not fit {dtype} (--dtype {dtype})")
        return cast
    return value
