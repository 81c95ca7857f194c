"""Expanding user targets into sources: NWB files, BIDS rest runs, remote ids, errors."""

from __future__ import annotations

import pytest

from adhesive_dots import SourceNotFoundError
from adhesive_dots.io.discover import discover_sources


def test_corpus_folder_expands_to_every_session(small_corpus):
    specs = discover_sources([small_corpus.root])
    nwb = [s for s in specs if s.key.endswith(".nwb")]
    bids = [s for s in specs if s.options]
    assert len(nwb) == 4 and len(bids) == 2
    assert all(dict(s.options)["task"] == "rest" for s in bids)
    assert {dict(s.options)["session"] for s in bids} == {"01", "02"}
    assert all(s.key.endswith("_task-rest_eeg.vhdr") for s in bids)
    # naming the same thing twice yields it once
    assert len(discover_sources([small_corpus.root, small_corpus.root / nwb[0].key])) == len(specs)


def test_content_hash_covers_the_run_files_and_changes_with_them(small_corpus, tmp_path):
    bids = next(s for s in discover_sources([small_corpus.root]) if s.options)
    names = {p.name.split("_task-rest_")[1] for p in bids.files()}
    assert {"eeg.vhdr", "eeg.eeg", "eeg.vmrk", "eeg.json", "channels.tsv"} <= names
    copy = tmp_path / "x.nwb"
    nwb = next(s for s in discover_sources([small_corpus.root]) if not s.options)
    copy.write_bytes(open(nwb.key, "rb").read())
    spec = discover_sources([copy])[0]
    first = spec.content_hash()
    assert first == nwb.content_hash() and first.startswith("sha256:")  # same bytes, same hash
    with copy.open("ab") as handle:
        handle.write(b"\0")
    assert spec.content_hash() != first


def test_remote_ids_pass_through_and_missing_paths_are_named(tmp_path):
    specs = discover_sources(["dandi:000017/draft", "https://example.org/a.nwb"])
    assert [s.key for s in specs] == ["dandi:000017/draft", "https://example.org/a.nwb"]
    assert not specs[0].is_local and specs[0].content_hash() == ""
    with pytest.raises(SourceNotFoundError, match="nope.nwb: no such file"):
        discover_sources([tmp_path / "nope.nwb"])
