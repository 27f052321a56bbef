"""The options of a check, declared once.

Each option is a field of `Options`, with its default, its choices, its help text and the TOML
type it takes in a case file. The command line's options (cli.py), the keys of case files
(cases.py), `gradcheck.check`, `check_function` and `trace` all derive from these declarations; a
test keeps `gradcheck.check`'s visible signature equal to them. Plain Python: the CLI reads it to
build --help without importing numpy.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .budget import DEFAULT_TIMEOUT  # signal and threading only: light
from .errors import SpecError, suggest
from .tolerance import DEFAULT_RTOL, FLOAT32_RTOL

MODES = ("auto", "full", "fast")
METHODS = ("auto", "central", "richardson", "complex")
DTYPES = ("float64", "float32")
ORDERS = (1, 2)
# A day: longer than any check should take, and well inside what the platform's timer accepts.
MAX_TIMEOUT = 86_400.0
# rtol is a fraction of the larger of two values; above 1 it says nothing more (and 1e308 overflowed
# the verdict's own arithmetic).
MAX_RTOL = 1.0


def _option(default: Any, help: str, *, choices: tuple = (), toml: str | None = None, kind: type | None = None,
            flag: bool = False) -> Any:
    """A field with what the CLI and case files need to know of it."""
    return field(default=default, metadata={"help": help, "choices": choices, "toml": toml, "kind": kind,
                                            "flag": flag})


@dataclass(frozen=True)
class Options:
    """How a check is run. Every field has a default; `Options(**given)` validates what is given."""

    seed: int = _option(0, "Seed for the random values of variables without --at (and fast mode's probes).",
                        toml="a whole number", kind=int)
    rtol: float | None = _option(None, f"Relative tolerance. Default: {DEFAULT_RTOL:g} ({FLOAT32_RTOL:g} with "
                                       "--dtype float32). Two columns agree when |a-b| <= atol + rtol*max(|a|,|b|) "
                                       "plus ten times their own rounding and error estimates at that entry.",
                                 toml="a number", kind=float)
    atol: float | None = _option(None, "Absolute tolerance added to the rule above. Default: 0 (every entry "
                                       "is judged by its own oracles' uncertainty).", toml="a number", kind=float)
    mode: str = _option("auto", "Finite differences of every entry (full), of random directions and entries "
                                "(fast), or full for small arrays and fast for large ones (auto).",
                        choices=MODES, toml='"auto", "full" or "fast"', kind=str)
    method: str = _option("auto", "Finite differences: complex step, Richardson extrapolation or central; auto "
                                  "takes the complex step for each variable whose path to f has complex forms "
                                  "(relu, max too), else central.", choices=METHODS, toml='"auto", "central", "richardson" or "complex"',
                          kind=str)
    dtype: str = _option("float64", "Evaluate f, backprop, claims and differences in this precision (float32: as "
                                    "a float32 model would, with tolerances scaled for it).",
                         choices=DTYPES, toml='"float64" or "float32"', kind=str)
    order: int = _option(1, "2: also check the Hessian (SymPy's second derivatives against differences of "
                            "backprop).", choices=ORDERS, toml="1 or 2", kind=int)
    strict: bool = _option(False, "A kink (a point where f is not differentiable) fails like a mismatch.",
                           kind=bool, flag=True)
    timeout: float | None = _option(None, f"Time budget of each check in seconds (default {DEFAULT_TIMEOUT:g}; 0: "
                                          "none); past it, an input error (exit 2) naming the step that ran out.",
                                    toml="a number of seconds", kind=float)
    formulas: bool = _option(False, "Also print each gradient's formula: gradcheck's own matrix-form derivation "
                                    "(checked at the point against symbolic and backprop), and SymPy's simplified "
                                    "formula where every value is a scalar.", kind=bool, flag=True)

    def __post_init__(self) -> None:
        for f in fields(self):
            _validate(f.name, getattr(self, f.name), f.metadata)

    def replace(self, **changes: Any) -> Options:
        return Options(**{**self.as_dict(), **changes})

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _validate(name: str, value: Any, meta: Any) -> None:
    kind, choices = meta["kind"], meta["choices"]
    if value is None and name in NULLABLE:
        return
    if kind is bool:
        if not isinstance(value, bool):
            raise SpecError(f"--{name} must be true or false, got {value!r}")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else kind):
        raise SpecError(f"--{name} must be {meta['toml'] or kind.__name__}, got {value!r}")
    if choices and value not in choices:
        raise SpecError(f"--{name} must be one of {', '.join(map(str, choices))}, got {value!r}")
    if name == "seed" and value < 0:
        raise SpecError(f"--seed must be a whole number ≥ 0, got {value!r}")
    if kind is float and isinstance(value, int) and abs(value) > 2 ** 1023:  # float() would raise OverflowError
        raise SpecError(f"--{name} must be {meta['toml']}, got a whole number of {len(str(abs(value)))} digits")
    if name in ("rtol", "atol") and (not math.isfinite(value) or value < 0):
        raise SpecError(f"--{name} must be a finite number ≥ 0, got {value!r}")
    if name == "rtol" and value > MAX_RTOL:
        raise SpecError(f"--rtol must be at most {MAX_RTOL:g} (a fraction of the larger value: at 1 any two numbers of "
                        f"one sign agree), got {value!r}")
    if name == "timeout" and not 0 <= value <= MAX_TIMEOUT:
        raise SpecError(f"--timeout must be a number of seconds ≥ 0 (0: no budget) and at most {MAX_TIMEOUT:g}, "
                        f"got {value!r}")


NULLABLE = {f.name for f in fields(Options) if f.default is None}
OPTION_NAMES = tuple(f.name for f in fields(Options))
# The options a case file may set (strict and formulas belong to the run, not to a case).
TOML_KEYS: dict[str, str] = {f.name: f.metadata["toml"] for f in fields(Options) if f.metadata["toml"]}


def make(given: dict[str, Any], allowed: tuple[str, ...] = OPTION_NAMES, what: str = "check") -> Options:
    """Options from keyword arguments, refusing names that are not options of `what`."""

    for name in given:
        if name not in allowed:
            raise SpecError(f"{what}() has no option '{name}'{suggest(name, allowed)}; "
                            f"its options are {', '.join(allowed)}")
    return Options(**given)


def folder_option(name: str, value: Any) -> Path | None:
    """A folder given through the API (check's base and npy_root): a path as text or os.PathLike, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)):
        raise SpecError(f"{name} must be a folder (text or a pathlib.Path), got {type(value).__name__}")
    try:
        return Path(value)
    except TypeError:  # an os.PathLike whose path is bytes
        raise SpecError(f"{name} must be a folder given as text, got {value!r}") from None


def name_option(value: Any) -> str | None:
    """A case's name through the API: text or None (a numpy array's truth value raised a ValueError)."""
    if value is None or isinstance(value, str):
        return value
    raise SpecError(f"name must be text, got {type(value).__name__}")
