"""Import benchmark: ``adots import`` of a large Parquet export, and how long a search waits meanwhile.

Writes an export of ``--rows`` synthetic dots (realistic metadata records of about 1 KB, 18-element
vectors, one finding each), imports it into a fresh catalog while another process runs a metadata
search every 0.2 s, and prints the import rate (rows/s of wall time and per CPU second: on a shared
machine the second is the one to trust), the longest search latency seen and the peak memory.

Run with ``make bench`` (all benchmarks, 10^5 rows) or
``python benchmarks/bench_import.py --rows 1000000`` (the issue-19 target: under 120 s, at least
10^4 rows/s on two cores, searches never blocked for more than a few seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from adhesive_dots.catalog import Catalog
from adhesive_dots.catalog.exchange import EXPORT_ROW_GROUP_ROWS, PARQUET_SCHEMA, import_parquet
from adhesive_dots.fingerprint import SUMMARY_NAMES
from adhesive_dots.metadata import DotMetadata

SEARCHER = """
import sys, time, json
from adhesive_dots.catalog import Catalog, search_dots
from pathlib import Path
cat, stop = Catalog(sys.argv[1]), Path(sys.argv[2])
worst, n = 0.0, 0
while not stop.exists():
    t = time.perf_counter()
    try:
        search_dots(cat, species="Mus musculus", limit=5)
    except Exception:
        pass  # no catalog yet
    worst, n = max(worst, time.perf_counter() - t), n + 1
    time.sleep(0.2)
print(json.dumps({"worst_s": worst, "searches": n}))
"""


def write_export(path: Path, n_rows: int, *, seed: int = 0) -> None:
    """A Parquet export of ``n_rows`` synthetic dots (two per source), written in row groups."""
    rng = np.random.default_rng(seed)
    template = DotMetadata.from_dict(
        {
            "identity": {"lab": "lab-bench", "subject_id": "SUBJECT", "session_id": "1"},
            "recording": {"modality": "calcium", "sampling_frequency": 30.0, "n_channels": 500, "indicator": "GCaMP6s"},
            "paradigm": {"name": "animal-head-fixed-task-free", "screen": "grey"},
            "environment": {"illumination": "dark"},
            "arousal": {"measures": ["pupil", "locomotion"]},
            "subject": {"species": "Mus musculus", "sex": "F", "age": "P90D", "strain": "C57BL/6J"},
            "segment": {"start": 0.0, "stop": 600.0, "duration": 600.0},
        }
    ).model_dump_json(exclude_none=True)
    finding = json.dumps([{"code": "signal.drift", "severity": "warning", "message": "slow drift", "value": 0.3}])
    writer = pq.ParquetWriter(
        path,
        PARQUET_SCHEMA.with_metadata({"adots_catalog_schema": "2", "adots_vector_names": json.dumps(SUMMARY_NAMES)}),
    )
    try:
        for start in range(0, n_rows, EXPORT_ROW_GROUP_ROWS):
            ids = range(start, min(start + EXPORT_ROW_GROUP_ROWS, n_rows))
            n = len(ids)
            vectors = rng.normal(size=(n, len(SUMMARY_NAMES)))
            columns = {
                "dot_id": [f"dot-{i:012d}" for i in ids],
                "source": [f"bench/sub-{i // 2:08d}.nwb" for i in ids],
                "source_hash": [f"sha256:{i // 2:064x}" for i in ids],
                "segment_start": [0.0] * n,
                "segment_stop": [600.0] * n,
                "duration_s": [600.0] * n,
                "content_hash": [f"sha256:{i:064x}" for i in ids],
                "metadata_json": [template.replace("SUBJECT", f"s{i // 2}") for i in ids],
                "vector": pa.array(list(vectors), pa.list_(pa.float64())),
                "findings_json": [finding] * n,
            }
            writer.write_table(pa.table(columns, schema=PARQUET_SCHEMA))
    finally:
        writer.close()


def _cpu_s() -> float:
    """CPU seconds of this process and its reaped children (the machine may be shared: wall time alone misleads)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_rss_mb() -> float:
    """The largest resident set of this process or of any reaped child (the checking workers), in MB."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return max(own.ru_maxrss, children.ru_maxrss) / 1024  # KiB on Linux


def bench_import(n_rows: int) -> dict:
    """Import ``n_rows`` into a new catalog with a searcher running; returns rate and worst search latency."""
    with tempfile.TemporaryDirectory(prefix="adots-bench-import-") as tmp:
        export = Path(tmp) / "export.parquet"
        t0 = time.perf_counter()
        write_export(export, n_rows)
        write_s = time.perf_counter() - t0
        catalog = Catalog(Path(tmp) / "bench.duckdb")
        catalog.upgrade()
        searcher = subprocess.Popen(
            [sys.executable, "-c", SEARCHER, str(catalog.path), str(Path(tmp) / "stop")],
            stdout=subprocess.PIPE,
            text=True,
        )
        t0, cpu0 = time.perf_counter(), _cpu_s()
        report = import_parquet(catalog, export)
        import_s, cpu_s = time.perf_counter() - t0, _cpu_s() - cpu0  # the pool's workers are reaped: counted
        (Path(tmp) / "stop").touch()
        out, _ = searcher.communicate(timeout=120)
        searches = json.loads(out) if out.strip() else {"worst_s": float("nan"), "searches": 0}
        assert len(report.added) == n_rows, (len(report.added), report.rejected[:3], report.conflicts[:3])
        assert catalog.integrity_check() == []
        return {
            "rows": n_rows,
            "export_mb": round(export.stat().st_size / 1e6, 1),
            "write_export_s": round(write_s, 1),
            "import_s": round(import_s, 1),
            "rows_per_s": round(n_rows / import_s),
            "import_cpu_s": round(cpu_s, 1),
            "rows_per_cpu_s": round(n_rows / cpu_s),
            "peak_rss_mb": round(_peak_rss_mb()),
            "load_average_1min": round(os.getloadavg()[0], 1),
            "searches_during_import": searches["searches"],
            "worst_search_s": round(searches["worst_s"], 2),
        }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10^4 rows")
    args, _ = parser.parse_known_args(argv)
    result = bench_import(10_000 if args.quick else args.rows)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
