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

import numpy as np
import pandas as pd

from adhesive_dots.core import Baseline
from adhesive_dots.io.sources import SourceSpec, resolve
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
    catalog: Any = None  # the demo's Catalog, once ingested
    workers: int = 2
    results: list[StageResult] = field(default_factory=list)


def _simulate(ctx: DemoContext) -> StageResult:
    ctx.corpus = sim_corpus(ctx.out_dir / "corpus", **ctx.options)
    frame = ctx.corpus.to_frame()
    table = frame.groupby(["lab", "kind", "format"]).agg(
        sessions=("key", "size"),
        subjects=("subject", "nunique"),
        planted_defects=("compliant", lambda c: int((~c).sum())),
    )
    return StageResult(
        "Simulated corpus",
        table.reset_index(),
        [f"{len(frame)} sessions written to {ctx.corpus.root} (manifest: {ctx.corpus.root / 'corpus.json'})"],
    )


def _spec(ctx: DemoContext, entry) -> SourceSpec:
    """The source spec of a corpus session (a BIDS session's rest run)."""
    if entry.format == "bids":
        return SourceSpec(str(ctx.corpus.root / entry.path), subject=entry.subject, session=entry.session, task="rest")
    return SourceSpec(str(ctx.corpus.root / entry.path))


def _read_back(ctx: DemoContext) -> StageResult:
    assert ctx.corpus is not None
    rows = []
    for entry in ctx.corpus.entries:
        with resolve(_spec(ctx, entry)) as resolved:
            recording, baselines = resolved.recording, resolved.candidates
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


def _annotate_and_inspect(ctx: DemoContext) -> StageResult:
    """Write a dot back into a copy of one NWB session and read it again (``adots annotate``/``inspect``)."""
    from adhesive_dots.io.annotate import annotate
    from adhesive_dots.workflows.inspect import inspect_target

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
    summary = inspect_target(str(result.output))
    table = pd.DataFrame(summary["baselines"])[["start_s", "stop_s", "duration_s", "contiguous", "evidence"]]
    return StageResult(
        "Annotate and inspect (NWB dot written back to a copy)",
        table,
        [f"{source.name}: dot {start:g}-{stop:g} s written to {result.output} (source untouched); "
         f"{summary['modality']}, {summary['n_channels']} channels at {summary['fs_hz']:g} Hz"],
    )  # fmt: skip


DEFECT_CHECKS = {"too-short": "baseline.duration", "missing-metadata": "metadata.required",
                 "flat-channel": "signal.flat", "nan-stretch": "signal.nonfinite"}  # fmt: skip
"""The check that must catch each defect the simulator plants."""


