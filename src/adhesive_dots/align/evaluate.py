"""Does an alignment carry task information across datasets? ``evaluate_alignment``.

A decoder (scikit-learn logistic regression on trial-averaged activity in the shared space)
is trained on dataset a's task trials and applied to dataset b's task trials after
alignment. Beside that cross-dataset accuracy the evaluation reports:

* **within-dataset** accuracies (stratified k-fold cross-validation inside a and inside b;
  ``within_b`` is the ceiling of what any decoder could reach on b);
* **unaligned** accuracy: the decoder applied to b without the learned map. With matched
  channels that is b's channels as recorded; with different neurons the latent axes of the
  two datasets are arbitrary, so it is the mean accuracy over random orthogonal maps of b's
  whitened latent space (what one can expect without alignment);
* **chance**: the frequency of b's most common condition;
* a **permutation control**: the same aligner learned from baselines shuffled in time
  independently per channel (which keeps each channel's values but destroys the dynamics
  and correlations the alignment relies on), repeated ``n_controls`` times.

A binary decoder in a few latent dimensions is a weak witness: a random orthogonal map
already gets it right with a sizeable probability (the decision boundary is either kept or
flipped), and so do some shuffled-baseline controls. The verdict therefore also tests the
**condition geometry**: the cosine between a's condition means and b's aligned condition
means (each centred on its grand mean) must exceed what random orthogonal maps of b's
shared space give (``geometry_p`` below ``alpha`` over ``n_null_maps`` maps). A transfer is
claimed only when the cross-dataset accuracy reaches ``min_fraction`` of the ceiling, the
geometry test passes and the accuracy exceeds chance; otherwise the verdict says the
baselines did not identify a shared structure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from adhesive_dots.align._common import as_rng, check_fs, shuffle_in_time
from adhesive_dots.errors import DataError


@dataclass(frozen=True)
class AlignmentEvaluation:
    """Cross-dataset decoding through an alignment, with its ceiling and controls.

    Accuracies are fractions of trials in [0, 1].
    """

    cross: float
    within_a: float
    within_b: float
    unaligned: float
    control: float
    control_sd: float
    chance: float
    fraction_of_ceiling: float
    p_value: float
    geometry: float
    geometry_p: float
    control_geometry: float
    success: bool
    verdict: str
    n_trials_a: int
    n_trials_b: int
    controls: tuple[float, ...] = ()
    quality: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The decoding table: one row per measure (accuracy, and what it means)."""
        rows = [
            ("within a (cross-validated)", self.within_a, "decoder trained and tested on a"),
            ("within b (cross-validated)", self.within_b, "the ceiling on b"),
            (
                "cross a -> b, aligned",
                self.cross,
                f"{100 * self.fraction_of_ceiling:.0f}% of the ceiling; condition geometry cos "
                f"{self.geometry:.2f} (p = {self.geometry_p:.3f} vs random maps)",
            ),
            ("cross a -> b, unaligned", self.unaligned, "no map learned"),
            (
                "control: shuffled baselines",
                self.control,
                f"sd {self.control_sd:.2f} over {len(self.controls)} shuffles (p = {self.p_value:.2f}); "
                f"geometry cos {self.control_geometry:.2f}",
            ),
            ("chance", self.chance, "most frequent condition of b"),
        ]
        return pd.DataFrame(rows, columns=["measure", "accuracy", "note"])

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["controls"] = list(self.controls)
        return out


