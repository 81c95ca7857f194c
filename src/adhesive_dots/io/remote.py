"""Remote sources: HTTP(S) byte-range streaming, DANDI and OpenNeuro identifiers.

Streaming
    ``http://`` and ``https://`` URLs are opened with fsspec's HTTP file system as a
    seekable file whose reads become ``Range: bytes=a-b`` requests, cached in blocks of
    ``block_size`` bytes (64 KiB by default, :data:`DEFAULT_BLOCK_SIZE`). h5py reads an NWB
    file's metadata and then only the chunks that a slice touches, so ``Baseline.load()``
    transfers about the segment's bytes, not the file.

``dandi:DANDISET[/VERSION][/PATH]``
    Resolved with the DANDI archive's own client (``dandi.dandiapi.DandiAPIClient``):
    ``VERSION`` is a published version such as ``0.220126.2143`` or ``draft`` (default: the
    most recent published version, else the draft); ``PATH`` is the asset path inside the
    dandiset (optional when the version holds exactly one NWB asset). The asset's S3
    ``contentUrl`` is then streamed. ``dandi_api_url=`` points the client at another server.

``openneuro:DSID[/PATH]``
    OpenNeuro publishes every dataset's latest snapshot in the public S3 bucket
    ``openneuro.org``, so ``openneuro:ds004148/sub-01/ses-1/eeg/x.edf`` is read from
    ``https://s3.amazonaws.com/openneuro.org/ds004148/sub-01/ses-1/eeg/x.edf`` through the
    same streaming path (``PATH`` must name a file; the bucket serves the latest snapshot
    only, so versions are not addressable here).
"""

from __future__ import annotations

import contextlib
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adhesive_dots.errors import AdhesiveError, RemoteError, SourceNotFoundError, UnsupportedSourceError

DEFAULT_BLOCK_SIZE = 64 * 1024
"""Bytes per HTTP range request / cache block when streaming."""

OPENNEURO_BUCKET_URL = "https://s3.amazonaws.com/openneuro.org"
"""Public HTTPS address of OpenNeuro's open S3 bucket."""

DANDI_API_URL = "https://api.dandiarchive.org/api"
"""The DANDI archive's API (the client's default instance)."""

_DANDI_ID = re.compile(r"^\d{6}$")
_DANDI_VERSION = re.compile(r"^(draft|\d+\.\d{6}\.\d{4})$")
_OPENNEURO_ID = re.compile(r"^ds\d{6}$")

REMOTE_SCHEMES = ("http://", "https://", "dandi:", "openneuro:")


def is_remote(source: str) -> bool:
    """True for ``http(s)://``, ``dandi:`` and ``openneuro:`` sources."""
    return str(source).lower().startswith(REMOTE_SCHEMES)


@dataclass(frozen=True)
class DandiAsset:
    """A resolved DANDI asset: where to stream it from and what it is."""

    url: str
    dandiset_id: str
    version: str
    path: str
    size: int


def resolve_openneuro(identifier: str) -> str:
    """``openneuro:DSID/PATH`` -> the file's HTTPS address in OpenNeuro's public bucket.

    Examples
    --------
    >>> resolve_openneuro("openneuro:ds004148/sub-01/ses-session1/eeg/sub-01_ses-session1_task-eyesclosed_eeg.vhdr")
    'https://s3.amazonaws.com/openneuro.org/ds004148/sub-01/ses-session1/eeg/sub-01_ses-session1_task-eyesclosed_eeg.vhdr'
    """
    rest = identifier.split(":", 1)[1].strip("/")
    dataset, _, path = rest.partition("/")
    if not _OPENNEURO_ID.match(dataset):
        raise UnsupportedSourceError(
            f"{identifier}: an OpenNeuro id is 'openneuro:dsNNNNNN/PATH' (e.g. openneuro:ds004148/sub-01/...), "
            f"got dataset {dataset!r}"
        )
    path = posixpath.normpath(path) if path else ""
    if not path or path == "." or path.startswith(".."):
        raise UnsupportedSourceError(
            f"{identifier}: name a file inside the dataset, "
            f"e.g. openneuro:{dataset}/sub-01/eeg/sub-01_task-rest_eeg.edf "
            "(a whole dataset cannot be streamed; download it with openneuro-py or datalad instead)"
        )
    return f"{OPENNEURO_BUCKET_URL}/{dataset}/{path}"


def parse_dandi(identifier: str) -> tuple[str, str | None, str | None]:
    """``dandi:DANDISET[/VERSION][/PATH]`` -> (dandiset id, version or None, path or None)."""
    rest = identifier.split(":", 1)[1].strip("/")
    parts = rest.split("/")
    dandiset = parts[0]
    if not _DANDI_ID.match(dandiset):
        raise UnsupportedSourceError(
            f"{identifier}: a DANDI id is 'dandi:NNNNNN/VERSION/PATH' (version and path optional) "
            "with a 6-digit dandiset number "
            f"(e.g. dandi:000017/draft/sub-x/sub-x.nwb), got {dandiset!r}"
        )
    version = None
    if len(parts) > 1 and _DANDI_VERSION.match(parts[1]):
        version, parts = parts[1], parts[2:]
    else:
        parts = parts[1:]
    path = "/".join(parts) or None
    return dandiset, version, path


