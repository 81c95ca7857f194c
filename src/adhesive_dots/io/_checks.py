"""Checks shared by the readers of ``io``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from adhesive_dots.errors import DataError, FormatError, SourceNotFoundError


def check_not_all_nan(values: np.ndarray, *, source: str, name: str, i0: int, i1: int) -> np.ndarray:
    """Return ``values`` ``(n_channels, n_samples)``; raise :class:`DataError` if every value is NaN."""
    if values.size and _all_nan(values):
        raise DataError(
            f"{source}: series {name} is all NaN in samples {i0}:{i1}; there is no usable signal there; "
            "check the export or choose another series or segment"
        )
    return values


def check_local_file(path: Path, source: str) -> None:
    """Raise for a missing path or a 0-byte file (before any reader touches it)."""
    if not path.exists():
        raise SourceNotFoundError(f"{source}: no such file or folder; check the path")
    if path.is_file() and os.path.getsize(path) == 0:
        raise FormatError(f"{source}: the file is empty (0 bytes); it was probably not written completely")


def _all_nan(values: np.ndarray, *, block: int = 1 << 20) -> bool:
    """``np.isnan(values).all()`` in blocks (small temporaries), stopping at the first number."""
    flat = values.reshape(-1) if values.flags.c_contiguous else values.ravel()
    for i0 in range(0, flat.size, block):
        if not np.isnan(flat[i0 : i0 + block]).all():
            return False
    return True