def evaluate_alignment(
    aligner: Any,
    baseline_a: np.ndarray,
    baseline_b: np.ndarray,
    task_a: np.ndarray,
    trials_a: pd.DataFrame,
    task_b: np.ndarray,
    trials_b: pd.DataFrame,
    *,
    fs: float,
    label: str = "condition",
    n_controls: int = 5,
    n_splits: int = 5,
    n_random_maps: int = 20,
    min_fraction: float = 0.8,
    alpha: float = 0.05,
    n_null_maps: int = 2000,
    rng: Any = None,
) -> AlignmentEvaluation:
    """Decode b's task trials with a decoder trained on a's, through the alignment.

    Parameters
    ----------
    aligner : LatentAligner or CovarianceAligner
        Fitted on ``baseline_a``/``baseline_b`` already, or unfitted (then a clone is fitted).
        The controls always refit clones of it on shuffled baselines.
    baseline_a, baseline_b : ndarray, shape (n_channels_a, n_times), (n_channels_b, n_times)
        The spontaneous baselines.
    task_a, task_b : ndarray, shape (n_channels_a, n_task_times), (n_channels_b, n_task_times_b)
        Data containing the task trials of each dataset.
    trials_a, trials_b : DataFrame
        One row per trial: ``start`` and ``stop`` in s from the first sample of the task
        array, and the condition in column ``label``.
    fs : float
        Sampling rate in Hz of every array.
    label : str
        Column of the trial tables holding the condition.
    n_controls : int
        Shuffled-baseline refits of the permutation control.
    n_splits : int
        Folds of the within-dataset cross-validation.
    n_random_maps : int
        Random orthogonal maps averaged for the unaligned accuracy of latent aligners.
    min_fraction : float
        Fraction of the ceiling the cross-dataset accuracy must reach to claim success.
    alpha : float
        Level of the condition-geometry test against random orthogonal maps.
    n_null_maps : int
        Random orthogonal maps of the geometry test's null distribution.
    rng : int, Generator or None
        Randomness of folds, shuffles and random maps.

    Returns
    -------
    AlignmentEvaluation
    """
    fs = check_fs(fs)
    rng = as_rng(rng)
    baseline_a = np.asarray(baseline_a, dtype=float)
    baseline_b = np.asarray(baseline_b, dtype=float)
    y_a = _labels(trials_a, label, "trials_a")
    y_b = _labels(trials_b, label, "trials_b")
    missing = sorted(set(y_b) - set(y_a))
    if missing:
        raise DataError(
            f"trials_b: condition(s) {missing} never occur in trials_a; the decoder trained on a cannot "
            "predict them (keep the conditions both datasets share)"
        )
    if len(set(y_a)) < 2:
        raise DataError(f"trials_a: column {label!r} holds a single condition; decoding needs at least two")
    fitted = aligner if hasattr(aligner, "quality_") else clone(aligner).fit(baseline_a, baseline_b, fs=fs)

    def features(model: Any, data: np.ndarray, trials: pd.DataFrame, domain: str, unaligned: bool = False):
        mapped = model.transform_unaligned(data, domain=domain) if unaligned else model.transform(data, domain=domain)
        return _trial_means(mapped, trials, fs, f"trials_{domain}")

    F_a = features(fitted, task_a, trials_a, "a")
    F_b = features(fitted, task_b, trials_b, "b")
    seed = int(rng.integers(2**31))
    within_a = _cross_validated(F_a, y_a, n_splits, seed)
    within_b = _cross_validated(F_b, y_b, n_splits, seed)
    decoder = _decoder().fit(F_a, y_a)
    cross = float(decoder.score(F_b, y_b))

    U_a = features(fitted, task_a, trials_a, "a", unaligned=True)
    U_b = features(fitted, task_b, trials_b, "b", unaligned=True)
    unaligned_decoder = _decoder().fit(U_a, y_a)
    if getattr(fitted, "unaligned_axes_arbitrary", False):
        scores = []
        for _ in range(int(n_random_maps)):
            scores.append(unaligned_decoder.score(U_b @ _random_orthogonal(U_b.shape[1], rng).T, y_b))
        unaligned = float(np.mean(scores))
    else:
        unaligned = float(unaligned_decoder.score(U_b, y_b))

    classes = sorted(set(y_b))
    geometry = _geometry(F_a, y_a, F_b, y_b, classes)
    null = np.array([_geometry(F_a, y_a, F_b @ _random_orthogonal(F_b.shape[1], rng).T, y_b, classes)
                     for _ in range(int(n_null_maps))])  # fmt: skip
    geometry_p = float((1 + np.sum(null >= geometry)) / (1 + len(null)))

    controls, control_geometries = [], []
    for _ in range(int(n_controls)):
        control = clone(aligner)
        if "fit_control" in control.get_params():
            control.set_params(fit_control=False)
        control = control.fit(shuffle_in_time(baseline_a, rng=rng), shuffle_in_time(baseline_b, rng=rng), fs=fs)
        C_a = features(control, task_a, trials_a, "a")
        C_b = features(control, task_b, trials_b, "b")
        controls.append(float(_decoder().fit(C_a, y_a).score(C_b, y_b)))
        control_geometries.append(_geometry(C_a, y_a, C_b, y_b, classes))
    controls_arr = np.asarray(controls)
    chance = float(pd.Series(y_b).value_counts(normalize=True).max())
    fraction = cross / within_b if within_b > 0 else 0.0
    p_value = float((1 + np.sum(controls_arr >= cross)) / (1 + len(controls_arr)))
    control_mean = float(np.mean(controls_arr)) if len(controls_arr) else float("nan")
    success = bool(fraction >= min_fraction and geometry_p <= alpha and cross > chance)
    evidence = (
        f"condition geometry cos {geometry:.2f} (p = {geometry_p:.3f} against random maps; shuffled-baseline "
        f"controls {np.mean(control_geometries) if control_geometries else float('nan'):.2f})"
    )
    if success:
        verdict = (
            f"aligned: decoding transfers from a to b at {cross:.2f} ({100 * fraction:.0f}% of b's ceiling "
            f"{within_b:.2f}; shuffled-baseline controls {control_mean:.2f}, chance {chance:.2f}); {evidence}"
        )
    else:
        verdict = (
            f"not aligned: cross-dataset decoding {cross:.2f} is {100 * fraction:.0f}% of b's ceiling "
            f"{within_b:.2f} (needed {100 * min_fraction:.0f}%; shuffled-baseline controls {control_mean:.2f}, "
            f"chance {chance:.2f}); {evidence}; the baselines did not identify a shared latent structure"
        )
    return AlignmentEvaluation(
        cross=cross,
        within_a=within_a,
        within_b=within_b,
        unaligned=unaligned,
        control=control_mean,
        control_sd=float(np.std(controls_arr)) if len(controls_arr) else float("nan"),
        chance=chance,
        fraction_of_ceiling=float(fraction),
        p_value=p_value,
        geometry=float(geometry),
        geometry_p=geometry_p,
        control_geometry=float(np.mean(control_geometries)) if control_geometries else float("nan"),
        success=success,
        verdict=verdict,
        n_trials_a=len(y_a),
        n_trials_b=len(y_b),
        controls=tuple(controls),
        quality=dict(getattr(fitted, "quality_", {})),
    )


