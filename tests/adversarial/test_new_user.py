"""What a new user ran into, trying every feature on expressions, layers, values and files no issue named:
each test is a problem found that way, through the API and the real console script."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import joined, messages, run_script

import gradcheck


# ----- a registry kink on the path need not make f kinked ----------------------------------------
@pytest.mark.parametrize(("expr", "derivative"), [
    ("relu(x)**2", 0.0),  # relu's kink squared away: f = x² for x > 0, 0 below; f' is 0 on both sides
    ("x*abs(x)", 0.0),
    ("max(x, 0)**2", 0.0),
    ("elu(x)", 1.0),  # α = 1: e^x's slope at 0 is 1, the linear piece's too
])
def test_a_differentiable_point_on_a_registry_kink_passes_even_when_strict(expr, derivative):
    result = gradcheck.check(expr, at="x=0", strict=True)
    g = result.gradients["x"]
    assert result.status == g.status == "pass" and result.exit_code == 0, g.verdict
    assert g.kinks == [] and float(g.columns["numeric"]) == pytest.approx(derivative, abs=1e-6)
    wrong = gradcheck.check(expr, at="x=0", grad={"x": str(derivative + 1)})
    assert wrong.status == "mismatch"


def test_a_real_kink_stays_a_kink_next_to_a_smooth_one():
    result = gradcheck.check("sum(relu(A)) + sum(relu(B)**2)", at={"A": "[[0.0,1],[-1,2]]", "B": "[[0.0,1],[-1,2]]"})
    assert result.gradients["A"].status == "kink" and [k[0] for k in result.gradients["A"].kinks] == [[0, 0]]
    assert result.gradients["B"].status == "pass" and result.gradients["B"].kinks == []


def test_a_smooth_point_on_a_registry_kink_through_the_console_script():
    done = run_script("eval", "relu(x)**2", "--at", "x=0", "--strict", "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    case = json.loads(done.stdout)["cases"][0]
    assert case["status"] == "pass" and "kinks" not in case["gradients"]["x"]
    table = run_script("eval", "relu(x)**2", "--at", "x=0", "--strict", COLUMNS="80")
    assert table.returncode == 0 and "kink" not in table.stdout and "✓ partial derivative agrees" in table.stdout


# ----- the complex step at a point far smaller than its step -------------------------------------
@pytest.mark.parametrize("x", ["1e-30", "1e-300"])
@pytest.mark.parametrize(("expr", "derivative"), [("log(x)", "1/x"), ("sqrt(x)", "1/(2*sqrt(x))")])
def test_log_and_sqrt_at_a_tiny_point_do_not_fail_falsely(expr, derivative, x):
    """x + 1e-20i is no small step from x = 1e-30: the complex step measured 5e26 for log's 1e30, with
    an error estimate of 5e20, and failed symbolic = backprop. Now it shrinks its step until f is
    linear over it, and where no step is (1e-300), the numeric column says why it is missing."""
    result = gradcheck.check(expr, at=f"x={x}", grad={"x": derivative})
    g = result.gradients["x"]
    assert result.status == "pass", g.verdict
    numeric = g.columns["numeric"]
    if numeric is not None:
        assert float(numeric) == pytest.approx(float(g.columns["symbolic"]), rel=1e-8)
    else:
        assert "a step leaves the domain" in g.notes["numeric"]
    wrong = gradcheck.check(expr, at=f"x={x}", grad={"x": f"2*{derivative}"})
    assert wrong.status == "mismatch"


def test_central_differences_that_leave_the_domain_after_the_complex_step_failed_are_a_note():
    done = run_script("eval", "log(x)", "--at", "x=1e-300", "--format", "json")
    assert done.returncode == 0, done.stderr
    g = json.loads(done.stdout)["cases"][0]["gradients"]["x"]
    assert g["numeric"] is None and "leaves the domain" in g["notes"]["numeric"]


# ----- "agrees only by chance" is judged with the check's own tolerance ----------------------------
@pytest.mark.parametrize(("claim", "options"), [
    ("cos(x)*y*1.000001", {}),  # 1e-6 off: within the default rtol of 1e-5, everywhere
    ("cos(x)*y*1.0001", {"dtype": "float32"}),  # 1e-4 off: within float32's rtol of 1e-3
    ("cos(x)*y + 1e-4", {"atol": 1e-3}),
])
def test_a_claim_within_tolerance_everywhere_is_not_called_right_by_chance(claim, options):
    result = gradcheck.check("sin(x)*y", at="x=1,y=2", grad={"x": claim}, **options)
    g = result.gradients["x"]
    assert result.status == g.status == "pass" and g.diagnosis is None, g.diagnosis


def test_a_claim_right_only_at_the_point_is_still_caught_under_a_loose_tolerance():
    result = gradcheck.check("x**2", at="x=1", grad={"x": "x + 1"}, rtol=0.01)
    assert result.status == "mismatch" and "only by chance" in result.gradients["x"].diagnosis
    done = run_script("eval", "sin(x)*y", "--at", "x=1,y=2", "--dtype", "float32", "--grad", "x=cos(x)*y*1.0001",
                      COLUMNS="80")
    assert done.returncode == 0 and "by chance" not in done.stdout and "⚠" not in done.stdout, done.stdout


# ----- a power's domain, said as it is -------------------------------------------------------------
@pytest.mark.parametrize(("expr", "at", "needs"), [
    ("x**y", "x=0,y=0", "x = 0 with y > 0"),  # 0 is a whole number: 'or a whole-number exponent y' was wrong
    ("x**0", "x=0", "x = 0 with 0 > 0"),
    ("x**y", "x=-1,y=0.5", "x < 0 with a whole-number exponent y"),
])
def test_an_undefined_power_says_which_condition_it_needs(expr, at, needs):
    done = run_script("eval", expr, "--at", at)
    assert done.returncode == 2 and needs in messages(done.stderr)[0], done.stderr
    assert len(messages(done.stderr)[0]) < 200 and "Traceback" not in done.stderr


# ----- check's "worst rel. error" of a claim of the wrong shape -----------------------------------
def test_a_wrong_shape_claim_does_not_read_as_a_near_miss_in_the_check_table(tmp_path):
    """The transposed ∇W2 of mistakes.toml showed 'worst rel. error 2.1e-14': the agreeing oracles'
    error, since a claim of the wrong shape has no relative error."""
    (tmp_path / "t.toml").write_text('[[case]]\nname = "transposed"\nexpr = "sum(W @ x)"\n'
                                     'at = { W = "randn(3,4)", x = "randn(4)" }\ngrad = { W = "x" }\n'
                                     '[[case]]\nname = "twice"\nexpr = "sum(W @ x) + y**2"\n'
                                     'at = { W = "randn(3,4)", x = "randn(4)", y = 1 }\ngrad = { y = "4*y" }\n')
    done = run_script("check", "t.toml", cwd=tmp_path, COLUMNS="100")
    assert done.returncode == 1
    rows = {line.split()[0]: line for line in done.stdout.splitlines()
            if line.startswith(("transposed ", "twice ")) and " t.toml:" in line and "(" not in line}
    assert rows["transposed"].split()[4] == "—", rows["transposed"]
    assert float(rows["twice"].split()[4]) == pytest.approx(0.5, rel=0.01), rows["twice"]


# ----- a claim that is not text --------------------------------------------------------------------
@pytest.mark.parametrize("claim", [np.full((2, 2), 2.0), [[2.0, 2.0], [2.0, 2.0]], lambda W: 2 * W, True])
def test_a_claim_that_is_not_an_expression_says_what_a_claim_is(claim):
    """A numpy user passes the gradient they computed: its repr reached the parser ('lists are not
    allowed inside an expression', 'unexpected <' for a function)."""
    with pytest.raises(gradcheck.SpecError, match=r"--grad W: an expression written as text is needed.*check_function"):
        gradcheck.check("sum(W**2)", at={"W": np.ones((2, 2))}, grad={"W": claim})


@pytest.mark.parametrize("claim", [2, 2.0, np.float64(2.0), np.int64(2)])
def test_a_number_is_still_a_claim(claim):
    assert gradcheck.check("x**2", at={"x": 1}, grad={"x": claim}).status == "pass"


def test_a_toml_claim_that_is_a_list_names_file_case_and_key(tmp_path):
    (tmp_path / "c.toml").write_text('[[case]]\nname = "listy"\nexpr = "sum(W**2)"\nat = { W = [1.0, 2.0] }\n'
                                     'grad = { W = [2.0, 4.0] }\n')
    done = run_script("check", "c.toml", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "c.toml:1: case 'listy': --grad W: an expression written as text is needed" in joined(done.stderr), done.stderr


# ----- randn(...) with sizes that are not whole numbers --------------------------------------------
@pytest.mark.parametrize(("value", "kind"), [("randn(3,-1)", "randn"), ("randn(2.5)", "randn"), ("rand(n)", "rand")])
def test_a_random_draw_with_bad_sizes_says_so(value, kind):
    """It said ''randn(3,-1)' is not a number, a list, randn(...)/rand(...) or a .npy path'."""
    done = run_script("eval", "sum(x)", "--at", f"x={value}")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"--at x, column 1: {kind}(...) takes sizes that are whole numbers ≥ 1" in joined(done.stderr), done.stderr


def test_a_random_draw_may_have_a_space_before_its_parenthesis():
    spaced = gradcheck.check("sum(x)", at={"x": "randn (3)"})
    plain = gradcheck.check("sum(x)", at={"x": "randn(3)"})
    assert spaced.status == "pass" and np.array_equal(spaced.point["x"], plain.point["x"])


# ----- a factor equal to the batch size is not blamed on a mean f does not have ---------------------
@pytest.mark.parametrize(("expr", "value", "claim", "said", "not_said"), [
    ("sum(W**2)", "randn(3,2)", "6*W", "a constant factor of 3", "mean"),  # no mean anywhere in f
    ("sum(W**2)", "randn(2,3)", "4*W", "twice the true gradient", "mean"),
    ("mean(W**2)", "randn(2,3)", "2*W/3", "twice the true gradient", "rows"),  # it averages 6 entries, not 2 rows
    ("mean(W**2)", "randn(2,3)", "2*W", "6 times too large: f is a mean over 6 entries, so it needs 1/6", "rows"),
    ("sum(mean(W**2, axis=0))", "randn(4,2)", "2*W", "the loss is a mean over 4 rows, so it needs 1/4", "entries"),
])
def test_a_factor_is_called_a_missing_mean_only_where_f_takes_one(expr, value, claim, said, not_said):
    g = gradcheck.check(expr, at={"W": value}, grad={"W": claim}).gradients["W"]
    assert g.status == "mismatch" and said in g.diagnosis and not_said not in g.diagnosis, g.diagnosis


def test_a_black_box_factor_equal_to_the_batch_size_is_said_as_a_guess():
    """check_vjp of a @ b, with a of 2 rows and dW twice too large, was told 'the loss or output averages
    over 2 rows': a matrix product averages nothing."""
    a, b = np.random.default_rng(0).standard_normal((2, 3)), np.random.default_rng(1).standard_normal((3, 4))
    result = gradcheck.check_vjp(lambda a, b: a @ b, lambda g, a, b: (g @ b.T, 2 * (a.T @ g)), [a, b])
    diagnosis = result.gradients["b"].diagnosis
    assert result.status == "mismatch" and "2 is the number of rows: if the loss or output averages" in diagnosis


# ----- gradcheck vjp calls VJP(dout, *inputs), as its help says ------------------------------------
def test_the_vjp_command_passes_the_inputs_by_position(tmp_path):
    """The --at values went to VJP by F's parameter names: a vjp naming its own parameters
    (def matmul_vjp(g, x, y) for def f(a, b)) raised 'unexpected keyword argument'."""
    (tmp_path / "ops.py").write_text(
        "def f(a, b):\n    return a @ b\n"
        "def f_vjp(g, x, y):\n    return g @ y.T, x.T @ g\n"
        "def f_vjp_bad(g, x, y):\n    return g @ y.T, g.T @ x\n")
    right = run_script("vjp", "ops.py:f", "ops.py:f_vjp", "--at", "b=randn(3,4)", "--at", "a=randn(2,3)", cwd=tmp_path)
    assert right.returncode == 0, right.stdout + right.stderr
    wrong = run_script("vjp", "ops.py:f", "ops.py:f_vjp_bad", "--at", "a=randn(3,3)", "--at", "b=randn(3,3)",
                       "--format", "json", cwd=tmp_path)
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    gradients = json.loads(wrong.stdout)["cases"][0]["gradients"]
    assert gradients["a"]["status"] == "pass" and gradients["b"]["status"] == "mismatch"


# ----- the user's module is imported under the time budget -----------------------------------------
def test_a_module_that_loops_at_import_ends_at_the_budget(tmp_path):
    (tmp_path / "hangs.py").write_text("while True:\n    pass\n")
    done = run_script("layer", "hangs.py:f", "hangs.py:g", "--at", "x=randn(3)", "--timeout", "1", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "importing hangs.py took longer than its time budget of 1 s: it ran out in the import step" in \
        messages(done.stderr)[0]


# ----- --emit numpy at another batch size ---------------------------------------------------------
def test_the_emitted_function_refuses_shapes_it_was_not_derived_at(tmp_path):
    """Its formulas hold the batch size as a number ('/ 4'): called at a batch of 8 it returned a
    gradient twice too large, silently."""
    done = run_script("eval", "softmax_ce(relu(X @ value) @ W2, y)", "--wrt", "value,W2", "--emit", "numpy",
                      "--at", "X=randn(4,3),value=randn(3,2),W2=randn(2,3),y=[0,1,2,0]")
    assert done.returncode == 0, done.stderr
    namespace: dict = {}
    exec(compile(done.stdout, "emitted.py", "exec"), namespace)  # noqa: S102 - our own output, in a test
    rng = np.random.default_rng(0)
    W1, W2 = rng.standard_normal((3, 2)), rng.standard_normal((2, 3))
    f, grads = namespace["f_and_gradient"](rng.standard_normal((4, 3)), W1, W2, np.array([0, 1, 2, 0]))
    assert np.shape(grads["value"]) == (3, 2) and np.isfinite(f)  # a variable called value is not rebound
    with pytest.raises(ValueError, match=r"derived for X of shape \(4, 3\), got \(8, 3\)"):
        namespace["f_and_gradient"](rng.standard_normal((8, 3)), W1, W2, np.zeros(8, dtype=int))
    scalar = run_script("eval", "sin(x)*y", "--at", "x=1,y=2", "--emit", "numpy")
    assert scalar.returncode == 0 and "derived and checked at these shapes" not in scalar.stdout


def test_an_unwritable_graph_file_is_one_line_like_an_unwritable_html_file(tmp_path):
    """--svg said "[Errno 2] No such file or directory: '/x/g.svg'" where --html says "No such file or directory"."""
    missing = tmp_path / "no" / "g.svg"
    done = run_script("trace", "x*y", "--at", "x=1,y=2", "--svg", str(missing))
    assert done.returncode == 2
    assert messages(done.stderr) == [f"gradcheck: error: cannot write --svg {missing}: No such file or directory"]


# ----- a forward that draws its randomness at each call ---------------------------------------------
DROPOUT = ("import numpy as np\n"
           "def dropout_forward(x, p):\n"
           "    mask = (np.random.rand(*x.shape) < p) / p\n"
           "    return x * mask, mask\n"
           "def dropout_backward(dout, mask):\n"
           "    return dout * mask\n")


def test_a_forward_that_is_not_deterministic_is_named_as_the_problem(tmp_path):
    """CS231n's dropout without its seed: the check read the fresh mask of every call as kinks with
    one-sided slopes of 1e6 and blamed the backward (not linear, not deterministic)."""
    (tmp_path / "drop.py").write_text(DROPOUT)
    done = run_script("layer", "drop.py:dropout_forward", "drop.py:dropout_backward", "--at", "x=randn(3,4)",
                      "--at", "p=0.5", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr and done.stdout == ""
    assert done.stderr.startswith("gradcheck: error: forward is not deterministic: two calls with the same inputs")
    assert "kink" not in done.stderr and len(messages(done.stderr)) == 1
    x = np.random.default_rng(0).standard_normal((3, 4))
    with pytest.raises(gradcheck.SpecError, match="f is not deterministic"):
        gradcheck.check_function(lambda x: np.sum(x * np.random.rand(*x.shape)), lambda x: x, [x])


def test_a_nondeterministic_forward_within_the_allowance_is_checked():
    x = np.random.default_rng(0).standard_normal((3, 4))
    noisy = gradcheck.check_vjp(lambda x: 2 * x + 1e-13 * np.random.rand(*x.shape), lambda d, x: 2 * d, [x],
                                nondeterminism=1e-9)
    assert noisy.status == "pass", noisy.verdict


def test_a_backward_that_sends_nothing_says_so():
    """'the claim 0 (e.g. ), 0 in common: ... sends the gradient to the wrong entries'."""
    x = np.random.default_rng(0).standard_normal((3, 4))
    result = gradcheck.check_vjp(lambda x: x[:, ::2] + x[:, 1::2], lambda d, x: np.repeat(d, 2, axis=1) * 0, [x])
    diagnosis = result.gradients["x"].diagnosis
    assert result.status == "mismatch" and "(e.g. )" not in diagnosis
    assert result.gradients["x"].cause == "zero" and "it is 0 everywhere: the backward sends no gradient this way" in diagnosis


def test_a_claim_right_by_chance_reads_as_a_sentence():
    """'∂f/∂x: claimed agrees at the given point only by chance: ...'."""
    verdict = gradcheck.check("x**2", at="x=1", grad={"x": "x + 1"}).verdict
    assert verdict == ("∂f/∂x: claimed agrees at the given point only by chance: at other points it does not "
                       "(a check at one point is not enough)")


# ----- two claims in one --grad ---------------------------------------------------------------------
@pytest.mark.parametrize(("args", "said"), [
    (["x*y", "--grad", "x=y,y=x"], "--grad x: one --grad gives one name (its value may hold commas, so they do not "
                                   "separate names): write --grad x=y --grad y=x"),
    (["z*y", "--let", "z=x, w=2"], "write --let z=x --let w=2"),
])
def test_several_names_in_one_grad_or_let_say_how_to_write_them(args, said):
    """--at splits at commas, --grad and --let do not (a claim holds calls): 'x=y,y=x' was 'unexpected ','' at column 2."""
    done = run_script("eval", *args)
    assert done.returncode == 2 and said in messages(done.stderr)[0], done.stderr


def test_a_claim_with_commas_of_its_own_is_still_one_claim():
    assert gradcheck.check("max(x, y)", at="x=1,y=2", grad={"x": "max(0, 0)", "y": "step(y - x)"}).status == "pass"


@pytest.mark.parametrize(("expr", "meant"), [("SIN(x)", "sin"), ("Relu(x)", "relu"), ("SOFTMAX(x)", "softmax")])
def test_a_function_in_the_wrong_case_gets_a_did_you_mean(expr, meant):
    done = run_script("eval", expr, "--at", "x=1")
    assert done.returncode == 2 and f"(did you mean '{meant}'?)" in joined(done.stderr), done.stderr


# ----- the 'at' line's notes fit the terminal ---------------------------------------------------------
@pytest.mark.parametrize("columns", [60, 80])
def test_the_point_line_and_its_notes_fit_a_narrow_terminal(columns):
    """'[random values drawn with --seed 0]' was glued to the last value, 91 columns on a 60-column terminal."""
    done = run_script("eval", "sin(a_long_variable_name_one)*another_long_variable_name", "--dtype", "float32",
                      COLUMNS=str(columns))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("at "))
    end = next(i for i, line in enumerate(lines) if line.startswith("∂f/∂"))
    point = lines[start:end]
    assert all(len(line) <= columns for line in point), point
    text = " ".join(point)
    assert "[random values drawn with --seed 0]" in text and "[evaluated in float32]" in text
    assert "a_long_variable_name_one = " in text and "another_long_variable_name = " in text


# ----- check --strict: a kink's row ---------------------------------------------------------------
def test_a_kink_failed_by_strict_is_not_labelled_a_pass(tmp_path):
    """Its row read '✗ pass (expected a mismatch)' for a case that expects a pass and is a kink."""
    (tmp_path / "k.toml").write_text('[[case]]\nname = "relu at 0"\nexpr = "relu(x)"\nat = { x = 0 }\n'
                                     '[[case]]\nname = "abs at 0"\nexpr = "abs(x)"\nat = { x = 0 }\n'
                                     'expect = "mismatch"\n')
    strict = run_script("check", "k.toml", "--strict", cwd=tmp_path, COLUMNS="100")
    assert strict.returncode == 1
    row = next(line for line in strict.stdout.splitlines() if line.startswith("relu at 0 "))
    assert "✗ kink (strict)" in row and "pass" not in row, row
    plain = run_script("check", "k.toml", cwd=tmp_path, COLUMNS="100")
    rows = {line.split("  ")[0]: line for line in plain.stdout.splitlines() if " k.toml:" in line}
    assert "⚠ kink" in rows["relu at 0"] and "✗ kink (expected a mismatch)" in rows["abs at 0"], rows


# ----- --order 2 at a kink ------------------------------------------------------------------------
def test_a_hessian_at_a_kink_that_cannot_be_checked_is_a_kink_not_a_mismatch():
    """relu(x)**3 at 0 (first derivative fine) failed, exit 1, with 'only numeric could be computed:
    nothing to compare with' while numeric had no value either."""
    result = gradcheck.check("relu(x)**3", at="x=0", order=2)
    assert result.status == "kink" and result.exit_code == 0, result.verdict
    assert result.hessian["x,x"].status == "kink" and "only numeric" not in result.verdict
    assert "Hessian: ∂²f/∂x∂x: not checked: the point is on a kink" in result.verdict
    assert gradcheck.check("relu(x)**3", at="x=0", order=2, strict=True).exit_code == 1
    done = run_script("eval", "relu(x)**3", "--at", "x=0", "--order", "2", COLUMNS="80")
    assert done.returncode == 0 and "✗" not in done.stdout, done.stdout


def test_off_a_kink_the_hessian_is_compared_as_before():
    """Only a point exactly on a kink, with no entry compared, is left unchecked."""
    away = gradcheck.check("relu(x)**3 + sin(y)", at="x=0.5,y=1", order=2)
    assert away.status == "pass" and all(g.status == "pass" for g in away.hessian.values())


# ----- gradcheck layer: --at values as a new user writes them -----------------------------------------
def test_a_malformed_list_for_a_layer_names_its_column(tmp_path):
    """eval showed the column and a caret; layer said only that '[1,2' was not a list."""
    (tmp_path / "relu.py").write_text("import numpy as np\ndef f(x):\n    return np.maximum(x, 0), x\n"
                                      "def b(dout, x):\n    return dout * (x > 0)\n")
    done = run_script("layer", "relu.py:f", "relu.py:b", "--at", "x=[1,2", cwd=tmp_path)
    assert done.returncode == 2 and "--at x, column 5: expected ',' or ']' in a list\n  [1,2\n" in done.stderr


def test_a_list_of_whole_numbers_says_how_to_write_floats(tmp_path):
    """[0,2,1] is integer data; the message said 'name the inputs with wrt=', which cannot differentiate it."""
    (tmp_path / "relu.py").write_text("import numpy as np\ndef f(x):\n    return np.maximum(x, 0), x\n"
                                      "def b(dout, x):\n    return dout * (x > 0)\n")
    done = run_script("layer", "relu.py:f", "relu.py:b", "--at", "x=[0,2,1]", cwd=tmp_path)
    assert done.returncode == 2 and "give the input to differentiate as floats ([1.0, 2, 3]" in joined(done.stderr)
    floats = run_script("layer", "relu.py:f", "relu.py:b", "--at", "x=[0.5,2,-1]", cwd=tmp_path)
    assert floats.returncode == 0, floats.stdout + floats.stderr


# ----- a float32 batch norm ----------------------------------------------------------------------
def _bn_forward(x, gamma, beta):
    mu, var = x.mean(0), x.var(0)  # np.var of a complex array is real: not analytic under the complex step
    xh = (x - mu) / np.sqrt(var + 1e-5)
    return gamma * xh + beta, (xh, gamma, var)


def _bn_backward(dout, cache):
    xh, gamma, var = cache
    n, dxh = dout.shape[0], dout * gamma
    dx = (n * dxh - dxh.sum(0) - xh * (dxh * xh).sum(0)) / (n * np.sqrt(var + 1e-5))
    return dx, (dout * xh).sum(0), dout.sum(0)


def _bn_backward_without_the_mean(dout, cache):
    xh, gamma, var = cache
    return dout * gamma / np.sqrt(var + 1e-5), (dout * xh).sum(0), dout.sum(0)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64])
def test_a_right_float32_batchnorm_passes_and_a_wrong_one_fails(dtype):
    """In float32 the checked complex step was let through by central differences' 1e-3 error while
    np.var had made it wrong by 4e-3 on an entry of 3e-3: the right backward failed."""
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((6, 4)).astype(dtype), np.array([0.1926, 0.0164, -0.9904, 0.2264], dtype=dtype),
              rng.standard_normal(4).astype(dtype)]
    right = gradcheck.check_layer(_bn_forward, _bn_backward, inputs)
    if dtype == np.float16:  # differences in float16 err by half of dx itself here: nothing can confirm it
        assert right.status == "inconclusive" and right.gradients["x"].status == "inconclusive", right.verdict
        assert right.exit_code == 4 and right.gradients["gamma"].status == "pass"
    else:
        assert right.status == "pass", right.verdict
    wrong = gradcheck.check_layer(_bn_forward, _bn_backward_without_the_mean, inputs)
    assert wrong.status == "mismatch" and wrong.gradients["x"].status == "mismatch"


