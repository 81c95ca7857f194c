"""Spike recordings read from NWB carry their spike times into the fingerprint's spiking statistics."""

from __future__ import annotations

import warnings

import numpy as np

from adhesive_dots import Baseline, Segment
from adhesive_dots.fingerprint import fingerprint
from adhesive_dots.io import open_recording


def test_units_of_a_real_nwb_file_give_rates_that_match_the_spike_counts(real_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pynwb's notes on this third-party file
        recording = open_recording(real_data / "A8604-211122.nwb", units_bin_width=0.1)
    with recording:
        start, stop = recording.t0 + 60.0, recording.t0 + 360.0
        baseline = Baseline(recording, Segment.between(start, stop))
        fp = fingerprint(baseline, rng=0)
        expected = [
            np.count_nonzero((t >= start) & (t < stop)) / (stop - start)
            for t in (recording.spikes.unit(i) for i in range(recording.spikes.n_units))
        ]
    rates = fp.dataset["spike_rate"].values
    # the same spikes counted two ways: exact up to float rounding
    np.testing.assert_allclose(rates, expected, rtol=1e-12)
    assert np.all(np.isfinite(fp.dataset["isi_cv"].values))
