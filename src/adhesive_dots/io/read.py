"""Opening recordings lazily: ``open_recording(source, **options) -> Recording``.

Sources
-------
=============================================  ==============================================
``path/to/file.nwb``                            NWB on disk (pynwb/h5py), :mod:`.nwb`
``path/to/store.nwb.zarr/``                     NWB Zarr store on disk (hdmf-zarr), :mod:`.nwb`
``https://.../file.nwb`` (or ``.edf``...)       streamed with byte-range requests, :mod:`.remote`
``dandi:DANDISET[/VERSION][/PATH]``             resolved with the DANDI client, then streamed
``openneuro:DSID/PATH``                         OpenNeuro's public S3 bucket, then streamed
``path/to/bids_root/`` + entity options         BIDS EEG/MEG/iEEG run or derivatives time series
``file.edf|.bdf|.vhdr|.fif|.set|.gdf``          MNE raw file with annotations (a run file inside
                                                a BIDS tree is read as that BIDS run)
``file.tsv|.csv|.npy|.txt`` + ``fs=``           plain table of time x channels, :mod:`.tables`
``file_bold.nii[.gz]`` + ``atlas=``             BOLD volume as ROI time series, :mod:`.fmri` (also
                                                a BIDS ``func/`` run or an fMRIPrep derivative)
=============================================  ==============================================

Nothing is read from the samples until ``Recording.read`` or ``Baseline.load`` asks, and then
only the requested time range.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from adhesive_dots.core import Recording
from adhesive_dots.errors import AdhesiveError, DataError, FormatError, UnsupportedSourceError
from adhesive_dots.io._checks import check_local_file
from adhesive_dots.io.bids import ENTITIES, bids_run_of_file, read_bids, read_bids_run
from adhesive_dots.io.fmri import read_bold, sidecar_beside
from adhesive_dots.io.nwb import read_nwb
from adhesive_dots.io.raw import RAW_SUFFIXES, read_raw
from adhesive_dots.io.remote import (
    DEFAULT_BLOCK_SIZE,
    check_whole_transfer,
    is_remote,
    open_url,
    remote_error_factory,
    resolve_url,
)
from adhesive_dots.io.tables import TABLE_SUFFIXES, read_table

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):(//)?")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"

NWB_OPTIONS = ("series", "units_bin_width")
TABLE_OPTIONS = ("fs", "time_axis", "columns", "t0")
REMOTE_OPTIONS = ("dandi_api_url", "block_size")
SAFETY_OPTIONS = ("allow_external_links", "timeout")
"""Accepted by every source, used where they apply (links: NWB files and stores; timeout: remote reads)."""
BOLD_OPTIONS = ("atlas", "atlas_labels", "mask")


def open_recording(source: str | Path, **options: Any) -> Recording:
    """Open ``source`` lazily (see the module docs for the kinds of source).

    Parameters
    ----------
    source : str or Path
        A path, URL, ``dandi:`` or ``openneuro:`` identifier, or a BIDS root folder.
    **options
        BIDS entities ``subject``, ``session``, ``task`` (default ``"rest"``), ``run``,
        ``acquisition``; NWB ``series`` (name of the series to read) and ``units_bin_width``
        (s, bins spike times into rates); tables ``fs`` (Hz, required), ``time_axis``,
        ``columns``; BOLD NIfTI ``atlas``, ``atlas_labels``, ``mask``
        (:func:`adhesive_dots.io.fmri.read_bold`); remote ``dandi_api_url``, ``block_size`` (bytes per range request),
        ``timeout`` (s, :data:`~adhesive_dots.io.remote.HTTP_TIMEOUT_S` by default); any source
        ``allow_external_links`` (NWB: follow links to other files; refused by default).
        An option that cannot apply to the source is a :class:`DataError`, except ``task``,
        which callers pass for every source (it defaults to ``"rest"`` for BIDS) and which
        other sources ignore.

    Returns
    -------
    Recording
        Use it as a context manager (``with open_recording(...) as rec``) to release files.

    Raises
    ------
    SourceNotFoundError, FormatError, UnsupportedSourceError, RemoteError, DataError
        Each names the source, the problem and the fix.
    """
    text = str(source)
    _check_options(text, options)
    links = bool(options.pop("allow_external_links", False))
    timeout = options.pop("timeout", None)
    if is_remote(text):
        options.update(allow_external_links=links, timeout=timeout)
        return _open_remote(text, **options)
    scheme = _SCHEME.match(text)
    if scheme and len(scheme.group(1)) > 1:  # "C:" drive letters are paths
        raise UnsupportedSourceError(
            f"{text}: the scheme {scheme.group(1)!r} is not supported; use a local path, http(s)://, "
            "dandi:DANDISET/VERSION/PATH (version and path optional) or openneuro:DSID/PATH"
        )
    path = Path(text).expanduser()
    check_local_file(path, text)
    bids_options = {k: v for k, v in options.items() if k in ENTITIES}
    if path.is_dir() and path.suffix.lower() == ".zarr":
        _reject(text, options, allowed=NWB_OPTIONS, kind="an NWB Zarr store")
        nwb_options = {k: v for k, v in options.items() if k in NWB_OPTIONS}
        return read_nwb(str(path), source=text, allow_external_links=links, **nwb_options)
    run = bids_run_of_file(path) if path.name.startswith("sub-") and path.suffix.lower() != ".nwb" else None
    if run is not None:  # a run's data file (or CTF/MEF folder) inside a BIDS dataset: read as that run
        _reject(text, options, allowed=(*ENTITIES, *BOLD_OPTIONS), kind="a BIDS run")
        return read_bids_run(run, **{k: v for k, v in options.items() if k in BOLD_OPTIONS})
    if path.is_dir():
        _reject(text, options, allowed=ENTITIES, kind="a BIDS folder")
        return read_bids(path, **bids_options)
    suffix = "".join(path.suffixes[-2:]).lower() if path.name.lower().endswith(".fif.gz") else path.suffix.lower()
    if suffix == ".nwb":
        _reject(text, options, allowed=NWB_OPTIONS, kind="an NWB file")
        _check_hdf5(path, text)
        nwb_options = {k: v for k, v in options.items() if k in NWB_OPTIONS}
        return read_nwb(str(path), source=text, allow_external_links=links, **nwb_options)
    if suffix in RAW_SUFFIXES or suffix == ".fif.gz":
        _reject(text, options, allowed=(), kind="a raw file")
        return read_raw(path, source=text)
    if path.name.lower().endswith((".nii", ".nii.gz")):
        _reject(text, options, allowed=BOLD_OPTIONS, kind="a NIfTI volume")
        sidecar = sidecar_beside(path)
        return read_bold(path, source=text, sidecar=sidecar, **{k: v for k, v in options.items() if k in BOLD_OPTIONS})
    if suffix in TABLE_SUFFIXES:
        _reject(text, options, allowed=TABLE_OPTIONS, kind="a table")
        return read_table(path, source=text, **{k: v for k, v in options.items() if k in TABLE_OPTIONS})
    raise UnsupportedSourceError(
        f"{text}: cannot read files ending in {path.suffix!r}; expected .nwb, a BIDS folder, "
        f"{', '.join(RAW_SUFFIXES)} (MNE) or {', '.join(TABLE_SUFFIXES)} with fs="
    )


def _check_options(source: str, options: dict[str, Any]) -> None:
    known = (
        set(ENTITIES)
        | set(NWB_OPTIONS)
        | set(TABLE_OPTIONS)
        | set(REMOTE_OPTIONS)
        | set(SAFETY_OPTIONS)
        | set(BOLD_OPTIONS)
    )
    unknown = sorted(set(options) - known)
    if unknown:
        raise DataError(f"{source}: unknown option(s) {unknown}; allowed: {sorted(known)}")


def _reject(source: str, options: dict[str, Any], *, allowed: tuple[str, ...], kind: str) -> None:
    """Options that cannot apply to this kind of source are an error, not silently ignored."""
    ignored = sorted(k for k, v in options.items() if k not in allowed and v is not None and k != "task")
    if ignored:
        raise DataError(f"{source}: option(s) {ignored} do not apply to {kind}; allowed: {sorted(allowed)}")


def _check_hdf5(path: Path, source: str) -> None:
    import h5py

    if not h5py.is_hdf5(str(path)):
        with path.open("rb") as handle:
            head = handle.read(8)
        what = "text" if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head) else "binary data"
        raise FormatError(
            f"{source}: not an HDF5/NWB file (it starts with {what}, not the HDF5 signature); "
            "the name ends in .nwb but the content is something else; check how it was saved or downloaded"
        )


def _open_remote(source: str, **options: Any) -> Recording:
    url = resolve_url(source, dandi_api_url=options.get("dandi_api_url"))
    path = url.split("?", 1)[0].lower()
    suffix = "." + path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else ""
    if suffix not in (".nwb", ".edf", ".bdf", ".fif", ".gdf"):
        raise UnsupportedSourceError(
            f"{source}: streaming reads .nwb, .edf, .bdf, .fif and .gdf files; {url} ends in {suffix or 'no suffix'}; "
            "download other files (or whole BIDS datasets) and open them locally"
        )
    handle = open_url(
        url,
        source=source,
        block_size=int(options.get("block_size") or DEFAULT_BLOCK_SIZE),
        timeout=options.get("timeout"),
    )
    on_error = remote_error_factory(source)
    try:
        if suffix == ".nwb":
            head = handle.read(8)
            handle.seek(0)
            if head != _HDF5_SIGNATURE:
                raise FormatError(f"{source}: {url} is not an HDF5/NWB file (no HDF5 signature at its start)")
            nwb_options = {k: v for k, v in options.items() if k in NWB_OPTIONS}
            return read_nwb(
                handle,
                source=source,
                on_read_error=on_error,
                close_extra=handle.close,
                allow_external_links=bool(options.get("allow_external_links")),
                **nwb_options,
            )
        # MNE reads file objects only with preload=True, so the file is transferred whole
        check_whole_transfer(handle.length, source=source, url=url)
        buffer = io.BytesIO(handle.read(handle.length))
        handle.close()
        return read_raw(buffer, source=source, suffix=suffix, on_read_error=on_error)
    except FormatError as err:
        handle.close()
        cause = err.__cause__
        if cause is not None and _is_network_error(cause):
            raise on_error(cause, "reading the file's metadata") from cause
        raise
    except AdhesiveError:
        handle.close()
        raise
    except Exception as err:  # the first range request of the file itself failed
        handle.close()
        raise on_error(err, "reading the file's header") from err


def _is_network_error(err: BaseException) -> bool:
    import requests

    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, requests.RequestException | ConnectionError | TimeoutError):
            return True
        if "payload" in str(seen).lower() or "connection" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


__all__ = ["open_recording", "read_bids", "read_nwb", "read_raw", "read_table"]