def _ingest(ctx: DemoContext) -> StageResult:
    """Validate and fingerprint every session into a DuckDB catalog (on a local Dask cluster)."""
    from adhesive_dots.catalog import Catalog
    from adhesive_dots.workflows.ingest import ingest

    assert ctx.corpus is not None
    ctx.catalog = Catalog(ctx.out_dir / "adhesive.duckdb")
    summary = ingest([ctx.corpus.root], ctx.catalog, workers=ctx.workers)
    dots = ctx.catalog.dots()
    errors = ctx.catalog.query(
        "SELECT dot_id, list(DISTINCT code ORDER BY code) AS codes FROM findings "
        "WHERE severity IN ('error', 'critical') AND dot_id IS NOT NULL GROUP BY dot_id"
    )
    failing = dict(zip(errors["dot_id"], errors["codes"], strict=True))
    planted = {(e.lab, e.subject, e.session): e.defects for e in ctx.corpus.entries}
    rows, lines = [], []
    for row in dots.itertuples():
        key = (row.identity_lab, row.identity_subject_id, row.identity_session_id)
        if key not in planted:  # a re-uploaded copy (curation finds those)
            continue
        codes = list(failing.get(row.dot_id, []))
        defects = planted[key]
        caught = all(DEFECT_CHECKS[d] in codes for d in defects)
        rows.append({"lab": row.identity_lab, "compliant": not codes, "planted": bool(defects), "caught": caught})
        if defects:
            verdict = "caught" if caught else "MISSED"
            lines.append(f"{row.identity_lab} {row.identity_subject_id} ses-{row.identity_session_id}: planted "
                         f"{', '.join(defects)} -> {verdict} ({', '.join(codes)})")  # fmt: skip
        elif codes:
            lines.append(f"{row.identity_lab} {row.identity_subject_id}: unexpected failure ({', '.join(codes)})")
    frame = pd.DataFrame(rows)
    vectors, ids = ctx.catalog.vectors()
    features = pd.DataFrame(vectors, columns=ctx.catalog.vector_names()).assign(dot_id=ids)
    features = features.merge(dots[["dot_id", "identity_lab"]], on="dot_id")
    medians = features.groupby("identity_lab")[
        ["aperiodic_exponent", "peak_frequency", "dfa_slow", "mean_abs_correlation", "arousal_coupling"]
    ].median()
    table = frame.groupby("lab").agg(
        sessions=("compliant", "size"), compliant=("compliant", "sum"), planted_defects=("planted", "sum")
    )
    table = table.join(
        medians.rename(
            columns={
                "aperiodic_exponent": "exponent",
                "peak_frequency": "peak_hz",
                "mean_abs_correlation": "mean_abs_r",
                "arousal_coupling": "arousal_r",
            }
        )
    )
    lines.insert(0, f"{summary.ingested} sources ingested ({summary.dots} dots), {summary.failed} failed, in "
                    f"{summary.seconds:.1f} s on {ctx.workers} Dask workers -> {ctx.catalog.path}")  # fmt: skip
    return StageResult("Ingest: validate + fingerprint into the catalog (adots ingest)", table.reset_index(), lines)


def _search(ctx: DemoContext) -> StageResult:
    """A few questions the archives' own search cannot answer."""
    from adhesive_dots.catalog import search_dots, similar_dots

    assert ctx.catalog is not None
    dark = search_dots(ctx.catalog, paradigm="animal-head-fixed-task-free", arousal=["pupil"], min_duration=600,
                       status="compliant")  # fmt: skip
    human = search_dots(ctx.catalog, species="Homo sapiens", paradigm="human-eyes-closed", min_duration=600)
    lines = [
        f"head-fixed task-free, pupil recorded, >= 10 min, compliant: {len(dark)} dots "
        "(adots search --paradigm animal-head-fixed-task-free --arousal pupil --min-duration 600 --status compliant)",
        f"human eyes-closed rest >= 10 min: {len(human)} dots",
    ]
    table = None
    if len(dark):
        query = dark["dot_id"].iloc[0]
        near = similar_dots(ctx.catalog, query, k=5)
        table = near[["dot_id", "distance", "identity_lab", "identity_subject_id", "identity_session_id"]].rename(
            columns={"identity_lab": "lab", "identity_subject_id": "subject", "identity_session_id": "session"}
        )
        lines.append(f"nearest fingerprints to {query} (adots search --similar-to {query} --k 5) above")
    return StageResult("Search the catalog", table, lines)


def _curate(ctx: DemoContext) -> StageResult:
    """Sketch the dots, find duplicates (re-uploads), score quality, select a balanced set."""
    from adhesive_dots.catalog.curation import compute_catalog_sketches, curate_catalog, find_catalog_duplicates

    assert ctx.catalog is not None
    compute_catalog_sketches(ctx.catalog)
    search = find_catalog_duplicates(ctx.catalog)
    result = curate_catalog(ctx.catalog, min_quality=0.5, drop_duplicates="keep-best")
    source_of = dict(zip(result.dots["dot_id"], result.dots["source"], strict=True))
    rows = [
        {"a": Path(source_of[p.a]).name, "b": Path(source_of[p.b]).name, "kind": p.kind,
         "overlap_s": p.evidence.get("overlap_s"), "correlation": p.evidence.get("correlation")}
        for p in search.pairs
    ]  # fmt: skip
    shown = pd.DataFrame(rows[:6]) if rows else None
    return StageResult(
        f"Curate: duplicates, quality, selection (adots curate){'; first 6 pairs' if len(rows) > 6 else ''}",
        shown,
        [f"{search.n_candidates} candidate pairs from LSH, {len(search.pairs)} duplicates confirmed; "
         f"{len(result.selected)} of {len(result.dots)} dots selected (quality >= 0.5, keep-best)"],
    )  # fmt: skip


