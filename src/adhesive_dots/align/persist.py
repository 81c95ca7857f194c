"""Saving a fitted aligner to a file that executes no code when loaded (``.npz`` + JSON).

The file is a NumPy ``.npz`` archive: every learned array (attributes ending in ``_``) as
its own entry, plus ``__meta__``, a JSON string with the class name, the parameters and the
learned scalars (``quality_``, ``fs_``). It is read with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
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


MAX_UNCOMPRESSED_BYTES = 1 << 30
"""Largest total uncompressed size of an aligner file's arrays (checked before anything is read)."""
MAX_COMPRESSION_RATIO = 200
"""An entry expanding more than this many times is refused (a zip bomb, not a learned array)."""
_ATTRIBUTE = re.compile(r"^[a-z][a-z0-9_]*[a-z0-9]_$")
"""What a learned attribute is called (scikit-learn style: ``components_``); nothing else is set from a file."""


def load_aligner(path: str | Path) -> LatentAligner | CovarianceAligner:
    """Read an aligner written by :func:`save_aligner`, ready to ``transform``.

    The file is read with ``allow_pickle=False`` (no code runs); its entries' uncompressed sizes
    are checked before reading (:data:`MAX_UNCOMPRESSED_BYTES`); only parameters of the class
    and attributes named like learned ones (``name_``) are set. Anything else raises
    :class:`~adhesive_dots.errors.FormatError` naming the file.
    """
    path = Path(path)
    if not path.exists():
        raise SourceNotFoundError(f"{path}: no such aligner file (write one with `adots align ... -o {path}`)")
    _check_archive(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise FormatError(f"{path}: not a readable .npz aligner file ({err})") from None
    if "__meta__" not in arrays:
        raise FormatError(f"{path}: no __meta__ entry; this .npz was not written by save_aligner")
    try:
        meta = json.loads(str(arrays.pop("__meta__")))
    except (ValueError, RecursionError) as err:
        raise FormatError(f"{path}: the __meta__ header is not valid JSON ({str(err)[:100]})") from None
    if not isinstance(meta, dict):
        raise FormatError(f"{path}: the __meta__ header is not a JSON object")
    if meta.get("format") != FORMAT or meta.get("class") not in ALIGNERS:
        raise FormatError(
            f"{path}: unknown aligner format {str(meta.get('format'))[:60]!r} / class {str(meta.get('class'))[:60]!r}"
        )
    version = meta.get("version", 0)
    if not isinstance(version, int):
        raise FormatError(f"{path}: the aligner file version is not an integer")
    if version > FORMAT_VERSION:
        raise FormatError(
            f"{path}: aligner file version {version} is newer than this adhesive-dots reads "
            f"({FORMAT_VERSION}); upgrade adhesive-dots"
        )
    cls = ALIGNERS[meta["class"]]
    params, attributes = meta.get("params", {}), meta.get("attributes", {})
    if not isinstance(params, dict) or not isinstance(attributes, dict):
        raise FormatError(f"{path}: params and attributes in __meta__ must be JSON objects")
    allowed = set(cls().get_params())
    unknown = sorted(set(params) - allowed)
    bad = sorted(k for k in [*attributes, *arrays] if not _ATTRIBUTE.match(str(k)))
    if unknown or bad:
        raise FormatError(
            f"{path}: refused: unknown parameter(s) {unknown[:5]} or attribute name(s) {[b[:40] for b in bad[:5]]} "
            f"for {meta['class']} (learned attributes are named like 'name_')"
        )
    try:
        params = {k: (tuple(tuple(b) for b in v) if k == "bands" and v is not None else v) for k, v in params.items()}
        aligner = cls(**params)
    except (TypeError, ValueError) as err:
        raise FormatError(f"{path}: the aligner's parameters are malformed ({str(err)[:100]})") from None
    for key, value in attributes.items():
        setattr(aligner, key, value)
    for key, value in arrays.items():
        setattr(aligner, key, value)
    return aligner


def _check_archive(path: Path) -> None:
    """Refuse a zip whose entries declare too many uncompressed bytes (before decompressing anything)."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise FormatError(f"{path}: not a readable .npz aligner file ({err})") from None
    total = sum(e.file_size for e in entries)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise FormatError(
            f"{path}: its arrays would take {total / 1e9:.1f} GB uncompressed, more than "
            f"{MAX_UNCOMPRESSED_BYTES / 1e9:.1f} GB; refused (a zip bomb or not an aligner)"
        )
    for entry in entries:
        if entry.file_size > (1 << 20) and entry.file_size > MAX_COMPRESSION_RATIO * max(entry.compress_size, 1):
            raise FormatError(
                f"{path}: entry {entry.filename[:60]!r} expands {entry.file_size // max(entry.compress_size, 1)} "
                "times; refused (a zip bomb, not a learned array)"
            )


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
