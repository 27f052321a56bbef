"""eval's and trace's output options: outputs that cannot go together are refused before anything is
written, and an output file that cannot be written is one line.
"""

from __future__ import annotations


import pytest
from conftest import joined, messages, run_script


@pytest.mark.parametrize(("extra", "said"), [
    (["--latex", "--format", "json"], ("--latex", "cannot go with --format json")),
    (["--emit", "numpy", "--format", "json"], ("--emit numpy", "cannot go with --format json")),
    (["--emit", "numpy", "--html", "report.html"], ("--emit numpy", "cannot go with --html")),
])
def test_outputs_that_cannot_go_together_are_refused(tmp_path, extra, said):
    """--latex after --format json made the JSON invalid; --emit numpy silently ignored --format json and --html."""
    done = run_script("eval", "x**2", "--at", "x=1", *extra, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert all(words in joined(done.stderr) for words in said), done.stderr
    assert not (tmp_path / "report.html").exists()


def test_an_unwritable_graph_file_is_one_line_like_an_unwritable_html_file(tmp_path):
    """--svg said "[Errno 2] No such file or directory: '/x/g.svg'" where --html says "No such file or directory"."""
    missing = tmp_path / "no" / "g.svg"
    done = run_script("trace", "x*y", "--at", "x=1,y=2", "--svg", str(missing))
    assert done.returncode == 2
    (message,) = messages(done.stderr)  # one line
    assert message.startswith("gradcheck: error: cannot write --svg") and str(missing) in message, message
    assert message.endswith("No such file or directory") and "Errno" not in message, message
