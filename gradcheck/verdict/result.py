"""What a check returns: plain data that the renderers turn into a table, JSON or JUnit.

The result knows its exit code (as black's Report does); the CLI only passes it to sys.exit.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..base.presentation import view
from ..base.status import ExitStatus, Status, worst


@dataclass
class GradientResult:
    """∂f/∂variable by every oracle, and whether they agree.

    Attributes:
        variable: the variable's name.
        shape: its shape, () for a scalar.
        columns: "symbolic", "backprop", "numeric" and, when claimed, "claimed": each a number, an
            array, or None where that oracle gave no value (notes says why); in fast mode the numeric
            column holds the probes it measured instead of a gradient.
        max_abs_error: the largest absolute difference between any two columns.
        max_rel_error: the largest relative difference between any two columns.
        status: "pass", "mismatch", "kink" or "inconclusive".
        verdict: the sentence the table ends with ("claimed disagrees with symbolic = backprop = numeric").
        notes: why a column has no value, what fast mode did.
        formula: SymPy's simplified ∂f/∂variable (formulas=True, scalar variables).
        numeric_mode: "full" or "fast".
        numeric_method: "complex", "richardson" or "central".
        numeric_error: the numeric column's own error estimate, entry by entry.
        pairs: every pair of columns compared (agree, errors, the worst entry).
        kinks: [index, left derivative, right derivative] for each entry on a kink.
        diagnosis: how a claim is wrong, where that could be established at several random points.
        cause: for your own numpy code, which known mistake the diagnosis names (the name of its entry in
            gradcheck.diagnose.hypotheses.HYPOTHESES, "kernel flipped" (diagnose/kernels.py), or "carry missing"
            or "wrong steps" (diagnose/sequences.py); "count"
            when none explains the claim, the count or the one-entry probe's facts).
        causes: where two mistakes at once explain the claim (diagnose/composites.py), both names in the
            table's order; `cause` is the first of them. Empty otherwise.
        correct: SymPy's formula of the right gradient, shown beside a wrong claim.
        odd: the one column that disagrees with the others, if there is one.
        matrix_formula: the gradient derived in matrix form and checked at the point (formulas=True).
        matrix_note: why there is no matrix_formula.
    """

    variable: str
    shape: tuple[int, ...]  # () for a scalar variable
    columns: dict[str, Any]  # symbolic, backprop, numeric and, if claimed, claimed: a number, an array,
    #                          None (the oracle gave no value; `notes` says why), or the numeric
    #                          oracle's Probes in fast mode
    max_abs_error: float | None
    max_rel_error: float | None
    status: Status  # pass, kink, inconclusive or mismatch
    verdict: str
    notes: dict[str, str] = field(default_factory=dict)  # why a column has no value, what fast mode did
    formula: str | None = None  # SymPy's simplified ∂f/∂variable, when asked for
    numeric_mode: str = "full"  # "full" or "fast"
    pairs: list[Any] = field(default_factory=list)  # agreement.PairError for every pair of columns
    numeric_error: Any = None  # the numeric column's own error estimate (full mode)
    numeric_method: str = "central"  # complex, richardson or central
    kinks: list[Any] = field(default_factory=list)  # [index, left derivative, right derivative] per kink entry
    diagnosis: str | None = None  # how a claim is wrong, checked at several random points
    cause: str | None = None  # which known mistake a black box's diagnosis names (diagnose/hypotheses.py)
    causes: tuple[str, ...] = ()  # where it names two mistakes at once: both, in the table's order (cause: the first)
    correct: str | None = None  # SymPy's formula of the right ∂f/∂variable, shown next to a wrong claim
    odd: str | None = None  # the one column that disagrees with the others (which agree), if there is one
    matrix_formula: str | None = None  # the derived gradient in matrix form, checked at the point (--formulas)
    matrix_note: str | None = None  # why there is no matrix_formula (--formulas)

    def _pair(self, p: Any) -> dict[str, Any]:
        """One pair of columns. Where the entry furthest apart is worth naming (an array, fast mode's
        probes, a shape that differs), `worst` and `worst_values` name it; for a scalar they would only
        repeat the two columns, most of a batch's JSON."""
        pair = {"a": p.a, "b": p.b, "agree": p.agree, "max_abs_error": p.max_abs_error,
                "max_rel_error": None if np.isnan(p.max_rel_error) else p.max_rel_error, "compared": p.compared}
        if self.shape or p.worst:
            pair.update(worst=p.worst, worst_values=list(p.worst_values))
        return pair

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: plain(v) for name, v in self.columns.items()}
        out.update(max_abs_error=self.max_abs_error, max_rel_error=self.max_rel_error,
                   status=self.status, verdict=self.verdict, shape=list(self.shape),
                   numeric_mode=self.numeric_mode, numeric_method=self.numeric_method,
                   numeric_error=plain(self.numeric_error),
                   pairs=[self._pair(p) for p in self.pairs])
        if self.odd is not None:
            out["odd"] = self.odd
        if self.notes:
            out["notes"] = dict(self.notes)
        if self.formula is not None:
            out["formula"] = self.formula
        if self.diagnosis is not None:
            out["diagnosis"] = self.diagnosis
        if self.cause is not None:
            out["cause"] = self.cause
        if self.causes:
            out["causes"] = list(self.causes)
        if self.correct is not None:
            out["correct_formula"] = self.correct
        if self.matrix_formula is not None:
            out["matrix_formula"] = self.matrix_formula
        if self.matrix_note is not None:
            out["matrix_note"] = self.matrix_note
        if self.kinks:
            out["kinks"] = [{"index": i, "left": left, "right": right} for i, left, right in self.kinks]
        return out


