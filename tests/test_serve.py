"""``adots serve``: the pages and the JSON API over a catalog (in-process, Starlette's test client).

The same dots as ``adots search``, sorting and paging, 422 with the allowed values, 404 for unknown
dots, path traversal in every parameter, tokens and Host headers, hostile metadata inert on every
page, manifests read back with pandas, a catalog that changes while served, files that are not
catalogs refused at start.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from adhesive_dots.catalog import Catalog, CatalogError, DotRecord, SourceRecord, search_dots, similar_dots
from adhesive_dots.catalog.curation import MANIFEST_SCHEMA
from adhesive_dots.fingerprint import SUMMARY_NAMES, read_fingerprint
from adhesive_dots.metadata import DotMetadata

XSS = "<script>alert(1)</script>"  # as in conftest's hostile_catalog

HEAD_FIXED = {
    "paradigm": "animal-head-fixed-task-free",
    "arousal": "pupil",
    "status": "compliant",
    "min_duration": "600",
}


def _client(app, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette prefers httpx2 over httpx (both work): say nothing
        from fastapi.testclient import TestClient

    return TestClient(app, base_url="http://127.0.0.1", **kwargs)


@pytest.fixture(scope="module")
def client(served_catalog):
    from adhesive_dots.serve import create_app

    with _client(create_app(served_catalog)) as c:
        yield c


def _ids(client, **params) -> list[str]:
    return [d["dot_id"] for d in client.get("/api/dots", params={"per_page": 500, **params}).json()["dots"]]


def test_dot_list_is_adots_search(client, served_catalog):
    from typer.testing import CliRunner

    from adhesive_dots.cli import app

    result = CliRunner().invoke(
        app,
        [
            "search",
            "--paradigm",
            HEAD_FIXED["paradigm"],
            "--arousal",
            "pupil",
            "--status",
            "compliant",
            "--min-duration",
            "600",
            "--catalog",
            str(served_catalog.path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    expected = json.loads(result.output)
    page = client.get("/api/dots", params=HEAD_FIXED).json()
    assert page["total"] == len(expected) > 0
    assert [d["dot_id"] for d in page["dots"]] == [r["dot_id"] for r in expected]
    for got, want in zip(page["dots"], expected, strict=True):
        assert {k: got[k] for k in want} == want  # the same field names and values as `search --json`
        assert 0 <= got["quality"] <= 1
    everything = search_dots(served_catalog)
    assert _ids(client) == list(everything["dot_id"])


def test_sorting_and_paging(client, served_catalog):
    total = len(served_catalog.dots())
    first = client.get("/api/dots", params={"per_page": 5}).json()
    second = client.get("/api/dots", params={"per_page": 5, "page": 2}).json()
    assert first["total"] == total and first["pages"] == -(-total // 5)
    assert len(first["dots"]) == 5 and not {d["dot_id"] for d in first["dots"]} & {d["dot_id"] for d in second["dots"]}
    by_length = client.get("/api/dots", params={"sort": "duration_s", "order": "desc", "per_page": 500}).json()["dots"]
    lengths = [d["duration_s"] for d in by_length]
    assert lengths == sorted(lengths, reverse=True) and lengths[0] > lengths[-1]
    html = client.get("/", params={"sort": "identity_session_id", "per_page": 3, "page": 2}).text
    assert 'id="page-prev"' in html and f"page 2 of {-(-total // 3)}" in html


@pytest.mark.parametrize(
    ("params", "parameter", "allowed"),
    [
        ({"paradigm": "nap"}, "paradigm", "animal-head-fixed-task-free"),
        ({"modality": "x-ray"}, "modality", "calcium"),
        ({"illumination": "moonlight"}, "illumination", "dark"),
        ({"status": "fine"}, "status", "compliant"),
        ({"arousal": "telepathy"}, "arousal", "pupil"),
        ({"species": "Felis catus"}, "species", "Mus musculus"),
        ({"lab": "nowhere"}, "lab", "lab0-calcium"),
        ({"sort": "password"}, "sort", "duration_s"),
        ({"order": "sideways"}, "order", "desc"),
        ({"page": "0"}, "page", None),
        ({"per_page": "100000"}, "per_page", None),
        ({"min_duration": "ten"}, "min_duration", None),
    ],
)
def test_unknown_filter_values_get_422_with_the_allowed_values(client, params, parameter, allowed):
    response = client.get("/api/dots", params=params)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["parameter"] == parameter
    if allowed is not None:
        assert allowed in problem["allowed"]
    page = client.get("/", params=params)
    assert page.status_code == 422 and parameter in page.text
    if allowed is not None:
        assert f"<code>{allowed}</code>" in page.text


def test_filters_match_case_insensitively_like_search(client):
    assert _ids(client, species="mus MUSCULUS", paradigm="ANIMAL-head-fixed-task-free") == _ids(
        client, species="Mus musculus", paradigm="animal-head-fixed-task-free"
    )


def test_one_dot_and_its_neighbours(client, served_catalog):
    dot_id = _ids(client, **HEAD_FIXED)[0]
    dot = client.get(f"/api/dots/{dot_id}").json()
    assert dot["dot"]["dot_id"] == dot_id and dot["metadata"]["paradigm"]["name"] == HEAD_FIXED["paradigm"]
    assert set(dot["summary"]) == set(SUMMARY_NAMES)
    near = client.get(f"/api/dots/{dot_id}/similar", params={"k": 4}).json()
    expected = similar_dots(served_catalog, dot_id, k=4)
    assert [n["dot_id"] for n in near] == list(expected["dot_id"]) and dot_id not in {n["dot_id"] for n in near}
    assert np.allclose([n["distance"] for n in near], expected["distance"])
    page = client.get(f"/dots/{dot_id}").text
    assert all(f'href="/dots/{n["dot_id"]}"' in page for n in near)
    assert 'id="nearest-table"' in page and page.count('class="num distance"') == 10
    for name in ("psd", "dfa", "correlation", "trajectory"):
        svg = client.get(f"/dots/{dot_id}/figures/{name}.svg")
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        assert svg.text.lstrip().startswith("<?xml") and "<svg" in svg.text
    nc = client.get(f"/api/dots/{dot_id}/fingerprint")
    assert nc.status_code == 200 and nc.content[:4] == b"\x89HDF"


def test_compare_two_dots(client):
    a, b = _ids(client, **HEAD_FIXED)[:2]
    result = client.get("/api/compare", params={"a": a, "b": b}).json()
    assert result["verdict"] in ("different", "within baseline variability")
    assert result["a"] == a and result["features"] and all("ci_low" in f for f in result["features"])
    assert set(result["flagged"]) == {f["feature"] for f in result["features"] if f["flagged"]}
    page = client.get("/compare", params={"dot": [a, b]})  # the table's two checkboxes
    assert page.status_code == 200 and 'class="verdict' in page.text and result["verdict"] in page.text
    figure = client.get("/compare/figures/differences.svg", params={"a": a, "b": b})
    assert figure.status_code == 200 and "<svg" in figure.text
    same = client.get("/api/compare", params={"a": a, "b": a})
    assert same.status_code == 422 and "same dot" in same.json()["detail"]


def test_an_incomparable_pair_is_a_readable_422(served_catalog, tmp_path):
    """A fingerprint with too few windows (or, later, mismatched window parameters) is a message, not a crash."""
    from adhesive_dots.serve import create_app

    catalog = Catalog(tmp_path / "c.duckdb")
    catalog.fingerprint_dir.mkdir()
    source = served_catalog.dots().iloc[:3]
    for i, row in enumerate(source.itertuples()):
        fp = read_fingerprint(served_catalog.fingerprint_path(row.dot_id))
        if i == 0:
            first = fp
        if i == 1:  # three windows of the first dot's (same parameters): too few for the split-half null
            fp = type(first)(first.dataset.isel(window=slice(0, 3)))
        path = fp.to_netcdf(catalog.fingerprint_dir / f"d{i}.nc")
        if i == 2:  # a path outside the fingerprint store is never opened
            outside = tmp_path / "elsewhere.nc"
            shutil.move(path, outside)
            path = outside
        metadata = DotMetadata.from_json(row.metadata_json)
        dot = DotRecord(
            f"d{i}", metadata, (0.0, 600.0), 600.0, f"h{i}", vector=np.zeros(len(SUMMARY_NAMES)), netcdf_path=str(path)
        )
        catalog.write_source(SourceRecord(f"s{i}", "h", dots=(dot,)), vector_names=list(SUMMARY_NAMES))
    with _client(create_app(catalog)) as client:
        few = client.get("/api/compare", params={"a": "d0", "b": "d1"})
        assert few.status_code == 422 and "cannot be compared" in few.json()["detail"]
        assert "windows" in few.json()["detail"]
        page = client.get("/compare", params={"a": "d0", "b": "d1"})
        assert page.status_code == 422 and 'id="compare-error"' in page.text
        outside = client.get("/api/compare", params={"a": "d0", "b": "d2"})
        assert outside.status_code == 422 and "no fingerprint in the catalog's fingerprint store" in outside.text
        assert client.get("/api/dots/d2/fingerprint").status_code == 404
        assert "No fingerprint file" in client.get("/dots/d2").text


def test_manifest_downloads_read_back_with_pandas(client, served_catalog):
    params = {**HEAD_FIXED, "drop_duplicates": "keep-best"}
    parquet = client.get("/api/manifest", params={**params, "format": "parquet"})
    csv = client.get("/api/manifest", params={**params, "format": "csv"})
    assert parquet.status_code == csv.status_code == 200
    assert "attachment" in parquet.headers["content-disposition"]
    from_parquet = pd.read_parquet(io.BytesIO(parquet.content))
    from_csv = pd.read_csv(io.BytesIO(csv.content))
    assert list(from_parquet.columns) == list(from_csv.columns) == MANIFEST_SCHEMA.names
    assert list(from_parquet["dot_id"]) == list(from_csv["dot_id"]) == _ids(client, **HEAD_FIXED)
    assert set(from_parquet["paradigm"]) == {HEAD_FIXED["paradigm"]}
    assert all("pupil" in list(m) for m in from_parquet["arousal_measures"])
    everything = pd.read_parquet(io.BytesIO(client.get("/api/manifest").content))
    assert len(everything) == len(served_catalog.dots())
    assert client.get("/api/manifest", params={"format": "xlsx"}).status_code == 422


def test_curation_page_shows_duplicate_groups_with_evidence(client):
    groups = client.get("/api/duplicates").json()
    assert groups and all(len(g["dots"]) >= 2 and g["pairs"] for g in groups)
    assert all("offset_s" in p["evidence"] for g in groups for p in g["pairs"])
    html = client.get("/curation", params={"drop_duplicates": "keep-first"}).text
    assert 'id="manifest-parquet"' in html and 'id="group-1"' in html
    assert "duplicate of" in html  # the dropped copies, with the dot they duplicate
    assert re.search(r"(\d+) of (\d+) matching dots selected", html)


def test_openapi_documents_the_api_and_nothing_comes_from_a_cdn(client):
    schema = client.get("/api/openapi.json").json()
    for path in (
        "/api/dots",
        "/api/dots/{dot_id}",
        "/api/dots/{dot_id}/similar",
        "/api/compare",
        "/api/manifest",
        "/api/duplicates",
    ):
        assert path in schema["paths"]
    names = {p["name"] for p in schema["paths"]["/api/dots"]["get"]["parameters"]}
    assert {"species", "paradigm", "modality", "min_duration", "illumination", "arousal", "lab", "status"} <= names
    assert client.get("/docs").status_code == 404  # Swagger UI would load scripts from a CDN
    dot_id = _ids(client)[0]
    for url in ("/", f"/dots/{dot_id}", "/compare", "/curation", "/api", "/no-such-page"):
        response = client.get(url)
        assert "default-src 'none'" in response.headers["content-security-policy"]
        for link in re.findall(r'(?:src|href)="([^"]*)"', response.text):
            assert not re.match(r"^(https?:)?//", link), f"{url} links outside the server: {link}"


@pytest.mark.parametrize(
    "url",
    [
        "/dots/..%2F..%2F..%2Fetc%2Fpasswd",
        "/dots/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/dots/dot-x/figures/..%2F..%2Fetc%2Fpasswd.svg",
        "/dots/{dot}/figures/..%2F..%2F..%2Fetc%2Fpasswd.svg",
        "/catalog/figures/..%2Fpasswd.svg",
        "/compare/figures/..%2F..%2Fetc%2Fpasswd.svg?a={dot}&b={dot}",
        "/static/..%2F..%2F..%2Fetc%2Fpasswd",
        "/static/../../pyproject.toml",
        "/api/dots/..%2F..%2Fetc%2Fpasswd",
        "/api/dots/../../../etc/passwd/fingerprint",
        "/api/dots/..%2F..%2Fetc%2Fpasswd/fingerprint",
        "/api/dots/{dot}/similar?metric=../../etc/passwd",
        "/api/dots/{dot}/similar?k=../../etc/passwd",
        "/api/compare?a=../../etc/passwd&b={dot}",
        "/api/compare?a={dot}&b=/etc/passwd",
        "/api/manifest?format=../../etc/passwd",
        "/api/manifest?drop_duplicates=../../x",
        "/api/manifest?min_quality=../../x",
        "/api/dots?species=../../etc/passwd",
        "/api/dots?paradigm=../../etc/passwd",
        "/api/dots?modality=../../etc/passwd",
        "/api/dots?illumination=../../etc/passwd",
        "/api/dots?arousal=../../etc/passwd",
        "/api/dots?lab=../../etc/passwd",
        "/api/dots?status=../../etc/passwd",
        "/api/dots?min_duration=../../etc/passwd",
        "/api/dots?sort=../../etc/passwd",
        "/api/dots?order=../../etc/passwd",
        "/api/dots?page=../../etc/passwd",
        "/api/dots?per_page=../../etc/passwd",
        "/compare?a=../../etc/passwd&b=../../etc/shadow",
        "/curation?species=../../etc/passwd",
        "/?sort=..%2F..%2Fetc%2Fpasswd",
        "/%2e%2e/%2e%2e/etc/passwd",
    ],
)
def test_path_traversal_in_every_parameter_gets_404_or_422(client, url):
    dot = _ids(client)[0]
    response = client.get(url.replace("{dot}", dot))
    assert response.status_code in (404, 422), (url, response.status_code)
    assert "root:" not in response.text and "[project]" not in response.text


def test_a_token_is_required_on_every_request_when_set(served_catalog):
    from adhesive_dots.serve import create_app

    token = "s3cret-token-for-tests"
    app = create_app(served_catalog, token=token, allowed_hosts=None)
    with _client(app) as client:
        for url in ("/", "/api/dots", "/static/serve.css", "/api/openapi.json", "/no-such-page"):
            missing = client.get(url)
            assert missing.status_code == 401 and "missing token" in missing.text
            wrong = client.get(url, headers={"Authorization": "Bearer nope-nope-nope"})
            assert wrong.status_code == 401 and "wrong token" in wrong.text
            assert client.get(url, params={"token": token + "x"}).status_code == 401
        assert client.get("/api/dots", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        first = client.get("/", params={"token": token})  # once in the URL: a cookie keeps it
        assert first.status_code == 200 and "HttpOnly" in first.headers["set-cookie"]
        assert client.get("/curation").status_code == 200
        client.cookies.clear()
        assert client.get("/curation").status_code == 401


def test_a_loopback_server_answers_only_to_loopback_host_names(client):
    assert client.get("/api/status", headers={"Host": "evil.example:8765"}).status_code == 400
    assert client.get("/api/status", headers={"Host": "localhost:8765"}).status_code == 200
    assert client.get("/api/status", headers={"Host": "[::1]:8765"}).status_code == 200


def test_hostile_metadata_stays_inert_on_every_page(hostile_catalog):
    from adhesive_dots.serve import create_app

    ids = list(hostile_catalog.dots()["dot_id"])
    with _client(create_app(hostile_catalog)) as client:
        from urllib.parse import quote

        pages = [
            "/",
            "/?sort=identity_lab",
            "/curation",
            "/api",
            f"/?species={quote(XSS)}",
            f"/compare?a={quote(ids[0], safe='')}&b={quote(ids[1], safe='')}",
        ]
        pages += [f"/dots/{quote(i, safe='')}" for i in ids]
        for url in pages:
            response = client.get(url)
            assert response.status_code in (200, 422), url
            html = response.text
            assert XSS not in html and "<img src=x" not in html, url
            assert html.count("<script") == 1 and '<script src="/static/serve.js" defer></script>' in html, url
        dot_page = client.get(f"/dots/{quote(ids[1], safe='')}").text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; lab" in dot_page  # shown as text
        for name in ("psd", "trajectory"):
            svg = client.get(f"/dots/{quote(ids[1], safe='')}/figures/{name}.svg").text
            assert "<script" not in svg
        counts = client.get("/catalog/figures/counts.svg").text
        assert "<script" not in counts and "&lt;script&gt;" in counts  # labels are XML-escaped text
        assert client.get("/api/dots/" + quote(ids[0], safe="")).json()["dot"]["identity_lab"].startswith(XSS)


def test_a_new_dot_shows_without_a_restart(served_catalog, tmp_path):
    from adhesive_dots.serve import create_app

    path = tmp_path / "live.duckdb"
    shutil.copy(served_catalog.path, path)
    catalog = Catalog(path)
    app = create_app(catalog, poll_s=0.05, min_interval_s=0.0)
    live = app.state.adots.live
    with _client(app) as client:
        before = client.get("/api/status").json()
        row = catalog.dots().iloc[0]
        dot = DotRecord(
            "dot-new",
            DotMetadata.from_json(row["metadata_json"]),
            (0.0, 600.0),
            600.0,
            "h-new",
            vector=catalog.vector_of(row["dot_id"]),
        )
        catalog.write_source(SourceRecord("new-source.nwb", "h-new", dots=(dot,)), vector_names=list(SUMMARY_NAMES))
        import time

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "dot-new" not in _ids(client):
            time.sleep(0.05)
        assert "dot-new" in _ids(client)
        status = client.get("/api/status").json()
        assert status["snapshot_version"] > before["snapshot_version"] and status["integrity"] == []
        assert client.get("/api/dots/dot-new").status_code == 200
        assert live.last_error is None
        # quality scores carried over from the last snapshot, and computed for the new source, are the file's
        from adhesive_dots.catalog.curation import catalog_quality

        expected = catalog_quality(catalog).set_index("dot_id")["quality"]
        served = {d["dot_id"]: d["quality"] for d in client.get("/api/dots", params={"per_page": 500}).json()["dots"]}
        assert served == pytest.approx(expected.to_dict())


def test_files_that_are_not_catalogs_are_refused_at_start(tmp_path, served_catalog):
    import duckdb

    from adhesive_dots.serve import create_app

    with pytest.raises(CatalogError, match="no catalog here yet"):
        create_app(tmp_path / "missing.duckdb")
    junk = tmp_path / "junk.duckdb"
    junk.write_text("hello, not a database")
    with pytest.raises(CatalogError, match="junk.duckdb: not a readable DuckDB catalog"):
        create_app(junk)
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(CatalogError, match="a DuckDB file but not an adhesive-dots catalog"):
        create_app(other)
    assert not any(tmp_path.glob("*.wal"))  # nothing written beside them


def test_cli_refuses_a_network_address_without_a_token_and_a_non_catalog(tmp_path, capsys, served_catalog):
    from adhesive_dots.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--catalog", str(served_catalog.path), "--host", "0.0.0.0"])
    assert exit_info.value.code == 2
    assert "not a loopback address" in " ".join(capsys.readouterr().err.split())
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--catalog", str(served_catalog.path), "--host", "0.0.0.0", "--token", "a b;c"])
    assert exit_info.value.code == 2
    assert "--token must be" in " ".join(capsys.readouterr().err.split())
    junk = tmp_path / "junk.duckdb"
    junk.write_text("nope")
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--catalog", str(junk)])
    assert exit_info.value.code == 2
    assert "not a readable DuckDB catalog" in " ".join(capsys.readouterr().err.split())


def test_the_demo_ends_with_the_serve_command(tmp_path):
    from adhesive_dots.demo import STAGES, DemoContext

    name, stage = STAGES[-1]
    result = stage(DemoContext(out_dir=tmp_path / "demo", options={}))
    assert name == "serve"
    assert result.lines[0] == f"adots serve --catalog {(tmp_path / 'demo' / 'adhesive.duckdb').resolve()}"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
    ],
)
def test_loopback_addresses(host, loopback):
    from adhesive_dots.serve import ServeError, check_binding, is_loopback

    assert is_loopback(host) is loopback
    if loopback:
        check_binding(host, 8765, None)
    else:
        with pytest.raises(ServeError, match="pass --token"):
            check_binding(host, 8765, None)
        check_binding(host, 8765, "0123456789abcdef")


def test_a_dot_id_prefix_redirects_to_the_dot_as_on_the_command_line(client, served_catalog):
    ids = _ids(client)
    dot_id = ids[0]
    short = served_catalog.short_ids([dot_id])[dot_id]
    assert len(short) < len(dot_id)
    moved = client.get(f"/dots/{short}", params={"k": 3}, follow_redirects=False)
    assert moved.status_code == 307, (short, moved.status_code, moved.text[:400])
    assert moved.headers["location"] == f"/dots/{dot_id}?k=3"
    assert client.get(f"/dots/{short}").url.path == f"/dots/{dot_id}"
    assert client.get(f"/api/dots/{short.removeprefix('dot-')}").json()["dot"]["dot_id"] == dot_id
    shared = next(p for n in range(5, 12) for p in {i[:n] for i in ids} if sum(i.startswith(p) for i in ids) > 1)
    ambiguous = client.get(f"/dots/{shared}")
    assert ambiguous.status_code == 404 and "ambiguous" in ambiguous.text
    assert client.get("/api/dots/dot-nothing-like-it").status_code == 404
