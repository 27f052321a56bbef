"""pytest plugin (registered through the `pytest11` entry point).

- `pytest expressions/` collects every [[case]] of a gradcheck case file as a test item; a case
  that is not as expected fails with gradcheck's table as the report. Being ordinary items, cases
  spread over processes with pytest-xdist (`pytest -n 2 expressions/`).
- Which .toml files are gradcheck's: those that declare themselves (a `[[case]]` header and an
  `expr =` key near the top, cases.declares_cases) and those the project names with the ini option
  `gradcheck_files` (glob patterns, e.g. `expressions/*.toml`). Any other TOML is left to pytest,
  unread beyond its first 64 KB and never parsed, whatever it holds: installing gradcheck must not
  change another project's test run.
- The `gradcheck` fixture asserts inside ordinary tests:
      def test_my_layer(gradcheck):
          gradcheck.check_function(loss, backward, [W, b])
          gradcheck.layer(affine_forward, affine_backward, [x, w, b])   # forward -> (out, cache)
          gradcheck.vjp(f, f_vjp, [x])                                  # vjp(dout, *inputs)

Loaded by every pytest run where gradcheck is installed, so it imports nothing heavy until a
gradcheck file or the fixture is actually used.
"""

from __future__ import annotations

import pytest

from .base.status import Status

FILES_OPTION = "gradcheck_files"


def pytest_addoption(parser) -> None:
    parser.addini(FILES_OPTION, type="linelist", default=[],
                  help="glob patterns of gradcheck case files beyond those that declare themselves with a "
                       "[[case]] table (matched against the path's end: '*.toml', 'expressions/*.toml')")


def pytest_collect_file(parent, file_path):
    if file_path.suffix != ".toml":
        return None
    if opted_in(file_path, parent.config.getini(FILES_OPTION)):
        return GradcheckFile.from_parent(parent, path=file_path)
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from .batch.cases import declares_cases

    return GradcheckFile.from_parent(parent, path=file_path) if declares_cases(file_path) else None


def opted_in(path, patterns: list[str]) -> bool:
    """Whether the project names this file with gradcheck_files (each pattern matched from the path's end)."""
    from pathlib import PurePath

    return any(PurePath(path).match(pattern) for pattern in patterns)


def item_name(text: str) -> str:
    """A case's name as a pytest item name: shown literally (control characters as their escapes, as in
    the table), and without '::', which pytest reads as a separator of node ids (-k, --deselect)."""
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from .render.escape import visible

    return visible(text).replace("::", ":\\x3a")


class GradcheckFile(pytest.File):
    def collect(self):
        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from .batch.cases import load

        seen: set[str] = set()
        for spec in load(self.path, root=self.config.rootpath):  # .npy paths stay inside the rootdir
            name = item_name(spec.name)
            name = name if name not in seen else f"{name} (line {spec.line})"
            seen.add(name)
            yield GradcheckItem.from_parent(self, name=name, spec=spec)


class CaseNotAsExpected(Exception):
    """A case whose gradients are not as its `expect` says, or whose input is bad."""

    def __init__(self, result):
        super().__init__(result.verdict)
        self.result = result


class GradcheckItem(pytest.Item):
    def __init__(self, *, spec, **kwargs):
        super().__init__(**kwargs)
        self.spec = spec

    def runtest(self) -> None:
        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from .batch.cases import run

        result = run(self.spec)
        if not result.as_expected:
            raise CaseNotAsExpected(result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CaseNotAsExpected):
            return describe(excinfo.value.result)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, max(self.spec.line - 1, 0), f"gradcheck case: {self.name}"


def describe(result) -> str:
    """What a failing case reports: the verdict once, first (pytest's summary line shows it), then the table."""
    if result.status == Status.ERROR:
        return f"input error: {result.verdict}"
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from .render.table import render_text

    if result.expect == Status.MISMATCH and result.status == Status.PASS:
        head = "expected a mismatch, but every gradient agrees: the wrong derivation this case documents was not caught"
    else:
        head = result.verdict
    return f"{head}\n\n{render_text(result, verdict=head != result.verdict)}"


class Checker:
    """The `gradcheck` fixture: checks that fail the test, with the table, when a gradient is wrong.
    It fails exactly when the command line would exit non-zero: a kink passes unless strict=True.
    Bad input (an expression that does not parse, a value of the wrong shape) fails the test with
    gradcheck's one-line message and caret, not a traceback through gradcheck's parser; an exception
    raised by the user's own f or backward keeps its traceback (FunctionError, chained)."""

    def check(self, expr: str, **options):
        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from . import check

        return self._run(check, expr, **options)

    def check_function(self, f, grad_f, inputs, **options):
        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from . import check_function

        return self._run(check_function, f, grad_f, inputs, **options)

    def layer(self, forward, backward, inputs, **options):
        """check_layer: fails the test with the table unless every gradient agrees (a kink passes)."""
        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from . import check_layer

        return self._run(check_layer, forward, backward, inputs, **options)

    def vjp(self, f, vjp, inputs, **options):
        """check_vjp: fails the test with the table unless every gradient agrees (a kink passes)."""
        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from . import check_vjp

        return self._run(check_vjp, f, vjp, inputs, **options)

    def model(self, model, X, y, **options):
        """check_model: fails the test with the table unless every gradient agrees (a kink passes)."""
        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from . import check_model

        return self._run(check_model, model, X, y, **options)

    def op(self, op, inputs, **options):
        """check_op: a class with forward/backward or needle's compute/gradient; fails the test like the others."""
        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from . import check_op

        return self._run(check_op, op, inputs, **options)

    @staticmethod
    def _run(checker, *args, **options):
        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from .base.errors import FunctionError, GradcheckError

        try:
            result = checker(*args, **options)
        except FunctionError:
            raise
        except GradcheckError as exc:
            excerpt = exc.excerpt()
            pytest.fail(f"input error: {exc}" + (f"\n{excerpt}" if excerpt else ""), pytrace=False)
        if result.exit_code != 0:
            pytest.fail(describe(result), pytrace=False)
        return result


@pytest.fixture
def gradcheck() -> Checker:
    return Checker()
