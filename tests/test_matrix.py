"""Every command that takes sources x every kind of source, read the way a new user would.

Each kind gets small recordings (real ones from ``../shared/data/real`` where they exist, copied so
that nothing is written beside the originals; the simulator otherwise) and the flags a user gives
for it (``--label T0`` for the PhysioNet EDF runs, ``--whole`` for a FIF without annotations,
``--fs`` for tables, nothing after ``adots annotate``). Every command must exit 0 or 1 -- or, where
the input cannot serve the command (no task segments for ``predict``/``diversity``, a URL for
``annotate``), 2 with one line that says why -- and never show a traceback. Where two commands
compute the same feature of the same dot (fingerprint, report, compare, ingest, search), the values
are equal.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from adhesive_dots.cli import main

pytestmark = pytest.mark.slow

COMMANDS = (
    "inspect", "validate", "fingerprint", "annotate", "compare", "effects", "predict", "identify", "diversity",
    "sufficiency", "report", "ingest", "duplicates", "curate", "align", "search",
)  # fmt: skip
NEEDS_TASKS = {"predict", "diversity", "effects"}
"""Commands that need task segments beside the baseline (only the simulated NWB sessions have them); without
them each exits 2 saying so (the exit-code rule: nothing computable)."""


@dataclass
class Kind:
    """A kind of source: two recordings of it, the flags a user gives, and what one recording needs alone."""

    name: str
    sources: list[str]
    flags: list[str] = field(default_factory=list)
    single_flags: list[str] = field(default_factory=list)  # added when one recording is named (a BIDS root)
    sessions: list[str] = field(default_factory=list)  # for predict/diversity: sessions with task segments
    writable: bool = True  # annotate can write beside it (not a URL)
    one_channel: bool = False  # align needs two channels or more

    def single(self) -> list[str]:
        if not self.sources:  # a table of sources: its one-row version
            return list(self.single_flags)
        return self.sources[:1] + self.flags + self.single_flags

    def all(self) -> list[str]:
        return self.sources + self.flags


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _write_table(path: Path, *, fs: float, seconds: float, channels: int, seed: int) -> None:
    from adhesive_dots.sim import sim_powerlaw

    data = sim_powerlaw(int(fs * seconds), fs, 1.5, n_signals=channels, rng=seed).T
    if path.suffix == ".npy":
        np.save(path, data)
    else:
        sep = "," if path.suffix == ".csv" else "\t"
        np.savetxt(path, data, delimiter=sep, header=sep.join(f"ch{i}" for i in range(channels)), comments="")


@pytest.fixture(scope="module")
def kinds(tmp_path_factory, real_data):
    import mne

    from adhesive_dots.io.annotate import annotate
    from adhesive_dots.io.nwb_large import write_large_calcium_nwb
    from adhesive_dots.io.sources import SourceSpec
    from adhesive_dots.sim import sim_corpus, sim_powerlaw
    from adhesive_dots.testing.http import RangeServer

    root = tmp_path_factory.mktemp("matrix")
    corpus = sim_corpus(root / "corpus", labs=3, subjects_per_lab=4, sessions_per_subject=1, spont_duration=60.0,
                        task_duration=30.0, size=0.1, defect_fraction=0.0, rng=3)  # fmt: skip
    by_kind = {k: [str(corpus.root / e.path) for e in corpus.entries if e.kind == k] for k in ("calcium", "ephys")}
    eeg = [e for e in corpus.entries if e.kind == "eeg"]
    bids_root = str(corpus.root / eeg[0].path)
    bids_runs = [
        next(str(p) for p in (corpus.root / e.path).rglob(f"sub-{e.subject}_ses-{e.session}_task-rest_eeg.vhdr"))
        for e in eeg
    ]
    real = root / "real"
    real.mkdir()
    for name in ("S001R01.edf", "S001R02.edf", "A8604-211122.nwb", "rat_ca1_lfp_150s_1kHz.npy"):
        shutil.copy(real_data / name, real / name)
    shutil.copy(real / "A8604-211122.nwb", real / "A8604-copy.nwb")
    fif = []
    for name in ("S001R01", "S001R02"):
        raw = mne.io.read_raw_edf(real / f"{name}.edf", preload=True, verbose="error")
        raw.set_annotations(None)
        raw.save(real / f"{name}_raw.fif", verbose="error")
        fif.append(str(real / f"{name}_raw.fif"))
    tables = root / "tables"
    tables.mkdir()
    for suffix, fs in ((".tsv", 250.0), (".csv", 100.0)):
        for i in range(2):
            _write_table(tables / f"t{i}{suffix}", fs=fs, seconds=90, channels=4, seed=i)
    _write_table(tables / "sim.npy", fs=1000.0, seconds=90, channels=1, seed=5)
    stores = []
    for i in range(2):
        data = sim_powerlaw(30 * 120, 30.0, 1.0, n_signals=12, rng=10 + i).astype(np.float32)
        store = root / f"calcium{i}.nwb.zarr"
        write_large_calcium_nwb(store, lambda c0, c1, d=data: d[c0:c1], n_rois=12, n_times=data.shape[1], fs=30.0)
        stores.append(str(store))
    dotted = root / "dotted"
    dotted.mkdir()
    for i in range(2):
        _write_table(dotted / f"d{i}.csv", fs=200.0, seconds=90, channels=3, seed=20 + i)
        annotate(SourceSpec(str(dotted / f"d{i}.csv"), fs=200.0, modality="lfp", start=5.0, stop=85.0),
                 paradigm="animal-head-fixed-task-free")  # fmt: skip
    _write_table(tables / "mix.tsv", fs=160.0, seconds=90, channels=4, seed=7)
    mixed = root / "sources.tsv"  # an EDF run with its rest label and a table with its rate, one row each
    header = "source\tfs\tlabel\twhole\n"
    rows = [f"{real / 'S001R01.edf'}\t\tT0\t\n", f"{tables / 'mix.tsv'}\t160\t\ttrue\n"]
    mixed.write_text(header + "".join(rows))
    one_row = root / "sources1.tsv"
    one_row.write_text(header + rows[1])
    server = RangeServer(corpus.root).start()
    ephys_urls = [server.url(str(Path(p).relative_to(corpus.root))) for p in by_kind["ephys"]]
    eeg_subject = eeg[0].subject
    found = {
        "nwb-lfp": Kind("nwb-lfp", by_kind["ephys"][:2], sessions=by_kind["ephys"]),
        "nwb-calcium": Kind("nwb-calcium", by_kind["calcium"][:2], sessions=by_kind["calcium"]),
        "nwb-spikes": Kind("nwb-spikes", [str(real / "A8604-211122.nwb"), str(real / "A8604-copy.nwb")],
                           ["--units-bin-width", "0.1", "--label", "wake"]),
        "nwb-zarr": Kind("nwb-zarr", stores, ["--whole"]),
        "nwb-http": Kind("nwb-http", ephys_urls[:2], writable=False, sessions=ephys_urls),
        "bids-root": Kind("bids-root", [bids_root], single_flags=["--subject", eeg_subject]),
        "bids-run": Kind("bids-run", bids_runs[:2]),
        "edf-label": Kind("edf-label", [str(real / "S001R01.edf"), str(real / "S001R02.edf")], ["--label", "T0"]),
        "fif-whole": Kind("fif-whole", fif, ["--whole"]),
        "tsv": Kind("tsv", [str(tables / "t0.tsv"), str(tables / "t1.tsv")], ["--fs", "250", "--whole"]),
        "csv": Kind("csv", [str(tables / "t0.csv"), str(tables / "t1.csv")], ["--fs", "100", "--whole"]),
        "npy": Kind("npy", [str(real / "rat_ca1_lfp_150s_1kHz.npy"), str(tables / "sim.npy")],
                    ["--fs", "1000", "--whole", "--modality", "lfp"], one_channel=True),
        "dot-sidecar": Kind("dot-sidecar", [str(dotted / "d0.csv"), str(dotted / "d1.csv")]),
        "sources-from": Kind("sources-from", [], ["--sources-from", str(mixed)],
                             single_flags=["--sources-from", str(one_row)]),
    }  # fmt: skip
    yield found, root
    server.stop()


def _args(command: str, kind: Kind, work: Path) -> list[str]:
    """The command line a user types for ``command`` on ``kind``."""
    catalog = ["--catalog", str(work / "catalog.duckdb")]
    if command in ("inspect", "fingerprint", "sufficiency", "report", "annotate"):
        args = [command, *kind.single()]
        if command == "fingerprint":
            args += ["-o", str(work / "fp.nc"), "--json"]
        if command == "report":
            args += ["-o", str(work / "dot.html")]
        if command == "sufficiency":
            args += ["--lengths", "15,30", "--max-segments", "2", "--json"]
        if command == "annotate":
            args += ["--paradigm", "other", "--replace", "--overwrite"]
        return args
    if command in ("compare", "align"):
        pair = kind.sources * 2 if len(kind.sources) == 1 else kind.sources
        args = [command, *pair[:2], *kind.flags, *(kind.single_flags if kind.sources else [])]
        if command == "align":
            args += ["--n-components", "1", "--controls", "1", "-o", str(work / "t.npz"), "--json"]
        else:
            args += ["--n-boot", "50", "--json"]
        return args
    if command in NEEDS_TASKS and kind.sessions:
        args = [command, *kind.sessions, *kind.flags]
    else:
        args = [command, *kind.all()]
    extra = {
        "validate": ["--json"],
        "effects": ["--n-boot", "20", "--json"],
        "predict": ["--n-perm", "10", "--json"],
        "identify": ["--halves", "--json"],
        "diversity": ["--n-boot", "100", "--json"],
        "ingest": [*catalog, "--workers", "0", "--json"],
        "duplicates": ["--json"],
    }
    if command == "curate":
        return ["curate", *catalog, "--json"]
    if command == "search":
        if not kind.sources:  # --similar-to takes one source: a row of the table, given with its options
            return ["search", "--similar-to", kind_table_first(kind), "--whole", "--fs", "160", *catalog, "--json"]
        single = kind.single()
        return ["search", "--similar-to", single[0], *single[1:], *catalog, "--json"]
    return args + extra.get(command, [])


def kind_table_first(kind: Kind) -> str:
    table = Path(kind.flags[kind.flags.index("--sources-from") + 1])
    return table.read_text().splitlines()[2].split("\t")[0]  # the table row (with --fs 250 --whole)


def _expected_two(command: str, kind: Kind) -> str | None:
    """Why ``command`` cannot run on ``kind`` (it should exit 2 saying so), or None when it must run."""
    if command in NEEDS_TASKS and not kind.sessions:
        return "task"
    if command == "annotate" and not kind.writable:
        return "annotate writes files"
    if command == "align" and kind.one_channel:
        return "at least 2 channels"
    return None


@pytest.mark.parametrize("name", ["nwb-lfp", "nwb-calcium", "nwb-spikes", "nwb-zarr", "nwb-http", "bids-root",
                                  "bids-run", "edf-label", "fif-whole", "tsv", "csv", "npy", "dot-sidecar",
                                  "sources-from"])  # fmt: skip
def test_every_command_on_every_kind_of_source(kinds, name, capsys, tmp_path):
    found, _ = kinds
    kind = found[name]
    failures = []
    for command in COMMANDS:
        args = _args(command, kind, tmp_path)
        code, out, err = _run(args, capsys)
        why = _expected_two(command, kind)
        lines = [line for line in err.splitlines() if line.strip()]
        if "Traceback" in err or "Traceback" in out:
            failures.append(f"{command}: traceback\n{err[-2000:]}")
        elif why is not None:
            if code != 2 or why not in " ".join(err.split()):
                failures.append(f"{command}: expected exit 2 saying {why!r}, got {code}: {err[-500:]}")
        elif code not in (0, 1):
            failures.append(f"adots {' '.join(args)}\n -> exit {code}: {err[-800:]}")
        elif code == 2 and len([line for line in lines if line.startswith("error:")]) != 1:
            failures.append(f"{command}: not one error line: {err}")
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("name", ["edf-label", "tsv", "nwb-lfp", "dot-sidecar", "bids-run", "nwb-spikes"])
def test_the_same_dot_gives_the_same_numbers_in_every_command(kinds, name, capsys, tmp_path):
    import xarray as xr

    from adhesive_dots.catalog import Catalog
    from adhesive_dots.fingerprint import SUMMARY_NAMES, read_fingerprint

    kind = kinds[0][name]
    single = kind.single()
    code, out, err = _run(["fingerprint", *single, "-o", str(tmp_path / "fp.nc"), "--json"], capsys)
    assert code == 0, err
    summary = json.loads(out)["summary"]
    fp = read_fingerprint(tmp_path / "fp.nc")
    catalog = tmp_path / "c.duckdb"
    # both recordings of the kind, so that the catalog has a spread to standardise the search by
    code, out, err = _run(["ingest", *kind.all(), *kind.single_flags, "--catalog", str(catalog), "--workers", "0",
                           "--json"], capsys)  # fmt: skip
    assert code in (0, 1) and json.loads(out)["dots"] >= 1, err
    cat = Catalog(catalog)
    dots = cat.dots()
    own = json.loads(_run(["fingerprint", *single, "--json"], capsys)[1])["source"]
    first = dots[dots["source"] == own].sort_values("segment_start").iloc[0]
    stored = dict(zip(cat.vector_names(), cat.vector_of(first["dot_id"]), strict=True))
    for feature in SUMMARY_NAMES:
        a, b = summary[feature], stored[feature]
        assert (a is None and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-12), feature
    stored_fp = read_fingerprint(cat.fingerprint_path(first["dot_id"]) if hasattr(cat, "fingerprint_path")
                                 else first["netcdf_path"])  # fmt: skip
    xr.testing.assert_allclose(fp.dataset["summary"], stored_fp.dataset["summary"])
    # search: the source's own dot is its nearest neighbour, at distance 0
    # (standardised Euclidean: cosine has no direction for a vector at the catalog's mean)
    code, out, err = _run(
        ["search", "--similar-to", *single, "--catalog", str(catalog), "--metric", "seuclidean", "--json", "--k", "2"],
        capsys,
    )
    assert code == 0, err
    at_zero = [d["dot_id"] for d in json.loads(out) if d["distance"] == pytest.approx(0.0, abs=1e-9)]
    assert first["dot_id"] in at_zero  # (an identical copy, as the spikes kind has, ties with it)
    # compare of the baseline with itself: the window features are the fingerprint's state means
    code, out, err = _run(["compare", single[0], single[0], *single[1:], "--n-boot", "20", "--json"], capsys)
    assert code == 0, err
    means = fp.dataset["state"].mean("window").to_series()
    for row in json.loads(out)["features"]:
        if row["value_a"] is not None:
            assert row["value_a"] == pytest.approx(means[row["feature"]], rel=1e-9, abs=1e-12), row["feature"]
    # report: the summary table shows the same values
    code, _, err = _run(["report", *single, "-o", str(tmp_path / "r.html")], capsys)
    assert code == 0, err
    html = (tmp_path / "r.html").read_text()
    for feature in ("aperiodic_exponent", "dfa_broadband", "relative_power_alpha"):
        value = summary[feature]
        if value is not None:
            assert f"{value:.4g}" in html, feature
