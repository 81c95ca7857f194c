"""Catalog benchmarks: similarity search over 100,000 stored vectors; ingest throughput.

Run with ``make bench`` (all benchmarks) or ``python benchmarks/bench_catalog.py``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np

from adhesive_dots.catalog import Catalog, SourceRecord, similar_dots
from adhesive_dots.catalog.search import VectorIndex


def bench_similarity(n_rows: int = 100_000, n_features: int = 32, n_queries: int = 50) -> dict:
    """Fill a catalog with ``n_rows`` synthetic vectors and time ``similar_dots`` queries."""
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        cat = Catalog(Path(tmp) / "bench.duckdb")
        cat.write_source(SourceRecord("seed", "h"), vector_names=[f"f{i}" for i in range(n_features)])
        vectors = rng.normal(size=(n_rows, n_features)) * rng.uniform(0.1, 100, n_features)
        ids = [f"dot-{i:06d}" for i in range(n_rows)]
        with duckdb.connect(str(cat.path)) as con:  # bulk synthetic rows (the benchmark's own setup)
            con.execute(
                "INSERT INTO dots (dot_id, source, content_hash, duration_s, metadata_json) "
                "SELECT dot_id, 'synthetic', 'sha256:' || dot_id, 600.0, '{}' FROM (SELECT unnest(?) AS dot_id)",
                [ids],
            )
            con.execute("INSERT INTO fingerprints SELECT unnest(?), unnest(?), '1', NULL", [ids, vectors.tolist()])
        start = time.perf_counter()
        cat.vectors()
        load_s = time.perf_counter() - start
        similar_dots(cat, ids[0], k=10)  # builds the standardised cache
        times = []
        for q in rng.integers(0, n_rows, n_queries):
            start = time.perf_counter()
            result = similar_dots(cat, ids[q], k=10)
            times.append(time.perf_counter() - start)
        # the in-memory kernel alone, and scikit-learn's brute-force neighbours as the peer
        index = VectorIndex.build(vectors)
        z = index.z
        start = time.perf_counter()
        for q in range(n_queries):
            index.nearest(vectors[q], k=11, metric="cosine")
        kernel_ms = (time.perf_counter() - start) / n_queries * 1000
        from sklearn.neighbors import NearestNeighbors

        nn = NearestNeighbors(n_neighbors=11, metric="cosine", algorithm="brute").fit(z)
        start = time.perf_counter()
        for q in range(n_queries):
            nn.kneighbors(z[q : q + 1])
        sklearn_ms = (time.perf_counter() - start) / n_queries * 1000
        assert len(result) == 10
    return {
        "rows": n_rows,
        "features": n_features,
        "first_load_s": load_s,
        "query_median_ms": statistics.median(times) * 1000,
        "query_p95_ms": float(np.percentile(times, 95) * 1000),
        "kernel_ms": kernel_ms,
        "sklearn_brute_ms": sklearn_ms,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args, _ = parser.parse_known_args(argv)
    result = bench_similarity(args.rows)
    print(f"\n== catalog similarity search ({result['rows']:,} vectors x {result['features']} features)")
    print(f"  first load of vectors      {result['first_load_s'] * 1000:8.1f} ms (once per catalog change)")
    print(f"  similar_dots median        {result['query_median_ms']:8.2f} ms  (target < 50 ms)")
    print(f"  similar_dots p95           {result['query_p95_ms']:8.2f} ms")
    print(f"  numpy kernel per query     {result['kernel_ms']:8.2f} ms")
    print(f"  sklearn brute per query    {result['sklearn_brute_ms']:8.2f} ms  "
          f"(ratio sklearn/ours {result['sklearn_brute_ms'] / result['kernel_ms']:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
