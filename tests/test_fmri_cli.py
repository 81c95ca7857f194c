"""Acceptance: resting-state fMRI through every command (BIDS func/ runs with --atlas, an fMRIPrep derivative
with --confounds, an ROI table with --fs 1.3889 --modality fmri)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from adhesive_dots.cli import main
from adhesive_dots.sim.bold import block_fc, sim_roi_series
from adhesive_dots.sim.bold_dataset import write_bold_dataset


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


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
def test_every_command_runs_on_fmri(kind, kinds, tmp_path, capsys):
    k = kinds[kind]
    flags, single = k["flags"], [*k["single"], *k["flags"]]
    catalog = ["--catalog", str(tmp_path / "cat.duckdb")]

    code, out, err = _run(["inspect", *single], capsys)
    assert code == 0, err
    assert "fmri" in out

    code, out, err = _run(["validate", *k["sources"], *flags, "--json"], capsys)
    assert code in (0, 1), err
    report = json.loads(out)
    codes = {f["code"] for s in report["sources"] for f in s["findings"]}
    assert "baseline.duration" not in codes  # 14.4 min
    assert not codes & {"signal.flat", "signal.clipping", "source.unreadable"}
    if kind == "fmriprep":
        assert "fmri.scrubbed_duration" in codes

    code, out, err = _run(["fingerprint", *single, "-o", str(tmp_path / "fp.nc"), "--json"], capsys)
    assert code == 0, err
    import xarray as xr

    with xr.open_dataset(tmp_path / "fp.nc") as ds:
        assert "falff" in ds and "fc_fisher_z" in ds
        assert ds.sizes["channel"] == 6

    code, out, err = _run(["ingest", *k["sources"], *flags, *catalog, "--workers", "0", "--json"], capsys)
    assert code in (0, 1), err
    assert "source.unreadable" not in out

    code, out, err = _run(["search", "--similar-to", *single, *catalog, "--json", "--k", "2"], capsys)
    assert code == 0, err
    assert json.loads(out)

    code, out, err = _run(["compare", *map(str, k["pair"]), *flags, "--n-boot", "50", "--json"], capsys)
    assert code == 0, err

    identify = ["identify", *k["sources"], *flags, "--json"] + (["--halves"] if kind == "table" else [])
    code, out, err = _run(identify, capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["accuracy"] is not None and any("~" in f for f in result["features"])  # FC edges

    html = tmp_path / "dot.html"
    code, out, err = _run(["report", *single, "-o", str(html)], capsys)
    assert code == 0, err
    text = html.read_text()
    assert 'id="fig-fc"' in text and 'id="fig-bold_spectrum"' in text
    assert ('id="fig-motion"' in text) == (kind == "fmriprep")


def test_recorded_confound_strategy_is_in_the_ingested_dot(kinds, tmp_path, capsys):
    k = kinds["fmriprep"]
    catalog = tmp_path / "cat.duckdb"
    code, _, err = _run(["ingest", *k["single"], *k["flags"], "--catalog", str(catalog), "--workers", "0"], capsys)
    assert code in (0, 1), err
    from adhesive_dots.catalog import Catalog

    store = Catalog(catalog)
    (dot_id,) = store.dots(columns=["dot_id"])["dot_id"]
    text = store.dot(dot_id)["metadata_text"]
    assert "motion+wm_csf" in text


def test_bold_run_without_atlas_exits_2_saying_how_to_give_one(kinds, capsys):
    run = Path(kinds["bids"]["single"][0])
    code, out, err = _run(["fingerprint", str(run)], capsys)
    assert code == 2
    text = " ".join(err.split())
    assert "needs an atlas" in text and "--atlas" in text
