"""The one progress helper of the command line: rich bars on a terminal, nothing with ``--json`` or when
the output is not a terminal (pipes, files, CI logs)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from adhesive_dots.cli._app import console


def make_progress(*columns: Any, quiet: bool = False) -> Progress:
    """A rich ``Progress`` on the shared console, disabled when ``quiet`` (``--json``) or not on a terminal;
    transient, so the finished bar leaves the results alone."""
    return Progress(*columns, console=console, disable=quiet or not console.is_terminal, transient=True)


@contextlib.contextmanager
def source_progress(what: str, *, quiet: bool = False, total: int | None = None) -> Iterator[Callable[..., None]]:
    """A bar for work over sources; yields ``step(label)``, called as each source starts (a workflow's
    ``progress=`` callback), or ``step(done, total)`` for counted work."""
    progress = make_progress(
        SpinnerColumn(),
        TextColumn(f"[bold]{escape(what)}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[label]}"),
        TimeElapsedColumn(),
        quiet=quiet,
    )
    with progress:
        task = progress.add_task(what, total=total, label="")
        started = [0]

        def step(label: str | int = "", count: int | None = None) -> None:
            if isinstance(label, int):  # step(done, total)
                progress.update(task, completed=label, total=count, label="")
                return
            if started[0]:
                progress.advance(task)
            started[0] += 1
            progress.update(task, label=escape(str(label))[-60:])

        yield step
