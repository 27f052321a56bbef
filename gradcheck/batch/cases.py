"""Expression files: TOML with [[case]] tables, each one gradcheck.check call.

    [[case]]
    name = "sigmoid neuron, the learner's mistake"
    expr = "sigmoid(z)"
    let = { z = "w0*x0 + w1*x1 + w2" }
    at = { w0 = 2, w1 = -3, w2 = -3, x0 = -1, x1 = -2 }
    grad = { w0 = "x0*sigmoid(z)" }       # activation where (1 - activation)*activation belongs
    expect = "mismatch"

A file that cannot be read, or a case with an unknown key, a missing expr or a value of the wrong
type, becomes a case with status "error" naming file, case and key; the other cases still run.

Case files may come from untrusted people (a course's students, a pull request): a file is read only
if it is a regular file of at most MAX_CASE_FILE_BYTES, and a link (or a file found through a linked
folder) only if it resolves inside the folder it was found in or the root (--root, default the working
directory). A case that raises anything unexpected ends as an internal error naming it (exit 3).
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from ..base.errors import CheckTimeout, GradcheckError, SpecError, suggest
from ..base.limits import MAX_CASE_FILE_BYTES
from ..base.options import Options
from ..base.status import Status
from .grading import case_budget, run_out, timed_out_by_run

if TYPE_CHECKING:
    from ..verdict.result import CaseResult

EXPECTATIONS = (Status.PASS, Status.MISMATCH)
# The error kind of a case gradcheck itself failed on (result.CaseResult.exit_code: 3).
INTERNAL = "internal"
# key -> (the types TOML may give it, what the message calls them)
# key -> (the types TOML may give it, what the message calls them). The options come from their one
# declaration (gradcheck/options.py); the rest say what to check and what to expect.
KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "name": ((str,), "text"),
    "expr": ((str,), "text"),
    "at": ((dict, str), "a table of values or text like \"x=1,y=2\""),
    "let": ((dict,), "a table of name = expression"),
    "grad": ((dict,), "a table of variable = expression"),
    "wrt": ((str, list), "text like \"W1,W2\" or a list of names"),
    "data": ((str, list), "text like \"X,mask\" or a list of names"),
    **{f.name: ((int, float) if f.metadata["kind"] is float else (f.metadata["kind"],), f.metadata["toml"])
       for f in fields(Options) if f.metadata["toml"]},
    "expect": ((str,), "\"pass\" or \"mismatch\""),
}
_CASE_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*case[ \t]*\]\]", re.MULTILINE)


@dataclass
class CaseSpec:
    """One [[case]] of a file, validated, or the error that stops it from running."""

    name: str
    file: str
    line: int  # 1-based line of its [[case]] header (of the file, for a file-level error)
    options: dict[str, Any] = field(default_factory=dict)  # the keyword arguments of gradcheck.check
    expect: Status = Status.PASS
    error: GradcheckError | None = None
    deadline: float | None = None  # time.monotonic() when the run's budget runs out (grading.py), if it has one
    run_timeout: float | None = None  # that budget, in seconds


def discover(paths: list[str], root: Path | None = None) -> tuple[list[Path], list[CaseSpec]]:
    """The TOML files under paths (directories recursively, sorted), and errors for paths that are not
    there or that a link leads out of the folder searched and the root."""
    files, missing = [], []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for found in sorted(p for p in path.rglob("*.toml") if not p.is_dir()):
                escape = outside(found, path, root)
                if escape is not None:
                    missing.append(CaseSpec(found.name, str(found), 0, error=escape))
                elif has_cases(found):
                    files.append(found)
        elif path.exists() or path.is_symlink():
            files.append(path)
        else:
            missing.append(CaseSpec(raw, raw, 0, error=SpecError(f"{raw}: no such file or directory")))
    return files, missing


def outside(path: Path, folder: Path, root: Path | None = None) -> SpecError | None:
    """Why a case file may not be read, or None: it resolves (links followed) outside both the folder
    it was found in and the root. A file the user named that is not a link is theirs, wherever it is;
    a link, planted by whoever wrote the folder, could point at anyone's files."""
    real = Path(os.path.realpath(path))
    for allowed in (folder, Path.cwd() if root is None else root):
        inside = Path(os.path.realpath(allowed))
        if real == inside or inside in real.parents:
            return None
    where = Path(os.path.realpath(Path.cwd() if root is None else root))
    return SpecError(f"{path}: resolves outside {folder} and the root {where} (links are followed first); a case "
                     "file found through a link is read only inside them (gradcheck check --root DIR)")


