"""Curation tables in the catalog without reading sources: quality from stored rows, cleanup, errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from adhesive_dots.catalog import Catalog, DotRecord, SourceRecord
from adhesive_dots.catalog.curation import catalog_quality, curate_catalog, spec_for_dot, stored_duplicates
from adhesive_dots.core import Finding, Severity
from adhesive_dots.errors import SourceNotFoundError
from adhesive_dots.metadata import DotMetadata


def _dot(dot_id: str, modality: str, vector: float, findings=()) -> DotRecord:
    metadata = DotMetadata.from_dict(
        {"recording": {"modality": modality}, "subject": {"species": "Homo sapiens"}, "identity": {"lab": "l"}}
    )
    return DotRecord(dot_id, metadata, (0.0, 600.0), 600.0, f"sha256:{dot_id}", vector=np.array([vector]),
                     findings=tuple(findings))  # fmt: skip


@pytest.fixture
def catalog(tmp_path) -> Catalog:
    cat = Catalog(tmp_path / "c.duckdb")
    drift = Finding("signal.drift", Severity.WARNING, "drift", value=math.e)
    names = ["aperiodic_exponent"]
    cat.write_source(SourceRecord("a.nwb", "h1", dots=(_dot("a", "eeg", 1.5, [drift]),)), vector_names=names)
    cat.write_source(SourceRecord("b.nwb", "h2", dots=(_dot("b", "eeg", 5.5),)), vector_names=names)
    return cat


def test_quality_from_stored_findings_and_vectors(catalog):
    frame = catalog_quality(catalog).set_index("dot_id")
    signal = frame["quality_signal"]
    assert signal["a"] == pytest.approx(math.exp(-1 / 2.0))  # drift ratio e: exp(-|ln e| / 2)
    assert signal["b"] == pytest.approx(math.exp(-2.5 / 2.5))  # exponent 5.5 is 2.5 above the EEG range
    # human, no paradigm: of species, paradigm.name, eyes_closed, fixation, instructions only the species;
    # of the 11 recommended human fields only the lab
    assert frame["quality_metadata"]["a"] == pytest.approx(0.75 * 1 / 5 + 0.25 * 1 / 11)
    assert frame["quality_duration"]["a"] == 1.0
    combined = math.exp(0.6 * math.log(signal["a"]) + 0.2 * math.log(frame["quality_metadata"]["a"]))
    assert frame["quality"]["a"] == pytest.approx(combined)


def test_replacing_a_source_drops_its_sketches_and_links(catalog):
    with catalog.connect() as con:
        con.execute("INSERT INTO sketches (dot_id, signature, n_tokens) VALUES ('a', [1, 2, 3], 3)")
        con.execute("INSERT INTO duplicates VALUES ('a', 'b', 'near', ?)", [json.dumps({"method": "sketch"})])
    assert len(stored_duplicates(catalog)) == 1
    result = curate_catalog(catalog, drop_duplicates="keep-best")
    assert list(result.selected["dot_id"]) == ["a"]  # quality 0.61 beats 0.37
    catalog.write_source(SourceRecord("a.nwb", "h1-new", dots=(_dot("a", "eeg", 1.5),)))
    assert len(stored_duplicates(catalog)) == 0
    assert catalog.query("SELECT count(*) AS n FROM sketches")["n"].iloc[0] == 0


def test_gone_source_is_reported(tmp_path):
    with pytest.raises(SourceNotFoundError, match="re-ingest"):
        spec_for_dot(str(tmp_path / "moved.nwb"))
