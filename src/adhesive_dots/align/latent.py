"""Aligning datasets that share no neurons: latent spaces matched through baseline dynamics.

Model and assumptions
---------------------
Each dataset ``d`` observes a shared latent process ``z`` (``n_components`` dimensions) through
its own unknown neurons, ``x_d(t) = f_d(M_d z(t)) + noise``, with no correspondence between the
neurons of the two datasets and no shared stimulus timing. :class:`LatentAligner` learns, from
the two spontaneous baselines only:

1. **Reduction.** Each baseline (channels z-scored) is reduced to ``n_components`` dimensions
   by PCA or factor analysis (scikit-learn), then **whitened** (unit covariance). What is
   left between the two whitened latent spaces is, under the model, an orthogonal map ``O``.
2. **Dynamics matching.** ``O`` minimises the mismatch of the lagged covariances
   ``C_d(tau) = E[w_d(t + tau) w_d(t)^T]`` over ``lags`` (seconds up to ``max_lag``):
   ``sum_tau ||O C_a(tau) O^T - C_b(tau)||_F^2``, a two-sided orthogonal Procrustes problem
   solved by Riemannian gradient descent on the orthogonal group from ``n_starts`` random
   starts. Lag-1 matching is the same as matching the fitted linear dynamics ``A = C(1)``.
3. **Ties and sign.** Second-order statistics never fix the global sign (``z -> -z`` leaves
   every covariance unchanged), and near-symmetric dynamics leave several local optima
   whose residuals differ only by sampling noise. Among the optima within
   ``tie_tolerance`` of the best, the one whose third-order moment tensors (skewness)
   agree best is kept, and the sign is taken from that agreement.

When it is valid (and when it is not)
-------------------------------------
* The datasets must sample the same latent process at the same rate ``fs`` (bin spike
  trains to the calcium frame rate first) and ``n_components`` must not exceed the number of
  latent dimensions that both reductions capture.
* Second-order matching identifies ``O`` only up to the orthogonal symmetries of the
  whitened dynamics. With distinct real eigenvalues and non-normal dynamics this is
  ``{+I, -I}``; every pair of complex eigenvalues (a rotational mode, an oscillation) whose
  driving noise is isotropic adds a free rotation inside its plane (a phase), and symmetric
  (reversible) dynamics add a sign per mode. ``quality_["rotational_modes"]`` counts the
  rotational modes of the reference baseline.
* The remaining symmetries are broken only by non-Gaussian latent statistics (skewed,
  event-like innovations). When the latent process is Gaussian, ``quality_["sign_agreement"]``
  (the absolute cosine of the third-order tensors) is small or dominated by each dataset's
  own observation nonlinearity, and **no method that sees only the baselines can choose
  between the symmetric solutions**: cross-dataset decoding then depends on luck, which
  :func:`~adhesive_dots.align.evaluate_alignment` exposes against its controls.
* In practice the residuals of the local optima are often all within sampling noise of each
  other (``quality_["tied_solutions"]`` close to ``n_starts``): the choice then rests on the
  third-order agreement, i.e. on the latent innovations being non-Gaussian.
* The simulator's default :class:`~adhesive_dots.sim.sessions.LatentSystem` (two damped
  oscillators driven by isotropic Gaussian noise) is exactly the non-identifiable case:
  a rotation of either oscillation plane leaves every baseline statistic unchanged, while
  it moves the task inputs ``B``. ``benchmarks/align_identifiability.py`` measures it.
  :mod:`adhesive_dots.testing.latent` provides an identifiable system for tests.
* When the datasets share no latent structure, the best rotation leaves a larger residual
  (``quality_["dynamics_mismatch"]``), but smooth autocorrelations make even unrelated
  systems look alike at second order, so no fixed threshold on it is claimed: whether the
  alignment carries information is decided by
  :func:`~adhesive_dots.align.evaluate_alignment` against its shuffled-baseline controls.

The shared space is the whitened latent space of dataset ``"a"``; ``transform(X, domain="b")``
carries dataset ``"b"`` into it.

Scale: the reduction holds one z-scored float64 copy of each baseline
(``n_channels x n_times``) and scikit-learn's PCA picks a covariance or randomized solver;
everything after it works on ``n_components``-dimensional latents.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.utils.validation import check_is_fitted

from adhesive_dots.align._common import (
    as_rng,
    check_data,
    check_domain,
    check_fs,
    check_transform_input,
    shuffle_in_time,
)
from adhesive_dots.errors import DataError

REDUCERS = ("pca", "fa")


class LatentAligner(BaseEstimator):
    """Align two datasets with different neurons through their baselines' latent dynamics.

    Parameters
    ----------
    n_components : int
        Latent dimensions kept in each dataset (at most the smaller channel count minus one).
    reducer : {"pca", "fa"}
        PCA or factor analysis (scikit-learn) for the per-dataset reduction.
    max_lag : float
        Longest lag in s of the lagged covariances that are matched.
    n_lags : int
        Number of lags, spread evenly from one sample to ``max_lag``.
    n_starts : int
        Random starts of the orthogonal search (the problem is not convex).
    tie_tolerance : float
        Second-order solutions whose residual is within ``(1 + tie_tolerance)`` times the best
        are treated as tied (their differences are at the level of sampling noise); among
        them the one whose third-order moments agree best is kept.
    fit_control : bool
        Also fit against b's baseline shuffled in time, for ``quality_["control_mismatch"]``
        (the permutation controls of :func:`~adhesive_dots.align.evaluate_alignment` skip it).
    rng : int, Generator or None
        Randomness of the starts and of the shuffled control.

    Attributes
    ----------
    projection_a_ : ndarray, shape (n_components, n_channels_a)
        Maps dataset a (centred) into the shared space.
    projection_b_ : ndarray, shape (n_components, n_channels_b)
        Maps dataset b (centred) into the shared space (reduction, whitening, rotation).
    mean_a_, mean_b_ : ndarray, shape (n_channels_a,), (n_channels_b,)
        Baseline means subtracted before projecting.
    unaligned_b_ : ndarray, shape (n_components, n_channels_b)
        Dataset b's own whitened reduction, without the rotation (the unaligned map).
    rotation_ : ndarray, shape (n_components, n_components)
        Orthogonal map from a's whitened latent space to b's (``w_b ~ rotation_ @ w_a``).
    lags_ : ndarray of int
        Lags in samples that were matched.
    fs_ : float
        Sampling rate in Hz of the baselines.
    quality_ : dict
        ``dynamics_mismatch`` (relative residual of the lagged covariances, 0 is perfect),
        ``control_mismatch`` (same against b's baseline shuffled in time),
        ``mismatch_ratio`` (their ratio: 0 is perfect, 1 no better than no structure),
        ``sign_agreement`` (|cosine| of the aligned third-order tensors),
        ``tied_solutions`` (local optima of the second-order fit
        within ``tie_tolerance`` of the best, between which the third-order agreement chose),
        ``rotational_modes``, ``explained_variance_a`` and
        ``explained_variance_b`` (fraction of z-scored baseline variance kept).
    """

    def __init__(
        self,
        n_components: int = 4,
        *,
        reducer: str = "pca",
        max_lag: float = 0.5,
        n_lags: int = 8,
        n_starts: int = 16,
        tie_tolerance: float = 1.0,
        fit_control: bool = True,
        rng: Any = 0,
    ) -> None:
        self.n_components = n_components
        self.reducer = reducer
        self.max_lag = max_lag
        self.n_lags = n_lags
        self.n_starts = n_starts
        self.tie_tolerance = tie_tolerance
        self.fit_control = fit_control
        self.rng = rng

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, X_a: np.ndarray, X_b: np.ndarray, *, fs: float) -> LatentAligner:
        """Learn the map from the two baselines.

        Parameters
        ----------
        X_a, X_b : ndarray, shape (n_channels_a, n_times_a), (n_channels_b, n_times_b)
            Baselines of the reference dataset ``a`` and of the dataset ``b`` to align, at the
            same sampling rate; channel counts and lengths may differ.
        fs : float
            Sampling rate in Hz of both baselines.

        Returns
        -------
        self
        """
        fs = check_fs(fs)
        self._check_params()
        lags = _lag_samples(self.max_lag, self.n_lags, fs)
        min_times = max(20 * int(lags[-1]), 10 * self.n_components)
        X_a = check_data(X_a, "baseline a", min_times=min_times)
        X_b = check_data(X_b, "baseline b", min_times=min_times)
        for name, X in (("a", X_a), ("b", X_b)):
            if self.n_components >= X.shape[0]:
                raise DataError(
                    f"n_components: {self.n_components} latent dimensions requested but baseline {name} has "
                    f"{X.shape[0]} channels; choose n_components below {X.shape[0]}"
                )
        rng = as_rng(self.rng)
        self.fs_ = fs
        self.lags_ = lags
        self.mean_a_, self.projection_a_, explained_a = _reduce_whiten(X_a, self.n_components, self.reducer)
        self.mean_b_, self.unaligned_b_, explained_b = _reduce_whiten(X_b, self.n_components, self.reducer)
        Z_a = self.projection_a_ @ (X_a - self.mean_a_[:, None])
        Z_b = self.unaligned_b_ @ (X_b - self.mean_b_[:, None])
        optima = _match_dynamics(Z_a, Z_b, lags, n_starts=self.n_starts, rng=rng)
        best_cost = min(cost for _, cost in optima)
        tied = [(rot, cost) for rot, cost in optima if cost <= (1 + self.tie_tolerance) * best_cost]
        K_a, K_b = _third_moments(Z_a), _third_moments(Z_b)
        scored = [(_third_order_agreement(K_a, K_b, rot), rot, cost) for rot, cost in tied]
        agreement, rotation, mismatch = max(scored, key=lambda item: abs(item[0]))
        if agreement < 0:
            rotation = -rotation
        self.rotation_ = rotation
        self.projection_b_ = rotation.T @ self.unaligned_b_

        control = float("nan")
        if self.fit_control:
            shuffled = shuffle_in_time(X_b, rng=rng)
            _, control_map, _ = _reduce_whiten(shuffled, self.n_components, self.reducer)
            Z_c = control_map @ (shuffled - shuffled.mean(axis=-1, keepdims=True))
            control = min(
                cost for _, cost in _match_dynamics(Z_a, Z_c, lags, n_starts=max(2, self.n_starts // 4), rng=rng)
            )
        ratio = mismatch / control if control > 0 else float("nan")
        self.quality_ = {
            "dynamics_mismatch": float(mismatch),
            "control_mismatch": float(control),
            "mismatch_ratio": float(ratio),
            "sign_agreement": float(abs(agreement)),
            "tied_solutions": len(tied),
            "rotational_modes": int(_rotational_modes(Z_a)),
            "explained_variance_a": float(explained_a),
            "explained_variance_b": float(explained_b),
        }
        return self

    def _check_params(self) -> None:
        if self.reducer not in REDUCERS:
            raise DataError(f"reducer: expected one of {REDUCERS}, got {self.reducer!r}")
        if int(self.n_components) != self.n_components or self.n_components < 1:
            raise DataError(f"n_components: expected a positive integer, got {self.n_components!r}")
        if not self.tie_tolerance >= 0:
            raise DataError(f"tie_tolerance: expected a non-negative fraction, got {self.tie_tolerance!r}")
        if not self.max_lag > 0 or int(self.n_lags) < 1 or int(self.n_starts) < 1:
            raise DataError(
                f"max_lag (s), n_lags and n_starts must be positive; got {self.max_lag!r}, {self.n_lags!r}, "
                f"{self.n_starts!r}"
            )

    # -- applying ----------------------------------------------------------------------------
    def transform(self, X: np.ndarray, *, domain: str = "a") -> np.ndarray:
        """Carry data of dataset ``domain`` into the shared latent space.

        Parameters
        ----------
        X : ndarray, shape (..., n_channels_domain, n_times)
            Any data of the same channels as that dataset's baseline (task segments, trials).
        domain : {"a", "b"}
            Which dataset ``X`` comes from.

        Returns
        -------
        ndarray, shape (..., n_components, n_times)
        """
        return self._project(X, domain, aligned=True)

    def transform_unaligned(self, X: np.ndarray, *, domain: str = "a") -> np.ndarray:
        """Each dataset in its own whitened latent space (no rotation): the unaligned reference."""
        return self._project(X, domain, aligned=False)

    def _project(self, X: np.ndarray, domain: str, *, aligned: bool) -> np.ndarray:
        check_is_fitted(self, "projection_b_")
        domain = check_domain(domain)
        if domain == "a":
            projection, mean = self.projection_a_, self.mean_a_
        else:
            projection, mean = (self.projection_b_ if aligned else self.unaligned_b_), self.mean_b_
        X = check_transform_input(X, mean.size, domain, "its baseline")
        return np.einsum("kc,...ct->...kt", projection, X - mean[:, None])

    #: evaluation: without alignment the latent axes of the two datasets are arbitrary
    unaligned_axes_arbitrary = True


# -- numerics ----------------------------------------------------------------------------------


def _lag_samples(max_lag: float, n_lags: int, fs: float) -> np.ndarray:
    top = max(1, int(round(max_lag * fs)))
    return np.unique(np.round(np.linspace(1, top, int(n_lags))).astype(int))


def _reduce_whiten(X: np.ndarray, n_components: int, reducer: str) -> tuple[np.ndarray, np.ndarray, float]:
    """``(mean, projection, explained)``: z-score, reduce, whiten; projection is (k, n_channels)."""
    mean = X.mean(axis=-1)
    scale = X.std(axis=-1)
    standard = ((X - mean[:, None]) / scale[:, None]).T  # (n_times, n_channels), sklearn orientation
    if reducer == "pca":
        model = PCA(n_components=n_components, svd_solver="auto", random_state=0).fit(standard)
        linear = model.components_
        explained = float(model.explained_variance_ratio_.sum())
    else:
        model = FactorAnalysis(n_components=n_components, random_state=0).fit(standard)
        n = standard.shape[1]
        linear = (model.transform(np.eye(n) + model.mean_) - model.transform(model.mean_[None])).T
        loadings = model.components_
        explained = float(np.sum(loadings**2) / n)
    projection = linear / scale[None, :]
    latent = projection @ (X - mean[:, None])
    cov = np.atleast_2d(np.cov(latent))  # one latent dimension: a 1 x 1 covariance
    values, vectors = np.linalg.eigh(cov)
    if values.min() <= 1e-12 * values.max():
        raise DataError(
            f"n_components: the baseline has fewer than {n_components} independent latent dimensions; "
            "reduce n_components"
        )
    whitening = vectors @ np.diag(values**-0.5) @ vectors.T
    return mean, whitening @ projection, explained


def lagged_covariances(Z: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """``C(tau) = mean_t Z[:, t + tau] Z[:, t]^T`` for each lag, shape ``(n_lags, k, k)``.

    ``Z`` is ``(k, n_times)`` and centred; lags are in samples.
    """
    n = Z.shape[-1]
    return np.stack([Z[:, lag:] @ Z[:, : n - lag].T / (n - lag) for lag in lags])


def _match_dynamics(
    Z_a: np.ndarray, Z_b: np.ndarray, lags: np.ndarray, *, n_starts: int, rng: np.random.Generator
) -> list[tuple[np.ndarray, float]]:
    """Local minimisers ``O`` (orthogonal) of ``sum ||O C_a O^T - C_b||^2`` (relative), one per start,
    as ``(O, residual)`` pairs."""
    C_a, C_b = lagged_covariances(Z_a, lags), lagged_covariances(Z_b, lags)
    norm = 0.5 * (np.sum(C_a**2) + np.sum(C_b**2))
    k = Z_a.shape[0]

    def cost(rot: np.ndarray) -> float:
        return float(np.sum((rot @ C_a @ rot.T - C_b) ** 2) / norm)

    def gradient(rot: np.ndarray) -> np.ndarray:
        E = rot @ C_a @ rot.T - C_b
        G = 2 * np.sum(E @ rot @ np.swapaxes(C_a, 1, 2) + np.swapaxes(E, 1, 2) @ rot @ C_a, axis=0) / norm
        M = rot.T @ G
        return rot @ (M - M.T) / 2  # Riemannian gradient on the orthogonal group

    optima = []
    for start in range(int(n_starts)):
        Q, R = np.linalg.qr(rng.standard_normal((k, k)))
        rot = Q * np.sign(np.diag(R))
        if start % 2:  # cover both connected components of O(k)
            rot[:, 0] = -rot[:, 0]
        optima.append(_descend(rot, cost, gradient))
    return optima


def _descend(rot, cost, gradient, *, max_iter: int = 400, tol: float = 1e-10):
    """Riemannian gradient descent with Armijo backtracking and a polar retraction."""
    value = cost(rot)
    step = 1.0
    for _ in range(max_iter):
        grad = gradient(rot)
        sq = float(np.sum(grad**2))
        if sq < tol:
            break
        while step > 1e-8:
            U, _, Vt = np.linalg.svd(rot - step * grad)
            candidate = U @ Vt
            new = cost(candidate)
            if new <= value - 1e-4 * step * sq:
                break
            step /= 2
        else:
            break
        rot, value = candidate, new
        step *= 2
    return rot, value


def _third_moments(Z: np.ndarray) -> np.ndarray:
    """``mean_t z_i z_j z_k`` of centred ``Z`` (k, n_times), shape (k, k, k)."""
    return np.einsum("it,jt,kt->ijk", Z, Z, Z, optimize=True) / Z.shape[-1]


def _third_order_agreement(K_a: np.ndarray, K_b: np.ndarray, rot: np.ndarray) -> float:
    """Cosine between b's third-moment tensor and a's carried by ``O`` (sign of the map)."""
    K_a = np.einsum("ai,bj,ck,ijk->abc", rot, rot, rot, K_a, optimize=True)
    denominator = np.sqrt(np.sum(K_a**2) * np.sum(K_b**2))
    return float(np.sum(K_a * K_b) / denominator) if denominator > 0 else 0.0


def _rotational_modes(Z: np.ndarray) -> int:
    """Complex-conjugate eigenvalue pairs of the whitened lag-1 dynamics (oscillatory modes)."""
    dynamics = lagged_covariances(Z, np.array([1]))[0]
    eigenvalues = np.linalg.eigvals(dynamics)
    return int(np.sum(np.abs(eigenvalues.imag) > 1e-3 * np.abs(eigenvalues).max()) // 2)
