"""SymPy's derivatives kept on disk, so that a check made of operations differentiated before does
not import SymPy (about half a second, most of a small check's process).

What is kept, per kind of call (sym_chain.py's key: the primitive, its static arguments, the shapes
of its inputs, and the exact constants and labels it holds): each output entry's template as
mpmath programs (its value and each partial derivative SymPy has given so far), and which input
entries each output entry reads. Never a value at a point: the symbolic column is still evaluated
at every check, to EVAL_DIGITS digits, from what SymPy differentiated.

Where: $GRADCHECK_CACHE_DIR, else $XDG_CACHE_HOME/gradcheck (an absolute path only, as the XDG rules
say), else ~/.cache/gradcheck; GRADCHECK_CACHE_DIR set to an empty string turns the store off.
Entries live in a folder named by a fingerprint of gradcheck's own source and the installed SymPy
and mpmath, so an upgrade or an edit starts afresh. The store is bounded (MAX_ENTRY_BYTES,
MAX_ENTRIES, MAX_STORE_BYTES, MAX_FOLDERS) and best effort: a file that cannot be read or written is
skipped and SymPy differentiates as before.

A cache folder may be shared with other people (a CI runner's, a course server's). So a store
folder is used, or pruned, only if it is a real folder (not a link) owned by this user and writable
by no one else; it is opened once and every file is reached through that open folder, never by
following a path again, and nothing outside it is ever touched. An entry is opened without
blocking and without following a link, and read only if it is a regular file of at most
MAX_ENTRY_BYTES (a FIFO or a device planted there is skipped, not waited on).

A file is read with `json` and interpreted by Program.load, which accepts only numbers and the
names of the registry's mpmath rules (MPMATH_RULES); sym_chain.py then checks it against the call
it is read for (its registers, its shape, the length of its programs) and ignores it otherwise. No
text is evaluated. A tampered entry could at worst make the symbolic column wrong, which the
verdict reports as a disagreement with backprop and numeric, never as a pass.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..base.limits import MAX_ENTRY_BYTES, MAX_STORE_BYTES
from ..base.limits import STORE_MAX_ENTRIES as MAX_ENTRIES
from ..base.limits import STORE_MAX_FOLDERS as MAX_FOLDERS

# The layout of an entry; a change starts a new folder.
FORMAT = 1
# A process looks at its folder's size when it first writes, then after writing this much more, so
# that the bound costs one listing per process, not one per entry written.
RESCAN_BYTES = 10_000_000
ENVIRONMENT = "GRADCHECK_CACHE_DIR"
# Permission bits that let someone else change a folder's contents: group and others' write.
SHARED_WRITE = stat.S_IWGRP | stat.S_IWOTH
# How files are opened: never through a link, never waiting on a FIFO, binary on Windows.
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_READ = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_BINARY", 0)
# Where the platform can reach files relative to an open folder (POSIX), every file is reached that
# way; elsewhere (Windows, whose cache folders are the user's own) by its path.
_BY_DESCRIPTOR = (os.open in os.supports_dir_fd and os.unlink in os.supports_dir_fd
                  and os.scandir in os.supports_fd and hasattr(os, "O_DIRECTORY") and bool(_NOFOLLOW))


@dataclass
class _Folder:
    """The store folder, opened and checked: `fd` is an open descriptor of it (None: reached by path)."""

    path: Path
    fd: int | None

    def at(self, name: str) -> str:
        """A file of the folder, as the os functions take it with dir_fd=self.fd."""
        return name if self.fd is not None else str(self.path / name)


_folder: list[Path | None] = []  # worked out once per process
_opened: list[_Folder | None] = []  # the folder opened (None: refused, the store is off), once it exists
_written: list[int] = []  # bytes this process wrote since it last measured the folder (none yet: empty)


def folder() -> Path | None:
    """This installation's folder, or None when the store is turned off."""
    if not _folder:
        _folder.append(_choose())
    return _folder[0]


def forget_folder() -> None:
    """Work the folder out again (the environment changed: tests)."""
    _folder.clear()
    for opened in _opened:
        if opened is not None and opened.fd is not None:
            os.close(opened.fd)
    _opened.clear()


