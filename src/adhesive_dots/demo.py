"""The demo: simulate a multi-lab corpus, then run each stage of the toolkit on it.

:func:`run_demo` is one function that every stage joins: a stage is a callable taking the
:class:`DemoContext` and returning a :class:`StageResult` (a title, a table, a few lines);
``adots demo`` renders them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from adhesive_dots.baselines import find_baselines
from adhesive_dots.io.read import open_recording
from adhesive_dots.sim.corpus import Corpus, sim_corpus


@dataclass
class StageResult:
    """What a stage reports: a title, a table and a few lines of text."""

    title: str
    table: pd.DataFrame | None = None
    lines: list[str] = field(default_factory=list)


@dataclass
class DemoContext:
    """State handed from stage to stage."""

    out_dir: Path
    options: dict[str, Any]
    corpus: Corpus | None = None
    sessions: pd.DataFrame | None = None
    results: list[StageResult] = field(default_factory=list)


def _simulate(ctx: DemoContext) -> StageResult:
    ctx.corpus = sim_corpus(ctx.out_dir, **ctx.options)
    frame = ctx.corpus.to_frame()
    table = frame.groupby(["lab", "kind", "format"]).agg(
        sessions=("key", "size"),
        subjects=("subject", "nunique"),
        planted_defects=("compliant", lambda c: int((~c).sum())),
    )
    return StageResult(
        "Simulated corpus",
        table.reset_index(),
        [f"{len(frame)} sessions written to {ctx.out_dir} (manifest: {ctx.out_dir / 'corpus.json'})"],
    )


def _read_back(ctx: DemoContext) -> StageResult:
    assert ctx.corpus is not None
    rows = []
    for entry in ctx.corpus.entries:
        path = ctx.corpus.root / entry.path
        options = {"subject": entry.subject, "session": entry.session, "task": "rest"} if entry.format == "bids" else {}
        with open_recording(path, **options) as recording:
            baselines = find_baselines(recording)
            rows.append(
                {
                    "lab": entry.lab,
                    "modality": recording.modality.value,
                    "channels": recording.n_channels,
                    "fs_hz": recording.fs,
                    "recording_min": recording.duration / 60,
                    "spontaneous_min": baselines[0].duration / 60 if baselines else 0.0,
                    "evidence": baselines[0].segment.evidence if baselines else "none",
                }
            )
    ctx.sessions = pd.DataFrame(rows)
    table = ctx.sessions.groupby(["lab", "modality"]).agg(
        sessions=("channels", "size"),
        channels=("channels", "median"),
        fs_hz=("fs_hz", "first"),
        spontaneous_min=("spontaneous_min", "sum"),
    )
    total = ctx.sessions["spontaneous_min"].sum()
    return StageResult(
        "Read back with pynwb and mne-bids",
        table.reset_index(),
        [f"{len(rows)} sessions read; {total:.1f} minutes of spontaneous activity found"],
    )


def _validate(ctx: DemoContext) -> StageResult:
    """Validate every session; compare what failed with the defects the simulator planted."""
    from adhesive_dots.core import Severity
    from adhesive_dots.io.validate_sources import SourceItem, validate_item
    from adhesive_dots.validate import at_least

    assert ctx.corpus is not None
    expected = {"too-short": "baseline.duration", "missing-metadata": "metadata.required",
                "flat-channel": "signal.flat", "nan-stretch": "signal.nonfinite"}  # fmt: skip
    rows = []
    for entry in ctx.corpus.entries:
        options = {"subject": entry.subject, "session": entry.session, "task": "rest"} if entry.format == "bids" else {}
        report = validate_item(SourceItem(str(ctx.corpus.root / entry.path), options))
        failing = sorted({f.code for f in at_least(report.findings, Severity.ERROR)})
        rows.append(
            {
                "lab": entry.lab,
                "compliant": report.compliant,
                "planted": ",".join(entry.defects) or "-",
                "caught": all(expected[d] in failing for d in entry.defects) if entry.defects else report.compliant,
                "failing_checks": ",".join(failing) or "-",
            }
        )
    frame = pd.DataFrame(rows)
    table = frame.groupby("lab").agg(
        sessions=("compliant", "size"),
        compliant=("compliant", "sum"),
        noncompliant=("compliant", lambda c: int((~c).sum())),
        planted_defects=("planted", lambda p: int((p != "-").sum())),
    )
    lines = [f"{int(frame['compliant'].sum())} compliant, {int((~frame['compliant']).sum())} non-compliant"]
    for row in frame[frame["planted"] != "-"].itertuples():
        verdict = "caught" if row.caught else "MISSED"
        lines.append(f"{row.lab}: planted {row.planted} -> {verdict} ({row.failing_checks})")
    flagged = frame[(frame["planted"] == "-") & ~frame["compliant"]]
    if len(flagged):
        lines.append(
            f"{len(flagged)} session(s) without a planted defect failed: {', '.join(flagged['failing_checks'])}"
        )
    return StageResult("Validation (adots validate)", table.reset_index(), lines)


def _fingerprint(ctx: DemoContext) -> StageResult:
    """Fingerprint every baseline; sessions whose data cannot be fingerprinted are listed, not fatal."""
    from adhesive_dots.errors import AdhesiveError
    from adhesive_dots.fingerprint import fingerprint

    assert ctx.corpus is not None
    rows, skipped = [], []
    for entry in ctx.corpus.entries:
        path = ctx.corpus.root / entry.path
        options = {"subject": entry.subject, "session": entry.session, "task": "rest"} if entry.format == "bids" else {}
        with open_recording(path, **options) as recording:
            baselines = find_baselines(recording)
            if not baselines:
                skipped.append(f"{entry.key}: no baseline")
                continue
            try:
                summary = fingerprint(baselines[0], rng=0).summary_dict()
            except AdhesiveError as err:
                skipped.append(f"{entry.key}: {err}")
                continue
        rows.append(
            {
                "session": entry.key,
                "exponent": summary["aperiodic_exponent"],
                "peak_hz": summary["peak_frequency"],
                "dfa_slow": summary["dfa_slow"],
                "mean_abs_r": summary["mean_abs_correlation"],
                "nonstationarity": summary["nonstationarity"],
                "arousal_r": summary["arousal_coupling"],
            }
        )
    lines = [f"{len(rows)} baselines fingerprinted (spectra, 1/f, LRTC, correlations, 30 s dynamics)"]
    lines += [f"skipped {item}" for item in skipped]
    return StageResult("Fingerprints (summary vector, selected features)", pd.DataFrame(rows), lines)


STAGES: list[tuple[str, Callable[[DemoContext], StageResult]]] = [
    ("simulate", _simulate),
    ("read", _read_back),
    ("validate", _validate),
    ("fingerprint", _fingerprint),
]
"""The demo's stages in order; later capabilities append theirs here."""


