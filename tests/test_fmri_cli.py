"""Acceptance: resting-state fMRI through every command (BIDS func/ runs with --atlas, an fMRIPrep derivative
with --confounds, an ROI table with --fs 1.3889 --modality fmri)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from adhesive_dots.sim.bold import block_fc, sim_roi_series
from adhesive_dots.sim.bold_dataset import write_bold_dataset


@pytest.fixture(scope="module")
def kinds(tmp_path_factory) -> dict[str, dict]:
    """Three kinds of fMRI source: sources, flags for all of them, and one source for single-source commands."""
    root = tmp_path_factory.mktemp("fmri_cli")
    ds = write_bold_dataset(root / "sim", n_subjects=2, n_sessions=2, n_rois=6, n_volumes=1200, tr=0.72, rng=5)
    atlas = ["--atlas", str(ds.atlas), "--atlas-labels", str(ds.atlas_labels)]
    tables = []
    rng = np.random.default_rng(1)
    for i in range(2):
        rois = sim_roi_series(block_fc(6, 2), 1200, hurst=0.75, rng=rng)
        nuisance = rng.standard_normal((3, 1200))
        path = root / f"roi_{i}.csv"
        header = ",".join(["WM", "Vent", "Brain", *[f"R{k}" for k in range(6)]])
        np.savetxt(path, np.vstack([nuisance, rois + nuisance[2]]).T, delimiter=",", header=header, comments="")
        tables.append(str(path))
    return {
        "bids": {"sources": [str(ds.bids)], "flags": atlas, "single": [str(ds.runs[0])], "pair": ds.runs[:2]},
        "fmriprep": {
            "sources": [str(ds.fmriprep)],
            "flags": [*atlas, "--confounds", "simple"],
            "single": [str(ds.preproc[0])],
            "pair": ds.preproc[:2],
        },
        "table": {
            "sources": tables,
            "flags": ["--fs", "1.3889", "--modality", "fmri", "--whole", "--confounds", "global_signal"],
            "single": tables[:1],
            "pair": tables,
        },
    }


@pytest.mark.parametrize("kind", ["bids", "fmriprep", "table"])
def test_every_command_runs_on_fmri(kind, kinds, tmp_path, adots):
    k = kinds[kind]
    flags, single = k["flags"], [*k["single"], *k["flags"]]
    catalog = ["--catalog", str(tmp_path / "cat.duckdb")]

    code, out, err = adots(["inspect", *single])
    assert code == 0, err
    assert "fmri" in out

    code, out, err = adots(["validate", *k["sources"], *flags, "--json"])
    assert code in (0, 1), err
    report = json.loads(out)
    codes = {f["code"] for s in report["sources"] for f in s["findings"]}
    assert "baseline.duration" not in codes  # 14.4 min
    assert not codes & {"signal.flat", "signal.clipping", "source.unreadable"}
    if kind == "fmriprep":
        assert "fmri.scrubbed_duration" in codes

    code, out, err = adots(["fingerprint", *single, "-o", str(tmp_path / "fp.nc"), "--json"])
    assert code == 0, err
    import xarray as xr

    with xr.open_dataset(tmp_path / "fp.nc") as ds:
        assert "falff" in ds and "fc_fisher_z" in ds
        assert ds.sizes["channel"] == 6

    code, out, err = adots(["ingest", *k["sources"], *flags, *catalog, "--workers", "0", "--json"])
    assert code in (0, 1), err
    assert "source.unreadable" not in out

    code, out, err = adots(["search", "--similar-to", *single, *catalog, "--json", "--k", "2"])
    assert code == 0, err
    assert json.loads(out)

    code, out, err = adots(["compare", *map(str, k["pair"]), *flags, "--n-boot", "50", "--json"])
    assert code == 0, err

    identify = ["identify", *k["sources"], *flags, "--json"] + (["--halves"] if kind == "table" else [])
    code, out, err = adots(identify)
    assert code == 0, err
    result = json.loads(out)
    assert result["accuracy"] is not None and any("~" in f for f in result["features"])  # FC edges

    html = tmp_path / "dot.html"
    code, out, err = adots(["report", *single, "-o", str(html)])
    assert code == 0, err
    text = html.read_text()
    assert 'id="fig-fc"' in text and 'id="fig-bold_spectrum"' in text
    assert ('id="fig-motion"' in text) == (kind == "fmriprep")


def test_recorded_confound_strategy_is_in_the_ingested_dot(kinds, tmp_path, adots):
    k = kinds["fmriprep"]
    catalog = tmp_path / "cat.duckdb"
    code, _, err = adots(["ingest", *k["single"], *k["flags"], "--catalog", str(catalog), "--workers", "0"])
    assert code in (0, 1), err
    from adhesive_dots.catalog import Catalog

    store = Catalog(catalog)
    (dot_id,) = store.dots(columns=["dot_id"])["dot_id"]
    preprocessing = json.loads(store.dot(dot_id)["metadata_text"])["recording"]["preprocessing"]
    atlas = Path(k["flags"][k["flags"].index("--atlas") + 1])
    extraction, cleaning = preprocessing.split("; ", 1)  # the atlas first, then the confound regression
    assert extraction.startswith(f"ROI time series: atlas {atlas.name} (3-D labels, 6 ROIs, sha256 ")
    assert hashlib.sha256(atlas.read_bytes()).hexdigest()[:16] in extraction
    assert "confounds motion+wm_csf" in cleaning


def test_bold_run_without_atlas_exits_2_saying_how_to_give_one(kinds, adots):
    run = Path(kinds["bids"]["single"][0])
    code, out, err = adots(["fingerprint", str(run)])
    assert code == 2
    text = " ".join(err.split())
    assert "needs an atlas" in text and "--atlas" in text


def test_inspect_of_a_bold_volume_without_atlas_describes_its_header(real_data, adots):
    code, out, err = adots(["inspect", str(real_data / "fmri_small_bold.nii.gz"), "--json"])
    assert code == 0, err
    summary = json.loads(out)
    assert summary["kind"] == "bold-volume" and summary["shape"] == [10, 10, 18] and summary["n_volumes"] == 40
    assert summary["tr_s"] == pytest.approx(1.35, abs=1e-6) and summary["tr_from"] == "header"
    assert summary["duration_s"] == pytest.approx(54.0, abs=1e-4)
    assert "needs an atlas" in summary["no_baseline"] and "--atlas" in summary["no_baseline"]
    code, out, _ = adots(["inspect", str(real_data / "fmri_small_bold.nii.gz")])
    assert code == 0 and "1.35 s (from the header)" in out and "--atlas" in " ".join(out.split())


def test_inspect_of_a_bids_bold_run_without_atlas_reads_its_sidecar(kinds, adots):
    code, out, err = adots(["inspect", kinds["bids"]["single"][0], "--json"])
    assert code == 0, err
    summary = json.loads(out)
    assert summary["n_volumes"] == 1200 and summary["tr_s"] == pytest.approx(0.72)
    assert summary["duration_s"] == pytest.approx(864.0) and "RepetitionTime" in summary["sidecar"]


def test_compare_of_ten_minutes_at_tr_2_s_says_how_long_a_baseline_must_be(tmp_path, adots):
    """At TR 2 s a window is at least one 64 s spectral segment: 10 min give 9 non-overlapping windows, too few
    for the permutation test, and shorter windows do not exist: the message names the length needed instead."""
    rng = np.random.default_rng(3)
    paths = []
    for i in range(2):
        path = tmp_path / f"tr2_{i}.csv"
        series = sim_roi_series(block_fc(8, 2), 300, hurst=0.75, rng=rng)
        np.savetxt(path, series.T, delimiter=",", header=",".join(f"R{k}" for k in range(8)), comments="")
        paths.append(str(path))
    code, _, err = adots(["compare", *paths, "--fs", "0.5", "--modality", "fmri", "--whole"])
    text = " ".join(err.split())
    assert code == 2 and "shorter than one spectral segment (64 s" in text and "about 21 min each" in text
    assert "shorter windows" not in text
