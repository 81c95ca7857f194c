"""The ``adots`` command line: thin commands that parse, call one library function, render.

Exit codes: 0 success; 1 the command ran and found errors (e.g. validation); 2 it could
not run (bad input, missing file); the message says what to do (``--debug`` for the
traceback).
"""

from __future__ import annotations

import os
import sys

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
from adhesive_dots.errors import OPTION_STYLE_ENV, AdhesiveError


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``adots`` console script."""
    previous = os.environ.get(OPTION_STYLE_ENV)
    os.environ[OPTION_STYLE_ENV] = "cli"  # messages name options as flags (also in worker processes)
    try:
        app(args=argv, prog_name="adots")
    except (AdhesiveError, OSError) as err:
        if state.debug:
            raise
        err_console.print("[bold red]error:[/]", plain(str(err)), highlight=False)
        err_console.print("[dim](run with --debug for the traceback)[/]")
        sys.exit(2)
    finally:  # called in-process (tests, notebooks): leave the caller's environment as it was
        if previous is None:
            os.environ.pop(OPTION_STYLE_ENV, None)
        else:
            os.environ[OPTION_STYLE_ENV] = previous


__all__ = ["app", "main"]
