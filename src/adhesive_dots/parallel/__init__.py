"""Scale-out on Dask (layer 4): a local cluster by default, or an existing scheduler.

This is the only layer that imports dask. Work functions must be importable top-level
functions of adhesive-dots (so worker processes can unpickle them); their results come
back to the calling process, which alone writes to the catalog.
"""

from adhesive_dots.parallel.runner import TaskOutcome, run_tasks

__all__ = ["TaskOutcome", "run_tasks"]
