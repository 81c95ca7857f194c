"""Exact duplicates by content: a hash of the samples in canonical form, not of the file.

What "the same samples" means here: the same number of channels and samples, in the same
channel order, at the same sampling rate, with equal values once expressed in SI units
and rounded to float32. The canonical form hashed by :func:`compute_content_hash` is

* the samples multiplied by the SI factor of their declared units (``"uV"`` -> 1e-6,
  ``"mV"`` -> 1e-3, ``"%"`` -> 1e-2, ...; unknown units are taken as they are),
* cast to little-endian float32 (the precision NWB and BrainVision store),
* preceded by the shape and the sampling rate in Hz to 6 decimals (so a reshaped or
  relabelled-rate copy does not collide, while header rounding such as 29.999999999999996
  for 30 Hz does not matter).

This finds copies that kept every sample bit for bit after the unit conversion (the same
file uploaded twice, an NWB file rewritten, a BIDS run converted to NWB through float32).
A lossy conversion (16-bit EDF, a BrainVision file at 0.1 uV resolution) changes the last
bits of some samples, and no cryptographic hash tolerates that: such copies are recognised
as exact by the verification step instead (:func:`adhesive_dots.curate.verify.verify_pair`,
which calls a pair exact when the samples agree to ``exact_tolerance`` in relative RMS).
"""

from __future__ import annotations

import hashlib

import numpy as np

from adhesive_dots.errors import DataError

#: SI factor of the unit strings met in NWB and BIDS files (case-sensitive: "mV" is not "MV").
UNIT_SCALE: dict[str, float] = {
    "V": 1.0, "volt": 1.0, "volts": 1.0,
    "mV": 1e-3, "millivolt": 1e-3, "millivolts": 1e-3,
    "uV": 1e-6, "µV": 1e-6, "μV": 1e-6, "microvolt": 1e-6, "microvolts": 1e-6,
    "nV": 1e-9,
    "T": 1.0, "fT": 1e-15, "pT": 1e-12,
    "dF/F": 1.0, "%": 1e-2, "percent": 1e-2,
}  # fmt: skip


def unit_scale(units: str | None) -> float:
    """SI factor of ``units`` (1.0 for empty or unknown units, which are hashed as stored)."""
    return UNIT_SCALE.get((units or "").strip(), 1.0)


def canonical_samples(data: np.ndarray, *, units: str | None = None) -> np.ndarray:
    """``data`` in SI units as little-endian float32, C-contiguous, shape ``(n_channels, n_times)``."""
    x = np.asarray(data)
    if x.ndim == 1:
        x = x[np.newaxis]
    if x.ndim != 2:
        raise DataError(f"data must be (n_channels, n_times), got shape {x.shape}")
    return np.ascontiguousarray(np.asarray(x, dtype=np.float64) * unit_scale(units), dtype="<f4")


def compute_content_hash(data: np.ndarray, fs: float, *, units: str | None = None) -> str:
    """``"sha256:<hex>"`` of the canonical samples (see the module docstring).

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
        Samples in ``units``.
    fs : float
        Sampling rate in Hz.
    units : str, optional
        Units of ``data`` (converted to SI before hashing).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((2, 100)) * 1e-5
    >>> compute_content_hash(x, 250.0, units="V") == compute_content_hash(x * 1e6, 250.0, units="uV")
    True
    """
    if not np.isfinite(fs) or fs <= 0:
        raise DataError(f"fs must be a positive sampling rate in Hz, got {fs!r}")
    samples = canonical_samples(data, units=units)
    digest = hashlib.sha256()
    digest.update(f"{samples.shape[0]}x{samples.shape[1]}@{float(fs):.6f}Hz;".encode())
    digest.update(samples.tobytes())
    return f"sha256:{digest.hexdigest()}"