def run_demo(
    out_dir: str | Path = "adots-demo",
    *,
    on_stage: Callable[[StageResult], None] | None = None,
    **options: Any,
) -> DemoContext:
    """Run every stage of the demo into ``out_dir``; ``options`` go to :func:`sim_corpus`."""
    ctx = DemoContext(out_dir=Path(out_dir), options={"rng": 0, **options})
    for _name, stage in STAGES:
        result = stage(ctx)
        ctx.results.append(result)
        if on_stage is not None:
            on_stage(result)
    return ctx


def _annotate_and_inspect(ctx: DemoContext) -> StageResult:
    """Write a dot back into a copy of one NWB session and read it again (``adots annotate``/``inspect``)."""
    from adhesive_dots.io.annotate import annotate
    from adhesive_dots.io.inspect import inspect_source

    assert ctx.corpus is not None
    entry = next((e for e in ctx.corpus.entries if e.format == "nwb"), None)
    if entry is None:
        return StageResult("Annotate and inspect", lines=["no NWB session in the corpus"])
    source = ctx.corpus.root / entry.path
    out = ctx.out_dir / "annotated"
    out.mkdir(parents=True, exist_ok=True)
    start, stop = entry.baseline
    result = annotate(source, start=start, stop=stop, paradigm="animal-head-fixed-task-free",
                      metadata={"environment": {"illumination": "dark"}}, output=out / Path(entry.path).name,
                      replace=True, overwrite=True)  # fmt: skip
    summary = inspect_source(str(result.output))
    table = pd.DataFrame(summary["baselines"])[["start_s", "stop_s", "duration_s", "contiguous", "evidence"]]
    return StageResult(
        "Annotate and inspect (NWB dot written back to a copy)",
        table,
        [f"{source.name}: dot {start:g}-{stop:g} s written to {result.output} (source untouched); "
         f"{summary['modality']}, {summary['n_channels']} channels at {summary['fs_hz']:g} Hz"],
    )  # fmt: skip


STAGES.append(("annotate", _annotate_and_inspect))


