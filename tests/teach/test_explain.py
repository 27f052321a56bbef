"""`gradcheck explain` (issue 13): the backward pass written out, through the real console script."""

from __future__ import annotations

from conftest import LET_Z, NEURON, NEURON_AT, invoke, joined, run_script

NET = "softmax_ce(relu(X @ W1) @ W2, y)"
NET_AT = ["--at", "X=randn(8,4)", "--at", "W1=randn(4,5)", "--at", "W2=randn(5,3)", "--at", "y=[0,1,2,0,1,2,0,1]"]
WIDE = "200"  # columns: one step per line, so lines can be matched whole


def test_the_add_gate_passes_its_local_gradient_1_to_w2():
    done = run_script("explain", NEURON, "--wrt", "w2", "--at", NEURON_AT, "--let", LET_Z, COLUMNS=WIDE)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    add = next(i for i, line in enumerate(lines) if "sum rule, to its input w2" in line)
    assert lines[add].endswith("local gradient 1")
    assert "applied: G * 1 = G" in lines[add + 1]
    assert "an add gate's local gradient is 1" in done.stdout
    assert "chain rule through sigmoid" in done.stdout
    assert lines[-2] == "∂f/∂w2 = sigmoid(z) * (1 - sigmoid(z))"
    assert "agrees with backprop" in lines[-1]


def test_the_two_layer_net_shows_where_the_elementwise_product_comes_from():
    done = run_script("explain", NET, "--wrt", "W1", *NET_AT, "--let", "H=relu(X @ W1)", COLUMNS=WIDE)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "chain rule through relu" in out and "X @ W1 (8,5)" in out and "local gradient step(X @ W1)" in out
    assert "G ∘ step(X @ W1)" in out
    assert "G (8,3) @ W2.T (3,5) = (8,5)" in out  # matmul's G @ B.T, with the shapes that force it
    assert "X.T (4,8) @ G (8,5) = (4,5)" in out
    # from f down: softmax_ce first, W1's own matmul last
    assert out.index("softmax_ce rule") < out.index("matmul rule") < out.index("chain rule through relu")
    # golden: the derived matrix-form gradient, in the course's form, is what explain ends with
    assert "∂f/∂W1 = X.T @ (((softmax(H @ W2) - onehot(y, 3)) @ W2.T) * step(X @ W1)) / 8" in out


def test_explain_needs_one_variable_and_reports_bad_input():
    runner = invoke(*["explain", NEURON, "--at", NEURON_AT, "--wrt", "w0,w1"])
    assert runner.exit_code == 2
    assert "explain takes one variable" in runner.output
    done = run_script("explain", "x*[1", "--wrt", "x")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "column 3" in joined(done.stderr)


def test_no_matrix_form_is_said_and_exits_1():
    runner = invoke(*["explain", "sum(x[0] * W)", "--wrt", "x", "--at", "x=randn(3)", "--at", "W=randn(2,2)"])
    assert runner.exit_code == 1
    assert "no matrix form (primitive index)" in runner.output


def test_user_text_is_shown_literally():
    """W[b] would be rich markup for bold: it must come out as written."""
    runner = invoke(*["explain", "sum(W[b])", "--wrt", "W", "--at", "b=[0,1]", "--at", "W=randn(3)"])
    assert runner.exit_code == 1  # gather has no matrix rule
    assert "f = sum(W[b])" in runner.output


def test_explain_fits_an_80_column_terminal():
    """Long formulas continue on the next line, indented, instead of running past the edge (they ran to
    140 columns); joined again, the final formula is whole."""
    done = run_script("explain", NET, "--wrt", "W1", *NET_AT, COLUMNS="80")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]
    start = next(i for i, line in enumerate(lines) if line.startswith("∂f/∂W1 = "))
    formula = " ".join(line.strip() for line in lines[start:-1])
    # golden: the formula put back together from its wrapped lines loses nothing
    assert formula == "∂f/∂W1 = X.T @ (((softmax(relu(X @ W1) @ W2) - onehot(y, 3)) @ W2.T) * step(X @ W1)) / 8"
    assert lines[start + 1].startswith("  ")  # a continuation, indented
