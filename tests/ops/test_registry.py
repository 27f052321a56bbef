"""The registry is the one place a primitive is defined (issue 9): every entry carries everything
each part of gradcheck reads, and the parser, the symbolic evaluator, the size limit, the messages
and `gradcheck functions` are generated from it. Adding log1p touched primitives.py only; these
tests are what would fail had it needed anything else."""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest
import sympy as sp
from conftest import SUBPROCESS_TIMEOUT as TIMEOUT
from conftest import console_script, joined, subprocess_env
from registry_cases import ARRAY_EXAMPLES, array_inputs

from gradcheck.language.parser import Scope, parse
from gradcheck.language.tree import Var
from gradcheck.ops import registry as primitives
from gradcheck.ops.registry import (
    BINARY_OPERATORS,
    FUNCTIONS,
    KINKED,
    MPMATH_RULES,
    PRIMITIVES,
    WITHOUT_COMPLEX_FORM,
    zero_vjp,
)

# SymPy heads that are not functions of numbers: containers and the like, never evaluated.
NOT_EVALUATED = {"Tuple", "Symbol", "Dummy"}


def _heads(expr) -> set[str]:
    return {type(e).__name__ for e in sp.preorder_traversal(expr) if not e.is_Atom} - NOT_EVALUATED


def _forms(prim) -> list:
    """The primitive's SymPy form on symbols, and its derivative by each differentiable input."""
    if prim.elementwise:
        symbols = [sp.Symbol(p, real=True) for p in prim.params]
        form = prim.sympy(sp, *symbols)
        return [form, *(sp.diff(form, s) for i, s in enumerate(symbols) if i not in prim.labels)]
    from gradcheck.oracles.symbolic import sympy_numbers, sympy_symbols

    exprs = []
    for shapes, static in ARRAY_EXAMPLES[prim.name]:
        inputs = array_inputs(prim, shapes, static, np.random.default_rng(0))
        args = [sympy_numbers(sp, x) if i in prim.labels else sympy_symbols(sp, f"a{i}", x) for i, x in enumerate(inputs)]
        form = np.asarray(prim.sympy(sp, *args, **static), dtype=object)
        for e in form.ravel():
            e = sp.sympify(e)
            exprs.append(e)
            exprs.extend(sp.diff(e, s) for s in sorted(e.free_symbols, key=str)[:2])
    return exprs


@pytest.mark.parametrize("prim", PRIMITIVES, ids=[p.name for p in PRIMITIVES])
def test_every_primitive_has_what_every_oracle_reads(prim):
    assert prim.summary and prim.signature()
    assert len(prim.vjps) == len(prim.derivatives) == prim.arity
    assert all(callable(rule) for rule in prim.vjps)
    assert all(prim.vjps[i] is zero_vjp for i in prim.labels), "a data input has no gradient"
    assert prim.elementwise or prim.shape is not None, "an array primitive needs a shape rule"
    if prim.domain is not None:
        assert prim.domain_text, "a domain needs its text for messages"
    # The symbolic column evaluates with mpmath every SymPy function the form (and its derivatives)
    # produce: each must have its rule in some registry entry.
    missing = set().union(*(_heads(e) for e in _forms(prim))) - set(MPMATH_RULES)
    assert not missing, f"{prim.name}: no mpmath rule for {sorted(missing)}"


def test_labels_are_declared_once():
    ce = FUNCTIONS["softmax_ce"]
    assert ce.labels == (1,) and ce.vjps[1] is zero_vjp and "not differentiated" in ce.derivatives[1]


def test_operators_and_their_precedence_come_from_the_registry():
    for token, prim in BINARY_OPERATORS.items():
        assert token in (prim.operator, *prim.operator_aliases)
    # the parser builds its precedence table from the entries: 1 + 2 * 3 ** 2 groups as Python does
    tree = parse("a + b * c ** d")
    assert tree.prim.name == "add" and tree.args[1].prim.name == "mul" and tree.args[1].args[1].prim.name == "pow"
    assert parse("a ** b ** c").args[1].prim.name == "pow"  # right-associative, as declared


def test_the_lists_in_messages_are_made_from_the_registry():
    assert set(WITHOUT_COMPLEX_FORM) == {p.name for p in PRIMITIVES if p.complex_forward is None}
    assert set(KINKED) == {p.name for p in PRIMITIVES if p.kink is not None}
    assert {"relu", "abs", "max", "min", "step", "sign"} <= set(KINKED)
    assert "exp" not in KINKED and "relu" not in WITHOUT_COMPLEX_FORM
    for prim in PRIMITIVES:  # every smooth elementwise function takes the complex step through its forward
        if prim.elementwise and prim.analytic:
            x = np.full(prim.arity, 0.3 + 0j)
            for i in range(prim.arity):
                if prim.vjps[i] is zero_vjp:
                    continue
                stepped = x.copy()
                stepped[i] += 1e-20j
                slope = prim.complex_forward(*stepped).imag / 1e-20
                assert slope == pytest.approx(prim.vjps[i](1.0, prim.forward(*x.real), *x.real), rel=1e-12), prim.name


