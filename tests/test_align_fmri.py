"""Aligning fMRI datasets through their baselines: same parcellation (covariance), different (latent)."""

from __future__ import annotations

import numpy as np

from adhesive_dots.align import CovarianceAligner, LatentAligner
from adhesive_dots.sim.bold import sim_roi_series, sim_subject_fc


def test_covariance_alignment_of_bold_on_matched_rois():
    # two scanners record the same ROI series of one subject with different gains and offsets (TR 2 s, 10 min):
    # re-centring maps both onto one covariance (exactly); the rotation anchored on the slow-5/4/3 band covariances
    # is only roughly identified from 300 volumes, so the aligned series agree far better than unaligned, not exactly
    rng = np.random.default_rng(3)
    fc = sim_subject_fc(1, 10, rng=rng)[0]
    a = sim_roi_series(fc, 300, hurst=0.75, rng=rng)
    gains = np.diag(rng.uniform(0.5, 3.0, 10))
    b = gains @ a + 100.0
    aligner = CovarianceAligner().fit(a, b, fs=0.5)
    assert aligner.estimator_ == "oas"  # windows of 11 volumes: shrinkage
    assert len(aligner.bands_) == 3  # slow-5, slow-4, slow-3 below 0.45 x fs
    quality = aligner.quality_
    assert quality["distance_after"] < 1e-6 < quality["distance_before"]
    shared_a, shared_b = aligner.transform(a, domain="a"), aligner.transform(b, domain="b")
    unaligned = aligner.transform_unaligned(b, domain="b")
    error = np.linalg.norm(shared_b - shared_a) / np.linalg.norm(shared_a)
    assert error < 0.1 * np.linalg.norm(unaligned - shared_a) / np.linalg.norm(shared_a)


def test_latent_alignment_across_parcellations_runs_on_bold():
    # 12 fine ROIs against 4 coarse ones (averages of three): different ROI counts need the latent aligner
    rng = np.random.default_rng(4)
    fc = sim_subject_fc(1, 12, n_networks=4, individuality=0.1, rng=rng)[0]
    fine = sim_roi_series(fc, 600, hurst=0.75, rng=rng)
    coarse = sim_roi_series(fc, 600, hurst=0.75, rng=rng).reshape(4, 3, 600).mean(axis=1)
    aligner = LatentAligner(n_components=2).fit(fine, coarse, fs=0.5)
    assert aligner.transform(fine, domain="a").shape == (2, 600)
    assert aligner.transform(coarse, domain="b").shape == (2, 600)
