"""Task effects in baseline units: each task segment's change of each window-level feature relative
to the same session's baseline, divided by the baseline's window-to-window sd.

For a label (a condition, or the ``task`` epoch) with segments of length ``L`` s, every segment is cut
into non-overlapping windows of ``w = min(L, max_window_s)``; the baseline is cut into sliding
windows of the same ``w`` (50% overlap), so both distributions are of windows of one length (the
window-to-window variability depends on it). Then

* ``delta = mean(task windows) - mean(baseline windows)`` (feature units, e.g. log10 power),
* ``z = delta / sd(baseline windows)`` (baseline units),

and their CIs come from a bootstrap that resamples task segments (independent trials) and the
baseline's windows by circular moving blocks (see :mod:`adhesive_dots.compare.windows`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from adhesive_dots.baselines import find_baselines
from adhesive_dots.compare.windows import block_bootstrap_indices, compute_window_features_array
from adhesive_dots.core import Baseline, Recording
from adhesive_dots.errors import BaselineNotFoundError, DataError
from adhesive_dots.fingerprint import sliding_windows

MAX_WINDOW_S = 10.0
"""Task segments longer than this are cut into windows of this length (s)."""


@dataclass(frozen=True)
class TaskEffects:
    """Task effects of one session in baseline units.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (label, feature): ``label``, ``feature``, ``n_segments``, ``n_windows``, ``window_s``,
        ``n_baseline_windows``, ``baseline_mean``, ``baseline_sd``, ``task_mean``, ``delta``,
        ``delta_ci_low``, ``delta_ci_high``, ``z``, ``ci_low``, ``ci_high`` (CI of z).
    parameters : dict
        ``n_boot``, ``alpha``, ``max_window_s``, ``block`` and the source.
    """

    table: pd.DataFrame
    parameters: dict[str, Any] = field(default_factory=dict)

    def pivot(self, value: str = "z") -> pd.DataFrame:
        """``value`` as a (label x feature) table."""
        return self.table.pivot(index="label", columns="feature", values=value)


def compute_task_effects_array(
    baseline: np.ndarray,
    segments: Mapping[str, Sequence[np.ndarray]],
    fs: float,
    *,
    max_window_s: float = MAX_WINDOW_S,
    bands: Mapping[str, tuple[float, float]] | None = None,
    n_boot: int = 1000,
    block: int | None = None,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
) -> TaskEffects:
    """Task effects of ``segments`` relative to ``baseline``, in units of the baseline's window sd.

    Parameters
    ----------
    baseline : ndarray, shape (n_channels, n_times)
        The session's baseline, sampled at ``fs``.
    segments : dict of label -> list of ndarray (n_channels, n_times_i)
        Task segments grouped by label (e.g. condition), same channels as ``baseline``.
    fs : float
        Sampling rate in Hz.
    max_window_s : float
        Longer segments are cut into windows of this length (s).
    bands : dict, optional
        Bands of the log powers (default fingerprint bands).
    n_boot : int
        Bootstrap replicates.
    block : int, optional
        Block length (baseline windows) of the baseline's moving-block bootstrap.
    alpha : float
        CIs at ``1 - alpha``.
    rng : Generator or int, optional

    Returns
    -------
    TaskEffects
    """
    baseline = np.asarray(baseline, dtype=float)
    if baseline.ndim != 2:
        raise DataError(f"baseline must be (n_channels, n_times), got shape {baseline.shape}")
    if not segments:
        raise DataError("segments is empty; give at least one label with task segments")
    if not 0 < alpha < 0.5:
        raise DataError(f"alpha must be in (0, 0.5), got {alpha!r}")
    rng = np.random.default_rng(rng)
    rows = []
    baseline_cache: dict[int, Any] = {}  # window length -> baseline window features
    for label, pieces in segments.items():
        pieces = [np.asarray(p, dtype=float) for p in pieces]
        if not pieces:
            raise DataError(f"label {label!r} has no segments")
        for p in pieces:
            if p.ndim != 2 or p.shape[0] != baseline.shape[0]:
                raise DataError(f"label {label!r}: segment of shape {p.shape}; expected ({baseline.shape[0]}, n_times)")
        length = min(min(p.shape[1] for p in pieces), int(round(max_window_s * fs)))
        if length < int(round(0.5 * fs)):
            raise DataError(f"label {label!r}: segments of {length / fs:.2f} s; at least 0.5 s is needed")
        task_values, owner = [], []
        for k, p in enumerate(pieces):
            starts = np.arange(0, p.shape[1] - length + 1, length)
            task_values.append(compute_window_features_array(p, fs, starts=starts, length=length, bands=bands).values)
            owner.extend([k] * starts.size)
        task = np.concatenate(task_values)
        owner = np.asarray(owner)
        if length not in baseline_cache:
            b_starts, _ = sliding_windows(baseline.shape[1], fs, window_s=length / fs, overlap=0.5)
            baseline_cache[length] = compute_window_features_array(
                baseline, fs, starts=b_starts, length=length, bands=bands
            )
        base = baseline_cache[length]
        names = list(base["state_feature"].values)
        base = base.values
        if base.shape[0] < 4:
            raise DataError(
                f"label {label!r}: the baseline holds {base.shape[0]} windows of {length / fs:.1f} s; "
                "at least 4 are needed (lower max_window_s or use a longer baseline)"
            )
        mu, sd = base.mean(axis=0), base.std(axis=0, ddof=1)
        task_mean = task.mean(axis=0)
        delta = task_mean - mu
        with np.errstate(divide="ignore", invalid="ignore"):
            z = delta / sd
        # bootstrap: segments (independent) and baseline windows (moving blocks)
        seg_idx = rng.integers(0, len(pieces), size=(n_boot, len(pieces)))
        base_idx = block_bootstrap_indices(base.shape[0], n_boot=n_boot, block=block, rng=rng)
        boot_delta = np.empty((n_boot, base.shape[1]))
        boot_z = np.empty_like(boot_delta)
        per_segment = np.stack([task[owner == k].mean(axis=0) for k in range(len(pieces))])
        counts = np.bincount(owner, minlength=len(pieces)).astype(float)
        for r in range(n_boot):
            w = counts[seg_idx[r]]
            t_mean = (per_segment[seg_idx[r]] * w[:, None]).sum(axis=0) / w.sum()
            b = base[base_idx[r]]
            boot_delta[r] = t_mean - b.mean(axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                boot_z[r] = boot_delta[r] / b.std(axis=0, ddof=1)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            # a feature that cannot be measured (e.g. a band above Nyquist) is NaN throughout: its CI is NaN
            warnings.filterwarnings("ignore", "All-NaN slice encountered", RuntimeWarning)
            d_lo, d_hi = np.nanquantile(boot_delta, [alpha / 2, 1 - alpha / 2], axis=0)
            z_lo, z_hi = np.nanquantile(boot_z, [alpha / 2, 1 - alpha / 2], axis=0)
        for j, name in enumerate(names):
            rows.append(
                {
                    "label": label,
                    "feature": name,
                    "n_segments": len(pieces),
                    "n_windows": int(task.shape[0]),
                    "window_s": length / fs,
                    "n_baseline_windows": int(base.shape[0]),
                    "baseline_mean": mu[j],
                    "baseline_sd": sd[j],
                    "task_mean": task_mean[j],
                    "delta": delta[j],
                    "delta_ci_low": d_lo[j],
                    "delta_ci_high": d_hi[j],
                    "z": z[j],
                    "ci_low": z_lo[j],
                    "ci_high": z_hi[j],
                }
            )
    table = pd.DataFrame(rows)
    return TaskEffects(table, {"n_boot": n_boot, "alpha": alpha, "max_window_s": max_window_s, "block": block})


def task_segments(
    recording: Recording, *, baseline: Baseline, labels: Sequence[str] | None = None
) -> dict[str, list[tuple[float, float]]]:
    """Task segments of ``recording`` by label: its intervals that do not overlap the baseline.

    Every labelled interval (trials by condition, an epochs row ``task``, BIDS annotations) that does
    not overlap the baseline's pieces and lies inside the recording is a segment of its label;
    ``labels`` keeps only those labels.
    """
    intervals = recording.intervals
    pieces = baseline.segment.pieces if baseline.recording is recording else ()
    out: dict[str, list[tuple[float, float]]] = {}
    for row in intervals.itertuples():
        start, stop, label = float(row.start), float(row.stop), str(row.label)
        if labels is not None and label not in labels:
            continue
        if any(start < b1 and stop > b0 for b0, b1 in pieces):
            continue
        if stop <= start or start < recording.t0 or stop > recording.t0 + recording.duration + 1e-9:
            continue
        out.setdefault(label, []).append((start, stop))
    if labels is not None:
        missing = [label for label in labels if label not in out]
        if missing:
            raise DataError(
                f"{recording.source}: no task interval labelled {missing} outside the baseline; "
                f"labels present: {sorted(set(intervals['label'].astype(str)))}"
            )
    return out


def compute_task_effects(
    recording: Recording,
    *,
    baseline: Baseline | None = None,
    labels: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
    **options: Any,
) -> TaskEffects:
    """Task effects of a recording's task segments relative to its baseline, in baseline units.

    Parameters
    ----------
    recording : Recording
        The session with task intervals (``recording.intervals``).
    baseline : Baseline, optional
        The reference; default the first found by :func:`~adhesive_dots.baselines.find_baselines` in
        ``recording``. It may come from another recording of the same session (e.g. the BIDS rest run).
    labels : list of str, optional
        Which interval labels are task segments (default every label outside the baseline).
    channels : list of str, optional
        Channels to use (default those of the baseline found in ``recording``).
    **options
        Keywords of :func:`compute_task_effects_array` (``n_boot``, ``alpha``, ``max_window_s``, ``rng``...).
    """
    if baseline is None:
        found = find_baselines(recording)
        if not found:
            raise BaselineNotFoundError(
                f"{recording.source}: no interval marks spontaneous activity; pass baseline= or annotate one"
            )
        baseline = found[0]
    if channels is None:
        channels = [c for c in baseline.channel_names if c in set(recording.channel_names)]
        if not channels:
            raise DataError(f"{recording.source}: shares no channel with the baseline ({baseline.source})")
    if abs(baseline.fs - recording.fs) > 1e-9:
        raise DataError(
            f"{recording.source}: sampling rate {recording.fs} Hz differs from the baseline's "
            f"{baseline.fs} Hz; resample one of them"
        )
    spans = task_segments(recording, baseline=baseline, labels=labels)
    if not spans:
        raise DataError(
            f"{recording.source}: no task interval outside the baseline (intervals: "
            f"{sorted(set(recording.intervals['label'].astype(str)))})"
        )
    segments = {label: [recording.read(a, b, channels=channels) for a, b in pairs] for label, pairs in spans.items()}
    result = compute_task_effects_array(baseline.load(channels=channels), segments, recording.fs, **options)
    result.parameters["source"] = recording.source
    result.parameters["baseline"] = [list(p) for p in baseline.segment.pieces]
    return result
