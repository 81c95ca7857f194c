"""The ``adots`` Typer application and what every command shares (console, errors, JSON)."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console

app = typer.Typer(
    name="adots",
    help=(
        "adhesive-dots: ten minutes of spontaneous activity as the common reference "
        "(an 'adhesive dot') for neural recordings across sessions, labs and datasets."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)

console = Console()
err_console = Console(stderr=True)


class _State:
    debug = False


state = _State()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    state.debug = debug


def print_json(payload: Any) -> None:
    """Write ``payload`` as JSON on stdout (no colour, no wrapping) for scripts."""
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