def load(key: str) -> dict[str, Any] | None:
    """The entry stored for this key, or None."""
    where = _open(create=False)
    if where is None:
        return None
    try:
        handle = os.open(where.at(_name(key)), _READ, dir_fd=where.fd)
    except OSError:
        return None
    try:
        with os.fdopen(handle, "rb") as f:
            handle = -1
            found = os.fstat(f.fileno())
            if not stat.S_ISREG(found.st_mode) or found.st_size > MAX_ENTRY_BYTES:
                return None  # a FIFO, a device or a link would block, never end or lead elsewhere
            data = f.read(MAX_ENTRY_BYTES + 1)
        if len(data) > MAX_ENTRY_BYTES:
            return None
        entry = json.loads(data.decode("utf-8"))
    except (OSError, ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        return None
    finally:
        if handle >= 0:
            os.close(handle)
    if not isinstance(entry, dict) or entry.get("key") != key or entry.get("format") != FORMAT:
        return None
    return entry


def save(key: str, entry: dict[str, Any]) -> None:
    """Write the entry for this key, atomically (another process may be reading it)."""
    text = json.dumps({"format": FORMAT, "key": key, **entry}, separators=(",", ":"))
    if len(text) > MAX_ENTRY_BYTES:
        return
    where = _open(create=True)
    if where is None:
        return
    import secrets

    temporary = where.at(f".{secrets.token_hex(8)}.tmp")
    try:
        handle = os.open(temporary, _CREATE, 0o600, dir_fd=where.fd)
        try:
            with os.fdopen(handle, "wb") as f:
                f.write(text.encode("utf-8"))
            os.replace(temporary, where.at(_name(key)), src_dir_fd=where.fd, dst_dir_fd=where.fd)
        except OSError:
            os.unlink(temporary, dir_fd=where.fd)
            raise
        if not _written or _written[0] + len(text) > RESCAN_BYTES:
            _written[:] = [0]
            _prune_entries(where)
        else:
            _written[0] += len(text)
    except OSError:
        return


def _open(create: bool) -> _Folder | None:
    """The store folder, opened once it is known to be this user's own; None when there is none
    (yet: load does not create it) or it is refused."""
    if _opened:
        return _opened[0]
    path = folder()
    if path is None:
        return None
    try:
        opened = _open_checked(path, create)
    except OSError:
        opened = None
        if not create:  # not there yet, perhaps: save may create it
            return None
    _opened.append(opened)
    return opened


def _open_checked(path: Path, create: bool) -> _Folder | None:
    """Open the folder (making it if asked, private to this user) and check it: a real folder, owned by
    this user, writable by no one else. A folder someone else made, or a link planted in its place, is
    refused: the store is then off for this process. A new folder prunes those of old installations."""
    if create:
        os.makedirs(path.parent, mode=0o700, exist_ok=True)
    if not _BY_DESCRIPTOR:
        fresh = create and not os.path.lexists(path)
        if fresh:
            os.mkdir(path, 0o700)
        if not _private(os.lstat(path)):
            return None
        if fresh:
            _prune_folders(_Folder(path.parent, None), path.name)
        return _Folder(path, None)
    parent = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)  # the cache folder itself may be a link
    try:
        fresh = False
        if create:
            try:
                os.mkdir(path.name, 0o700, dir_fd=parent)
                fresh = True
            except FileExistsError:
                pass
        handle = os.open(path.name, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW, dir_fd=parent)
        if not _private(os.fstat(handle)):
            os.close(handle)
            return None
        if fresh:
            _prune_folders(_Folder(path.parent, parent), path.name)
        return _Folder(path, handle)
    finally:
        os.close(parent)


def _private(found: os.stat_result) -> bool:
    """A real folder of this user's that no one else can write to (on Windows, where there is no uid,
    a real folder)."""
    owner = getattr(os, "getuid", None)
    return (stat.S_ISDIR(found.st_mode) and not found.st_mode & SHARED_WRITE
            and (owner is None or found.st_uid == owner()))


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
        base = Path(configured).expanduser().absolute()  # the folder it names now, not wherever a later cwd is
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        # The XDG rules: a relative path is invalid and is ignored (it would put the store in the
        # working directory, perhaps a repository that others write to).
        cache = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
        base = cache / "gradcheck"
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
    found = origin.stat()
    return f"{origin}:{found.st_mtime_ns}:{found.st_size}"


def _files(where: _Folder) -> list[tuple[float, int, str]]:
    """(modified, size, name) of the folder's regular files, links not followed."""
    found = []
    with os.scandir(where.fd if where.fd is not None else where.path) as listing:
        for item in listing:
            try:
                if item.is_file(follow_symlinks=False):
                    info = item.stat(follow_symlinks=False)
                    found.append((info.st_mtime, info.st_size, item.name))
            except OSError:
                continue
    return found


def _prune_entries(where: _Folder) -> None:
    entries = [e for e in _files(where) if e[2].endswith(".json")]
    total = sum(size for _, size, _ in entries)
    if len(entries) <= MAX_ENTRIES and total <= MAX_STORE_BYTES:
        return
    entries.sort()  # oldest first
    count, keep_entries, keep_bytes = len(entries), MAX_ENTRIES * 3 // 4, MAX_STORE_BYTES * 3 // 4
    for _, size, name in entries:
        if count <= keep_entries and total <= keep_bytes:
            break
        try:
            os.unlink(where.at(name), dir_fd=where.fd)
        except OSError:
            pass
        count, total = count - 1, total - size


def _prune_folders(cache: _Folder, keep: str) -> None:
    """Empty and remove the store folders of old installations beyond MAX_FOLDERS, newest kept. Only a
    real folder of this user's that no one else can write to is pruned, through its own open
    descriptor: a link named symbolic-* (someone sharing the cache folder pointing it at your files)
    is left alone, and so is everything it points to."""
    others = []
    with os.scandir(cache.fd if cache.fd is not None else cache.path) as listing:
        for item in listing:
            if item.name.startswith("symbolic-") and item.name != keep and item.is_dir(follow_symlinks=False):
                try:
                    others.append((item.stat(follow_symlinks=False).st_mtime, item.name))
                except OSError:
                    continue
    others.sort(reverse=True)
    for _, name in others[MAX_FOLDERS - 1:]:
        try:
            _remove_folder(cache, name)
        except OSError:
            continue


def _remove_folder(cache: _Folder, name: str) -> None:
    if cache.fd is None:
        path = cache.path / name
        if not _private(os.lstat(path)):
            return
        old = _Folder(path, None)
        for _, _, entry in _files(old):
            os.unlink(old.at(entry))
        os.rmdir(path)
        return
    handle = os.open(name, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW, dir_fd=cache.fd)
    try:
        if not _private(os.fstat(handle)):
            return
        old = _Folder(cache.path / name, handle)
        for _, _, entry in _files(old):
            os.unlink(entry, dir_fd=handle)
    finally:
        os.close(handle)
    os.rmdir(name, dir_fd=cache.fd)  # only if empty: whatever else is there stays
