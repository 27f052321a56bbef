"""Case files from an untrusted pull request: every string of a case (and a pickled .npy) holding an
injection attempt runs nothing and is refused as input, the payloads do run when executed on purpose
(the positive control), and random case files (hypothesis) end every case as a result naming the file.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SUBPROCESS_TIMEOUT, run_script
from fuzz_strategies import (
    OK_STATUSES, PER_EXAMPLE_SECONDS, SUPPORTS_TIMEOUT, any_expression_text, fuzz_settings, general_trees,
    known_bug, value_texts
)
from hostile_input import assert_clean_exit
from hypothesis import given
from hypothesis import strategies as st

from gradcheck.render.json import render_json
from gradcheck.verdict.result import Report

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

pytestmark = pytest.mark.slow  # generated inputs, minutes in all: CI runs them, a quick loop skips them


def payloads(marker: Path) -> dict[str, tuple[str, str]]:
    """id -> (payload text, how it would run: "python", "shell", or "" for syntax that does nothing on its own)."""
    m = str(marker)
    return {
        "os.system": (f"__import__('os').system('touch {m}')", "python"),
        "open": (f"open('{m}','w')", "python"),
        "pathlib": (f"__import__('pathlib').Path('{m}').touch()", "python"),
        "f-string": (f"f\"{{__import__('os').system('touch {m}')}}\"", "python"),
        "exec in lambda": (f"(lambda: exec(\"open('{m}','w')\"))()", "python"),
        "subclasses": ("().__class__.__base__.__subclasses__()", ""),
        "lambda": ("lambda: 0", ""),
        "shell $()": (f"$(touch {m})", "shell"),
        "shell ${}": (f"${{IFS}}x;touch {m}", "shell"),
        "backticks": (f"`touch {m}`", "shell"),
        "semicolon": (f"x; touch {m}", "shell"),
    }


def toml_string(text: str) -> str:
    """A TOML basic string holding `text` exactly."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_case(**keys) -> str:
    lines = ["[[case]]"]
    for key, value in keys.items():
        if isinstance(value, dict):
            inner = ", ".join(f"{toml_string(k)} = {toml_string(v)}" for k, v in value.items())
            lines.append(f"{key} = {{ {inner} }}")
        else:
            lines.append(f"{key} = {toml_string(value)}")
    return "\n".join(lines) + "\n"


