"""Hostile case files through the console script: every input channel at once, files that cannot be
read, are too large or are broken (each ends its case or file with exit 2, not the run), a byte-order
mark, and generated hostile files (hypothesis) that must end cleanly.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from hostile_input import MEMORY_LIMIT, assert_exit, case, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize("kind, words", [
    ("latin-1", ["bad.toml:2", "not valid UTF-8", "0xe9"]),
    ("broken link", ["bad.toml", "cannot read", "broken link"]),
    ("fifo", ["bad.toml", "cannot read", "not a regular file"]),
])
def test_an_unreadable_case_file_in_a_folder_is_exit_2(tmp_path, kind, words):
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "good.toml").write_text(case("good", "x*x"))
    bad = folder / "bad.toml"
    if kind == "latin-1":
        bad.write_bytes(b'[[case]]\nname = "caf\xe9"\nexpr = "x"\ngrad = { x = "2" }\n')  # a wrong claim, unseen
    elif kind == "broken link":
        bad.symlink_to(tmp_path / "nowhere.toml")
    else:
        os.mkfifo(bad)
    proc = run("check", "cases", cwd=tmp_path)
    assert_exit(proc, 2, *words)
    assert "good" in proc.stdout  # the other files still ran


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    (tmp_path / "bom.toml").write_bytes(b"\xef\xbb\xbf" + case("with a BOM", "x*x").encode())
    proc = run("check", "bom.toml", "--format", "json", cwd=tmp_path)
    assert_exit(proc, 0)
    assert [c["name"] for c in json.loads(proc.stdout)["cases"]] == ["with a BOM"]


HOSTILE_CASES = {  # name -> (the case's TOML keys, the status it must end in)
    "control characters in the name \u0007\u001b[2J": ({"expr": '"x*y"'}, "pass"),
    "[/] markup [link=https://example.com]click[/link]": ({"expr": '"x*y"'}, "pass"),
    "expr payload": ({"expr": '"__import__(\'os\').system(\'true\')"'}, "error"),
    "expr NUL": ({"expr": '"x\\u0000y"'}, "error"),
    "expr 20000 characters": ({"expr": json.dumps("x+" * 10_000 + "x")}, "error"),
    "let payload": ({"expr": '"z*x"', "let": '{ z = "open(\'/etc/passwd\')" }'}, "error"),
    "grad for an unknown variable": ({"expr": '"x*y"', "grad": '{ q = "1" }'}, "error"),
    "grad payload": ({"expr": '"x*y"', "grad": '{ x = "eval(\'y\')" }'}, "error"),
    "at is a string of junk": ({"expr": '"x"', "at": '"x=;rm -rf /"'}, "error"),
    "at boolean": ({"expr": '"x"', "at": "{ x = true }"}, "error"),
    "at datetime": ({"expr": '"x"', "at": "{ x = 1979-05-27T07:32:00Z }"}, "error"),
    "at nan and inf": ({"expr": '"x*y"', "at": "{ x = nan, y = inf }"}, "error"),
    "at huge integer": ({"expr": '"x"', "at": "{ x = 9223372036854775807 }"}, "pass"),
    "at nested table": ({"expr": '"x"', "at": "{ x = { y = 1 } }"}, "error"),
    "at randn of a gigabyte": ({"expr": '"sum(X)"', "at": '{ X = "randn(100000,100000)" }'}, "error"),
    "at .npy outside": ({"expr": '"sum(X)"', "at": '{ X = "../outside.npy" }'}, "error"),
    "at /dev/zero.npy": ({"expr": '"sum(X)"', "at": '{ X = "/dev/zero.npy" }'}, "error"),
    "unknown key": ({"expr": '"x"', "exprr": '"y"'}, "error"),
    "seed negative": ({"expr": '"x"', "seed": "-1"}, "error"),
    "timeout negative": ({"expr": '"x"', "timeout": "-5"}, "error"),
    "timeout nan": ({"expr": '"x"', "timeout": "nan"}, "error"),
    "rtol inf": ({"expr": '"x"', "rtol": "inf"}, "error"),
    "mode nonsense": ({"expr": '"x"', "mode": '"fastest"'}, "error"),
    "method nonsense": ({"expr": '"x"', "method": '"magic"'}, "error"),
    "order 3": ({"expr": '"x"', "order": "3"}, "error"),
    "dtype float16": ({"expr": '"x"', "dtype": '"float16"'}, "error"),
    "wrt list of numbers": ({"expr": '"x"', "wrt": "[1, 2]"}, "error"),
    "deep let chain": ({"expr": '"a120"', "let": "{ " + ", ".join(
        ["a1 = \"sin(x)\""] + [f'a{i} = "sin(a{i - 1})"' for i in range(2, 121)]) + " }"}, "error"),
}


NAMES_SHOWN_AS_TEXT = 2  # the first two cases: names that are markup or escapes (tests/render/test_output_literal.py shows them)


def hostile_case_file(cases: dict) -> str:
    return "".join("[[case]]\n" + f"name = {json.dumps(name)}\n" + "".join(f"{k} = {v}\n" for k, v in keys.items())
                   for name, (keys, _) in cases.items())


def test_every_channel_of_a_hostile_case_file(tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    np.save(tmp_path / "outside.npy", np.array([1.0, 2.0]))
    (project / "pr.toml").write_text(hostile_case_file(HOSTILE_CASES))
    proc = run("check", "pr.toml", "--format", "json", cwd=project, memory=MEMORY_LIMIT)  # the default budget
    assert_exit(proc, 2)
    got = {case["name"]: case["status"] for case in json.loads(proc.stdout)["cases"]}
    assert got == {name: status for name, (_, status) in HOSTILE_CASES.items()}
    # The table, without the hostile names (shown literally by the renderer: its own tests hold that)
    plain_names = dict(list(HOSTILE_CASES.items())[NAMES_SHOWN_AS_TEXT:])
    (tmp_path / "table.toml").write_text(hostile_case_file(plain_names))
    table = run("check", str(tmp_path / "table.toml"), "--root", str(project), cwd=project, memory=MEMORY_LIMIT)
    assert_exit(table, 2)
    assert "\x1b" not in table.stdout  # NO_COLOR
    assert sorted(p.name for p in project.iterdir()) == ["pr.toml"]  # nothing ran, nothing was written


def test_a_case_file_larger_than_the_cap_is_refused_before_it_is_parsed(tmp_path):
    from gradcheck.batch.cases import MAX_CASE_FILE_BYTES

    (tmp_path / "big.toml").write_text(case("big", "x*y") + "# padding\n" * (MAX_CASE_FILE_BYTES // 10 + 1))
    (tmp_path / "good.toml").write_text(case("good", "x*x"))
    proc = run("check", ".", cwd=tmp_path, memory=MEMORY_LIMIT)
    assert_exit(proc, 2, "big.toml", f"{MAX_CASE_FILE_BYTES:,}")
    assert "good" in proc.stdout


BROKEN_CASES = {
    "nested": "[[case]]\nname = 'nested'\nexpr = 'x'\nat = { x = " + "[" * 500 + "1" + "]" * 500 + " }\n",
    "rtol": case("rtol", "x*y", rtol="9" * 400),
    "listed dims": case("listed dims", "sum(x)", at="{ x = " + "[" * 33 + "1.0" + "]" * 33 + " }"),
    "reshaped dims": case("reshaped dims", "sum(reshape(x, (" + ",".join(["1"] * 33) + ")))", at="{ x = [1.0] }"),
    "built dims": case("built dims", "sum(x * ones((" + ",".join(["1"] * 33) + ")))", at="{ x = 1.0 }"),
}


@pytest.mark.parametrize("kind", list(BROKEN_CASES))
def test_a_broken_case_file_ends_that_case_or_file_with_exit_2_not_the_run(tmp_path, kind):
    (tmp_path / "broken.toml").write_text(BROKEN_CASES[kind])
    (tmp_path / "good.toml").write_text(case("good", "x*x"))
    proc = run("check", "broken.toml", "good.toml", "--junit", "out.xml", cwd=tmp_path)
    assert_exit(proc, 2, "broken.toml")
    assert "good" in proc.stdout and 'errors="1"' in (tmp_path / "out.xml").read_text()


PROPERTY_EXAMPLES = 25  # each writes and runs one case file; ~15 s in all on a shared 2-core machine


PROPERTY_BUDGET = 5.0  # seconds per case (--timeout): a case that runs out is an error result, as due


HOSTILE_TEXT = st.sampled_from([
    "x*y", "sin(x)", "sum(X)", "x**10**10**10", "((((((x))))))", "[/]", "\u001b[2J", "\u0000", "../x.npy",
    "/etc/passwd.npy", "randn(100000,100000)", "x=1,y=2", "open('f')", "a" * 300, "σ(x)", "", " ", "1e400",
    "x" + "+x" * 2000, "-" * 3000 + "x", "exp(1000)", "log(x)", "1/x", "x.T", "X @ X", "max(x, 0)",
])


TOML_VALUE = st.recursive(
    st.one_of(HOSTILE_TEXT.map(json.dumps), st.integers(-(2**63), 2**63 - 1).map(str),
              st.sampled_from(["nan", "inf", "-inf", "1e308", "true", "false", "1979-05-27T07:32:00Z", "0.5"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
                            st.dictionaries(st.sampled_from(["x", "y", "X", "z", "q"]), inner, max_size=3).map(
                                lambda d: "{ " + ", ".join(f"{k} = {v}" for k, v in d.items()) + " }")),
    max_leaves=4)


KEYS = ["name", "expr", "at", "let", "grad", "wrt", "seed", "rtol", "atol", "mode", "method", "timeout", "dtype",
        "order", "expect", "exprr", "bogus"]


@st.composite
def hostile_case_files(draw) -> bytes:
    if draw(st.integers(0, 9)) == 0:  # now and then, bytes that are not UTF-8 or not TOML at all
        return draw(st.binary(max_size=60))
    tables = []
    for _ in range(draw(st.integers(1, 3))):
        keys = draw(st.dictionaries(st.sampled_from(KEYS), TOML_VALUE, max_size=6))
        keys.setdefault("expr", draw(HOSTILE_TEXT.map(json.dumps)))
        keys["timeout"] = str(PROPERTY_BUDGET)
        tables.append("[[case]]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items()))
    return "".join(tables).encode()


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(content=hostile_case_files())
def test_generated_hostile_case_files_end_cleanly(tmp_path_factory, content):
    from gradcheck.batch.cases import load, run

    folder = tmp_path_factory.mktemp("pr")
    path = folder / "case.toml"
    path.write_bytes(content)
    for spec in load(path, root=folder):
        result = run(spec)  # input errors become results (a timeout too); anything else raised fails the property
        assert result.status in {"pass", "mismatch", "kink", "error"}
        if result.status == "error":
            assert result.error["kind"] in {"parse", "value", "spec", "domain", "shape", "timeout", "input"}
            assert "Traceback" not in result.verdict and "object at 0x" not in result.verdict
