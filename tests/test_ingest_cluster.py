"""Ingest through an existing cluster: real ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1."""

from __future__ import annotations

import numpy as np
import psutil
import pytest

from adhesive_dots.catalog import Catalog
from adhesive_dots.parallel.cluster import process_cluster
from adhesive_dots.parallel.runner import ClusterError
from adhesive_dots.workflows.ingest import ingest

pytestmark = pytest.mark.slow

STABLE_COLUMNS = ["dot_id", "source", "start_s", "stop_s", "duration_s", "content_hash", "metadata_json"]


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    """Two short calcium sessions (real NWB files)."""
    from adhesive_dots.sim import sim_corpus

    root = tmp_path_factory.mktemp("tiny")
    sim_corpus(root, labs=1, subjects_per_lab=1, sessions_per_subject=2, spont_duration=60.0, task_duration=10.0,
               size=0.1, defect_fraction=0.0, rng=5)  # fmt: skip
    return root


def test_ingest_through_scheduler_and_worker_processes_equals_in_process(tiny_corpus, tmp_path):
    serial = Catalog(tmp_path / "serial.duckdb")
    expected = ingest([tiny_corpus], serial, workers=0, min_duration=30.0)
    assert expected.ingested == 2 and expected.failed == 0
    with process_cluster(2) as cluster:
        assert cluster.address.startswith("tcp://127.0.0.1:")
        pids = (cluster.scheduler_pid, *cluster.worker_pids)
        assert all(psutil.pid_exists(pid) for pid in pids)
        remote = Catalog(tmp_path / "remote.duckdb")
        summary = ingest([tiny_corpus], remote, scheduler=cluster.address, min_duration=30.0)
    assert summary.ingested == 2 and summary.failed == 0
    for pid in pids:  # always terminated
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    a = serial.dots()[STABLE_COLUMNS].sort_values("dot_id").reset_index(drop=True)
    b = remote.dots()[STABLE_COLUMNS].sort_values("dot_id").reset_index(drop=True)
    assert len(a) == 2
    assert a.equals(b)
    vectors, ids = serial.vectors()
    vectors_b, ids_b = remote.vectors()
    assert ids == ids_b  # ordered by dot_id
    np.testing.assert_allclose(vectors_b, vectors, rtol=1e-12, equal_nan=True)  # same code, same samples


def test_cluster_processes_end_even_when_the_body_fails():
    with pytest.raises(RuntimeError, match="boom"):
        with process_cluster(1) as cluster:
            pids = (cluster.scheduler_pid, *cluster.worker_pids)
            raise RuntimeError("boom")
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_unreachable_scheduler_is_a_cluster_error(tmp_path):
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler"):
        ingest([tmp_path], Catalog(tmp_path / "c.duckdb"), scheduler="tcp://127.0.0.1:1")


def test_zero_workers_is_refused():
    with pytest.raises(ClusterError, match="n_workers must be at least 1"):
        with process_cluster(0):
            pass