ALIGN_CONTROLS = 5
"""Shuffled-baseline refits per evaluation in the alignment stage."""


def _align(ctx: DemoContext) -> StageResult:
    """Align two calcium sessions (different subjects: different neurons) through their baselines.

    Beside the corpus pair, a pair simulated in memory from an identifiable latent system
    (non-normal dynamics, skewed innovations) shows what the same evaluation gives when the
    baselines do pin the latent frame down.
    """
    from adhesive_dots.align import LatentAligner, evaluate_alignment
    from adhesive_dots.sim.sessions import sim_lab_profile, sim_session, sim_subject_profile
    from adhesive_dots.testing.latent import sim_identifiable_latent, split_session
    from adhesive_dots.workflows.align import align_sources

    assert ctx.corpus is not None
    title = "Align two animals through their baselines (decoder trained on a, applied to b)"
    unusable = {"flat-channel", "nan-stretch"}  # a short or under-documented baseline still aligns
    calcium = [e for e in ctx.corpus.entries if e.kind == "calcium" and not unusable & set(e.defects)]
    pair = _distinct_subjects(calcium)
    if pair is None:
        return StageResult(title, None, ["skipped: the corpus has fewer than two usable calcium sessions"])
    a, b = pair
    run = align_sources(
        ctx.corpus.root / a.path,
        ctx.corpus.root / b.path,
        method="latent",
        output=ctx.out_dir / "align" / f"{a.key}__{b.key}.npz",
        overwrite=True,
        n_controls=ALIGN_CONTROLS,
        rng=0,
    )
    quality = run.quality
    lines = [
        f"corpus pair: a = {a.key}, b = {b.key} (different neurons; task trials at unrelated times); "
        f"baseline dynamics mismatch {quality['dynamics_mismatch']:.4f} (shuffled control "
        f"{quality['control_mismatch']:.2f}); transform saved to {run.output}"
    ]
    if run.evaluation is None:
        return StageResult(title, None, [*lines, "no task trials: decoding not evaluated"])
    lines.append(f"corpus pair, {run.evaluation.verdict}")
    if not run.evaluation.success and quality["rotational_modes"]:
        lines.append(
            f"  the corpus latent dynamics have {quality['rotational_modes']} oscillatory mode(s); driven by "
            "Gaussian noise, as in the simulator's default latent system, the phase of an oscillation is not "
            "identifiable from baselines (see adhesive_dots.align.latent)"
        )
    latent = sim_identifiable_latent(rng=100)
    sessions = []
    for lab_index, seed in ((0, 10), (3, 20)):  # rest before / after the task
        rng = np.random.default_rng(seed)
        lab = sim_lab_profile(lab_index, rng=rng)
        subject = sim_subject_profile(lab, lab_index, rng=rng)
        sessions.append(split_session(sim_session(lab, subject, 0, latent=latent, task_duration=240.0, rng=rng)))
    (base_a, task_a, trials_a), (base_b, task_b, trials_b) = sessions
    identifiable = evaluate_alignment(
        LatentAligner(4),
        base_a,
        base_b,
        task_a,
        trials_a,
        task_b,
        trials_b,
        fs=latent.fs,
        n_controls=ALIGN_CONTROLS,
        rng=0,
    )
    lines.append(f"identifiable pair (skewed, non-normal latent dynamics), {identifiable.verdict}")
    table = run.evaluation.to_frame().rename(columns={"accuracy": "corpus pair"})
    table.insert(2, "identifiable pair", identifiable.to_frame()["accuracy"])
    return StageResult(title, table.drop(columns="note"), lines)


