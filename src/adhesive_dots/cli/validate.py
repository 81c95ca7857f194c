"""``adots validate``: is each session a compliant adhesive dot?

Exit codes: 0 when no finding is at error or above, 1 when one is (a source that cannot be
read counts: it becomes a ``source.unreadable`` finding), 2 when the command could not run
(unknown check id or severity, bad option). ``--min-severity`` only filters what is shown.
"""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from adhesive_dots.cli._app import app, console, err_console, print_json

SEVERITY_STYLE = {"critical": "bold red", "error": "red", "warning": "yellow", "info": "dim"}


def _split(values: list[str] | None) -> list[str] | None:
    """Repeated options and comma-separated lists alike: ``--select a,b --select c``."""
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@app.command()
def validate(
    sources: list[str] = typer.Argument(
        None, help="NWB files, folders (searched recursively), BIDS roots, raw files (EDF, ...), URLs."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the report as JSON (stable shape, see docs)."),
    select: list[str] = typer.Option(None, "--select", help="Check ids or groups to run (comma-separated)."),
    ignore: list[str] = typer.Option(None, "--ignore", help="Check ids or groups to skip (comma-separated)."),
    min_severity: str = typer.Option("info", "--min-severity", help="Show findings at this severity or above."),
    min_duration: float = typer.Option(600.0, "--min-duration", help="Shortest compliant baseline, s."),
    start: float = typer.Option(None, "--start", help="Baseline start, s (you say where it is; default: found)."),
    stop: float = typer.Option(None, "--stop", help="Baseline stop, s (with --start; default: recording end)."),
    vocabulary: list[str] = typer.Option(
        None, "--vocabulary", help="Extra words marking spontaneous intervals (comma-separated), e.g. T0."
    ),
    units_bin_width: float = typer.Option(None, "--units-bin-width", help="Read NWB units as counts in bins of S s."),
    list_checks: bool = typer.Option(False, "--list-checks", help="Print the checks and their thresholds, then exit."),
) -> None:
    """Validate the spontaneous baseline of each session: duration, metadata, signal quality, arousal."""
    from adhesive_dots.io.validate_sources import report_to_dict, validate_sources
    from adhesive_dots.validate import checks_table, parse_severity

    if list_checks:
        rows = checks_table()
        if json_output:
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
    if not sources:
        err_console.print("[bold red]error:[/] give at least one SOURCE (file, folder, BIDS root or URL)")
        raise typer.Exit(2)
    severity = parse_severity(min_severity)
    select_list, ignore_list = _split(select), _split(ignore)
    options = dict(min_duration=min_duration, select=select_list, ignore=ignore_list, start=start, stop=stop,
                   vocabulary=_split(vocabulary) or (), units_bin_width=units_bin_width)  # fmt: skip

    if json_output:
        reports = validate_sources(sources, **options)
    else:
        with console.status("validating ...") as status:
            reports = validate_sources(
                sources, **options, progress=lambda label: status.update(f"validating {escape(label)}")
            )
    payload = report_to_dict(reports, min_duration=min_duration, min_severity=severity)
    if json_output:
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
        where = "none" if baseline is None else (
            f"{baseline['start']:.1f}-{baseline['stop']:.1f} s ({baseline['duration']:.1f} s"
            + ("" if baseline["contiguous"] else f", {len(baseline['gaps'])} gaps") + ")"
        )  # fmt: skip
        counts = {s: 0 for s in SEVERITY_STYLE}
        for finding in entry["findings"]:
            counts[finding["severity"]] += 1
        status = "[green]compliant[/]" if entry["compliant"] else "[bold red]non-compliant[/]"
        summary.add_row(escape(entry["source"]), where, status, *(str(counts[s]) for s in SEVERITY_STYLE))
    console.print(summary)
    findings = [f for entry in payload["sources"] for f in entry["findings"]]
    if findings:
        table = Table(title=f"Findings (at {payload['min_severity']} or above)", title_justify="left", show_lines=True)
        for column in ("severity", "check", "message", "fix"):
            table.add_column(column, overflow="fold")
        for finding in findings:
            style = SEVERITY_STYLE[finding["severity"]]
            table.add_row(f"[{style}]{finding['severity']}[/]", finding["code"], escape(finding["message"]),
                          escape(finding["fix"]))  # fmt: skip
        console.print(table)
    s = payload["summary"]
    console.print(
        f"{s['sources']} source(s): [green]{s['compliant']} compliant[/], "
        f"[red]{s['noncompliant']} non-compliant[/] (minimum duration {payload['min_duration']:g} s)"
    )
