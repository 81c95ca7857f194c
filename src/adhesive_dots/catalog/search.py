"""Searching the catalog: metadata filters and nearest neighbours on summary vectors.

Similarity is computed on *standardised* summary vectors: each feature is centred and
divided by its standard deviation over the whole catalog (features that are constant or
missing everywhere are ignored), so features with large units do not dominate. Two
metrics are offered:

``cosine`` (default)
    1 - cosine similarity of the standardised vectors: the *pattern* of deviations from the
    catalog mean, insensitive to how extreme a dot is overall.
``seuclidean``
    Euclidean distance of the standardised vectors (standardised Euclidean distance).

Missing feature values (NaN, e.g. a peak frequency where there is no peak) are set to the
catalog mean, i.e. they contribute nothing. The standardisation is robust to a few wild rows
(an old catalog, a hand-made import): non-finite or absurd values count as missing (see
:class:`Standardiser`), so such a row cannot change the distances between the others.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from adhesive_dots.catalog.store import SUMMARY_COLUMNS, Catalog, DotFilter
from adhesive_dots.curate.selection import duplicate_groups
from adhesive_dots.errors import DataError
from adhesive_dots.metadata import ArousalMeasure, IlluminationCategory, Modality, Paradigm, ValidationStatus

VOCABULARIES: dict[str, tuple[str, ...]] = {
    "paradigm": tuple(p.value for p in Paradigm),
    "modality": tuple(m.value for m in Modality),
    "illumination": tuple(i.value for i in IlluminationCategory),
    "arousal": tuple(a.value for a in ArousalMeasure),
    "status": tuple(v.value for v in ValidationStatus),
}
"""The controlled vocabulary of each search filter that has one (DotMetadata's enums)."""


class UnknownValueError(DataError):
    """A filter value is not in its controlled vocabulary."""


def check_vocabulary(name: str, value: str | None) -> None:
    """Raise :class:`UnknownValueError` naming the closest allowed values when ``value`` is not in the
    vocabulary of filter ``name`` (:data:`VOCABULARIES`; case-insensitive)."""
    allowed = VOCABULARIES.get(name)
    if value is None or allowed is None or value.lower() in allowed:
        return
    close = difflib.get_close_matches(value.lower(), allowed, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise UnknownValueError(f"--{name} {value!r} is not a known {name}; {hint}allowed: {', '.join(allowed)}")


METRICS = ("cosine", "seuclidean")


def search_dots(
    catalog: Catalog,
    *,
    species: str | None = None,
    paradigm: str | None = None,
    modality: str | None = None,
    min_duration: float | None = None,
    illumination: str | None = None,
    arousal: Sequence[str] = (),
    lab: str | None = None,
    status: str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Dots matching every given filter (all optional; strings match exactly, case-insensitive).

    ``arousal`` lists measures that must all be recorded (e.g. ``["pupil"]``); ``status`` is a
    validation status (``compliant``, ``noncompliant``, ``not-validated``). Returns the
    :data:`SUMMARY_COLUMNS` in catalog order (see :class:`~adhesive_dots.catalog.store.DotFilter`).

    Raises
    ------
    UnknownValueError
        When ``paradigm``, ``modality``, ``illumination``, ``arousal`` or ``status`` is not in its
        vocabulary (the message suggests the closest allowed values).
    """
    for name, value in (("paradigm", paradigm), ("modality", modality), ("illumination", illumination),
                        ("status", status), *(("arousal", a) for a in arousal)):  # fmt: skip
        check_vocabulary(name, value)
    filters = DotFilter(
        species=species,
        paradigm=paradigm,
        modality=modality,
        min_duration=min_duration,
        illumination=illumination,
        arousal=tuple(arousal),
        lab=lab,
        status=status,
    )
    return catalog.search(filters, columns=SUMMARY_COLUMNS, limit=limit)


MAX_ABS_VALUE = 1e6
"""Summary-vector values larger than this in magnitude (and ±inf) are not fingerprint values: they are
treated as missing (see :data:`adhesive_dots.catalog.exchange.MAX_ABS_VECTOR_VALUE`)."""


@dataclass(frozen=True)
class Standardiser:
    """Per-feature centring and scaling learned from the catalog's vectors.

    Values that are non-finite or beyond :data:`MAX_ABS_VALUE` in magnitude count as missing, in
    the fit and in queries: a wild row (an old catalog, a hand-made import) cannot move any
    feature's mean or standard deviation. (No outlier fence beyond that: in a small catalog of a
    few labs, whole labs would look like outliers.)
    """

    mean: np.ndarray
    scale: np.ndarray  # inf where a feature is constant or missing everywhere (it then contributes 0)

    @classmethod
    def fit(cls, matrix: np.ndarray) -> Standardiser:
        values = _sane(matrix)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
            mean = np.nanmean(values, axis=0)
            std = np.nanstd(values, axis=0)
        mean = np.where(np.isfinite(mean), mean, 0.0)
        scale = np.where(np.isfinite(std) & (std > 0), std, np.inf)
        return cls(mean, scale)

    def transform(self, values: np.ndarray) -> np.ndarray:
        z = (_sane(values) - self.mean) / self.scale
        return np.where(np.isfinite(z), z, 0.0)


def _sane(values: np.ndarray) -> np.ndarray:
    """``values`` as float64 with non-finite and absurd (> :data:`MAX_ABS_VALUE`) entries set to NaN."""
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(values) & (np.abs(values) <= MAX_ABS_VALUE), values, np.nan)


@dataclass(frozen=True)
class VectorIndex:
    """Standardised vectors ready for queries: ``z`` ``(n, d)`` and their unit-norm rows for cosine."""

    standardiser: Standardiser
    z: np.ndarray
    unit: np.ndarray

    @classmethod
    def build(cls, matrix: np.ndarray) -> VectorIndex:
        standardiser = Standardiser.fit(matrix)
        z = standardiser.transform(matrix)
        norms = np.linalg.norm(z, axis=1, keepdims=True)
        unit = np.divide(z, norms, out=np.zeros_like(z), where=norms > 0)
        return cls(standardiser, z, unit)

    def nearest(self, query: np.ndarray, *, k: int = 10, metric: str = "cosine") -> tuple[np.ndarray, np.ndarray]:
        """Row indices and distances of the ``k`` rows nearest to the raw vector ``query``."""
        if metric not in METRICS:
            raise DataError(f"metric must be one of {METRICS}, got {metric!r}")
        q = self.standardiser.transform(query)
        if metric == "cosine":
            norm = np.linalg.norm(q)
            distance = 1.0 - self.unit @ (q / norm) if norm > 0 else np.ones(len(self.z))
            distance[~self.unit.any(axis=1)] = 1.0  # a vector at the catalog mean has no direction
        else:
            distance = np.sqrt(np.einsum("ij,ij->i", self.z - q, self.z - q))
        k = min(k, len(distance))
        top = np.argpartition(distance, k - 1)[:k] if k else np.array([], dtype=int)
        order = top[np.lexsort((top, distance[top]))]  # nearest first; ties by position
        return order, distance[order]


def vector_index(catalog: Catalog) -> VectorIndex:
    """The catalog's standardised vectors ready for queries (built once, until the catalog changes)."""
    matrix, _ = catalog.vectors()
    return catalog.cached("vector-index", lambda: VectorIndex.build(matrix))


def similar_dots(
    catalog: Catalog,
    query: str | np.ndarray,
    *,
    k: int = 10,
    metric: str = "cosine",
) -> pd.DataFrame:
    """The ``k`` dots whose summary vectors are nearest to ``query`` (a dot id or a vector).

    A dot id is excluded from its own neighbours. Returns columns ``dot_id``, ``distance``
    and the summary metadata columns, nearest first.
    """
    matrix, ids = catalog.vectors()
    if not ids:
        raise DataError(f"{catalog.path}: the catalog holds no fingerprints yet (run `adots ingest`)")
    if isinstance(query, str):
        vector = catalog.vector_of(query)
        exclude = catalog.vector_positions()[query]
    else:
        vector = np.asarray(query, dtype=float)
        exclude = None
        if vector.shape != (matrix.shape[1],):
            raise DataError(
                f"query vector has shape {vector.shape}; the catalog's vectors have {matrix.shape[1]} features"
            )
    index = vector_index(catalog)
    order, distance = index.nearest(vector, k=k + (exclude is not None), metric=metric)
    keep = order != exclude if exclude is not None else np.ones(order.size, bool)
    order, distance = order[keep][:k], distance[keep][:k]
    summary = catalog.cached("summary-by-vector", lambda: _summary_in_vector_order(catalog, ids))
    rows = summary.take(order).reset_index(drop=True)
    rows["dot_id"] = [ids[i] for i in order]  # also for a vector whose dot row is gone
    rows.insert(1, "distance", distance)
    return rows


def summary_features(catalog: Catalog, dot_ids: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Each dot's named summary features (``{dot_id: {feature: value}}``; the catalog's vector names; missing
    values as ``None``; a dot without a fingerprint maps to ``{}``)."""
    matrix, ids = catalog.vectors()
    names = catalog.vector_names() if ids else []
    positions = catalog.vector_positions()
    out: dict[str, dict[str, float | None]] = {}
    for dot_id in dot_ids:
        if dot_id not in positions:
            out[dot_id] = {}
            continue
        row = matrix[positions[dot_id]]
        out[dot_id] = {n: (float(v) if np.isfinite(v) else None) for n, v in zip(names, row, strict=False)}
    return out


def count_distinct(catalog: Catalog, dot_ids: Sequence[str]) -> int:
    """How many of ``dot_ids`` remain when the dots linked as duplicates (``adots curate``) count once."""
    links = catalog.duplicates()
    groups = duplicate_groups(list(dot_ids), zip(links["dot_a"], links["dot_b"], strict=True))
    return len(set(groups.values()))


def _summary_in_vector_order(catalog: Catalog, ids: list[str]) -> pd.DataFrame:
    summary = catalog.dots(columns=SUMMARY_COLUMNS).set_index("dot_id", drop=False)
    return summary.reindex(ids).reset_index(drop=True)


__all__ = [
    "METRICS",
    "SUMMARY_COLUMNS",
    "VOCABULARIES",
    "Standardiser",
    "UnknownValueError",
    "VectorIndex",
    "check_vocabulary",
    "count_distinct",
    "search_dots",
    "similar_dots",
    "summary_features",
    "vector_index",
]
