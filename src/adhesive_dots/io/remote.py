"""Remote sources: HTTP(S) byte-range streaming, DANDI and OpenNeuro identifiers.

Streaming
    ``http://`` and ``https://`` URLs are opened with remfile (the streaming file DANDI
    recommends for h5py) as a seekable file whose reads become ``Range: bytes=a-b``
    requests, fetched in multiples of ``block_size`` bytes (64 KiB by default,
    :data:`DEFAULT_BLOCK_SIZE`) and cached. h5py reads an NWB file's metadata and then only
    the chunks that a slice touches, so ``Baseline.load()`` transfers about the segment's
    bytes, not the file. remfile retries a failed request with back-off (transient drops
    are survived) and then fails, which becomes a :class:`RemoteError`.

    The requests are made in the calling thread on purpose: h5py holds its global lock
    while it reads from a Python file object, and a reader that waits for another thread
    (fsspec's HTTP files run on an asyncio loop thread) deadlocks whenever the garbage
    collector frees h5py objects on that thread in the meantime. EDF, BDF, GDF and FIF URLs are read
    through the same file object, but MNE accepts file objects only with ``preload=True``,
    so those files are transferred whole.

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

HTTP_TIMEOUT_S = 30.0
"""Seconds a remote read may take (``timeout=``, ``--timeout``): the size request, each range response
(a server that stalls or drips its answer is given up after this long), and retries after failures."""

MAX_WHOLE_TRANSFER_BYTES = 2 << 30
"""Largest file read whole over HTTP (EDF, BDF, GDF, FIF: MNE reads streamed files whole): 2 GiB."""

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


def open_url(
    url: str, *, source: str | None = None, block_size: int = DEFAULT_BLOCK_SIZE, timeout: float | None = None
) -> Any:
    """A seekable binary file streaming ``url`` with HTTP range requests (remfile).

    The size comes from a ``HEAD`` request (redirects followed); reads are fetched with
    ``Range: bytes=a-b`` in multiples of ``block_size`` bytes, in the calling thread, each
    within ``timeout`` seconds (:data:`HTTP_TIMEOUT_S`); a response longer than the range asked
    for (a server that ignores ``Range``) is refused before it is transferred (:class:`GuardedSession`).

    Raises
    ------
    SourceNotFoundError
        The server answers 404 (or 403/410: nothing there for us).
    RemoteError
        The server is unreachable, fails, or does not give the file's size.
    """
    import remfile
    import requests

    name = source or url
    timeout = check_timeout(timeout, name)
    try:
        response = requests.head(url, allow_redirects=True, timeout=timeout)
    except requests.RequestException as err:
        raise remote_error(err, f"asking {url} for the file size", source=name) from err
    if response.status_code in (403, 404, 410):
        raise SourceNotFoundError(
            f"{name}: the server answered {response.status_code} {response.reason} for {url}; "
            "check the address (and the version/path)"
        )
    if response.status_code >= 400:
        raise RemoteError(f"{name}: the server answered {response.status_code} {response.reason} for {url}")
    length = response.headers.get("Content-Length")
    if not length or not length.isdigit():
        raise RemoteError(f"{name}: the server gives no size (Content-Length) for {url}; it cannot be streamed")
    try:
        # remfile's documented tuning knobs: fetch in block_size multiples and never read ahead
        # beyond what a read needs (the default read-ahead grows 1.7x per sequential read)
        handle = remfile.File(response.url, _size=int(length), _min_chunk_size=int(block_size),
                              _chunk_increment_factor=0.5)  # fmt: skip
    except Exception as err:  # remfile raises plain Exceptions for HTTP failures
        raise remote_error(err, f"opening {url}", source=name) from err
    handle.session = GuardedSession(timeout, size=int(length))
    return handle


def check_timeout(timeout: float | None, source: str) -> float:
    """``timeout`` in s (default :data:`HTTP_TIMEOUT_S`); an error for a value that is not positive."""
    if timeout is None:
        return HTTP_TIMEOUT_S
    try:
        value = float(timeout)
    except (TypeError, ValueError):
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise UnsupportedSourceError(f"{source}: the timeout must be a positive number of seconds, got {timeout!r}")
    return value


def check_whole_transfer(length: int, *, source: str, url: str) -> None:
    """Refuse to transfer a file whole (EDF/BDF/GDF/FIF over HTTP) above :data:`MAX_WHOLE_TRANSFER_BYTES`."""
    if length > MAX_WHOLE_TRANSFER_BYTES:
        raise RemoteError(
            f"{source}: {url} says it holds {length / 1e9:.3g} GB; files of this kind are read whole over HTTP and "
            f"at most {MAX_WHOLE_TRANSFER_BYTES / 1e9:.3g} GB are transferred; download it and open it locally"
        )


def _permanent_base() -> type[Exception]:
    try:  # remfile does not retry this class (a missing file, a bad URL)
        from remfile.RemFile import _PermanentHTTPError

        return _PermanentHTTPError
    except ImportError:  # pragma: no cover - another remfile version
        return Exception


class RemoteReadGivenUp(_permanent_base()):  # type: ignore[misc]
    """A range read that retrying cannot fix (a timeout, a server ignoring Range): remfile gives up at once."""


def _requests_session_class() -> type:
    import requests

    return requests.Session


class GuardedSession(_requests_session_class()):  # type: ignore[misc]
    """A ``requests.Session`` for remfile's range reads, with the limits remfile does not set.

    Each request waits at most ``timeout`` s for the server and reads its body within ``timeout`` s
    (a server that stalls or drips its answer is given up); a body longer than the range asked for is
    not read (a server that ignores ``Range`` and sends the whole file); failures that remfile retries
    (a connection closed mid-response) are given up once they have lasted ``timeout`` s.
    """

    def __init__(self, timeout: float, *, size: int | None = None) -> None:
        super().__init__()
        self.timeout = float(timeout)
        self.size = size
        self._failing_since: float | None = None

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        import time

        kwargs.setdefault("timeout", (self.timeout, self.timeout))
        kwargs["stream"] = True
        start = time.monotonic()
        try:
            response = super().request(method, url, **kwargs)
            self._read_body(response, kwargs.get("headers") or {}, deadline=start + self.timeout)
        except RemoteReadGivenUp:
            raise
        except Exception as err:
            now = time.monotonic()
            self._failing_since = self._failing_since or start
            if _is_timeout(err) or now - self._failing_since >= self.timeout:
                raise RemoteReadGivenUp(f"{_describe(err)} (gave up after {now - self._failing_since:.3g} s)") from err
            raise
        self._failing_since = None
        return response

    def _read_body(self, response: Any, headers: dict[str, str], *, deadline: float) -> None:
        import time

        match = re.match(r"bytes=(\d+)-(\d+)$", str(headers.get("Range", "")))
        expected = int(match.group(2)) - int(match.group(1)) + 1 if match else None
        if response.status_code == 200 and expected is not None:
            response.close()
            raise RemoteReadGivenUp(
                "the server ignores Range requests (it answered 200 with the whole file instead of 206 with the "
                f"{expected} bytes asked for)"
            )
        if response.status_code not in (200, 206):
            body = response.raw.read(1 << 16)
            response._content = body
            return
        total = re.match(r"bytes \d+-\d+/(\d+)$", str(response.headers.get("Content-Range", "")))
        if total and self.size is not None and int(total.group(1)) != self.size:
            response.close()
            raise RemoteReadGivenUp(
                f"the server's sizes disagree: {self.size} bytes announced (Content-Length) but {total.group(1)} in "
                "its range answers (Content-Range); the file may have changed or the server misreports it"
            )
        limit = expected if expected is not None else MAX_WHOLE_TRANSFER_BYTES
        parts: list[bytes] = []
        total = 0
        while True:
            if time.monotonic() > deadline:
                response.close()
                raise RemoteReadGivenUp(
                    f"the server sent {total} of {expected or 'the'} bytes in {self.timeout:g} s (it stalls or drips)"
                )
            part = response.raw.read1(1 << 16)
            if not part:
                break
            total += len(part)
            if total > limit:
                response.close()
                raise RemoteReadGivenUp(f"the server sent more than the {limit} bytes asked for")
            parts.append(part)
        response._content = b"".join(parts)
        response._content_consumed = True


def _is_timeout(err: BaseException) -> bool:
    import requests

    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, requests.Timeout | TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _describe(err: BaseException) -> str:
    if _is_timeout(err):
        return f"no answer within the timeout ({type(err).__name__})"
    return f"{type(err).__name__}: {err}"


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
