"""Reading gradcheck's terminal output back, whatever layout the width chose.

Cells of a table are separated by two or more spaces (no cell holds two spaces in a row), so a line
splits into its cells without knowing the column widths. Three layouts of the gradient table:
- wide: one line per variable with every column;
- folded: the values and the status on the line, "max rel. error …, numeric ± …" on an indented line under it;
- blocks: "∂f/∂x  ✓ pass", then one indented "label  value" line per column.
"""

from __future__ import annotations

import re

SPLIT = re.compile(r" {2,}")
ERROR_EST = "numeric's error est."
REL = "max rel. error"
FOLDED = re.compile(r"^ {4}max rel\. error (\S+)(?:, numeric ± (.+))?$")
STATUS = r"(✓ pass|⚠ kink|✗ mismatch)"
STATUS_WORDS = ("✓ pass", "⚠ kink", "✗ mismatch")


def cells(line: str) -> list[str]:
    return [c for c in SPLIT.split(line.strip())]


def parse_gradients(stdout: str, heading: str = "∂f/∂") -> tuple[list[str], dict[str, dict[str, str]]]:
    """The oracle columns shown, and per variable: column -> cell text, plus REL, ERROR_EST, "status"."""
    lines = stdout.splitlines()
    header_at = [i for i, line in enumerate(lines) if cells(line)[0] == heading and line.startswith(heading)]
    if header_at:
        return _parse_grid(lines, header_at[0])
    return _parse_blocks(lines, heading)


def _parse_grid(lines: list[str], at: int) -> tuple[list[str], dict]:
    header = cells(lines[at])
    assert header[-1] == "status", header
    rows: dict[str, dict[str, str]] = {}
    last = None
    for line in lines[at + 1:]:
        folded = FOLDED.match(line)
        if folded and last is not None:
            rows[last][REL] = folded.group(1)
            if folded.group(2):
                rows[last][ERROR_EST] = folded.group(2)
            continue
        parts = cells(line)
        if not line or line.startswith(" ") or len(parts) != len(header) or parts[-1] not in STATUS_WORDS:
            break
        last = parts[0]
        rows[last] = dict(zip(header[1:], parts[1:]))
    columns = [c for c in header[1:] if c not in (ERROR_EST, REL, "status")]
    return columns, rows


def _parse_blocks(lines: list[str], heading: str) -> tuple[list[str], dict]:
    title = re.compile("^" + re.escape(heading) + r"(\S+) {2}" + STATUS + "$")
    rows: dict[str, dict[str, str]] = {}
    columns: list[str] = []
    current = None
    for line in lines:
        match = title.match(line)
        if match:
            current = match.group(1)
            rows[current] = {"status": match.group(2)}
            continue
        if current is not None and line.startswith("  ") and not line.startswith("   "):
            label, value = cells(line)
            label = ERROR_EST if label == "error est." else label
            rows[current][label] = value
            if label not in (ERROR_EST, REL, "status") and label not in columns:
                columns.append(label)
        else:
            current = None
    assert rows, "no gradient table found:\n" + "\n".join(lines)
    return columns, rows


def parse_array_gradients(stdout: str, heading: str = "∂f/∂") -> dict[str, dict[str, str]]:
    """Per array variable: "shape", "status", and "<column> vs <reference>" -> "abs / rel", in either layout."""
    lines = stdout.splitlines()
    rows: dict[str, dict[str, str]] = {}
    header_at = [i for i, line in enumerate(lines) if line.startswith(heading + "  ") and cells(line)[:2] == [heading, "shape"]]
    if header_at:  # a two-line header: "x vs y" above "max abs / rel error"
        top, bottom = lines[header_at[0] - 1], lines[header_at[0]]
        names = [c for c in cells(top)]
        pairs = [n for n in names if " vs " in n]
        for line in lines[header_at[0] + 1:]:
            parts = cells(line)
            if line.startswith("    numeric ± "):  # the folded error estimate
                rows[list(rows)[-1]]["numeric's error est."] = line.split("± ", 1)[1]
                continue
            if not line or line.startswith(" ") or parts[-1] not in STATUS_WORDS:
                break
            row = {"shape": parts[1], "status": parts[-1]}
            row.update(zip(pairs, parts[2:2 + len(pairs)]))
            rows[parts[0]] = row
        assert cells(bottom)[-1] == "status"
        return rows
    title = re.compile("^" + re.escape(heading) + r"(\S+) {2}(\(.*?\)) {2}" + STATUS + "$")
    current = None
    for line in lines:
        match = title.match(line)
        if match:
            current = match.group(1)
            rows[current] = {"shape": match.group(2), "status": match.group(3)}
        elif current is not None and not line.startswith("   ") and (" vs " in line or "error est." in line):
            # a block's lines sit two spaces under their title, or flush at the narrowest widths
            label, value = cells(line)
            rows[current][label] = value
        else:
            current = None
    assert rows, "no array table found:\n" + "\n".join(lines)
    return rows


def longest_line(stdout: str) -> int:
    return max((len(line) for line in stdout.splitlines()), default=0)


def parse_batch(text: str) -> dict[str, list[str]]:
    """case name -> its other cells (status, where, worst rel. error, time), in either layout."""
    lines = text.splitlines()
    found: dict[str, list[str]] = {}
    if lines[0].startswith("case  "):
        for line in lines[1:]:
            if not line.strip():
                break
            parts = cells(line)
            found[parts[0]] = parts[1:]
        return found
    name, details = None, False
    if lines[0] == "case":  # names on their own lines, the other columns aligned under a header
        lines = lines[2:]
    for line in lines:
        if not line.strip():
            break
        if not line.startswith(" "):  # a name, on one line or several
            if details or name is None:
                name, details = line, False
            else:
                del found[name]
                name = f"{name} {line}"
            found[name] = []
        else:
            details = True
            found[name] += cells(line)
    return found


def parse_trace(text: str) -> dict[str, dict[str, str]]:
    """node key -> its text, value and gradient as shown, in either layout."""
    # after f's line, the reading of the expression ("read as ...", possibly wrapped) may come first
    lines = text.splitlines()[1:]
    while lines and not (cells(lines[0])[:2] == ["node", "op"] or re.match(r"^n\d+ {2}", lines[0])):
        lines = lines[1:]
    nodes: dict[str, dict[str, str]] = {}
    if lines and cells(lines[0])[:2] == ["node", "op"]:
        for line in lines[1:]:
            parts = cells(line)
            if not re.fullmatch(r"n\d+", parts[0]):
                if line.startswith(" " * 10):
                    continue
                break
            nodes[parts[0]] = {"text": parts[1], "value": parts[3], "gradient": parts[4]}
        return nodes
    key = None
    for line in lines:
        title = re.match(r"^(n\d+) {2}(.*?)(?: {2}\((.*)\))?$", line)
        value = re.match(r"^ {4}(value|∂f/∂node) (.*)$", line)
        if title:
            key = title.group(1)
            nodes[key] = {"text": title.group(2)}
        elif value and key:
            nodes[key]["value" if value.group(1) == "value" else "gradient"] = value.group(2)
    return nodes
