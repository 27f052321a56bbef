"""The command line: a thin layer over the library. It alone prints errors and decides exit codes.

Only click is imported at start-up; numpy, SymPy and rich load when a command needs them, so
`gradcheck --help` stays quick.
"""

from __future__ import annotations

import os
import sys

import click

from .. import __version__
from ..base.errors import GradcheckError, RuleError, Terminated
from ..base.status import ExitStatus
from .common import CONTEXT, report_error, report_line


class Main(click.Group):
    """The command group; it alone exits, with the code the command returned. Ctrl-C exits 130 and
    SIGTERM 143, each with one line, after the -j workers and any partial output file are cleaned up
    (click's own handling prints "Aborted!" and exits 1, the code of a mismatch)."""

    def invoke(self, ctx: click.Context):
        import signal
        import threading

        def terminate(signum, frame):
            raise Terminated()

        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, terminate) if main_thread else None
        try:
            code = super().invoke(ctx)
        except RuleError as exc:
            report_line(f"internal error (a bug in gradcheck; please report it): {exc}")
            code = ExitStatus.INTERNAL_ERROR
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # click's own: usage errors (exit 2) and --help, printed by click
        except GradcheckError as exc:  # bad input a command did not catch itself: still one line and exit 2
            report_error(exc)
            code = ExitStatus.INPUT_ERROR
        except Exception as exc:  # noqa: BLE001 - anything unexpected is a bug: one line and exit 3, never a traceback
            report_line(f"internal error (a bug in gradcheck; please report it): {type(exc).__name__}: {exc}")
            code = ExitStatus.INTERNAL_ERROR
        except KeyboardInterrupt:
            report_line("interrupted (Ctrl-C)")
            code = ExitStatus.INTERRUPTED
        except Terminated:
            report_line("terminated (SIGTERM)")
            code = ExitStatus.TERMINATED
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous)
        code = int(code or ExitStatus.OK)
        if _own_process():
            _leave(code)
        sys.exit(code)


def _own_process() -> bool:
    """The console script on its own: not under a test runner (which swaps the streams), a profiler
    or a coverage tracer (which write their results at exit)."""
    return (sys.stdout is sys.__stdout__ and sys.stderr is sys.__stderr__
            and sys.getprofile() is None and sys.gettrace() is None)


def _leave(code: int) -> None:
    """End the process once every output is flushed and closed, skipping the interpreter's teardown:
    with SymPy loaded that teardown took 585 ms on the loaded 2-core machine, 31 ms with os._exit
    (medians of 8, benchmarks/teardown.py). Files we write are closed by then (write_atomically)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # a reader that left early (| head), or a closed stream
            pass
    os._exit(code)


@click.group(cls=Main, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="gradcheck")
def main() -> None:
    """Is this gradient right? gradcheck computes every partial derivative of an expression
    three independent ways (SymPy, its own backprop, finite differences) and compares them
    with each other and with the gradient you derived.

    \b
    gradcheck eval "sigmoid(w0*x0 + w1*x1 + w2)" --at w0=2,w1=-3,w2=-3,x0=-1,x1=-2
    gradcheck check expressions/
    gradcheck layer layers.py:affine_forward layers.py:affine_backward --at ...
    gradcheck loss softmax.py:softmax_loss_naive --at W="randn(10,3)" ... --data X
    gradcheck torch functions.py:MyReLU --at x="randn(4,5)"
    gradcheck COMMAND --help

    Exit codes: 0 all gradients agree, 1 a mismatch, 2 bad input, 3 an internal error,
    4 inconclusive (nothing accurate enough to confirm a claim), 5 right gradients from code that
    breaks a contract (writes into dout, say), 130 and 143 interrupted.
    """


from . import check, evaluate, explain, frameworks, functions, layer, trace  # noqa: E402 (the commands, registered on the group below)

for _command in (evaluate.eval_command, check.check_command, trace.trace_command, explain.explain_command,
                 layer.layer_command, layer.vjp_command, layer.loss_command, frameworks.torch_command,
                 frameworks.jax_command, functions.functions_command):
    main.add_command(_command)
