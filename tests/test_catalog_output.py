"""Catalog output people can use (issue 18, item 5): short unique dot id prefixes everywhere a dot id is
taken, unknown vocabulary values refused with a suggestion, named features, distinct counts, absolute
sources."""

from __future__ import annotations

import json

import numpy as np
import pytest

from adhesive_dots.catalog import Catalog, DotNotFoundError, DotRecord, SourceRecord
from adhesive_dots.catalog.search import UnknownValueError, count_distinct, search_dots
from adhesive_dots.catalog.store import shortest_prefixes
from adhesive_dots.metadata import DotMetadata


@pytest.fixture
def catalog(tmp_path) -> Catalog:
    cat = Catalog(tmp_path / "c.duckdb")
    meta = DotMetadata.from_dict({"recording": {"modality": "eeg"}, "paradigm": {"name": "human-eyes-closed"}})
    names = ["aperiodic_exponent", "peak_frequency"]
    for i, dot_id in enumerate(["dot-aaaa111100000000", "dot-aaaa222200000000", "dot-bbbb000000000000"]):
        record = DotRecord(dot_id, meta, (0.0, 600.0), 600.0, f"sha256:{i}", vector=np.array([1.0 + i, np.nan]))
        cat.write_source(SourceRecord(f"/data/s{i}.edf", f"h{i}", dots=(record,)), vector_names=names)
    with cat.transaction() as tx:
        tx.replace_duplicates([("dot-aaaa111100000000", "dot-aaaa222200000000", "exact", "{}")])
    return cat


def test_dot_id_prefixes_resolve_like_git(catalog):
    assert catalog.resolve_dot_id("dot-bb") == "dot-bbbb000000000000"
    assert catalog.resolve_dot_id("aaaa2") == "dot-aaaa222200000000"  # the dot- prefix may be left out
    with pytest.raises(DotNotFoundError, match="ambiguous; it matches dot-aaaa111100000000, dot-aaaa222200000000"):
        catalog.resolve_dot_id("dot-aaaa")
    with pytest.raises(DotNotFoundError, match="no dot id starts with 'dot-c'"):
        catalog.resolve_dot_id("dot-c")
    short = catalog.short_ids(["dot-aaaa111100000000", "dot-bbbb000000000000"], min_hex=3)
    assert short == {"dot-aaaa111100000000": "dot-aaaa1", "dot-bbbb000000000000": "dot-bbb"}
    assert shortest_prefixes(["abcd"], ["abcd", "abce"], min_length=1) == {"abcd": "abcd"}


def test_unknown_vocabulary_value_suggests_the_closest(catalog, adots):
    with pytest.raises(UnknownValueError, match="did you mean human-eyes-closed"):
        search_dots(catalog, paradigm="human-eyes-closedd")
    code, _, err = adots(["search", "--catalog", str(catalog.path), "--paradigm", "human-eyes-closedd"])
    assert code == 2 and "did you mean human-eyes-closed" in " ".join(err.split())
    code, _, err = adots(["search", "--catalog", str(catalog.path), "--arousal", "pupill"])
    assert code == 2 and "did you mean pupil" in " ".join(err.split())


def test_search_json_carries_named_features_and_counts_distinct(catalog, adots):
    assert count_distinct(catalog, ["dot-aaaa111100000000", "dot-aaaa222200000000", "dot-bbbb000000000000"]) == 2
    code, out, _ = adots(["search", "--catalog", str(catalog.path), "--json"])
    assert code == 0
    rows = json.loads(out)
    assert rows[0]["features"] == {"aperiodic_exponent": 1.0, "peak_frequency": None}
    code, out, _ = adots(["search", "--catalog", str(catalog.path), "--features", "aperiodic_exponent"])
    text = " ".join(out.split())
    assert code == 0 and "3 dots (2 distinct after de-duplication), 30.0 min" in text
    body = out[out.index("┏") :]
    assert "None" not in body and "–" in body, body  # missing values are dashes
    code, out, _ = adots(["search", "--catalog", str(catalog.path), "--similar-to", "dot-bb", "--json"])
    assert code == 0 and {r["dot_id"] for r in json.loads(out)} == {"dot-aaaa111100000000", "dot-aaaa222200000000"}
    code, _, err = adots(["search", "--catalog", str(catalog.path), "--similar-to", "dot-aaaa"])
    assert code == 2 and "ambiguous" in err


