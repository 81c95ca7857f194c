"""Helpers for tests of adhesive-dots and of code built on it (public, as in neurodsp)."""

from __future__ import annotations

import os
from pathlib import Path

REAL_DATA_ENV = "ADOTS_REAL_DATA"


def find_real_data() -> Path | None:
    """The folder of real test recordings (``shared/data/real``), or ``None`` if absent.

    Looks at ``$ADOTS_REAL_DATA`` first, then for ``../shared/data/real`` beside the
    project checkout (walking up from the current directory and from this file).
    """
    env = os.environ.get(REAL_DATA_ENV)
    if env:
        return Path(env) if Path(env).is_dir() else None
    starts = [Path.cwd(), Path(__file__).resolve()]
    for start in starts:
        for parent in [start, *start.parents]:
            candidate = parent / "shared" / "data" / "real"
            if candidate.is_dir():
                return candidate
    return None


def loglog_slope(freqs, power, f_range: tuple[float, float], exclude: tuple[float, float] | None = None) -> float:
    """Slope of a straight-line fit of log10(power) on log10(freq) in ``f_range`` (Hz, inclusive).

    The plain fit that the simulator's ground truth is checked with; ``exclude`` drops a
    band (e.g. an oscillatory peak). Returns the exponent (minus the slope).
    """
    import numpy as np

    freqs = np.asarray(freqs)
    keep = (freqs >= f_range[0]) & (freqs <= f_range[1])
    if exclude is not None:
        keep &= ~((freqs >= exclude[0]) & (freqs <= exclude[1]))
    slope = np.polyfit(np.log10(freqs[keep]), np.log10(np.asarray(power)[..., keep]).T, 1)[0]
    return -slope
