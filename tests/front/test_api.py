"""The public API explains itself: full signatures with types, and docstrings that help() shows."""

from __future__ import annotations

import dataclasses
import inspect
import pydoc
import subprocess
import sys

import pytest

import gradcheck
from gradcheck.base.options import Options
from gradcheck.checks.layers import FUNCTION_OPTIONS

FUNCTIONS = [gradcheck.check, gradcheck.check_function, gradcheck.check_vjp, gradcheck.check_layer, gradcheck.trace]
RESULTS = ["CaseResult", "GradientResult", "Report", "Trace", "TraceNode"]


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
def test_every_parameter_is_typed_and_documented(function):
    signature = inspect.signature(function)
    assert signature.return_annotation is not inspect.Signature.empty
    doc = inspect.getdoc(function)
    assert "Args:" in doc and "Returns:" in doc and "Raises:" in doc
    args = doc[doc.index("Args:"):doc.index("Returns:")]
    for name, parameter in signature.parameters.items():
        assert parameter.annotation is not inspect.Parameter.empty, name
        assert name in args, f"{function.__name__}: {name} is not documented"


@pytest.mark.parametrize("function", [gradcheck.check_function, gradcheck.check_vjp, gradcheck.check_layer],
                         ids=lambda f: f.__name__)
def test_the_function_checks_take_the_declared_options_by_name(function):
    """Their options are those of gradcheck.base.options.Options that apply to your own code, with the declared
    defaults, and no longer hide behind **options."""
    keyword_only = {n: p.default for n, p in inspect.signature(function).parameters.items()
                    if p.kind is p.KEYWORD_ONLY}
    declared = {f.name: f.default for f in dataclasses.fields(Options) if f.name in FUNCTION_OPTIONS}
    assert {n: keyword_only[n] for n in declared} == declared
    assert set(keyword_only) - set(declared) == {"wrt", "data", "name", "nondeterminism", "allow_writes",
                                                  "retry_at_random", "diagnose"}  # their own


def test_help_shows_the_signature_and_the_docstring():
    text = pydoc.render_doc(gradcheck.check_layer, renderer=pydoc.plaintext)
    assert "check_layer(forward: " in text and "backward: " in text  # the signature
    assert "forward(*inputs) -> (out, cache)" in text and "backward(dout, cache) -> grads" in text  # the docstring
    assert "See gradcheck" not in text  # it once said only "See gradcheck.checks.layers.check_layer"


@pytest.mark.parametrize("name", RESULTS)
def test_the_result_classes_are_public_and_documented(name):
    cls = getattr(gradcheck, name)
    assert name in gradcheck.__all__
    doc = inspect.getdoc(cls)
    assert "Attributes:" in doc
    for field in dataclasses.fields(cls):
        assert field.name in doc, f"{name}.{field.name} is not documented"


def test_the_result_classes_load_only_when_asked_for():
    code = "import sys, gradcheck; print('numpy' in sys.modules); gradcheck.CaseResult; print('numpy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "True"], done.stdout + done.stderr
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        gradcheck.nothing  # noqa: B018


def test_the_version_is_the_packages():
    from importlib.metadata import version

    assert gradcheck.__version__ == version("gradcheck")


def test_statuses_are_one_enum_and_still_read_as_words():
    import json

    from gradcheck.base.status import Status

    result = gradcheck.check("x*y", at="x=1,y=2", grad={"x": "x"})
    assert result.status is Status.MISMATCH and result.gradients["y"].status is Status.PASS
    assert result.status == "mismatch" and f"{result.status}" == "mismatch"
    document = json.loads(json.dumps(result.to_dict()))
    assert document["status"] == "mismatch" and document["gradients"]["y"]["status"] == "pass"
