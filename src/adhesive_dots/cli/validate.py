"""``adots validate``: is each session a compliant adhesive dot?

Exit codes: 0 when no finding is at error or above, 1 when one is (a source that cannot be
read counts: it becomes a ``source.unreadable`` finding), 2 when the command could not run
(unknown check id or severity, bad option). ``--min-severity`` only filters what is shown.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from adhesive_dots.cli._app import app, console, plain, print_json
from adhesive_dots.cli._options import CONFIG_OPTION, JSON_OPTION, SourceOptions, source_options

SEVERITY_STYLE = {"critical": "bold red", "error": "red", "warning": "yellow", "info": "dim"}


def _split(values: list[str] | None) -> list[str] | None:
    """Repeated options and comma-separated lists alike: ``--select a,b --select c``."""
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@app.command()
@source_options
def validate(
    sources: list[str] = typer.Argument(
        None, help="Files, folders (searched recursively), BIDS roots, globs, URLs, dandi:/openneuro: ids."
    ),
    as_json: bool = JSON_OPTION,
    select: list[str] = typer.Option(None, "--select", help="Check ids or groups to run (comma-separated)."),
    ignore: list[str] = typer.Option(None, "--ignore", help="Check ids or groups to skip (comma-separated)."),
    min_severity: str = typer.Option("info", "--min-severity", help="Show findings at this severity or above."),
    min_duration: float | None = typer.Option(
        None, "--min-duration", help="Shortest compliant baseline, s (default 600, or the config file's)."
    ),
    config: Path | None = CONFIG_OPTION,
    list_checks: bool = typer.Option(False, "--list-checks", help="Print the checks and their thresholds, then exit."),
    given: SourceOptions = None,
) -> None:
    """Validate the spontaneous baseline of each session: duration, metadata, signal quality, arousal."""
    from adhesive_dots.io.config import read_config
    from adhesive_dots.validate import checks_table, parse_severity
    from adhesive_dots.workflows.validate import report_to_dict, validate_sources

    thresholds = read_config(config).thresholds
    if min_duration is None:
        min_duration = thresholds.min_duration
    if list_checks:
        rows = checks_table(thresholds)
        if as_json:
            print_json(rows)
            return
        console.print(f"[bold]adots validate checks[/] ({len(rows)}; ids for --select/--ignore)\n")
        for row in rows:
            style = SEVERITY_STYLE[row["severity"]]
            console.print(f"[bold]{row['id']}[/]  [{style}]{row['severity']}[/]")
            console.print(f"    {escape(row['summary'])}", highlight=False)
            if row["thresholds"]:
                console.print(f"    thresholds: {escape(row['thresholds'])}", highlight=False)
            console.print(f"    why: {escape(row['rationale'])}", style="dim", highlight=False)
        return
    targets = given.require(sources)
    severity = parse_severity(min_severity)
    options = dict(
        template=given.template(),
        min_duration=min_duration,
        select=_split(select),
        ignore=_split(ignore),
        thresholds=thresholds,
    )
    if as_json:
        reports = validate_sources(targets, **options)
    else:
        with console.status("validating ...") as status:
            reports = validate_sources(
                targets, **options, progress=lambda label: status.update(f"validating {escape(label)}")
            )
    payload = report_to_dict(reports, min_duration=min_duration, min_severity=severity)
    if as_json:
        print_json(payload)
    else:
        _render(payload)
    if payload["summary"]["noncompliant"]:
        raise typer.Exit(1)


def _render(payload: dict) -> None:
    summary = Table(title="Baselines", title_justify="left")
    for column in ("source", "baseline", "status", "critical", "error", "warning", "info"):
        summary.add_column(column, justify="left" if column in ("source", "baseline", "status") else "right")
    for entry in payload["sources"]:
        baseline = entry["baseline"]
        where = (
            "none"
            if baseline is None
            else (
                f"{baseline['start']:.1f}-{baseline['stop']:.1f} s ({baseline['duration']:.1f} s"
                + ("" if baseline["contiguous"] else f", {len(baseline['gaps'])} gaps")
                + ")"
            )
        )
        counts = {s: 0 for s in SEVERITY_STYLE}
        for finding in entry["findings"]:
            counts[finding["severity"]] += 1
        status = "[green]compliant[/]" if entry["compliant"] else "[bold red]non-compliant[/]"
        summary.add_row(plain(entry["source"]), where, status, *(str(counts[s]) for s in SEVERITY_STYLE))
    console.print(summary)
    findings = [f for entry in payload["sources"] for f in entry["findings"]]
    if findings:
        table = Table(title=f"Findings (at {payload['min_severity']} or above)", title_justify="left", show_lines=True)
        for column in ("severity", "check", "message", "fix"):
            table.add_column(column, overflow="fold")
        for finding in findings:
            style = SEVERITY_STYLE[finding["severity"]]
            table.add_row(
                f"[{style}]{finding['severity']}[/]", finding["code"], plain(finding["message"]), plain(finding["fix"])
            )
        console.print(table)
    notes = [f"{entry['source']}: {note}" for entry in payload["sources"] for note in entry["notes"]]
    if notes:
        from adhesive_dots.cli._app import print_notes

        print_notes(notes)
    s = payload["summary"]
    console.print(
        f"{s['sources']} source(s): [green]{s['compliant']} compliant[/], "
        f"[red]{s['noncompliant']} non-compliant[/] (minimum duration {payload['min_duration']:g} s)"
    )
