"""JUnit XML for CI dashboards: one <testcase> per case; a failure or error carries the message and table.

Every piece of user text goes through `visible` first: XML 1.0 cannot hold most control characters
(a NUL or ESC in a case name would make the whole report ill-formed), so they appear as `\\x1b`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..base.status import Status
from ..verdict.result import Report
from .escape import visible


def render_junit(report: Report) -> str:
    # deferred: rich on first use only (start-up)
    from .table import render_text

    cases = report.cases
    failures = sum(1 for c in cases if c.status != Status.ERROR and not c.as_expected)
    errors = sum(1 for c in cases if c.status == Status.ERROR)
    seconds = f"{sum(c.seconds for c in cases):.3f}"
    root = ET.Element("testsuites", name="gradcheck", tests=str(len(cases)), failures=str(failures),
                      errors=str(errors), time=seconds)
    suite = ET.SubElement(root, "testsuite", name="gradcheck", tests=str(len(cases)), failures=str(failures),
                          errors=str(errors), skipped="0", time=seconds)
    for case in cases:
        attributes = {"classname": visible(_classname(case.file)), "name": visible(case.name),
                      "time": f"{case.seconds:.3f}"}
        if case.file is not None:
            attributes.update(file=visible(case.file), line=str(case.line or 0))
        testcase = ET.SubElement(suite, "testcase", attributes)
        if case.status == Status.ERROR:
            element = ET.SubElement(testcase, "error", message=visible(case.verdict),
                                    type=case.error["kind"] if case.error else "input")
            element.text = visible(case.verdict, multiline=True)
        elif not case.as_expected:
            expected = ("" if case.expect == Status.PASS else
                        " (expected a wrong claim, but the oracles disagree with each other)" if case.status == Status.MISMATCH
                        else " (expected a mismatch: the wrong derivation was not caught)")
            element = ET.SubElement(testcase, "failure", message=visible(case.verdict + expected), type=case.status)
            element.text = visible(render_text(case), multiline=True)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _classname(file: str | None) -> str:
    if not file:
        return "gradcheck"
    name = file.removesuffix(".toml")
    return name.replace("\\", "/").strip("./").replace("/", ".")
