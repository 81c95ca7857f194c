"""Writing files safely (layer 1): all-or-nothing outputs, leftovers of killed writers, free space.

All-or-nothing output files are written to a temporary sibling, then renamed. Temporary names
carry the writing process's id (``.<name>.<pid>.<random>.part<suffix>``), so
a later run can tell the leftovers of a killed process from the files of one still writing:
:func:`remove_stale_temporaries` deletes the former (and unparseable leftovers older than
:data:`STALE_AFTER_S`) and is called before every new write.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from adhesive_dots.errors import DataError, SourceNotFoundError

STALE_AFTER_S = 3600.0
"""Age after which a temporary file whose writer cannot be identified is removed."""
_TEMPORARY = re.compile(r"^\.(?P<name>.+?)\.(?:(?P<pid>\d+)\.)?[^.]+\.(?:part[^/]*|tmp)$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(folder: str | Path, *, name: str | None = None) -> list[Path]:
    """Delete temporary files (and folders) left in ``folder`` by killed writers (of ``name`` only, when given).

    A temporary of a live process is kept. Returns what was removed.
    """
    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or (name is not None and match["name"] != name):
            continue
        pid = match["pid"]
        if pid is not None and int(pid) != os.getpid() and _alive(int(pid)):
            continue
        if pid is None:
            with contextlib.suppress(OSError):
                if time.time() - entry.lstat().st_mtime < STALE_AFTER_S:
                    continue
        if pid is not None and int(pid) == os.getpid():
            continue  # this process's own file, in use
        with contextlib.suppress(OSError):
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
            removed.append(entry)
    return removed


def check_free_space(folder: str | Path, needed: int, *, what: str) -> None:
    """Raise :class:`DataError` ("no space left") when ``folder``'s file system has less than ``needed`` bytes free."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if free < needed:
        raise DataError(
            f"{what}: no space left on the device of {folder} (about {needed / 1e6:.1f} MB needed, "
            f"{free / 1e6:.1f} MB free); nothing was written"
        )


def describe_write_error(err: BaseException, target: Path) -> DataError:
    """A one-line :class:`DataError` for a failed write (naming "no space left" when that is the cause)."""
    text = str(err)
    if getattr(err, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or "no space left" in text.lower():
        return DataError(f"{target}: no space left on the device; nothing was written ({text.splitlines()[0]})")
    if getattr(err, "errno", None) == errno.EROFS or "read-only file system" in text.lower():
        return DataError(f"{target}: the file system is read-only; nothing was written")
    return DataError(f"{target}: could not be written ({text.splitlines()[0] if text else type(err).__name__})")


@contextlib.contextmanager
def atomic_output(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    An exception (or a kill) inside the block never leaves a half-written ``path``; the
    temporary file (or folder, e.g. a Zarr store) is removed on error, and the leftovers of a
    killed earlier run are removed first. An existing folder is replaced only after the new
    one is complete. The new file gets the usual permissions (umask), not the temporary's.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise SourceNotFoundError(f"{target}: the folder {target.parent} does not exist")
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True (or --overwrite) to replace it")
    remove_stale_temporaries(target.parent, name=target.name)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.{os.getpid()}.", suffix=f".part{target.suffix}", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # writers such as h5py want to create the file themselves (with the umask's permissions)
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
