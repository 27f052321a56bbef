"""The JSON document of `--format json`: stable, versioned, documented in docs/reference/json.md."""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring
from typing import Any

from ..verdict.result import PACKED_KEYS, Report

# 2: a scalar gradient's pairs leave out `worst` and `worst_values`, which only repeated a and b.
# 3: an array of more than result.LIST_MAX_ENTRIES entries is packed, {"shape", "dtype", "base64"}
#    (docs/reference/json.md), instead of nested lists (the 1M-parameter net's numbers took 2.4 s as text).
# 4: the status "inconclusive" (exit 4) and its count in the summary.
# 5: the status "contract" (exit 5: right gradients from code that writes into dout, say) and its count.
SCHEMA_VERSION = 5
# The indentation of each level, as json.dumps(indent=2) writes it.
INDENT = "  "


def render_json(report: Report) -> str:
    """The document, indented as json.dumps(indent=2) would write it, except that each array (a point's
    value, a gradient column) and each pairwise comparison is on one line, written by json's C encoder.

    The indented rest is written here rather than by json's Python encoder: for a batch that is most of
    the time (1,000 scalar cases: 0.38 s there, of which its generators, a random marker per one-line
    text and a regex to put them back), and it is the parent's own work under -j, which no worker shares."""
    document = {
        "version": SCHEMA_VERSION,
        "cases": [case.to_dict() for case in report.cases],
        "summary": report.summary,
    }
    out: list[str] = []
    _write(document, "\n", out)
    return "".join(out)


def _write(value: Any, newline: str, out: list[str]) -> None:
    """value at the indentation that `newline` (a line break and the current indent) carries. Every
    float finite or null: JSON has no inf or NaN (an absolute error past float64's range is null)."""
    if isinstance(value, str):
        out.append(encode_basestring(value))
    elif value is None or value is True or value is False:
        out.append("null" if value is None else "true" if value else "false")
    elif isinstance(value, float):
        out.append(float.__repr__(value) if math.isfinite(value) else "null")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, dict):
        if set(value) == PACKED_KEYS:  # a packed array: base64 needs no escaping, spare json its scan
            out.append(f'{{"shape": {json.dumps(value["shape"])}, "dtype": "{value["dtype"]}", '
                       f'"base64": "{value["base64"]}"}}')
            return
        if not value:
            out.append("{}")
            return
        inner = newline + INDENT
        separator = "{" + inner
        for key, item in value.items():
            scalar = _SCALARS.get(type(item))  # most values: written here, without a call of _write
            if scalar is not None:
                out.append(separator + encode_basestring(str(key)) + ": " + scalar(item))
            elif key == "pairs" and isinstance(item, list):
                out.append(separator + encode_basestring(str(key)) + ": " + ("[]" if not item else
                           "[" + inner + INDENT + ("," + inner + INDENT).join(map(_one_line, item)) + inner + "]"))
            else:
                out.append(separator + encode_basestring(str(key)) + ": ")
                _write(item, inner, out)
            separator = "," + inner
        out.append(newline + "}")
    elif isinstance(value, (list, tuple)):
        if not any(isinstance(v, dict) for v in value):
            out.append(_one_line(value))
            return
        if not value:
            out.append("[]")
            return
        inner = newline + INDENT
        separator = "[" + inner
        for item in value:
            out.append(separator)
            _write(item, inner, out)
            separator = "," + inner
        out.append(newline + "]")
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _float(value: float) -> str:
    return float.__repr__(value) if math.isfinite(value) else "null"


# The scalars of the document by exact type, as json writes them (a subclass, np.float64, goes the long way).
_SCALARS: dict[type, Any] = {str: encode_basestring, float: _float, int: int.__repr__,
                             bool: lambda v: "true" if v else "false", type(None): lambda v: "null"}

# What json writes for the numbers JSON has no way to write (allow_nan=True): -Infinity holds Infinity.
_NOT_JSON = ("NaN", "Infinity")
# One encoder for every one-line text (json.dumps with an option builds a new one each call).
_ENCODER = json.JSONEncoder(ensure_ascii=False)


def _one_line(value: Any) -> str:
    """value on one line, by the C encoder; the slow walk over its numbers only if one is inf or NaN."""
    text = _ENCODER.encode(value)
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
