"""The console script on generated input (hypothesis): exit 0, 1 or 2, no traceback, on 2 a first
stderr line that says what is wrong, and one JSON document under --format json.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import run_script
from fuzz_strategies import CLI_BATCH, fuzz_settings, general_trees, point_for, stress_text, token_soup
from hostile_input import assert_clean_exit
from hypothesis import given
from hypothesis import strategies as st


pytestmark = pytest.mark.slow  # generated inputs, minutes in all: CI runs them, a quick loop skips them


def argv_safe(text: str) -> bool:
    return "\0" not in text  # the OS ends an argv string at NUL (NUL goes through the API tests)


@st.composite
def cli_invocation(draw) -> list[str]:
    kind = draw(st.sampled_from(["text", "tokens", "stress", "tree"]))
    if kind == "tree":
        text = draw(general_trees)
        at = draw(point_for((text,)))
        if isinstance(at, dict):
            at = ",".join(f"{k}={v}" for k, v in at.items())
        options = ["--at", at] if at else []
        options += draw(st.sampled_from([[], ["--format", "json"], ["--show"], ["--mode", "fast"]]))
        return ["eval", *options, "--", text]
    text = draw({"text": st.text(max_size=60), "tokens": token_soup, "stress": stress_text()}[kind]
                .filter(argv_safe).filter(lambda t: len(t) <= 20_000))
    return ["eval", "--", text]


@fuzz_settings("cli_batches")
@given(st.lists(cli_invocation(), min_size=CLI_BATCH, max_size=CLI_BATCH))
def test_console_script_on_random_input(invocations):
    """Exit 0, 1 or 2, no traceback, and on 2 a first stderr line that says what is wrong."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = list(pool.map(lambda args: run_script(*args), invocations))
    for args, proc in zip(invocations, procs):
        assert_clean_exit(proc, repr(args)[:500])
        if "--format" in args and proc.returncode in (0, 1, 2):
            json.loads(proc.stdout)  # --format json prints one JSON document even for bad input
