"""`gradcheck layer FILE.py:forward FILE.py:backward`: the user's own module, imported because they named it.

As pytest does with test files, the file is imported explicitly from its path (its folder first on
sys.path, so it can import its neighbours). Only the command line does this, on a file the user names;
TOML case files never run code.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from ..base.errors import STOPS, CheckTimeout, SpecError, suggest

_loaded: dict[Path, ModuleType] = {}  # forward and backward from one file share one module


def load_function(spec: str) -> Callable:
    """'path/to/layers.py:affine_forward' -> the function (one-line SpecError for anything wrong)."""
    path_text, colon, name = spec.rpartition(":")
    if not colon or not path_text or not name:
        raise SpecError(f"{spec!r}: expected FILE.py:NAME, e.g. layers.py:affine_forward")
    path = Path(path_text)
    if path.suffix != ".py":
        raise SpecError(f"{spec!r}: {path_text} is not a Python file (FILE.py:NAME)")
    if not path.is_file():
        raise SpecError(f"{spec!r}: no such file {path_text}")
    module = _import(path.resolve())
    function = getattr(module, name, None)
    if function is None:
        public = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))

        raise SpecError(f"{path_text} has no function {name!r}{suggest(name, public)}")
    if not callable(function):
        raise SpecError(f"{path_text}:{name} is a {type(function).__name__}, not a function")
    return function


# FILE.py:Name(2.0, axes=(1,)): a class made with literal arguments (numbers, strings, tuples, lists, dicts)
CALLED = re.compile(r"\A([A-Za-z_]\w*)\s*\((.*)\)\s*\Z", re.DOTALL)
MAX_ARGUMENTS_TEXT = 1_000  # a constructor's arguments are a few literals: anything longer is refused before ast sees it


def load_object(spec: str) -> Any:
    """'layers.py:ReLU' -> the class, function or object; 'ops.py:MulScalar(2.0)' -> the class called with those
    literal arguments (read by ast.literal_eval: no names, calls or attributes are evaluated)."""
    at = spec.find(".py:")  # the arguments may hold colons ({"a": 1}): the path ends at the first .py:
    path_text, name = (spec[:at + 3], spec[at + 4:]) if at >= 0 else ("", "")
    called = CALLED.match(name)
    if called is None:
        return load_function(spec)
    text = called.group(2)
    if len(text) > MAX_ARGUMENTS_TEXT:
        raise SpecError(f"{spec[:60]!r}…: the arguments are longer than {MAX_ARGUMENTS_TEXT:,} characters")
    cls = load_function(f"{path_text}:{called.group(1)}")
    try:
        parsed = ast.parse(f"f({text})", mode="eval").body
        assert isinstance(parsed, ast.Call)
        args = [ast.literal_eval(a) for a in parsed.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in parsed.keywords if k.arg is not None}
        if len(kwargs) != len(parsed.keywords):
            raise ValueError("**")
    except (ValueError, SyntaxError, TypeError, AssertionError, MemoryError, RecursionError):
        raise SpecError(f"{spec!r}: the arguments of {called.group(1)} must be literals (numbers, strings, tuples, "
                        "lists, dicts), as in MulScalar(2.0) or Summation(axes=(1,))") from None
    try:
        return cls(*args, **kwargs)
    except (*STOPS, CheckTimeout):
        raise
    except Exception as exc:  # noqa: BLE001 - the user's constructor: one line, not a traceback
        raise SpecError(f"{spec!r}: {called.group(1)}({text}) raised {type(exc).__name__}: {exc}") from None


def _import(path: Path) -> ModuleType:
    if path in _loaded:
        return _loaded[path]
    module_name = f"gradcheck_user_{path.stem}_{len(_loaded)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise SpecError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SystemExit as exc:
        raise SpecError(f"importing {path.name} called sys.exit({exc.code}){_line(exc, path)}: guard the script "
                        "part with if __name__ == '__main__':") from None
    except BaseException as exc:  # the user's module: any failure is one line, not a traceback
        if isinstance(exc, (*STOPS, CheckTimeout)):  # Ctrl-C, SIGTERM and the budget are not the module's
            raise
        line = _line(exc, path)
        said = str(exc)
        if isinstance(exc, SyntaxError) and exc.msg:  # str() of a SyntaxError ends with its own (file, line N)
            said = exc.msg
        raise SpecError(f"importing {path.name} raised {type(exc).__name__}: {said}{line}") from None
    _loaded[path] = module
    return module


def _line(exc: BaseException, path: Path) -> str:
    tb, found = exc.__traceback__, None
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == path:
            found = tb.tb_lineno
        tb = tb.tb_next
    if found is None and isinstance(exc, SyntaxError) and exc.lineno:
        found = exc.lineno
    return f" (line {found})" if found else ""
