"""The point: values given with --at (or the API's `at`), and seeded random values for the rest."""

from __future__ import annotations

import re
import zlib
from typing import Any, Iterable, Mapping, Union

import numpy as np

from .errors import GradcheckError, ParseError, SpecError, ValueSpecError
from .evaluate import value
from .parser import Scope, parse

# Random values are rounded to this many decimals so that the value shown is the value used:
# `--at x=<shown>` reproduces the run exactly.
RANDOM_DECIMALS = 4

NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*\Z")

Assignments = Union[str, Iterable[str], Mapping[str, Any], None]


def split_assignments(texts: Assignments, option: str) -> dict[str, Any]:
    """'a=1,b=2' (or several such strings, or a mapping) -> {'a': '1', 'b': '2'}, in order.

    Commas inside brackets or parentheses do not split, so a value or an expression may hold them.
    """
    if texts is None:
        return {}
    if isinstance(texts, Mapping):
        for name in texts:
            if not isinstance(name, str) or not NAME.match(name):
                raise SpecError(f"{option}: {name!r} is not a name (letters, digits and _)")
        return dict(texts)
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, (list, tuple)) or not all(isinstance(t, str) for t in texts):
        raise SpecError(f"{option} takes text such as 'x=1', a list of such texts, or a mapping "
                        f"of names to values; got {type(texts).__name__}")
    pairs: dict[str, Any] = {}
    for text in texts:
        for item in _top_level_split(text) if option == "--at" else [text]:
            name, eq, body = item.partition("=")
            name = name.strip()
            if not eq or not body.strip():
                raise SpecError(f"{option} expects NAME=VALUE, got {item.strip()!r}")
            if not NAME.match(name):
                raise SpecError(f"{option}: {name!r} is not a name (letters, digits and _)")
            if name in pairs:
                raise SpecError(f"{option} gives {name!r} twice")
            pairs[name] = body.strip()
    return pairs


def _top_level_split(text: str) -> list[str]:
    items, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item for item in items if item.strip()]


def parse_value(name: str, given: Any) -> np.float64:
    """One variable's value: a number, or a constant expression such as -pi/4 or 1/3."""
    if isinstance(given, (bool, np.bool_)):
        raise ValueSpecError(f"--at {name}: {given!r} is not a number")
    if isinstance(given, str):
        try:
            number = value(parse(given, origin=f"--at {name}", scope=Scope(closed=True)), {})
        except ParseError as exc:
            if "unknown variable" in exc.message:
                raise ValueSpecError(f"--at {name}: {given!r} is not a number", exc.span) from None
            raise
        except GradcheckError as exc:
            raise ValueSpecError(f"--at {name}: {exc.message}", exc.span) from None
    else:
        try:
            number = np.float64(given)
        except (TypeError, ValueError, OverflowError):
            raise ValueSpecError(f"--at {name}: {given!r} is not a number") from None
        if np.ndim(number) != 0:
            raise ValueSpecError(f"--at {name}: {given!r} is not a single number")
    if not np.isfinite(number):
        raise ValueSpecError(f"--at {name}: {given!r} is not a finite number")
    return np.float64(number)


def random_value(name: str, seed: int) -> np.float64:
    """A standard-normal draw that depends only on (seed, name), not on the order of variables."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    return np.float64(round(float(rng.standard_normal()), RANDOM_DECIMALS))
