"""The documentation cannot drift from the program: it builds strictly (a broken link or reference
fails), every command it shows with its output is run and compared, and the README stays a short
page for users."""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import docs_commands
import pytest
from conftest import HANG_GUARD, PACKAGE_ROOT

ROOT = Path(PACKAGE_ROOT)
README = ROOT / "README.md"
README_MAX_BYTES = 12 * 1024


def build(source: Path, out: Path) -> subprocess.CompletedProcess:
    """Sphinx in strict mode: warnings are errors (-W), every reference must resolve (-n)."""
    return subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html",
                           "-d", str(out / "doctrees"), str(source), str(out / "html")],
                          capture_output=True, text=True, timeout=HANG_GUARD, cwd=ROOT)


@pytest.mark.slow
def test_the_documentation_builds_strictly(tmp_path):
    done = build(ROOT / "docs", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    html = (tmp_path / "html" / "reference" / "cli.html").read_text(encoding="utf-8")
    assert "--formulas" in html and "matrix-form" in html  # the CLI's own help, built in
    api = (tmp_path / "html" / "reference" / "api.html").read_text(encoding="utf-8")
    assert "check_layer" in api and "nondeterminism" in api  # the docstrings help() shows


@pytest.mark.slow
@pytest.mark.parametrize("text, words", [
    ("See [a page that is not there](nowhere.md).", "nowhere"),
    ("See {py:func}`gradcheck.no_such_function`.", "no_such_function"),
])
def test_a_broken_link_or_reference_fails_the_build(tmp_path, text, words):
    """The documentation's own configuration, on one page holding one broken link or reference."""
    source = tmp_path / "docs"
    source.mkdir()
    shutil.copy(ROOT / "docs" / "conf.py", source)
    shutil.copytree(ROOT / "docs" / "_ext", source / "_ext")
    (source / "index.md").write_text("# A page\n\nSee [the page itself](index.md).\n", encoding="utf-8")
    assert build(source, tmp_path / "good").returncode == 0  # the page builds without the broken text
    (source / "index.md").write_text(f"# A page\n\n{text}\n", encoding="utf-8")
    done = build(source, tmp_path / "out")
    assert done.returncode != 0
    assert words in done.stderr, done.stderr


DOCUMENTS = [d for d in docs_commands.DOCUMENTS if docs_commands.shown_commands(d)]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.relative_to(ROOT).as_posix())
def test_every_shown_output_is_what_the_command_prints(document):
    commands = docs_commands.shown_commands(document)
    with docs_commands.scratch_folder() as folder:
        results = docs_commands.run_all(commands, Path(folder))
    for shown, got in results:
        if not docs_commands.matches(shown.output, got):
            diff = "\n".join(difflib.unified_diff(shown.output, got, "shown", "printed now", lineterm=""))
            pytest.fail(f"{document.name}:{shown.line}: $ {shown.command}\n{diff}\n"
                        f"(python tests/docs_commands.py {document.relative_to(ROOT)} rewrites it)", pytrace=False)


def test_the_documents_show_commands_with_output():
    shown = {d.relative_to(ROOT).as_posix() for d in DOCUMENTS}
    assert {"README.md", "docs/guides/expressions.md", "docs/guides/claims.md", "docs/guides/numpy.md",
            "docs/guides/teaching.md"} <= shown


@pytest.mark.parametrize("expected, got, same", [
    (["a", "b"], ["a", "b  "], True),
    (["a", "b"], ["a", "c"], False),
    (["a", "...", "d"], ["a", "b", "c", "d"], True),
    (["a", "...", "d"], ["a", "d"], True),
    (["a", "...", "d"], ["a", "b"], False),
    (["took ... s"], ["took 0.31 s"], True),
    (["took ... s"], ["took 0.31 ms"], False),
])
def test_how_shown_output_is_compared(expected, got, same):
    assert docs_commands.matches(expected, got) is same


def test_a_console_block_is_read_as_commands_and_outputs(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("text\n\n```console\n$ gradcheck eval x \\\n    --at x=1\nout 1\nout 2\n$ echo $?\n0\n```\n")
    first, second = docs_commands.shown_commands(page)
    assert (first.line, first.command, first.output) == (4, "gradcheck eval x \\\n    --at x=1", ["out 1", "out 2"])
    assert (second.command, second.output) == ("echo $?", ["0"])


# ----- the README: short, for users, with the set-up commands and the verdict -----------------------
def test_the_readme_is_short():
    assert len(README.read_bytes()) < README_MAX_BYTES


@pytest.mark.parametrize("word", ["issue", "done-when", "done when", "agent", "session", "branch"])
def test_the_readme_speaks_to_users(word):
    assert word not in README.read_text(encoding="utf-8").lower()


def test_the_readme_keeps_its_set_up_commands_and_the_verdict():
    text = README.read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    for wanted in ("Try it (one command, fresh machine)", "Run the tests (one command, fresh machine)", "The verdict",
                   "Dependencies"):
        assert wanted in headings, headings
    verdict = text[text.index("## The verdict"):]
    verdict = verdict[:verdict.index("\n## ")]
    assert "(docs/verdict.md)" in verdict
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = "python3 -m venv .venv && . .venv/bin/activate && pip install -q -e '.[test]' && python -m pytest"
    assert test_command in text and test_command in ci


def test_the_readmes_links_lead_somewhere():
    text = README.read_text(encoding="utf-8")
    links = [target for target in re.findall(r"\]\(([^)]+)\)", text) if "://" not in target]
    assert len(links) > 10
    for target in links:
        assert (ROOT / target.split("#")[0]).exists(), target
