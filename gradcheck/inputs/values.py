"""The point: values given with --at (or the API's `at`), and seeded random values for the rest."""

from __future__ import annotations

import numbers
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Union

import numpy as np

from ..base import randomness
from ..base.errors import GradcheckError, ParseError, SpecError, UnknownNameError, ValueSpecError
from ..base.limits import MAX_DIMENSIONS, MAX_ENTRIES, MAX_VALUE_TEXT, MAX_WHOLE_DIGITS
from ..base.source import Source, Span
from ..language.evaluate import value
from ..language.parser import Scope, parse, tokenize
from ..language.shapes import infer_shapes
from ..language.tree import Var
from ..ops.registry import CONSTANTS
from .npy import load_npy, resolve_npy

# Random values are rounded to this many decimals so that the value shown is the value used:
# `--at x=<shown>` reproduces the run exactly.
RANDOM_DECIMALS = 4

NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*\Z")
RANDOM_ARRAY = re.compile(r"(randn|rand)\s*\(\s*((?:[0-9]+\s*,\s*)*[0-9]*)\s*\)")

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
    items = [item for text in texts for item in (top_level_split(text) if option == "--at" else [text])]
    return named_items(items, option, SpecError)


def named_items(items: Iterable[str], option: str, error: type[GradcheckError]) -> dict[str, str]:
    """['a=1', 'b=2'] -> {'a': '1', 'b': '2'}, each a NAME=VALUE, each name once (else `error`)."""
    pairs: dict[str, str] = {}
    for item in items:
        name, eq, body = item.partition("=")
        name = name.strip()
        if not eq or not body.strip():
            raise error(f"{option} expects NAME=VALUE, got {item.strip()!r}")
        if not NAME.match(name):
            raise error(f"{option}: {name!r} is not a name (letters, digits and _)")
        if name in pairs:
            raise error(f"{option} gives {name!r} twice")
        pairs[name] = body.strip()
    return pairs


def top_level_split(text: str, literals: bool = False) -> list[str]:
    """The items of a comma-separated text, split only at commas outside brackets; with literals, also
    outside braces and quotes (the layer commands' dict and string values)."""
    opening, closing = ("([{", ")]}") if literals else ("([", ")]")
    items, depth, start, quote = [], 0, 0, ""
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif literals and char in "'\"":
            quote = char
        elif char in opening:
            depth += 1
        elif char in closing:
            depth -= 1
        elif char == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item for item in items if item.strip()]


def parse_value(name: str, given: Any, seed: int = 0, base: Path | None = None,
                npy_root: Path | None = None) -> np.ndarray:
    """One variable's value: a number, a constant expression (-pi/4), a nested list [[1,2],[3,4]],
    randn(m,n) / rand(m,n) drawn with the seed, or a path to a .npy file (relative to `base`; with a
    `npy_root`, as for case files, it must resolve inside it)."""
    if isinstance(given, (bool, np.bool_)):
        raise ValueSpecError(f"--at {name}: {given!r} is not a number")
    if isinstance(given, str):
        number = _parse_text(name, given.strip(), seed, base, npy_root)
    else:
        number = _python_value(name, given)
    if np.ndim(number) > MAX_DIMENSIONS:
        raise ValueSpecError(f"--at {name}: an array of {np.ndim(number)} dimensions; the limit is {MAX_DIMENSIONS}")
    if np.size(number) == 0:
        raise ValueSpecError(f"--at {name}: the array is empty")
    if np.size(number) > MAX_ENTRIES:
        raise ValueSpecError(f"--at {name}: {np.size(number):,} entries; the limit is {MAX_ENTRIES:,}")
    if not np.all(np.isfinite(number)):
        raise ValueSpecError(f"--at {name}: {given!r} is not finite")
    return np.float64(number) if np.ndim(number) == 0 else number


