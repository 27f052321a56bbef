"""`gradcheck check`: every [[case]] of TOML case files."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..base.options import MAX_TIMEOUT  # plain Python: no numpy at start-up
from ..base.status import ExitStatus, Status
from .common import CONTEXT, finish, format_option, html_option, report_line, strict_option, timeout_option, tolerance_options


@click.command("check", context_settings=CONTEXT, short_help="Check every [[case]] of TOML case files.")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("-k", "pattern", metavar="PATTERN", help="Only cases whose name contains PATTERN (or matches it as a glob).")
@click.option("-x", "--exitfirst", is_flag=True, help="Stop at the first case that is not as expected.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Check cases in this many processes (at most the number of cores, unless --force-jobs).")
@click.option("--force-jobs", is_flag=True, help="Allow -j above the number of cores.")
@format_option
@click.option("--junit", "junit", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also write JUnit XML (one testcase per case) to FILE.")
@strict_option
@timeout_option
@tolerance_options
@click.option("--locked", is_flag=True,
              help="For graders: case files may only tighten the run's rtol, atol and --timeout (no timeout 0, "
                   "no float32), and may not set expect; a case that tries is an input error.")
@click.option("--run-timeout", "run_timeout", type=click.FloatRange(min=0, max=MAX_TIMEOUT, min_open=True),
              default=None, metavar="SECONDS",
              help="Time budget of the whole run; cases it leaves unfinished end as timeout errors (exit 2).")
@click.option("--show", is_flag=True, help="Print every case's table, not only those not as expected.")
@click.option("--root", "root", type=click.Path(exists=True, file_okay=False), default=None, metavar="DIR",
              help="Case files found through links, and .npy paths in case files, must resolve inside DIR "
                   "(default: the working directory).")
@html_option
def check_command(paths, pattern, exitfirst, jobs, force_jobs, output_format, junit, strict, timeout, rtol, atol,
                  locked, run_timeout, show, root, html_file) -> ExitStatus:
    """Check every [[case]] in TOML files (directories are searched for *.toml).

    Exit codes: 0 every case as expected, 1 a case not as expected, 2 an input error, 3 an internal error,
    4 inconclusive (the most serious outcome of any case).
    """
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..batch.cases import discover, load, select

    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..batch.grading import RunOptions, apply

    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..batch.runner import run_all

    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..verdict.result import Report

    root_dir = Path(root) if root else None
    files, missing = discover(list(paths), root_dir)
    specs = select(missing + [spec for path in files for spec in load(path, root_dir)], pattern)
    apply(specs, RunOptions(strict=strict, timeout=timeout, rtol=rtol, atol=atol, locked=locked,
                            run_timeout=run_timeout))
    if not specs:
        report_line(f"no cases found in {' '.join(paths)}" + (f" matching -k {pattern!r}" if pattern else ""))
        return ExitStatus.INPUT_ERROR
    cores = os.cpu_count() or 1
    if jobs > cores and not force_jobs:  # each worker loads SymPy (~100 MB): -j 1000 would exhaust memory
        click.echo(f"gradcheck: note: -j {jobs} capped at {cores}, the number of cores (--force-jobs to "
                   "override)", err=True)
        jobs = cores
    bar = None
    if output_format == "table":  # rich only for the table: JSON and JUnit runs never import it
        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from ..render.table import progress

        bar = progress(len(specs))
    if bar is None:
        results = run_all(specs, jobs=jobs, exitfirst=exitfirst)
    else:
        with bar:
            task = bar.add_task("checking", total=len(specs))
            results = run_all(specs, jobs=jobs, exitfirst=exitfirst, advance=lambda: bar.advance(task))
    for result in results:
        if result.status == Status.ERROR:
            report_line(result.verdict)
    report = Report(results)
    if junit:
        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from ..render.junit import render_junit

        try:
            from ..render.html import write_atomically  # a temporary file and a rename: never half a report

            write_atomically(junit, render_junit(report))
        except OSError as exc:
            report_line(f"cannot write --junit {junit}: {exc.strerror}")
            return ExitStatus.INPUT_ERROR
    return finish(report, output_format, show, batch=True, html_file=html_file, command="check")
