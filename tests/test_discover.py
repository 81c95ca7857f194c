"""Expanding user targets into sources: NWB files, BIDS rest runs, remote ids, problems, hashes."""

from __future__ import annotations

from adhesive_dots.io.sources import expand_sources


def test_corpus_folder_expands_to_every_session(small_corpus):
    items, problems = expand_sources([small_corpus.root])
    assert not problems
    nwb = [i for i in items if i.key.endswith(".nwb")]
    bids = [i for i in items if i.options]
    assert len(nwb) == 4 and len(bids) == 2
    assert all(i.options["task"] == "rest" for i in bids)
    assert {i.options["session"] for i in bids} == {"01", "02"}
    assert all(i.key.endswith("_task-rest_eeg.vhdr") for i in bids)
    # naming the same thing twice yields it once
    again, _ = expand_sources([small_corpus.root, nwb[0].key])
    assert [i.key for i in again] == [i.key for i in items]


def test_content_hash_covers_the_run_files_and_changes_with_them(small_corpus, tmp_path):
    items, _ = expand_sources([small_corpus.root])
    bids = next(i for i in items if i.options)
    names = {p.name.split("_task-rest_")[1] for p in bids.files()}
    assert {"eeg.vhdr", "eeg.eeg", "eeg.vmrk", "eeg.json", "channels.tsv"} <= names
    nwb = next(i for i in items if not i.options)
    copy = tmp_path / "x.nwb"
    copy.write_bytes(open(nwb.key, "rb").read())
    (item,), _ = expand_sources([copy])
    first = item.content_hash()
    assert first == nwb.content_hash() and first.startswith("sha256:")  # same bytes, same hash
    with copy.open("ab") as handle:
        handle.write(b"\0")
    assert item.content_hash() != first


def test_remote_ids_pass_through_and_problems_are_named(tmp_path):
    items, problems = expand_sources(["dandi:000017/draft", "https://example.org/a.nwb", tmp_path / "nope.nwb",
                                      tmp_path])  # fmt: skip
    assert [i.key for i in items] == ["dandi:000017/draft", "https://example.org/a.nwb"]
    assert items[0].is_remote and items[0].content_hash() == ""
    assert [(p.code, p.message.split(":")[-1].strip()) for p in problems] == [
        ("source.unreadable", "no such file or folder"),
        ("source.empty", "folder holds no .nwb file, BIDS dataset or raw recording (.edf, .bdf, .vhdr, .fif, .set)"),
    ]
