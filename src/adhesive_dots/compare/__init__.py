"""Compare baselines, express task effects in baseline units, predict task from rest (layer 2, numerics).

* :func:`compare_baselines` -- two baselines: per-feature differences with block-bootstrap CIs,
  energy distance of the window states and Riemannian distance of channel covariances against
  block-permutation nulls of the same length (:func:`compare_windows_array`), and a verdict
  ("within baseline variability" / "different"); both cut into the same
  windows (:func:`check_comparable` refuses fingerprints made with different parameters).
* :func:`compute_task_effects` / :func:`compute_task_effects_array` -- each task segment's change of
  each window-level feature relative to the session's own baseline, in units of the baseline's
  window-to-window sd (z), with CIs.
* :func:`compare_task_effects` -- naive and baseline-adjusted differences of task effects across
  sessions (statsmodels OLS, or MixedLM with a subject random intercept).
* :func:`predict_task_from_rest` -- ridge from baseline features to task responses with
  leave-one-subject-out CV, against the group-mean model, with individual specificity.
* :func:`identify_subjects` -- identification (connectome fingerprinting) across two baselines per
  subject, with its chance level.
"""

from adhesive_dots.compare.baselines import (
    COMPARED_PARAMETERS,
    DIFFERENT,
    WITHIN,
    BaselineComparison,
    WindowComparison,
    block_permutations,
    check_comparable,
    compare_baselines,
    compare_windows_array,
    energy_distance_array,
    riemann_distance_array,
)
from adhesive_dots.compare.effects import (
    MAX_WINDOW_S,
    TaskEffects,
    compute_task_effects,
    compute_task_effects_array,
    task_segments,
)
from adhesive_dots.compare.models import (
    IdentificationResult,
    PredictionResult,
    TaskEffectComparison,
    compare_task_effects,
    identify_subjects,
    predict_task_from_rest,
)
from adhesive_dots.compare.windows import (
    block_bootstrap_indices,
    compute_window_features_array,
    default_block,
    fingerprint_states,
    state_feature_names,
)

__all__ = [
    "COMPARED_PARAMETERS",
    "DIFFERENT",
    "MAX_WINDOW_S",
    "WITHIN",
    "BaselineComparison",
    "WindowComparison",
    "IdentificationResult",
    "PredictionResult",
    "TaskEffectComparison",
    "TaskEffects",
    "compare_task_effects",
    "compute_task_effects",
    "compute_task_effects_array",
    "identify_subjects",
    "predict_task_from_rest",
    "task_segments",
    "block_bootstrap_indices",
    "block_permutations",
    "compare_windows_array",
    "riemann_distance_array",
    "check_comparable",
    "compare_baselines",
    "compute_window_features_array",
    "default_block",
    "energy_distance_array",
    "fingerprint_states",
    "state_feature_names",
]
