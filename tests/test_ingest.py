"""Ingest: the simulated corpus through Dask and in-process, idempotence, kills and concurrent writers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from adhesive_dots.catalog import Catalog, search_dots, similar_dots
from adhesive_dots.fingerprint import SUMMARY_NAMES
from adhesive_dots.workflows.ingest import ingest

pytestmark = pytest.mark.slow

STABLE_COLUMNS = ["dot_id", "source", "start_s", "stop_s", "duration_s", "content_hash", "metadata_json"]


def _rows(catalog: Catalog) -> pd.DataFrame:
    return catalog.dots()[STABLE_COLUMNS].sort_values("dot_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def ingested(small_corpus, tmp_path_factory):
    """The small corpus ingested once in-process (workers=0)."""
    catalog = Catalog(tmp_path_factory.mktemp("cat") / "serial.duckdb")
    summary = ingest([small_corpus.root], catalog, workers=0)
    return catalog, summary


def test_every_session_becomes_a_dot_with_validation_and_fingerprint(small_corpus, ingested):
    catalog, summary = ingested
    assert summary.sources == len(small_corpus.entries) == summary.ingested and summary.failed == 0
    dots = catalog.dots()
    assert len(dots) == len(small_corpus.entries)
    assert catalog.integrity_check() == []
    assert catalog.vector_names() == list(SUMMARY_NAMES)
    # validation status in the catalog follows the planted defects
    planted = {f"{e.lab}/{e.subject}/{e.session}": bool(e.defects) for e in small_corpus.entries}
    for row in dots.itertuples():
        key = f"{row.identity_lab}/{row.identity_subject_id}/{row.identity_session_id}"
        assert (row.curation_validation_status == "noncompliant") == planted[key], key
    findings = catalog.query("SELECT code FROM findings WHERE severity IN ('error', 'critical')")
    assert {"baseline.duration", "metadata.required"} <= set(findings["code"])
    # every fingerprint file exists and the content hash is the hash of the baseline's samples
    paths = catalog.query("SELECT netcdf_path FROM fingerprints")["netcdf_path"]
    assert all(os.path.exists(p) for p in paths)


def test_search_finds_head_fixed_dim_sessions_with_pupil(ingested):
    catalog, _ = ingested
    found = search_dots(catalog, paradigm="animal-head-fixed-task-free", illumination="dim", arousal=["pupil"],
                        min_duration=600)  # fmt: skip
    assert len(found) >= 1
    assert set(found["recording_modality"]) <= {"calcium", "lfp"}
    near = similar_dots(catalog, found["dot_id"].iloc[0], k=3)
    assert len(near) == 3 and found["dot_id"].iloc[0] not in set(near["dot_id"])


def test_local_cluster_gives_identical_results(small_corpus, ingested, tmp_path):
    catalog, _ = ingested
    on_dask = Catalog(tmp_path / "dask.duckdb")
    summary = ingest([small_corpus.root], on_dask, workers=2)
    assert summary.ingested == len(small_corpus.entries)
    pd.testing.assert_frame_equal(_rows(on_dask), _rows(catalog))
    a, ids_a = catalog.vectors()
    b, ids_b = on_dask.vectors()
    assert ids_a == ids_b
    # identical up to round-off: worker processes run FFT/BLAS with another thread count, so sums may be
    # accumulated in another order (differences seen: 1e-16 absolute)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_reingest_is_idempotent_and_a_changed_source_is_replaced(small_corpus, tmp_path):
    folder = tmp_path / "two"
    folder.mkdir()
    nwb = [e for e in small_corpus.entries if e.format == "nwb"]
    target = folder / "session.nwb"
    shutil.copy(small_corpus.root / nwb[0].path, target)
    catalog = Catalog(tmp_path / "c.duckdb")
    first = ingest([folder], catalog, workers=0)
    assert first.ingested == 1
    again = ingest([folder], catalog, workers=0)
    assert again.unchanged == 1 and again.ingested == 0
    before = catalog.dots()["content_hash"].tolist()
    shutil.copy(small_corpus.root / nwb[2].path, target)  # same path, other content
    changed = ingest([folder], catalog, workers=0)
    assert changed.ingested == 1
    after = catalog.dots()
    assert len(after) == 1 and after["content_hash"].tolist() != before
    assert catalog.integrity_check() == []


def test_a_broken_source_is_a_finding_not_a_stop(small_corpus, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(small_corpus.root / small_corpus.entries[0].path, folder / "good.nwb")
    (folder / "broken.nwb").write_bytes(b"not hdf5 at all")
    catalog = Catalog(tmp_path / "c.duckdb")
    summary = ingest([folder, tmp_path / "missing.nwb"], catalog, workers=0)
    assert (summary.ingested, summary.failed) == (1, 2)
    failed = catalog.query("SELECT source, code FROM findings WHERE severity = 'critical' ORDER BY source")
    assert failed["code"].tolist() == ["source.unreadable", "source.unreadable"]
    assert catalog.integrity_check() == []


def _ingest_process(targets, catalog_path, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "adhesive_dots", "ingest", *map(str, targets), "--catalog", str(catalog_path),
         "--workers", "0", "--json", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_sigkill_mid_run_leaves_only_complete_dots_and_rerun_finishes(small_corpus, tmp_path):
    path = tmp_path / "killed.duckdb"
    proc = _ingest_process([small_corpus.root], path)
    deadline = time.monotonic() + 240
    catalog = Catalog(path, lock_timeout=60)
    committed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
        if path.exists():
            try:
                committed = int(catalog.query("SELECT count(*) AS n FROM sources")["n"].iloc[0])
            except Exception:  # the file may be mid-creation: poll again
                continue
            if committed >= 2:
                break
    assert proc.poll() is None, "the ingest finished before it could be killed; use a bigger corpus"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert catalog.integrity_check() == []
    partial = catalog.dots()
    assert 2 <= len(partial) < len(small_corpus.entries)
    rerun = _ingest_process([small_corpus.root], path)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    assert len(catalog.dots()) == len(small_corpus.entries) and catalog.integrity_check() == []


def test_two_concurrent_ingests_both_finish_and_every_dot_is_present_once(small_corpus, tmp_path):
    path = tmp_path / "shared.duckdb"
    a = _ingest_process([small_corpus.root], path)
    b = _ingest_process([small_corpus.root], path)
    for proc in (a, b):
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    catalog = Catalog(path)
    dots = catalog.dots()
    assert len(dots) == len(small_corpus.entries) and dots["dot_id"].is_unique
    assert catalog.integrity_check() == []


def test_search_similar_to_a_source_file_finds_that_session_first(small_corpus, ingested):
    from typer.testing import CliRunner

    from adhesive_dots.cli import app

    catalog, _ = ingested
    entry = next(e for e in small_corpus.entries if e.format == "nwb" and e.compliant)
    result = CliRunner().invoke(
        app, ["search", "--similar-to", str(small_corpus.root / entry.path), "--k", "2", "--catalog",
              str(catalog.path), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    import json

    rows = json.loads(result.output)
    assert rows[0]["source"] == str(small_corpus.root / entry.path)
    # same samples: only the surrogate-based non-stationarity feature differs (another random seed)
    assert rows[0]["distance"] < 0.05 < rows[1]["distance"]