# An array of more entries than this is written packed (JSON schema 3, docs/reference/json.md): its float64
# bytes in base64, exact and about 100 times faster to write than 2.26 million numbers one by one
# (2.4 s of the 1M-parameter net's JSON). Up to here an array is nested lists, which a person or jq
# reads; 10,000 numbers take about 10 ms to write.
LIST_MAX_ENTRIES = 10_000
PACKED_KEYS = frozenset({"shape", "dtype", "base64"})


def plain(v: Any) -> Any:
    """A column or value as JSON: a number, nested lists (a large array packed), or null (fast-mode
    probes have no array)."""
    if v is None or not isinstance(v, (int, float, np.ndarray, np.generic)):
        return None
    array = np.asarray(v, dtype=np.float64)
    return packed(array) if array.size > LIST_MAX_ENTRIES else array.tolist()


def packed(array: np.ndarray) -> dict[str, Any]:
    """A float64 array as {"shape", "dtype", "base64"}: its little-endian bytes in C order, which
    np.frombuffer(base64.b64decode(base64), dtype).reshape(shape) reads back bit for bit."""
    data = np.ascontiguousarray(array, dtype="<f8").tobytes()
    return {"shape": list(array.shape), "dtype": "<f8", "base64": base64.b64encode(data).decode("ascii")}


def unpacked(value: Any) -> Any:
    """A value of the JSON document as numpy: nested lists or a packed array (the inverse of plain)."""
    if isinstance(value, dict) and set(value) == PACKED_KEYS:
        data = np.frombuffer(base64.b64decode(value["base64"]), dtype=value["dtype"])
        return data.reshape(value["shape"])
    return value if value is None else np.asarray(value, dtype=np.float64)


