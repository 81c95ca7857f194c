"""Acceptance on a simulated corpus with planted re-uploads: direct mode, catalog, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from adhesive_dots.catalog import Catalog, DotRecord, SourceRecord
from adhesive_dots.catalog.curation import (
    MANIFEST_SCHEMA,
    compute_catalog_sketches,
    curate_catalog,
    export_manifest,
    find_catalog_duplicates,
    stored_duplicates,
)
from adhesive_dots.catalog.store import CATALOG_SCHEMA_VERSION
from adhesive_dots.core import Finding, Severity
from adhesive_dots.io.sources import expand_sources, resolve
from adhesive_dots.sim.reupload import REUPLOAD_VARIANTS, load_reuploads
from adhesive_dots.workflows.curate import check_sources

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def direct(reupload_corpus):
    return check_sources([reupload_corpus.root])


def _relative(root: Path, source: str) -> str:
    return str(Path(source).relative_to(root))


def test_every_planted_duplicate_is_found_and_nothing_else(reupload_corpus, direct):
    root = reupload_corpus.root
    truth = load_reuploads(root)
    assert len(truth.copies) == 3 * len(REUPLOAD_VARIANTS)
    planted = truth.pairs()
    assert len(planted) == 3 * 21  # 7 files per group, every pair
    found = {frozenset((_relative(root, p.a), _relative(root, p.b))) for p in direct.search.pairs}
    assert found == planted  # recall 100 %, precision 100 %
    assert (direct.sources["error"] == "").all() and len(direct.sources) == 6 + 18
    # distinct sessions of the same subject exist in every lab and never pair
    originals = {e.key: e for e in reupload_corpus.entries}
    assert len({(e.lab, e.subject) for e in originals.values()}) == 3 and len(originals) == 6


def test_each_pair_reports_the_planted_transform(reupload_corpus, direct):
    root = reupload_corpus.root
    truth = load_reuploads(root)
    by_pair = {(_relative(root, p.a), _relative(root, p.b)): p for p in direct.search.pairs}
    for copy in truth.copies:
        key = (copy.original_source, copy.source)
        pair = by_pair.get(key) or by_pair[key[::-1]]
        evidence = pair.evidence
        if evidence["method"] == "content-hash":
            assert copy.variant == "converted" and pair.kind == "exact"
            continue
        sign = 1 if pair.a == str(root / copy.original_source) else -1
        t = copy.transform
        assert sign * evidence["offset_s"] == pytest.approx(t["offset_s"], abs=0.05), copy.key
        assert evidence["rate_ratio"] ** sign == pytest.approx(t["rate_ratio"], rel=1e-6), copy.key
        assert evidence["gain"] ** sign == pytest.approx(t["gain"], rel=0.02), copy.key  # filter edges: 2 %
        assert evidence["n_matched"] == len(t["channels"]), copy.key
        kept = 0.7 if copy.variant in ("cropped", "combined") else 1.0
        assert evidence["overlap_s"] == pytest.approx(kept * t["duration_s"], abs=0.1), copy.key
        assert evidence["correlation"] >= 0.95, copy.key
        if copy.variant == "converted":
            assert pair.kind == "exact" and evidence["relative_rms"] < 1e-3


def _ingest(catalog: Catalog, root: Path, keep, poor: str) -> list[str]:
    """A minimal ingest (the real one is `adots ingest`): one dot per source; ``poor`` gets a finding."""
    ids = []
    items, _ = expand_sources([root])
    for spec in items:
        if not keep(spec.key):
            continue
        with resolve(spec) as resolved:
            baseline = resolved.baseline
            dot_id = "poor" if spec.key == poor else f"dot-{len(ids):02d}"
            findings = ()
            if spec.key == poor:
                findings = (Finding("signal.usable_fraction", Severity.ERROR, "few usable channels", value=0.5),)
            dot = DotRecord(
                dot_id=dot_id, metadata=baseline.metadata, segment=(baseline.segment.start, baseline.segment.stop),
                duration_s=baseline.duration, content_hash=baseline.content_hash(), findings=findings,
            )  # fmt: skip
            catalog.write_source(SourceRecord(source=spec.key, source_hash=spec.content_hash(), dots=(dot,)))
            ids.append(dot_id)
    return ids


@pytest.fixture(scope="module")
def eeg_catalog(reupload_corpus, tmp_path_factory):
    """The EEG lab's sessions and the copies of its re-uploaded session, in a catalog."""
    root = reupload_corpus.root
    group = load_reuploads(root).groups()[2]
    assert "eeg" in group[0]
    wanted = {str(root / p) for p in group} | {str(p) for p in (root / "lab2-eeg").rglob("*task-rest_eeg.vhdr")}
    catalog = Catalog(tmp_path_factory.mktemp("catalog") / "adhesive.duckdb")
    ids = _ingest(catalog, root, lambda key: key in wanted, poor=str(root / group[0]))
    assert len(ids) == 8  # 2 sessions + 6 copies
    return catalog


