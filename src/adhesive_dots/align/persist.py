"""Saving a fitted aligner to a file that executes no code when loaded (``.npz`` + JSON).

The file is a NumPy ``.npz`` archive: every learned array (attributes ending in ``_``) as
its own entry, plus ``__meta__``, a JSON string with the class name, the parameters and the
learned scalars (``quality_``, ``fs_``). It is read with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from adhesive_dots.align.covariance import CovarianceAligner
from adhesive_dots.align.latent import LatentAligner
from adhesive_dots.errors import DataError, FormatError, SourceNotFoundError

FORMAT = "adhesive-dots aligner"
FORMAT_VERSION = 1
ALIGNERS = {cls.__name__: cls for cls in (LatentAligner, CovarianceAligner)}


def save_aligner(aligner: Any, path: str | Path) -> Path:
    """Write fitted ``aligner`` to ``path`` (``.npz`` is appended when missing), atomically.

    Returns
    -------
    Path
        The file written.
    """
    name = type(aligner).__name__
    if name not in ALIGNERS:
        raise DataError(f"save_aligner: expected one of {sorted(ALIGNERS)}, got {name}")
    if not hasattr(aligner, "quality_"):
        raise DataError(f"save_aligner: the {name} is not fitted; call fit(baseline_a, baseline_b, fs=...) first")
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    arrays: dict[str, np.ndarray] = {}
    scalars: dict[str, Any] = {}
    for key, value in vars(aligner).items():
        if not key.endswith("_") or key.startswith("_"):
            continue
        if isinstance(value, np.ndarray):
            arrays[key] = value
        else:
            scalars[key] = value
    params = {k: (v if _jsonable(v) else None) for k, v in aligner.get_params().items()}
    meta = {"format": FORMAT, "version": FORMAT_VERSION, "class": name, "params": params, "attributes": scalars}
    arrays["__meta__"] = np.array(json.dumps(meta, default=_to_builtin))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
    os.close(handle)
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_aligner(path: str | Path) -> LatentAligner | CovarianceAligner:
    """Read an aligner written by :func:`save_aligner`, ready to ``transform``."""
    path = Path(path)
    if not path.exists():
        raise SourceNotFoundError(f"{path}: no such aligner file (write one with `adots align ... -o {path}`)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError) as err:
        raise FormatError(f"{path}: not a readable .npz aligner file ({err})") from None
    if "__meta__" not in arrays:
        raise FormatError(f"{path}: no __meta__ entry; this .npz was not written by save_aligner")
    meta = json.loads(str(arrays.pop("__meta__")))
    if meta.get("format") != FORMAT or meta.get("class") not in ALIGNERS:
        raise FormatError(f"{path}: unknown aligner format {meta.get('format')!r} / class {meta.get('class')!r}")
    if meta.get("version", 0) > FORMAT_VERSION:
        raise FormatError(
            f"{path}: aligner file version {meta['version']} is newer than this adhesive-dots reads "
            f"({FORMAT_VERSION}); upgrade adhesive-dots"
        )
    cls = ALIGNERS[meta["class"]]
    params = {
        k: (tuple(tuple(b) for b in v) if k == "bands" and v is not None else v) for k, v in meta["params"].items()
    }
    aligner = cls(**params)
    for key, value in meta["attributes"].items():
        setattr(aligner, key, value)
    for key, value in arrays.items():
        setattr(aligner, key, value)
    return aligner


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value, default=_to_builtin)
    except TypeError:
        return False
    return True


def _to_builtin(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
