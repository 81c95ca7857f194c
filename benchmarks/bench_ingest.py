"""Archive-scale ingest on Dask: sessions per minute with 1 and 2 workers, and memory over the run.

Simulates ``--sessions`` small sessions (real NWB files: calcium and ephys labs, 60 s of rest and
10 s of task each, a tenth of the default size), then ingests them into a fresh catalog through a
cluster of separate processes (``dask scheduler`` + ``dask worker`` on 127.0.0.1, as an existing
cluster would be used with ``adots ingest --scheduler``), once with 1 worker and once with 2.
Prints sessions per minute, the ratio (issue 11 target: >= 1.6x with 2 workers), failed tasks, and
the resident memory of the scheduler and of the writer (this process, the only one writing the
catalog) sampled every ``--sample-s`` seconds: first-quarter vs last-quarter median shows growth.

``python benchmarks/bench_ingest.py --sessions 200`` (issue 6) or ``--sessions 1000`` (issue 11).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from adhesive_dots.catalog import Catalog
from adhesive_dots.parallel.cluster import process_cluster
from adhesive_dots.sim import sim_corpus
from adhesive_dots.workflows.ingest import ingest


class MemorySampler(threading.Thread):
    """Samples the RSS (MB) of some processes every ``interval`` s until stopped."""

    def __init__(self, pids: dict[str, int], interval: float) -> None:
        super().__init__(daemon=True)
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.samples: dict[str, list[float]] = {name: [] for name in pids}
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            for name, process in self.processes.items():
                try:
                    self.samples[name].append(process.memory_info().rss / 1e6)
                except psutil.Error:
                    pass
            self._stop_event.wait(self.interval)

    def stop(self) -> dict[str, dict[str, float]]:
        self._stop_event.set()
        self.join()
        out = {}
        for name, values in self.samples.items():
            quarter = max(1, len(values) // 4)
            out[name] = {
                "n": len(values),
                "first_quarter_mb": statistics.median(values[:quarter]),
                "last_quarter_mb": statistics.median(values[-quarter:]),
                "max_mb": max(values),
            }
        return out


def run_ingest(root: Path, n_workers: int, workdir: Path, interval: float) -> dict:
    """Ingest ``root`` through a fresh process cluster of ``n_workers`` into a fresh catalog."""
    catalog = Catalog(workdir / f"ingest-{n_workers}w.duckdb")
    with process_cluster(n_workers) as cluster:
        sampler = MemorySampler({"scheduler": cluster.scheduler_pid, "writer": os.getpid()}, interval)
        sampler.start()
        start = time.perf_counter()
        summary = ingest([root], catalog, scheduler=cluster.address, min_duration=30.0)
        seconds = time.perf_counter() - start
        memory = sampler.stop()
    return {
        "workers": n_workers,
        "seconds": seconds,
        "sessions": summary.sources,
        "ingested": summary.ingested,
        "failed": summary.failed,
        "per_minute": summary.sources / seconds * 60.0,
        "memory": memory,
        "dots": len(catalog.dots()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--sample-s", type=float, default=1.0, help="memory sampling interval (s)")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one, removed)")
    parser.add_argument("--quick", action="store_true", help="24 sessions (smoke run)")
    args, _ = parser.parse_known_args(argv)
    n = 24 if args.quick else args.sessions
    with tempfile.TemporaryDirectory(prefix="adots-bench-ingest-", dir=args.dir) as tmp:
        workdir = Path(tmp)
        root = workdir / "corpus"
        start = time.perf_counter()
        sim_corpus(root, labs=2, subjects_per_lab=math.ceil(n / 2), sessions_per_subject=1, spont_duration=60.0,
                   task_duration=10.0, size=0.1, defect_fraction=0.0, rng=0)  # fmt: skip
        n = 2 * math.ceil(n / 2)
        print(f"simulated {n} sessions in {time.perf_counter() - start:.1f} s (load {os.getloadavg()[0]:.1f})")
        results = [run_ingest(root, w, workdir, args.sample_s) for w in (1, 2)]
    print(f"\ningest of {n} small sessions (calcium + ephys NWB), dask scheduler + worker processes on 127.0.0.1")
    print(f"{'workers':>7} {'seconds':>8} {'sessions/min':>12} {'failed':>6} {'dots':>5}   "
          f"{'scheduler RSS MB (first q -> last q, max)':<42} writer RSS MB (first q -> last q, max)")  # fmt: skip
    for r in results:
        m = r["memory"]
        s, w = m["scheduler"], m["writer"]
        print(f"{r['workers']:>7} {r['seconds']:>8.1f} {r['per_minute']:>12.1f} {r['failed']:>6} {r['dots']:>5}   "
              f"{s['first_quarter_mb']:>6.0f} -> {s['last_quarter_mb']:>6.0f}, {s['max_mb']:>6.0f}{'':<20}"
              f"{w['first_quarter_mb']:>6.0f} -> {w['last_quarter_mb']:>6.0f}, {w['max_mb']:>6.0f}")  # fmt: skip
    ratio = results[1]["per_minute"] / results[0]["per_minute"]
    print(
        f"throughput 2 workers / 1 worker: {ratio:.2f}x (target >= 1.6x); "
        f"load average at the end {' '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} cores"
    )
    return 0 if all(r["failed"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
