"""Aligning datasets with matched channels through their baseline covariances (pyRiemann).

Model and assumptions
---------------------
Both datasets record the same channels or regions (two EEG montages of the same positions,
two fMRI parcellations with matched ROIs), but gains, references, individual anatomy and
rigs differ, so their covariance matrices live in different parts of the SPD manifold.
:class:`CovarianceAligner` follows pyRiemann's transfer-learning tools
(:mod:`pyriemann.transfer`):

1. **Re-centring** (:class:`pyriemann.transfer.TLCenter`, Zanini et al. 2018): the baseline
   is cut into windows, one covariance per window; each dataset's windows are recentred to
   the identity through their Riemannian mean ``M``: ``C -> M^{-1/2} C M^{-1/2}``. On signals
   this is the spatial filter ``x -> M^{-1/2} x``, so task data can be carried too.
2. **Procrustes rotation** (:class:`pyriemann.transfer.TLRotate`, Rodrigues et al. 2019):
   after re-centring both means are the identity, so an orthogonal ``U`` (``C -> U C U^T``)
   is chosen to match the geometry that is left. Rodrigues et al. match class means of
   labelled trials; baselines have no classes, so the anchors here are the mean covariances
   of the baseline in **frequency bands** (each band a "class"), which pyRiemann's
   Riemannian Procrustes then matches. The rotation is skipped when fewer than two bands fit
   under the Nyquist frequency.

Rank-deficient covariances are never passed to pyRiemann (it needs positive-definite matrices).
A band whose window covariances are rank-deficient -- a window of ``w`` s of a band ``B`` Hz wide
carries about ``2 B w`` degrees of freedom, fewer than 64 EEG channels in 2 s of 1-4 Hz -- is
left out of the anchors (smallest/largest eigenvalue below :data:`MIN_EIGEN_RATIO`; listed in
``quality_["bands_dropped"]``), and with fewer than two bands left the rotation is skipped. A
baseline whose broadband window covariances are rank-deficient (an average reference, a flat or
duplicated channel) is refused with that reason: drop a channel or use a shrinkage estimator
(``estimator="oas"``).

Valid when channels correspond one to one and the same sources drive both datasets
(channel order must match). Gains, references and a linear mixing that differ between the
datasets are removed; differences in the *dynamics* are not (use
:class:`~adhesive_dots.align.LatentAligner` for that).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from pyriemann.estimation import Covariances
from pyriemann.geometry.distance import distance_riemann
from pyriemann.geometry.mean import mean_riemann
from pyriemann.transfer import TLCenter, TLRotate, encode_domains
from scipy import signal as sps
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from adhesive_dots.align._common import check_data, check_domain, check_fs, check_transform_input
from adhesive_dots.errors import DataError

DEFAULT_BANDS: tuple[tuple[float, float], ...] = ((1.0, 4.0), (4.0, 8.0), (8.0, 13.0), (13.0, 30.0))
"""Frequency bands (Hz, inclusive) whose mean covariances anchor the rotation."""
SLOW_BANDS: tuple[tuple[float, float], ...] = ((0.01, 0.027), (0.027, 0.073), (0.073, 0.198))
"""Bands of slow signals (BOLD slow-5, slow-4, slow-3; Hz) used instead below :data:`SLOW_FS`."""
SLOW_FS = 5.0
"""Sampling rates below this (Hz) are slow signals (fMRI BOLD), as in the fingerprint's rule."""

MIN_EIGEN_RATIO = 1e-10
"""A covariance whose smallest/largest eigenvalue ratio is below this is treated as rank-deficient."""


def min_eigen_ratio(covs: np.ndarray) -> float:
    """Smallest ratio of smallest to largest eigenvalue over covariances ``(n_matrices, n, n)``."""
    values = np.linalg.eigvalsh(covs)
    top = values[:, -1]
    if not np.all(np.isfinite(values)) or np.any(top <= 0):
        return 0.0
    return float(np.min(values[:, 0] / top))


