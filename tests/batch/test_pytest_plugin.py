"""The pytest plugin touches only gradcheck's own files: installing gradcheck must not change another
project's test run. A .toml file is collected when it declares itself a case file or the project names
it with the ini option gradcheck_files; any other TOML, however malformed, is left alone, silently."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import HANG_GUARD, subprocess_env

from gradcheck.batch.cases import DECLARATION_BYTES, declares_cases
from gradcheck.pytest_plugin import item_name, opted_in

CASE = '[[case]]\nname = "{name}"\nexpr = "x*x"\nat = {{ x = 1 }}\ngrad = {{ x = "{claim}" }}\n'
OWN_TEST = "def test_arithmetic():\n    assert 1 + 1 == 2\n"


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", *args],
                          cwd=folder, capture_output=True, text=True, timeout=HANG_GUARD, env=subprocess_env())


def foreign_project(folder: Path) -> None:
    """Another project's files: TOML of other tools beside its own test."""
    (folder / "settings.toml").write_text("[base]\nurl = 'https://example.org'\n")  # 'base' is close to 'case'
    (folder / "deep.toml").write_text("a = " + "[" * 500 + "]" * 500 + "\n")  # tomllib recurses past Python's limit
    (folder / "blob.toml").write_bytes(bytes(range(256)) * 4)  # not text at all
    (folder / "cases.toml").write_text("[[cases]]\nname = 'a fixture of another tool'\n")
    (folder / "test_own.py").write_text(OWN_TEST)


def test_a_foreign_project_runs_its_own_tests_untouched(tmp_path):
    foreign_project(tmp_path)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.toml")  # reading it would block for ever
    done = run_pytest(tmp_path, "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout, done.stdout
    assert "error" not in done.stdout.lower() and "gradcheck" not in done.stdout, done.stdout


def test_a_case_file_that_declares_itself_is_collected_beside_them(tmp_path):
    foreign_project(tmp_path)
    (tmp_path / "derivations.toml").write_text(CASE.format(name="right", claim="2*x")
                                                + CASE.format(name="wrong", claim="x"))
    done = run_pytest(tmp_path, "-q")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 2 passed" in done.stdout, done.stdout  # its own test and the right case pass
    assert "derivations.toml::wrong" in done.stdout and "settings.toml" not in done.stdout


def test_the_ini_option_opts_a_file_in(tmp_path):
    """A case file without a [[case]] header (a typo) is left alone by default; named by gradcheck_files it
    is the project's own, and its mistake is reported."""
    folder = tmp_path / "expressions"
    folder.mkdir()
    (folder / "typo.toml").write_text('[[cases]]\nexpr = "x*x"\n')
    (tmp_path / "test_own.py").write_text(OWN_TEST)
    alone = run_pytest(tmp_path, "-q")
    assert alone.returncode == 0 and "1 passed" in alone.stdout, alone.stdout
    (tmp_path / "pytest.ini").write_text("[pytest]\ngradcheck_files = expressions/*.toml\n")
    named = run_pytest(tmp_path, "-q")
    assert named.returncode == 1, named.stdout
    assert "unknown top-level key 'cases'" in named.stdout and "1 passed" in named.stdout, named.stdout


def test_item_names_show_user_text_literally(tmp_path):
    (tmp_path / "names.toml").write_text(CASE.format(name="a::b \\u001b[2J", claim="2*x"))
    done = run_pytest(tmp_path, "--collect-only", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "\x1b" not in done.stdout
    node = next(line for line in done.stdout.splitlines() if line.startswith("names.toml"))
    assert node == "names.toml::a:\\x3ab \\x1b[2J", node  # one '::', the separator pytest puts there


@pytest.mark.parametrize("text, declared", [
    (CASE.format(name="n", claim="2*x"), True),
    ("# derivations\n\n  [[ case ]]\nexpr = 'x'\n", True),
    ("\ufeff[[case]]\nexpr = 'x'\n", True),  # a byte-order mark, as Windows editors write
    ("[base]\nx = 1\n", False),
    ("[[case]]\nname = 'no expr: another tool's [[case]]'\n", False),
    ("expr = 'x'\n[[cases]]\n", False),
    ("a = " + "[" * 500 + "]" * 500, False),
    ("title = '[[case]] expr = in one line'\n", False),
])
def test_what_declares_a_case_file(tmp_path, text, declared):
    path = tmp_path / "f.toml"
    path.write_text(text, encoding="utf-8")
    assert declares_cases(path) is declared


def test_a_declaration_is_looked_for_in_the_start_of_a_file_only(tmp_path):
    path = tmp_path / "big.toml"
    path.write_text("#" * DECLARATION_BYTES + "\n[[case]]\nexpr = 'x'\n")
    assert not declares_cases(path)
    path.write_text("[[case]]\nexpr = 'x'\n" + "#" * DECLARATION_BYTES)
    assert declares_cases(path)
    assert not declares_cases(tmp_path / "missing.toml") and not declares_cases(tmp_path)


def test_opted_in_matches_from_the_end_of_the_path():
    path = Path("/project/expressions/neuron.toml")
    assert opted_in(path, ["expressions/*.toml"]) and opted_in(path, ["*.toml"])
    assert not opted_in(path, ["derivations/*.toml"]) and not opted_in(path, [])


@pytest.mark.parametrize("name, shown", [
    ("plain name", "plain name"),
    ("a::b", "a:\\x3ab"),
    ("bell\x07 and escape\x1b[31m", "bell\\x07 and escape\\x1b[31m"),
    ("line\nbreak", "line\\x0abreak"),
])
def test_item_name(name, shown):
    assert item_name(name) == shown
