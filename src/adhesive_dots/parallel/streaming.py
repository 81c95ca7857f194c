"""Streamed fingerprints on Dask: every channel block of every pass is a task.

:func:`fingerprint_streaming_dask` runs :func:`adhesive_dots.fingerprint.streaming.fingerprint_streaming`
with a :data:`~adhesive_dots.fingerprint.streaming.BlockMapper` that submits the block tasks to a
Dask cluster (a LocalCluster of worker processes, or an existing scheduler). Each task reads its
own block from the file (the source's ``read_block`` must be picklable, e.g.
:func:`adhesive_dots.io.nwb_large.open_block_source`); the arrays shared by all tasks of a pass
(the basis of the low-rank step, the channel means) are scattered once; results are reduced in
the calling process as they complete, with at most ``2 x workers`` tasks in flight.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from adhesive_dots.core import Baseline
from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint import Fingerprint
from adhesive_dots.fingerprint.streaming import BlockMapper, StreamSource, baseline_source, fingerprint_streaming
from adhesive_dots.parallel.runner import dask_client


def dask_block_mapper(client: Any, *, in_flight: int | None = None) -> BlockMapper:
    """A :data:`BlockMapper` running block tasks on ``client`` (``distributed.Client``).

    Parameters
    ----------
    client : distributed.Client
    in_flight : int, optional
        Tasks submitted at once (default twice the number of workers): bounds the memory of
        results waiting to be reduced.
    """
    from distributed import as_completed

    def mapper(func: Callable[..., Any], blocks: Sequence[tuple[int, int]], shared: Mapping[str, Any]) -> Iterator:
        n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
        window = in_flight or 2 * n_workers
        scattered = {k: client.scatter(v, broadcast=True) if _is_large(v) else v for k, v in shared.items()}
        pending = iter(blocks)

        def submit() -> Any:
            block = next(pending, None)
            return None if block is None else client.submit(func, *block, pure=False, **scattered)

        queue = as_completed([f for f in (submit() for _ in range(window)) if f is not None])
        for future in queue:
            result = future.result()
            future.release()
            following = submit()
            if following is not None:
                queue.add(following)
            yield result

    return mapper


def _is_large(value: Any) -> bool:
    nbytes = getattr(value, "nbytes", None)
    return nbytes is not None and nbytes > 1_000_000


def fingerprint_streaming_dask(
    source: StreamSource | Baseline,
    *,
    workers: int = 2,
    scheduler: str | None = None,
    **options: Any,
) -> Fingerprint:
    """:func:`~adhesive_dots.fingerprint.streaming.fingerprint_streaming` with the block tasks on Dask.

    Parameters
    ----------
    source : StreamSource or Baseline
        Its ``read_block`` must be picklable (it travels to the workers).
    workers : int
        Worker processes of the LocalCluster started when ``scheduler`` is None.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://HOST:PORT``).
    **options
        Keywords of :func:`fingerprint_streaming` (``block_neurons``, ``n_components``, ``rng`` ...).

    Returns
    -------
    Fingerprint
        Equal to the in-process result (the same block tasks; sums in another order, so the
        low-rank quantities agree to round-off).
    """
    if isinstance(source, Baseline):
        source = baseline_source(source)
    try:
        pickle.dumps(source.read_block)
    except Exception as err:  # any pickling failure means the same thing here
        raise DataError(
            f"{source.source}: its block reader cannot be sent to Dask workers ({type(err).__name__}: {err}); "
            "open the file with adhesive_dots.io.nwb_large.open_block_source or run fingerprint_streaming in process"
        ) from None
    if "map_blocks" in options:
        raise DataError("fingerprint_streaming_dask chooses map_blocks itself; remove map_blocks=")
    with dask_client(workers=workers, scheduler=scheduler) as client:
        return fingerprint_streaming(source, map_blocks=dask_block_mapper(client), **options)
