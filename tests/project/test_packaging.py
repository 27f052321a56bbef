"""Packaging as users expect: the metadata an index shows, and a changelog in Keep a Changelog form
whose newest release is the package's version."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from conftest import PACKAGE_ROOT

import gradcheck

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(PACKAGE_ROOT)
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
CHANGELOG = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
KINDS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}  # Keep a Changelog's kinds of change


def test_the_metadata_an_index_shows():
    assert PROJECT["readme"] == "README.md" and PROJECT["dynamic"] == ["version"]
    assert {"Homepage", "Documentation", "Changelog", "Issues"} <= set(PROJECT["urls"])
    assert len(PROJECT["keywords"]) >= 5
    classifiers = PROJECT["classifiers"]
    assert "License :: OSI Approved :: MIT License" in classifiers and "Typing :: Typed" in classifiers
    assert "Framework :: Pytest" in classifiers  # the plugin
    assert set(PROJECT["dependencies"]) >= {"click>=8.0", "numpy>=1.22", "sympy>=1.10", "rich>=12.0"}
    assert PROJECT["optional-dependencies"]["docs"] and set(PROJECT["optional-dependencies"]["docs"]) <= set(
        PROJECT["optional-dependencies"]["test"])  # the docs are built by a test


def test_the_changelog_is_in_keep_a_changelog_form():
    releases = re.findall(r"^## (\S+)(?: - (\d{4}-\d{2}-\d{2}))?$", CHANGELOG, re.MULTILINE)
    assert releases[0] == ("Unreleased", "")
    assert releases[1][0] == gradcheck.__version__ and releases[1][1], releases  # the newest release, dated
    assert all(date for _, date in releases[1:])
    kinds = set(re.findall(r"^### (.+)$", CHANGELOG, re.MULTILINE))
    assert kinds <= KINDS, kinds - KINDS


def test_the_changelog_speaks_to_users():
    lowered = CHANGELOG.lower()
    for word in ("issue ", "done-when", "branch ", "agent", "session"):
        assert word not in lowered, word
