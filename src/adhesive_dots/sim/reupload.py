"""Planted duplicates: "re-uploads" of simulated sessions in other formats and shapes.

Public archives hold the same session more than once. :func:`write_reuploads` reads the
baseline of chosen sessions of a written corpus back from disk (so copies start from the
stored float32 samples) and writes, for each, the copies of :data:`REUPLOAD_VARIANTS`:

``converted``
    the same samples in the other format (NWB -> BIDS BrainVision, BIDS -> NWB);
``cropped``
    7 of the 10 minutes (from 15 % to 85 % of the baseline);
``resampled``
    to 4/5 of the rate (250 -> 200 Hz) or, for slow data, 2/3 (30 -> 20 Hz), polyphase;
``rescaled``
    in other units: volts -> microvolts (x 1e6), dF/F -> percent (x 100);
``half-channels``
    the first half of the channels;
``combined``
    all of the above at once (other format, cropped, resampled, x 1e3, first half).

Every copy of a session holds samples of the original, so all copies of one session and
the original form one *duplicate group*; every pair inside a group is a planted duplicate
(pairs across groups are not). ``reuploads.json`` in the corpus folder records each copy
(its source path as :func:`adhesive_dots.io.sources.expand_sources` keys it, the
variant and the transform: offset, rate ratio, gain, channels kept) and the groups;
:func:`load_reuploads` reads it back.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal as sps

from adhesive_dots.core import Segment
from adhesive_dots.errors import DataError
from adhesive_dots.io.bids_write import write_bids_eeg
from adhesive_dots.io.nwb_write import NWBSession, write_nwb
from adhesive_dots.io.sources import SourceSpec, resolve
from adhesive_dots.metadata import DotMetadata

REUPLOADS = "reuploads.json"
REUPLOAD_DIR = "reuploads"
REUPLOAD_VARIANTS = ("converted", "cropped", "resampled", "rescaled", "half-channels", "combined")
CROP = (0.15, 0.85)
"""Fractions of the baseline kept by the ``cropped`` copies (7 of 10 minutes)."""


@dataclass(frozen=True)
class Reupload:
    """One planted copy.

    Attributes
    ----------
    key : str
        ``<original key>~<variant>``.
    original : str
        Corpus key of the copied session.
    variant : str
        One of :data:`REUPLOAD_VARIANTS`.
    format : str
        ``"nwb"`` or ``"bids"``.
    source : str
        The copy's path relative to the corpus folder: the NWB file, or the BIDS run's data
        file (the key :func:`~adhesive_dots.io.sources.expand_sources` gives it).
    original_source : str
        The original's path in the same convention.
    transform : dict
        ``offset_s`` (time in the original's baseline of the copy's first sample),
        ``rate_ratio`` (copy / original), ``gain`` (copy units per original unit),
        ``channels`` (indices of the original's channels kept, in order), ``format_change``.
    """

    key: str
    original: str
    variant: str
    format: str
    source: str
    original_source: str
    transform: dict[str, Any]


@dataclass(frozen=True)
class Reuploads:
    """What :func:`write_reuploads` wrote (also in ``reuploads.json``)."""

    root: Path
    copies: tuple[Reupload, ...]

    def groups(self) -> list[list[str]]:
        """Duplicate groups as lists of sources (relative paths): the original first, then its copies."""
        out: dict[str, list[str]] = {}
        for copy in self.copies:
            out.setdefault(copy.original_source, [copy.original_source]).append(copy.source)
        return list(out.values())

    def pairs(self) -> set[frozenset[str]]:
        """Every planted duplicate pair of sources (relative paths)."""
        found = set()
        for group in self.groups():
            for i, a in enumerate(group):
                for b in group[i + 1 :]:
                    found.add(frozenset((a, b)))
        return found


def load_reuploads(root: str | Path) -> Reuploads:
    """Read ``reuploads.json`` of a corpus written with ``sim_corpus(..., reuploads=n)``."""
    root = Path(root)
    path = root / REUPLOADS
    if not path.exists():
        raise DataError(f"{path}: no re-upload record here (write the corpus with sim_corpus(..., reuploads=n))")
    data = json.loads(path.read_text())
    return Reuploads(root, tuple(Reupload(**item) for item in data["copies"]))


def _bids_run_file(root: Path, subject: str, session: str) -> Path:
    return root / f"sub-{subject}" / f"ses-{session}" / "eeg" / f"sub-{subject}_ses-{session}_task-rest_eeg.vhdr"


def _read_original(root: Path, entry: Any) -> tuple[np.ndarray, float, list[str], str, DotMetadata, str]:
    path = root / entry.path
    if entry.format == "bids":
        options = {"subject": entry.subject, "session": entry.session, "task": "rest"}
        source = _bids_run_file(path, entry.subject, entry.session)
    else:
        options = {}
        source = path
    with resolve(SourceSpec(str(path), **options)) as resolved:
        recording, baselines = resolved.recording, resolved.candidates
        if not baselines:
            raise DataError(f"{path}: the simulated session has no baseline to re-upload")
        baseline = baselines[0]
        data = baseline.load()
        return (data, recording.fs, list(recording.channel_names), recording.units, baseline.metadata,
                str(source.relative_to(root)))  # fmt: skip


def _choose(entries: list[Any], n: int) -> list[Any]:
    """``n`` sessions, round-robin over labs, compliant sessions first."""
    by_lab: dict[str, list[Any]] = {}
    for entry in sorted(entries, key=lambda e: (not e.compliant, e.key)):
        by_lab.setdefault(entry.lab, []).append(entry)
    chosen: list[Any] = []
    while len(chosen) < min(n, len(entries)):
        for lab in sorted(by_lab):
            if by_lab[lab] and len(chosen) < n:
                chosen.append(by_lab[lab].pop(0))
    return chosen


def write_reuploads(root: str | Path, entries: list[Any], n_sessions: int) -> Reuploads:
    """Write every variant of ``n_sessions`` sessions of a written corpus (see the module docstring).

    Parameters
    ----------
    root : str or Path
        The corpus folder (copies go to ``root / "reuploads"``).
    entries : list of CorpusEntry
        The corpus' sessions.
    n_sessions : int
        Sessions to copy (chosen round-robin over labs, compliant ones first).

    Returns
    -------
    Reuploads
    """
    if n_sessions < 0:
        raise DataError(f"reuploads must be a non-negative number of sessions, got {n_sessions!r}")
    root = Path(root)
    out = root / REUPLOAD_DIR
    out.mkdir(exist_ok=True)
    copies = []
    for entry in _choose(list(entries), n_sessions):
        data, fs, names, units, metadata, original_source = _read_original(root, entry)
        for variant in REUPLOAD_VARIANTS:
            copies.append(_write_variant(root, out, entry, variant, data, fs, names, units, metadata, original_source))
    record = Reuploads(root, tuple(copies))
    (root / REUPLOADS).write_text(
        json.dumps({"copies": [asdict(c) for c in copies], "groups": record.groups()}, indent=1)
    )
    return record


def _write_variant(root: Path, out: Path, entry: Any, variant: str, data: np.ndarray, fs: float, names: list[str],
                   units: str, metadata: DotMetadata, original_source: str) -> Reupload:  # fmt: skip
    n_channels, n_times = data.shape
    duration = n_times / fs
    original_format = entry.format
    other = "bids" if original_format == "nwb" else "nwb"
    fmt = {"converted": other, "resampled": other, "combined": other}.get(variant, original_format)
    x, rate, gain, offset, keep = data, fs, 1.0, 0.0, np.arange(n_channels)
    if variant in ("cropped", "combined"):
        i0, i1 = int(round(CROP[0] * n_times)), int(round(CROP[1] * n_times))
        x, offset = x[:, i0:i1], i0 / fs
    if variant in ("half-channels", "combined"):
        keep = np.arange(max(1, n_channels // 2))
        x = x[keep]
    if variant in ("resampled", "combined"):
        up, down = (4, 5) if fs >= 100 else (2, 3)
        x, rate = sps.resample_poly(x, up, down, axis=-1), fs * up / down
    copy_units = units
    if variant == "rescaled":
        gain = 100.0 if units == "dF/F" else 1e6
        copy_units = "%" if units == "dF/F" else "uV"
    elif variant == "combined":
        gain = 1e3
        copy_units = "mV" if units == "V" else units
    x = np.asarray(x * gain, dtype=np.float32)
    copy_names = [names[i] for i in keep]
    meta = metadata.merged(
        identity={"dataset_id": "reupload", "session_id": f"{entry.session}{variant.replace('-', '')}"},
        recording={"sampling_frequency": rate, "n_channels": len(keep), "units": copy_units},
        segment={"start": 0.0, "stop": x.shape[1] / rate, "duration": x.shape[1] / rate, "gaps": []},
    )
    key = f"{entry.key}~{variant}"
    if fmt == "nwb":
        path = out / f"{key}.nwb"
        write_nwb(
            path,
            NWBSession(
                session_id=meta.identity.session_id, description=f"Re-upload ({variant}) of {entry.key}.",
                metadata=meta, data=x, fs=rate, channel_names=copy_names, units=copy_units,
                kind="calcium" if entry.kind == "calcium" else "lfp",
                dot=Segment.between(0.0, x.shape[1] / rate, evidence="re-upload", label="spontaneous"),
            ),
            overwrite=True,
        )  # fmt: skip
        source = path
    else:
        bids_root = out / "bids"
        subject = f"{entry.subject}copy"
        session = f"{entry.session}{variant.replace('-', '')}"
        write_bids_eeg(bids_root, subject=subject, session=session, task="rest", data=x, fs=rate,
                       channel_names=copy_names, metadata=meta)  # fmt: skip
        source = _bids_run_file(bids_root, subject, session)
    transform = {
        "offset_s": offset, "rate_ratio": rate / fs, "gain": gain, "channels": keep.tolist(),
        "format_change": f"{original_format}->{fmt}" if fmt != original_format else "", "duration_s": duration,
    }  # fmt: skip
    return Reupload(key, entry.key, variant, fmt, str(source.relative_to(root)), original_source, transform)
