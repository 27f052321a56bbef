"""The JSON document of `--format json`: stable, versioned, documented in the README."""

from __future__ import annotations

import json

from ..result import Report

SCHEMA_VERSION = 1


def render_json(report: Report) -> str:
    document = {
        "version": SCHEMA_VERSION,
        "cases": [case.to_dict() for case in report.cases],
        "summary": report.summary,
    }
    # allow_nan=False: a NaN must never reach a consumer as invalid JSON; results hold None instead.
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
