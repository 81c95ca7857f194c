"""The ``adots`` command line (layer 6, a face): thin commands that parse, call one workflow, render.

Exit codes, one rule for every command (:data:`EXIT_CODES`, shown at the end of each command's
help): 0 the command ran and has nothing to report; 1 it ran and reports findings at error or
above, duplicates, or sources it skipped (each listed, the others done); 2 it could not run (bad
input, missing file, nothing computable); the message says what to do (``--debug`` for the
traceback).
"""

from __future__ import annotations

import sys
import warnings

from adhesive_dots.cli import (  # noqa: F401  (each module registers its commands)
    align,
    annotate,
    catalog,
    compare,
    curate,
    demo,
    fingerprint,
    ingest,
    inspect,
    report,
    schema,
    serve,
    sufficiency,
    validate,
)
from adhesive_dots.cli._app import app, err_console, plain, state
from adhesive_dots.errors import AdhesiveError, AdhesiveWarning

EXIT_CODES = (
    "Exit codes (every adots command): 0 ok, nothing to report; 1 ran, and reports findings at error or above, "
    "duplicates, or skipped sources (listed; the others are done); 2 could not run (bad input, missing file, "
    "nothing computable), with a one-line message."
)
"""The exit-code rule, appended to every command's help."""

for _command in app.registered_commands:
    _command.epilog = EXIT_CODES


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``adots`` console script."""
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            app(args=argv, prog_name="adots")
    except (AdhesiveError, OSError) as err:
        if state.debug:
            raise
        err_console.print("[bold red]error:[/]", plain(str(err)), highlight=False, soft_wrap=True)  # one line
        err_console.print("[dim](run with --debug for the traceback)[/]")
        sys.exit(2)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line on stderr (what, not where in our code); ours in yellow."""
    label = "warning" if issubclass(category, AdhesiveWarning) else category.__name__
    err_console.print(f"[yellow]{label}:[/]", plain(str(message)), highlight=False)


__all__ = ["app", "main"]