def test_a_claim_of_the_wrong_shape_is_said_once():
    """The note 'claimed ∂f/∂W: has shape (4,), but ...' stood above the verdict saying the same."""
    done = run_script("eval", "sum(W @ x)", "--at", "W=randn(3,4),x=randn(4)", "--grad", "W=x", COLUMNS="80")
    assert done.returncode == 1
    assert done.stdout.count("has shape (4,), but ∂f/∂W has shape (3,4)") == 1, done.stdout


# ----- a claim on one scalar of a fast-mode pool --------------------------------------------------
POOLED = "+".join(f"sin(s{i})*W{i % 3}[0]" for i in range(60))  # 60 scalars beside 1,200 entries: fast mode
POOLED_AT = ",".join(f"W{i}=randn(400)" for i in range(3))


def test_a_claim_on_one_pooled_scalar_is_judged_not_a_traceback():
    """The pool's directions are kept as a seed (a Directions, whose np.shape is ()), so a claim for
    only some pooled variables built a 0-d array and raised IndexError through the console script."""
    wrong = run_script("eval", POOLED, "--at", POOLED_AT, "--grad", "s7=cos(s7)*W1[0]*1.001", "--format", "json")
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr, wrong.stderr
    g = json.loads(wrong.stdout)["cases"][0]["gradients"]["s7"]
    assert g["status"] == "mismatch" and g["numeric_mode"] == "fast"
    right = gradcheck.check(POOLED, at=POOLED_AT, grad={"s7": "cos(s7)*W1[0]"})
    assert right.status == "pass", right.verdict