def resolve_dandi(identifier: str, *, api_url: str | None = None) -> DandiAsset:
    """Resolve a ``dandi:`` identifier to the asset's streaming URL with ``DandiAPIClient``.

    Parameters
    ----------
    identifier : str
        ``dandi:DANDISET[/VERSION][/PATH]``.
    api_url : str, optional
        API base URL (default: the public archive, :data:`DANDI_API_URL`).
    """
    import requests
    from dandi.dandiapi import DandiAPIClient
    from dandi.exceptions import NotFoundError

    dandiset_id, version, path = parse_dandi(identifier)
    try:
        with DandiAPIClient(api_url=api_url or DANDI_API_URL) as client:
            dandiset = client.get_dandiset(dandiset_id, version, lazy=version is not None)
            if path is None:
                nwb_assets = [a for a in dandiset.get_assets() if a.path.endswith(".nwb")]
                if len(nwb_assets) != 1:
                    listing = ", ".join(a.path for a in nwb_assets[:10]) or "none"
                    raise SourceNotFoundError(
                        f"{identifier}: name one asset path (dandi:{dandiset_id}/VERSION/PATH); "
                        f"{len(nwb_assets)} NWB assets found: {listing}"
                    )
                asset = nwb_assets[0]
            else:
                asset = dandiset.get_asset_by_path(path)
            url = _content_url(asset)
            return DandiAsset(
                url=url, dandiset_id=dandiset_id, version=dandiset.version_id, path=asset.path, size=int(asset.size)
            )
    except AdhesiveError:
        raise
    except NotFoundError as err:
        raise SourceNotFoundError(f"{identifier}: not found in the DANDI archive ({err})") from err
    except (requests.RequestException, RuntimeError, ValueError) as err:
        raise RemoteError(
            f"{identifier}: the DANDI API at {api_url or DANDI_API_URL} could not be queried "
            f"({type(err).__name__}: {err}); check the network or try again later"
        ) from err


def _content_url(asset: Any) -> str:
    from dandi.exceptions import NotFoundError

    for pattern in (r"amazonaws\.com", r"^https?://"):
        with contextlib.suppress(NotFoundError):
            return asset.get_content_url(regex=pattern)
    raise NotFoundError(f"asset {asset.path} has no contentUrl")


def resolve_url(source: str, *, dandi_api_url: str | None = None) -> str:
    """The HTTP(S) URL to stream for a remote ``source`` (identity for URLs)."""
    lowered = source.lower()
    if lowered.startswith("openneuro:"):
        return resolve_openneuro(source)
    if lowered.startswith("dandi:"):
        return resolve_dandi(source, api_url=dandi_api_url).url
    if lowered.startswith(("http://", "https://")):
        return source
    raise UnsupportedSourceError(f"{source}: not a remote source; expected http(s)://, dandi: or openneuro:")


def open_url(url: str, *, source: str | None = None, block_size: int = DEFAULT_BLOCK_SIZE) -> Any:
    """A seekable binary file streaming ``url`` with HTTP range requests (fsspec, block cache).

    Raises
    ------
    SourceNotFoundError
        The server answers 404 (or 403/410: nothing there for us).
    RemoteError
        The server is unreachable or fails.
    """
    import fsspec

    name = source or url
    try:
        filesystem = fsspec.filesystem("http", skip_instance_cache=True)
        handle = filesystem.open(url, "rb", block_size=int(block_size), cache_type="blockcache")
    except FileNotFoundError as err:
        raise SourceNotFoundError(
            f"{name}: the server answered 404 Not Found for {url}; check the address (and the version/path)"
        ) from err
    except Exception as err:  # aiohttp / fsspec raise many kinds
        raise remote_error(err, f"opening {url}", source=name) from err
    if handle.size is None:
        handle.close()
        raise RemoteError(
            f"{name}: the server at {url} does not report the file size, so byte ranges cannot be requested"
        )
    return handle


def remote_error(err: Exception, what: str, *, source: str = "") -> RemoteError:
    """A :class:`RemoteError` describing a failure ``what`` (e.g. a dropped connection)."""
    cause = err
    while cause.__cause__ is not None and not str(cause):
        cause = cause.__cause__
    return RemoteError(
        f"{source + ': ' if source else ''}remote read failed while {what} ({type(cause).__name__}: {cause}); "
        "the connection may have dropped; try again, or download the file and open it locally"
    )


def remote_error_factory(source: str) -> Callable[[Exception, str], AdhesiveError]:
    """``on_read_error`` for readers of streamed files."""

    def make(err: Exception, what: str) -> AdhesiveError:
        return remote_error(err, what, source=source)

    return make
