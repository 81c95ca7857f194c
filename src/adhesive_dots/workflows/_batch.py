"""What batch workflows share: each source's baseline in turn, a failure recorded as a note."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack

from adhesive_dots.core import Baseline
from adhesive_dots.errors import AdhesiveError
from adhesive_dots.io.sources import Resolved, SourceSpec, open_baseline


def each_baseline(
    specs: Sequence[SourceSpec],
    stack: ExitStack,
    notes: list[str],
    *,
    progress: Callable[[str], None] | None = None,
) -> Iterator[tuple[Resolved, Baseline]]:
    """The resolved source and baseline of every spec (recordings kept open in ``stack``).

    A source that cannot be opened, or has no baseline, adds a note ``"LABEL: why"`` to ``notes`` and
    the others go on; so do the notes of the sources opened (options ignored or overridden).
    """
    for spec in specs:
        if progress is not None:
            progress(spec.label)
        try:
            resolved, baseline = open_baseline(spec)
        except AdhesiveError as err:
            notes.append(f"{spec.label}: {err}")
            continue
        stack.enter_context(resolved)
        notes.extend(f"{resolved.key}: {note}" for note in resolved.notes)
        yield resolved, baseline