def test_catalog_sketches_duplicates_and_manifest(eeg_catalog, tmp_path):
    report = compute_catalog_sketches(eeg_catalog)
    assert (report["status"] == "computed").all()
    assert (compute_catalog_sketches(eeg_catalog)["status"] == "kept").all()  # stored, not recomputed
    search = find_catalog_duplicates(eeg_catalog)
    assert len(search.pairs) == 21 and not search.rejected
    stored = stored_duplicates(eeg_catalog)
    assert len(stored) == 21 and all("method" in e for e in stored["evidence"])
    sources = eeg_catalog.query("SELECT dot_id, source FROM dots").set_index("dot_id")["source"]
    involved = set(stored["dot_a"]) | set(stored["dot_b"])
    lonely = set(sources.index) - involved
    assert len(lonely) == 1 and "ses-01" in sources[lonely.pop()]  # the session that was not re-uploaded

    result = curate_catalog(eeg_catalog, drop_duplicates="keep-best")
    kept = result.selected
    assert len(kept) == 2  # one per group: the re-uploaded session and the other session
    assert "poor" not in set(kept["dot_id"])  # its usable-fraction finding (quality 0.5) loses to a copy
    poor = result.dots.set_index("dot_id").loc["poor"]
    assert poor["quality_signal"] == pytest.approx(0.5)  # the usable-fraction finding lowers the signal
    expected = 0.5**0.6 * poor["quality_metadata"] ** 0.2 * poor["quality_duration"] ** 0.2  # weights 0.6/0.2/0.2
    assert poor["quality"] == pytest.approx(expected)
    balance = result.balance.set_index(["facet", "value"])
    assert balance.loc[("species", "Homo sapiens"), "n_dots"] == 2

    path = tmp_path / "manifest.parquet"
    assert export_manifest(result, path) == 2
    table = pq.read_table(path)
    assert table.schema.equals(MANIFEST_SCHEMA, check_metadata=False)
    info = json.loads(table.schema.metadata[b"adots_manifest"])
    assert info["drop_duplicates"] == "keep-best" and info["n_duplicate_pairs"] == 21
    rows = table.to_pylist()
    assert {r["n_duplicates"] for r in rows} == {0, 6} and all(r["modality"] == "eeg" for r in rows)
    with pytest.raises(FileExistsError):
        export_manifest(result, path)