@dataclass
class CaseResult:
    """One check's result: an expression (or your own functions) checked at one point.

    print(result) shows the table gradcheck eval prints; in a notebook it draws itself.

    Attributes:
        name: the case's name.
        expr: the expression (or the functions checked).
        status: "pass", "mismatch", "kink" (f is not differentiable at the point), "inconclusive" (nothing
            contradicts a claim, nothing accurate enough confirms it), "contract" (your code's gradients
            are right, but it writes into its inputs, dout or the cache, or returns a gradient of another
            dtype or of a shape that differs by size-1 axes) or "error".
        exit_code: what the command line exits with: 0 as expected, 1 not, 2 an input error, 4 inconclusive,
            5 a broken contract.
        value: f at the point (None for check_vjp and check_layer, whose output says what f returned).
        gradients: one GradientResult per variable, in the order they are written.
        point: every variable's value.
        random: the variables whose value was drawn with `seed`.
        verdict: the summary line ("all 5 partial derivatives agree").
        error: {"kind", "message"} when status is "error".
        seconds: how long the check took.
        file: the case file that holds the case (None outside case files).
        line: the line of its [[case]] header.
        expect: what the case expects: "pass", or "mismatch" for a documented wrong derivation
            (as_expected says whether it was).
        strict: whether a kink fails.
        dtype: the precision f was evaluated in.
        hessian: with order=2, the blocks ∂²f/∂a∂b keyed "a,b".
        reading: where f as written likely differs from what was meant (`1 / 1 + exp(-z)`).
        output: check_vjp and check_layer: the outputs' dtypes and shapes.
        notes: the lines shown under the table (precision, douts, contract problems).
    """

    name: str
    expr: str
    status: Status  # pass, mismatch, kink, inconclusive, contract or error
    value: float | None = None
    gradients: dict[str, GradientResult] = field(default_factory=dict)
    point: dict[str, Any] = field(default_factory=dict)  # scalars and arrays
    random: list[str] = field(default_factory=list)  # variables whose value was drawn with `seed`
    seed: int = 0
    verdict: str = ""
    error: dict[str, str] | None = None  # {"kind", "message"} when status is "error"
    seconds: float = 0.0
    # From expression files: where the case is, and what it expects ("mismatch" documents a wrong
    # derivation: the case is as expected when the mismatch is caught, like a strict xfail).
    file: str | None = None
    line: int | None = None
    expect: Status = Status.PASS
    strict: bool = False  # a kink fails like a mismatch
    dtype: str = "float64"  # the precision f, backprop and the differences were evaluated in
    hessian: dict[str, GradientResult] = field(default_factory=dict)  # --order 2: "a,b" -> ∂²f/∂a∂b
    reading: list[str] = field(default_factory=list)  # how f was read where that is a classic slip (reading.py)
    output: str | None = None  # check_vjp/check_layer: f's outputs' dtypes and shapes (value is then None)
    notes: list[str] = field(default_factory=list)  # lines shown under the table: precision, contract problems
    # The Problem an expression check worked on (its tree, point and claims), for the front ends that
    # draw more from it (--emit numpy, --latex); not part of the report (to_dict leaves it out).
    problem: Any = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (a -j worker's result) without its Problem: the tree holds the registry's functions."""
        return {**self.__dict__, "problem": None}

    @property
    def as_expected(self) -> bool:
        """Whether the outcome is what the case expects (a kink passes unless strict; an expected mismatch
        is met only by a wrong claim, claim_caught)."""
        if self.expect == Status.MISMATCH:
            return self.status == Status.MISMATCH and self.claim_caught
        outcome = {Status.KINK: Status.MISMATCH if self.strict else Status.PASS}.get(self.status, self.status)
        return outcome == self.expect

    @property
    def claim_caught(self) -> bool:
        """A wrong claim caught, and nothing else: some claimed column is the odd one out (or does not
        compute) while the oracles agree with each other everywhere. `expect = "mismatch"` is met only
        so: a mismatch among the oracles (a tampered symbolic store, numeric that cannot difference) is
        not the wrong derivation a case documents, and a claim since corrected must not pass as caught."""
        blocks = [*self.gradients.values(), *self.hessian.values()]
        if any(p.compared and not p.agree and "claimed" not in (p.a, p.b) for g in blocks for p in g.pairs):
            return False
        return any(g.status == Status.MISMATCH and (g.odd == "claimed" or ("claimed" in g.columns and g.columns["claimed"] is None))
                   for g in self.gradients.values())

    @property
    def exit_code(self) -> ExitStatus:
        """0 as expected, 1 not (a mismatch, or a kink under strict), 2 an input error, 3 an internal error (a
        bug of gradcheck's: error kind "internal"), 4 inconclusive, 5 right gradients from code that breaks a
        contract (writes into dout, say)."""
        if self.status == Status.ERROR:
            internal = self.error is not None and self.error.get("kind") == "internal"
            return ExitStatus.INTERNAL_ERROR if internal else ExitStatus.INPUT_ERROR
        if self.status == Status.INCONCLUSIVE:
            return ExitStatus.INCONCLUSIVE
        if self.status == Status.CONTRACT:
            return ExitStatus.CONTRACT
        return ExitStatus.OK if self.as_expected else ExitStatus.MISMATCH

    def __str__(self) -> str:
        """The same table `gradcheck eval` prints (imports rich on first use)."""
        return view("case_text", self) if self.status != Status.ERROR else f"error: {self.verdict}"

    # Jupyter and IPython: the colored table, or the plain one where a front end shows no HTML.
    def _repr_html_(self) -> str:
        return view("case_html", self)

    def _repr_markdown_(self) -> str:
        return view("markdown", str(self))

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def to_dict(self) -> dict[str, Any]:
        """The case as the JSON document writes it (--format json)."""
        return {
            "name": self.name,
            "expr": self.expr,
            "status": self.status,
            "value": self.value,
            "point": {name: plain(v) for name, v in self.point.items()},
            "random": list(self.random),
            "seed": self.seed,
            "gradients": {name: g.to_dict() for name, g in self.gradients.items()},
            "verdict": self.verdict,
            "error": self.error,
            "dtype": self.dtype,
            **({"hessian": {k: g.to_dict() for k, g in self.hessian.items()}} if self.hessian else {}),
            **({"reading": list(self.reading)} if self.reading else {}),
            **({"output": self.output} if self.output is not None else {}),
            **({"notes": list(self.notes)} if self.notes else {}),
            "expect": self.expect,
            "as_expected": self.as_expected,
            **({"file": self.file, "line": self.line} if self.file is not None else {}),
        }


STATUSES = tuple(Status)


@dataclass
class Report:
    """Several cases, as `gradcheck eval` (one) or `gradcheck check` (many) produce them.

    Attributes:
        cases: the CaseResults, in order.
        summary: how many cases there are, and how many have each status.
        exit_code: the worst of the cases' exit codes.
    """

    cases: list[CaseResult]

    @property
    def summary(self) -> dict[str, int]:
        """How many cases there are and how many have each status, keyed total, pass, mismatch, kink,
        inconclusive, contract and error."""
        counts = {status.value: 0 for status in STATUSES}
        for case in self.cases:
            counts[Status(case.status).value] += 1
        return {"total": len(self.cases), **counts}

    @property
    def exit_code(self) -> ExitStatus:
        """The most serious of the cases' exit codes (status.worst; 0 for no case)."""
        return worst(c.exit_code for c in self.cases)

    def __str__(self) -> str:
        """The table `gradcheck check` prints, without color."""
        return view("report_text", self)

    def _repr_html_(self) -> str:
        return view("report_html", self)

    def _repr_markdown_(self) -> str:
        return view("markdown", str(self))

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))
