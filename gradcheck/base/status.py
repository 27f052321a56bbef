"""Exit codes: what a run of gradcheck tells its caller (httpie's ExitStatus, one comment per code).

Plain Python, so the command line can use it without importing numpy. A result knows its own exit
code (Report.exit_code); the click layer only passes it on, in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum, IntEnum


class Status(str, Enum):
    """What a check concluded, of one gradient or a whole case. A str, so JSON and comparisons with the
    plain words keep working ("pass" == Status.PASS)."""

    PASS = "pass"  # every column agrees, claims included
    MISMATCH = "mismatch"  # a column disagrees: a wrong claim, or oracles that disagree
    KINK = "kink"  # f is not differentiable at the point; every claim lies between the one-sided derivatives
    INCONCLUSIVE = "inconclusive"  # nothing contradicts a claim, and nothing accurate enough confirms it
    # your own code's gradients are right, but it breaks a promise a backward makes beyond its values: it
    # writes into an input, dout or the cache, or returns a gradient of another dtype or of a shape that
    # differs by size-1 axes (checks/contracts.py)
    CONTRACT = "contract"
    ERROR = "error"  # bad input: the case could not be checked

    def __str__(self) -> str:
        return self.value


class ExitStatus(IntEnum):
    OK = 0  # every gradient agrees (and every claim is right)
    MISMATCH = 1  # some gradient disagrees: a wrong claim, or a disagreement among the oracles
    INPUT_ERROR = 2  # bad input: syntax, unknown name, a bad value, f undefined at the point
    INTERNAL_ERROR = 3  # a rule of gradcheck's own broke its contract (errors.RuleError): a bug to report
    INCONCLUSIVE = 4  # nothing contradicts a claim, but nothing is accurate enough to confirm it either
    CONTRACT = 5  # the gradients are right, but the code breaks a contract (writes into dout, say): not a wrong gradient
    INTERRUPTED = 130  # Ctrl-C (SIGINT), as shells report it
    TERMINATED = 143  # SIGTERM (CI runners, kill), as shells report it: 128 + 15


# Which code a run of several cases exits with: the most serious outcome among them. A wrong gradient
# found matters more than one that could not be confirmed; bad input or a bug of ours more than both.
# A broken contract ranks between: it is a defect found (so above a gradient not confirmed), but the
# network still learns the right thing from it in isolation (so below a wrong gradient, which it never does).
PRECEDENCE = (ExitStatus.OK, ExitStatus.INCONCLUSIVE, ExitStatus.CONTRACT, ExitStatus.MISMATCH,
              ExitStatus.INPUT_ERROR, ExitStatus.INTERNAL_ERROR)


def worst(codes: Iterable[ExitStatus]) -> ExitStatus:
    """The exit code of several outcomes (PRECEDENCE); OK for none."""
    return max(codes, key=PRECEDENCE.index, default=ExitStatus.OK)
