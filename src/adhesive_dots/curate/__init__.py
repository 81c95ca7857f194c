"""Curating a corpus of baselines: exact and near duplicates, quality scores, balanced selections.

Numerics only (layer 2: arrays in, tables out): the catalog integration lives in
:mod:`adhesive_dots.catalog.curation` and the command line in ``adots curate`` /
``adots duplicates``.
"""

from adhesive_dots.curate.duplicates import (
    DuplicatePair,
    DuplicateSearch,
    LoadedBaseline,
    find_duplicates,
)
from adhesive_dots.curate.hashing import canonical_samples, compute_content_hash, unit_scale
from adhesive_dots.curate.lsh import CandidatePairs, find_candidate_pairs
from adhesive_dots.curate.quality import QualityConfig, QualityScore, compute_quality
from adhesive_dots.curate.selection import DEFAULT_FACETS, balance_report, duplicate_groups, select_dots
from adhesive_dots.curate.sketch import (
    Sketch,
    SketchParams,
    compute_landmarks,
    compute_log_power,
    compute_power_course,
    compute_sketch,
    compute_tokens,
    minhash_signature,
)
from adhesive_dots.curate.verify import (
    PairEvidence,
    PreparedBaseline,
    VerifyParams,
    compare_prepared,
    prepare_baseline,
    verify_pair,
)

__all__ = [
    "DEFAULT_FACETS",
    "CandidatePairs",
    "DuplicatePair",
    "DuplicateSearch",
    "LoadedBaseline",
    "PairEvidence",
    "PreparedBaseline",
    "QualityConfig",
    "QualityScore",
    "Sketch",
    "SketchParams",
    "VerifyParams",
    "balance_report",
    "canonical_samples",
    "compare_prepared",
    "compute_content_hash",
    "compute_landmarks",
    "compute_log_power",
    "compute_power_course",
    "compute_quality",
    "compute_sketch",
    "compute_tokens",
    "duplicate_groups",
    "find_candidate_pairs",
    "find_duplicates",
    "minhash_signature",
    "prepare_baseline",
    "select_dots",
    "unit_scale",
    "verify_pair",
]
