"""SymPy's derivatives kept on disk, so that a check made of operations differentiated before does
not import SymPy (about half a second, most of a small check's process).

What is kept, per kind of call (sym_chain.py's key: the primitive, its static arguments, the shapes
of its inputs, and the exact constants and labels it holds): each output entry's template as
mpmath programs (its value and each partial derivative SymPy has given so far), and which input
entries each output entry reads. Never a value at a point: the symbolic column is still evaluated
at every check, to EVAL_DIGITS digits, from what SymPy differentiated.

Where: $GRADCHECK_CACHE_DIR, else $XDG_CACHE_HOME/gradcheck, else ~/.cache/gradcheck;
GRADCHECK_CACHE_DIR set to an empty string turns the store off. Entries live in a folder named by
a fingerprint of gradcheck's own source and the installed SymPy and mpmath, so an upgrade or an
edit starts afresh. The store is bounded (MAX_ENTRY_BYTES, MAX_ENTRIES, MAX_STORE_BYTES, MAX_FOLDERS) and best
effort: a file that cannot be read or written is skipped and SymPy differentiates as before.

A file is read with `json` and interpreted by Program.load, which accepts only numbers and the
names of the registry's mpmath rules (MPMATH_RULES); anything else and the file is ignored. No
text is evaluated. A tampered entry could at worst make the symbolic column wrong, which the
verdict reports as a disagreement with backprop and numeric, never as a pass.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

# The layout of an entry; a change starts a new folder.
FORMAT = 1
# An entry larger than this is not written (the forms of the largest kinds of call the symbolic
# limits admit are a few hundred kB).
MAX_ENTRY_BYTES = 4_000_000
# Entries and bytes per folder: above either, the oldest entries are removed until both are under
# three quarters of it (a kind of call is one entry of about a kilobyte; a few hundred cases of a
# course use a few hundred).
MAX_ENTRIES = 20_000
MAX_STORE_BYTES = 200_000_000
# A process looks at its folder's size when it first writes, then after writing this much more, so
# that the bound costs one listing per process, not one per entry written.
RESCAN_BYTES = 10_000_000
# Folders of other fingerprints kept (other versions of gradcheck or SymPy installed side by side).
MAX_FOLDERS = 4
ENVIRONMENT = "GRADCHECK_CACHE_DIR"

_folder: list[Path | None] = []  # worked out once per process
_written: list[int] = []  # bytes this process wrote since it last measured the folder (none yet: empty)


def folder() -> Path | None:
    """This installation's folder, or None when the store is turned off."""
    if not _folder:
        _folder.append(_choose())
    return _folder[0]


def forget_folder() -> None:
    """Work the folder out again (the environment changed: tests)."""
    _folder.clear()


def load(key: str) -> dict[str, Any] | None:
    """The entry stored for this key, or None."""
    where = folder()
    if where is None:
        return None
    try:
        with open(where / _name(key), encoding="utf-8") as f:
            entry = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key or entry.get("format") != FORMAT:
        return None
    return entry


def save(key: str, entry: dict[str, Any]) -> None:
    """Write the entry for this key, atomically (another process may be reading it)."""
    where = folder()
    if where is None:
        return
    text = json.dumps({"format": FORMAT, "key": key, **entry}, separators=(",", ":"))
    if len(text) > MAX_ENTRY_BYTES:
        return
    import tempfile

    try:
        fresh = not where.is_dir()
        where.mkdir(parents=True, exist_ok=True)
        if fresh:
            _prune_folders(where)
        handle, temporary = tempfile.mkstemp(dir=where, prefix=".", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temporary, where / _name(key))
        if not _written or _written[0] + len(text) > RESCAN_BYTES:
            _written[:] = [0]
            _prune_entries(where)
        else:
            _written[0] += len(text)
    except OSError:
        return


def _name(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:40] + ".json"


def _choose() -> Path | None:
    try:
        return _where()
    except (OSError, RuntimeError, KeyError):  # no home folder, an unreadable installation: no store
        return None


def _where() -> Path | None:
    configured = os.environ.get(ENVIRONMENT)
    if configured is not None:
        if not configured.strip():
            return None
        base = Path(configured).expanduser()
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gradcheck"
    return base / f"symbolic-{_fingerprint()}"


def _fingerprint() -> str:
    """gradcheck's source (every module: the forms, the keys and the programs all live in it) and
    the versions of SymPy and mpmath."""
    digest = hashlib.blake2b(str(FORMAT).encode(), digest_size=10)
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for root, folders, files in os.walk(package):
        folders[:] = sorted(f for f in folders if f != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, package).encode())
            with open(path, "rb") as f:
                digest.update(f.read())
    for name in ("sympy", "mpmath"):
        digest.update(_installed(name).encode())
    return digest.hexdigest()


def _installed(name: str) -> str:
    """The installed version from its dist-info folder's name, without importing the package;
    where there is none, where it lives and when it was written."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return f"{name}: absent"
    origin = Path(spec.origin)
    versions = sorted(p.name for p in origin.parent.parent.glob(f"{name}-*.dist-info"))
    if versions:
        return ";".join(versions)
    stat = origin.stat()
    return f"{origin}:{stat.st_mtime_ns}:{stat.st_size}"


def _prune_entries(where: Path) -> None:
    entries = []
    for path in where.iterdir():
        if path.suffix == ".json":
            try:
                stat = path.stat()
            except OSError:
                continue
            entries.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    if len(entries) <= MAX_ENTRIES and total <= MAX_STORE_BYTES:
        return
    entries.sort()  # oldest first
    count, keep_entries, keep_bytes = len(entries), MAX_ENTRIES * 3 // 4, MAX_STORE_BYTES * 3 // 4
    for _, size, path in entries:
        if count <= keep_entries and total <= keep_bytes:
            break
        path.unlink(missing_ok=True)
        count, total = count - 1, total - size


def _prune_folders(where: Path) -> None:
    others = [p for p in where.parent.iterdir() if p.is_dir() and p.name.startswith("symbolic-") and p != where]
    others.sort(key=_modified, reverse=True)
    for old in others[MAX_FOLDERS - 1:]:
        for path in old.iterdir():
            path.unlink(missing_ok=True)
        old.rmdir()


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
