"""The harness the held-out diagnosis sets share (benchmarks/heldout_diagnoses_2.py to _5.py): a
case is a layer with its bug behind a flag, the input whose diagnosis is read and the causes that name
its bug; a diagnosis is named, honest (no cause, a count) or misleading (a cause that is not the bug).
`--self-check` runs only the exit codes (every right layer passes, every buggy one fails on its input).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

HONEST = {None, "count"}
CASE_COUNT = 45


@dataclass
class Case:
    name: str
    run: Callable[[bool], object]  # bug? -> the CaseResult (False: the right layer)
    variable: str  # the input whose diagnosis is read
    names: set[str]  # the causes that name the bug (either bug, for a mix)
    family: str


class Cases(list):
    """A set's cases, registered in order: `family(name)` names those that follow, `case(...)` decorates
    a run (bug -> the CaseResult)."""

    current = "?"

    def family(self, name: str) -> None:
        self.current = name

    def case(self, name: str, variable: str, *names: str) -> Callable:
        def register(run: Callable[[bool], object]) -> Callable[[bool], object]:
            self.append(Case(name, run, variable, set(names), self.current))
            return run
        return register


def classify(c: Case, result) -> tuple[str, object]:
    gr = result.gradients[c.variable]
    if gr.status != "mismatch":
        return "not a mismatch", gr
    if gr.cause in c.names:
        return "named", gr
    if gr.cause in HONEST:
        return "honest", gr
    return "misleading", gr


def self_check(cases: list[Case]) -> int:
    """Every right layer passes (exit code 0) and every buggy one is a mismatch on its variable (exit code 1).
    No diagnosis is read."""
    failures = 0
    for c in cases:
        right, wrong = c.run(False), c.run(True)
        problems = []
        if right.exit_code != 0:
            problems.append(f"the right layer exits {right.exit_code} ({right.status})")
        if wrong.exit_code != 1:
            problems.append(f"the buggy layer exits {wrong.exit_code} ({wrong.status})")
        elif wrong.gradients[c.variable].status != "mismatch":
            problems.append(f"the buggy layer's {c.variable} is {wrong.gradients[c.variable].status}")
        for p in problems:
            print(f"FAIL  {c.name}: {p}")
        failures += bool(problems)
    print(f"self-check: {len(cases) - failures} of {len(cases)} cases right (right passes, buggy fails)")
    return failures


def measure(cases: list[Case], verbose: bool) -> None:
    tally = {"named": 0, "honest": 0, "misleading": 0, "not a mismatch": 0}
    for c in cases:
        kind, gr = classify(c, c.run(True))
        tally[kind] += 1
        print(f"{kind:15} {c.family:14} {c.name} [{gr.cause}]")
        if verbose:
            print(f"{'':15} {gr.diagnosis}")
    print(f"named {tally['named']}, honest {tally['honest']}, misleading {tally['misleading']} of {len(cases)}"
          + (f" ({tally['not a mismatch']} not a mismatch)" if tally["not a mismatch"] else ""))


def main(cases: list[Case], doc: str) -> None:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print each diagnosis")
    parser.add_argument("--self-check", action="store_true",
                        help="check that every right layer passes and every buggy one fails; no diagnosis is read")
    args = parser.parse_args()
    if len(cases) != CASE_COUNT:
        sys.exit(f"{len(cases)} cases, {CASE_COUNT} expected")
    if args.self_check:
        sys.exit(1 if self_check(cases) else 0)
    measure(cases, args.verbose)

