"""What a check returns: plain data that the renderers turn into a table, JSON or JUnit.

The result knows its exit code (as black's Report does); the CLI only passes it to sys.exit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class ExitStatus(IntEnum):
    OK = 0  # every gradient agrees (and every claim is right)
    MISMATCH = 1  # some gradient disagrees: a wrong claim, or a disagreement among the oracles
    INPUT_ERROR = 2  # bad input: syntax, unknown name, a bad value, f undefined at the point


@dataclass
class GradientResult:
    """∂f/∂variable by every oracle, and whether they agree."""

    variable: str
    columns: dict[str, float | None]  # symbolic, backprop, numeric and, if claimed, claimed
    max_abs_error: float | None
    max_rel_error: float | None
    status: str  # "pass" or "mismatch"
    verdict: str
    notes: dict[str, str] = field(default_factory=dict)  # why a column has no value
    formula: str | None = None  # SymPy's simplified ∂f/∂variable, when asked for

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.columns)
        out.update(max_abs_error=self.max_abs_error, max_rel_error=self.max_rel_error,
                   status=self.status, verdict=self.verdict)
        if self.notes:
            out["notes"] = dict(self.notes)
        if self.formula is not None:
            out["formula"] = self.formula
        return out


@dataclass
class CaseResult:
    """One expression checked at one point."""

    name: str
    expr: str
    status: str  # "pass", "mismatch" or "error"
    value: float | None = None
    gradients: dict[str, GradientResult] = field(default_factory=dict)
    point: dict[str, float] = field(default_factory=dict)
    random: list[str] = field(default_factory=list)  # variables whose value was drawn with `seed`
    seed: int = 0
    verdict: str = ""
    error: dict[str, str] | None = None  # {"kind", "message"} when status is "error"
    seconds: float = 0.0

    @property
    def exit_code(self) -> ExitStatus:
        return {"pass": ExitStatus.OK, "mismatch": ExitStatus.MISMATCH}.get(self.status, ExitStatus.INPUT_ERROR)

    @property
    def ok(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "expr": self.expr,
            "status": self.status,
            "value": self.value,
            "point": dict(self.point),
            "random": list(self.random),
            "seed": self.seed,
            "gradients": {name: g.to_dict() for name, g in self.gradients.items()},
            "verdict": self.verdict,
            "error": self.error,
        }


STATUSES = ("pass", "mismatch", "kink", "error")


@dataclass
class Report:
    """Several cases, as `gradcheck eval` (one) or `gradcheck check` (many) produce them."""

    cases: list[CaseResult]

    @property
    def summary(self) -> dict[str, int]:
        counts = {status: 0 for status in STATUSES}
        for case in self.cases:
            counts[case.status] = counts.get(case.status, 0) + 1
        return {"total": len(self.cases), **counts}

    @property
    def exit_code(self) -> ExitStatus:
        return max((c.exit_code for c in self.cases), default=ExitStatus.OK)
