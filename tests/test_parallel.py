"""The Dask runner: in-process and LocalCluster paths give the same outcomes; failures are recorded."""

from __future__ import annotations

import pytest

from adhesive_dots.parallel import run_tasks
from adhesive_dots.parallel.runner import ClusterError


def _square_or_fail(x: int, *, offset: int = 0) -> int:
    if x == 3:
        raise ValueError("three is not welcome")
    return x * x + offset


def _collect(**kwargs):
    outcomes = list(run_tasks(_square_or_fail, range(10), offset=1, **kwargs))
    return sorted((o.item, o.result, o.error) for o in outcomes)


def test_serial_and_local_cluster_agree():
    serial = _collect(workers=0)
    assert (3, None, "ValueError: three is not welcome") in serial
    assert (4, 17, None) in serial and len(serial) == 10
    assert _collect(workers=2) == serial


def test_unreachable_scheduler_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("adhesive_dots.parallel.runner.CONNECT_TIMEOUT_S", 2.0)
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        list(run_tasks(_square_or_fail, [1], scheduler="tcp://127.0.0.1:9"))
