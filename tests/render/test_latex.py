"""--latex (issue 13): the checked formulas as LaTeX, compiled where a TeX engine is installed."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from conftest import run_script

NET = ["eval", "softmax_ce(relu(X @ W1) @ W2, y)", "--at", "X=randn(8,4)", "--at", "W1=randn(4,5)",
       "--at", "W2=randn(5,3)", "--at", "y=[0,1,2,0,1,2,0,1]", "--let", "H=relu(X @ W1)", "--wrt", "W1,W2", "--latex"]
ENGINES = ("pdflatex", "lualatex", "xelatex")


def latex_block(stdout: str) -> str:
    start = stdout.index(r"\begin{align*}")
    return stdout[start:stdout.index(r"\end{align*}") + len(r"\end{align*}")] + "\n"


def test_the_notes_formulas_in_latex():
    done = run_script(*NET)
    assert done.returncode == 0, done.stderr
    block = latex_block(done.stdout)
    # golden: the LaTeX of the notes' formulas is the output under test
    assert r"\frac{\partial f}{\partial W_{2}} &= \frac{1}{8}\, H^\top \, \left(\operatorname{softmax}" in block
    assert r"\odot \operatorname{step}\left(X \, W_{1}\right)" in block  # the elementwise product of the notes
    assert block.count("{") == block.count("}") and block.count(r"\left(") == block.count(r"\right)")


def test_names_are_escaped_for_tex():
    done = run_script("eval", "sum(a_b * x_0)", "--at", "a_b=randn(2)", "--at", "x_0=randn(2)", "--latex")
    assert done.returncode == 0, done.stderr
    block = latex_block(done.stdout)
    assert r"\mathrm{a\_b}" in block and "x_{0}" in block


def test_the_latex_compiles(tmp_path):
    engine = next((e for e in ENGINES if shutil.which(e)), None)
    if engine is None:
        pytest.skip(f"no TeX engine installed ({', '.join(ENGINES)} not found on PATH)")
    from gradcheck.render.latex import document  # noqa: F401 - the same preamble the CLI's fragment needs

    body = latex_block(run_script(*NET).stdout)
    (tmp_path / "f.tex").write_text("\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
                                    + body + "\\end{document}\n", encoding="utf-8")
    done = subprocess.run([engine, "-interaction=nonstopmode", "-halt-on-error", "f.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
