"""User text is shown literally everywhere (issue 10, items 2 and 3): case names, check_function's dict
keys and the registry's own text are never read as rich markup, never reach a terminal as raw control
sequences, stay exact in JSON, and JUnit stays well-formed XML whatever a case name holds."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import test_cli as cli

import gradcheck
from gradcheck.render.escape import visible

# Case names a hostile (or unlucky) case file may hold; TOML's \u escapes make every one legal.
MARKUP_CLOSE = "[/]"
LINK = "[link=https://x]click me[/link]"
CLEAR_SCREEN = "clear \u001b[2J the screen"
CONTROLS = "nul \u0000 esc \u001b bell \u0007 del \u007f csi \u009b rtl \u202e end"
BOLD = "[bold red]not bold[/bold red]"
NAMES = [MARKUP_CLOSE, LINK, CLEAR_SCREEN, CONTROLS, BOLD]

RAW_CONTROLS = ["\x1b[2J", "\x00", "\x07", "\x7f", "\x9b", "\u202e"]
OSC8 = "\x1b]8;"  # the terminal hyperlink rich makes of [link=...]


def toml_string(text: str) -> str:
    """text as a TOML basic string, every control character as a \\u escape."""
    out = []
    for ch in text:
        if ch in '"\\' or ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f or ch == "\u202e":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def case_file(tmp_path, names=NAMES, grad="2*x"):
    body = "".join(f'[[case]]\nname = {toml_string(n)}\nexpr = "x**2"\nat = {{ x = 3 }}\ngrad = {{ x = "{grad}" }}\n\n'
                   for n in names)
    path = tmp_path / "hostile.toml"
    path.write_text(body, encoding="utf-8")
    return path


def assert_literal(output: str, names=NAMES) -> None:
    for name in names:
        assert visible(name) in output, (name, output)
    for raw in RAW_CONTROLS:
        assert raw not in output, (raw, output)
    assert OSC8 not in output


def test_hostile_case_names_through_the_console_script_piped(tmp_path):
    path = case_file(tmp_path)
    proc = cli.run_piped([cli.console_script(), "check", str(path), "--show"], cli.subprocess_env(), tmp_path)
    cli.assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_literal(proc.stdout)
    assert "[/]" in proc.stdout and "click me[/link]" in proc.stdout


def test_hostile_case_names_on_a_terminal_send_no_raw_control_sequences(tmp_path):
    path = case_file(tmp_path)
    proc = cli.run_in_pty([cli.console_script(), "check", str(path)], cli.subprocess_env(TERM="xterm-256color"),
                          tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert "Traceback" not in proc.stdout
    # rich's own color codes are SGR sequences (ESC [ ... m); nothing else may start with ESC
    without_colors = cli.SGR.sub("", proc.stdout)
    assert "\x1b" not in without_colors, repr(without_colors)
    assert_literal(without_colors)


def test_hostile_case_names_that_fail_are_shown_literally_in_the_details_and_stderr(tmp_path):
    path = case_file(tmp_path, grad="3*x")  # every case a mismatch: its name heads a details section
    proc = cli.run_piped([cli.console_script(), "check", str(path)], cli.subprocess_env(), tmp_path)
    cli.assert_no_traceback(proc)
    assert proc.returncode == 1
    assert_literal(proc.stdout)
    bad = tmp_path / "bad.toml"
    bad.write_text(f'[[case]]\nname = {toml_string(CLEAR_SCREEN)}\nexpr = "x**"\n', encoding="utf-8")
    proc = cli.run_piped([cli.console_script(), "check", str(bad)], cli.subprocess_env(), tmp_path)
    cli.assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "\x1b[2J" not in proc.stderr and "\x1b[2J" not in proc.stdout


def test_json_keeps_names_exact(tmp_path):
    path = case_file(tmp_path)
    proc = cli.run_piped([cli.console_script(), "check", str(path), "--format", "json"], cli.subprocess_env(),
                         tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [c["name"] for c in json.loads(proc.stdout)["cases"]] == NAMES


def test_junit_is_well_formed_for_any_case_name(tmp_path):
    path = case_file(tmp_path, grad="3*x")  # failures: the names also reach the failure text
    junit = tmp_path / "report.xml"
    proc = cli.run_piped([cli.console_script(), "check", str(path), "--junit", str(junit)], cli.subprocess_env(),
                         tmp_path)
    assert proc.returncode == 1, proc.stderr
    root = ET.parse(junit).getroot()  # raises on ill-formed XML
    cases = root.iter("testcase")
    assert [c.get("name") for c in cases] == [visible(n) for n in NAMES]
    assert len(list(root.iter("failure"))) == len(NAMES)


def test_check_function_dict_keys_are_refused_and_shown_literally():
    """f(**inputs) takes names: a key that is not a Python name is refused, and named as written."""
    def f(**kw):
        return float(sum(v ** 2 for v in kw.values()))

    def wrong(**kw):
        return {k: 3 * v for k, v in kw.items()}

    for key, shown in ((MARKUP_CLOSE, "'[/]'"), ("w\u001b[2J", "w\\x1b[2J")):
        with pytest.raises(gradcheck.SpecError) as caught:
            gradcheck.check_function(f, wrong, {key: np.array(1.0)})
        assert shown in str(caught.value) and "\x1b" not in str(caught.value)


def test_functions_listing_keeps_brackets():
    proc = cli.run_piped([cli.console_script(), "functions"], cli.subprocess_env(), cli.Path.cwd())
    assert proc.returncode == 0, proc.stderr
    from gradcheck.ops.registry import PRIMITIVES

    bracketed = [p for p in PRIMITIVES if "[" in p.signature()]
    assert bracketed  # the registry has indexing, written with brackets
    joined = " ".join(line.strip() for line in proc.stdout.splitlines())
    for prim in bracketed:
        assert prim.signature() in joined, prim.signature()
        assert all(d in joined for d in prim.derivatives if "[" in d), prim.derivatives


def test_visible_escapes_what_a_terminal_or_xml_would_act_on():
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("tab\there\nline") == "tab\\x09here\\x0aline"
    assert visible("tab\there\nline", multiline=True) == "tab\there\nline"  # text that spans lines keeps them
    assert visible("\u202e\ud800") == "\\u202e\\ud800"
    assert visible("∂f/∂x [i, j] é") == "∂f/∂x [i, j] é"
