"""All-or-nothing output files: write to a temporary sibling, then rename."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from adhesive_dots.errors import SourceNotFoundError


@contextlib.contextmanager
def atomic_output(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    An exception (or a kill) inside the block never leaves a half-written ``path``; the
    temporary file (or folder, e.g. a Zarr store) is removed on error. An existing folder is
    replaced only after the new one is complete.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise SourceNotFoundError(f"{target}: the folder {target.parent} does not exist")
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True (or --overwrite) to replace it")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".part{target.suffix}", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # writers such as h5py want to create the file themselves
    try:
        yield tmp
        if tmp.is_dir() and target.is_dir():
            old = tmp.with_name(tmp.name + ".old")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp)
        elif tmp.exists():
            tmp.unlink()