def _distinct_subjects(entries: list) -> tuple | None:
    """Two sessions of different subjects (else of one subject), or None."""
    for i, first in enumerate(entries):
        for second in entries[i + 1 :]:
            if second.subject != first.subject:
                return first, second
    return (entries[0], entries[1]) if len(entries) >= 2 else None


def _sufficiency(ctx: DemoContext) -> StageResult:
    """Is the baseline long enough? One session per lab: features reaching their target, by length (issue 12)."""
    from adhesive_dots.errors import AdhesiveError
    from adhesive_dots.sufficiency import compute_sufficiency

    assert ctx.corpus is not None
    rows, skipped, seen = [], [], set()
    for entry in ctx.corpus.entries:
        if entry.lab in seen:
            continue
        with resolve(_spec(ctx, entry)) as resolved:
            baselines = resolved.candidates
            if not baselines:
                continue
            try:
                table = compute_sufficiency(baselines[0], lengths=(15, 30, 60, 120), max_segments=4, rng=0).table()
            except AdhesiveError as err:
                skipped.append(f"{entry.key}: {err}")
                continue
        seen.add(entry.lab)
        decided = table[table["status"] != "undetermined"]
        rows.append(
            {
                "session": entry.key,
                "baseline_s": round(baselines[0].duration, 1),
                "stable": int(decided["within_horizon"].sum()),
                "need_longer": int((~decided["within_horizon"]).sum()),
                "undetermined": int(len(table) - len(decided)),
                "slowest": decided.sort_values("length_needed_s")["feature"].iloc[-1] if len(decided) else "",
            }
        )
    lines = [
        "features stable within the baseline (ICC across channels >= 0.8, or relative RMS error <= 0.1 for summaries)"
    ]
    lines += [f"skipped {item}" for item in skipped]
    return StageResult("Sufficiency (is the baseline long enough?)", pd.DataFrame(rows), lines)


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
        with resolve(_spec(ctx, entry)) as resolved:
            found, recording = resolved.baseline, resolved.recording
            # keep the segment in memory so the comparison can run after the file is closed
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
                "b (vs a)": chosen[j].key.split("_", 1)[1],
                "same subject": chosen[i].subject == chosen[j].subject,
                "arousal b-a": truth_b["arousal_level"] - truth_a["arousal_level"],
                "energy": result.energy_distance,
                "null 95%": result.to_dict()["energy_null_q95"],
                "verdict": result.verdict,
                "flagged": len(result.flagged),
            }
        )
        lines.append(f"  flagged: {', '.join(result.flagged) or 'none'}")
    lines.insert(0, f"a = {chosen[0].key}")
    return StageResult(
        "Compare baselines (adots compare; block-permutation null at the same length)",
        pd.DataFrame(rows),
        [
            "window states (30 s windows): band powers, aperiodic exponent, mean |r|; "
            "arousal levels are the simulator's truth",
            *lines,
        ],
    )


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
        from adhesive_dots.workflows.ingest import ingest

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
                found = stack.enter_context(resolve(_spec(ctx, entry))).candidates
                if found:
                    baselines.append(found[0])
            if len(baselines) == 2:
                path = write_report(baselines, out / "comparison.html", overwrite=True, n_boot=500)
                rows.append({"report": f"comparison {a.key} vs {b.key}", "path": str(path)})
    lines += [f"{row['report']} report: {row['path']}" for row in rows]
    return StageResult("Reports (adots report): open these HTML files in a browser", pd.DataFrame(rows), lines)


