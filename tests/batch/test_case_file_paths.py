"""What a case file may read: its .npy paths and the case files found through links resolve inside the
root (the working directory, --root, or pytest's rootdir); the command line's and the API's paths are the
user's own and go anywhere. Nothing read from outside is shown.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import subprocess_env
from hostile_input import TIMEOUT, assert_exit, case, env, run

import gradcheck


@pytest.fixture
def project(tmp_path):
    """tmp/secret/secret.npy outside the project; tmp/proj with data/ok.npy and a symlink pointing out."""
    (tmp_path / "secret").mkdir()
    np.save(tmp_path / "secret" / "secret.npy", np.array(SECRET))
    proj = tmp_path / "proj"
    (proj / "data").mkdir(parents=True)
    np.save(proj / "data" / "ok.npy", np.array([1.0, 2.0, 3.0]))
    (proj / "data" / "link.npy").symlink_to(tmp_path / "secret" / "secret.npy")
    return proj


# Values no output would hold by chance (the first test used 41 and 59, which a temporary folder's
# name, pytest-341, held one day).
SECRET = [31415.926, 27182.818, 14142.135]


def _assert_secret_not_shown(proc, project) -> None:
    """Not one of the secret's values in either stream, the temporary folders' names left out."""
    for stream in (proc.stdout, proc.stderr):
        shown = stream.replace(str(project.parent), "<tmp>")
        assert not any(str(v) in shown or f"{v:g}" in shown or str(int(v)) in shown for v in SECRET), shown[-500:]


@pytest.mark.parametrize("path, words", [
    ("../secret/secret.npy", ["resolves outside the root"]),
    ("data/../../secret/secret.npy", ["resolves outside the root"]),
    ("data/link.npy", ["resolves outside the root", "symlinks"]),
    ("ABSOLUTE", ["an absolute path"]),
])
def test_case_files_cannot_read_npy_outside_the_root(project, path, words):
    path = str(project.parent / "secret" / "secret.npy") if path == "ABSOLUTE" else path
    (project / "cases.toml").write_text(case("leak", "sum(X*X)", at=f"{{ X = {json.dumps(path)} }}"))
    for fmt in ("table", "json"):
        proc = run("check", "cases.toml", "--format", fmt, "--show", cwd=project)
        assert_exit(proc, 2, "cases.toml:1", "case 'leak'", "at X", *words)
        _assert_secret_not_shown(proc, project)


def test_npy_inside_the_root_and_with_the_root_option(project):
    (project / "cases.toml").write_text(case("inside", "sum(X*X)", at='{ X = "data/ok.npy" }'))
    assert_exit(run("check", "cases.toml", cwd=project), 0)
    # a root that does not hold the data refuses it; one given explicitly that does, allows it
    sibling = project.parent / "elsewhere"
    sibling.mkdir()
    assert_exit(run("check", str(project / "cases.toml"), "--root", str(sibling), cwd=project), 2,
                "resolves outside the root")
    assert_exit(run("check", "proj/cases.toml", "--root", "proj", cwd=project.parent), 0)
    # --root widened to the parent lets the symlink's target in: the root is the user's choice
    (project / "cases.toml").write_text(case("link", "sum(X*X)", at='{ X = "data/link.npy" }'))
    assert_exit(run("check", "cases.toml", "--root", "..", cwd=project), 0)


def test_command_line_and_api_npy_paths_are_not_confined(project):
    secret = str(project.parent / "secret" / "secret.npy")
    assert_exit(run("eval", "sum(X*X)", "--at", f"X={secret}", cwd=project), 0)
    assert_exit(run("eval", "sum(X*X)", "--at", "X=../secret/secret.npy", cwd=project), 0)
    assert gradcheck.check("sum(X*X)", at={"X": secret}).status == "pass"


def test_the_pytest_plugin_confines_npy_paths_to_its_rootdir(project):
    (project / "test_cases.toml").write_text(
        case("inside", "sum(X*X)", at='{ X = "data/ok.npy" }')
        + case("leak", "sum(X*X)", at='{ X = "../secret/secret.npy" }'))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "--rootdir", str(project),
                           "-p", "no:cacheprovider", "test_cases.toml"], cwd=project, capture_output=True,
                          encoding="utf-8", timeout=TIMEOUT, env=env(), check=False)
    assert "1 failed, 1 passed" in proc.stdout, proc.stdout[-3000:]
    assert "resolves outside the root" in proc.stdout


SECRET_NAME, SECRET_EXPR = "marks of student 4711", "x*31415 + y*27182"


@pytest.fixture
def linked(tmp_path):
    """tmp/secret/marks.toml outside the project; tmp/proj/cases/ with good.toml, link.toml pointing at the
    secret file, and alias.toml pointing at good.toml in the same folder (harmless)."""
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "marks.toml").write_text(case(SECRET_NAME, SECRET_EXPR, at="{ x = 1, y = 2 }"))
    cases = tmp_path / "proj" / "cases"
    cases.mkdir(parents=True)
    (cases / "good.toml").write_text(case("good", "x*x"))
    (cases / "link.toml").symlink_to(tmp_path / "secret" / "marks.toml")
    return tmp_path / "proj"


def _secret_not_shown(proc, *files: Path) -> None:
    for text in (proc.stdout, proc.stderr, *(f.read_text() for f in files if f.exists())):
        assert SECRET_NAME not in text and "31415" not in text and "27182" not in text, text[-2000:]


@pytest.mark.parametrize("named", ["cases", "cases/link.toml"])
def test_a_linked_case_file_outside_the_root_is_not_read(linked, named):
    """A .toml that is a link out of the project (found in a folder, or named itself) is refused with exit 2,
    before its names, expressions or values are read; the other cases are still checked."""
    for fmt in ("table", "json"):
        proc = run("check", named, "cases/good.toml", "--format", fmt, "--show", "--junit", "out.xml",
                   "--html", "out.html", cwd=linked)
        assert_exit(proc, 2, "link.toml", "resolves outside")
        _secret_not_shown(proc, linked / "out.xml", linked / "out.html")
        assert "good" in proc.stdout


def test_a_link_that_stays_inside_the_root_is_read(linked):
    (linked / "cases" / "alias.toml").symlink_to("good.toml")
    (linked / "cases" / "link.toml").unlink()
    assert_exit(run("check", "cases", "cases/alias.toml", cwd=linked), 0)
    # the root widened to hold the secret folder lets a link to it in: the root is the grader's choice
    (linked / "cases" / "link.toml").symlink_to(linked.parent / "secret" / "marks.toml")
    assert_exit(run("check", "cases", "--root", "..", cwd=linked), 0)


def test_the_pytest_plugin_does_not_follow_a_link_out_of_its_rootdir(linked):
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
                           "--rootdir", str(linked), "cases"], cwd=linked, capture_output=True, encoding="utf-8",
                          timeout=TIMEOUT, env=subprocess_env(NO_COLOR="1"), check=False)
    assert "1 failed, 1 passed" in proc.stdout, proc.stdout[-3000:]
    assert "resolves outside" in proc.stdout
    _secret_not_shown(proc)
