"""Hostile catalog imports and storage faults (issue 19, writing side).

Every case named in the issue's "What was seen" list has a test here: hostile Parquet rows are
rejected one by one (never a traceback), similarity search cannot be skewed by one row, and a
catalog on a full or read-only file system reports the real cause.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from adhesive_dots import FormatError
from adhesive_dots.catalog import Catalog, CatalogError, DotRecord, SourceRecord, similar_dots
from adhesive_dots.catalog.exchange import MAX_JSON_DEPTH, export_parquet, import_parquet
from adhesive_dots.catalog.search import Standardiser
from adhesive_dots.metadata import DotMetadata

NAMES = ["f0", "f1", "f2", "f3"]


def _record(i: int, vector) -> SourceRecord:
    meta = DotMetadata.from_dict(
        {"identity": {"lab": "labA", "subject_id": f"s{i}"}, "subject": {"species": "Mus musculus"}}
    )
    dot = DotRecord(f"dot-{i:04d}", meta, (0.0, 600.0), 600.0, f"sha256:{i:064x}", vector=np.asarray(vector, float))
    return SourceRecord(f"file{i}.nwb", f"h{i}", dots=(dot,))


@pytest.fixture
def catalog(tmp_path):
    cat = Catalog(tmp_path / "c.duckdb")
    rng = np.random.default_rng(1)
    for i in range(6):
        cat.write_source(_record(i, rng.normal(size=4)), vector_names=NAMES)
    return cat


def _exported(catalog: Catalog, folder: Path) -> pa.Table:
    out = folder / "clean.parquet"
    export_parquet(catalog, out)
    return pq.read_table(out)


def _with_rows(table: pa.Table, rows: list[dict], path: Path, *, vector_names=NAMES) -> Path:
    """``table`` plus ``rows`` (each a copy of row 0 with some columns replaced, a fresh id and hash)."""
    base = table.slice(0, 1).to_pylist()[0]
    extra = []
    for n, changes in enumerate(rows):
        ident = {"dot_id": f"dot-hostile-{n}", "content_hash": f"sha256:hostile{n}", "source": f"hostile{n}.nwb"}
        row = {**base, **ident}
        row.update(changes)
        extra.append(row)
    combined = pa.concat_tables([pa.Table.from_pylist(extra, schema=table.schema), table])
    combined = combined.replace_schema_metadata({"adots_vector_names": json.dumps(vector_names)})
    pq.write_table(combined, path)
    return path


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


HOSTILE_ROWS = {
    "vector +inf": ({"vector": [np.inf, 0.0, 0.0, 0.0]}, "vector element 0 is inf"),
    "vector -inf": ({"vector": [0.0, -np.inf, 0.0, 0.0]}, "vector element 1 is -inf"),
    "vector 1e308": ({"vector": [1e308, 1e308, 1e308, 1e308]}, "at most 1e+06 in magnitude"),
    "vector of the wrong length": ({"vector": [0.0, 1.0]}, "vector has 2 values, 4 expected"),
    "segment NaN": ({"segment_start": float("nan")}, "segment_start is nan"),
    "segment inf": ({"segment_stop": float("inf")}, "segment_stop is inf"),
    "segment of negative length": ({"segment_start": 600.0, "segment_stop": 10.0}, "is not after segment_start"),
    "31-year segment": ({"segment_stop": 1e9, "duration_s": 1e9}, "more than 1e+07 s"),
    "negative duration": ({"duration_s": -5.0}, "negative or longer than the segment"),
    "severity <script>": (
        {"findings_json": json.dumps([{"code": "x", "severity": "<script>"}])},
        "severity '<script>'",
    ),
    "severity NaN": ({"findings_json": '[{"code": "x", "severity": NaN}]'}, "severity 'nan'"),
    "findings that are not objects": ({"findings_json": '["a", 1]'}, "finding 0 is not a JSON object"),
    "findings not a list": ({"findings_json": '{"a": 1}'}, "not a JSON list"),
    "findings nested deeply": ({"findings_json": _nested(100_000)}, f"nested deeper than {MAX_JSON_DEPTH}"),
    "finding value nested deeply": (
        {"findings_json": json.dumps([{"code": "x", "severity": "info", "value": json.loads(_nested(200))}])},
        f"nested deeper than {MAX_JSON_DEPTH}",
    ),
    "metadata nested deeply": ({"metadata_json": '{"identity": ' + _nested(100_000) + "}"}, "metadata_json"),
    "metadata not JSON": ({"metadata_json": "{"}, "not valid JSON"),
    "metadata a list": ({"metadata_json": "[]"}, "metadata_json"),
    "empty dot id": ({"dot_id": ""}, "dot_id is empty"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_ROWS))
def test_hostile_row_is_rejected_by_name_and_the_rest_imported(catalog, tmp_path, case):
    changes, message = HOSTILE_ROWS[case]
    export = _with_rows(_exported(catalog, tmp_path), [changes], tmp_path / "hostile.parquet")
    target = Catalog(tmp_path / "target.duckdb")
    report = import_parquet(target, export)
    assert len(report.rejected) == 1, report.rejected
    assert report.rejected[0]["row"] == 0 and message in report.rejected[0]["problem"], report.rejected
    assert sorted(report.added) == sorted(catalog.dots()["dot_id"])
    assert target.integrity_check() == []
    matrix, _ = target.vectors()
    assert np.isfinite(matrix).all()


@pytest.mark.parametrize(
    "names",
    [json.loads(_nested(50)), [1, 2, 3, 4], ["a\x1b[2J", "b", "c", "d"], ["x" * 10_000] * 4],
    ids=["nested", "not strings", "escape", "huge"],
)
def test_hostile_vector_names_reject_the_file(catalog, tmp_path, names):
    export = _with_rows(_exported(catalog, tmp_path), [], tmp_path / "names.parquet", vector_names=names)
    target = Catalog(tmp_path / "target.duckdb")
    with pytest.raises(FormatError, match="adots_vector_names is malformed"):
        import_parquet(target, export)
    assert not target.path.exists()


def test_deeply_nested_vector_names_json_is_refused(catalog, tmp_path):
    table = _exported(catalog, tmp_path)
    path = tmp_path / "deep.parquet"
    pq.write_table(table.replace_schema_metadata({"adots_vector_names": _nested(100_000)}), path)
    with pytest.raises(FormatError, match="adots_vector_names is malformed"):
        import_parquet(Catalog(tmp_path / "t.duckdb"), path)


def test_decompression_bomb_is_refused_before_decompressing(catalog, tmp_path):
    """A 64 MB string compresses to a few kB; its declared size gives it away before it is read."""
    table = _exported(catalog, tmp_path)
    bomb = table.slice(0, 1).set_column(7, "metadata_json", pa.array(["x" * (64 << 20)]))
    path = tmp_path / "bomb.parquet"
    pq.write_table(bomb, path, compression="zstd")
    assert path.stat().st_size < 100_000
    target = Catalog(tmp_path / "t.duckdb")
    with pytest.raises(FormatError, match="decompression bomb"):
        import_parquet(target, path)
    assert not target.path.exists()


def test_import_batches_release_the_lock_and_dedupe_across_batches(catalog, tmp_path, monkeypatch):
    """Rows are written batch by batch (one transaction each), and a dot repeated in a later batch is
    recognised as already present."""
    from adhesive_dots.catalog import exchange

    monkeypatch.setattr(exchange, "BATCH_ROWS", 2)
    table = _exported(catalog, tmp_path)
    path = tmp_path / "twice.parquet"
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]), path, row_group_size=3)
    target = Catalog(tmp_path / "t.duckdb")
    transactions = []
    original = Catalog.transaction

    def counting(self):
        transactions.append(1)
        return original(self)

    monkeypatch.setattr(Catalog, "transaction", counting)
    progress = []
    report = import_parquet(target, path, workers=0, progress=lambda done, total: progress.append((done, total)))
    assert len(report.added) == 6 and report.unchanged == ["dot-0000"]
    assert progress == [(2, 7), (4, 7), (6, 7), (7, 7)]
    assert len(transactions) == 4  # 7 rows (row groups of 3) read in batches of at most 2 rows: 2, 2, 2, 1
    assert target.integrity_check() == []


def test_import_with_worker_processes_matches_in_process(catalog, tmp_path):
    table = _exported(catalog, tmp_path)
    hostile = _with_rows(table, [HOSTILE_ROWS["severity <script>"][0]], tmp_path / "h.parquet")
    reports = [import_parquet(Catalog(tmp_path / f"w{w}.duckdb"), hostile, workers=w) for w in (0, 2)]
    assert reports[0] == reports[1]
    frames = [Catalog(tmp_path / f"w{w}.duckdb").dots().drop(columns=["metadata_json"]) for w in (0, 2)]
    assert frames[0].equals(frames[1])


def _die(*args):
    os._exit(9)  # a checking worker killed (by the kernel's OOM killer, say)


def test_a_killed_checking_worker_is_a_catalog_error_and_the_catalog_stays_whole(catalog, tmp_path, monkeypatch):
    from adhesive_dots.catalog import exchange

    path = tmp_path / "dots.parquet"
    n_dots = export_parquet(catalog, path)
    monkeypatch.setattr(exchange, "check_rows", _die)
    target = Catalog(tmp_path / "t.duckdb")
    with pytest.raises(CatalogError, match="dots.parquet: a process checking its rows was killed"):
        import_parquet(target, path, workers=2)
    assert not target.path.exists() or (target.integrity_check() == [] and target.dots().empty)
    monkeypatch.undo()
    assert len(import_parquet(target, path, workers=2).added) == n_dots


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "adhesive_dots", *args], capture_output=True, text=True, timeout=120)


def test_import_json_and_plain_give_the_same_exit_code_for_conflicts(catalog, tmp_path):
    table = _exported(catalog, tmp_path)
    meta = json.loads(table.column("metadata_json")[0].as_py())
    meta["identity"]["lab"] = "someone else"
    changed = table.set_column(7, "metadata_json", pa.array([json.dumps(meta)] + table.column(7).to_pylist()[1:]))
    path = tmp_path / "conflict.parquet"
    pq.write_table(changed, path)
    plain = _cli("import", str(path), "--catalog", str(catalog.path))
    as_json = _cli("import", str(path), "--catalog", str(catalog.path), "--json")
    assert plain.returncode == as_json.returncode == 1, (plain.stderr, as_json.stderr)
    assert json.loads(as_json.stdout)["conflicts"] == ["dot-0000"]
    hostile = _with_rows(table, [HOSTILE_ROWS["severity <script>"][0]], tmp_path / "h.parquet")
    plain = _cli("import", str(hostile), "--catalog", str(tmp_path / "new.duckdb"))
    assert plain.returncode == 1 and "rejected: row 0" in plain.stdout and "Traceback" not in plain.stderr


# -- similarity cannot be skewed ---------------------------------------------------------------


def test_hostile_rows_leave_similarity_search_unchanged(served_catalog, tmp_path):
    """Issue 19: after one imported row with a +inf vector every query returned five dots at distance 1.0."""
    copy = Catalog(tmp_path / "demo.duckdb")
    shutil.copy(served_catalog.path, copy.path)
    query = copy.vectors()[1][0]
    before = similar_dots(copy, query, k=5)
    table = pq.read_table(_export(copy, tmp_path))
    n = len(copy.vector_names())
    hostile = [
        {"vector": [np.inf] * n},
        {"vector": [1e308] * n},
        {"vector": [-np.inf] + [0.0] * (n - 1)},
        {"segment_start": float("nan")},
        {"segment_start": 10.0, "segment_stop": -5.0},
    ]
    path = _with_rows(table, hostile, tmp_path / "hostile.parquet", vector_names=copy.vector_names())
    report = import_parquet(copy, path)
    assert len(report.rejected) == len(hostile) and not report.added
    after = similar_dots(copy, query, k=5)
    assert list(after["dot_id"]) == list(before["dot_id"])
    np.testing.assert_array_equal(after["distance"], before["distance"])
    assert before["distance"].iloc[0] < 0.9  # real neighbours, not the everything-at-1.0 failure


def _export(catalog: Catalog, folder: Path) -> Path:
    out = folder / "demo.parquet"
    export_parquet(catalog, out)
    return out


def test_a_wild_row_stored_directly_cannot_move_the_other_distances(served_catalog, tmp_path):
    """Defence in depth: a catalog written before these checks (or by hand) may hold wild vectors."""
    copy = Catalog(tmp_path / "demo.duckdb")
    shutil.copy(served_catalog.path, copy.path)
    query = copy.vectors()[1][0]
    before = similar_dots(copy, query, k=50).set_index("dot_id")["distance"]
    n = len(copy.vector_names())
    wild = (
        [np.inf] * n,
        [1e308, -1e308] * (n // 2) + [np.nan] * (n % 2),
        [-np.inf, 1e300] * (n // 2) + [1e9] * (n % 2),
    )
    for i, vector in enumerate(wild):
        copy.write_source(_record(900 + i, vector), vector_names=copy.vector_names())
    after = similar_dots(copy, query, k=50).set_index("dot_id")["distance"]
    common = after.loc[before.index]
    np.testing.assert_allclose(common.to_numpy(), before.to_numpy(), atol=1e-12)
    assert list(after.drop(index=[f"dot-{900 + i:04d}" for i in range(3)]).index) == list(before.index)


def test_standardiser_is_the_plain_one_on_ordinary_data():
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(500, 6)) * [1, 10, 100, 0.1, 5, 2] + [0, 1, 2, 3, 4, 5]
    matrix[rng.random(matrix.shape) < 0.1] = np.nan
    fitted = Standardiser.fit(matrix)
    np.testing.assert_allclose(fitted.mean, np.nanmean(matrix, axis=0), rtol=1e-12)
    np.testing.assert_allclose(fitted.scale, np.nanstd(matrix, axis=0), rtol=1e-12)
    z = fitted.transform(matrix)
    expected = (matrix - np.nanmean(matrix, axis=0)) / np.nanstd(matrix, axis=0)
    np.testing.assert_allclose(z, np.where(np.isnan(expected), 0.0, expected), atol=1e-12)


# -- storage faults --------------------------------------------------------------------------------


@contextlib.contextmanager
def small_filesystem(folder: Path, size: str = "1m"):
    """A tmpfs of ``size`` mounted on ``folder`` (needs root; skips otherwise); unmounted afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    command = ["mount", "-t", "tmpfs", "-o", f"size={size}", f"adots-{uuid.uuid4().hex[:8]}", str(folder)]
    done = subprocess.run(command, capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here ({done.stderr.decode().strip()})")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_full_disk_during_a_catalog_write_says_no_space_and_keeps_the_catalog(tmp_path):
    with small_filesystem(tmp_path / "small") as folder:
        cat = Catalog(folder / "c.duckdb")
        big = DotMetadata.from_dict({"identity": {"lab": "x" * 4000}})
        with pytest.raises(CatalogError, match="no space left") as caught:
            for i in range(5000):
                dot = DotRecord(f"dot-{i}", big, (0.0, 1.0), 1.0, f"h{i}", vector=np.zeros(4))
                cat.write_source(SourceRecord(f"s{i}", "h", dots=(dot,)), vector_names=NAMES)
        assert "no transaction is active" not in str(caught.value) and str(cat.path) in str(caught.value)
        assert len(cat.dots()) == i and cat.integrity_check() == []


def test_read_only_file_system_is_named_as_the_cause(tmp_path, catalog):
    with small_filesystem(tmp_path / "ro", "8m") as folder:
        shutil.copy(catalog.path, folder / "c.duckdb")
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        for path in (folder / "c.duckdb", folder / "new.duckdb"):
            with pytest.raises(CatalogError, match="read-only"):
                Catalog(path).write_source(_record(50, np.zeros(4)), vector_names=NAMES)
        assert len(Catalog(folder / "c.duckdb").dots()) == 6
        done = _cli("import", str(_export(catalog, tmp_path)), "--catalog", str(folder / "c.duckdb"))
        assert done.returncode == 2 and "read-only" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("keep", [0.01, 0.5])
def test_truncated_catalog_is_one_line_naming_the_file(catalog, tmp_path, keep):
    data = catalog.path.read_bytes()
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(data[: int(len(data) * keep)])
    done = _cli("search", "--catalog", str(broken))
    assert done.returncode == 2, done.stderr
    text = " ".join(done.stderr.split())  # the console wraps long lines
    assert "Traceback" not in text and "not a readable DuckDB catalog" in text and broken.name in text


def test_ingest_applies_the_import_size_limits(tmp_path):
    """Issue 19: a BIDS sidecar with a 100 MB TaskDescription was ingested and exported, then refused on import.
    The same 1 MiB limit applies on the way in (2 MB here, to stay quick): the run fails with a finding."""
    from adhesive_dots.io.bids_write import write_bids_eeg
    from adhesive_dots.workflows.ingest import ingest

    root = tmp_path / "bids"
    data = 1e-5 * np.random.default_rng(5).standard_normal((2, 250 * 20))
    for subject, description in (("01", "Resting state, eyes closed. " * 80_000), ("02", "Resting state.")):
        sidecar = {"TaskDescription": description}
        names = ["Cz", "Pz"]
        write_bids_eeg(
            root, subject=subject, session=None, task="rest", data=data, fs=250.0, channel_names=names, sidecar=sidecar
        )
    catalog = Catalog(tmp_path / "c.duckdb")
    summary = ingest([root], catalog, workers=0, min_duration=10.0)
    assert summary.failed == 1 and summary.ingested == 1
    message = summary.failures[0]["message"]
    assert ("1 MiB" in message or "1048576" in message) and "sub-01" in summary.failures[0]["source"]
    out = tmp_path / "export.parquet"
    export_parquet(catalog, out)
    report = import_parquet(Catalog(tmp_path / "other.duckdb"), out)
    assert len(report.added) == 1 and not report.rejected


def test_ingest_refuses_a_dot_whose_metadata_an_import_would_refuse():
    """The backstop behind the readers' own limits: any dot over the exchange limit fails its source."""
    from adhesive_dots.workflows.ingest import _within_exchange_limits

    huge = DotMetadata.from_dict({"identity": {"lab": "x" * (2 << 20)}})
    dot = DotRecord("dot-1", huge, (0.0, 1.0), 1.0, "h", vector=np.zeros(4))
    record = _within_exchange_limits(SourceRecord("big.nwb", "h", dots=(dot,), tool_version="v"))
    assert record.failed and not record.dots and record.findings[0].code == "source.metadata-too-large"
    small = SourceRecord("ok.nwb", "h", dots=(_record(1, np.zeros(4)).dots[0],))
    assert _within_exchange_limits(small) is small
