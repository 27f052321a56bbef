"""`--html FILE` (issue 14): one self-contained page per run, for eval, check and trace, with user text
escaped; and the notebook representations of results. The page is parsed with the standard library's
HTML parser, so these tests need no browser (tests/test_browser.py renders it in one)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import test_cli as cli
from conftest import joined

import gradcheck
from gradcheck.render.escape import visible

CASES = '''
[[case]]
name = "right <b>cube</b> & friends"
expr = "x^3"
at = { x = 2 }
grad = { x = "3*x^2" }

[[case]]
name = "wrong cube <script>alert(1)</script> \\u001b[2J"
expr = "x^3"
at = { x = 2 }
grad = { x = "3*x" }

[[case]]
name = "the sigmoid's local gradient left out"
expr = "sigmoid(z)"
let = { z = "w0*x0 + w1*x1 + w2" }
at = { w0 = 2, w1 = -3, w2 = -3, x0 = -1, x1 = -2 }
grad = { w0 = "x0*sigmoid(z)" }
expect = "mismatch"
'''
WRONG = "wrong cube <script>alert(1)</script> \u001b[2J"
RIGHT = "right <b>cube</b> & friends"
LOCAL = "the sigmoid's local gradient left out"


class Page(HTMLParser):
    """The page's text, tags, and every URL it would load."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[str] = []
        self.loads: list[str] = []
        self.headings: list[str] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attributes = dict(attrs)
        for key in ("src", "srcset", "data"):
            if attributes.get(key):
                self.loads.append(attributes[key])
        if tag == "link" or (attributes.get("href") and not attributes["href"].startswith("#")):
            self.loads.append(attributes.get("href", "<link>"))
        if tag == "h2":
            self._heading = []

    def handle_endtag(self, tag):
        if tag == "h2" and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None

    def handle_data(self, data):
        self.text.append(data)
        if self._heading is not None:
            self._heading.append(data)


def parse(path) -> tuple[Page, str]:
    source = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(source)
    page.close()
    return page, source


def assert_self_contained(page: Page, source: str) -> None:
    assert page.loads == [], page.loads  # no external asset: no src, no stylesheet link, no remote href
    assert "script" not in page.tags
    assert not re.search(r"url\((?!#)|@import|https?://(?!www\.w3\.org/2000/svg)", source)  # only in-page refs
    assert "\x1b" not in source


def run(tmp_path, *args):
    return cli.run_piped([cli.console_script(), *args], cli.subprocess_env(), tmp_path)


def test_check_html_has_a_summary_on_top_and_one_section_per_case_failures_first(tmp_path):
    (tmp_path / "cases.toml").write_text(CASES, encoding="utf-8")
    report = tmp_path / "report.html"
    proc = run(tmp_path, "check", "cases.toml", "--html", str(report))
    assert proc.returncode == 1, proc.stderr
    page, source = parse(report)
    assert_self_contained(page, source)
    text = "".join(page.text)
    assert text.index("3 cases: 1 passed, 1 mismatch caught as expected, 1 failed") < text.index(visible(WRONG))
    assert [h.split(" cases.toml:")[0] for h in page.headings] == [visible(WRONG), RIGHT, LOCAL]
    assert "<script>alert(1)</script>" not in source and "&lt;script&gt;" in source  # escaped, shown literally
    assert "claimed disagrees" in text  # the verdict
    assert "sigmoid(z)" in text and "where its local gradient belongs" in " ".join(text.split())  # diagnosis
    assert "color: #" in source  # the terminal's colors, inline


def test_eval_html_has_the_table_verdict_and_diagnosis(tmp_path):
    report = tmp_path / "eval.html"
    proc = run(tmp_path, *cli.WRONG_CLAIM_ARGS, "--html", str(report))
    assert proc.returncode == 1, proc.stderr
    page, source = parse(report)
    assert_self_contained(page, source)
    text = " ".join("".join(page.text).split())
    for variable in cli.NEURON_VARS:
        assert f"{variable} " in text
    assert cli.WRONG_VERDICT in text and "how the claimed ∂f/∂w0 is wrong" in text
    assert "-0.1966119332" in text and "-0.7310585786" in text


def test_trace_html_has_the_table_and_an_inline_svg_graph(tmp_path):
    report = tmp_path / "trace.html"
    proc = run(tmp_path, "trace", cli.NEURON, "--at", cli.NEURON_AT, "--html", str(report))
    assert proc.returncode == 0, proc.stderr
    page, source = parse(report)
    assert_self_contained(page, source)
    assert "svg" in page.tags and "<?xml" not in source
    text = "".join(page.text)
    assert "sigmoid(w0*x0 + w1*x1 + w2)" in text and "∂f = 0.1966" in text and "0.7311" in text


def test_html_is_written_atomically_and_a_bad_path_is_exit_2(tmp_path):
    report = tmp_path / "eval.html"
    report.write_text("old report")
    proc = run(tmp_path, "eval", "x*y", "--at", "x=1,y=2", "--html", str(report))
    assert proc.returncode == 0
    assert report.read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval.html"]  # no temporary file left behind
    proc = run(tmp_path, "eval", "x*y", "--at", "x=1,y=2", "--html", str(tmp_path / "missing" / "r.html"))
    cli.assert_no_traceback(proc)
    assert proc.returncode == 2 and "cannot write --html" in joined(proc.stderr) and "missing" in joined(proc.stderr)


def test_notebook_representations_show_the_same_table():
    result = gradcheck.check("x^3", at="x=2", grad="x=3*x", name="[/] <b>")
    html = result._repr_html_()
    assert "claimed disagrees with symbolic" in html and "color: #" in html
    markdown = result._repr_markdown_()
    assert markdown.startswith("```text\n") and markdown.rstrip().endswith("```")
    assert str(result).strip() in markdown
    report = gradcheck.verdict.result.Report([result])
    assert "1 case" in report._repr_html_() and "1 case" in str(report)
    assert "[/] &lt;b&gt;" in report._repr_html_() and "<b>" not in report._repr_html_()  # the name, literally
    trace = gradcheck.trace("sigmoid(w*x)", at="w=2,x=-1")
    assert "<svg" in trace._repr_html_() and "sigmoid" in str(trace)
    assert trace._repr_svg_().lstrip().startswith(("<svg", "<?xml"))