class CovarianceAligner(BaseEstimator):
    """Riemannian re-centring plus Procrustes rotation of two datasets with matched channels.

    Parameters
    ----------
    window : float
        Length in s of the baseline windows whose covariances are averaged; a window always holds at
        least ``n_channels + 1`` samples (BOLD at TR 2 s gets windows of tens of seconds).
    estimator : str, optional
        Covariance estimator of :class:`pyriemann.estimation.Covariances`. The default is the sample
        covariance (``"scm"``: equivariant, filtered signals have exactly the filtered covariances), and
        shrinkage (``"oas"``) for signals sampled below :data:`SLOW_FS`, whose windows hold few samples
        per channel (``estimator_`` says which was used).
    bands : sequence of (low, high) or None
        Bands in Hz anchoring the rotation; ``None`` uses :data:`DEFAULT_BANDS` (:data:`SLOW_BANDS` for signals
        sampled below :data:`SLOW_FS`) below 0.45 ``fs``.
    rotate : bool
        Apply the Procrustes rotation after re-centring.

    Attributes
    ----------
    filter_a_, filter_b_ : ndarray, shape (n_channels, n_channels)
        Spatial filters into the shared space: ``transform(X, domain) = filter @ (X - offset)``.
    rotation_ : ndarray, shape (n_channels, n_channels)
        Orthogonal rotation applied to dataset b after re-centring (identity if not rotated).
    cov_mean_a_, cov_mean_b_ : ndarray, shape (n_channels, n_channels)
        Riemannian means of the baseline window covariances.
    offset_a_, offset_b_ : ndarray, shape (n_channels,)
        Baseline mean of each channel, subtracted before filtering (DC offsets differ by rig).
    bands_ : ndarray, shape (n_bands, 2)
        Bands used for the rotation (Hz).
    fs_ : float
        Sampling rate in Hz.
    quality_ : dict
        ``bands_dropped`` (bands left out of the anchors: rank-deficient covariances),
        ``distance_before`` and ``distance_after`` (affine-invariant Riemannian distance
        between the two datasets' mean baseline covariances, before and after alignment),
        ``distance_ratio`` (after/before), ``band_mismatch_before_rotation`` and
        ``band_mismatch_after_rotation`` (mean Riemannian distance between the band anchors),
        ``rotation_converged`` (pyRiemann's optimiser reached its tolerance).
    """

    def __init__(
        self,
        *,
        window: float = 2.0,
        estimator: str | None = None,
        bands: Any = None,
        rotate: bool = True,
    ) -> None:
        self.window = window
        self.estimator = estimator
        self.bands = bands
        self.rotate = rotate

    def fit(self, X_a: np.ndarray, X_b: np.ndarray, *, fs: float) -> CovarianceAligner:
        """Learn the filters from two baselines with the same channels in the same order.

        Parameters
        ----------
        X_a, X_b : ndarray, shape (n_channels, n_times_a), (n_channels, n_times_b)
            Baselines of the reference dataset ``a`` and of dataset ``b``.
        fs : float
            Sampling rate in Hz of both.

        Returns
        -------
        self
        """
        fs = check_fs(fs)
        if not self.window > 0:
            raise DataError(f"window: expected a positive length in s, got {self.window!r}")
        n_window = max(int(round(self.window * fs)), np.shape(X_a)[0] + 1)  # full-rank window covariances
        X_a = check_data(X_a, "baseline a", min_times=4 * n_window)
        X_b = check_data(X_b, "baseline b", min_times=4 * n_window)
        if X_a.shape[0] != X_b.shape[0]:
            raise DataError(
                f"baselines a and b have {X_a.shape[0]} and {X_b.shape[0]} channels; the covariance aligner "
                "needs matched channels (use --method latent / LatentAligner for different neurons)"
            )
        self.fs_ = fs
        self.estimator_ = self.estimator or ("oas" if fs < SLOW_FS else "scm")
        covs_a = self._covariances(X_a, n_window)
        covs_b = self._covariances(X_b, n_window)
        for name, covs in (("a", covs_a), ("b", covs_b)):
            ratio = min_eigen_ratio(covs)
            if ratio < MIN_EIGEN_RATIO:
                raise DataError(
                    f"baseline {name}: its {self.window:g} s window covariances are rank-deficient (smallest/largest "
                    f"eigenvalue {ratio:.2g}; an average reference, or a flat or duplicated channel, removes a "
                    "dimension); drop one channel (--channels), or use a shrinkage estimator (estimator='oas')"
                )
        covs = np.concatenate([covs_a, covs_b])
        domains = np.array(["a"] * len(covs_a) + ["b"] * len(covs_b))
        _, y_enc = encode_domains(covs, np.array(["rest"] * len(covs)), domains)
        center = TLCenter(target_domain="a", metric="riemann").fit(covs, y_enc)
        recenter_a = center.centers_["a"].filters_.T
        recenter_b = center.centers_["b"].filters_.T
        self.cov_mean_a_ = mean_riemann(covs_a)
        self.cov_mean_b_ = mean_riemann(covs_b)
        self.offset_a_ = X_a.mean(axis=-1)
        self.offset_b_ = X_b.mean(axis=-1)

        self.bands_ = np.asarray(self._bands(fs), dtype=float).reshape(-1, 2)
        n_channels = X_a.shape[0]
        rotation = np.eye(n_channels)
        band_before = band_after = float("nan")
        converged = True
        dropped: list[tuple[float, float]] = []
        anchors = {"a": [], "b": []}
        if self.rotate and len(self.bands_) >= 2:
            for low, high in self.bands_:
                sos = sps.butter(4, (low, high), btype="bandpass", fs=fs, output="sos")
                pair = {}
                for name, X, filt in (("a", X_a, recenter_a), ("b", X_b, recenter_b)):
                    band = sps.sosfiltfilt(sos, X, axis=-1)
                    pair[name] = filt @ self._covariances(band, n_window) @ filt.T
                if min(min_eigen_ratio(pair["a"]), min_eigen_ratio(pair["b"])) < MIN_EIGEN_RATIO:
                    dropped.append((float(low), float(high)))  # too few degrees of freedom for a PD anchor
                    continue
                anchors["a"].append(pair["a"])
                anchors["b"].append(pair["b"])
        if len(anchors["a"]) >= 2:
            labels = np.concatenate([[f"band{i}"] * len(c) for i, c in enumerate(anchors["a"])])
            labels_b = np.concatenate([[f"band{i}"] * len(c) for i, c in enumerate(anchors["b"])])
            stacked = np.concatenate(anchors["a"] + anchors["b"])
            band_domains = np.array(["a"] * len(labels) + ["b"] * len(labels_b))
            _, y_bands = encode_domains(stacked, np.concatenate([labels, labels_b]), band_domains)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                rotator = TLRotate(target_domain="a", metric="riemann").fit(stacked, y_bands)
            converged = not any("Convergence not reached" in str(w.message) for w in caught)
            rotation = rotator.rotations_["b"]
            means_a = np.stack([mean_riemann(c) for c in anchors["a"]])
            means_b = np.stack([mean_riemann(c) for c in anchors["b"]])
            band_before = float(np.mean([distance_riemann(p, q) for p, q in zip(means_a, means_b, strict=True)]))
            rotated = rotation @ means_b @ rotation.T
            band_after = float(np.mean([distance_riemann(p, q) for p, q in zip(means_a, rotated, strict=True)]))
        self.rotation_ = rotation
        self.filter_a_ = recenter_a
        self.filter_b_ = rotation @ recenter_b

        after_a = mean_riemann(self.filter_a_ @ covs_a @ self.filter_a_.T)
        after_b = mean_riemann(self.filter_b_ @ covs_b @ self.filter_b_.T)
        before = float(distance_riemann(self.cov_mean_a_, self.cov_mean_b_))
        after = float(distance_riemann(after_a, after_b))
        self.quality_ = {
            "distance_before": before,
            "distance_after": after,
            "distance_ratio": after / before if before > 0 else 0.0,
            "band_mismatch_before_rotation": band_before,
            "band_mismatch_after_rotation": band_after,
            "rotation_converged": bool(converged),
            "bands_dropped": [list(band) for band in dropped],
        }
        return self

    def _bands(self, fs: float) -> list[tuple[float, float]]:
        if self.bands is None:
            bands = SLOW_BANDS if fs < SLOW_FS else DEFAULT_BANDS
            return [(low, high) for low, high in bands if high <= 0.45 * fs]
        bands = [tuple(float(v) for v in band) for band in self.bands]
        for low, high in bands:
            if not 0 < low < high < fs / 2:
                raise DataError(
                    f"bands: each band must satisfy 0 < low < high < fs/2 = {fs / 2:g} Hz, got ({low:g}, {high:g})"
                )
        return bands

    def _covariances(self, X: np.ndarray, n_window: int) -> np.ndarray:
        n_windows = X.shape[-1] // n_window
        epochs = X[:, : n_windows * n_window].reshape(X.shape[0], n_windows, n_window).transpose(1, 0, 2)
        return Covariances(estimator=self.estimator_).fit_transform(epochs)

    def transform(self, X: np.ndarray, *, domain: str = "a") -> np.ndarray:
        """Spatially filter data of dataset ``domain`` into the shared (re-centred) space.

        The channel offsets of that dataset's baseline are removed first.

        Parameters
        ----------
        X : ndarray, shape (..., n_channels, n_times)
        domain : {"a", "b"}

        Returns
        -------
        ndarray, shape (..., n_channels, n_times)
        """
        check_is_fitted(self, "filter_b_")
        domain = check_domain(domain)
        spatial, offset = (self.filter_a_, self.offset_a_) if domain == "a" else (self.filter_b_, self.offset_b_)
        X = check_transform_input(X, spatial.shape[1], domain, "its baseline")
        return np.einsum("kc,...ct->...kt", spatial, X - offset[:, None])

    def transform_unaligned(self, X: np.ndarray, *, domain: str = "a") -> np.ndarray:
        """The channels as recorded (matched channels need no map to be compared)."""
        check_is_fitted(self, "filter_b_")
        domain = check_domain(domain)
        return check_transform_input(X, self.filter_a_.shape[1], domain, "its baseline")

    def transform_covariances(self, covs: np.ndarray, *, domain: str = "a") -> np.ndarray:
        """Carry covariance matrices ``(..., n_channels, n_channels)`` of ``domain`` into the shared space."""
        check_is_fitted(self, "filter_b_")
        spatial = self.filter_a_ if check_domain(domain) == "a" else self.filter_b_
        return spatial @ np.asarray(covs, dtype=float) @ spatial.T

    #: evaluation: matched channels are comparable without alignment
    unaligned_axes_arbitrary = False