def _geometry(F_a: np.ndarray, y_a: np.ndarray, F_b: np.ndarray, y_b: np.ndarray, classes: list[str]) -> float:
    """Cosine between the centred condition means of a and of b, shape (n_classes, k) each."""
    means_a = np.stack([F_a[y_a == c].mean(axis=0) for c in classes])
    means_b = np.stack([F_b[y_b == c].mean(axis=0) for c in classes])
    means_a -= means_a.mean(axis=0)
    means_b -= means_b.mean(axis=0)
    norm = np.sqrt(np.sum(means_a**2) * np.sum(means_b**2))
    return float(np.sum(means_a * means_b) / norm) if norm > 0 else 0.0


def _random_orthogonal(k: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed orthogonal matrix (k, k)."""
    q, r = np.linalg.qr(rng.standard_normal((k, k)))
    return q * np.sign(np.diag(r))


def _decoder():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


def _cross_validated(F: np.ndarray, y: np.ndarray, n_splits: int, seed: int) -> float:
    smallest = int(pd.Series(y).value_counts().min())
    folds = min(int(n_splits), smallest)
    if folds < 2:
        raise DataError(
            f"within-dataset cross-validation needs at least 2 trials of every condition; the rarest has {smallest}"
        )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(_decoder(), F, y, cv=splitter)))


def _labels(trials: pd.DataFrame, label: str, name: str) -> np.ndarray:
    if not isinstance(trials, pd.DataFrame):
        raise DataError(f"{name}: expected a DataFrame with columns start, stop, {label}; got {type(trials).__name__}")
    missing = [c for c in ("start", "stop", label) if c not in trials.columns]
    if missing:
        raise DataError(
            f"{name}: missing column(s) {missing}; expected start, stop (s) and the condition in {label!r} "
            "(set label= to the condition column)"
        )
    if len(trials) == 0:
        raise DataError(f"{name}: no trials")
    return trials[label].astype(str).to_numpy()


def _trial_means(Z: np.ndarray, trials: pd.DataFrame, fs: float, name: str) -> np.ndarray:
    """Mean of ``Z`` (k, n_times) over each trial's [start, stop) -> (n_trials, k)."""
    n_times = Z.shape[-1]
    out = np.empty((len(trials), Z.shape[0]))
    for i, (start, stop) in enumerate(zip(trials["start"], trials["stop"], strict=True)):
        i0, i1 = int(round(float(start) * fs)), int(round(float(stop) * fs))
        if i0 < 0 or i1 > n_times or i1 <= i0:
            raise DataError(
                f"{name}: trial {i} ({start} s to {stop} s) falls outside the task data (0 to {n_times / fs:g} s); "
                "trial times must be relative to the first sample of the task array"
            )
        out[i] = Z[:, i0:i1].mean(axis=-1)
    return out
