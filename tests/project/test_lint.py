"""The linters CI holds the code to: ruff (configured in pyproject.toml) and mypy on the package."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import PACKAGE_ROOT


def _tool(name: str) -> list[str]:
    """The tool installed with this Python (the test extras bring both)."""
    found = shutil.which(name, path=str(__import__("pathlib").Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed (pip install -e '.[test]' brings it)")
    return [found]


@pytest.mark.slow
def test_ruff_is_clean():
    done = subprocess.run([*_tool("ruff"), "check", "gradcheck", "tests", "benchmarks", "examples"],
                          cwd=PACKAGE_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_mypy_is_clean():
    done = subprocess.run([*_tool("mypy")], cwd=PACKAGE_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_architecture_page_names_every_module():
    """docs/architecture.md names each module of the package by its path below gradcheck/ (a layer's
    __init__.py says what it owns itself): a new module comes with the line saying what it owns."""
    from pathlib import Path

    page = (Path(PACKAGE_ROOT) / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = page[page.index("## Every module"):page.index("## Adding a primitive")]
    package = Path(PACKAGE_ROOT) / "gradcheck"
    modules = sorted(p.relative_to(package).as_posix() for p in package.rglob("*.py") if "__pycache__" not in p.parts)
    assert len(modules) > 60
    missing = [m for m in modules if f"`{m}`" not in section and not m.endswith("/__init__.py")]
    assert missing == []