def _serve(ctx: DemoContext) -> StageResult:
    """The command that serves the demo's catalog in a browser (``adots serve``); nothing is started here."""
    catalog_path = (ctx.out_dir / "adhesive.duckdb").resolve()
    return StageResult(
        "Browse the catalog (adots serve)",
        lines=[
            f"adots serve --catalog {catalog_path}",
            "then open http://127.0.0.1:8765/ (the catalog, each dot and its neighbours, comparisons, curation; "
            "JSON under /api/)",
        ],
    )


def _fmri(ctx: DemoContext) -> StageResult:
    """A fourth lab: resting-state fMRI (BIDS func/ runs, an fMRIPrep derivative, an atlas), ingested into the
    same catalog with ``--atlas``, and its subjects identified from their FC (``adots identify``)."""
    from adhesive_dots.catalog import Catalog
    from adhesive_dots.sim.bold_dataset import write_bold_dataset
    from adhesive_dots.workflows.compare import identify_sources, session_records
    from adhesive_dots.workflows.ingest import ingest

    lab = write_bold_dataset(ctx.out_dir / "fmri-lab", n_subjects=3, n_sessions=2, n_rois=10, n_volumes=300, tr=2.0,
                             physio=True, task_volumes=120, rng=0)  # fmt: skip
    template = SourceSpec("", atlas=str(lab.atlas), atlas_labels=str(lab.atlas_labels))
    catalog = ctx.catalog if ctx.catalog is not None else Catalog(ctx.out_dir / "adhesive.duckdb")
    summary = ingest([lab.bids], catalog, template=template, workers=0)
    records, notes = session_records([lab.bids], template=template, effects=False)
    result = identify_sources(records)
    rows = []
    for record in records:
        rows.append(
            {
                "subject": record.subject,
                "session": record.session,
                "exponent": record.summary.get("aperiodic_exponent"),
                "dfa": record.summary.get("dfa_broadband"),
                "mean_abs_r": record.summary.get("mean_abs_correlation"),
                "arousal_r": record.summary.get("arousal_coupling"),  # heart and respiration rates
            }
        )
    return StageResult(
        "A fourth lab: resting-state fMRI (BIDS func/ runs with --atlas; adots identify)",
        pd.DataFrame(rows),
        [
            f"{len(lab.runs)} rest runs (10 ROIs, TR {lab.tr:g} s, {lab.n_volumes} volumes, cardiac and respiratory "
            f"traces) and as many task runs written to {lab.bids}; fMRIPrep derivatives with confounds in "
            f"{lab.fmriprep}",
            f"{summary.ingested} fMRI sources ingested into {catalog.path} ({summary.failed} failed)",
            f"connectome identification (FC edges, Finn et al. 2015): accuracy {result.accuracy:.2f} "
            f"(chance {result.chance:.2f}, p = {result.p:.3g}) on {len(result.features)} edges",
            *notes,
        ],
    )


STAGES: list[tuple[str, Callable[[DemoContext], StageResult]]] = [
    ("simulate", _simulate),
    ("read", _read_back),
    ("annotate", _annotate_and_inspect),
    ("ingest", _ingest),
    ("search", _search),
    ("curate", _curate),
    ("align", _align),
    ("compare", _compare),
    ("sufficiency", _sufficiency),
    ("fmri", _fmri),
    ("report", _reports),
    ("serve", _serve),
]
"""The demo's stages in order; later capabilities append theirs here."""


def run_demo(
    out_dir: str | Path = "adots-demo",
    *,
    workers: int = 2,
    on_stage: Callable[[StageResult], None] | None = None,
    **options: Any,
) -> DemoContext:
    """Run every stage of the demo into ``out_dir``; ``options`` go to :func:`sim_corpus`.

    By default one session is also re-uploaded in six altered copies (``reuploads=1``) so
    that curation has duplicates to find; ``workers`` are the Dask workers of the ingest.
    """
    ctx = DemoContext(out_dir=Path(out_dir), options={"rng": 0, "reuploads": 1, **options}, workers=workers)
    for _name, stage in STAGES:
        result = stage(ctx)
        ctx.results.append(result)
        if on_stage is not None:
            on_stage(result)
    return ctx