def _python_value(name: str, given: Any) -> np.ndarray:
    """A number or array passed through the API: real numbers only. numpy would turn "1.5", True,
    a datetime or a masked array (dropping its mask) into floats without a word."""
    shown = " ".join(repr(given).split())  # one line, whatever the object's repr
    what = f"--at {name}: {type(given).__name__} {shown[:80]}{'…' if len(shown) > 80 else ''}"
    masked = sys.modules.get("numpy.ma")  # np.ma loads on first touch (17 ms); without it there is no masked array
    if masked is not None and isinstance(given, masked.MaskedArray):
        raise ValueSpecError(f"{what} is a masked array; pass plain numbers (fill the masked entries first)")
    try:
        raw = np.asarray(given)
    except (TypeError, ValueError, OverflowError):
        raise ValueSpecError(f"{what} is not a number or an array of numbers") from None
    if raw.dtype == object and raw.size <= MAX_ENTRIES and all(  # Fractions, Decimals, big ints: real numbers
            isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in raw.flat):
        raw = _as_float64(what, raw)
    if np.iscomplexobj(raw):
        raise ValueSpecError(f"{what}: complex values are not supported")
    if raw.dtype.kind not in "iuf":
        raise ValueSpecError(f"{what} is not a number or an array of numbers (its dtype is {raw.dtype})")
    return _as_float64(what, raw)


def _as_float64(what: str, raw: np.ndarray) -> np.ndarray:
    try:
        with np.errstate(over="raise"):
            return raw.astype(np.float64)
    except (OverflowError, FloatingPointError):
        raise ValueSpecError(f"{what} does not fit a float64") from None
    except (TypeError, ValueError):
        raise ValueSpecError(f"{what} is not a number or an array of numbers") from None


def _parse_text(name: str, text: str, seed: int, base: Path | None, npy_root: Path | None) -> np.ndarray:
    if len(text) > MAX_VALUE_TEXT:
        raise ValueSpecError(f"--at {name} is {len(text):,} characters long; the limit is {MAX_VALUE_TEXT:,} "
                             "(save a large array as .npy)")
    if text.endswith(".npy"):
        return load_npy(name, text, resolve_npy(name, text, base, npy_root))
    drawn = RANDOM_ARRAY.fullmatch(text)
    if drawn:
        return _draw(name, drawn.group(1), drawn.group(2), seed)
    if text.startswith("["):
        return parse_list(name, text)
    written = text
    text, drawn_values = _draws_as_names(name, text, seed)
    try:
        scope = Scope(variables={key: Var(key, Span(Source(text, f"--at {name}"), text.find(key),
                                                    text.find(key) + len(key))) for key in drawn_values}, closed=True)
        root = parse(text, origin=f"--at {name}", scope=scope)
        infer_shapes(root, {key: np.shape(v) for key, v in drawn_values.items()})
        return value(root, drawn_values)
    except UnknownNameError as exc:
        unknown = written[exc.span.start:exc.span.end] if exc.span else ""
        if unknown in ("randn", "rand"):  # the pattern above did not match: its sizes are not whole numbers
            raise ValueSpecError(f"{unknown}(...) takes sizes that are whole numbers ≥ 1, such as {unknown}(3,4)",
                                 _as_written(exc.span, written)) from None
        raise ValueSpecError(f"{written!r} is not a number, a list, randn(...)/rand(...) or a .npy path",
                             _as_written(exc.span, written)) from None
    except ParseError as exc:
        raise ParseError(exc.message, _as_written(exc.span, written)) from None
    except GradcheckError as exc:
        message = exc.message if exc.span else f"--at {name}: {exc.message}"
        for key in drawn_values:  # the stand-ins spelled back as written
            at = text.find(key)
            message = message.replace(key, written[at:at + len(key)])
        raise ValueSpecError(message, _as_written(exc.span, written)) from None


def _as_written(span: Span | None, written: str) -> Span | None:
    """The same columns, shown in the text as the user wrote it (with rand(...) rather than its stand-in)."""
    return None if span is None else Span(Source(written, span.source.origin), span.start, span.end)