def has_cases(path: Path) -> bool:
    """Whether a TOML file found in a directory is meant for gradcheck: it has [[case]] tables, or
    something close (a key like `cases`, or tables that hold an `expr`). A file meant for gradcheck
    with a mistake in it, or one that does not parse, counts, so its error is reported, not skipped;
    other TOML (pyproject.toml) is left alone."""
    try:
        document = tomllib.loads(read_text(path))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return True  # a file that cannot be read or decoded is reported (load names it), never skipped
    if "case" in document or any(suggest(key, ["case"]) for key in document):
        return True
    return any(isinstance(v, list) and any(isinstance(t, dict) and "expr" in t for t in v) for v in document.values())


# How much of a file's start declares_cases reads: a case file's first [[case]] comes after at most a
# comment block; a large foreign file is not read whole.
DECLARATION_BYTES = 64 * 1024
_EXPR_KEY = re.compile(r"^[ \t]*expr[ \t]*=", re.MULTILINE)


def declares_cases(path: Path) -> bool:
    """Whether a file declares itself a gradcheck case file: within its first DECLARATION_BYTES, a
    `[[case]]` header and an `expr = ` key at the start of lines. Read as text, never parsed, so that
    TOML of other tools (settings.toml's [base], a deeply nested or a binary .toml) is never claimed;
    a file that cannot be read declares nothing."""
    try:
        if not path.is_file():  # a FIFO would block the read
            return False
        with path.open("rb") as handle:
            head = handle.read(DECLARATION_BYTES).decode("utf-8-sig", errors="replace")  # load reports bad UTF-8
    except OSError:
        return False
    return bool(_CASE_HEADER.search(head)) and bool(_EXPR_KEY.search(head))


def read_text(path: Path) -> str:
    """A TOML file's text: UTF-8, with a byte-order mark (as Windows editors write) allowed and dropped.
    Opened without blocking, and read only if it is a regular file of at most MAX_CASE_FILE_BYTES."""
    return read_bytes(path).decode("utf-8-sig")


def read_bytes(path: Path) -> bytes:
    """A case file's bytes: a FIFO would block the read for ever, a device never end, a broken link vanish
    silently; a huge file would be parsed whole before anything else runs."""
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        if path.is_symlink():
            raise OSError(errno.EINVAL, "not a regular file (a FIFO, a device or a broken link)") from None
        raise
    with os.fdopen(handle, "rb") as f:
        found = os.fstat(f.fileno())
        if not stat.S_ISREG(found.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a FIFO, a device or a broken link)")
        if found.st_size > MAX_CASE_FILE_BYTES:
            raise OSError(errno.EFBIG, f"{found.st_size:,} bytes; a case file may have at most "
                                       f"{MAX_CASE_FILE_BYTES:,} (large data belongs in .npy files)")
        data = f.read(MAX_CASE_FILE_BYTES + 1)
    if len(data) > MAX_CASE_FILE_BYTES:  # it grew while being read
        raise OSError(errno.EFBIG, f"more than {MAX_CASE_FILE_BYTES:,} bytes")
    return data


