"""The checks of a compliant adhesive dot (each registered with :func:`register_check`).

Run ``adots validate --list-checks`` for the table of ids, severities, thresholds and
rationales; :func:`adhesive_dots.validate.checks_table` returns it as rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np

from adhesive_dots.core import Finding
from adhesive_dots.metadata import ArousalMeasure, DotMetadata, Modality, Paradigm
from adhesive_dots.validate._context import CheckContext, segment_samples
from adhesive_dots.validate._registry import CHECKS, register_check
from adhesive_dots.validate.timestamps import compute_timestamp_report

SPONTANEOUS_HINT = (
    "say where the baseline is: --label WORD (the interval label your files use, e.g. T0), --start S --stop S, "
    "or --whole; or record it once with adots annotate (NWB adhesive_baseline table, BIDS sidecar key or a "
    "NAME.dot.json beside the file), or name the BIDS run task-rest"
)

#: Required DotMetadata fields: ``(path, what it records)``; ``a|b`` means either will do.
REQUIRED_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "all": (
        ("subject.species", "the species as a Latin binomial, e.g. 'Homo sapiens' or 'Mus musculus'"),
        ("paradigm.name", "the paradigm, e.g. 'human-eyes-closed' or 'animal-head-fixed-task-free'"),
    ),
    "human": (
        ("paradigm.eyes_closed", "whether the eyes were closed (true) or open (false)"),
        ("paradigm.fixation", "whether a fixation target was shown"),
        ("paradigm.instructions", "the verbatim instructions given to the participant"),
    ),
    "animal": (
        ("paradigm.head_fixed", "head-fixed (true) or freely moving (false)"),
        ("environment.illumination|environment.illuminance_lux", "the illumination (dark/dim/ambient/bright or lux)"),
        ("arousal.measures", "at least one arousal measure recorded during the baseline (pupil, locomotion, ...)"),
    ),
    Paradigm.ANAESTHETISED.value: (("context.anaesthesia", "the anaesthetic, dose and depth"),),
}

#: Required fields a paradigm already answers (not asked for again): eyes-open fixation says the eyes are
#: open and a target shown; eyes-closed says the eyes are closed (a fixation target is then moot); the animal
#: task-free paradigms say whether the head is fixed.
IMPLIED_BY_PARADIGM: dict[str, frozenset[str]] = {
    Paradigm.HUMAN_EYES_OPEN_FIXATION.value: frozenset({"paradigm.eyes_closed", "paradigm.fixation"}),
    Paradigm.HUMAN_EYES_CLOSED.value: frozenset({"paradigm.eyes_closed", "paradigm.fixation"}),
    Paradigm.ANIMAL_HEAD_FIXED_TASK_FREE.value: frozenset({"paradigm.head_fixed"}),
    Paradigm.ANIMAL_FREELY_MOVING_TASK_FREE.value: frozenset({"paradigm.head_fixed"}),
}

#: Recommended fields (reported together as one info finding).
RECOMMENDED_FIELDS: dict[str, tuple[str, ...]] = {
    "all": (
        "identity.lab",
        "subject.subject_id",
        "subject.sex",
        "subject.age",
        "segment.position",
        "context.preceding",
        "environment.local_time|environment.zeitgeber_time_h",
        "recording.apparatus.rig|recording.apparatus.amplifier|recording.apparatus.probe|recording.apparatus.microscope",
    ),
    "human": ("subject.handedness", "environment.sound_level_db_spl", "paradigm.screen"),
    "animal": ("subject.strain|subject.genotype", "recording.brain_areas", "context.habituation", "paradigm.screen"),
}

#: Name fragments of the auxiliary signals that carry each arousal measure.
AROUSAL_SIGNALS: dict[ArousalMeasure, tuple[str, ...]] = {
    ArousalMeasure.PUPIL: ("pupil",),
    ArousalMeasure.LOCOMOTION: ("running", "locomotion", "wheel", "treadmill", "speed", "velocity"),
    ArousalMeasure.WHISKING: ("whisk",),
    ArousalMeasure.HEART_RATE: ("heart", "ecg", "ekg", "pulse"),
    ArousalMeasure.EMG: ("emg",),
    ArousalMeasure.EYE_TRACKING: ("eye", "gaze"),
}
#: Measures derived from the neural signal itself (covered whenever the recording is).
DERIVED_AROUSAL = {ArousalMeasure.EEG_VIGILANCE: (Modality.EEG, Modality.MEG, Modality.IEEG)}

RATE_MODALITIES = (Modality.SPIKES, Modality.CALCIUM)
#: Modalities whose sparse, non-negative samples make flat windows, rails and heavy tails normal.
SPARSE_MODALITIES = (Modality.SPIKES,)
#: Modalities whose genuine events (calcium transients) lie many robust SDs above the median.
HEAVY_TAILED_MODALITIES = (Modality.SPIKES, Modality.CALCIUM)
#: Interval labels that mark missing data (MNE's acquisition skips, EDF+D discontinuities).
GAP_LABEL = re.compile(r"bad_acq_skip|acq_skip|discontinuit|dropped|data gap|^gap$", re.IGNORECASE)
LINE_FREQUENCIES = (50.0, 60.0)


# -- baseline ------------------------------------------------------------------------------------


@register_check(
    "baseline.exists",
    severity="critical",
    summary="The recording has a spontaneous segment (an interval marked spontaneous/rest, or a task-rest run).",
    rationale="Without a marked spontaneous segment there is no adhesive dot to validate, describe or compare.",
    fix=SPONTANEOUS_HINT,
)
def check_baseline_exists(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is not None:
        return
    check = CHECKS["baseline.exists"]
    intervals = ctx.recording.intervals
    if len(intervals):
        parts = []
        for table, rows in intervals.groupby("table", sort=False):
            labels = sorted({str(label) for label in rows["label"]})
            shown = ", ".join(repr(label) for label in labels[:4]) + (" ..." if len(labels) > 4 else "")
            parts.append(f"{table} ({len(rows)} row{'s' if len(rows) != 1 else ''}: {shown})")
        tables = "; ".join(parts)
        value = {str(table): int(n) for table, n in intervals["table"].value_counts(sort=False).items()}
    else:
        tables, value = "none", {}
    yield check.finding(
        ctx,
        f"{ctx.source}: no baseline: no interval marks spontaneous activity; interval tables present: {tables}",
        location="intervals",
        value=value,
    )


@register_check(
    "baseline.duration",
    severity="error",
    summary="The baseline holds at least min_duration seconds of data (gaps excluded).",
    rationale="Ten minutes capture the scale-free fluctuations of spontaneous activity (seconds to minutes); "
    "shorter baselines bias long-range statistics and are not comparable across labs.",
    fix="record at least 10 min of spontaneous activity, or set --min-duration to relax the limit",
    thresholds=("min_duration",),
)
def check_baseline_duration(ctx: CheckContext) -> Iterator[Finding]:
    minimum = ctx.thresholds.min_duration
    if ctx.baseline is None:
        # nothing is marked; if even the whole recording is too short, no baseline could be compliant
        whole = ctx.recording.duration
        if whole < minimum - 0.5 / ctx.recording.fs:
            yield CHECKS["baseline.duration"].finding(
                ctx,
                f"{ctx.source}: the whole recording is {whole:.1f} s long, so no baseline in it can reach "
                f"the required {minimum:.1f} s",
                location=f"recording 0.000-{whole:.3f} s",
                value=round(whole, 6),
            )
        return
    duration = ctx.segment.duration
    if duration < minimum - 0.5 / ctx.recording.fs:
        yield CHECKS["baseline.duration"].finding(
            ctx,
            f"{ctx.source}: {ctx.where()} is {duration:.1f} s long; at least {minimum:.1f} s is required",
            location=f"segment {ctx.segment.start:.3f}-{ctx.segment.stop:.3f} s",
            value=round(duration, 6),
        )


@register_check(
    "baseline.contiguity",
    severity="warning",
    summary="The baseline is one contiguous stretch; a concatenated one is reported with its gaps.",
    rationale="Concatenated pieces break temporal statistics at the seams (DFA, autocorrelation, drift); "
    "a concatenated 10 minutes is usable but must not pass silently.",
    fix="prefer a contiguous spontaneous recording; keep the gaps listed in the metadata (segment.gaps)",
)
def check_baseline_contiguity(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is None or ctx.segment.contiguous:
        return
    gaps = ctx.segment.gaps
    total = sum(b - a for a, b in gaps)
    listed = ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in gaps[:5]) + (" ..." if len(gaps) > 5 else "")
    yield CHECKS["baseline.contiguity"].finding(
        ctx,
        f"{ctx.source}: {ctx.where()} is concatenated from {len(ctx.segment.pieces)} pieces with "
        f"{len(gaps)} gap(s) totalling {total:.1f} s: {listed}",
        location="segment gaps " + listed,
        value=[[a, b] for a, b in gaps],
    )


@register_check(
    "baseline.coverage",
    severity="error",
    summary="Every second of the baseline lies within the recorded samples.",
    rationale="A segment that runs past the data promises minutes that are not there.",
    fix="correct the baseline interval (start/stop) or re-export the missing data",
)
def check_baseline_coverage(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is None:
        return
    recording = ctx.recording
    available, expected = segment_samples(recording, ctx.segment.pieces)
    missing = (expected - available) / recording.fs
    if missing > 1.0 / recording.fs:
        span = f"{recording.t0:.1f}-{recording.t0 + recording.duration:.1f} s"
        yield CHECKS["baseline.coverage"].finding(
            ctx,
            f"{ctx.source}: {ctx.where()} extends beyond the recorded samples ({span}); "
            f"{missing:.1f} s of the baseline have no data",
            location=f"segment {ctx.segment.start:.3f}-{ctx.segment.stop:.3f} s",
            value=round(missing, 6),
        )


# -- metadata ------------------------------------------------------------------------------------


def subject_kind(metadata: DotMetadata) -> str | None:
    """``"human"``, ``"animal"`` or ``None`` (unknown) from the species, else the paradigm."""
    species = metadata.subject.species
    if species is not None or metadata.subject.ncbi_taxon_id is not None:
        return "human" if species == "Homo sapiens" or metadata.subject.ncbi_taxon_id == 9606 else "animal"
    name = metadata.paradigm.name
    if name is not None and name.value.startswith(("human-", "animal-")):
        return name.value.split("-")[0]
    return None


def field_present(metadata: DotMetadata, path: str) -> bool:
    """Whether the dotted ``path`` (``a|b`` for alternatives) holds a non-empty value."""
    for alternative in path.split("|"):
        value: object = metadata
        for part in alternative.split("."):
            value = getattr(value, part, None)
        if value is not None and value != "" and value != [] and value != {}:
            return True
    return False


def required_fields(metadata: DotMetadata) -> list[tuple[str, str]]:
    """The ``(path, description)`` pairs required for this metadata's species and paradigm.

    ``REQUIRED_FIELDS["all"]``, then those of the species kind (human or animal), then those of the
    paradigm, less the fields the paradigm already answers (:data:`IMPLIED_BY_PARADIGM`).
    """
    required = list(REQUIRED_FIELDS["all"])
    kind = subject_kind(metadata)
    if kind is not None:
        required += REQUIRED_FIELDS[kind]
    implied: frozenset[str] = frozenset()
    if metadata.paradigm.name is not None:
        required += REQUIRED_FIELDS.get(metadata.paradigm.name.value, ())
        implied = IMPLIED_BY_PARADIGM.get(metadata.paradigm.name.value, frozenset())
    return [(path, what) for path, what in required if path not in implied]


def missing_required(metadata: DotMetadata) -> list[str]:
    """The required fields (:func:`required_fields`) this metadata lacks, as dotted paths."""
    return [path for path, _ in required_fields(metadata) if not field_present(metadata, path)]


def recommended_fields(metadata: DotMetadata) -> list[str]:
    """The recommended dotted paths (``a|b``: either) for this metadata's species."""
    paths = list(RECOMMENDED_FIELDS["all"])
    kind = subject_kind(metadata)
    if kind is not None:
        paths += RECOMMENDED_FIELDS[kind]
    return paths


