"""A local HTTP server with byte-range support, for testing the streaming readers offline.

:class:`RangeServer` serves the files of one folder on ``127.0.0.1`` (an ephemeral port)
with ``Range: bytes=a-b`` requests answered by ``206 Partial Content``, as S3 and the DANDI
archive do. It counts the body bytes it sends, can serve canned JSON documents (a recorded
API response), and can drop the connection in the middle of a body to imitate a network
failure.

Examples
--------
>>> import tempfile, pathlib, urllib.request
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "x.bin").write_bytes(bytes(range(100)))
>>> with RangeServer(folder) as server:
...     request = urllib.request.Request(server.url("x.bin"), headers={"Range": "bytes=10-19"})
...     body = urllib.request.urlopen(request).read()
>>> body == bytes(range(10, 20)), server.bytes_served
(True, 10)
"""

from __future__ import annotations

import http.server
import json
import re
import threading
import urllib.parse
from pathlib import Path
from typing import Any

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class RangeServer:
    """Serve ``root`` on 127.0.0.1 with Range requests, counting the bytes sent.

    Parameters
    ----------
    root : path
        Folder whose files are served (URL path = relative file path).
    json_routes : dict of str to object, optional
        URL path -> JSON document served with status 200 (a key with a query string, e.g.
        ``"/api/x/?path=a"``, matches only that query; a key without one matches any query);
        ``"{base}"`` inside string values is replaced by the server's base URL.
    """

    def __init__(self, root: str | Path, *, json_routes: dict[str, Any] | None = None) -> None:
        self.root = Path(root)
        self.json_routes = dict(json_routes or {})
        self.bytes_served = 0
        self.requests: list[tuple[str, str, str]] = []  # (method, path, range header)
        self.drop_after_bytes: int | None = None
        self._lock = threading.Lock()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        """The URL of ``path`` (relative to ``root``)."""
        return f"{self.base}/{urllib.parse.quote(path.lstrip('/'))}"

    def reset_counts(self) -> None:
        """Set ``bytes_served`` back to 0 and forget the request log."""
        with self._lock:
            self.bytes_served = 0
            self.requests.clear()

    def start(self) -> RangeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> RangeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the handler -------------------------------------------------------------------------
    def _handler_class(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_HEAD(self) -> None:
                self._respond(head=True)

            def do_GET(self) -> None:
                self._respond(head=False)

            def _respond(self, *, head: bool) -> None:
                range_header = self.headers.get("Range", "")
                with server._lock:
                    server.requests.append((self.command, self.path, range_header))
                route = self.path if self.path in server.json_routes else urllib.parse.urlsplit(self.path).path
                if route in server.json_routes:
                    text = json.dumps(server.json_routes[route]).replace("{base}", server.base)
                    self._send(200, text.encode(), "application/json", head=head)
                    return
                relative = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
                target = (server.root / relative).resolve()
                if server.root.resolve() not in target.parents or not target.is_file():
                    self._send(404, b'{"detail": "Not found."}', "application/json", head=head)
                    return
                size = target.stat().st_size
                match = _RANGE.match(range_header.strip())
                if match and (match.group(1) or match.group(2)):
                    if match.group(1):
                        first = int(match.group(1))
                        last = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
                    else:  # suffix range: the last N bytes
                        first, last = max(size - int(match.group(2)), 0), size - 1
                    if first >= size or last < first:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    with target.open("rb") as handle:
                        handle.seek(first)
                        body = handle.read(last - first + 1)
                    self._send(
                        206,
                        body,
                        "application/octet-stream",
                        head=head,
                        extra={"Content-Range": f"bytes {first}-{last}/{size}"},
                    )
                else:
                    body = b"" if head else target.read_bytes()
                    self._send(200, body, "application/octet-stream", head=head, length=size)

            def _send(
                self,
                status: int,
                body: bytes,
                kind: str,
                *,
                head: bool,
                length: int | None = None,
                extra: dict[str, str] | None = None,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.send_header("Accept-Ranges", "bytes")
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if head:
                    return
                with server._lock:
                    budget = None
                    if server.drop_after_bytes is not None:
                        budget = max(server.drop_after_bytes - server.bytes_served, 0)
                    sent = len(body) if budget is None else min(len(body), budget)
                    server.bytes_served += sent
                self.wfile.write(body[:sent])
                if sent < len(body):  # imitate a dropped connection: half a body, then close
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)

        return Handler
