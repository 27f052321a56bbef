"""The JSON document of `--format json`: stable, versioned, documented in the README."""

from __future__ import annotations

import json
import math
from typing import Any

from ..result import Report

SCHEMA_VERSION = 1


def render_json(report: Report) -> str:
    document = {
        "version": SCHEMA_VERSION,
        "cases": [case.to_dict() for case in report.cases],
        "summary": report.summary,
    }
    # JSON has no inf or NaN: such a number (an absolute error past float64's range) becomes null,
    # and allow_nan=False guarantees no invalid JSON reaches a consumer.
    return json.dumps(_finite(document), indent=2, ensure_ascii=False, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
