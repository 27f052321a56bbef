""".npy files read as values: the header is checked before any data is read (size, dtype, magic, a
regular file; never unpickled), good files are not refused, and broken ones raise only GradcheckErrors.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hostile_input import MEMORY_LIMIT, assert_exit, no_foreign_exception, run

import gradcheck
from gradcheck import ValueSpecError


def npy_header(path: Path, descr: str, shape: tuple[int, ...], payload: bytes = b"") -> None:
    from numpy.lib import format as npy_format

    with open(path, "wb") as stream:
        npy_format.write_array_header_1_0(stream, {"descr": descr, "fortran_order": False, "shape": shape})
        stream.write(payload)


@pytest.mark.parametrize("kind, words", [
    ("1e9 int8 entries", ["1,000,000,000 entries", "limit is 10,000,000"]),
    ("1e12 float64 entries", ["entries", "limit is 10,000,000"]),
    ("complex", ["complex128", "not real numbers"]),
    ("object", ["not real numbers"]),
    ("structured", ["not real numbers"]),
    ("strings", ["not real numbers"]),
    ("call in header", ["header is not valid"]),
    ("truncated", ["shorter than its header says"]),
    ("text file", ["not a .npy file"]),
    ("symlink to text", ["not a .npy file"]),
    ("zip", ["not a .npy file"]),
    ("fifo", ["not a regular file"]),
    ("directory", ["not a regular file"]),
])
def test_an_npy_header_is_checked_before_its_data(tmp_path, kind, words):
    path = tmp_path / "w.npy"
    if kind == "1e9 int8 entries":  # a 4 KB sparse file that declares a gigabyte
        npy_header(path, "|i1", (10**9,), b"\0" * 4000)
    elif kind == "1e12 float64 entries":
        npy_header(path, "<f8", (10**6, 10**6))
    elif kind == "complex":
        npy_header(path, "<c16", (2,), b"\0" * 32)
    elif kind == "object":
        npy_header(path, "|O", (2,), b"\0" * 16)
    elif kind == "structured":
        np.save(path, np.zeros(2, dtype=[("a", "<f8"), ("b", "<i4")]))
    elif kind == "strings":
        np.save(path, np.array(["1", "2"]))
    elif kind == "call in header":
        from numpy.lib import format as npy_format
        header = b"{'descr': __import__('os').getcwd(), 'fortran_order': False, 'shape': (3,), }"
        header += b" " * (117 - len(header)) + b"\n"
        path.write_bytes(npy_format.MAGIC_PREFIX + b"\x01\x00" + len(header).to_bytes(2, "little") + header)
    elif kind == "truncated":
        npy_header(path, "<f8", (1000,), b"\0" * 80)
    elif kind == "text file":
        path.write_text("1, 2, 3\n")
    elif kind == "symlink to text":
        (tmp_path / "notes.txt").write_text("hello")
        path.symlink_to(tmp_path / "notes.txt")
    elif kind == "zip":
        path.write_bytes(b"PK\x03\x04 not really a zip")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    # refused from the header; the FIFO never blocks (a blocked read would end past the hang guard, a failure)
    stderr = assert_exit(run("eval", "sum(w)", "--at", "w=w.npy", cwd=tmp_path, memory=MEMORY_LIMIT), 2, "w.npy",
                         *words)
    assert "allow_pickle" not in stderr and "ast." not in stderr and "object at 0x" not in stderr
    with pytest.raises(ValueSpecError):
        gradcheck.check("sum(w)", at={"w": "w.npy"}, base=tmp_path)


def test_the_header_check_does_not_refuse_good_files(tmp_path):
    data = np.arange(6, dtype=">f4").reshape(2, 3)
    np.save(tmp_path / "F.npy", np.asfortranarray(data))
    np.save(tmp_path / "I.npy", np.arange(4, dtype=np.int16))
    result = gradcheck.check("sum(F*F) + sum(I*I)", at={"F": "F.npy", "I": "I.npy"}, base=tmp_path)
    assert np.array_equal(result.point["F"], data) and np.array_equal(result.point["I"], np.arange(4))
    assert result.status == "pass"


def test_an_npy_that_is_a_broken_zip_raises_only_gradcheck_errors(tmp_path):
    (tmp_path / "w.npy").write_bytes(b"PK\x03\x04 not really a zip file")
    no_foreign_exception("sum(w)", at={"w": "w.npy"}, base=tmp_path)


def test_an_npy_header_declaring_too_many_entries_raises_only_gradcheck_errors(tmp_path):
    with open(tmp_path / "w.npy", "wb") as stream:
        np.lib.format.write_array_header_1_0(stream, {"descr": "<f8", "fortran_order": False,
                                                      "shape": (10**7, 10**7)})
        stream.write(bytes(64))
    no_foreign_exception("sum(w)", at={"w": "w.npy"}, base=tmp_path)
