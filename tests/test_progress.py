"""The one progress helper: on for a terminal, off with --json or when the output is not a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from adhesive_dots.cli import _progress


def test_progress_is_off_with_json_or_without_a_terminal(monkeypatch):
    monkeypatch.setattr(_progress, "console", Console(file=io.StringIO(), force_terminal=False))
    assert _progress.make_progress().disable
    terminal = Console(file=io.StringIO(), force_terminal=True, width=100)
    monkeypatch.setattr(_progress, "console", terminal)
    assert not _progress.make_progress().disable
    assert _progress.make_progress(quiet=True).disable
    with _progress.source_progress("effects") as step:
        step("a.edf")
        step("b.edf")
    shown = terminal.file.getvalue()
    assert "effects" in shown and "b.edf" in shown
    quiet = Console(file=io.StringIO(), force_terminal=True)
    monkeypatch.setattr(_progress, "console", quiet)
    with _progress.source_progress("effects", quiet=True) as step:
        step("a.edf")
    assert quiet.file.getvalue() == ""
