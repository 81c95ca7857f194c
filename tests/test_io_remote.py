"""Streaming over HTTP with byte ranges (a real local server), DANDI and OpenNeuro resolution."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from adhesive_dots.baselines import find_baselines
from adhesive_dots.core import Segment
from adhesive_dots.errors import RemoteError, SourceNotFoundError, UnsupportedSourceError
from adhesive_dots.io import open_recording
from adhesive_dots.io.nwb_write import NWBSession, write_nwb
from adhesive_dots.io.remote import parse_dandi, resolve_dandi, resolve_openneuro
from adhesive_dots.metadata import DotMetadata

pytestmark = pytest.mark.network

DANDI_FIXTURES = Path(__file__).parent / "data" / "dandi"
N_CHANNELS, FS, SECONDS = 16, 250.0, 600
SEGMENT = (95.0, 215.0)  # 120 s, deliberately not aligned to the 10 s chunks


@pytest.fixture(scope="module")
def big_nwb(tmp_path_factory):
    """A 10-minute, 16-channel LFP NWB file (9.8 MB, float32, 10 s chunks) with a dot at 95-215 s."""
    rng = np.random.default_rng(11)
    data = rng.standard_normal((N_CHANNELS, int(FS * SECONDS))).astype(np.float32)
    session = NWBSession(
        session_id="s1",
        description="streaming test",
        metadata=DotMetadata(),
        data=data,
        fs=FS,
        channel_names=[f"c{i}" for i in range(N_CHANNELS)],
        units="V",
        kind="lfp",
        dot=Segment.between(*SEGMENT),
    )
    path = tmp_path_factory.mktemp("big") / "big.nwb"
    write_nwb(path, session)
    return path, data


def test_streamed_baseline_transfers_only_the_segment(big_nwb, range_server):
    path, data = big_nwb
    shutil.copy(path, range_server.root / "big.nwb")
    file_size = path.stat().st_size
    with open_recording(range_server.url("big.nwb")) as recording:
        metadata_bytes = range_server.bytes_served  # superblock, object headers, tables, pynwb metadata
        (baseline,) = find_baselines(recording)
        assert baseline.segment.evidence.startswith("adhesive_baseline")
        range_server.reset_counts()
        segment = baseline.load()
        load_bytes = range_server.bytes_served
    assert all(r[2].startswith("bytes=") for r in range_server.requests), "every data read is a range request"
    i0, i1 = int(SEGMENT[0] * FS), int(SEGMENT[1] * FS)
    np.testing.assert_array_equal(segment, data[:, i0:i1])  # exact: the same float32 samples
    segment_bytes = (i1 - i0) * N_CHANNELS * 4  # as stored (float32)
    # acceptance: bytes requested are within 1.2x the segment's bytes plus metadata
    assert load_bytes <= 1.2 * segment_bytes, (load_bytes, segment_bytes)
    assert metadata_bytes + load_bytes <= 1.2 * segment_bytes + metadata_bytes
    assert metadata_bytes + load_bytes < 0.35 * file_size  # never the whole file


def test_streamed_nwb_equals_local(big_nwb, range_server):
    path, _ = big_nwb
    shutil.copy(path, range_server.root / "big.nwb")
    with open_recording(range_server.url("big.nwb")) as remote, open_recording(path) as local:
        assert remote.metadata.identity.source_uri == range_server.url("big.nwb")
        np.testing.assert_array_equal(
            remote.read(300.0, 301.0, channels=[3, 1]), local.read(300.0, 301.0, channels=[3, 1])
        )


def test_http_404_is_source_not_found(range_server):
    with pytest.raises(SourceNotFoundError, match="404"):
        open_recording(range_server.url("missing.nwb"))


def test_dropped_connection_mid_read_is_a_remote_error(big_nwb, range_server):
    path, _ = big_nwb
    shutil.copy(path, range_server.root / "big.nwb")
    with open_recording(range_server.url("big.nwb")) as recording:
        range_server.drop_after_bytes = range_server.bytes_served + 100_000
        with pytest.raises(RemoteError, match="remote read failed while reading samples.*payload is not completed"):
            recording.read(400.0, 500.0)
    range_server.reset_counts()
    range_server.drop_after_bytes = 50_000  # now during the metadata reads of opening
    with pytest.raises(RemoteError, match="remote read failed"):
        open_recording(range_server.url("big.nwb"))


def test_streamed_edf_reads_like_the_local_file(real_data):
    from adhesive_dots.testing.http import RangeServer

    with RangeServer(real_data) as server:
        with open_recording(server.url("S001R01.edf")) as remote, open_recording(real_data / "S001R01.edf") as local:
            assert (remote.n_channels, remote.fs) == (64, 160.0)
            np.testing.assert_array_equal(remote.read(10.0, 12.0), local.read(10.0, 12.0))
            # MNE reads file objects only with preload=True: the EDF is transferred whole (documented)
            assert server.bytes_served >= (real_data / "S001R01.edf").stat().st_size


# -- DANDI -------------------------------------------------------------------------------------
ASSET_PATH = "sub-M01/sub-M01_ses-01_ecephys.nwb"
VERSION_PATH = "/api/dandisets/000017/versions/0.220126.2143"


def _dandi_routes(content_url: str | None = None) -> dict:
    load = lambda name: json.loads((DANDI_FIXTURES / name).read_text())  # noqa: E731
    metadata = load("asset-metadata.json")
    if content_url is not None:
        metadata["contentUrl"] = [content_url]
    return {
        "/server-info": load("server-info.json"),
        "/api/dandisets/000017/": load("dandiset.json"),
        f"{VERSION_PATH}/assets/?path=sub-M01%2Fsub-M01_ses-01_ecephys.nwb": load("assets-by-path.json"),
        f"{VERSION_PATH}/assets/": load("assets-all.json"),
        f"{VERSION_PATH}/assets/8e3c5a52-4e0d-4d1b-9b7e-2f6d0c1a9e47/": metadata,
    }


def test_parse_dandi_identifiers():
    assert parse_dandi("dandi:000017") == ("000017", None, None)
    assert parse_dandi("dandi:000017/draft") == ("000017", "draft", None)
    assert parse_dandi(f"dandi:000017/0.220126.2143/{ASSET_PATH}") == ("000017", "0.220126.2143", ASSET_PATH)
    assert parse_dandi(f"dandi:000017/{ASSET_PATH}") == ("000017", None, ASSET_PATH)
    with pytest.raises(UnsupportedSourceError, match="6-digit"):
        parse_dandi("dandi:17/x.nwb")


def test_dandi_resolution_against_recorded_api_responses(range_server):
    range_server.json_routes.update(_dandi_routes())
    asset = resolve_dandi(f"dandi:000017/0.220126.2143/{ASSET_PATH}", api_url=f"{range_server.base}/api")
    assert asset.url == "https://dandiarchive.s3.amazonaws.com/blobs/3f1/a2b/3f1a2b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
    assert (asset.dandiset_id, asset.version, asset.path, asset.size) == (
        "000017",
        "0.220126.2143",
        ASSET_PATH,
        9817968,
    )
    paths = [r[1] for r in range_server.requests]
    assert f"{VERSION_PATH}/assets/?path=sub-M01%2Fsub-M01_ses-01_ecephys.nwb" in paths
    # without a path, a version with two NWB assets asks for one
    with pytest.raises(SourceNotFoundError, match=r"2 NWB assets found: sub-M01/.*, sub-M02/"):
        resolve_dandi("dandi:000017/0.220126.2143", api_url=f"{range_server.base}/api")
    # the published version is the default
    assert resolve_dandi(f"dandi:000017/{ASSET_PATH}", api_url=f"{range_server.base}/api").version == "0.220126.2143"


def test_dandi_identifier_streams_end_to_end(big_nwb, range_server):
    path, data = big_nwb
    (range_server.root / "blobs").mkdir()
    shutil.copy(path, range_server.root / "blobs" / "3f1a2b4c")
    (range_server.root / "blobs" / "x.nwb").symlink_to(range_server.root / "blobs" / "3f1a2b4c")
    range_server.json_routes.update(_dandi_routes(content_url="{base}/blobs/x.nwb"))
    source = f"dandi:000017/0.220126.2143/{ASSET_PATH}"
    with open_recording(source, dandi_api_url=f"{range_server.base}/api") as recording:
        assert recording.metadata.identity.source_uri == source
        np.testing.assert_array_equal(recording.read(0.0, 1.0), data[:, :250])


def test_dandi_unknown_asset_is_source_not_found(range_server):
    routes = _dandi_routes()
    routes[f"{VERSION_PATH}/assets/"] = {"count": 0, "next": None, "previous": None, "results": []}
    range_server.json_routes.update(routes)
    with pytest.raises(SourceNotFoundError, match="not found in the DANDI archive"):
        resolve_dandi("dandi:000017/0.220126.2143/sub-X/none.nwb", api_url=f"{range_server.base}/api")


# -- OpenNeuro and schemes ---------------------------------------------------------------------
def test_openneuro_resolution_is_the_public_bucket():
    assert resolve_openneuro(
        "openneuro:ds004148/sub-01/ses-session1/eeg/sub-01_ses-session1_task-eyesclosed_eeg.edf"
    ) == (
        "https://s3.amazonaws.com/openneuro.org/ds004148/sub-01/ses-session1/eeg/"
        "sub-01_ses-session1_task-eyesclosed_eeg.edf"
    )
    with pytest.raises(UnsupportedSourceError, match="name a file inside the dataset"):
        resolve_openneuro("openneuro:ds004148")
    with pytest.raises(UnsupportedSourceError, match="dsNNNNNN"):
        resolve_openneuro("openneuro:4148/sub-01/x.edf")
    with pytest.raises(UnsupportedSourceError, match="name a file"):
        resolve_openneuro("openneuro:ds004148/../etc/passwd")


@pytest.mark.parametrize("source", ["s3://bucket/file.nwb", "ftp://host/file.nwb", "gs://b/x.nwb"])
def test_unknown_url_scheme_is_unsupported(source):
    with pytest.raises(UnsupportedSourceError, match="scheme"):
        open_recording(source)
