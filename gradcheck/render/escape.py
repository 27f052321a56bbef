"""User text shown literally: control characters made visible, never sent raw to a terminal or an XML file.

Case names, check_function's dict keys and TOML strings may hold any character (TOML's `\\u001b` is
legal). A raw ESC would let a case file drive the terminal (`\\x1b[2J` clears it), a NUL makes JUnit
XML ill-formed, and bidirectional overrides make text read differently than it is. Each becomes its
Python escape (`\\x1b`, `\\u202e`), so what the person sees is what the file holds. No rich here:
the CLI's error lines use this too.
"""

from __future__ import annotations

import re

# C0 and C1 control characters and DEL (ECMA-48: what a terminal acts on), the bidirectional
# embeddings, overrides and isolates (Unicode TR #9; the "Trojan Source" characters), and the two
# noncharacters and the lone surrogates XML 1.0 forbids (§2.2, Char;
# a surrogate cannot even be encoded as UTF-8). Tab and newline are kept where text may span lines.
_ALWAYS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff"
_MULTILINE = re.compile(f"[{_ALWAYS}]")
_ONE_LINE = re.compile(f"[{_ALWAYS}\t\n]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: object, multiline: bool = False) -> str:
    """text with every control character shown as its escape; newlines kept only when multiline."""
    return (_MULTILINE if multiline else _ONE_LINE).sub(_escape, str(text))
