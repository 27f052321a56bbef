"""The JSON document of `--format json`: stable, versioned, documented in the README."""

from __future__ import annotations

import json
import math
import re
import secrets
from typing import Any

from ..result import Report

# 2: a scalar gradient's pairs leave out `worst` and `worst_values`, which only repeated a and b (issue 15).
SCHEMA_VERSION = 2


def render_json(report: Report) -> str:
    document = {
        "version": SCHEMA_VERSION,
        "cases": [case.to_dict() for case in report.cases],
        "summary": report.summary,
    }
    # JSON has no inf or NaN: such a number (an absolute error past float64's range) becomes null,
    # and allow_nan=False guarantees no invalid JSON reaches a consumer.
    document = _finite(document)
    # Each pairwise comparison on one line: they are most of a case's text, and json's C encoder
    # writes them (the indented rest goes through its slower Python encoder). Each stands in the
    # document as a marker with a fresh random token, so no user text can pose as one.
    token = secrets.token_hex(8)
    pairs: list[str] = []
    for case in document["cases"]:
        for gradient in case.get("gradients", {}).values():
            if isinstance(gradient, dict) and isinstance(gradient.get("pairs"), list):
                markers = []
                for pair in gradient["pairs"]:
                    markers.append(f"{token}:{len(pairs)}")
                    pairs.append(json.dumps(pair, ensure_ascii=False, allow_nan=False))
                gradient["pairs"] = markers
    text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
    return re.sub(f'"{token}:(\\d+)"', lambda m: pairs[int(m.group(1))], text)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
