"""Duplicates among files named directly, with no catalog (what ``adots duplicates`` runs).

Each source's baseline -- resolved through the one road (:mod:`adhesive_dots.io.sources`; with
``whole`` in the template, the whole recording) -- is read once to sketch and hash it;
candidate pairs are re-read for verification (:func:`~adhesive_dots.curate.find_duplicates`).
A source that cannot be read is listed with its error and skipped, never stopping the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from adhesive_dots.catalog.curation import load_baseline
from adhesive_dots.curate.duplicates import DuplicateSearch, LoadedBaseline, find_duplicates
from adhesive_dots.curate.hashing import compute_content_hash
from adhesive_dots.curate.sketch import SketchParams, compute_sketch
from adhesive_dots.curate.verify import VerifyParams
from adhesive_dots.errors import SourceNotFoundError
from adhesive_dots.io.sources import SourceSpec, expand_sources


@dataclass(frozen=True)
class SourceCheck:
    """What :func:`check_sources` found.

    Attributes
    ----------
    sources : DataFrame
        One row per source: ``source``, ``fs``, ``n_channels``, ``duration_s``, ``units``,
        ``canonical_hash``, ``n_tokens``, ``segment`` (what marked the baseline read),
        ``error`` (why a source could not be used, else ``""``).
    search : DuplicateSearch
        Duplicate pairs (keys are the sources) and rejected candidates.
    """

    sources: pd.DataFrame
    search: DuplicateSearch


def check_sources(
    targets: Iterable[str | Path | SourceSpec],
    *,
    template: SourceSpec | None = None,
    sketch_params: SketchParams | None = None,
    verify_params: VerifyParams | None = None,
    progress: Callable[[str], None] | None = None,
) -> SourceCheck:
    """Find duplicates among the baselines of files, folders and BIDS datasets (no catalog)."""
    specs, problems = expand_sources(targets, template=template)
    if not specs and not problems:
        raise SourceNotFoundError("no NWB file, raw file, table or BIDS rest run found among the given targets")
    by_key = {spec.key: spec for spec in specs}
    rows: list[dict[str, Any]] = [{"source": p.source, "error": p.message} for p in problems]
    sketches, hashes = {}, {}
    for spec in specs:
        if progress is not None:
            progress(spec.key)
        try:
            loaded, units, baseline = load_baseline(spec)
            sketch = compute_sketch(loaded.data, loaded.fs, params=sketch_params)
        except (OSError, ValueError, LookupError) as err:  # unreadable, no baseline, or too slow to sketch
            rows.append({"source": spec.key, "error": str(err)})
            continue
        sketches[spec.key] = sketch
        hashes[spec.key] = compute_content_hash(loaded.data, loaded.fs, units=units)
        rows.append(
            {
                "source": spec.key,
                "fs": loaded.fs,
                "n_channels": loaded.data.shape[0],
                "duration_s": loaded.data.shape[1] / loaded.fs,
                "units": units,
                "canonical_hash": hashes[spec.key],
                "n_tokens": sketch.n_tokens,
                "segment": baseline.segment.evidence,
                "error": "",
            }
        )

    def load(key: str) -> LoadedBaseline:
        return load_baseline(by_key[key])[0]

    search = find_duplicates(list(sketches), sketches, load=load, content_hashes=hashes, params=verify_params)
    frame = pd.DataFrame(rows)
    for column in ("fs", "n_channels", "duration_s", "units", "canonical_hash", "n_tokens", "segment"):
        if column not in frame.columns:
            frame[column] = None
    return SourceCheck(frame, search)
