"""The tests mirror the package: one folder per subpackage (plus the public front, the project's own
files and the optional framework adapters), and they assert on structure rather than whole sentences,
except the golden outputs marked as such (tests/sentence_asserts.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import gradcheck

TESTS = Path(__file__).resolve().parents[1]
PACKAGE = Path(gradcheck.__file__).resolve().parent
# Test folders that are not a subpackage: the public API and start-up, the repository's files
# (docs, lint, packaging, this contract), and the torch and JAX adapters (their own optional extras).
BESIDE_THE_PACKAGE = {"front", "project", "frameworks"}


def _folders(root: Path, marker: str) -> set[str]:
    return {p.name for p in root.iterdir() if p.is_dir() and any(p.glob(marker)) and not p.name.startswith(("_", "."))}


def test_each_subpackage_has_its_test_folder_and_each_test_folder_its_subpackage():
    subpackages = _folders(PACKAGE, "__init__.py")
    folders = _folders(TESTS, "test_*.py")
    assert subpackages - folders == set(), "subpackages without tests"
    assert folders - subpackages - BESIDE_THE_PACKAGE == set(), "test folders that mirror nothing"
    assert not list(TESTS.glob("test_*.py")), "a test file outside the folders"


def test_no_test_pins_a_whole_sentence_unless_marked_golden():
    sys.path.insert(0, str(TESTS))
    try:
        from sentence_asserts import scan
    finally:
        sys.path.remove(str(TESTS))
    pinned = [(str(path.relative_to(TESTS)), line) for path in sorted(TESTS.rglob("test_*.py"))
              for line, _ in scan(path)[0]]
    assert pinned == [], pinned
