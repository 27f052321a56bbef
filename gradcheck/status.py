"""Exit codes: what a run of gradcheck tells its caller (httpie's ExitStatus, one comment per code).

Plain Python, so the command line can use it without importing numpy. A result knows its own exit
code (Report.exit_code); the click layer only passes it on, in one place.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0  # every gradient agrees (and every claim is right)
    MISMATCH = 1  # some gradient disagrees: a wrong claim, or a disagreement among the oracles
    INPUT_ERROR = 2  # bad input: syntax, unknown name, a bad value, f undefined at the point
    INTERNAL_ERROR = 3  # a rule of gradcheck's own broke its contract (errors.RuleError): a bug to report
    INTERRUPTED = 130  # Ctrl-C (SIGINT), as shells report it
    TERMINATED = 143  # SIGTERM (CI runners, kill), as shells report it: 128 + 15
