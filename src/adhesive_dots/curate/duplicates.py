"""Finding the duplicate pairs of a set of baselines: content hashes, sketch LSH, verification.

:func:`find_duplicates` works on keys (dot ids, paths) and never opens a file itself:

1. baselines with equal content hashes (:func:`adhesive_dots.curate.hashing.compute_content_hash`)
   are exact duplicates at once;
2. the MinHash signatures of their sketches are bucketed by locality-sensitive hashing
   (:func:`adhesive_dots.curate.lsh.find_candidate_pairs`), which yields candidate pairs in
   about linear time;
3. each candidate pair is verified on the samples (:func:`adhesive_dots.curate.verify.verify_pair`),
   the samples coming from the caller's ``load(key)``; a cache keeps the most recently
   prepared baselines, and candidate pairs are visited in key order to reuse it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adhesive_dots.curate.lsh import find_candidate_pairs
from adhesive_dots.curate.sketch import Sketch
from adhesive_dots.curate.verify import PairEvidence, PreparedBaseline, VerifyParams, compare_prepared, prepare_baseline
from adhesive_dots.errors import DataError


@dataclass(frozen=True)
class LoadedBaseline:
    """What ``load(key)`` returns: samples ``(n_channels, n_times)``, ``fs`` in Hz, channel names."""

    data: np.ndarray
    fs: float
    channel_names: tuple[str, ...]


@dataclass(frozen=True)
class DuplicatePair:
    """Two keys found to hold the same samples, with the evidence.

    Attributes
    ----------
    a, b : str
        Keys, ``a`` before ``b`` in the order given to :func:`find_duplicates`.
    kind : str
        ``"exact"`` or ``"near"``.
    evidence : dict
        ``method`` (``"content-hash"`` or ``"sketch+verify"``), and for verified pairs every
        field of :class:`~adhesive_dots.curate.verify.PairEvidence` plus ``jaccard`` (estimated
        from the sketches) and ``shared_bands``.
    """

    a: str
    b: str
    kind: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class DuplicateSearch:
    """The outcome of :func:`find_duplicates`.

    Attributes
    ----------
    pairs : list of DuplicatePair
        Confirmed duplicates.
    rejected : list of DuplicatePair
        Candidates the verification turned down (``kind == "distinct"``), with their evidence,
        or could not verify (``kind == "unverified"``, ``evidence["error"]`` says why).
    n_candidates : int
        Candidate pairs proposed by LSH.
    """

    pairs: list[DuplicatePair] = field(default_factory=list)
    rejected: list[DuplicatePair] = field(default_factory=list)
    n_candidates: int = 0


class _Cache:
    """The most recently prepared baselines (least recently used dropped first)."""

    def __init__(self, load: Callable[[str], LoadedBaseline], size: int, params: VerifyParams | None) -> None:
        self.load, self.size, self.params, self.items = load, size, params, OrderedDict()

    def __call__(self, key: str) -> PreparedBaseline:
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        loaded = self.load(key)
        value = prepare_baseline(loaded.data, loaded.fs, channel_names=loaded.channel_names, params=self.params)
        self.items[key] = value
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return value


def find_duplicates(
    keys: Sequence[str],
    sketches: Mapping[str, Sketch],
    *,
    load: Callable[[str], LoadedBaseline] | None = None,
    content_hashes: Mapping[str, str] | None = None,
    rows_per_band: int = 1,
    min_shared_bands: int = 4,
    params: VerifyParams | None = None,
    cache_size: int = 32,
    progress: Callable[[str, str], None] | None = None,
) -> DuplicateSearch:
    """Duplicate pairs among ``keys`` (see the module docstring).

    Parameters
    ----------
    keys : sequence of str
        The baselines, in priority order.
    sketches : mapping of str to Sketch
        The sketch of each key (keys without a sketch take part in hashing only).
    load : callable, optional
        ``load(key) -> LoadedBaseline``; without it, LSH candidates are returned unverified
        as ``near`` pairs with ``evidence["method"] == "sketch"``.
    content_hashes : mapping of str to str, optional
        Canonical content hash of each key.
    rows_per_band, min_shared_bands : int
        LSH settings (:func:`~adhesive_dots.curate.lsh.find_candidate_pairs`).
    params : VerifyParams, optional
    cache_size : int
        Prepared baselines (band-limited to at most ``VerifyParams.max_rate``, float32) kept in
        memory between verifications.
    progress : callable, optional
        Called with ``(a, b)`` before each verification.

    Returns
    -------
    DuplicateSearch
    """
    keys = [str(k) for k in keys]
    if len(set(keys)) != len(keys):
        raise DataError("find_duplicates: keys must be unique")
    position = {k: i for i, k in enumerate(keys)}
    pairs: list[DuplicatePair] = []
    rejected: list[DuplicatePair] = []
    n_candidates = 0
    exact: set[tuple[str, str]] = set()
    by_hash: dict[str, list[str]] = {}
    for key in keys:
        digest = (content_hashes or {}).get(key)
        if digest:
            by_hash.setdefault(digest, []).append(key)
    for digest, group in by_hash.items():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                exact.add((a, b))
                pairs.append(DuplicatePair(a, b, "exact", {"method": "content-hash", "content_hash": digest}))

    sketched = [k for k in keys if k in sketches]
    if len(sketched) >= 2:
        first = sketches[sketched[0]]
        for key in sketched[1:]:
            if sketches[key].params != first.params:
                raise DataError(f"sketch of {key!r} was computed with other SketchParams than {sketched[0]!r}")
        signatures = np.stack([sketches[k].signature for k in sketched])
        candidates = find_candidate_pairs(signatures, rows_per_band=rows_per_band, min_shared_bands=min_shared_bands)
        n_candidates = len(candidates)
        cached = _Cache(load, cache_size, params) if load is not None else None
        todo = []
        for (i, j), shared, jaccard in zip(candidates.pairs, candidates.shared_bands, candidates.jaccard, strict=True):
            a, b = sorted((sketched[i], sketched[j]), key=position.__getitem__)
            if (a, b) not in exact:
                todo.append((a, b, int(shared), float(jaccard)))
        todo.sort(key=lambda t: (position[t[0]], position[t[1]]))
        for a, b, shared, jaccard in todo:
            hint = {"jaccard": round(jaccard, 6), "shared_bands": shared}
            if cached is None:
                pairs.append(DuplicatePair(a, b, "near", {"method": "sketch", **hint}))
                continue
            if progress is not None:
                progress(a, b)
            try:
                evidence: PairEvidence = compare_prepared(cached(a), cached(b), params=params)
            except (OSError, ValueError, LookupError) as err:  # a source gone or unreadable since it was sketched
                rejected.append(DuplicatePair(a, b, "unverified", {"method": "sketch", **hint, "error": str(err)}))
                continue
            pair = DuplicatePair(a, b, evidence.kind, {"method": "sketch+verify", **hint, **evidence.to_dict()})
            (pairs if evidence.duplicate else rejected).append(pair)
    pairs.sort(key=lambda p: (position[p.a], position[p.b]))
    return DuplicateSearch(pairs, rejected, n_candidates)
