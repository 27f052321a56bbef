""".npy values: found inside a root (for case files), read only after their header is checked.

A case file may come from an untrusted pull request, so a path it gives must not reach data elsewhere
on the machine: it is resolved (symlinks included) and must stay inside the root, the project's
folder. A path typed on the command line or passed to the Python API is the user's own and may go
anywhere (root None).

Before any data is read, the file must be a regular file (a FIFO or a device would block or never
end), start with the .npy magic, and declare a real numeric dtype and at most MAX_ENTRIES entries, so
a 4 KB file declaring 10^9 entries is refused without allocating. Nothing is ever unpickled.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from ..base.errors import ValueSpecError
from ..base.limits import MAX_ENTRIES, MAX_HEADER_BYTES

# dtype kinds read as numbers: signed and unsigned integers, and floats (complex and bool are not real
# numbers here; objects would need pickle; structured and string dtypes are not numbers at all).
NUMERIC_KINDS = "iuf"


def resolve_npy(name: str, text: str, base: Path | None, root: Path | None) -> Path:
    """The file `text` names, relative to base; with a root, it must resolve inside the root."""
    given = Path(text)
    if root is None:
        return given if base is None or given.is_absolute() else base / given
    where = f"at {name} = {text!r}"
    if given.is_absolute():
        raise ValueSpecError(f"{where}: an absolute path; a case file may only name .npy files inside "
                             f"its root {root} (gradcheck check --root DIR)")
    resolved = ((base or Path.cwd()) / given).resolve()
    inside = Path(root).resolve()
    if resolved != inside and inside not in resolved.parents:
        raise ValueSpecError(f"{where}: resolves outside the root {inside} (symlinks and '..' are followed "
                             "first); a case file may only name .npy files inside it (gradcheck check --root DIR)")
    return resolved


def load_npy(name: str, text: str, path: Path) -> np.ndarray:
    """The array in a .npy file as float64, its header checked before its data is read."""
    where = f"--at {name}: {text}"
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, for ever
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise ValueSpecError(f"{where}: cannot open: {getattr(exc, 'strerror', None) or exc}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ValueSpecError(f"{where}: not a regular file (a directory, FIFO or device)")
    with os.fdopen(fd, "rb") as stream:
        shape, fortran, dtype, data_start = _header(where, stream)
        entries = 1
        for size in shape:
            entries *= size  # Python ints: no overflow however large the declared sizes
        if entries > MAX_ENTRIES:
            raise ValueSpecError(f"{where}: declares {entries:,} entries; the limit is {MAX_ENTRIES:,}")
        needed = entries * dtype.itemsize
        if info.st_size < data_start + needed:
            raise ValueSpecError(f"{where}: the file is shorter than its header says ({info.st_size:,} bytes "
                                 f"for {entries:,} entries of {dtype})")
        data = stream.read(needed)
    if len(data) != needed:
        raise ValueSpecError(f"{where}: the file ended early")
    array = np.frombuffer(data, dtype=dtype, count=entries).reshape(shape, order="F" if fortran else "C")
    return array.astype(np.float64)


def _header(where: str, stream) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran order, dtype, offset of the data), or a ValueSpecError saying what is wrong."""
    from numpy.lib import format as npy_format

    if stream.read(len(npy_format.MAGIC_PREFIX)) != npy_format.MAGIC_PREFIX:
        raise ValueSpecError(f"{where}: not a .npy file (it does not start with the .npy magic bytes)")
    stream.seek(0)
    try:
        version = npy_format.read_magic(stream)
        reader = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
        shape, fortran, dtype = reader(stream, max_header_size=MAX_HEADER_BYTES)
    except Exception:  # noqa: BLE001 - numpy's messages quote the header's parse tree; say it plainly
        raise ValueSpecError(f"{where}: the .npy header is not valid (it must be a dict with 'descr', "
                             "'fortran_order' and 'shape')") from None
    if not isinstance(dtype, np.dtype) or dtype.kind not in NUMERIC_KINDS or dtype.fields is not None:
        raise ValueSpecError(f"{where}: holds {dtype}, not real numbers (integers or floats)")
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ValueSpecError(f"{where}: the .npy header declares an invalid shape")
    return tuple(shape), bool(fortran), dtype, stream.tell()
