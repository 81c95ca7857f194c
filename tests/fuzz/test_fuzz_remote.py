"""Remote sources under faults: a hostile HTTP server on 127.0.0.1 (404, 403, a connection closed mid-response,
Range ignored, a stall, a drip, a redirect loop, a Content-Length that lies either way). Each read ends with
exit 2 and one line naming the URL and the problem, within the timeout, with nothing on stdout."""

from __future__ import annotations

import contextlib
import http.server
import io
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from adhesive_dots.cli import main

pytestmark = pytest.mark.network

TIMEOUT_S = 2.0


class HostileServer:
    """Serves ``root`` with a fault chosen by the first path segment: ``/MODE/file``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bytes_sent = 0
        self.stop_event = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                return

            def do_HEAD(self):
                self._answer(head=True)

            def do_GET(self):
                self._answer(head=False)

            def _answer(self, *, head: bool) -> None:
                mode, _, name = self.path.lstrip("/").partition("/")
                if mode in ("404", "403"):
                    self.send_response(int(mode))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if mode == "loop":
                    self.send_response(302)
                    self.send_header("Location", self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                blob = (server.root / name).read_bytes()
                size = len(blob)
                claimed = {"lie-big": 10**12, "lie-small": size // 2}.get(mode, size)
                if head:
                    self.send_response(200)
                    self.send_header("Content-Length", str(claimed))
                    self.send_header("Accept-Ranges", "bytes")
                    self.end_headers()
                    return
                first, last = 0, size - 1
                ranged = self.headers.get("Range", "").startswith("bytes=") and mode != "norange"
                if ranged:
                    a, b = self.headers["Range"][6:].split("-")
                    first, last = int(a), min(int(b or size - 1), size - 1)
                    if first >= size:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                body = blob[first : last + 1]
                self.send_response(206 if ranged else 200)
                if ranged:
                    self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    if mode == "stall":
                        server.stop_event.wait(60)
                        return
                    if mode == "drip":
                        for i in range(len(body)):
                            if server.stop_event.wait(0.2):
                                return
                            self.wfile.write(body[i : i + 1])
                            self.wfile.flush()
                        return
                    if mode == "close":
                        self.wfile.write(body[: len(body) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    self.wfile.write(body)
                    server.bytes_sent += len(body)
                except OSError:
                    return

        class Quiet(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):  # a client that hangs up is not our error
                return

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, mode: str, name: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/{mode}/{name}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from hostile import write_nwb

    from adhesive_dots.testing import find_real_data

    root = tmp_path_factory.mktemp("www")
    write_nwb(root / "x.nwb", n_times=20000, epochs=((0.0, 60.0, "rest"),))
    real = find_real_data()
    if real is not None:
        shutil.copy(real / "S001R01.edf", root / "x.edf")
    with HostileServer(root) as hostile:
        yield hostile


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    start = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue(), time.monotonic() - start


FAULTS = [
    ("404", "x.nwb", "404"),
    ("403", "x.nwb", "403"),
    ("loop", "x.nwb", "redirect"),
    ("close", "x.nwb", "remote read failed"),
    ("norange", "x.nwb", "ignores Range"),
    ("stall", "x.nwb", "timeout"),
    ("drip", "x.nwb", "stalls or drips"),
    ("lie-big", "x.nwb", "sizes disagree"),
    ("lie-small", "x.nwb", "sizes disagree"),
    ("lie-big", "x.edf", "GB"),
    ("lie-small", "x.edf", "sizes disagree"),
    ("norange", "x.edf", "ignores Range"),
    ("stall", "x.edf", "timeout"),
]


@pytest.mark.parametrize(("mode", "name", "problem"), FAULTS, ids=[f"{m}-{n}" for m, n, _ in FAULTS])
def test_remote_fault_is_one_line_within_the_timeout(server, mode, name, problem):
    if name.endswith(".edf") and not (server.root / name).exists():
        pytest.skip("real recordings folder shared/data/real is absent (set ADOTS_REAL_DATA)")
    url = server.url(mode, name)
    code, out, err, seconds = _run(["inspect", url, "--timeout", str(TIMEOUT_S), "--whole"])
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2, err
    assert out == ""  # no partial output
    assert "Traceback" not in err
    assert len(errors) == 1 and url in errors[0], err
    assert problem.lower() in errors[0].lower(), errors[0]
    # the slowest fault (a connection closed mid-response, retried) is given up after the timeout
    assert seconds < 4 * TIMEOUT_S + 5, seconds


def test_good_server_still_streams(server):
    code, out, err, _ = _run(["inspect", server.url("ok", "x.nwb"), "--timeout", str(TIMEOUT_S)])
    assert code == 0, err
    assert "x.nwb" in out


def test_timeout_must_be_positive(server):
    code, _, err, _ = _run(["inspect", server.url("ok", "x.nwb"), "--timeout", "0"])
    assert code == 2 and "timeout" in err and "Traceback" not in err


def test_default_timeout_is_documented():
    from adhesive_dots.io.remote import HTTP_TIMEOUT_S

    readme = (Path(__file__).parents[2] / "docs" / "reliability.md").read_text()
    assert f"{HTTP_TIMEOUT_S:g} s" in readme
    assert np.isfinite(HTTP_TIMEOUT_S)