def test_check_function_speaks_of_no_dout():
    """A loss has no dout: 'it is off by a constant factor of 1.01 (for every dout)' for check_function."""
    x = np.array([0.3, -1.2, 2.0])
    loss = gradcheck.check_function(lambda x: np.sum(x**3), lambda x: 3.03 * x**2, [x])
    assert loss.gradients["x"].diagnosis == "it is off by a constant factor of 1.01"
    twice = gradcheck.check_function(lambda x: np.sum(x**3), lambda x: 6 * x**2, [x])
    assert twice.gradients["x"].diagnosis == "it is twice the true gradient (a factor 2)"
    layer = gradcheck.check_vjp(lambda x: x**3, lambda d, x: 3.03 * d * x**2, [x])
    assert layer.gradients["x"].diagnosis == "it is off by a constant factor of 1.01 (for every dout)"


def test_a_small_array_too_wide_for_the_terminal_is_shown_by_its_shape():
    """'w = [[ 0.3111 0.8951] [-0.5823 -2.2261] [ 1.7466 1.7233]],' ran 62 columns on a 60-column terminal."""
    done = run_script("eval", "sum(x @ w @ b)", "--at", "x=randn(2,3),w=randn(3,2),b=randn(2)", COLUMNS="60")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    point = lines[1:next(i for i, line in enumerate(lines) if line.startswith("∂f/∂"))]
    assert all(len(line) <= 60 for line in point), point
    assert "w (3,2)" in " ".join(point) and "b = [" in " ".join(point)
    wide = run_script("eval", "sum(x @ w @ b)", "--at", "x=randn(2,3),w=randn(3,2),b=randn(2)", COLUMNS="100")
    assert "w = [[" in wide.stdout


