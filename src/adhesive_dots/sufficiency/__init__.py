"""Is ten minutes enough? Reliability of fingerprint features as a function of baseline length, and the
diversity of baselines compared with task segments (layer 2, numerics: NumPy, SciPy, xarray, pandas).

* :func:`compute_sufficiency` / :func:`compute_sufficiency_array` -- one recording: disjoint sub-segments of
  each length, their fingerprints, the ICC across channels (per-channel features) or the precision / a reference
  between-subject SD (summary features), the length each feature needs, the DFA's longest supported scale and
  the narrowing of its interval.
* :func:`compute_corpus_sufficiency` / :func:`compute_corpus_sufficiency_array` -- many baselines: the ICC
  across baselines per length; which features reach the target within ten minutes.
* :func:`compute_diversity` -- dispersion of baseline fingerprints vs task-segment fingerprints, bootstrap CIs.
* :func:`compute_icc`, :func:`spearman_brown_length` -- the statistics underneath.

The fingerprints come from :func:`adhesive_dots.fingerprint.compute_fingerprint_array` (no second PSD or DFA).
"""

from adhesive_dots.sufficiency._compute import (
    CHANNEL_FEATURES,
    DEFAULT_LENGTHS,
    ZERO_CENTRED,
    Sufficiency,
    compute_corpus_sufficiency,
    compute_corpus_sufficiency_array,
    compute_sufficiency,
    compute_sufficiency_array,
    segment_params,
)
from adhesive_dots.sufficiency.diversity import Diversity, compute_diversity
from adhesive_dots.sufficiency.reliability import Icc, compute_icc, spearman_brown_length

__all__ = [
    "CHANNEL_FEATURES",
    "DEFAULT_LENGTHS",
    "ZERO_CENTRED",
    "Diversity",
    "Icc",
    "Sufficiency",
    "compute_corpus_sufficiency",
    "compute_corpus_sufficiency_array",
    "compute_diversity",
    "compute_icc",
    "compute_sufficiency",
    "compute_sufficiency_array",
    "segment_params",
    "spearman_brown_length",
]