def test_the_symbolic_cost_is_the_entry_s_rule():
    from gradcheck.oracles.symbolic import expansion_size

    root = parse("sum(A @ B)")
    assert expansion_size(root, {"A": (3, 7), "B": (7, 2)}) == 3 * 2 * 7 + 3 * 2
    assert primitives.BY_NAME["matmul"].cost is not None


# How many of the SymPy form's operations (sympy.count_ops) one counted operation may stand for: the
# symbolic size limits read the registry's counts, so a count far below the form's real size would let
# an expansion through that the limit was meant to refuse (softmax's rows, counted once per entry).
FORM_OPERATIONS_PER_COUNTED = 4


@pytest.mark.parametrize("prim", [p for p in PRIMITIVES if not p.elementwise], ids=lambda p: p.name)
def test_every_array_primitive_counts_at_least_its_sympy_form_s_operations(prim):
    from gradcheck.language.cost import operations
    from gradcheck.oracles.symbolic import sympy_numbers, sympy_symbols

    for shapes, static in ARRAY_EXAMPLES[prim.name]:
        inputs = array_inputs(prim, shapes, static, np.random.default_rng(0))
        args = [sympy_numbers(sp, x) if i in prim.labels else sympy_symbols(sp, f"a{i}", x) for i, x in enumerate(inputs)]
        form = np.asarray(prim.sympy(sp, *args, **static), dtype=object)
        size = sum(sp.count_ops(sp.sympify(e)) for e in form.ravel())
        counted = operations(prim, form.shape, [np.shape(x) for x in inputs], dict(static), symbolic=True)
        assert size <= FORM_OPERATIONS_PER_COUNTED * counted, (prim.name, shapes, static, size, counted)
        assert operations(prim, form.shape, [np.shape(x) for x in inputs], dict(static)) <= counted


@pytest.fixture(scope="module")
def listing() -> str:
    proc = subprocess.run([console_script(), "functions"], check=False, capture_output=True, encoding="utf-8",
                          env=subprocess_env(COLUMNS="400"), timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# Signatures such as "x[i, j]" are user-facing text: they must print literally, never as rich markup.
LISTED = list(PRIMITIVES)


@pytest.mark.parametrize("prim", LISTED, ids=[p.name for p in PRIMITIVES])
def test_gradcheck_functions_lists_every_primitive(prim, listing):
    assert any(line.lstrip().startswith(prim.signature()) for line in listing.splitlines()), prim.signature()


def test_log1p_works_end_to_end_from_its_registry_entry_alone():
    """Its one entry gives parsing, backprop, SymPy (not skipped), the domain message."""
    script, env = console_script(), subprocess_env()
    proc = subprocess.run([script, "eval", "log1p(x**2)", "--at", "x=0.5", "--grad", "x=2*x/(1 + x**2)",
                           "--format", "json"], check=False, capture_output=True, encoding="utf-8", env=env, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    grad = json.loads(proc.stdout)["cases"][0]["gradients"]["x"]
    assert grad["status"] == "pass"
    assert grad["symbolic"] == pytest.approx(2 * 0.5 / 1.25, rel=1e-12)
    bad = subprocess.run([script, "eval", "log1p(x)", "--at", "x=-2"], check=False, capture_output=True, encoding="utf-8",
                         env=env, timeout=TIMEOUT)
    assert bad.returncode == 2 and "needs x > -1" in joined(bad.stderr) and "Traceback" not in bad.stderr


def test_the_complex_step_refusal_names_the_functions_the_registry_gives_no_complex_form():
    proc = subprocess.run([console_script(), "eval", "sum(relu(x) * erf(x) + gelu(x) + exp(x))", "--at", "x=[1.0, 2]",
                           "--method", "complex"], check=False, capture_output=True, encoding="utf-8",
                          env=subprocess_env(), timeout=TIMEOUT)
    assert proc.returncode == 2
    named = re.search(r"and f; (.*) have none", joined(proc.stderr)).group(1)
    assert {n.strip() for n in re.split(r",| and ", named)} == {"erf", "gelu"} <= set(WITHOUT_COMPLEX_FORM)


def test_the_advertised_derivative_of_every_function_parses():
    for prim in PRIMITIVES:
        if not prim.elementwise:
            continue
        scope = Scope(variables={p: Var(p, None) for p in prim.params}, closed=True)
        for i, text in enumerate(prim.derivatives):
            if i not in prim.labels:
                parse(text, origin=f"{prim.name} derivative", scope=scope)