def _compare(ctx: DemoContext) -> StageResult:
    """Compare two sessions of one subject, and one session of another subject (``adots compare``)."""
    from adhesive_dots.compare import compare_baselines

    assert ctx.corpus is not None
    entries = [e for e in ctx.corpus.entries if e.compliant]
    kinds = [k for k in ("eeg", "ephys", "calcium") if any(e.kind == k for e in entries)]  # matched channels first
    for kind in kinds:
        by_subject: dict[str, list] = {}
        for e in entries:
            if e.kind == kind:
                by_subject.setdefault(e.subject, []).append(e)
        first = next((s for s, es in by_subject.items() if len(es) >= 2), None)
        other = next((s for s in by_subject if s != first), None)
        if first is not None and other is not None:
            chosen = [by_subject[first][0], by_subject[first][1], by_subject[other][0]]
            break
    else:
        return StageResult("Compare baselines", lines=["no subject with two compliant sessions and another subject"])
    baselines = []
    for entry in chosen:
        options = {"subject": entry.subject, "session": entry.session, "task": "rest"} if entry.format == "bids" else {}
        with open_recording(ctx.corpus.root / entry.path, **options) as recording:
            found = find_baselines(recording)[0]
            # keep the segment in memory so the comparison can run after the file is closed
            from adhesive_dots.core import Baseline

            baselines.append(Baseline.from_array(found.load(), found.fs, channel_names=found.channel_names,
                                                 source=entry.key, modality=recording.modality))  # fmt: skip
    rows, lines = [], []
    for i, j in ((0, 1), (0, 2)):
        result = compare_baselines(baselines[i], baselines[j], n_boot=500, rng=0)
        truth_a, truth_b = ctx.corpus.truth(chosen[i].key), ctx.corpus.truth(chosen[j].key)
        features = result.features.set_index("feature")
        if "aperiodic_exponent" in truth_a and "aperiodic_exponent" in features.index:
            row = features.loc["aperiodic_exponent"]
            lines.append(
                f"{chosen[j].key} - {chosen[i].key}: exponent difference {row['difference']:+.3f} "
                f"[{row['ci_low']:+.3f}, {row['ci_high']:+.3f}] (simulated truth "
                f"{truth_b['aperiodic_exponent'] - truth_a['aperiodic_exponent']:+.3f})"
            )
        rows.append(
            {
                "a": chosen[i].key,
                "b": chosen[j].key,
                "same_subject": chosen[i].subject == chosen[j].subject,
                "arousal_a": truth_a["arousal_level"],
                "arousal_b": truth_b["arousal_level"],
                "energy": result.energy_distance,
                "energy_null95": result.to_dict()["energy_null_q95"],
                "riemann": result.riemann_distance,
                "verdict": result.verdict,
                "flagged": ", ".join(result.flagged) or "-",
            }
        )
    return StageResult(
        "Compare baselines (adots compare; split-half null from each baseline)",
        pd.DataFrame(rows),
        [
            "window states (30 s windows): band powers, aperiodic exponent, mean |r|; "
            "arousal levels are the simulator's truth",
            *lines,
        ],
    )


STAGES.append(("compare", _compare))


def _reports(ctx: DemoContext) -> StageResult:
    """A catalog report of the corpus and a comparison report of two sessions (``adots report``)."""
    import contextlib

    from adhesive_dots.catalog import Catalog
    from adhesive_dots.report import write_report

    assert ctx.corpus is not None
    out = ctx.out_dir / "reports"
    catalog_path = ctx.out_dir / "adhesive.duckdb"
    lines = []
    if not catalog_path.exists():  # the catalog stage normally leaves it; otherwise ingest here
        from adhesive_dots.catalog.ingest import ingest

        summary = ingest([ctx.corpus.root], Catalog(catalog_path), workers=0)
        lines.append(f"ingested the corpus into {catalog_path} ({summary.dots} dots from {summary.sources} sources)")
    catalog_report = write_report(catalog_path, out / "catalog.html", overwrite=True)
    # two sessions of one subject when the corpus has them, else two of one lab, else the first two
    entries = [e for e in ctx.corpus.entries if not e.defects]
    if len(entries) < 2:
        entries = list(ctx.corpus.entries)
    pairs = [(a, b) for i, a in enumerate(entries) for b in entries[i + 1 :]]
    ranked = sorted(pairs, key=lambda p: (p[0].subject != p[1].subject or p[0].lab != p[1].lab, p[0].lab != p[1].lab))
    rows = [{"report": "catalog", "path": str(catalog_report)}]
    if ranked:
        a, b = ranked[0]
        with contextlib.ExitStack() as stack:
            baselines = []
            for entry in (a, b):
                options = (
                    {"subject": entry.subject, "session": entry.session, "task": "rest"}
                    if entry.format == "bids"
                    else {}
                )
                recording = stack.enter_context(open_recording(ctx.corpus.root / entry.path, **options))
                found = find_baselines(recording)
                if found:
                    baselines.append(found[0])
            if len(baselines) == 2:
                path = write_report(baselines, out / "comparison.html", overwrite=True, n_boot=500)
                rows.append({"report": f"comparison {a.key} vs {b.key}", "path": str(path)})
    lines += [f"{row['report']} report: {row['path']}" for row in rows]
    return StageResult("Reports (adots report): open these HTML files in a browser", pd.DataFrame(rows), lines)


STAGES.append(("report", _reports))
