"""Pages that cannot drift from the program: the output of gradcheck's own commands, run at build time.

    ```{gradcheck-output} eval --help
    ```

inserts what `gradcheck eval --help` prints (at 100 columns, without color), so the CLI reference is
the CLI's own help, and `gradcheck functions` the registry's list.
"""

from __future__ import annotations

import shlex

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

WIDTH = 100  # columns the output is laid out for, as in a pipe without COLUMNS


class GradcheckOutput(SphinxDirective):
    required_arguments = 1
    final_argument_whitespace = True
    has_content = False

    def run(self) -> list[nodes.Node]:
        from click.testing import CliRunner

        from gradcheck.cli import main

        args = shlex.split(self.arguments[0])
        result = CliRunner().invoke(main, args, prog_name="gradcheck", terminal_width=WIDTH,
                                    env={"COLUMNS": str(WIDTH), "NO_COLOR": "1"})
        if result.exit_code != 0 or result.exception is not None and not isinstance(result.exception, SystemExit):
            raise self.error(f"gradcheck {self.arguments[0]} exited {result.exit_code}: {result.output[-500:]}")
        text = f"$ gradcheck {self.arguments[0]}\n{result.output.rstrip()}"
        block = nodes.literal_block(text, text, language="console")
        self.set_source_info(block)
        return [block]


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("gradcheck-output", GradcheckOutput)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