class Pickled:
    """Unpickling this runs open(marker, 'w'): harmless, but it leaves a file if a loader unpickles."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def write_pull_request(folder: Path, marker) -> dict[str, str]:
    """Expression files whose every string is an injection attempt. Returns case name -> expected status."""
    folder.mkdir()
    expected: dict[str, str] = {}
    np.save(folder / "evil.npy", np.array([Pickled(marker("pickle")), {"harmless": 1}], dtype=object),
            allow_pickle=True)
    texts = []
    for n, (key, (payload, _)) in enumerate(sorted(payloads_by_id(marker).items())):
        cases = {
            f"{key} in expr": dict(expr=payload),
            f"{key} in let": dict(expr="x * u", let={"u": payload}),
            f"{key} as a let name": dict(expr="x", let={payload: "x"}),
            f"{key} in grad": dict(expr="x * y", grad={"x": payload}),
            f"{key} as a grad name": dict(expr="x * y", grad={payload: "y"}),
            f"{key} in at": dict(expr="x", at={"x": payload}),
            f"{key} as an at name": dict(expr="x", at={payload: "1"}),
            f"{key} in at text": dict(expr="x", at=f"x={payload}"),
            f"{key} in a .npy path": dict(expr="sum(x)", at={"x": payload + ".npy"}),
            f"{key} in wrt": dict(expr="x", wrt=payload),
            f"{key} in mode": dict(expr="x", mode=payload),
        }
        body = []
        for name, keys in cases.items():
            expected[name] = "error"
            body.append(toml_case(name=name, **keys))
        # The payload as a case name only labels a valid case: it runs, passes, and runs nothing else.
        expected[payload] = "pass"
        body.append(toml_case(name=payload, expr="x * y", at="x=1,y=2", grad={"x": "y"}))
        texts.append((folder / f"pr_{n:02d}.toml", "\n".join(body)))
    expected["pickled .npy"] = "error"
    texts.append((folder / "pickle.toml", toml_case(name="pickled .npy", expr="sum(X)", at={"X": "evil.npy"})))
    for path, text in texts:
        path.write_text(text, encoding="utf-8")
        tomllib.loads(text)  # valid TOML, so each payload reaches gradcheck intact
    return expected


def payloads_by_id(marker) -> dict[str, tuple[str, str]]:
    return {key: payloads(marker(key))[key] for key in payloads(Path("M"))}


def test_expression_files_cannot_run_code(tmp_path):
    """Every string of a TOML case (expr, let, grad, at, a .npy path, names, wrt, mode) and a pickled .npy
    holds an injection attempt; `gradcheck check` rejects each as input (exit 2) and creates no marker."""
    markers = tmp_path / "markers"
    markers.mkdir()

    def marker(key: str) -> Path:  # absolute, one per payload, all in one folder
        return markers / f"MARKER-{re.sub(r'[^A-Za-z]+', '_', key)}"

    expected = write_pull_request(tmp_path / "pr", marker)
    assert len(expected) > 100
    table = run_script("check", "pr", cwd=tmp_path)
    as_json = run_script("check", "pr", "--format", "json", cwd=tmp_path)
    assert list(markers.iterdir()) == [], "a payload ran"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["markers", "pr"]  # nothing written anywhere else
    for proc in (table, as_json):
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert_clean_exit(proc, "gradcheck check pr")
    document = json.loads(as_json.stdout)
    got = {case["name"]: case["status"] for case in document["cases"]}
    assert got == expected
    errors = {case["name"]: case["error"]["message"] for case in document["cases"] if case["error"]}
    assert "holds object, not real numbers" in errors["pickled .npy"]  # refused from its header, never unpickled


def test_the_injection_payloads_do_run_when_executed(tmp_path):
    """Positive control for the test above: executed on purpose (Python by exec, shell by sh -c, the
    pickle by np.load with allow_pickle=True), every payload creates its marker, so the absence of
    markers above means nothing executed them."""
    markers = tmp_path / "markers"
    markers.mkdir()

    def marker(key: str) -> Path:
        return markers / f"MARKER-{re.sub(r'[^A-Za-z]+', '_', key)}"

    all_payloads = payloads_by_id(marker)
    python = [p for p, how in all_payloads.values() if how == "python"]
    shell = [p for p, how in all_payloads.values() if how == "shell"]
    program = "\n".join(f"exec({p!r})" for p in python)
    subprocess.run([sys.executable, "-c", program], cwd=tmp_path, check=True, timeout=SUBPROCESS_TIMEOUT)
    for payload in shell:
        subprocess.run(["sh", "-c", payload], cwd=tmp_path, timeout=SUBPROCESS_TIMEOUT, capture_output=True)
    np.save(tmp_path / "evil.npy", np.array([Pickled(marker("pickle"))], dtype=object), allow_pickle=True)
    subprocess.run([sys.executable, "-c", "import numpy; numpy.load('evil.npy', allow_pickle=True)"],
                   cwd=tmp_path, check=True, timeout=SUBPROCESS_TIMEOUT)
    made = {p.name for p in markers.iterdir()}
    wanted = {marker(k).name for k, (_, how) in all_payloads.items() if how} | {marker("pickle").name}
    assert made == wanted


def toml_value(value) -> str:
    """Python data as a TOML value (inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if value != value else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{ " + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + " }"


short_text = st.one_of(general_trees, general_trees, any_expression_text, st.sampled_from(["x", "y", "x*y", ""]))


toml_numbers = st.one_of(st.integers(-(2**63), 2**63 - 1), st.floats(), st.sampled_from([0, 1, 2, -1, 1e-300]))


def mostly(valid, other):
    """valid three times in four (hypothesis picks the branches of one_of about evenly)."""
    return st.one_of(valid, valid, valid, other)


case_values = {
    "name": st.text(max_size=20),
    "at": mostly(st.dictionaries(st.sampled_from(["x", "y", "z"]), st.floats(-3, 3), max_size=3),
                 st.one_of(st.dictionaries(st.sampled_from(["x", "y", "z", "W", "q", "1"]),
                                           st.one_of(toml_numbers, value_texts, st.lists(st.floats(-3, 3), max_size=3),
                                                     st.booleans()), max_size=3),
                           value_texts, st.sampled_from(["x=1,y=2", "x=0.5"]))),
    "let": st.dictionaries(st.sampled_from(["u", "v", "x", "exp"]), short_text, max_size=2),
    "grad": st.dictionaries(st.sampled_from(["x", "y", "q"]), short_text, max_size=2),
    "wrt": st.one_of(st.text(max_size=8), st.lists(st.one_of(st.sampled_from(["x", "y", "q"]), st.integers()),
                                                   max_size=3)),
    "seed": mostly(st.integers(0, 2**63 - 1), st.integers(-5, -1)),
    "rtol": mostly(st.floats(0, 1), toml_numbers),
    "atol": mostly(st.floats(0, 1), toml_numbers),
    "mode": mostly(st.sampled_from(["auto", "full", "fast"]), st.text(max_size=5)),
    "method": mostly(st.sampled_from(["auto", "central", "richardson", "complex"]), st.text(max_size=5)),
    "timeout": mostly(st.floats(0.5, PER_EXAMPLE_SECONDS), toml_numbers),
    "dtype": mostly(st.sampled_from(["float64", "float32"]), st.text(max_size=5)),
    "order": mostly(st.sampled_from([1, 2]), st.integers()),
    "expect": mostly(st.sampled_from(["pass", "mismatch"]), st.text(max_size=5)),
}


case_tables = mostly(
    st.fixed_dictionaries({"expr": short_text}, optional=case_values),
    st.fixed_dictionaries({}, optional={**case_values, "expr": short_text, "atx": st.just(1), "Expr": short_text}),
)


toml_documents = st.one_of(
    st.lists(case_tables, max_size=4).map(
        lambda cases: "\n".join("[[case]]\n" + "".join(f"{toml_string(k)} = {toml_value(v)}\n" for k, v in c.items())
                                for c in cases)),
    st.text(max_size=200),
    st.lists(st.sampled_from(["[[case]]", "[case]", "[[cases]]", 'expr = "x"', "expr = 1", 'at = "x=1"', "x = ",
                              '"', "[", "\n", "case = 3", 'name = "a"', "[[case.at]]"]), max_size=12).map("\n".join),
)


@fuzz_settings("toml")
@given(toml_documents)
def test_random_expression_files(tmp_path_factory, document):
    """Any file `gradcheck check` may be given: every case ends as a result (errors included, naming
    the file), nothing raises, and the report renders as JSON."""
    from gradcheck.batch.cases import load, run

    folder = tmp_path_factory.mktemp("toml")
    path = folder / "cases.toml"
    path.write_text(document, encoding="utf-8")
    results = []
    for spec in load(path):
        if SUPPORTS_TIMEOUT and spec.error is None:
            given_timeout = spec.options.get("timeout")
            if not isinstance(given_timeout, (int, float)) or not 0 < given_timeout <= PER_EXAMPLE_SECONDS:
                spec.options["timeout"] = PER_EXAMPLE_SECONDS
        try:
            result = run(spec)
        except Exception as exc:  # noqa: BLE001
            if known_bug(exc):
                continue
            raise
        assert result.status in OK_STATUSES | {"error"}, result.status
        if result.status == "error":
            assert str(path) in result.error["message"] or path.name in result.error["message"], result.error
            assert "took longer than its time budget" not in result.error["message"] or \
                spec.options.get("timeout") != PER_EXAMPLE_SECONDS, result.error
        results.append(result)
    json.loads(render_json(Report(results)))