def test_cli_curate_and_duplicates(eeg_catalog, reupload_corpus, tmp_path, capsys):
    from adhesive_dots.cli import main

    manifest = tmp_path / "m.parquet"
    with pytest.raises(SystemExit) as exit_info:
        main(["curate", "--catalog", str(eeg_catalog.path), "--min-quality", "0.7", "--drop-duplicates",
              "keep-first", "--export", str(manifest), "--json"])  # fmt: skip
    assert exit_info.value.code in (0, None)
    out = json.loads(capsys.readouterr().out)
    assert out["n_selected"] == 2 and out["manifest"]["rows"] == 2 and len(out["duplicates"]) == 21
    dropped = {d["dot_id"]: d["reason"] for d in out["dots"] if not d["selected"]}
    assert dropped["poor"].startswith("quality 0.6")

    with pytest.raises(SystemExit) as exit_info:
        main(["curate", "--catalog", str(eeg_catalog.path), "--drop-duplicates", "keep-last"])
    assert exit_info.value.code == 2
    assert "keep-first or keep-best" in capsys.readouterr().err

    root = reupload_corpus.root
    copies = [str(root / c.source) for c in load_reuploads(root).copies if c.variant in ("cropped", "rescaled")]
    with pytest.raises(SystemExit) as exit_info:
        main(["duplicates", *copies[:2], "--json"])  # the cropped and rescaled copies of the calcium session
    assert exit_info.value.code == 1  # duplicates found
    payload = json.loads(capsys.readouterr().out)
    assert len(payload["pairs"]) == 1 and payload["pairs"][0]["evidence"]["offset_s"] is not None


def test_version_1_catalog_migrates(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.close()
    catalog = Catalog(path)
    with catalog.connect() as live:
        tables = {r[0] for r in live.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        version = live.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    assert {"sketches", "quality"} <= set(tables) and int(version) == CATALOG_SCHEMA_VERSION == 3


def test_cli_curate_table_output(eeg_catalog, capsys):
    from adhesive_dots.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["curate", "--catalog", str(eeg_catalog.path), "--drop-duplicates", "keep-first"])
    assert exit_info.value.code in (0, None)
    out = capsys.readouterr().out
    assert "8 dots; 21 duplicate pairs; 2 selected (keep-first)" in out
    assert "Balance of the selected dots" in out and "Duplicates" in out


def test_cli_curate_tables_list_the_first_rows_of_a_large_catalog(eeg_catalog, adots, monkeypatch):
    """A catalog may hold millions of dots: the tables list the first rows and say how many there are."""
    from adhesive_dots.cli import curate as cli_curate

    monkeypatch.setattr(cli_curate, "TABLE_ROWS", 3)
    code, out, _ = adots(["curate", "--catalog", str(eeg_catalog.path), "--drop-duplicates", "keep-first"])
    text = " ".join(out.split())
    assert code == 0 and "8 dots; 21 duplicate pairs; 2 selected (keep-first)" in text
    assert "showing the first 3 of 21 duplicate pairs" in text and "showing the first 3 of 8 dots" in text
    assert "showing the first 3 of 6 dropped dots" in text


def test_unreadable_sources_are_listed_not_fatal(tmp_path):
    bad = tmp_path / "broken.nwb"
    bad.write_bytes(b"not an HDF5 file")
    other = tmp_path / "also-broken.nwb"
    other.write_bytes(b"")
    result = check_sources([tmp_path])
    assert list(result.sources["source"]) == [str(other), str(bad)]
    assert (result.sources["error"] != "").all() and result.search.pairs == []


def test_cli_curate_lists_a_few_unsketched_dots_and_counts_the_rest(tmp_path, adots, monkeypatch):
    """Imported dots whose sources are not on this machine cannot be sketched: a few are named, the rest
    counted (a million of them once printed a million lines)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_import import write_export

    from adhesive_dots.cli import curate as cli_curate

    export, catalog = tmp_path / "export.parquet", tmp_path / "c.duckdb"
    write_export(export, 30)
    assert adots(["import", str(export), "--catalog", str(catalog)])[0] == 0
    monkeypatch.setattr(cli_curate, "MAX_LISTED", 2)
    code, out, err = adots(["curate", "--catalog", str(catalog)])
    text = " ".join(err.split())
    assert code == 0 and "30 dots; 0 duplicate pairs; 30 selected" in " ".join(out.split())
    assert text.count("not sketched:") == 2 and "... and 28 more not sketched (--json lists them)" in text
    assert "the source of this dot is gone" in text
