"""The JSON document of `--format json`: stable, versioned, documented in the README."""

from __future__ import annotations

import json
import math
import re
import secrets
from typing import Any, Callable

from ..result import PACKED_KEYS, Report

# 2: a scalar gradient's pairs leave out `worst` and `worst_values`, which only repeated a and b (issue 15).
# 3: an array of more than result.LIST_MAX_ENTRIES entries is packed, {"shape", "dtype", "base64"}
#    (docs/json.md), instead of nested lists (issue 15: the 1M-parameter net's JSON took 2.4 s of numbers).
SCHEMA_VERSION = 3


def render_json(report: Report) -> str:
    document = {
        "version": SCHEMA_VERSION,
        "cases": [case.to_dict() for case in report.cases],
        "summary": report.summary,
    }
    # The document is indented, but each array (a point's value, a gradient column) and each pairwise
    # comparison is written on one line by json's C encoder: the indented rest goes through its
    # slower Python encoder, which took 11 s to put a million-entry gradient one number per line.
    # Each one-line text stands in the document as a marker with a fresh random token, so no user
    # text can pose as one.
    token = secrets.token_hex(8)
    texts: list[str] = []

    def one_line(text: str) -> str:
        texts.append(text)
        return f"{token}:{len(texts) - 1}"

    text = json.dumps(_prepared(document, one_line), indent=2, ensure_ascii=False, allow_nan=False)
    return re.sub(f'"{token}:(\\d+)"', lambda m: texts[int(m.group(1))], text)


# What json writes for the numbers JSON has no way to write (allow_nan=True): -Infinity holds Infinity.
_NOT_JSON = ("NaN", "Infinity")


def _prepared(value: Any, one_line: Callable[[str], str]) -> Any:
    """The document with every float finite or null (JSON has no inf or NaN: an absolute error past
    float64's range becomes null, and allow_nan=False guarantees no invalid JSON reaches a consumer),
    and every list without objects in it, and every pair, replaced by a one-line marker."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict) and set(value) == PACKED_KEYS:  # base64 needs no escaping: spare json its scan
        return one_line(f'{{"shape": {json.dumps(value["shape"])}, "dtype": "{value["dtype"]}", '
                        f'"base64": "{value["base64"]}"}}')
    if isinstance(value, dict):
        return {k: [one_line(_dumped(pair)) for pair in v] if k == "pairs" and isinstance(v, list)
                else _prepared(v, one_line) for k, v in value.items()}
    if isinstance(value, list):
        if any(isinstance(v, dict) for v in value):
            return [_prepared(v, one_line) for v in value]
        return one_line(_dumped(value))
    return value


def _dumped(value: Any) -> str:
    """value on one line, by the C encoder; the slow walk over its numbers only if one is inf or NaN."""
    text = json.dumps(value, ensure_ascii=False)
    if any(word in text for word in _NOT_JSON):  # str's search: a regex took 0.3 s over a 47 MB document
        return json.dumps(_finite(value), ensure_ascii=False, allow_nan=False)
    return text


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
