"""Reading NWB files (pynwb/h5py), on disk or streamed, into a lazy :class:`Recording`.

What becomes the recording's data (unless ``series=`` names one):

1. a ``RoiResponseSeries`` (under ``DfOverF`` first, then ``Fluorescence``): calcium imaging;
2. an ``ElectricalSeries`` under ``processing`` (``LFP``): local field potential;
3. an ``ElectricalSeries`` in ``acquisition``: extracellular or intracranial voltage;
4. the ``Units`` table binned at ``units_bin_width`` seconds into rates (spikes/s); a file
   that holds only spike times needs that bin width, it is never guessed.

Spike times are also available unbinned as ``recording.spikes`` (a :class:`SpikeTrains`)
whenever the file has a ``Units`` table. Behaviour and arousal series (pupil, running speed,
whisking, eye tracking, anything under ``processing/behavior``) become
``recording.signals[name]``. Every interval table (epochs, trials, custom ``TimeIntervals``)
becomes rows of ``recording.intervals``. Samples are read only when asked for, by h5py slices
of the requested time range.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from adhesive_dots.core import Recording
from adhesive_dots.errors import (
    AdhesiveError,
    DataError,
    FormatError,
    TimestampsError,
    UnitsBinWidthRequired,
    option,
)
from adhesive_dots.io._checks import check_duration, check_not_all_nan, check_regular
from adhesive_dots.io._meta import build_metadata, stored_dot
from adhesive_dots.io.nwb_write import DOT_TABLE
from adhesive_dots.metadata import ArousalMeasure, Modality

#: Interval-table columns whose text values label a row (besides ``tags``), in order of preference.
LABEL_COLUMNS: tuple[str, ...] = (
    "stimulus_name",
    "stimulus_type",
    "stimulus",
    "name",
    "label",
    "condition",
    "paradigm",
    "epoch",
    "state",
    "block",
    "description",
)

#: Patterns of series or container names that mark an arousal / behaviour measure.
AROUSAL_PATTERNS: tuple[tuple[str, ArousalMeasure], ...] = (
    (r"pupil", ArousalMeasure.PUPIL),
    (r"running|run_speed|locomot|wheel|treadmill|speed|velocity", ArousalMeasure.LOCOMOTION),
    (r"whisk", ArousalMeasure.WHISKING),
    (r"eye|gaze|saccade", ArousalMeasure.EYE_TRACKING),
    (r"heart|ecg|ekg|pulse", ArousalMeasure.HEART_RATE),
    (r"emg", ArousalMeasure.EMG),
)

_TIMESTAMP_BLOCK = 1_000_000


def arousal_measure(name: str) -> ArousalMeasure | None:
    """The arousal measure a series name suggests (``"pupil_diameter"`` -> PUPIL), or None."""
    lowered = name.lower()
    for pattern, measure in AROUSAL_PATTERNS:
        if re.search(pattern, lowered):
            return measure
    return None


class SpikeTrains:
    """Spike times of the units of a ``Units`` table, read lazily unit by unit.

    Parameters
    ----------
    source : str
        Where the table lives (for messages).
    unit_ids : sequence of int
        The table's ids, one per unit.
    index : ndarray of int, shape (n_units,)
        End offsets of each unit's spikes in ``times`` (the NWB ``spike_times_index``).
    times : array-like, shape (n_spikes,)
        All spike times in s (an h5py dataset, read by slices).
    """

    def __init__(self, source: str, unit_ids: Sequence[int], index: np.ndarray, times: Any) -> None:
        self.source = source
        self.unit_ids = tuple(int(u) for u in unit_ids)
        self._ends = np.asarray(index, dtype=np.int64)
        self._starts = np.concatenate([[0], self._ends[:-1]]).astype(np.int64)
        self._times = times

    @property
    def n_units(self) -> int:
        return len(self.unit_ids)

    @property
    def n_spikes(self) -> int:
        return int(self._ends[-1]) if self.n_units else 0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f"unit{u}" for u in self.unit_ids)

    def unit(self, position: int) -> np.ndarray:
        """Spike times (s) of the unit at ``position``, sorted, shape ``(n_spikes_of_unit,)``."""
        times = np.asarray(self._times[self._starts[position] : self._ends[position]], dtype=np.float64)
        if times.size > 1 and np.any(np.diff(times) < 0):
            times = np.sort(times)
        return times

    def time_range(self) -> tuple[float, float]:
        """(first, last) spike time over all units, in s (reads every unit's first and last spike)."""
        firsts, lasts = [], []
        for position in range(self.n_units):
            if self._ends[position] > self._starts[position]:
                firsts.append(float(self._times[self._starts[position]]))
                lasts.append(float(self._times[self._ends[position] - 1]))
        if not firsts:
            raise DataError(f"{self.source}: the Units table has no spikes; nothing to bin")
        first, last = min(firsts), max(lasts)
        check_duration(
            last - min(first, 0.0), source=self.source, what=f"the spike times (from {first:g} to {last:g} s)"
        )
        return first, last

    def bin(self, bin_width: float, *, start: float = 0.0, stop: float | None = None, **kwargs: Any) -> Recording:
        """Spike counts per bin divided by the bin width: a rate recording in spikes/s.

        Parameters
        ----------
        bin_width : float
            Width of each bin in s (the sampling interval of the result, ``fs = 1 / bin_width``).
        start, stop : float
            Time span in s; ``stop`` defaults to one bin past the last spike. Bin ``k`` covers
            the half-open interval ``[start + k * bin_width, start + (k + 1) * bin_width)``,
            so reading the bins piece by piece counts every spike exactly once.
        **kwargs
            Passed to :class:`Recording` (``metadata``, ``intervals``, ``signals``, ``close``).

        Returns
        -------
        Recording
            ``(n_units, n_bins)`` rates in spikes/s, modality ``spikes``, read lazily.
        """
        width = _check_bin_width(bin_width, self.source)
        if stop is None:
            stop = max(self.time_range()[1], start) + width
        n_bins = int(np.floor(round((stop - start) / width, 9)))
        if n_bins < 1:
            raise DataError(
                f"{self.source}: binning from {start} s to {stop} s at {width} s gives no bin; "
                "choose a smaller units_bin_width"
            )
        cache: dict[int, np.ndarray] = {}

        def reader(i0: int, i1: int, index: np.ndarray) -> np.ndarray:
            out = np.zeros((len(index), i1 - i0))
            for row, position in enumerate(index):
                position = int(position)
                if position not in cache:
                    cache[position] = self.unit(position)
                out[row] = bin_counts(cache[position], start=start, width=width, i0=i0, i1=i1)
            out /= width
            return out

        kwargs.setdefault("modality", Modality.SPIKES)
        return Recording(
            kwargs.pop("source", f"{self.source} (Units binned at {width:g} s)"),
            fs=1.0 / width,
            channel_names=self.names,
            n_times=n_bins,
            reader=reader,
            units="spikes/s",
            t0=start,
            **kwargs,
        )


def bin_counts(times: np.ndarray, *, start: float, width: float, i0: int, i1: int) -> np.ndarray:
    """Counts of sorted ``times`` (s) in bins ``i0..i1-1`` of ``[start + k width, start + (k + 1) width)``."""
    edges_lo, edges_hi = start + width * i0, start + width * i1
    part = times[np.searchsorted(times, edges_lo, side="left") : np.searchsorted(times, edges_hi, side="left")]
    k = np.floor((part - start) / width).astype(np.int64)
    # rounding can put a spike on an edge into the neighbouring bin: compare with the edges themselves
    k += part >= start + width * (k + 1)
    k -= part < start + width * k
    return np.bincount(k - i0, minlength=i1 - i0)[: i1 - i0].astype(np.float64)


def _check_bin_width(bin_width: Any, source: str) -> float:
    try:
        width = float(bin_width)
    except (TypeError, ValueError):
        width = float("nan")
    if not np.isfinite(width) or width <= 0:
        raise DataError(
            f"{source}: units_bin_width must be a positive number of seconds (e.g. 0.01), got {bin_width!r}"
        )
    return width


# -- opening ---------------------------------------------------------------------------------
def open_nwb_io(
    path_or_file: Any, source: str, *, allow_external_links: bool = False
) -> tuple[Any, Any, Callable[[], None]]:
    """Open an NWB file with pynwb; return ``(io, nwbfile, close)``; corrupt files -> FormatError.

    Links that leave the file (HDF5 external links, external raw storage, virtual datasets mapping
    other files; Zarr links and symbolic links out of the store) are refused unless
    ``allow_external_links``, and broken links are refused always (:func:`check_hdf5_links`)."""
    import h5py
    from pynwb import NWBHDF5IO

    handle = io = None
    try:
        if isinstance(path_or_file, str) and os.path.isdir(path_or_file):  # an NWB Zarr store (hdmf-zarr)
            from hdmf_zarr.nwb import NWBZarrIO

            check_zarr_links(path_or_file, source, allow_external_links=allow_external_links)
            io = NWBZarrIO(path_or_file, mode="r", load_namespaces=True)
        else:
            handle = h5py.File(path_or_file, "r")
            check_hdf5_links(handle, source, allow_external_links=allow_external_links)
            io = NWBHDF5IO(file=handle, mode="r", load_namespaces=True)
        nwbfile = io.read()
    except AdhesiveError:
        raise
    except Exception as err:  # h5py/hdmf raise OSError, KeyError, ValueError, TypeError on bad files
        for opened in (io, handle):  # release the file now, not whenever the garbage collector runs
            if opened is not None:
                with contextlib.suppress(Exception):
                    opened.close()
        raise FormatError(
            f"{source}: not a readable NWB file ({type(err).__name__}: {err}); "
            "the file may be truncated or not NWB; check it with 'nwbinspector' or download it again"
        ) from err

    def close() -> None:
        with contextlib.suppress(Exception):
            io.close()
        if handle is not None:
            with contextlib.suppress(Exception):
                handle.close()

    return io, nwbfile, close


EXTERNAL_LINKS_HINT = "adots reads other files through links only when asked ({flag})"


def check_hdf5_links(handle: Any, source: str, *, allow_external_links: bool = False) -> None:
    """Raise :class:`FormatError` for an HDF5 link that dangles, or that leaves the file when not allowed.

    Looks at every link without following it (soft links must point inside the file; external links
    and datasets stored in external raw files or mapping other files (virtual datasets) are refused
    unless ``allow_external_links``, and then their targets must be regular files), so a file cannot
    make the tool read another file on the reader's disk, or a FIFO, without the user's consent.
    """
    import h5py

    hint = EXTERNAL_LINKS_HINT.format(flag=option("allow_external_links", True))
    base = os.path.dirname(os.path.abspath(source)) if os.path.exists(source) else None
    problems: list[str] = []

    def visit(name: str) -> None:
        link = handle.get(name, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            if not allow_external_links:
                problems.append(
                    f"/{name} is an HDF5 external link to {link.filename}:{link.path}, outside this file; {hint}"
                )
            else:
                _check_linked_file(link.filename, base, source, f"/{name}")
        elif isinstance(link, h5py.SoftLink) and handle.get(name) is None:
            problems.append(f"/{name} is a broken soft link (to {link.path}, which does not exist)")
        return None

    def datasets(name: str, obj: Any) -> None:
        if not isinstance(obj, h5py.Dataset):
            return None
        external = obj.external
        if external:
            files = ", ".join(str(entry[0]) for entry in external)
            if not allow_external_links:
                problems.append(f"dataset /{name} stores its data in external file(s) {files}; {hint}")
            else:
                for entry in external:
                    _check_linked_file(entry[0], base, source, f"/{name}")
        if obj.is_virtual:
            others = sorted({str(v.file_name) for v in obj.virtual_sources() if v.file_name != "."})
            if others and not allow_external_links:
                problems.append(f"dataset /{name} is a virtual dataset mapping {', '.join(others)}; {hint}")
        return None

    try:
        handle.visit_links(visit)
        if not problems:
            handle.visititems(datasets)
    except (KeyError, OSError, RuntimeError, ValueError) as err:
        raise FormatError(f"{source}: the HDF5 structure cannot be walked ({type(err).__name__}: {err})") from err
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise FormatError(f"{source}: {problems[0]}{more}")


def _check_linked_file(filename: str, base: str | None, source: str, where: str) -> None:
    path = filename if os.path.isabs(filename) or base is None else os.path.join(base, filename)
    try:
        check_regular(os.stat(path).st_mode, f"{source}: {where} links to {path}, which")
    except FileNotFoundError:
        raise FormatError(f"{source}: {where} links to {path}, which does not exist") from None


def check_zarr_links(store: str, source: str, *, allow_external_links: bool = False) -> None:
    """Raise :class:`FormatError` for a Zarr store with links out of it, unless ``allow_external_links``.

    Refused: symbolic links (files or folders) whose target lies outside the store, and hdmf-zarr links
    (``zarr_link`` in ``.zattrs``) whose ``source`` is another store or file; non-regular files inside.
    """
    import json

    hint = EXTERNAL_LINKS_HINT.format(flag=option("allow_external_links", True))
    root = os.path.realpath(store)
    for current, dirs, files in os.walk(store):
        for name in [*dirs, *files]:
            path = os.path.join(current, name)
            if os.path.islink(path):
                target = os.path.realpath(path)
                inside = target == root or target.startswith(root + os.sep)
                if not inside and not allow_external_links:
                    raise FormatError(
                        f"{source}: {os.path.relpath(path, store)} is a symbolic link to {target}, outside the store; "
                        f"{hint}"
                    )
                if not os.path.exists(path):
                    raise FormatError(f"{source}: {os.path.relpath(path, store)} is a broken symbolic link")
            elif name in files:
                check_regular(os.lstat(path).st_mode, f"{source}: {os.path.relpath(path, store)}")
        if ".zattrs" not in files:
            continue
        try:
            with open(os.path.join(current, ".zattrs"), encoding="utf-8") as handle:
                attrs = json.loads(handle.read(1 << 24))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            raise FormatError(
                f"{source}: {os.path.relpath(os.path.join(current, '.zattrs'), store)} is not readable JSON"
            ) from None
        links = attrs.get("zarr_link", []) if isinstance(attrs, dict) else []
        for link in links if isinstance(links, list) else [links]:
            other = str(link.get("source", ".")) if isinstance(link, dict) else "?"
            if other not in (".", "") and not allow_external_links:
                raise FormatError(
                    f"{source}: {os.path.relpath(current, store)} has a Zarr link to {other}, outside the store; {hint}"
                )


def read_nwb(
    path_or_file: Any,
    *,
    source: str | None = None,
    series: str | None = None,
    units_bin_width: float | None = None,
    on_read_error: Callable[[Exception, str], AdhesiveError] | None = None,
    close_extra: Callable[[], None] | None = None,
    allow_external_links: bool = False,
) -> Recording:
    """Open an NWB file lazily.

    Parameters
    ----------
    path_or_file : str, Path or file-like
        A local path, or a seekable binary file object (a streamed HTTP file).
    source : str, optional
        How the source is named in messages and in ``identity.source_uri``.
    series : str, optional
        Name of the series to use as the data (an ``ElectricalSeries``, ``RoiResponseSeries``,
        any ``TimeSeries``, or ``"units"`` for the binned Units table); default: see module docs.
    units_bin_width : float, optional
        Bin width in s for spike times (required when the data are the Units table).
    on_read_error : callable, optional
        Turns an exception raised while reading samples into an :class:`AdhesiveError`
        (streamed files give a :class:`~adhesive_dots.errors.RemoteError`).
    allow_external_links : bool
        Follow links to other files (HDF5 external links, Zarr links); refused by default.

    Returns
    -------
    Recording
        Lazy; ``recording.spikes`` is a :class:`SpikeTrains` or ``None``.
    """
    source = str(source if source is not None else path_or_file)

    def local_error(err: Exception, what: str) -> AdhesiveError:
        return FormatError(
            f"{source}: failed while {what} ({type(err).__name__}: {err}); the file may be truncated or corrupt"
        )

    on_error = on_read_error or local_error
    io, nwbfile, close_io = open_nwb_io(
        str(path_or_file) if not hasattr(path_or_file, "read") else path_or_file,
        source,
        allow_external_links=allow_external_links,
    )

    def close() -> None:
        close_io()
        if close_extra is not None:
            close_extra()

    try:
        return _build_recording(
            nwbfile, source, series=series, units_bin_width=units_bin_width, on_error=on_error, close=close
        )
    except AdhesiveError:
        close()
        raise
    except Exception as err:
        close()
        raise on_error(err, "reading the file's structure") from err


def _build_recording(
    nwbfile: Any,
    source: str,
    *,
    series: str | None,
    units_bin_width: float | None,
    on_error: Callable[[Exception, str], AdhesiveError],
    close: Callable[[], None],
) -> Recording:
    spikes = _spike_trains(nwbfile, source)
    stored = stored_dot(nwbfile, DOT_TABLE, source).get("recording", {})  # how the dot's author read the file
    series = series if series is not None else stored.get("series")
    units_bin_width = units_bin_width if units_bin_width is not None else stored.get("units_bin_width")
    main = _select_series(nwbfile, source, series=series, has_units=spikes is not None, units_bin_width=units_bin_width)
    intervals = _intervals(nwbfile, source)
    problems: list[str] = []
    signals = _signals(nwbfile, source, exclude=main, on_error=on_error, problems=problems)
    if isinstance(main, str):  # "units"
        assert spikes is not None
        width = _check_bin_width(units_bin_width, source)
        stop = max(spikes.time_range()[1], float(intervals["stop"].max()) if len(intervals) else 0.0)
        check_duration(stop, source=source, what="the Units table binned up to its last interval")
        n_bins = int(np.floor(stop / width)) + 1
        kind, fs, n_channels, units, modality = (
            "sorted units (binned)",
            1.0 / width,
            spikes.n_units,
            "spikes/s",
            Modality.SPIKES,
        )
    else:
        core, kind, _ = _series_core(main, source, on_error)
        fs, n_channels, units, modality = core["fs"], len(core["channel_names"]), core["units"], core["modality"]
    metadata = build_metadata(
        nwbfile,
        source=source,
        modality=modality,
        fs=fs,
        n_channels=n_channels,
        channel_kind=kind,
        units=units,
        signals=signals,
        dot_table=DOT_TABLE,
    )
    shared = dict(metadata=metadata, intervals=intervals, signals=signals, close=close)
    if isinstance(main, str):
        recording = spikes.bin(width, start=0.0, stop=n_bins * width, source=source, **shared)
    else:
        recording = Recording(source, **shared, **core)
    recording.spikes = spikes
    recording.problems = problems
    return recording


# -- choosing the data -----------------------------------------------------------------------
def _iter_series(nwbfile: Any) -> Iterator[Any]:
    from pynwb import TimeSeries

    for obj in nwbfile.objects.values():
        if isinstance(obj, TimeSeries):
            yield obj


def _select_series(
    nwbfile: Any, source: str, *, series: str | None, has_units: bool, units_bin_width: float | None
) -> Any:
    from pynwb.ecephys import ElectricalSeries
    from pynwb.ophys import RoiResponseSeries

    all_series = list(_iter_series(nwbfile))
    if series is not None:
        if series.lower() == "units":
            if not has_units:
                raise DataError(f"{source}: series='units' asked for, but the file has no Units table")
            if units_bin_width is None:
                raise UnitsBinWidthRequired(
                    f"{source}: reading the Units table as the data needs a bin width in s, e.g. "
                    f"{option('units_bin_width', 0.01)}"
                )
            return "units"
        for ts in all_series:
            if ts.name == series or _path(ts) == series:
                return ts
        names = sorted({_path(ts) for ts in all_series})
        raise DataError(
            f"{source}: no series named {series!r}; available: {', '.join(names) or 'none'}"
            + (", units" if has_units else "")
        )
    if units_bin_width is not None and has_units:
        return "units"
    rois = [ts for ts in all_series if isinstance(ts, RoiResponseSeries)]
    rois.sort(key=lambda ts: 0 if ts.parent is not None and "dfoverf" in type(ts.parent).__name__.lower() else 1)
    if rois:
        return rois[0]
    electrical = [ts for ts in all_series if isinstance(ts, ElectricalSeries)]
    processed = [ts for ts in electrical if ts not in nwbfile.acquisition.values()]
    if processed:
        return processed[0]
    if electrical:
        return electrical[0]
    if has_units:
        raise UnitsBinWidthRequired(
            f"{source}: the file holds spike times (a Units table) and no continuous neural series; give a bin "
            f"width in s to read them as rates, e.g. {option('units_bin_width', 0.01)} (adots annotate records it "
            "with the dot, so later commands need no flag)"
        )
    generic = [ts for ts in all_series if arousal_measure(ts.name) is None]
    if generic:
        return generic[0]
    raise FormatError(
        f"{source}: no neural data found (no ElectricalSeries, RoiResponseSeries, Units or TimeSeries); "
        "name a series with series=..."
    )


def _path(ts: Any) -> str:
    parts = [ts.name]
    parent = ts.parent
    while parent is not None and getattr(parent, "parent", None) is not None:
        parts.append(parent.name)
        parent = parent.parent
    return "/".join(reversed(parts))


def _series_core(ts: Any, source: str, on_error: Callable[[Exception, str], AdhesiveError]) -> tuple[dict, str, str]:
    from pynwb.ecephys import ElectricalSeries
    from pynwb.ophys import RoiResponseSeries

    name = _path(ts)
    dataset = ts.data
    if dataset is None or len(getattr(dataset, "shape", ())) == 0:
        raise FormatError(f"{source}: series {name} has no data array")
    shape = dataset.shape
    kind_code = getattr(getattr(dataset, "dtype", None), "kind", "f")
    if kind_code not in "biuf":
        raise FormatError(
            f"{source}: series {name} stores {dataset.dtype} values, not numbers; it cannot be read as a signal"
        )
    n_channels = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    if n_channels == 0:
        raise FormatError(f"{source}: series {name} has no channels (shape {shape})")
    fs, t0, timestamps = _timing(ts, source, name, n_times=shape[0])
    check_duration(shape[0] / fs, source=source, what=f"series {name} ({shape[0]} samples at {fs:g} Hz)")
    _check_stored(dataset, source, name)
    if isinstance(ts, RoiResponseSeries):
        modality, kind = Modality.CALCIUM, "ROIs"
        names = _region_names(ts.rois, "roi", n_channels)
    elif isinstance(ts, ElectricalSeries):
        modality = Modality.LFP if ts not in ts.get_ancestor("NWBFile").acquisition.values() else _voltage_kind(fs)
        kind = "electrodes"
        names = _region_names(ts.electrodes, "e", n_channels)
    else:
        modality, kind = Modality.OTHER, "channels"
        names = [ts.name] if n_channels == 1 else [f"{ts.name}{i}" for i in range(n_channels)]
    reader = _dataset_reader(dataset, ts, source=source, name=name, n_channels=n_channels, on_error=on_error)
    core = dict(
        fs=fs, channel_names=names, n_times=shape[0], reader=reader, modality=modality, units=str(ts.unit), t0=t0
    )
    if timestamps is not None:
        core["t0"] = float(timestamps[0])
    return core, kind, name


_SPARSE_BYTES = 1 << 26


def _check_stored(dataset: Any, source: str, name: str) -> None:
    """Raise :class:`FormatError` when an HDF5 dataset declares far more data than it stores.

    A chunked dataset of more than 64 MiB with fewer than half of its chunks written (or a contiguous
    one never allocated) declares a shape its file does not back: reading it would stream fill values
    for as long as the declared shape says (a 2.4 MB file declaring 10^12 samples)."""
    import h5py

    if not isinstance(dataset, h5py.Dataset):
        return
    declared = int(np.prod(dataset.shape, dtype=np.float64)) * dataset.dtype.itemsize
    if declared <= _SPARSE_BYTES:
        return
    dsid = dataset.id
    if dataset.chunks is None:
        stored_fraction = 1.0 if dsid.get_storage_size() > 0 else 0.0
    else:
        n_chunks = np.prod([-(-n // c) for n, c in zip(dataset.shape, dataset.chunks, strict=False)], dtype=np.float64)
        stored_fraction = dsid.get_num_chunks() / n_chunks
    if stored_fraction < 0.5:
        raise FormatError(
            f"{source}: series {name} declares shape {dataset.shape} ({declared / 1e9:.3g} GB) but its file stores "
            f"{stored_fraction:.2%} of it; the declared size is not backed by data (a corrupt or unfinished file)"
        )


def _voltage_kind(fs: float) -> Modality:
    """Acquisition ElectricalSeries: wide-band voltage; below 2.5 kHz it is treated as LFP."""
    return Modality.LFP if fs < 2500 else Modality.OTHER


def _region_names(region: Any, prefix: str, n_channels: int) -> list[str]:
    try:
        table = region.table
        rows = np.asarray(region.data[:], dtype=int)
        ids = np.asarray(table.id.data[:])[rows]
        if "label" in table.colnames:
            labels = [_text(v) for v in np.asarray(table["label"].data[:])[rows]]
            if len(set(labels)) == len(labels):
                return labels
        names = [f"{prefix}{int(i)}" for i in ids]
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        names = []
    if len(names) != n_channels or len(set(names)) != n_channels:
        names = [f"{prefix}{i}" for i in range(n_channels)]
    return names


def _timing(ts: Any, source: str, name: str, *, n_times: int) -> tuple[float, float, np.ndarray | None]:
    """(fs, t0, timestamps) of a series; explicit timestamps are checked to increase."""
    if ts.timestamps is None:
        rate = ts.rate
        if rate is None or not np.isfinite(rate) or rate <= 0:
            raise DataError(f"{source}: series {name} has neither a positive rate nor timestamps")
        return float(rate), float(ts.starting_time or 0.0), None
    stamps = ts.timestamps
    if len(stamps) != n_times:
        raise DataError(f"{source}: series {name} has {len(stamps)} timestamps for {n_times} samples")
    if n_times < 2:
        raise DataError(f"{source}: series {name} has fewer than 2 timestamps; no sampling rate can be derived")
    first = float(stamps[0])
    last = float(stamps[n_times - 1])
    fs = (n_times - 1) / (last - first) if last > first else float("nan")
    check_timestamps(stamps, source=source, name=name, fs=fs)
    return float(fs), first, np.asarray([first, last])


def check_timestamps(stamps: Any, *, source: str, name: str, fs: float | None = None) -> None:
    """Raise :class:`~adhesive_dots.errors.TimestampsError` unless ``stamps`` (s) are finite, increasing, regular.

    Regular: with ``fs`` given, every timestamp lies within half a sample of the uniform grid
    ``stamps[0] + i / fs`` (a recording is read by sample index, so a series whose clock
    wanders by more than that cannot be addressed by time). Reads the timestamps in blocks
    of a million values (bounded memory).
    """
    previous = -np.inf
    first = None
    for i0 in range(0, len(stamps), _TIMESTAMP_BLOCK):
        block = np.asarray(stamps[i0 : i0 + _TIMESTAMP_BLOCK], dtype=np.float64)
        if not np.all(np.isfinite(block)):
            bad = i0 + int(np.flatnonzero(~np.isfinite(block))[0])
            raise TimestampsError(f"{source}: series {name} has a non-finite timestamp at sample {bad}")
        steps = np.diff(np.concatenate([[previous], block]))
        if np.any(steps <= 0):
            bad = i0 + int(np.flatnonzero(steps <= 0)[0])
            raise TimestampsError(
                f"{source}: timestamps of series {name} are not monotonic (strictly increasing): "
                f"sample {bad} at {block[bad - i0]!r} s does not follow the previous one; "
                "fix the acquisition export (sort the samples or repair the clock) before using this series"
            )
        first = block[0] if first is None else first
        if fs is not None:
            deviation = np.abs(block - (first + (i0 + np.arange(block.size)) / fs))
            if np.any(deviation > 0.5 / fs):
                bad = i0 + int(np.argmax(deviation > 0.5 / fs))
                raise TimestampsError(
                    f"{source}: timestamps of series {name} are irregular: sample {bad} is "
                    f"{deviation[bad - i0]:.4g} s off the uniform {fs:.6g} Hz grid (more than half a sample); "
                    "resample the series onto a regular clock before using it"
                )
        previous = block[-1]


def _dataset_reader(
    dataset: Any,
    ts: Any,
    *,
    source: str,
    name: str,
    n_channels: int,
    on_error: Callable[[Exception, str], AdhesiveError],
) -> Callable:
    conversion = float(ts.conversion if ts.conversion is not None else 1.0)
    offset = float(getattr(ts, "offset", 0.0) or 0.0)

    def reader(i0: int, i1: int, index: np.ndarray) -> np.ndarray:
        # Peak memory: the stored block (e.g. float32) plus the float64 output, ~1.5x the output.
        everything = len(index) == n_channels and np.array_equal(index, np.arange(n_channels))
        try:
            if len(dataset.shape) == 1:
                block = np.asarray(dataset[i0:i1])[np.newaxis]
            elif everything or len(dataset.shape) > 2:
                block = np.asarray(dataset[i0:i1]).reshape(i1 - i0, -1).T
            else:
                order = np.unique(index)  # h5py needs increasing indices
                block = np.asarray(dataset[i0:i1, order]).T
                index = np.searchsorted(order, index)
                everything = np.array_equal(index, np.arange(len(order)))
        except AdhesiveError:
            raise
        except Exception as err:
            raise on_error(err, f"reading samples {i0}:{i1} of series {name} in {source}") from err
        if len(dataset.shape) == 1 or not everything:
            block = block[index] if not (len(index) == block.shape[0] and everything) else block
        values = np.empty(block.shape, dtype=np.float64)
        values[...] = block
        del block
        if conversion != 1.0:
            values *= conversion
        if offset != 0.0:
            values += offset
        return check_not_all_nan(values, source=source, name=name, i0=i0, i1=i1)

    return reader


# -- spikes, signals, intervals --------------------------------------------------------------
def _spike_trains(nwbfile: Any, source: str) -> SpikeTrains | None:
    units = nwbfile.units
    if units is None or "spike_times" not in units.colnames or len(units) == 0:
        return None
    index = units["spike_times"]
    ends = np.asarray(index.data[:], dtype=np.int64)
    return SpikeTrains(f"{source}:units", np.asarray(units.id.data[:]), ends, index.target.data)


def _signals(
    nwbfile: Any,
    source: str,
    *,
    exclude: Any,
    on_error: Callable[[Exception, str], AdhesiveError],
    problems: list[str],
) -> dict[str, Recording]:
    from pynwb.ecephys import ElectricalSeries
    from pynwb.image import ImageSeries
    from pynwb.ophys import RoiResponseSeries

    signals: dict[str, Recording] = {}
    for ts in _iter_series(nwbfile):
        if ts is exclude or isinstance(ts, ElectricalSeries | RoiResponseSeries | ImageSeries):
            continue
        parent = ts.parent
        module = parent.parent if parent is not None else None
        in_behaviour = any(getattr(p, "name", "") == "behavior" for p in (parent, module) if p is not None)
        container = getattr(parent, "name", "")
        if not in_behaviour and arousal_measure(ts.name) is None and arousal_measure(container) is None:
            continue
        name = ts.name if ts.name not in signals else _path(ts)
        try:
            signal_core, _, path = _series_core(ts, source, on_error)
        except (DataError, FormatError) as err:  # a broken auxiliary series is left out, not fatal
            problems.append(f"auxiliary series {_path(ts)} left out: {err}")
            continue
        signals[name] = Recording(f"{source}:{path}", **signal_core)
    return signals


def _intervals(nwbfile: Any, source: str) -> pd.DataFrame:
    rows: list[tuple[float, float, str, str]] = []
    for name, table in nwbfile.intervals.items():
        if len(table) == 0:
            continue
        frame = table.to_dataframe(exclude={"timeseries"})
        for number, row in enumerate(frame.itertuples(index=False)):
            try:
                start, stop = float(row.start_time), float(row.stop_time)
            except (TypeError, ValueError):
                start = stop = float("nan")
            if not (np.isfinite(start) and np.isfinite(stop) and stop >= start):
                raise FormatError(
                    f"{source}: row {number} of the interval table {name} has start_time {row.start_time!r} and "
                    f"stop_time {row.stop_time!r}; an interval needs finite times in s with stop >= start"
                )
            check_duration(stop - start, source=source, what=f"row {number} of the interval table {name}")
            rows.append((start, stop, row_label(name, row._asdict()), name))
    return pd.DataFrame(rows, columns=["start", "stop", "label", "table"])


def row_label(table: str, row: dict[str, Any]) -> str:
    """The text that labels an interval row: its tags, else its first name-like column, else the table name."""
    tags = row.get("tags")
    if tags is not None and not isinstance(tags, str | bytes) and len(tags):
        return ",".join(_text(t) for t in tags)
    for column in LABEL_COLUMNS:
        value = row.get(column)
        if isinstance(value, str | bytes) and _text(value).strip():
            return _text(value)
    if table == DOT_TABLE and row.get("paradigm") is not None:
        return _text(row["paradigm"])
    return table


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
