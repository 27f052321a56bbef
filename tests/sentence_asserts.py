"""Assertions that pin a whole sentence: `assert "<40 or more characters>" in/== ...` in the tests.

    python tests/sentence_asserts.py [PATH ...]        # every test file under tests/ by default

A test should assert on structure (status, exit code, JSON fields, the cause, the variable or entry
named) or on the few words that carry the meaning, so that rewording a message does not fail it. A
golden output kept on purpose says so in a comment starting "golden:" on the assertion's line or
within the three lines above it; those are counted apart. Prints one line per assertion found, then
the counts per file and in all.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import Counter
from pathlib import Path

LONG = 40  # characters of literal text that make a sentence rather than a few key words
GOLDEN_MARK = "golden:"
GOLDEN_REACH = 3  # lines above the assertion a "golden:" comment may stand on
TESTS = Path(__file__).resolve().parent


def literal_length(node: ast.AST) -> int:
    """Characters of literal text in a string constant or an f-string (its fixed parts); for a list,
    tuple or set written out, its longest element's."""
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return max((literal_length(element) for element in node.elts), default=0)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return len(node.value)
    if isinstance(node, ast.JoinedStr):
        return sum(len(part.value) for part in node.values
                   if isinstance(part, ast.Constant) and isinstance(part.value, str))
    return 0


def sentence_compares(test: ast.AST) -> list[ast.Compare]:
    """The comparisons in an assertion that hold a long literal on either side of in, not in, == or !=."""
    found = []
    for node in ast.walk(test):
        if isinstance(node, ast.Compare) and all(isinstance(op, (ast.In, ast.NotIn, ast.Eq, ast.NotEq))
                                                 for op in node.ops):
            if any(literal_length(side) >= LONG for side in [node.left, *node.comparators]):
                found.append(node)
    return found


def scan(path: Path) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(sentence assertions, golden ones) of one file: line numbers and source text."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    plain, golden = [], []
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Assert) and sentence_compares(node.test):
            above = lines[max(0, node.lineno - 1 - GOLDEN_REACH):node.lineno]
            text = " ".join(line.strip() for line in lines[node.lineno - 1:node.end_lineno])
            (golden if any(GOLDEN_MARK in line for line in above) else plain).append((node.lineno, text))
    return sorted(plain), sorted(golden)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[TESTS])
    parser.add_argument("--quiet", action="store_true", help="the counts only")
    args = parser.parse_args()
    files = sorted({p for path in args.paths for p in ([path] if path.is_file() else path.rglob("test_*.py"))})
    counts: Counter = Counter()
    golden_total = 0
    for path in files:
        plain, golden = scan(path)
        golden_total += len(golden)
        shown = path.relative_to(TESTS.parent) if path.is_relative_to(TESTS.parent) else path
        for lineno, text in plain:
            counts[str(shown)] += 1
            if not args.quiet:
                print(f"{shown}:{lineno}: {text[:160]}")
    for name, count in sorted(counts.items()):
        print(f"{count:4d}  {name}")
    print(f"{sum(counts.values())} sentence assertions in {len(counts)} files; {golden_total} golden, kept on purpose")
    return 0


if __name__ == "__main__":
    sys.exit(main())
