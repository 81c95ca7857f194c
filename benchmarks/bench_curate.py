"""Curation benchmark: near-duplicate search over 1,000 ... 10,000 sketches grows about linearly.

Synthetic sketches stand for a corpus: each is the MinHash signature (256 values) of its
own random token set of 2,000 tokens (the minimum of 2,000 uniform hashes, drawn exactly
by inverse transform), and 1 % of them are near-duplicates of another sketch sharing 30 %
of its values (Jaccard 0.3, what a cropped or resampled copy shows). The search is
:func:`adhesive_dots.curate.find_candidate_pairs` (LSH, one-row bands, at least 4 shared).
For comparison, the all-pairs estimate of Jaccard similarity is timed at the small sizes.

Run with ``make bench`` or ``python benchmarks/bench_curate.py [--sizes 1000 2000 5000 10000]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from adhesive_dots.curate import SketchParams, compute_sketch, find_candidate_pairs
from adhesive_dots.sim import sim_powerlaw

N_HASHES = SketchParams().n_hashes
N_TOKENS = 2000


def synthetic_signatures(n: int, *, rng: np.random.Generator) -> tuple[np.ndarray, set[tuple[int, int]]]:
    """``n`` signatures of unrelated random token sets with 1 % planted near-duplicates."""
    u = rng.random((n, N_HASHES))
    minimum = 1.0 - (1.0 - u) ** (1.0 / N_TOKENS)  # the minimum of N_TOKENS uniforms on [0, 1)
    sig = np.minimum(minimum * 2**32, 2**32 - 2).astype(np.uint32)
    planted = set()
    originals = rng.choice(n, size=max(1, n // 100) * 2, replace=False).reshape(-1, 2)
    for i, j in originals:
        share = rng.random(N_HASHES) < 0.3
        sig[j, share] = sig[i, share]
        planted.add((min(i, j), max(i, j)))
    return sig, planted


def all_pairs_seconds(sig: np.ndarray) -> float:
    """All-pairs agreement counts (the quadratic way), in blocks of 256 rows."""
    start = time.perf_counter()
    for i in range(0, sig.shape[0], 256):
        (sig[i : i + 256, None, :] == sig[None, :, :]).sum(axis=2)
    return time.perf_counter() - start


def bench_search(sizes: list[int], repeats: int = 3) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        sig, planted = synthetic_signatures(n, rng=rng)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            found = find_candidate_pairs(sig)
            times.append(time.perf_counter() - start)
        pairs = {tuple(p) for p in found.pairs.tolist()}
        rows.append(
            {
                "n": n,
                "seconds": min(times),
                "candidates": len(pairs),
                "recall": len(pairs & planted) / len(planted),
                "false": len(pairs - planted),
                "all_pairs_s": all_pairs_seconds(sig) if n <= 2000 else None,
            }
        )
    return rows


def bench_sketch() -> float:
    """Seconds to sketch one 10-minute, 19-channel, 250 Hz recording."""
    x = sim_powerlaw(150_000, 250.0, 1.5, n_signals=19, rng=1)
    start = time.perf_counter()
    compute_sketch(x, 250.0)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 5000, 10000])
    args, _ = parser.parse_known_args(argv)
    rows = bench_search(args.sizes)
    print(f"\n== near-duplicate search over synthetic sketches ({N_HASHES} MinHash values each)")
    print(f"  {'sketches':>9} {'time':>10} {'per sketch':>11} {'candidates':>11} {'recall':>7} {'false':>6} "
          f"{'all-pairs':>10}")  # fmt: skip
    for row in rows:
        brute = f"{row['all_pairs_s']:9.3f}s" if row["all_pairs_s"] is not None else f"{'-':>10}"
        print(f"  {row['n']:>9,} {row['seconds'] * 1000:8.1f}ms {row['seconds'] / row['n'] * 1e6:9.1f}us "
              f"{row['candidates']:>11,} {row['recall']:>7.0%} {row['false']:>6} {brute}")  # fmt: skip
    first, last = rows[0], rows[-1]
    size_ratio = last["n"] / first["n"]
    growth = last["seconds"] / first["seconds"]
    exponent = np.log(growth) / np.log(size_ratio)
    print(f"  growth {first['n']:,} -> {last['n']:,}: time x{growth:.1f} for size x{size_ratio:.0f} "
          f"(linear x{size_ratio:.0f}, quadratic x{size_ratio**2:.0f}; exponent {exponent:.2f})")  # fmt: skip
    print(f"  sketching one 10-min, 19-channel, 250 Hz recording: {bench_sketch():.2f} s")


if __name__ == "__main__":
    main()
