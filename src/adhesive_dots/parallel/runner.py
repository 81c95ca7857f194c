"""Run one function over many items on Dask and hand each result back as it completes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from adhesive_dots.errors import AdhesiveError

_DONE = object()
CONNECT_TIMEOUT_S = 20.0
"""Seconds to wait for an existing scheduler to answer."""


class ClusterError(AdhesiveError, RuntimeError):
    """The Dask cluster could not be started or reached."""


@dataclass(frozen=True)
class TaskOutcome:
    """The result of one item, or the error it raised (as text; the run goes on)."""

    item: Any
    result: Any = None
    error: str | None = None


@contextlib.contextmanager
def dask_client(*, workers: int = 2, scheduler: str | None = None, threads_per_worker: int = 1) -> Iterator[Any]:
    """A ``distributed.Client``: to ``scheduler`` if given, else a LocalCluster of worker processes."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError) as err:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {scheduler} ({err}); start one with `dask scheduler` "
                "or omit --scheduler to use a local cluster"
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        host="127.0.0.1",
        # no dashboard; the scheduler's HTTP server (which distributed always starts, on :8787 when given
        # None) listens on a free loopback port only
        dashboard_address="127.0.0.1:0",
        scheduler_kwargs={"dashboard": False},
        silence_logs=50,
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def run_tasks(
    func: Callable[..., Any],
    items: Iterable[Any],
    *,
    workers: int = 2,
    scheduler: str | None = None,
    **kwargs: Any,
) -> Iterator[TaskOutcome]:
    """Apply ``func(item, **kwargs)`` to every item; yield outcomes in completion order.

    ``workers=0`` runs in this process, one item after another (no Dask); otherwise the
    items run on a LocalCluster of ``workers`` processes, or on the cluster behind
    ``scheduler`` (``tcp://HOST:PORT``). An item whose function raises becomes an outcome
    with ``error`` set; the others go on.
    """
    items = list(items)
    if scheduler is None and workers == 0:
        for item in items:
            try:
                yield TaskOutcome(item, func(item, **kwargs))
            except Exception as err:
                yield TaskOutcome(item, error=f"{type(err).__name__}: {err}")
        return
    from distributed import as_completed

    with dask_client(workers=workers, scheduler=scheduler) as client:
        # a bounded window of tasks in flight keeps the scheduler's and this process's memory flat
        n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
        window = 4 * n_workers
        pending = iter(items)
        futures: dict[Any, Any] = {}

        def submit_next() -> Any:
            item = next(pending, _DONE)
            if item is _DONE:
                return None
            future = client.submit(func, item, pure=False, **kwargs)
            futures[future] = item
            return future

        queue = as_completed([f for f in (submit_next() for _ in range(window)) if f is not None])
        for future in queue:
            item = futures.pop(future)
            try:
                yield TaskOutcome(item, future.result())
            except Exception as err:
                yield TaskOutcome(item, error=f"{type(err).__name__}: {err}")
            future.release()
            following = submit_next()
            if following is not None:
                queue.add(following)
