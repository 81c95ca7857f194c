"""BIDS physiological recordings beside a run (``*_physio.tsv.gz``): cardiac, respiratory, eye tracking.

:func:`physio_signals` finds the physio files of a run (same entities but ``echo``/``recording``/suffix, in
the run's folder), reads them with their inherited JSON sidecar (``SamplingFrequency``, ``StartTime``,
``Columns``) and returns them as auxiliary signals of the run's recording: one signal per column (named
after the column), plus the derived arousal measures ``heart_rate`` (bpm) and ``respiration_rate``
(breaths/min) at 4 Hz (:mod:`adhesive_dots.fingerprint.physio`), which the fingerprint's arousal coupling
and windows use like pupil and running for animal NWB files. Physio files are read even when the run's
own data were never fetched (a DataLad clone), so a placeholder run still shows its physiology.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from adhesive_dots.core import Recording
from adhesive_dots.errors import AdhesiveError, DataError, FormatError
from adhesive_dots.fingerprint.physio import compute_heart_rate_array, compute_respiration_rate_array
from adhesive_dots.io.bids import BIDSRun, inherited_sidecar, is_present, parse_name

CARDIAC = ("cardiac", "ecg", "ppg", "pulse")
RESPIRATORY = ("respiratory", "respiration", "resp")


def physio_files(run: BIDSRun) -> list[Path]:
    """The ``*_physio.tsv.gz`` files of ``run`` (same entities apart from echo and recording)."""
    wanted = {k: v for k, v in parse_name(run.data_path.name)[0].items() if k not in ("echo", "recording")}
    out = []
    for path in sorted(run.data_path.parent.glob("*_physio.tsv.gz")):
        entities, suffix, _ = parse_name(path.name)
        if suffix == "physio" and {k: v for k, v in entities.items() if k != "recording"} == wanted:
            out.append(path)
    return out


def read_physio(path: Path, root: Path) -> dict[str, Recording]:
    """The columns of one physio file as recordings (``{column: Recording}``), on the run's clock."""
    sidecar = inherited_sidecar(root, path)
    fs, columns = sidecar.get("SamplingFrequency"), sidecar.get("Columns")
    if not isinstance(fs, int | float) or fs <= 0 or not isinstance(columns, list):
        raise DataError(f"{path}: its JSON sidecar needs SamplingFrequency (Hz) and Columns")
    try:
        frame = pd.read_csv(path, sep="\t", header=None, names=[str(c) for c in columns], na_values=["n/a"])
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as err:
        raise FormatError(f"{path}: not a readable physio table ({err})") from None
    t0 = float(sidecar.get("StartTime") or 0.0)
    out = {}
    for column in frame.columns:
        values = frame[column].to_numpy(dtype=float)
        out[column] = Recording.from_array(values, float(fs), channel_names=[column], source=str(path), t0=t0)
    return out


def physio_signals(run: BIDSRun) -> dict[str, Recording]:
    """Every physio column of ``run`` and the derived ``heart_rate``/``respiration_rate`` (see the module docs).

    A physio file that cannot be read is skipped (the run itself stays readable); an absent one gives ``{}``.
    """
    signals: dict[str, Recording] = {}
    for path in physio_files(run):
        if not is_present(path):
            continue
        try:
            columns = read_physio(path, run.root)
        except AdhesiveError:
            continue
        signals.update(columns)
        for name, recording in columns.items():
            derive = (
                ("heart_rate", compute_heart_rate_array, "bpm")
                if name.lower() in CARDIAC
                else ("respiration_rate", compute_respiration_rate_array, "breaths/min")
                if name.lower() in RESPIRATORY
                else None
            )
            if derive is None:
                continue
            target, compute, units = derive
            try:
                rate = compute(recording.read()[0], recording.fs)
            except DataError:
                continue
            signals[target] = Recording.from_array(
                rate.rate, rate.fs, channel_names=[target], source=str(path), t0=recording.t0, units=units
            )
    return signals


def describe_physio(signals: dict[str, Recording]) -> dict[str, object]:
    """The DotMetadata ``arousal`` overlay of physio signals: heart rate declared with its location."""
    if "heart_rate" not in signals:
        return {}
    return {
        "arousal": {"measures": ["heart-rate"], "locations": {"heart-rate": Path(signals["heart_rate"].source).name}}
    }


__all__ = ["describe_physio", "physio_files", "physio_signals", "read_physio"]