def metadata_completeness(metadata: DotMetadata) -> tuple[float, float]:
    """Fractions in [0, 1] of the required (:func:`required_fields`) and recommended
    (:func:`recommended_fields`) fields present (1 when none is asked for)."""
    required = [path for path, _ in required_fields(metadata)]
    recommended = recommended_fields(metadata)

    def share(paths: list[str]) -> float:
        return sum(field_present(metadata, p) for p in paths) / len(paths) if paths else 1.0

    return share(required), share(recommended)


@register_check(
    "metadata.required",
    severity="error",
    summary="Metadata required for the species and paradigm are present (see REQUIRED_FIELDS).",
    rationale="Eyes open/closed, fixation, head fixation, illumination and arousal change spontaneous activity "
    "as much as labs do; without them baselines cannot be matched or normalised.",
    fix="add the field to the DotMetadata (adots annotate, the NWB adhesive_baseline table or the BIDS sidecar "
    "key AdhesiveDot)",
)
def check_metadata_required(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is None:
        return
    metadata = ctx.metadata
    kind = subject_kind(metadata) or "unknown species"
    paradigm = metadata.paradigm.name.value if metadata.paradigm.name else "unknown paradigm"
    for path, description in required_fields(metadata):
        if field_present(metadata, path):
            continue
        fix = ""
        if path == "arousal.measures" and ctx.recording.signals:
            signals = ", ".join(sorted(ctx.recording.signals))
            fix = f"declare the arousal measures of the signals this file has ({signals}) in arousal.measures"
        yield CHECKS["metadata.required"].finding(
            ctx,
            f"{ctx.source}: required metadata {path.replace('|', ' or ')} is missing ({kind}, {paradigm}): "
            f"{description}",
            location=f"DotMetadata.{path.split('|')[0]}",
            value=None,
            fix=fix,
        )


@register_check(
    "metadata.recommended",
    severity="info",
    summary="Recommended metadata (sex, age, lab, time of day, what preceded, apparatus, ...) are present.",
    rationale="These explain between-session differences of baselines (circadian time, habituation, rig).",
    fix="add the listed fields to the DotMetadata when known",
)
def check_metadata_recommended(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is None:
        return
    metadata = ctx.metadata
    missing = [p for p in recommended_fields(metadata) if not field_present(metadata, p)]
    if missing:
        names = [p.replace("|", " or ") for p in missing]
        yield CHECKS["metadata.recommended"].finding(
            ctx,
            f"{ctx.source}: {len(missing)} recommended metadata field(s) missing: {'; '.join(names)}",
            location="DotMetadata",
            value=names,
        )


@register_check(
    "metadata.consistency",
    severity="warning",
    summary="The metadata agree with the data (sampling rate within 1 %, channel count, modality).",
    rationale="Metadata that contradict the file are copied from another session or stale.",
    fix="correct recording.sampling_frequency / n_channels / modality in the DotMetadata",
)
def check_metadata_consistency(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is None:
        return
    info, recording = ctx.metadata.recording, ctx.recording
    check = CHECKS["metadata.consistency"]
    if info.sampling_frequency is not None and abs(info.sampling_frequency - recording.fs) > 0.01 * recording.fs:
        yield check.finding(
            ctx,
            f"{ctx.source}: metadata say {info.sampling_frequency:g} Hz "
            f"but the data are sampled at {recording.fs:g} Hz",
            location="DotMetadata.recording.sampling_frequency",
            value={"metadata": info.sampling_frequency, "data": recording.fs},
        )
    if info.n_channels is not None and info.n_channels != recording.n_channels:
        yield check.finding(
            ctx,
            f"{ctx.source}: metadata say {info.n_channels} channels but the data have {recording.n_channels}",
            location="DotMetadata.recording.n_channels",
            value={"metadata": info.n_channels, "data": recording.n_channels},
        )
    known = (info.modality, recording.modality)
    if Modality.OTHER not in known and None not in known and info.modality is not recording.modality:
        yield check.finding(
            ctx,
            f"{ctx.source}: metadata say modality {info.modality.value} but the data are {recording.modality.value}",
            location="DotMetadata.recording.modality",
            value={"metadata": info.modality.value, "data": recording.modality.value},
        )


# -- sampling and timestamps ---------------------------------------------------------------------


@register_check(
    "recording.sampling_rate",
    severity="error",
    summary="The sampling rate is adequate for the modality (min_fs: EEG/MEG/iEEG/LFP 100 Hz, calcium 3 Hz, ...).",
    rationale="The fingerprint needs the spectrum up to 45 Hz for field potentials and the slow dynamics of "
    "calcium; below these rates spectra and correlations are aliased.",
    fix="use the raw (not decimated) data, or record at a higher rate",
    thresholds=("min_fs",),
)
def check_sampling_rate(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is None:
        return
    minimum = ctx.thresholds.min_fs.get(ctx.modality)
    if minimum is not None and ctx.recording.fs < minimum:
        yield CHECKS["recording.sampling_rate"].finding(
            ctx,
            f"{ctx.source}: sampled at {ctx.recording.fs:g} Hz; {ctx.modality.value} needs at least {minimum:g} Hz",
            location="sampling rate",
            value=ctx.recording.fs,
        )


def _segment_timestamps(ctx: CheckContext) -> np.ndarray | None:
    if ctx.timestamps is None or ctx.baseline is None:
        return None
    times = np.asarray(ctx.timestamps, dtype=np.float64)
    start, stop = ctx.segment.start, ctx.segment.stop
    inside = (times >= start) & (times < stop)
    if not inside.any():
        return times[:0]
    first, last = np.flatnonzero(inside)[[0, -1]]
    return times[first : last + 1]


@register_check(
    "timestamps.monotonic",
    severity="error",
    summary="Sample timestamps inside the baseline strictly increase.",
    rationale="Repeated or backward timestamps mean merged or corrupted acquisition buffers.",
    fix="re-export the data from the acquisition system; check clock synchronisation",
)
def check_timestamps_monotonic(ctx: CheckContext) -> Iterator[Finding]:
    times = _segment_timestamps(ctx)
    if times is None or times.size < 2:
        return
    report = compute_timestamp_report(times, ctx.recording.fs, gap_factor=ctx.thresholds.gap_factor)
    if report.n_nonincreasing:
        yield CHECKS["timestamps.monotonic"].finding(
            ctx,
            f"{ctx.source}: {report.n_nonincreasing} timestamp(s) inside the {ctx.where()} do not increase, "
            f"the first at {report.first_nonincreasing:.3f} s",
            location=f"timestamps at {report.first_nonincreasing:.3f} s",
            value=report.n_nonincreasing,
        )


@register_check(
    "timestamps.gaps",
    severity="error",
    summary="No gaps or dropped samples inside the baseline (timestamp steps > 1.5 sample periods, or "
    "acquisition-skip annotations).",
    rationale="Dropped samples shorten the baseline silently and create spurious transients.",
    fix="exclude the gap from the baseline (concatenate its pieces with their gaps listed) or re-export the data",
    thresholds=("gap_factor",),
)
def check_timestamps_gaps(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is None:
        return
    check = CHECKS["timestamps.gaps"]
    times = _segment_timestamps(ctx)
    if times is not None and times.size >= 2:
        report = compute_timestamp_report(times, ctx.recording.fs, gap_factor=ctx.thresholds.gap_factor)
        if report.n_gaps:
            yield check.finding(
                ctx,
                f"{ctx.source}: {report.n_gaps} gap(s) in the timestamps inside the {ctx.where()}, "
                f"{report.n_dropped} sample(s) ({report.n_dropped / ctx.recording.fs:.3f} s) missing; "
                f"the first at {report.first_gap:.3f} s",
                location=f"timestamps at {report.first_gap:.3f} s",
                value={"n_gaps": report.n_gaps, "n_dropped": report.n_dropped},
            )
    intervals = ctx.recording.intervals
    if len(intervals):
        marked = intervals[[bool(GAP_LABEL.search(str(label))) for label in intervals["label"]]]
        for row in marked.itertuples():
            overlap = sum(max(0.0, min(b, row.stop) - max(a, row.start)) for a, b in ctx.segment.pieces)
            if overlap > 0 or any(a <= row.start < b for a, b in ctx.segment.pieces):
                yield check.finding(
                    ctx,
                    f"{ctx.source}: {row.table} marks a data gap {row.label!r} at {row.start:.3f}-{row.stop:.3f} s "
                    f"inside the {ctx.where()}",
                    location=f"{row.table} {row.start:.3f}-{row.stop:.3f} s",
                    value=[float(row.start), float(row.stop)],
                )


# -- signal quality ------------------------------------------------------------------------------


def _sparse(ctx: CheckContext) -> bool:
    return ctx.modality in SPARSE_MODALITIES


def flat_channels(ctx: CheckContext) -> tuple[np.ndarray, np.ndarray]:
    """(mask, fraction of flat windows) per channel; sparse modalities: flat over the whole segment."""
    quality = ctx.quality
    if _sparse(ctx):
        constant = ~(quality.maximum > quality.minimum)
        fraction = constant.astype(float)
        return constant & (quality.n_nonfinite < quality.n_samples), fraction
    fraction = quality.flat_window_fraction(rtol=ctx.thresholds.flat_rtol)
    return fraction > ctx.thresholds.flat_window_fraction, fraction


def nonfinite_channels(ctx: CheckContext) -> tuple[np.ndarray, np.ndarray]:
    fraction = ctx.quality.nonfinite_fraction()
    return fraction > ctx.thresholds.max_nonfinite_fraction, fraction


def clipped_channels(ctx: CheckContext) -> tuple[np.ndarray, np.ndarray]:
    fraction = ctx.quality.rail_fraction()
    if _sparse(ctx):
        return np.zeros(fraction.shape, dtype=bool), fraction
    return fraction > ctx.thresholds.clip_fraction, fraction


def outlier_channels(ctx: CheckContext) -> tuple[np.ndarray, np.ndarray]:
    fraction = ctx.quality.outlier_fraction()
    if ctx.modality in HEAVY_TAILED_MODALITIES:
        return np.zeros(fraction.shape, dtype=bool), fraction
    return fraction > ctx.thresholds.outlier_fraction, fraction


def artefact_channels(ctx: CheckContext) -> tuple[np.ndarray, np.ndarray]:
    fraction = ctx.quality.artefact_window_fraction(factor=ctx.thresholds.artefact_factor)
    if _sparse(ctx):
        return np.zeros(fraction.shape, dtype=bool), fraction
    return fraction > ctx.thresholds.artefact_fraction, fraction


def bad_time_fraction(ctx: CheckContext) -> np.ndarray:
    """Fraction of each channel's time that is bad, shape (n_channels,) (see ``Thresholds.max_bad_time_fraction``).

    The largest of: the fraction of windows that are flat (not for spikes, where a whole constant
    channel counts instead), artefact-like (not for spikes) or without finite samples; the fraction
    of NaN/Inf samples; of samples on the rails (not for spikes); of outlier samples (not for spikes
    or calcium).
    """
    quality, limits = ctx.quality, ctx.thresholds
    n_windows = quality.n_windows
    parts = [quality.nonfinite_fraction()]
    if n_windows:
        windows = ~np.isfinite(quality.window_std)
        if not _sparse(ctx):
            windows |= quality.flat_windows(rtol=limits.flat_rtol)
            windows |= quality.artefact_windows(factor=limits.artefact_factor)
        parts.append(windows.mean(axis=1))
    if _sparse(ctx):
        parts.append(flat_channels(ctx)[0].astype(float))
    else:
        parts.append(quality.rail_fraction())
    if ctx.modality not in HEAVY_TAILED_MODALITIES:
        parts.append(quality.outlier_fraction())
    return np.max(np.vstack(parts), axis=0)


def usable_channels(ctx: CheckContext) -> np.ndarray:
    """Channels whose bad time (:func:`bad_time_fraction`) is at most ``max_bad_time_fraction``."""
    return bad_time_fraction(ctx) <= ctx.thresholds.max_bad_time_fraction


def _signal_finding(ctx: CheckContext, check_id: str, mask: np.ndarray, values: np.ndarray, what: str,
                    *, unit: str = "", digits: int = 3) -> Iterator[Finding]:  # fmt: skip
    if not mask.any():
        return
    location, value = ctx.channels(mask, values, unit=unit, digits=digits)
    yield CHECKS[check_id].finding(
        ctx, f"{ctx.source}: {what} in the {ctx.where()}: {location}", location=location, value=value
    )


@register_check(
    "signal.flat",
    severity="error",
    summary="No channel is flat (constant in more than flat_window_fraction of its windows).",
    rationale="A flat channel is a dead electrode, a lost ROI or a zero-filled export; it biases every "
    "cross-channel statistic.",
    fix="mark the channel bad (BIDS channels.tsv status, NWB electrodes) or drop it before export",
    thresholds=("window", "flat_window_fraction", "flat_rtol"),
    needs_signal=True,
)
def check_signal_flat(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is None:
        return
    mask, fraction = flat_channels(ctx)
    yield from _signal_finding(ctx, "signal.flat", mask, fraction, "flat channel(s) (fraction of constant windows)")


@register_check(
    "signal.nonfinite",
    severity="error",
    summary="No NaN or Inf samples (more than max_nonfinite_fraction) in any channel.",
    rationale="NaN/Inf stretches are dropped samples or failed preprocessing; they poison spectra and correlations.",
    fix="interpolate or exclude the stretch (concatenate the clean pieces) and record it in segment.gaps",
    thresholds=("max_nonfinite_fraction",),
    needs_signal=True,
)
def check_signal_nonfinite(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is None:
        return
    mask, fraction = nonfinite_channels(ctx)
    if not mask.any():
        return
    quality = ctx.quality
    first = float(np.nanmin(quality.first_nonfinite[mask]))
    seconds = float(quality.n_nonfinite[mask].max() / quality.fs)
    location, value = ctx.channels(mask, fraction, digits=3)
    value |= {"first_s": first, "max_seconds": seconds}
    yield CHECKS["signal.nonfinite"].finding(
        ctx,
        f"{ctx.source}: NaN/Inf samples in the {ctx.where()}, up to {seconds:.2f} s per channel, the first "
        f"{first:.2f} s into the baseline (fraction per channel): {location}",
        location=location,
        value=value,
    )


@register_check(
    "signal.clipping",
    severity="warning",
    summary="No channel sits on its minimum or maximum value in more than clip_fraction of samples.",
    rationale="Samples piled on the rails mean amplifier or ADC saturation: amplitudes and spectra are "
    "truncated. Not applied to spike counts.",
    fix="mark the saturated stretches or channels bad; lower the gain in future recordings",
    thresholds=("clip_fraction",),
    needs_signal=True,
)
def check_signal_clipping(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is None:
        return
    mask, fraction = clipped_channels(ctx)
    yield from _signal_finding(ctx, "signal.clipping", mask, fraction, "clipped channel(s) (fraction on the rails)")


@register_check(
    "signal.outliers",
    severity="warning",
    summary="No channel has more than outlier_fraction of samples beyond outlier_z robust SDs (median/MAD).",
    rationale="Extreme amplitudes are movement, electrode pops or stimulation artefacts; they dominate "
    "variance-based statistics. Not applied to spikes or calcium, whose transients are heavy-tailed by nature.",
    fix="mark the artefacts (BAD_ annotations / NWB invalid_times) or exclude the channels",
    thresholds=("outlier_z", "outlier_fraction"),
    needs_signal=True,
)
def check_signal_outliers(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is None:
        return
    mask, fraction = outlier_channels(ctx)
    z = ctx.thresholds.outlier_z
    yield from _signal_finding(
        ctx, "signal.outliers", mask, fraction, f"extreme amplitude outliers (fraction beyond {z:g} robust SD)"
    )


@register_check(
    "signal.line_noise",
    severity="warning",
    summary="Power within ±1 Hz of 50 or 60 Hz is at most line_noise_ratio times the 2-5 Hz flanks.",
    rationale="Mains interference distorts spectra and correlations; it shows poor grounding or shielding.",
    fix="check grounding and shielding; a notch filter hides it in the data but not its cause",
    thresholds=("line_noise_ratio",),
    needs_signal=True,
)
def check_signal_line_noise(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is None:
        return
    for line in LINE_FREQUENCIES:
        ratio = ctx.quality.line_noise_ratio(line)
        with np.errstate(invalid="ignore"):
            mask = ratio > ctx.thresholds.line_noise_ratio
        yield from _signal_finding(
            ctx, "signal.line_noise", mask, ratio, f"{line:g} Hz line noise (power ratio to the flanks)", unit="x"
        )


@register_check(
    "signal.artefacts",
    severity="warning",
    summary="No channel has more than artefact_fraction of windows with an SD above artefact_factor x its "
    "median window SD.",
    rationale="Bursts of high-amplitude windows are movement or muscle artefacts; they masquerade as arousal. "
    "Not applied to spike counts.",
    fix="mark the artefact windows bad or choose a quieter stretch as the baseline",
    thresholds=("window", "artefact_factor", "artefact_fraction"),
    needs_signal=True,
)
def check_signal_artefacts(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is None:
        return
    mask, fraction = artefact_channels(ctx)
    yield from _signal_finding(ctx, "signal.artefacts", mask, fraction, "artefact-like windows (fraction)")


@register_check(
    "signal.usable_fraction",
    severity="error",
    summary="At least min_usable_fraction of channels are usable (bad for at most max_bad_time_fraction of the "
    "time: flat, artefact-like or NaN windows, samples on the rails, outlier samples).",
    rationale="A baseline whose channels are mostly bad cannot stand for the session; brief artefacts (blinks, "
    "a pop) leave a channel usable, so only a lasting fault counts.",
    fix="repair or exclude the bad channels; if most are bad, record the baseline again",
    thresholds=("max_bad_time_fraction", "min_usable_fraction"),
    needs_signal=True,
)
def check_signal_usable_fraction(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is None or ctx.recording.n_channels == 0:
        return
    bad_time = bad_time_fraction(ctx)
    usable = bad_time <= ctx.thresholds.max_bad_time_fraction
    fraction = float(usable.mean())
    if fraction < ctx.thresholds.min_usable_fraction:
        location, _ = ctx.channels(~usable, bad_time, digits=3)
        yield CHECKS["signal.usable_fraction"].finding(
            ctx,
            f"{ctx.source}: only {int(usable.sum())} of {usable.size} channels ({fraction:.0%}) are usable in the "
            f"{ctx.where()}; at least {ctx.thresholds.min_usable_fraction:.0%} are required; unusable (fraction of "
            f"bad time above {ctx.thresholds.max_bad_time_fraction:g}): {location}",
            location=location,
            value=round(fraction, 6),
        )


@register_check(
    "signal.drift",
    severity="warning",
    summary="Power (and, for spikes/calcium, mean rate) in the last third is within a factor drift_ratio of the "
    "first third.",
    rationale="A baseline should be stationary at the scale of minutes; a steady drift means changing arousal, "
    "anaesthesia, bleaching or electrode settling.",
    fix="check arousal and preparation stability; choose a stationary stretch or report the drift",
    thresholds=("drift_ratio",),
    needs_signal=True,
)
def check_signal_drift(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is None:
        return
    limit = ctx.thresholds.drift_ratio
    measures = [("power", ctx.quality.power_drift_ratio())]
    if ctx.modality in RATE_MODALITIES:
        measures.append(("mean rate", ctx.quality.mean_drift_ratio()))
    for name, ratio in measures:
        if np.isfinite(ratio) and (ratio > limit or ratio < 1.0 / limit):
            yield CHECKS["signal.drift"].finding(
                ctx,
                f"{ctx.source}: {name} drifts across the {ctx.where()}: last third / first third = {ratio:.2f} "
                f"(limits {1 / limit:.2f}-{limit:.2f})",
                location=f"{name}, last third vs first third",
                value=round(ratio, 6),
            )


# -- arousal -------------------------------------------------------------------------------------


def find_arousal_signal(ctx: CheckContext, measure: ArousalMeasure) -> str | None:
    """Name of the auxiliary signal carrying ``measure`` (metadata location first, then by name)."""
    signals = ctx.recording.signals
    location = ctx.metadata.arousal.locations.get(measure.value)
    if location:
        tail = location.rstrip("/").split("/")[-1]
        if tail in signals:
            return tail
    fragments = AROUSAL_SIGNALS.get(measure, ())
    for name in signals:
        if any(fragment in name.lower() for fragment in fragments):
            return name
    return None


@register_check(
    "arousal.coverage",
    severity="error",
    summary="Every declared arousal measure (pupil, locomotion, ...) has finite samples over at least "
    "min_arousal_coverage of the baseline.",
    rationale="Arousal explains much of the variance between baselines; a measure that stops midway cannot "
    "be used to match or regress it.",
    fix="add the arousal series to the file (NWB processing/behavior) over the whole baseline, or correct "
    "arousal.measures",
    thresholds=("min_arousal_coverage",),
)
def check_arousal_coverage(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is None:
        return
    check = CHECKS["arousal.coverage"]
    minimum = ctx.thresholds.min_arousal_coverage
    for measure in ctx.metadata.arousal.measures:
        if ctx.modality in DERIVED_AROUSAL.get(measure, ()):
            continue
        if measure not in AROUSAL_SIGNALS:
            continue
        name = find_arousal_signal(ctx, measure)
        if name is None:
            available = ", ".join(sorted(ctx.recording.signals)) or "none"
            yield check.finding(
                ctx,
                f"{ctx.source}: arousal measure {measure.value!r} is declared but no {measure.value} signal is in "
                f"the recording (signals: {available})",
                location=f"arousal.{measure.value}",
                value=0.0,
            )
            continue
        signal = ctx.recording.signals[name]
        samples = ctx.baseline.load_signal(name)
        expected = ctx.segment.duration * signal.fs
        coverage = float(np.isfinite(samples).all(axis=0).sum() / expected) if expected > 0 else 0.0
        if coverage < minimum:
            yield check.finding(
                ctx,
                f"{ctx.source}: arousal signal {name!r} ({measure.value}) covers {coverage:.0%} of the {ctx.where()}; "
                f"at least {minimum:.0%} is required",
                location=f"signal {name}",
                value=round(coverage, 6),
            )


# -- fMRI ----------------------------------------------------------------------------------------

FD_SIGNAL = "framewise_displacement"
"""The auxiliary signal of framewise displacement (mm) that io attaches from fMRI confounds."""


@register_check(
    "fmri.repetition_time",
    severity="error",
    summary="An fMRI run has a repetition time, and its sidecar and NIfTI header agree on it within tr_rtol.",
    rationale="Every slow-signal feature (ALFF band, DFA scales, windows) is in seconds; a missing or "
    "contradictory TR puts them all at the wrong frequencies.",
    fix="give RepetitionTime (s) in the run's JSON sidecar, and make it match pixdim[4] of the header",
    thresholds=("tr_rtol",),
)
def check_fmri_repetition_time(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.modality is not Modality.FMRI:
        return
    check = CHECKS["fmri.repetition_time"]
    if ctx.metadata.recording.sampling_frequency is None:
        yield check.finding(
            ctx,
            f"{ctx.source}: no repetition time (no RepetitionTime, VolumeTiming or rate given for this fMRI run)",
            location="recording.sampling_frequency",
            value=None,
        )
        return
    times = getattr(ctx.recording, "repetition_times", None) or {}
    used, header = times.get("used"), times.get("header")
    if used and header and abs(header - used) > ctx.thresholds.tr_rtol * used:
        yield check.finding(
            ctx,
            f"{ctx.source}: the sidecar's repetition time {used:g} s and the NIfTI header's {header:g} s disagree "
            f"(more than {ctx.thresholds.tr_rtol:.0%}); the sidecar's is used",
            location="RepetitionTime / pixdim[4]",
            value=[used, header],
        )


@register_check(
    "fmri.motion",
    severity="warning",
    summary="Head motion of an fMRI baseline: mean framewise displacement at most max_mean_fd mm and at most "
    "max_fd_fraction of volumes above fd_threshold mm (from the confounds' framewise_displacement).",
    rationale="Motion inflates short-range and deflates long-range functional connectivity (Power et al. 2012); "
    "mean FD above 0.2 mm or many volumes above 0.5 mm make an fMRI baseline unreliable.",
    fix="scrub the moved volumes (--confounds scrubbing) and regress motion (--confounds motion), or exclude the run",
    thresholds=("fd_threshold", "max_mean_fd", "max_fd_fraction"),
)
def check_fmri_motion(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is None or ctx.modality is not Modality.FMRI or FD_SIGNAL not in ctx.recording.signals:
        return
    fd = np.asarray(ctx.baseline.load_signal(FD_SIGNAL), dtype=float)[0]
    finite = fd[np.isfinite(fd)]  # fMRIPrep leaves the first volume n/a
    if finite.size == 0:
        return
    t = ctx.thresholds
    mean_fd = float(finite.mean())
    above = float((finite > t.fd_threshold).mean())
    kept = int(fd.size - (finite > t.fd_threshold).sum())
    seconds = kept / ctx.recording.fs
    if mean_fd > t.max_mean_fd or above > t.max_fd_fraction:
        yield CHECKS["fmri.motion"].finding(
            ctx,
            f"{ctx.source}: head motion in the {ctx.where()}: mean FD {mean_fd:.3f} mm (at most {t.max_mean_fd:g}), "
            f"{above:.0%} of volumes above {t.fd_threshold:g} mm (at most {t.max_fd_fraction:.0%}); {kept} of "
            f"{fd.size} volumes ({seconds:.1f} s) left after scrubbing",
            location=f"signal {FD_SIGNAL}",
            value={"mean_fd": round(mean_fd, 6), "fraction_above": round(above, 6), "volumes_left": kept},
        )


@register_check(
    "fmri.scrubbed_duration",
    severity="info",
    summary="Volumes of an fMRI baseline left after scrubbing at fd_threshold, and their duration against "
    "min_duration.",
    rationale="Scrubbing removes volumes: what is left is the data the fingerprint really rests on.",
    fix="record a longer run, or relax fd_threshold",
    thresholds=("fd_threshold", "min_duration"),
)
def check_fmri_scrubbed_duration(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.baseline is None or ctx.modality is not Modality.FMRI or FD_SIGNAL not in ctx.recording.signals:
        return
    fd = np.asarray(ctx.baseline.load_signal(FD_SIGNAL), dtype=float)[0]
    t = ctx.thresholds
    kept = int((~(np.nan_to_num(fd, nan=0.0) > t.fd_threshold)).sum())
    seconds = kept / ctx.recording.fs
    verdict = "enough" if seconds >= t.min_duration else f"below the {t.min_duration:g} s of a dot"
    yield CHECKS["fmri.scrubbed_duration"].finding(
        ctx,
        f"{ctx.source}: {kept} of {fd.size} volumes ({seconds:.1f} s) are left after scrubbing at FD > "
        f"{t.fd_threshold:g} mm ({verdict})",
        location=f"signal {FD_SIGNAL}",
        value=kept,
    )


# -- emitted by batch runs (adots validate), not by a baseline -----------------------------------


def _emitted_by_batch(ctx: CheckContext) -> Iterator[Finding]:
    """Findings of this id come from the batch runner (a source that cannot be read), not from a baseline."""
    return iter(())


register_check(
    "source.unreadable",
    severity="critical",
    summary="The source can be opened (emitted by adots validate when opening or reading fails).",
    rationale="One bad file must not stop a batch; it is reported with the reason.",
    fix="check the path/URL and that the file is a complete NWB file, BIDS dataset or raw recording",
)(_emitted_by_batch)
register_check(
    "source.empty",
    severity="error",
    summary="A folder given to adots validate holds at least one recording (emitted by adots validate).",
    rationale="An empty folder usually means a wrong path or a download that did not finish.",
    fix="point adots validate at the folder holding the .nwb files or the BIDS root",
    nwb=False,
)(_emitted_by_batch)
register_check(
    "source.auxiliary",
    severity="warning",
    summary="Every auxiliary series (pupil, running speed, ...) can be read (emitted by adots validate).",
    rationale=(
        "A broken auxiliary series (NaN or unordered timestamps, no rate) must not make the whole recording "
        "unreadable; it is left out and reported, and the arousal measures it would give are missing."
    ),
    fix="repair the series' timestamps or rate in the file (or re-export it)",
    nwb=False,
)(_emitted_by_batch)
register_check(
    "data.present",
    severity="error",
    summary="The run's data files hold their samples (emitted by adots validate for placeholders).",
    rationale=(
        "A DataLad or git-annex clone whose content was never fetched has 0-byte or dangling data files: its "
        "sidecars are validated, its signal cannot be; compliance cannot be established."
    ),
    fix="fetch the data (datalad get PATH, or git annex get PATH), then validate again",
    nwb=False,
)(_emitted_by_batch)
