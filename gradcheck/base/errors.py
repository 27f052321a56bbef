"""The errors gradcheck raises for bad input.

Every one derives from GradcheckError, so a caller of the library needs one except clause,
and the CLI turns any of them into a one-line message and exit code 2. Each carries an
optional Span so the message can point at the column where the input went wrong.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from .source import Span


class GradcheckError(Exception):
    """Bad input: the expression, a value, an option. `kind` names the family in JSON output."""

    kind = "input"

    def __init__(self, message: str, span: Span | None = None):
        super().__init__(message)
        self.message = message
        self.span = span

    def __str__(self) -> str:
        if self.span is None:
            return self.message
        return f"{self.span.where()}: {self.message}"

    def excerpt(self) -> str | None:
        """The offending text with a caret line under the span, or None if there is no span."""
        return None if self.span is None else self.span.caret()


class ParseError(GradcheckError):
    """The text is not an expression gradcheck accepts (syntax, unknown name, limits)."""

    kind = "parse"


class UnknownNameError(ParseError):
    """A name the expression language does not know: an unknown variable or function."""


class ValueSpecError(GradcheckError):
    """A value given with --at (or a TOML `at`) is not a usable number."""

    kind = "value"


class SpecError(GradcheckError):
    """Options that do not fit together: --grad for a variable f does not use, a --let clash."""

    kind = "spec"


class DomainError(GradcheckError):
    """f or one of its derivatives is undefined at the point: log(-1), 1/0, overflow."""

    kind = "domain"


class ShapeError(GradcheckError):
    """Array shapes that do not fit: X(3,2) @ W(3,2), a bias that does not broadcast, f not a scalar."""

    kind = "shape"


class FunctionError(GradcheckError):
    """The user's own f or grad_f (check_function) raised an exception."""

    kind = "function"


def suggest(name: str, known: Iterable[str]) -> str:
    """" (did you mean 'sigmoid'?)" when a known name is close to `name`, else ""."""
    names = [k for k in known if isinstance(k, str)]
    by_case = [k for k in names if k.lower() == name.lower()]  # SIN, Relu: difflib's ratio misses them
    close = by_case or difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class CheckTimeout(GradcheckError):
    """A check took longer than its time budget (--timeout)."""

    kind = "timeout"


class RuleError(RuntimeError):
    """A rule of gradcheck's own registry broke its contract (a VJP returned the wrong shape): a bug in
    gradcheck, not bad input. The CLI reports it on one line with exit code 3."""


class Terminated(BaseException):
    """SIGTERM (what CI runners and `kill` send), raised in the main thread so that clean-up runs. A
    BaseException, like KeyboardInterrupt: what catches the user's own exceptions lets it through."""


# What ends a run from outside, never the user's code's doing: passed through wherever the user's
# functions are called, as the command line turns them into exit codes 130 and 143.
STOPS = (KeyboardInterrupt, Terminated)
