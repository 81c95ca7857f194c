"""The catalog store: typed metadata columns, transactional replace, search, exchange."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from adhesive_dots import DotMetadata, FormatError
from adhesive_dots.catalog import Catalog, CatalogError, DotRecord, SourceRecord, search_dots, similar_dots
from adhesive_dots.catalog.exchange import export_parquet, import_parquet
from adhesive_dots.catalog.store import CatalogTransaction, flatten_metadata, metadata_columns
from adhesive_dots.core import Finding, Severity

NAMES = ["f0", "f1", "f2", "f3"]


def _dot(i: int, *, species="Mus musculus", paradigm="animal-head-fixed-task-free", duration=600.0,
         illumination="dark", measures=("pupil",), lab="labA", vector=None) -> DotRecord:  # fmt: skip
    meta = DotMetadata.from_dict(
        {
            "identity": {"lab": lab, "subject_id": f"s{i}", "session_id": "1"},
            "recording": {"modality": "calcium" if species == "Mus musculus" else "eeg"},
            "paradigm": {"name": paradigm},
            "environment": {"illumination": illumination},
            "arousal": {"measures": list(measures)},
            "subject": {"species": species},
            "curation": {"validation_status": "compliant" if duration >= 600 else "noncompliant"},
        }
    )
    return DotRecord(
        dot_id=f"dot-{i:04d}",
        metadata=meta,
        segment=(0.0, duration),
        duration_s=duration,
        content_hash="sha256:" + hashlib.sha256(str(i).encode()).hexdigest(),
        vector=np.array([i, 0.0, 1.0, np.nan]) if vector is None else vector,
        findings=(Finding("baseline.duration", Severity.ERROR, "short", value=duration),) if duration < 600 else (),
    )


@pytest.fixture
def catalog(tmp_path):
    cat = Catalog(tmp_path / "c.duckdb")
    specs = [
        dict(),
        dict(illumination="dim"),
        dict(measures=()),
        dict(duration=412.0),
        dict(species="Homo sapiens", paradigm="human-eyes-closed", measures=("eeg-vigilance",), lab="labB"),
    ]
    for i, spec in enumerate(specs):
        cat.write_source(SourceRecord(f"file{i}.nwb", f"h{i}", dots=(_dot(i, **spec),)), vector_names=NAMES)
    return cat


def test_metadata_is_flattened_into_typed_columns():
    columns = metadata_columns()
    assert columns["paradigm_name"] == "VARCHAR"
    assert columns["recording_sampling_frequency"] == "DOUBLE"
    assert columns["paradigm_head_fixed"] == "BOOLEAN"
    assert columns["arousal_measures"] == "VARCHAR[]"
    assert columns["behaviour"] == "JSON"
    flat = flatten_metadata(DotMetadata.from_dict({"paradigm": {"name": "sleep"}, "arousal": {"measures": ["emg"]}}))
    assert flat["paradigm_name"] == "sleep" and flat["arousal_measures"] == ["emg"]
    assert set(flat) == set(columns)


def test_filters_combine(catalog):
    assert len(search_dots(catalog)) == 5
    assert list(search_dots(catalog, species="Homo sapiens")["dot_id"]) == ["dot-0004"]
    dark_pupil = search_dots(catalog, species="mus musculus", illumination="dark", arousal=["pupil"], min_duration=600)
    assert list(dark_pupil["dot_id"]) == ["dot-0000"]
    assert list(search_dots(catalog, status="noncompliant")["dot_id"]) == ["dot-0003"]
    assert list(search_dots(catalog, lab="labB", paradigm="human-eyes-closed")["dot_id"]) == ["dot-0004"]


def test_replacing_a_source_leaves_no_old_rows(catalog):
    catalog.write_source(SourceRecord("file0.nwb", "h0-new", dots=(_dot(10),)), vector_names=NAMES)
    dots = catalog.dots()
    assert "dot-0000" not in set(dots["dot_id"]) and "dot-0010" in set(dots["dot_id"])
    assert catalog.source_state("file0.nwb") == ("h0-new", "ok")
    assert catalog.integrity_check() == []


def test_failed_write_rolls_back(catalog, monkeypatch):
    before = catalog.dots()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(CatalogTransaction, "insert_finding", explode)
        with pytest.raises(RuntimeError, match="disk full"):
            catalog.write_source(SourceRecord("file3.nwb", "h3b", dots=(_dot(3, duration=100.0),)))
    pd.testing.assert_frame_equal(catalog.dots(), before)
    assert catalog.integrity_check() == []


def test_similarity_ranks_by_standardised_distance(catalog):
    near = similar_dots(catalog, "dot-0002", k=2, metric="seuclidean")
    assert list(near["dot_id"]) == ["dot-0001", "dot-0003"]  # |i - 2| == 1, and dot-0002 itself excluded
    assert near["distance"].is_monotonic_increasing
    by_vector = similar_dots(catalog, np.array([4.0, 0.0, 1.0, 0.0]), k=1, metric="seuclidean")
    assert by_vector["dot_id"].iloc[0] == "dot-0004"
    with pytest.raises(ValueError, match="metric must be one of"):
        similar_dots(catalog, "dot-0001", metric="manhattan")


def test_cosine_matches_scipy(tmp_path):
    from scipy.spatial.distance import cdist

    from adhesive_dots.catalog.search import Standardiser

    catalog = Catalog(tmp_path / "cos.duckdb")
    rng = np.random.default_rng(0)
    for i in range(8):
        catalog.write_source(SourceRecord(f"s{i}", "h", dots=(_dot(i, vector=rng.normal(size=4) * [1, 10, 100, 0]),)))
    matrix, ids = catalog.vectors()
    std = Standardiser.fit(matrix)
    z = std.transform(matrix)
    result = similar_dots(catalog, "dot-0000", k=4, metric="cosine")
    expected = cdist(z[:1], z, metric="cosine")[0]
    for dot_id, distance in zip(result["dot_id"], result["distance"], strict=True):
        assert distance == pytest.approx(expected[ids.index(dot_id)], abs=1e-12)


def test_unknown_files_and_versions_are_refused(tmp_path):
    with pytest.raises(CatalogError, match="no catalog here yet"):
        Catalog(tmp_path / "none.duckdb").dots()
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database")
    with pytest.raises(CatalogError, match="junk.duckdb"):
        Catalog(junk).dots()
    cat = Catalog(tmp_path / "v.duckdb")
    cat.write_source(SourceRecord("x", "h"))
    import duckdb

    with duckdb.connect(str(cat.path)) as con:
        con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(CatalogError, match="newer than this adhesive-dots reads"):
        cat.dots()


def test_export_import_round_trip(catalog, tmp_path):
    out = tmp_path / "dots.parquet"
    assert export_parquet(catalog, out) == 5
    other = Catalog(tmp_path / "other.duckdb")
    report = import_parquet(other, out)
    assert sorted(report.added) == sorted(catalog.dots()["dot_id"]) and not report.conflicts
    pd.testing.assert_frame_equal(
        other.dots().drop(columns=["metadata_json"]), catalog.dots().drop(columns=["metadata_json"])
    )
    assert other.query("SELECT count(*) AS n FROM findings")["n"].iloc[0] == 1
    assert other.integrity_check() == []
    again = import_parquet(other, out)
    assert len(again.unchanged) == 5 and not again.added


def test_import_reports_conflicts_and_never_overwrites(catalog, tmp_path):
    out = tmp_path / "dots.parquet"
    export_parquet(catalog, out)
    table = pq.read_table(out)
    meta = [json.loads(m) for m in table.column("metadata_json").to_pylist()]
    meta[0]["identity"]["lab"] = "someone else"
    table = table.set_column(table.schema.get_field_index("metadata_json"), "metadata_json",
                             pa.array([json.dumps(m) for m in meta]))  # fmt: skip
    pq.write_table(table, out)
    report = import_parquet(catalog, out)
    assert report.conflicts == ["dot-0000"] and len(report.unchanged) == 4
    assert json.loads(catalog.dots().set_index("dot_id").loc["dot-0000", "metadata_json"])["identity"]["lab"] == "labA"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.drop_columns(["content_hash"]), "missing column 'content_hash'"),
        (lambda t: t.set_column(3, "segment_start", pa.array(["0"] * t.num_rows)), "has type string"),
    ],
)  # fmt: skip
def test_hostile_imports_are_rejected_whole(catalog, tmp_path, mutate, message):
    out = tmp_path / "dots.parquet"
    export_parquet(catalog, out)
    pq.write_table(mutate(pq.read_table(out)), out)
    target = Catalog(tmp_path / "t.duckdb")
    target.write_source(SourceRecord("keep.nwb", "k", dots=(_dot(99),)))
    with pytest.raises(FormatError, match=message):
        import_parquet(target, out)
    assert list(target.dots()["dot_id"]) == ["dot-0099"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.set_column(7, "metadata_json", pa.array(['{"paradigm": {"name": "nap"}}'] * t.num_rows)),
         "paradigm.name"),
        (lambda t: t.set_column(7, "metadata_json", pa.array(["x" * (2 << 20)] * t.num_rows)), "at most 1048576"),
        (lambda t: t.set_column(0, "dot_id", pa.array(["d" * 10_000] * t.num_rows)), "at most 4096 allowed"),
    ],
)  # fmt: skip
def test_hostile_rows_are_each_rejected(catalog, tmp_path, mutate, message):
    out = tmp_path / "dots.parquet"
    export_parquet(catalog, out)
    pq.write_table(mutate(pq.read_table(out)), out)
    target = Catalog(tmp_path / "t.duckdb")
    target.write_source(SourceRecord("keep.nwb", "k", dots=(_dot(99),)))
    report = import_parquet(target, out)
    assert [r["row"] for r in report.rejected] == [0, 1, 2, 3, 4] and not report.added
    assert all(message in r["problem"] for r in report.rejected)
    assert list(target.dots()["dot_id"]) == ["dot-0099"]


def test_import_of_non_parquet_is_a_format_error(tmp_path, catalog):
    bad = tmp_path / "bad.parquet"
    bad.write_text("hello")
    with pytest.raises(FormatError, match="not a readable Parquet file"):
        import_parquet(catalog, bad)


def test_transaction_commits_or_leaves_nothing(catalog):
    with catalog.transaction() as tx:
        tx.replace_duplicates([("dot-0000", "dot-0001", "near", json.dumps({"offset_s": 0.0}))])
    assert list(catalog.duplicates()["dot_b"]) == ["dot-0001"]
    with pytest.raises(RuntimeError, match="stop"):
        with catalog.transaction() as tx:
            tx.replace_duplicates([])
            tx.insert_dot("extra.nwb", _dot(50))
            raise RuntimeError("stop")
    assert len(catalog.duplicates()) == 1 and "dot-0050" not in set(catalog.dots()["dot_id"])


def test_no_sql_outside_the_store():
    """Every statement against the catalog's tables in the catalog, the reports and the server lives in
    catalog/store.py (issue 20)."""
    import re
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "src" / "adhesive_dots"
    statement = re.compile(
        r"\b(SELECT|INSERT|DELETE|UPDATE|BEGIN TRANSACTION|COMMIT|ROLLBACK)\b[^\n]*\b(FROM|INTO|dots|findings)\b"
    )
    offenders = []
    paths = [p for folder in ("catalog", "report", "serve") for p in (package / folder).rglob("*.py")]
    assert len(paths) > 10
    for path in paths:
        if path.name == "store.py" and path.parent.name == "catalog":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if statement.search(line) and not line.lstrip().startswith("#"):
                offenders.append(f"{path.relative_to(package)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_search_sorts_pages_and_counts(catalog):
    from adhesive_dots.catalog.store import SUMMARY_COLUMNS, DotFilter

    mice = DotFilter(species="Mus musculus")
    assert catalog.count(mice) == 4 and catalog.count() == 5
    by_length = catalog.search(mice, columns=["dot_id", "duration_s"], sort="duration_s", descending=True)
    assert list(by_length["dot_id"])[-1] == "dot-0003"
    page = catalog.search(None, columns=SUMMARY_COLUMNS, limit=2, offset=2)
    assert list(page["dot_id"]) == list(catalog.dots()["dot_id"])[2:4]
    assert catalog.search_records(mice, columns=["dot_id"], limit=1) == [{"dot_id": "dot-0000"}]
    counts = catalog.facet_counts("arousal_measures")
    assert counts.to_dict() == {"pupil": 3, "eeg-vigilance": 1}
    assert catalog.facet_counts("subject_species", mice).to_dict() == {"Mus musculus": 4}
    minutes = catalog.minutes_by("identity_lab")
    assert minutes.loc["labA", "compliant"] == pytest.approx(30.0) and minutes.loc["labA", "other"] == pytest.approx(
        412 / 60
    )
    with pytest.raises(ValueError, match="unknown catalog column"):
        catalog.search(None, sort="1; DROP TABLE dots")


def test_a_snapshot_is_a_consistent_read_only_copy(catalog):
    from adhesive_dots.catalog.store import CatalogSnapshot

    snapshot = catalog.snapshot()
    assert isinstance(snapshot, CatalogSnapshot) and snapshot.signature == catalog.file_signature()
    catalog.write_source(SourceRecord("later.nwb", "hl", dots=(_dot(77),)), vector_names=NAMES)
    assert catalog.file_signature() != snapshot.signature  # the file changed: a newer snapshot is due
    assert "dot-0077" not in set(snapshot.dots()["dot_id"]) and "dot-0077" in set(catalog.dots()["dot_id"])
    assert snapshot.integrity_check() == [] and len(snapshot.vectors()[1]) == 5
    assert snapshot.dot("dot-0001")["source_hash"] == "h1" and snapshot.dot("nope") is None
    with pytest.raises(CatalogError, match="read-only"):
        snapshot.write_source(SourceRecord("x", "h"))
    with pytest.raises(CatalogError, match="read-only"):
        with snapshot.transaction():
            pass


def test_a_snapshot_waits_for_a_writer_or_says_busy(catalog):
    import duckdb

    from adhesive_dots.catalog.store import CatalogBusyError

    with duckdb.connect(str(catalog.path)):  # a writer holds the file (in this process: a file handle conflict)
        with pytest.raises(CatalogBusyError, match="cannot open the catalog"):
            catalog.snapshot(timeout=0.2)
    assert len(catalog.snapshot(timeout=0.2).dots()) == 5


def test_snapshots_of_files_that_are_not_catalogs(tmp_path):
    import duckdb

    with pytest.raises(CatalogError, match="no catalog here yet"):
        Catalog(tmp_path / "none.duckdb").snapshot()
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database")
    with pytest.raises(CatalogError, match="not a readable DuckDB catalog"):
        Catalog(junk).snapshot()
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(CatalogError, match="not an adhesive-dots catalog"):
        Catalog(other).snapshot()
    old = tmp_path / "v1.duckdb"
    with duckdb.connect(str(old)) as con:
        con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    assert Catalog(old).snapshot().sketches().empty  # an older catalog is migrated in the copy only
    with duckdb.connect(str(old)) as con:
        assert "sketches" not in {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