@pytest.mark.parametrize("expr", ["2x", "2(x + 1)", "x y"])
def test_implicit_multiplication_says_how_to_write_a_product(expr):
    done = run_script("eval", expr, "--at", "x=1,y=2" if "y" in expr else "x=1")
    assert done.returncode == 2 and "a product is written with *: 2*x" in joined(done.stderr), done.stderr


def test_gradcheck_functions_says_each_domain_as_a_sentence():
    """'(defined where i to hold indices within the size of x)' did not read."""
    done = run_script("functions", COLUMNS="200")
    assert done.returncode == 0 and "defined where" not in done.stdout
    assert "(needs x > 0)" in done.stdout and "(needs i to hold indices within the size of x)" in done.stdout


def test_gradcheck_functions_prints_no_blank_derivative_for_a_constructor():
    lines = run_script("functions", COLUMNS="80").stdout.splitlines()
    after = lines[lines.index("zeros(shape)") + 1]
    assert after.strip() == "an array of zeros: zeros((2, 3))", after


# ----- eval's outputs that cannot go together ------------------------------------------------------
@pytest.mark.parametrize(("extra", "said"), [
    (["--latex", "--format", "json"], "--latex prints LaTeX after the table, so it cannot go with --format json"),
    (["--emit", "numpy", "--format", "json"], "--emit numpy prints a numpy function instead of the table, so it "
                                              "cannot go with --format json"),
    (["--emit", "numpy", "--html", "report.html"], "cannot go with --html"),
])
def test_outputs_that_cannot_go_together_are_refused(tmp_path, extra, said):
    """--latex after --format json made the JSON invalid; --emit numpy silently ignored --format json and --html."""
    done = run_script("eval", "x**2", "--at", "x=1", *extra, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == "" and said in joined(done.stderr), done.stderr
    assert not (tmp_path / "report.html").exists()


def test_latex_says_which_gradient_has_no_formula():
    """sum(W[idx]) printed an empty align* block and nothing else."""
    done = run_script("eval", "sum(W[idx]) + sum(V**2)", "--at", "W=randn(4),idx=[0,1],V=randn(2)", "--latex")
    assert done.returncode == 0, done.stderr
    assert "% no formula for ∂f/∂W: no matrix form (primitive gather)" in done.stdout
    assert r"\frac{\partial f}{\partial V} &= 2 \cdot V" in done.stdout
    alone = run_script("eval", "sum(W[idx])", "--at", "W=randn(4),idx=[0,1]", "--latex")
    assert r"\begin{align*}" not in alone.stdout and "% no formula for ∂f/∂W" in alone.stdout


def test_the_trace_note_fits_the_block_layout_too():
    """At 60 columns each node is a block with '→' lines; the note spoke of 'The last column'."""
    done = run_script("trace", "sigmoid(w0*x0 + w1*x1 + w2)", "--at", "w0=2,w1=-3,w2=-3,x0=-1,x1=-2", COLUMNS="60")
    assert done.returncode == 0 and "local ∂node/∂input → sent" not in done.stdout  # the block layout
    assert "For each input (the last column, or the → lines)" in " ".join(done.stdout.split())


def test_an_exception_in_the_users_layer_names_its_file_and_line(tmp_path):
    """'forward raised ValueError: matmul: ...' said what, not where."""
    (tmp_path / "layers.py").write_text("import numpy as np\ndef f(x):\n    return np.maximum(x, 0), x\n"
                                        "def b(dout, x):\n    return dout * (x > 0) + undefined_name\n")
    done = run_script("layer", "layers.py:f", "layers.py:b", "--at", "x=randn(3)", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == ("gradcheck: error: backward raised NameError at layers.py:5: "
                                   "name 'undefined_name' is not defined")


@pytest.mark.parametrize("option", [["--wrt", "z"], ["--grad", "z=1"]])
def test_a_let_name_given_to_wrt_or_grad_is_not_called_unused(option):
    """'--wrt names 'z', which f does not use' for f = sigmoid(z) with --let z=w*x: it does use it."""
    done = run_script("eval", "sigmoid(z)", "--let", "z=w*x", "--at", "w=1,x=2", *option)
    assert done.returncode == 2 and "does not use" not in done.stderr
    assert f"{option[0]} names 'z', a --let name (an intermediate" in joined(done.stderr) and "w, x" in joined(done.stderr)
