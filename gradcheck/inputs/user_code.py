"""`gradcheck layer FILE.py:forward FILE.py:backward`: the user's own module, imported because they named it.

As pytest does with test files, the file is imported explicitly from its path (its folder first on
sys.path, so it can import its neighbours). Only the command line does this, on a file the user names;
TOML case files never run code.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

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
        raise SpecError(f"importing {path.name} raised {type(exc).__name__}: {exc}{line}") from None
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