def load(path: Path, root: Path | None = None) -> list[CaseSpec]:
    """Every case of one file, in order. The .npy files its cases name must resolve inside root
    (default: the working directory): a case file may come from an untrusted pull request."""
    where = str(path)
    if path.is_symlink():
        escape = outside(path, path.parent, root)
        if escape is not None:
            return [CaseSpec(path.name, where, 0, error=escape)]
    try:
        text = read_text(path)
        document = tomllib.loads(text)
    except OSError as exc:
        return [CaseSpec(path.name, where, 0, error=SpecError(f"{where}: cannot read: {exc.strerror or exc}"))]
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        return [CaseSpec(path.name, where, line, error=SpecError(
            f"{where}:{line}: not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "TOML files are UTF-8"))]
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _toml_line(str(exc))
        return [CaseSpec(path.name, where, line, error=SpecError(f"{where}:{line}: not valid TOML: {exc}"))]
    except RecursionError:  # tomllib recurses into nested arrays and tables
        return [CaseSpec(path.name, where, 0, error=SpecError(f"{where}: arrays or tables nested too deeply to read"))]
    unknown = [k for k in document if k != "case"]
    if unknown or not isinstance(document.get("case"), list):
        what = (f"unknown top-level key '{unknown[0]}'{suggest(unknown[0], ['case'])}" if unknown
                else "no [[case]] tables")
        return [CaseSpec(path.name, where, 1, error=SpecError(f"{where}: {what}"))]
    lines = [text.count("\n", 0, m.start()) + 1 for m in _CASE_HEADER.finditer(text)]
    specs = []
    for index, table in enumerate(document["case"]):
        line = lines[index] if index < len(lines) else 0
        specs.append(_spec(table, index, where, line, path.parent, Path.cwd() if root is None else root))
    return specs


def _spec(table: Any, index: int, where: str, line: int, base: Path, root: Path) -> CaseSpec:
    label = str(table["name"]) if isinstance(table, dict) and isinstance(table.get("name"), str) else f"case {index + 1}"
    place = f"{where}:{line}: case '{label}'"

    def fail(message: str) -> CaseSpec:
        return CaseSpec(label, where, line, error=SpecError(f"{place}: {message}"))

    if not isinstance(table, dict):
        return fail("is not a table")
    for key, value in table.items():
        if key not in KEYS:
            return fail(f"unknown key '{key}'{suggest(key, KEYS)}")
        types, wanted = KEYS[key]
        if isinstance(value, bool) or not isinstance(value, types):
            return fail(f"key '{key}' must be {wanted}, got {_toml_type(value)}")
    if "expr" not in table:
        return fail("has no 'expr'")
    expect = table.get("expect", Status.PASS)
    if expect not in EXPECTATIONS:
        return fail(f"key 'expect' must be \"pass\" or \"mismatch\", got {expect!r}")
    options = {key: value for key, value in table.items() if key not in ("name", "expect")}
    options.update(name=label, base=base, npy_root=root)  # plumbing, not TOML keys
    return CaseSpec(label, where, line, options, Status(expect))


def _toml_line(message: str) -> int:
    """The line tomllib names in its message (Python < 3.14 gives no lineno attribute), else 0."""
    found = re.search(r"line (\d+)", message)
    return int(found.group(1)) if found else 0


def _toml_type(value: Any) -> str:
    return {bool: "true/false", int: "a whole number", float: "a number", str: "text", list: "an array",
            dict: "a table"}.get(type(value), type(value).__name__)


def select(specs: list[CaseSpec], pattern: str | None) -> list[CaseSpec]:
    """-k PATTERN: cases whose name contains PATTERN, or matches it as a glob (case-insensitive)."""
    if not pattern:
        return specs
    wanted = pattern.lower()
    return [s for s in specs if wanted in s.name.lower() or fnmatch.fnmatch(s.name.lower(), wanted)]


def run(spec: CaseSpec) -> CaseResult:
    """Check one case; input errors become a result with status "error" (nothing is raised), and so does
    anything unexpected (an internal error: a bug in gradcheck, exit 3), so that the other cases are
    still checked and reported."""
    # deferred: mpmath, numpy on first use only (start-up)
    from ..checks.expression import check, error_result

    started = time.perf_counter()
    stopped = run_out(spec) if spec.error is None else None
    if spec.error is not None:
        result = error_result(spec.name, spec.error, name=spec.name)
    elif stopped is not None:
        result = error_result(spec.name, CheckTimeout(f"{spec.file}:{spec.line}: case '{spec.name}': {stopped}"),
                              name=spec.name)
    else:
        options = dict(spec.options)
        expr = options.pop("expr")
        budget = case_budget(spec)  # cut to what the run has left
        if budget is not None:
            options["timeout"] = budget
        try:
            result = check(expr, **options)
        except GradcheckError as exc:
            result = error_result(expr, exc, name=spec.name, seed=options.get("seed", 0))
            result.verdict = f"{spec.file}:{spec.line}: case '{spec.name}': {timed_out_by_run(spec, exc) or exc}"
            result.error = {"kind": exc.kind, "message": result.verdict}
        except Exception as exc:  # noqa: BLE001 - a bug of gradcheck's: this case ends, the run goes on
            result = internal_error(spec, f"{type(exc).__name__}: {exc}")
    result.file, result.line, result.expect = spec.file, spec.line, spec.expect
    result.strict = bool(spec.options.get("strict", False))
    result.seconds = time.perf_counter() - started
    return result


def internal_error(spec: CaseSpec, what: str) -> CaseResult:
    """A case that gradcheck itself failed on (a bug, or a worker process that died): status "error",
    error kind "internal", exit code 3, one line naming the case."""
    # deferred: numpy on first use only (start-up)
    from ..verdict.result import CaseResult

    message = (f"{spec.file}:{spec.line}: case '{spec.name}': internal error (a bug in gradcheck; please report "
               f"it): {what}")
    return CaseResult(name=spec.name, expr=str(spec.options.get("expr", spec.name)), status=Status.ERROR, verdict=message,
                      error={"kind": INTERNAL, "message": message}, file=spec.file, line=spec.line, expect=spec.expect)
