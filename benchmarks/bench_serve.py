"""``adots serve`` under load while ``adots ingest`` writes the catalog: latencies per request kind.

Builds a catalog of ``--dots`` dots (default 10,000): a simulated corpus ingested for real (validated,
fingerprinted), then synthetic dots cloned from those through the store's own methods (other labs,
subjects and sessions; jittered summary vectors; the real dots' fingerprint files and findings). Then
it starts ``adots serve`` on 127.0.0.1 (its own process), and for ``--seconds`` (default 30) runs
``--clients`` (default 20) concurrent clients mixing the catalog page (filters, sorting, pages), dot
pages, the JSON dot list and dot, similar dots and comparisons, while ``adots ingest`` (another
process) adds ``--ingest`` (default 50) more simulated sessions. Each client sends its next request
as soon as the last one is answered (no think time: the server runs saturated, so latencies are
mostly queueing; the requests per second are its capacity); ``--think-ms 500`` makes each client pause
(exponentially distributed, mean 0.5 s) between requests, like people reading pages. Prints p50/p95 per request kind
(targets: p95 < 200 ms for the catalog and dot pages), failed requests, requests that saw a partial
dot (a dot without its source row, fingerprint summary or findings), and how many snapshots the server
took while the ingest ran.

``python benchmarks/bench_serve.py`` (about 4 minutes on 2 cores; the same load then runs again on the
catalog at rest, for comparison) or ``--quick`` (2,000 dots, 10 s, 8 clients, 8 sessions).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from adhesive_dots.catalog import Catalog, DotRecord
from adhesive_dots.core import Finding, Severity
from adhesive_dots.fingerprint import SUMMARY_NAMES
from adhesive_dots.metadata import DotMetadata
from adhesive_dots.sim import sim_corpus
from adhesive_dots.workflows.ingest import ingest

PAGE_TARGET_MS = 200.0
KINDS = {  # request kind -> weight in the mix
    "catalog page": 3,
    "dot page": 3,
    "api list": 2,
    "api dot": 2,
    "similar": 2,
    "compare": 1,
}
FILTERS = [
    {},
    {"paradigm": "animal-head-fixed-task-free"},
    {"paradigm": "animal-head-fixed-task-free", "arousal": "pupil", "status": "compliant", "min_duration": "600"},
    {"species": "Homo sapiens"},
    {"modality": "calcium", "sort": "duration_s", "order": "desc"},
    {"status": "noncompliant", "sort": "identity_lab"},
]


def build_catalog(folder: Path, n_dots: int, rng: np.random.Generator) -> tuple[Catalog, list[str]]:
    """A real ingested corpus plus synthetic dots up to ``n_dots``; returns the catalog and the real dot ids."""
    corpus = sim_corpus(folder / "corpus", labs=3, subjects_per_lab=2, sessions_per_subject=1, size=0.25, rng=1)
    catalog = Catalog(folder / "bench.duckdb")
    ingest([corpus.root], catalog, workers=0)
    real = catalog.dots()
    findings = catalog.findings(list(real["dot_id"]))
    templates = []
    for row in real.itertuples():
        own = [
            Finding(f.code, Severity(f.severity), f.message, location=f.location or "", fix=f.fix or "")
            for f in findings[findings["dot_id"] == row.dot_id].itertuples()
        ]
        templates.append(
            (
                DotMetadata.from_json(row.metadata_json),
                row,
                catalog.vector_of(row.dot_id),
                catalog.fingerprint_path(row.dot_id),
                tuple(own),
            )
        )
    n_new = max(0, n_dots - len(real))
    with catalog.transaction() as tx:
        tx.check_vector_names(list(SUMMARY_NAMES))
        for i in range(n_new):
            metadata, row, vector, netcdf, own = templates[i % len(templates)]
            meta = metadata.model_copy(deep=True)
            lab = f"{meta.identity.lab}-{i % 12:02d}"
            meta.identity.lab = lab
            meta.identity.subject_id = f"S{i // 7:05d}"
            meta.identity.session_id = f"{i % 7 + 1:02d}"
            source = f"synthetic://{lab}/sub-{meta.identity.subject_id}/ses-{meta.identity.session_id}"
            meta.identity.source_uri = source
            jitter = vector * (1 + 0.1 * rng.standard_normal(vector.shape))
            dot = DotRecord(
                f"dot-syn{i:07d}",
                meta,
                (row.start_s, row.stop_s),
                row.duration_s,
                f"sha256:syn{i}",
                vector=jitter,
                netcdf_path=netcdf,
                findings=own,
            )
            tx.insert_dot(source, dot)
            tx.add_source(source, f"syn{i}", "bench", "ok", 1)
    return catalog, list(real["dot_id"])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(catalog: Catalog, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "adhesive_dots", "serve", "--catalog", str(catalog.path), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"adots serve exited: {server.stderr.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("adots serve did not answer within 120 s")


class Load:
    """Concurrent clients and what they measured."""

    def __init__(self, base: str, dot_ids: list[str], compare_pool: list[str], seed: int, think_s: float = 0.0) -> None:
        self.base = base
        self.think_s = think_s
        self.dot_ids = dot_ids
        self.compare_pool = compare_pool
        self.rng = random.Random(seed)
        self.latency: dict[str, list[float]] = {kind: [] for kind in KINDS}
        self.failures: list[str] = []
        self.partial: list[str] = []
        self.max_total = 0

    def pick(self) -> tuple[str, str, dict]:
        kind = self.rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        dot = self.rng.choice(self.dot_ids)
        if kind == "catalog page":
            params = {**self.rng.choice(FILTERS), "page": str(self.rng.randint(1, 5))}
            return kind, "/", params
        if kind == "api list":
            return kind, "/api/dots", {**self.rng.choice(FILTERS), "page": str(self.rng.randint(1, 20))}
        if kind == "dot page":
            return kind, f"/dots/{dot}", {}
        if kind == "api dot":
            return kind, f"/api/dots/{dot}", {}
        if kind == "similar":
            return kind, f"/api/dots/{dot}/similar", {"k": "10"}
        a, b = self.rng.sample(self.compare_pool, 2)
        return kind, "/api/compare", {"a": a, "b": b}

    async def client(self, http: httpx.AsyncClient, until: float) -> None:
        while time.monotonic() < until:
            if self.think_s:
                await asyncio.sleep(self.rng.expovariate(1.0 / self.think_s))
            kind, path, params = self.pick()
            started = time.perf_counter()
            try:
                response = await http.get(path, params=params)
            except httpx.HTTPError as err:
                self.failures.append(f"{kind} {path}: {err!r}")
                continue
            self.latency[kind].append(time.perf_counter() - started)
            if response.status_code != 200:
                self.failures.append(f"{kind} {path} {params}: {response.status_code} {response.text[:120]}")
            elif kind == "api dot":
                body = response.json()
                if not body["stored"]["source_hash"] or body["summary"] is None or not body["metadata"]:
                    self.partial.append(path)
            elif kind == "api list":
                self.max_total = max(self.max_total, response.json()["total"])

    async def run(self, n_clients: int, seconds: float) -> None:
        limits = httpx.Limits(max_connections=n_clients, max_keepalive_connections=n_clients)
        async with httpx.AsyncClient(base_url=self.base, timeout=60, limits=limits) as http:
            until = time.monotonic() + seconds
            await asyncio.gather(*(self.client(http, until) for _ in range(n_clients)))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else math.nan


def print_table(title: str, load: Load, seconds: float) -> None:
    """p50/p95/max per request kind, throughput, failures and partial dots of one load phase."""
    total = sum(len(v) for v in load.latency.values())
    print(f"\n== {title}")
    print(f"{'request':<14} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for kind, values in load.latency.items():
        target = f"  (target p95 < {PAGE_TARGET_MS:g} ms)" if kind in ("catalog page", "dot page") else ""
        print(
            f"{kind:<14} {len(values):>6} {percentile(values, 50):>8.1f} {percentile(values, 95):>8.1f} "
            f"{max(values) * 1000 if values else math.nan:>8.1f}{target}"
        )
    print(
        f"{total} requests ({total / seconds:.0f}/s); failed: {len(load.failures)}; "
        f"saw a partial dot: {len(load.partial)}; load average {' '.join(f'{v:.1f}' for v in os.getloadavg())} "
        f"on {os.cpu_count()} cores"
    )
    for failure in load.failures[:5]:
        print(f"  failed: {failure}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dots", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--ingest", type=int, default=50, help="sessions ingested while the clients run")
    parser.add_argument(
        "--think-ms", type=float, default=0.0, help="mean pause of each client between requests (default 0: saturated)"
    )
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one, removed)")
    parser.add_argument("--quick", action="store_true", help="2,000 dots, 10 s, 8 clients, 8 sessions")
    args, _ = parser.parse_known_args(argv)
    if args.quick:
        args.dots, args.seconds, args.clients, args.ingest = 2_000, 10.0, 8, 8
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="adots-bench-serve-", dir=args.dir) as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        catalog, real_ids = build_catalog(folder, args.dots, rng)
        n_before = len(catalog.dots(columns=["dot_id"]))
        print(
            f"catalog of {n_before:,} dots built in {time.perf_counter() - started:.0f} s "
            f"({os.path.getsize(catalog.path) / 1e6:.0f} MB)",
            flush=True,
        )
        more = sim_corpus(
            folder / "more",
            labs=2,
            subjects_per_lab=math.ceil(args.ingest / 2),
            sessions_per_subject=1,
            spont_duration=60.0,
            task_duration=10.0,
            size=0.1,
            defect_fraction=0.0,
            rng=2,
        )
        command = [sys.executable, "-m", "adhesive_dots", "ingest", str(more.root), "--catalog", str(catalog.path)]
        port = free_port()
        server = start_server(catalog, port)
        try:
            ids = list(catalog.dots(columns=["dot_id"])["dot_id"])
            pool = real_ids + ids[len(real_ids) : len(real_ids) + 14]
            base = f"http://127.0.0.1:{port}"
            asyncio.run(Load(base, ids, pool, seed=0).run(2, 3.0))  # warm-up: first fingerprints, imports
            during = Load(base, ids, pool, seed=1, think_s=args.think_ms / 1000)
            writer = subprocess.Popen(
                [*command, "--workers", "0", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            ingest_started = time.perf_counter()
            asyncio.run(during.run(args.clients, args.seconds))
            ingest_running = writer.poll() is None
            out, err = writer.communicate(timeout=1800)
            ingest_s = time.perf_counter() - ingest_started
            time.sleep(2.0)  # one more snapshot after the last commit
            status = httpx.get(f"{base}/api/status", timeout=30).json()
            after = Load(base, ids, pool, seed=2, think_s=args.think_ms / 1000)
            asyncio.run(after.run(args.clients, args.seconds))
        finally:
            server.terminate()
            server.wait(timeout=30)
    n_ingested = len(more.entries)
    state = "still running at the end" if ingest_running else "done"
    print_table(
        f"adots serve, {args.clients} clients (pause {args.think_ms:g} ms) for {args.seconds:g} s on 127.0.0.1, "
        f"{n_before:,} dots, while adots ingest added {n_ingested} sessions "
        f"(ingest {state} after {ingest_s:.0f} s; exit {writer.returncode})",
        during,
        args.seconds,
    )
    print(
        f"snapshots taken by the server meanwhile: {status['refreshes']} (now version {status['snapshot_version']}, "
        f"{status['n_dots']:,} dots = {n_before:,} + {status['n_dots'] - n_before}); integrity problems: "
        f"{status['integrity'] or 'none'}"
    )
    if writer.returncode != 0:
        print(f"  ingest failed: {err[-500:]}")
    print_table(f"the same load on the catalog at rest (no ingest), {status['n_dots']:,} dots", after, args.seconds)
    ok = (
        not during.failures
        and not during.partial
        and not after.failures
        and writer.returncode == 0
        and status["n_dots"] == n_before + n_ingested
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
