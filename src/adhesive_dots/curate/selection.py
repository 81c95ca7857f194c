"""Balance reports over metadata and the selection of a de-duplicated, quality-filtered manifest.

:func:`balance_report` counts dots per value of each facet (species, paradigm, modality,
lab, arousal measure) and summarises each facet's evenness (normalised Shannon entropy:
1 when every value holds the same number of dots, near 0 when one value dominates).

:func:`select_dots` chooses dots in two steps, in this order:

1. dots whose quality is below ``min_quality`` are dropped (a missing quality counts as 0
   when a threshold is given);
2. among the remaining dots, each *duplicate group* (the connected components of the
   duplicate pairs) keeps one dot: the first in the frame's order (``keep-first``) or the
   one of highest quality, ties broken by order (``keep-best``).

Filtering first means a group whose first copy is poor still contributes its best copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from adhesive_dots.errors import DataError

#: Facet name -> column of the catalog's ``dots`` table.
DEFAULT_FACETS: dict[str, str] = {
    "species": "subject_species",
    "paradigm": "paradigm_name",
    "modality": "recording_modality",
    "lab": "identity_lab",
    "arousal": "arousal_measures",
}
DROP_POLICIES = ("keep-first", "keep-best")
MISSING = "(missing)"
NONE_RECORDED = "(none recorded)"


def _as_list(value: object) -> list:
    if isinstance(value, list | tuple | np.ndarray) and len(value):
        return list(value)
    return [NONE_RECORDED]


def balance_report(frame: pd.DataFrame, *, facets: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Counts of dots per facet value.

    Parameters
    ----------
    frame : DataFrame
        One row per dot with the facet columns; a list-valued column (``arousal_measures``)
        counts a dot once under each of its values, or under ``"(none recorded)"``.
    facets : mapping of str to str, optional
        ``{facet: column}``; default :data:`DEFAULT_FACETS`.

    Returns
    -------
    DataFrame
        Columns ``facet``, ``value``, ``n_dots``, ``fraction`` (of all dots), ``evenness``
        (of the facet, repeated on its rows), sorted by facet then count.
    """
    facets = dict(facets or DEFAULT_FACETS)
    rows = []
    total = len(frame)
    for facet, column in facets.items():
        if column not in frame.columns:
            raise DataError(f"balance_report: no column {column!r} for facet {facet!r}; have {list(frame.columns)}")
        values = frame[column]
        is_list = values.map(lambda v: isinstance(v, list | tuple | np.ndarray))
        if is_list.any():
            values = values.map(_as_list)
            values = values.explode()
        values = values.map(lambda v: MISSING if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
        counts = values.value_counts()
        p = counts.to_numpy(float) / counts.sum() if counts.sum() else np.array([])
        evenness = float(-(p * np.log(p)).sum() / np.log(len(p))) if len(p) > 1 else 1.0
        for value, count in counts.items():
            rows.append((facet, value, int(count), count / total if total else 0.0, evenness))
    out = pd.DataFrame(rows, columns=["facet", "value", "n_dots", "fraction", "evenness"])
    return out.sort_values(["facet", "n_dots", "value"], ascending=[True, False, True], ignore_index=True)


def duplicate_groups(ids: Sequence[str], pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Connected components of the duplicate graph: ``{dot_id: first id of its group in ids order}``."""
    position = {dot_id: i for i, dot_id in enumerate(ids)}
    parent = list(range(len(ids)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        if a in position and b in position:
            ra, rb = root(position[a]), root(position[b])
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)  # the earlier dot stays the root
    return {dot_id: ids[root(i)] for i, dot_id in enumerate(ids)}


def select_dots(
    frame: pd.DataFrame,
    pairs: Iterable[tuple[str, str]] = (),
    *,
    min_quality: float | None = None,
    drop_duplicates: str | None = None,
) -> pd.DataFrame:
    """Mark which dots a manifest keeps (see the module docstring).

    Parameters
    ----------
    frame : DataFrame
        One row per dot, in priority order, with ``dot_id`` and (for ``min_quality`` or
        ``keep-best``) ``quality``.
    pairs : iterable of (str, str)
        Duplicate pairs of dot ids.
    min_quality : float, optional
        Lowest quality kept, in [0, 1].
    drop_duplicates : {"keep-first", "keep-best"}, optional
        Keep one dot per duplicate group; ``None`` keeps duplicates.

    Returns
    -------
    DataFrame
        ``frame`` plus ``duplicate_group`` (first dot id of the group), ``selected`` (bool)
        and ``reason`` (why a dot was dropped, ``""`` when kept).
    """
    if drop_duplicates is not None and drop_duplicates not in DROP_POLICIES:
        raise DataError(f"drop_duplicates must be one of {DROP_POLICIES} or None, got {drop_duplicates!r}")
    if min_quality is not None and not 0 <= min_quality <= 1:
        raise DataError(f"min_quality must lie in [0, 1], got {min_quality!r}")
    if "dot_id" not in frame.columns:
        raise DataError("select_dots: the frame needs a 'dot_id' column")
    needs_quality = min_quality is not None or drop_duplicates == "keep-best"
    if needs_quality and "quality" not in frame.columns:
        raise DataError("select_dots: --min-quality and keep-best need a 'quality' column (compute quality first)")
    out = frame.reset_index(drop=True).copy()
    ids = out["dot_id"].astype(str).tolist()
    groups = duplicate_groups(ids, pairs)  # once: it was computed again for every dot (quadratic)
    out["duplicate_group"] = [groups[i] for i in ids]
    out["selected"] = True
    out["reason"] = ""
    if min_quality is not None:
        quality = pd.to_numeric(out["quality"], errors="coerce").fillna(0.0)
        low = quality < min_quality
        out.loc[low, "selected"] = False
        out.loc[low, "reason"] = [f"quality {q:.2f} < {min_quality:g}" for q in quality[low]]
    if drop_duplicates is not None:
        kept = out[out["selected"]]
        if drop_duplicates == "keep-best":
            quality = pd.to_numeric(kept["quality"], errors="coerce").fillna(0.0)
            order = kept.assign(_q=-quality, _pos=kept.index).sort_values(["_q", "_pos"])
        else:
            order = kept
        winners = order.groupby("duplicate_group", sort=False).head(1)
        winner_of = dict(zip(winners["duplicate_group"], winners["dot_id"], strict=True))
        for index in kept.index.difference(winners.index):
            out.loc[index, "selected"] = False
            out.loc[index, "reason"] = f"duplicate of {winner_of[out.loc[index, 'duplicate_group']]}"
    return out