def test_compare_and_report_take_a_dot_id_prefix_and_sources_are_absolute(real_data, tmp_path, adots, monkeypatch):
    monkeypatch.chdir(real_data)
    catalog = tmp_path / "c.duckdb"
    code, _, err = adots(
        ["ingest", "S001R01.edf", "S001R02.edf", "--whole", "--workers", "0", "--catalog", str(catalog)]
    )
    assert code == 0, err
    cat = Catalog(catalog)
    sources = cat.sources()["source"].tolist()
    assert sources == [str((real_data / n).resolve()) for n in ("S001R01.edf", "S001R02.edf")]
    ids = cat.dots(columns=["dot_id", "source"]).set_index("source")["dot_id"]
    short = cat.short_ids(list(ids))
    a, b = (short[ids[s]] for s in sources)
    monkeypatch.chdir(tmp_path)
    code, out, err = adots(["compare", a, b, "--catalog", str(catalog), "--n-boot", "50", "--json"])
    assert code == 0, err
    assert json.loads(out)["a"].startswith(sources[0])
    code, _, err = adots(["report", a, "--catalog", str(catalog), "-o", str(tmp_path / "dot.html")])
    assert code == 0, err and (tmp_path / "dot.html").stat().st_size > 0
    code, _, err = adots(["compare", "dot-", b, "--catalog", str(catalog)])
    assert code == 2 and "not a dot id" in err

    # per-channel fingerprints, long format, the same numbers as the NetCDF files
    import pandas as pd

    from adhesive_dots.fingerprint import read_fingerprint

    out = tmp_path / "channels.parquet"
    code, _, err = adots(
        ["export", "--catalog", str(catalog), "-o", str(tmp_path / "d.parquet"), "--channels", str(out)]
    )
    assert code == 0, err
    long = pd.read_parquet(out)
    dot_id = ids[sources[0]]
    mine = long[(long["dot_id"] == dot_id) & (long["feature"] == "aperiodic_exponent")]
    stored = read_fingerprint(cat.fingerprint_path(dot_id)).dataset["aperiodic_exponent"]
    assert len(mine) == 64 and mine["value"].to_numpy() == pytest.approx(stored.values)
    assert "relative_power_alpha" in set(long["feature"])


def test_search_lists_the_first_rows_of_a_large_match_and_counts_them_all(catalog, adots, monkeypatch):
    """A catalog may hold millions of dots: the table lists the first --max rows (default TABLE_ROWS) and
    says how many matched; the counts in the title cover every match; --json and --max 0 list every row."""
    from adhesive_dots.cli import catalog as cli_catalog

    code, out, _ = adots(["search", "--catalog", str(catalog.path), "--max", "2"])
    text = " ".join(out.split())
    assert code == 0 and "3 dots (2 distinct after de-duplication), 30.0 min" in text
    assert "showing the first 2 of 3 dots" in text and text.count("dot-") >= 2
    assert "dot-bbb" not in out  # the third dot in catalog order is not listed
    assert len(json.loads(adots(["search", "--catalog", str(catalog.path), "--json"])[1])) == 3
    assert len(json.loads(adots(["search", "--catalog", str(catalog.path), "--json", "--max", "1"])[1])) == 1
    code, out, _ = adots(["search", "--catalog", str(catalog.path), "--max", "0"])
    assert code == 0 and "showing" not in out
    monkeypatch.setattr(cli_catalog, "TABLE_ROWS", 1)  # the default applies to the table only
    assert "showing the first 1 of 3 dots" in " ".join(adots(["search", "--catalog", str(catalog.path)])[1].split())