def _draws_as_names(name: str, text: str, seed: int) -> tuple[str, dict[str, np.ndarray]]:
    """rand(3,4) + 0.5: each randn(...)/rand(...) inside an expression is drawn (in the order
    written, from the one generator of (seed, name)) and stands in the text as a name of the same
    length, so that error columns still point at what the user typed."""
    drawn: dict[str, np.ndarray] = {}
    if not RANDOM_ARRAY.search(text):
        return text, drawn  # nothing drawn: numpy.random is not even imported (a 20 ms start-up saved)
    rng = value_rng(name, seed)

    def named(match: re.Match) -> str:
        key = f"_{len(drawn)}".ljust(len(match.group()), "_")
        drawn[key] = _draw(name, match.group(1), match.group(2), seed, rng)
        return key

    return RANDOM_ARRAY.sub(named, text), drawn


def whole(name: str, digits: str) -> int:
    """A whole number written in a value (a size, a bound), refused when longer than any size or 64-bit
    bound (Python's int() refuses 4,300 digits with a bare ValueError)."""
    if len(digits.strip().lstrip("-")) > MAX_WHOLE_DIGITS:
        raise ValueSpecError(f"--at {name}: {digits.strip()[:20]}… is too large a number here")
    return int(digits)


def _draw(name: str, kind: str, dims_text: str, seed: int, rng: np.random.Generator | None = None) -> np.ndarray:
    dims = tuple(whole(name, d) for d in dims_text.split(",") if d.strip())  # randn(3,) as numpy writes it
    if any(d < 1 for d in dims) or len(dims) > MAX_DIMENSIONS:
        raise ValueSpecError(f"--at {name}: {kind}{dims} needs 1 to {MAX_DIMENSIONS} sizes, each ≥ 1")
    if int(np.prod(dims, dtype=np.float64)) > MAX_ENTRIES:
        raise ValueSpecError(f"--at {name}: {kind}{dims} has more than {MAX_ENTRIES:,} entries")
    rng = rng if rng is not None else value_rng(name, seed)
    return rng.standard_normal(dims) if kind == "randn" else rng.uniform(0.0, 1.0, dims)


def parse_list(name: str, text: str) -> np.ndarray:
    """[2, -3, -3] or [[1, 2], [3, 4]]: signed numbers (and pi, e) in rectangular nested lists."""
    source = Source(text, f"--at {name}")
    tokens = tokenize(source)
    pos = 0

    def fail(message: str, tok) -> ValueSpecError:
        return ValueSpecError(message, Span(source, tok.start, max(tok.end, tok.start + 1)))

    def element(depth: int):
        nonlocal pos
        tok = tokens[pos]
        if depth > MAX_DIMENSIONS:
            raise fail(f"lists nested more than {MAX_DIMENSIONS} deep", tok)
        if tok.text == "[":
            pos += 1
            items = []
            while True:
                items.append(element(depth + 1))
                tok = tokens[pos]
                pos += 1
                if tok.text == "]":
                    return items
                if tok.text != ",":
                    raise fail("expected ',' or ']' in a list", tok)
        sign = 1.0
        while tok.text in ("-", "+"):
            sign = -sign if tok.text == "-" else sign
            pos += 1
            tok = tokens[pos]
        pos += 1
        if tok.kind == "num":
            return sign * float(tok.text)
        if tok.kind == "name" and tok.text in CONSTANTS:
            return sign * CONSTANTS[tok.text][0]
        raise fail("expected a number in a list", tok)

    nested = element(0)
    if tokens[pos].kind != "end":
        raise fail("unexpected text after the list", tokens[pos])
    try:
        return np.array(nested, dtype=np.float64)
    except ValueError:
        raise ValueSpecError(f"--at {name}: the rows of {text[:40]} differ in length") from None


def random_value(name: str, seed: int) -> np.float64:
    """A standard-normal draw that depends only on (seed, name), not on the order of variables."""
    return np.float64(round(float(value_rng(name, seed).standard_normal()), RANDOM_DECIMALS))


def value_rng(name: str, seed: int) -> np.random.Generator:
    """The stream a variable's random value is drawn from."""
    return randomness.stream(seed, name, *randomness.VALUES)
