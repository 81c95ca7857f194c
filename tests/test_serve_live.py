"""``adots serve`` live with ``adots ingest``: the server reads the catalog while another process writes it.

Clients keep asking for dot lists, dots and the snapshot's integrity while an ingest (a separate process,
one transaction per source) adds sessions: no request fails, none sees a partial dot (a dot without its
source row, fingerprint or findings), and the new dots appear without a restart.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time

import httpx
import pytest

from adhesive_dots.catalog import Catalog

pytestmark = [pytest.mark.slow, pytest.mark.network]


def _client_loop(base: str, stop: threading.Event, seen: dict, problems: list[str]) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        while not stop.is_set():
            try:
                page = client.get("/api/dots", params={"per_page": 500})
                if page.status_code != 200:
                    problems.append(f"list: {page.status_code} {page.text[:200]}")
                    continue
                ids = [d["dot_id"] for d in page.json()["dots"]]
                seen["max"] = max(seen.get("max", 0), len(ids))
                for dot_id in ids[-3:]:  # the newest dots in catalog order
                    dot = client.get(f"/api/dots/{dot_id}")
                    body = dot.json()
                    if dot.status_code != 200:  # a dot listed by one view is in every later view
                        problems.append(f"dot {dot_id}: {dot.status_code} {dot.text[:200]}")
                    elif not body["stored"]["source_hash"] or body["summary"] is None or not body["findings"]:
                        problems.append(f"partial dot {dot_id}: {body['stored']}")
                status = client.get("/api/status").json()
                if status["integrity"]:
                    problems.append(f"integrity: {status['integrity']}")
                seen["versions"] = status["snapshot_version"]
            except httpx.HTTPError as err:
                problems.append(f"request failed: {err!r}")


def test_new_dots_appear_while_an_ingest_writes(served_catalog, tmp_path):
    from adhesive_dots.serve import ServerThread, create_app
    from adhesive_dots.sim import sim_corpus

    corpus = sim_corpus(
        tmp_path / "more",
        labs=2,
        subjects_per_lab=2,
        sessions_per_subject=1,
        spont_duration=60.0,
        task_duration=10.0,
        size=0.1,
        defect_fraction=0.0,
        rng=3,
    )
    path = tmp_path / "live.duckdb"
    shutil.copy(served_catalog.path, path)
    before = len(Catalog(path).dots())
    app = create_app(path, poll_s=0.1, min_interval_s=0.2)
    with ServerThread(app) as server:
        stop, seen, problems = threading.Event(), {}, []
        clients = [threading.Thread(target=_client_loop, args=(server.url, stop, seen, problems)) for _ in range(3)]
        for thread in clients:
            thread.start()
        ingest = subprocess.run(
            [
                sys.executable,
                "-m",
                "adhesive_dots",
                "ingest",
                str(corpus.root),
                "--catalog",
                str(path),
                "--workers",
                "0",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert ingest.returncode == 0, ingest.stderr
        expected = before + len(corpus.entries)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and seen.get("max", 0) < expected:
            time.sleep(0.1)
        stop.set()
        for thread in clients:
            thread.join(timeout=60)
        live = app.state.adots.live
    assert not problems, problems[:5]
    assert seen["max"] == expected  # every new dot, without a restart
    assert live.refreshes >= 1 and live.last_error is None


def test_adots_serve_starts_answers_and_stops(served_catalog):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "adhesive_dots", "serve", "--catalog", str(served_catalog.path), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=2)
                break
            except httpx.HTTPError:
                assert server.poll() is None and time.monotonic() < deadline, (
                    server.stderr.read() if server.poll() else ""
                )
                time.sleep(0.2)
        assert response.status_code == 200 and response.json()["n_dots"] == len(served_catalog.dots())
        assert "<title>Catalog of adhesive dots" in httpx.get(f"http://127.0.0.1:{port}/").text
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out
