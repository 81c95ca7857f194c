"""The ``adots`` Typer application and what every command shares (console, errors, JSON)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from adhesive_dots.errors import OPTION_STYLE_ENV

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


def _version(value: bool) -> None:
    if value:
        from adhesive_dots import __version__

        sys.stdout.write(f"adhesive-dots {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    state.debug = debug
    # messages name options as command-line flags while a command runs (worker processes inherit it);
    # called in-process (tests, notebooks), the caller's environment is restored afterwards
    previous = os.environ.get(OPTION_STYLE_ENV)
    os.environ[OPTION_STYLE_ENV] = "cli"
    ctx.call_on_close(lambda: _restore(previous))


def _restore(previous: str | None) -> None:
    if previous is None:
        os.environ.pop(OPTION_STYLE_ENV, None)
    else:
        os.environ[OPTION_STYLE_ENV] = previous


def print_json(payload: Any) -> None:
    """Write ``payload`` as JSON on stdout (no colour, no wrapping) for scripts."""
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def print_notes(notes: list[str], *, label: str = "note") -> None:
    """Notes about the sources (options ignored or overridden, sources skipped) on stderr."""
    for note in notes:
        err_console.print(f"[yellow]{label}:[/]", plain(note), highlight=False)


_CONTROL = dict.fromkeys([*range(0, 9), *range(11, 32), 127], None)


def plain(value: Any) -> Text:
    """A value from a file or the catalog as inert text: never rich markup, no control characters."""
    return Text(str(value).translate(_CONTROL))


def render_frame(frame: Any, title: str) -> Table:
    """A rich table of a DataFrame (floats to 3 significant digits; missing values as blanks; cells inert)."""
    import math

    table = Table(title=plain(title), title_justify="left")
    for column in frame.columns:
        table.add_column(plain(column), justify="right" if frame[column].dtype.kind in "iuf" else "left")
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                cells.append(Text("–"))
            elif isinstance(value, float):
                cells.append(Text(f"{value:.3g}"))
            else:
                cells.append(plain(value))
        table.add_row(*cells)
    return table
