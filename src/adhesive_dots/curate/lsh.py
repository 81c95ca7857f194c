"""Locality-sensitive hashing of MinHash signatures: candidate near-duplicate pairs in linear time.

Signatures are cut into bands of ``rows_per_band`` values; two sketches become candidates
when they agree on a whole band in at least ``min_shared_bands`` bands. Each band is
bucketed by sorting its hash keys, so finding candidates costs ``O(n log n)`` per band plus
the pairs inside buckets: when unrelated sketches rarely agree (Jaccard near 0), buckets
stay small and the total grows about linearly with the number of sketches.

With one row per band and ``n`` bands, a pair of Jaccard similarity ``J`` shares a
binomial ``(n, J)`` number of bands; the default (256 one-row bands of the default
sketch, at least 4 shared) finds a pair with ``J = 0.05`` with probability 0.999 and one
with ``J = 0.1`` with probability above 0.99999999, and passes an unrelated pair with
``J = 0.002`` with probability 0.0019 (verification then turns it down).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adhesive_dots.errors import DataError

EMPTY = np.iinfo(np.uint32).max


@dataclass(frozen=True)
class CandidatePairs:
    """Candidate pairs found by :func:`find_candidate_pairs`.

    Attributes
    ----------
    pairs : ndarray of int, shape (n_pairs, 2)
        Row indices ``(i, j)`` into the signature matrix with ``i < j``, sorted.
    shared_bands : ndarray of int, shape (n_pairs,)
        Bands on which each pair agrees.
    jaccard : ndarray of float, shape (n_pairs,)
        Estimated Jaccard similarity (fraction of equal signature values).
    """

    pairs: np.ndarray
    shared_bands: np.ndarray
    jaccard: np.ndarray

    def __len__(self) -> int:
        return int(self.pairs.shape[0])


def _band_keys(signatures: np.ndarray, rows_per_band: int) -> np.ndarray:
    """``(n_bands, n)`` 64-bit keys, one per band and sketch."""
    n, k = signatures.shape
    n_bands = k // rows_per_band
    blocks = signatures[:, : n_bands * rows_per_band].reshape(n, n_bands, rows_per_band).astype(np.uint64)
    keys = np.zeros((n, n_bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for r in range(rows_per_band):
            keys = keys * np.uint64(0x100000001B3) + blocks[:, :, r] + np.uint64(1)
    return keys.T


def find_candidate_pairs(
    signatures: np.ndarray,
    *,
    rows_per_band: int = 1,
    min_shared_bands: int = 4,
) -> CandidatePairs:
    """Pairs of signatures that agree on at least ``min_shared_bands`` bands.

    Parameters
    ----------
    signatures : ndarray of uint32, shape (n_sketches, n_hashes)
        MinHash signatures (:attr:`adhesive_dots.curate.sketch.Sketch.signature`). Rows of an
        empty token set (all ``2**32 - 1``) never pair.
    rows_per_band : int
        Signature values per band.
    min_shared_bands : int
        Bands two signatures must share to become a candidate pair.

    Returns
    -------
    CandidatePairs
    """
    sig = np.asarray(signatures)
    if sig.ndim != 2:
        raise DataError(f"signatures must be (n_sketches, n_hashes), got shape {sig.shape}")
    if rows_per_band < 1 or rows_per_band > sig.shape[1]:
        raise DataError(f"rows_per_band must lie in 1..{sig.shape[1]} (signature length), got {rows_per_band}")
    if min_shared_bands < 1:
        raise DataError(f"min_shared_bands must be at least 1, got {min_shared_bands}")
    n = sig.shape[0]
    empty = np.all(sig == EMPTY, axis=1)
    found: list[np.ndarray] = []
    for keys in _band_keys(sig, rows_per_band):
        order = np.argsort(keys, kind="stable")
        order = order[~empty[order]]
        sorted_keys = keys[order]
        if sorted_keys.size < 2:
            continue
        boundaries = np.flatnonzero(np.diff(sorted_keys)) + 1
        starts = np.concatenate(([0], boundaries))
        sizes = np.diff(np.concatenate((starts, [sorted_keys.size])))
        for start, size in zip(starts[sizes > 1], sizes[sizes > 1], strict=True):
            members = np.sort(order[start : start + size])
            i, j = np.triu_indices(size, k=1)
            found.append(members[i].astype(np.int64) * n + members[j])
    if not found:
        none = np.empty((0, 2), dtype=np.int64)
        return CandidatePairs(none, np.empty(0, dtype=np.int64), np.empty(0))
    codes, counts = np.unique(np.concatenate(found), return_counts=True)
    keep = counts >= min_shared_bands
    codes, counts = codes[keep], counts[keep]
    pairs = np.stack([codes // n, codes % n], axis=1)
    jaccard = np.mean(sig[pairs[:, 0]] == sig[pairs[:, 1]], axis=1) if len(pairs) else np.empty(0)
    return CandidatePairs(pairs, counts, jaccard)
