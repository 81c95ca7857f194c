"""The catalog as the server sees it: the latest consistent snapshot, taken again when the file changes.

DuckDB gives a file to one writer at a time, and a reader's lock keeps writers out while it
lasts (a read-only open is refused while ``adots ingest`` holds the file, and an ingest waits
while a reader holds it). The server therefore never answers a request from the file: it
answers from an in-memory :class:`~adhesive_dots.catalog.store.CatalogSnapshot`, copied
under one short read lock (about 0.15 s for 10,000 dots). A background thread compares the
file's signature (modification time and size of the file and its write-ahead log) with the
snapshot's every ``poll_s`` seconds and, at most once per ``min_interval_s``, takes a new
snapshot when it differs; if the writer holds the file at that moment it tries again at the
next tick. Requests keep the view they started with, so each one sees one committed state of
the catalog: a source being ingested (one transaction per source) is entirely in it or not
at all.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from adhesive_dots.catalog.store import Catalog, CatalogBusyError, CatalogError, CatalogSnapshot

log = logging.getLogger("adhesive_dots.serve")

DEFAULT_POLL_S = 0.5
"""Seconds between checks of the catalog file's signature."""
DEFAULT_MIN_INTERVAL_S = 1.0
"""At least this many seconds between two snapshots (leaves the file to a writer in between)."""


class Memo:
    """Values computed once per key, each by one thread while others wait for it; at most ``size`` kept."""

    def __init__(self, size: int | None = None) -> None:
        self.size = size
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def peek(self, key: Hashable) -> Any:
        """The value kept for ``key``, or ``None`` (never computes)."""
        with self._guard:
            return self._values.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` for ``key`` (computed elsewhere)."""
        with self._guard:
            self._values[key] = value

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._guard:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._values:
                    return self._values[key]
            value = compute()
            with self._guard:
                self._values[key] = value
                self._locks.pop(key, None)
                if self.size is not None:
                    while len(self._values) > self.size:
                        self._values.popitem(last=False)
            return value


class CatalogView:
    """One snapshot of the catalog and what the server derives from it (each computed once, on first use).

    Attributes
    ----------
    snapshot : CatalogSnapshot
        The consistent in-memory copy every request of this view reads.
    version : int
        1 for the first snapshot, then one more per refresh.
    """

    def __init__(self, snapshot: CatalogSnapshot, version: int) -> None:
        self.snapshot = snapshot
        self.version = version
        self.memo = Memo()
        self.bounded = Memo(size=32)  # values keyed by request parameters (filters, pages)
        self.responses = Memo(size=512)  # response bodies of lists by URL: a view never changes
        self.dot_responses = Memo(size=256)  # ... and of single dots (many, rarely asked twice: kept apart)


class LiveCatalog:
    """The latest :class:`CatalogView` of a catalog file, refreshed by a background thread.

    Parameters
    ----------
    catalog : Catalog
        The catalog file to follow.
    poll_s : float
        Seconds between checks of the file's signature.
    min_interval_s : float
        Least time between two snapshots.
    prepare : callable, optional
        Called with each new view and the current one (``None`` the first time) before the new view
        replaces it: warms what requests need, and may carry over what did not change.

    Raises
    ------
    CatalogError
        The first snapshot fails: no file, not a DuckDB file, not a catalog, a newer schema
        (or a writer held the file for the catalog's whole ``lock_timeout``).
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        poll_s: float = DEFAULT_POLL_S,
        min_interval_s: float = DEFAULT_MIN_INTERVAL_S,
        prepare: Callable[[CatalogView, CatalogView | None], None] | None = None,
    ) -> None:
        self.catalog = catalog
        self.poll_s = poll_s
        self.min_interval_s = min_interval_s
        self.prepare = prepare
        self.refreshes = 0
        self.last_error: str | None = None
        self._refresh_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_refresh = time.monotonic()
        self._view = self._take(version=1, timeout=None, previous=None)

    @property
    def view(self) -> CatalogView:
        """The current view (requests take it once, at their start)."""
        return self._view

    def _take(self, *, version: int, timeout: float | None, previous: CatalogView | None) -> CatalogView:
        started = time.perf_counter()
        view = CatalogView(self.catalog.snapshot(timeout=timeout), version)
        if self.prepare is not None:
            self.prepare(view, previous)
        log.info("catalog snapshot %d taken in %.0f ms", version, 1000 * (time.perf_counter() - started))
        return view

    def changed(self) -> bool:
        """Whether the file changed since the current snapshot was taken."""
        return self.catalog.file_signature() != self._view.snapshot.signature

    def refresh(self, *, timeout: float | None = 0.0) -> bool:
        """Take a new snapshot if the file changed; ``True`` when one was taken.

        ``timeout`` is how long to wait for a writer holding the file (0: try once; ``None``:
        the catalog's ``lock_timeout``); :class:`CatalogBusyError` when it was not free.
        """
        with self._refresh_lock:
            if not self.changed():
                return False
            view = self._take(version=self._view.version + 1, timeout=timeout, previous=self._view)
            self._view = view
            self._last_refresh = time.monotonic()
            self.refreshes += 1
            self.last_error = None
            return True

    def start(self) -> LiveCatalog:
        """Start following the file (a daemon thread)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="adots-serve-refresh", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop following the file."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            if time.monotonic() - self._last_refresh < self.min_interval_s:
                continue
            try:
                self.refresh(timeout=0.0)
            except CatalogBusyError:
                continue  # a writer holds the file: try at the next tick
            except CatalogError as err:  # e.g. the file was replaced by something else: keep the last view
                if str(err) != self.last_error:
                    log.warning("catalog not refreshed: %s", err)
                self.last_error = str(err)
                self._last_refresh = time.monotonic()
            except Exception as err:  # the thread must survive anything, and say why
                log.exception("catalog refresh failed")
                self.last_error = f"{type(err).__name__}: {err}"
                self._last_refresh = time.monotonic()
