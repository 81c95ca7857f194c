"""A Dask cluster of separate processes (``dask scheduler`` + ``dask worker``) on this machine.

What an existing cluster looks like to ``adots ingest --scheduler tcp://HOST:PORT``, started here
for tests and benchmarks: the scheduler and each worker are their own processes (so their memory
can be watched apart from the client that writes the catalog), bound to 127.0.0.1 by default,
and always terminated when the context exits.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from adhesive_dots.parallel.runner import ClusterError

START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ProcessCluster:
    """A running cluster: the scheduler's address and the process ids."""

    address: str
    scheduler_pid: int
    worker_pids: tuple[int, ...]


def _command(*args: str) -> list[str]:
    # the module entry points of the ``dask scheduler`` / ``dask worker`` commands, in this interpreter
    return [sys.executable, "-m", *args]


@contextlib.contextmanager
def process_cluster(
    n_workers: int = 2, *, host: str = "127.0.0.1", threads_per_worker: int = 1, memory_limit: str = "auto"
) -> Iterator[ProcessCluster]:
    """Start ``dask scheduler`` and ``n_workers`` ``dask worker`` processes; terminate them on exit.

    Parameters
    ----------
    n_workers : int
        Worker processes (one ``dask worker`` command each).
    host : str
        Interface to bind (127.0.0.1: reachable from this machine only).
    threads_per_worker : int
        Threads of each worker.
    memory_limit : str
        Memory limit of each worker (Dask syntax, e.g. ``"2GB"``).

    Yields
    ------
    ProcessCluster
    """
    if n_workers < 1:
        raise ClusterError(f"n_workers must be at least 1, got {n_workers}")
    env = {**os.environ, "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error"}
    processes: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="adots-dask-") as tmp:
        scheduler_file = Path(tmp) / "scheduler.json"
        try:
            processes.append(
                subprocess.Popen(
                    _command(
                        "distributed.cli.dask_scheduler",
                        "--host",
                        host,
                        "--port",
                        "0",
                        "--no-dashboard",
                        "--scheduler-file",
                        str(scheduler_file),
                    ),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )  # fmt: skip
            )
            deadline = time.monotonic() + START_TIMEOUT_S
            while not scheduler_file.exists() or not scheduler_file.read_text().strip():
                if processes[0].poll() is not None or time.monotonic() > deadline:
                    raise ClusterError(f"dask scheduler did not start on {host} within {START_TIMEOUT_S:.0f} s")
                time.sleep(0.1)
            time.sleep(0.1)  # the file is written in one go, but let it settle
            address = json.loads(scheduler_file.read_text())["address"]
            for i in range(n_workers):
                processes.append(
                    subprocess.Popen(
                        _command(
                            "distributed.cli.dask_worker",
                            address,
                            "--nthreads",
                            str(threads_per_worker),
                            "--nworkers",
                            "1",
                            "--host",
                            host,
                            "--no-dashboard",
                            "--memory-limit",
                            memory_limit,
                            "--name",
                            f"adots-worker-{i}",
                            "--local-directory",
                            str(Path(tmp) / f"worker-{i}"),
                        ),
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        env=env,
                    )  # fmt: skip
                )
            _wait_for_workers(address, n_workers, processes)
            yield ProcessCluster(address, processes[0].pid, tuple(p.pid for p in processes[1:]))
        finally:
            for process in reversed(processes):  # workers first, then the scheduler
                if process.poll() is None:
                    process.terminate()
            for process in reversed(processes):
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _wait_for_workers(address: str, n_workers: int, processes: list[subprocess.Popen]) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        deadline = time.monotonic() + START_TIMEOUT_S
        while len(client.scheduler_info().get("workers", {})) < n_workers:
            dead = [p.pid for p in processes if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise ClusterError(
                    f"only {len(client.scheduler_info().get('workers', {}))} of {n_workers} dask workers joined "
                    f"{address}" + (f" (processes {dead} exited)" if dead else "")
                )
            time.sleep(0.2)
