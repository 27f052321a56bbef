"""--format json, schema 3: an array of more than LIST_MAX_ENTRIES entries is packed, exact (docs/json.md)."""

from __future__ import annotations

import base64
import json

import numpy as np
from conftest import run_script

import gradcheck
from gradcheck.render.json import SCHEMA_VERSION, render_json
from gradcheck.verdict.result import LIST_MAX_ENTRIES, Report, packed, unpacked


def test_schema_version_is_5():
    assert SCHEMA_VERSION == 5  # 5: the status "contract" and its count in the summary


def test_packed_array_reads_back_bit_for_bit_nan_and_inf_included():
    a = np.random.default_rng(0).standard_normal((3, 5, 7)) * 10.0 ** np.arange(-150, 150, 300 / 105).reshape(3, 5, 7)
    a[0, 0, 0], a[1, 2, 3], a[2, 4, 6], a[2, 0, 1] = np.nan, np.inf, -np.inf, -0.0
    p = json.loads(json.dumps(packed(a)))
    assert set(p) == {"shape", "dtype", "base64"} and p["shape"] == [3, 5, 7]
    back = np.frombuffer(base64.b64decode(p["base64"]), dtype=p["dtype"]).reshape(p["shape"])  # as docs/json.md reads it
    assert back.tobytes() == a.tobytes()
    assert unpacked(p).tobytes() == a.tobytes()


def test_arrays_up_to_the_limit_stay_lists_and_larger_ones_are_packed():
    small = np.arange(LIST_MAX_ENTRIES, dtype=np.float64) / 7
    large = np.arange(LIST_MAX_ENTRIES + 1, dtype=np.float64) / 7
    result = gradcheck.check("sum(a) + sum(sin(b))", at={"a": small, "b": large})
    case = json.loads(render_json(Report([result])))["cases"][0]
    assert isinstance(case["point"]["a"], list) and case["point"]["a"] == small.tolist()
    assert case["point"]["b"]["shape"] == [LIST_MAX_ENTRIES + 1]
    assert unpacked(case["point"]["b"]).tobytes() == large.tobytes()
    backprop = unpacked(case["gradients"]["b"]["backprop"])
    assert backprop.tobytes() == np.asarray(result.gradients["b"].columns["backprop"]).tobytes()
    assert isinstance(case["gradients"]["a"]["backprop"], list)


def test_script_writes_a_large_gradient_packed_and_exact(tmp_path):
    proc = run_script("eval", "sum(X @ W)", "--at", "X=randn(3,100),W=randn(100,120)", "--format", "json",
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["version"] == 5
    case = document["cases"][0]
    X, W = unpacked(case["point"]["X"]), unpacked(case["point"]["W"])
    assert X.shape == (3, 100) and W.shape == (100, 120)
    g = unpacked(case["gradients"]["W"]["backprop"])  # d/dW sum(X @ W) = X.T @ ones
    np.testing.assert_allclose(g, np.repeat(X.sum(axis=0)[:, None], 120, axis=1), rtol=1e-13)
    assert case["gradients"]["W"]["status"] == "pass"


def test_the_indented_part_is_what_json_dumps_writes():
    """render_json writes the indented part itself (faster than json's Python encoder): for a document
    without arrays or pairs it must be, byte for byte, json.dumps(indent=2, ensure_ascii=False)."""
    from gradcheck.base.errors import ParseError
    from gradcheck.checks.expression import error_result

    nasty = 'log(x) "quoted" \\ back\\slash é \x1b[31m\n tab\t'
    report = Report([error_result(nasty, ParseError(nasty), name=nasty), error_result("y", ParseError("?"))])
    text = render_json(report)
    expected = {"version": SCHEMA_VERSION, "cases": [c.to_dict() for c in report.cases], "summary": report.summary}
    assert text == json.dumps(expected, indent=2, ensure_ascii=False)


def test_a_batch_document_reads_back_as_its_results():
    cases = [gradcheck.check("x*y + sin(x)", at=f"x={i / 3},y=2", grad={"y": "x"}) for i in range(5)]
    cases.append(gradcheck.check("relu(x)", at="x=0"))
    document = json.loads(render_json(Report(cases)))
    assert [c["status"] for c in document["cases"]] == [c.status for c in cases]
    for got, case in zip(document["cases"], cases):
        assert got["value"] == case.value and got["verdict"] == case.verdict
        for name, g in case.gradients.items():
            assert got["gradients"][name]["backprop"] == float(g.columns["backprop"])
            assert [p["agree"] for p in got["gradients"][name]["pairs"]] == [p.agree for p in g.pairs]
