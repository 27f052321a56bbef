"""The commands the README and the documentation show with their output, run and compared.

A ```console block holds commands, each on a line starting with `$ ` (continued on the next line after
a trailing backslash), each followed by the output it shows. A line `...` in that output stands for any
number of lines, and `...` within a line any text; `$ echo $?` shows the exit code of the command before it. Commands run in bash, in a
scratch folder holding `expressions/` and `examples/` of this checkout, with the console script of this
Python first on PATH, no colors, 100 columns and unbuffered output (stdout and stderr in the order written).

    python tests/docs_commands.py README.md docs/guides/claims.md   # rewrite the shown outputs

rewrites the outputs shown without `...` from what the commands print now.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
WIDTH = 100  # the columns outputs are shown at (a pipe without COLUMNS gets the same)
HANG_GUARD = 300  # seconds: a hang guard for one shown command, not a speed target
BLOCK = re.compile(r"^```console\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
ELLIPSIS = "..."


@dataclass
class Shown:
    """One command of a console block and the output shown under it."""

    document: Path
    line: int  # 1-based, of the command's `$ `
    command: str
    output: list[str]


def shown_commands(document: Path) -> list[Shown]:
    text = document.read_text(encoding="utf-8")
    found: list[Shown] = []
    for block in BLOCK.finditer(text):
        first_line = text.count("\n", 0, block.start(1)) + 1
        lines = block.group(1).splitlines()
        i = 0
        while i < len(lines):
            if not lines[i].startswith("$ "):
                raise ValueError(f"{document.name}:{first_line + i}: a console block's output has no command")
            start, command = i, lines[i][2:]
            while command.endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command + "\n" + lines[i]  # bash reads the backslash-newline as a continuation
            i += 1
            output = []
            while i < len(lines) and not lines[i].startswith("$ "):
                output.append(lines[i])
                i += 1
            found.append(Shown(document, first_line + start, command, output))
    return found


def environment(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM", "COLORTERM")}
    env.update(PATH=os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")]),
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
               NO_COLOR="1", COLUMNS=str(WIDTH), PYTHONUNBUFFERED="1", HOME=env.get("HOME", str(folder)))
    return env


def scratch_folder() -> tempfile.TemporaryDirectory:
    """A folder with the checkout's expressions/ and examples/, where shown commands run."""
    folder = tempfile.TemporaryDirectory(prefix="gradcheck-docs-")
    for name in ("expressions", "examples"):
        os.symlink(ROOT / name, Path(folder.name) / name)
    return folder


def run_all(commands: list[Shown], folder: Path) -> list[tuple[Shown, list[str]]]:
    """Each command's output as lines (`$ echo $?`: the exit code of the command before it)."""
    results, code = [], 0
    for shown in commands:
        if shown.command.strip() == "echo $?":
            got = [str(code)]
        else:
            done = subprocess.run(["bash", "-c", shown.command], cwd=folder, env=environment(folder),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  encoding="utf-8", errors="replace", timeout=HANG_GUARD)
            code, got = done.returncode, done.stdout.splitlines()
        results.append((shown, [line.rstrip() for line in got]))
    return results


def matches(expected: list[str], got: list[str]) -> bool:
    """Line by line, trailing spaces ignored; a line `...` matches any number of lines, and `...` within
    a line any text (a time, which no two runs share)."""
    def line_pattern(line: str) -> str:
        if line.strip() == ELLIPSIS:
            return "(?:.*\n)*?"
        return ".*".join(re.escape(part) for part in line.rstrip().split(ELLIPSIS)) + "\n"

    pattern = "".join(line_pattern(line) for line in expected)
    return re.fullmatch(pattern, "".join(line.rstrip() + "\n" for line in got)) is not None


def update(document: Path) -> int:
    """Rewrite the shown outputs of the document's blocks without `...`; returns how many changed."""
    commands = shown_commands(document)
    with scratch_folder() as folder:
        results = run_all(commands, Path(folder))
    text = document.read_text(encoding="utf-8").split("\n")
    changed = 0
    for shown, got in reversed(results):
        if any(ELLIPSIS in line for line in shown.output) or matches(shown.output, got):
            continue
        start = shown.line + shown.command.count("\n")  # the line after the command, 0-based
        text[start:start + len(shown.output)] = got
        changed += 1
    document.write_text("\n".join(text), encoding="utf-8")
    return changed


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: {update(Path(name).resolve())} outputs rewritten")
