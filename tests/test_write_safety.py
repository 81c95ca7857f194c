"""Writing safely (issue 19, writing side): temporary files, permissions, full disks, killed processes,
deserialisation that never runs code, and no dashboard port."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from adhesive_dots.errors import DataError, FormatError
from adhesive_dots.files import atomic_output, remove_stale_temporaries
from adhesive_dots.fingerprint import Fingerprint

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "adhesive_dots"
PARADIGM = "animal-head-fixed-task-free"
COMPLETE: list[str] = []
"""``--metadata FILE`` with the fields the paradigm requires beyond the file's (annotate exits 1 without them)."""


@pytest.fixture(autouse=True, scope="module")
def _complete_metadata(tmp_path_factory):
    path = tmp_path_factory.mktemp("metadata") / "complete.json"
    fields = {"environment": {"illumination": "dark"}, "arousal": {"measures": ["pupil"]}}
    path.write_text(json.dumps(fields))
    COMPLETE[:] = ["--metadata", str(path)]


KILLS = int(os.environ.get("ADOTS_KILLS", "3"))
"""Kills per command in the kill -9 tests (``ADOTS_KILLS=20 pytest -m faults`` for the full run)."""


def _cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "adhesive_dots", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def nwb_source(make_nwb):
    data = np.random.default_rng(2).standard_normal((250 * 60, 4)).astype(np.float32)
    return make_nwb("session.nwb", data=data, kind="lfp")


# -- temporary files ------------------------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_killed_writers_are_removed_and_live_ones_kept(tmp_path):
    dead, live = _dead_pid(), os.getppid()
    stale = [tmp_path / f".out.nwb.{dead}.k2j_x.part.nwb", tmp_path / ".dot-1.nc.abc123.tmp"]
    keep = [tmp_path / f".out.nwb.{live}.zz9.part.nwb", tmp_path / ".dot-2.nc.fresh1.tmp", tmp_path / "out.nwb.bak"]
    for path in stale + keep:
        path.write_text("x")
    old = time.time() - 7200
    os.utime(stale[1], (old, old))
    removed = remove_stale_temporaries(tmp_path)
    assert sorted(removed) == sorted(stale)
    assert all(p.exists() for p in keep)


def test_atomic_output_cleans_up_a_killed_earlier_write_of_the_same_file(tmp_path):
    leftover = tmp_path / f".result.nc.{_dead_pid()}.abc.part.nc"
    leftover.write_bytes(b"half")
    with atomic_output(tmp_path / "result.nc") as tmp:
        tmp.write_bytes(b"whole")
    assert not leftover.exists() and (tmp_path / "result.nc").read_bytes() == b"whole"
    assert [p.name for p in tmp_path.iterdir()] == ["result.nc"]


def _fingerprint(n: int = 1000) -> Fingerprint:
    return Fingerprint(xr.Dataset({"power": (("channel", "freq"), np.random.default_rng(0).random((4, n)))}))


def test_fingerprint_files_get_normal_permissions(tmp_path):
    """Issue 19: fingerprint files were written 0600 (the temporary file's mode)."""
    old = os.umask(0o022)
    try:
        path = _fingerprint().to_netcdf(tmp_path / "fp.nc")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


# -- read-only sources, backups -----------------------------------------------------------------------


def test_read_only_source_can_be_annotated_to_a_new_file(nwb_source, tmp_path):
    """Issue 19: the temporary copy inherited 0444 and the annotation failed."""
    nwb_source.chmod(0o444)
    out = tmp_path / "annotated.nwb"
    done = _cli(
        "annotate", str(nwb_source), "--start", "1", "--stop", "30", "--paradigm", PARADIGM, *COMPLETE, "-o", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) & 0o200
    assert stat.S_IMODE(nwb_source.stat().st_mode) == 0o444


def test_in_place_on_a_read_only_file_refuses_without_a_backup(nwb_source, file_hash):
    nwb_source.chmod(0o444)
    before = file_hash(nwb_source)
    done = _cli(
        "annotate", str(nwb_source), "--start", "1", "--stop", "30", "--paradigm", PARADIGM, *COMPLETE, "--in-place"
    )
    assert done.returncode == 2 and "read-only" in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in nwb_source.parent.iterdir()) == [nwb_source.name]
    assert file_hash(nwb_source) == before


def test_a_refused_in_place_writes_no_backup(nwb_source):
    args = (
        "annotate",
        str(nwb_source),
        "--start",
        "1",
        "--stop",
        "30",
        "--paradigm",
        PARADIGM,
        *COMPLETE,
        "--in-place",
    )
    assert _cli(*args).returncode == 0
    names = sorted(p.name for p in nwb_source.parent.iterdir())
    assert _cli(*args).returncode == 2  # a dot is there already: refused
    assert sorted(p.name for p in nwb_source.parent.iterdir()) == names  # no new .bak.1


# -- full disks ---------------------------------------------------------------------------------------


def _mount(folder: Path, size: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "adots-test", str(folder)], capture_output=True
    )
    return done.returncode == 0


def test_fingerprint_onto_a_full_disk_says_no_space_and_leaves_nothing(tmp_path):
    """Issue 19: `fingerprint -o` onto a nearly full file system segfaulted and left a .fp.nc.*.tmp."""
    folder = tmp_path / "small"
    if not _mount(folder, "1m"):
        pytest.skip("cannot mount a small file system here (needs root)")
    try:
        with pytest.raises(DataError, match="no space left"):
            _fingerprint(100_000).to_netcdf(folder / "fp.nc")  # 3.2 MB onto 1 MB
        assert list(folder.iterdir()) == []
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_annotate_in_place_on_a_full_disk_keeps_the_original(nwb_source, tmp_path, file_hash):
    folder = tmp_path / "small"
    if not _mount(folder, f"{nwb_source.stat().st_size * 3 // 2 // 1024}k"):
        pytest.skip("cannot mount a small file system here (needs root)")
    try:
        source = folder / "session.nwb"
        source.write_bytes(nwb_source.read_bytes())
        before = file_hash(source)
        done = _cli(
            "annotate", str(source), "--start", "1", "--stop", "30", "--paradigm", PARADIGM, *COMPLETE, "--in-place"
        )
        assert done.returncode == 2 and "no space left" in " ".join(done.stderr.split()), done.stderr
        assert file_hash(source) == before and sorted(p.name for p in folder.iterdir()) == ["session.nwb"]
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


# -- kill -9 during writes --------------------------------------------------------------------------------


def _kill_at_random(args: list[str], rng: np.random.Generator, *, window: tuple[float, float]) -> int | None:
    """Start ``adots ARGS``, SIGKILL it after a random delay in ``window`` s; its exit code (None if killed).

    A killed command must not leave processes behind (worker processes of its own): its descendants
    at the moment of the kill must all have ended within :data:`ORPHAN_GRACE_S`.
    """
    command = [sys.executable, "-m", "adhesive_dots", *args]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=rng.uniform(*window))
        return proc.returncode
    except subprocess.TimeoutExpired:
        children = _descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + ORPHAN_GRACE_S
        while (alive := [pid for pid in children if _running(pid)]) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in alive:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        assert not alive, f"adots {args[0]} killed: {len(alive)} of its processes still ran {ORPHAN_GRACE_S} s later"
        return None


ORPHAN_GRACE_S = 10.0


def _parents() -> dict[int, int]:
    """``{pid: parent pid}`` of every process (Linux ``/proc``)."""
    out = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            out[int(stat_file.parent.name)] = int(stat_file.read_text().rsplit(")", 1)[1].split()[1])
    return out


def _descendants(pid: int) -> list[int]:
    parents, found, frontier = _parents(), [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if re.search(r"\.(part[^/]*|tmp)$", p.name)]


@pytest.mark.faults
def test_kill_during_annotate_in_place_leaves_the_original_or_its_backup(nwb_source, file_hash):
    import h5py

    rng = np.random.default_rng(19)
    original = file_hash(nwb_source)
    args = [
        "annotate",
        str(nwb_source),
        "--start",
        "1",
        "--stop",
        "30",
        "--paradigm",
        PARADIGM,
        *COMPLETE,
        "--in-place",
    ]
    started = time.monotonic()
    first = _cli(*args)
    assert first.returncode == 0, first.stderr
    whole = time.monotonic() - started  # kill anywhere in a run of the same length
    kills = attempts = 0
    while kills < KILLS and attempts < 4 * KILLS:  # KILLS kills: a run that ends first does not count
        attempts += 1
        code = _kill_at_random([*args, "--replace"], rng, window=(0.3 * whole, 0.98 * whole))
        assert code in (None, 0)
        kills += code is None
        with h5py.File(nwb_source, "r") as handle:  # the file is whole: the original or a complete annotation
            assert "acquisition" in handle or "processing" in handle
        backups = sorted(nwb_source.parent.glob("session.nwb.bak*"))
        assert backups and file_hash(backups[0]) == original  # the first backup is the untouched original
    done = _cli(*args, "--replace")
    assert done.returncode == 0, done.stderr
    assert _temporaries(nwb_source.parent) == []  # the rerun removed what the kills left
    assert kills == KILLS


@pytest.mark.faults
def test_kill_during_import_leaves_a_consistent_catalog(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_import import write_export

    from adhesive_dots.catalog import Catalog
    from adhesive_dots.catalog.exchange import BATCH_ROWS

    rows = BATCH_ROWS + 20_000  # two transactions
    export = tmp_path / "export.parquet"
    write_export(export, rows)
    catalog = Catalog(tmp_path / "c.duckdb")
    rng = np.random.default_rng(7)
    started = time.monotonic()
    _cli("search", "--catalog", str(tmp_path / "none.duckdb"))  # the start-up cost, to spread the kills after it
    startup = time.monotonic() - started
    kills = attempts = 0
    while kills < KILLS and attempts < 4 * KILLS:  # KILLS kills: a run that ends first does not count
        attempts += 1
        window = (startup, startup + 6.0)
        code = _kill_at_random(["import", str(export), "--catalog", str(catalog.path)], rng, window=window)
        assert code in (None, 0)
        kills += code is None
        if catalog.path.exists():
            assert catalog.integrity_check() == []
            n_dots = len(catalog.dots(columns=["dot_id"]))
            assert n_dots in (0, BATCH_ROWS, rows)  # whole batches only, and every dot has its fingerprint
            assert catalog.query("SELECT count(*) AS n FROM fingerprints")["n"][0] == n_dots
    done = _cli("import", str(export), "--catalog", str(catalog.path), "--json")
    assert done.returncode == 0, done.stderr
    assert len(catalog.dots(columns=["dot_id"])) == rows and catalog.integrity_check() == []
    assert kills == KILLS


# -- deserialisation never runs code ----------------------------------------------------------------------------


class _Payload:
    """Unpickling this creates the marker file: proof that something was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_no_pickle_loading_anywhere_in_the_package():
    forbidden = re.compile(r"allow_pickle\s*=\s*True|pickle\.loads?\(|torch\.load\(|joblib\.load\(|dill\.load")
    hits = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in PACKAGE.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if forbidden.search(line)
    ]
    assert hits == []


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_pickles_disguised_as_numpy_files_are_refused(tmp_path, suffix):
    marker = tmp_path / "UNPICKLED"
    array = np.empty(1, dtype=object)
    array[0] = _Payload(marker)
    path = tmp_path / f"data{suffix}"
    if suffix == ".npy":
        np.save(path, array, allow_pickle=True)
    else:
        np.savez(path, data=array)
    done = _cli("inspect", str(path), "--fs", "100")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert not marker.exists()


def _aligner_file(tmp_path: Path) -> Path:
    from adhesive_dots.align import make_aligner
    from adhesive_dots.align.persist import save_aligner

    rng = np.random.default_rng(0)
    x_a, x_b = rng.standard_normal((4, 3000)), rng.standard_normal((4, 3000))
    aligner = make_aligner("covariance", rotate=False).fit(x_a, x_b, fs=30.0)
    return save_aligner(aligner, tmp_path / "aligner.npz")


def _rewrite(path: Path, entries: dict[str, np.ndarray]) -> None:
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays.update(entries)
    np.savez(path, **arrays)


def _meta(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        return json.loads(str(archive["__meta__"]))


def test_aligner_with_a_pickled_transform_is_refused(tmp_path):
    from adhesive_dots.align.persist import load_aligner

    path = _aligner_file(tmp_path)
    marker = tmp_path / "UNPICKLED"
    payload = np.empty(1, dtype=object)
    payload[0] = _Payload(marker)
    _rewrite(path, {"transform_": payload})
    with pytest.raises(FormatError, match=str(path.name)):
        load_aligner(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m["attributes"].update({"__class__": 1}), "attribute name"),
        (lambda m: m["attributes"].update({"__dict__": {}}), "attribute name"),
        (lambda m: m["attributes"].update({"fit": "x"}), "attribute name"),
        (lambda m: m["params"].update({"__init__": 1}), "unknown parameter"),
        (lambda m: m.update({"params": [1, 2]}), "must be JSON objects"),
        (lambda m: m.update({"version": "x"}), "not an integer"),
    ],
)
def test_aligner_header_cannot_set_arbitrary_attributes(tmp_path, change, message):
    from adhesive_dots.align.persist import load_aligner

    path = _aligner_file(tmp_path)
    meta = _meta(path)
    change(meta)
    _rewrite(path, {"__meta__": np.array(json.dumps(meta))})
    with pytest.raises(FormatError, match=message) as caught:
        load_aligner(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("header", ["{not json", "[1, 2]", "[" * 100_000])
def test_malformed_aligner_header_is_a_format_error(tmp_path, header):
    from adhesive_dots.align.persist import load_aligner

    path = _aligner_file(tmp_path)
    _rewrite(path, {"__meta__": np.array(header)})
    with pytest.raises(FormatError, match="__meta__"):
        load_aligner(path)


def test_aligner_zip_bomb_is_refused_before_expanding(tmp_path):
    from adhesive_dots.align.persist import load_aligner

    path = _aligner_file(tmp_path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        header = np.lib.format.header_data_from_array_1_0(np.zeros(1 << 27, dtype=np.uint8))
        with archive.open("components_.npy", "w", force_zip64=True) as entry:
            np.lib.format.write_array_header_1_0(entry, header)
            block = bytes(1 << 20)
            for _ in range(128):
                entry.write(block)
    assert path.stat().st_size < 2_000_000
    with pytest.raises(FormatError, match="zip bomb"):
        load_aligner(path)


# -- no dashboard port ----------------------------------------------------------------------------------------

PORTS_SCRIPT = """
import psutil
from adhesive_dots.parallel.runner import dask_client

if __name__ == "__main__":
    with dask_client(workers=1) as client:
        me = psutil.Process()
        found = set()
        for p in [me, *me.children(recursive=True)]:
            found |= {(c.laddr.ip, c.laddr.port) for c in p.net_connections(kind="tcp") if c.status == "LISTEN"}
        print(sorted(found))
"""


def test_local_dask_cluster_opens_no_dashboard_and_listens_on_loopback_only(tmp_path):
    """Issue 19: the dashboard listened on 127.0.0.1:8787 although the code passed dashboard_address=None."""
    script = tmp_path / "ports.py"
    script.write_text(PORTS_SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    listening = eval(done.stdout.strip().splitlines()[-1])  # a printed list of (ip, port) tuples
    assert listening and all(port != 8787 for _, port in listening)
    assert all(ip.startswith("127.") for ip, _ in listening)


def test_pickle_module_is_not_imported_for_reading(tmp_path):
    """The payload class really runs code when unpickled (so the refusal tests above can fail)."""
    marker = tmp_path / "UNPICKLED"
    pickle.loads(pickle.dumps(_Payload(marker)))  # the test's own check of its payload, not the package
    assert marker.exists()


@pytest.mark.faults
def test_kill_during_ingest_leaves_whole_sources_and_the_rerun_completes(small_corpus, tmp_path):
    """Issue 19: ingest writes one transaction per source and fingerprint files atomically; a kill -9 at a
    random time leaves a consistent catalog whose every fingerprint row points to a whole file, and the
    next run ingests the rest and removes the temporaries of the killed run."""
    import xarray

    from adhesive_dots.catalog import Catalog

    catalog = Catalog(tmp_path / "c.duckdb")
    args = ["ingest", str(small_corpus.root), "--catalog", str(catalog.path), "--workers", "0"]
    rng = np.random.default_rng(23)
    started = time.monotonic()
    first = _cli(*args, "--json")
    took = time.monotonic() - started
    assert first.returncode in (0, 1), first.stderr  # 1: the corpus's defective sessions are reported
    expected = len(catalog.dots(columns=["dot_id"]))
    catalog.path.unlink()
    shutil.rmtree(catalog.fingerprint_dir, ignore_errors=True)
    kills = attempts = 0
    while kills < KILLS and attempts < 4 * KILLS:  # KILLS kills: a run that ends first does not count
        attempts += 1
        code = _kill_at_random(args, rng, window=(0.3 * took, 0.9 * took))
        kills += code is None
        if catalog.path.exists():
            assert catalog.integrity_check() == []
            for dot_id in catalog.dots(columns=["dot_id"])["dot_id"]:
                path = catalog.fingerprint_path(dot_id)
                if path:  # a stored row names a complete NetCDF file
                    xarray.open_dataset(path).close()
        if code is not None:  # finished before its kill (a resumed run has less to do): start again from nothing
            catalog.path.unlink()
            shutil.rmtree(catalog.fingerprint_dir, ignore_errors=True)
    done = _cli(*args, "--json")
    assert done.returncode in (0, 1), done.stderr
    assert len(catalog.dots(columns=["dot_id"])) == expected and catalog.integrity_check() == []
    assert _temporaries(catalog.fingerprint_dir) == []
    assert kills == KILLS


@pytest.mark.faults
def test_kill_during_curate_export_leaves_the_previous_manifest(small_corpus, tmp_path):
    """Issue 19: ``curate --export --overwrite`` killed at a random time leaves the previous manifest whole
    (never half a Parquet file), and the next run removes the killed run's temporary."""
    import pandas as pd

    from adhesive_dots.catalog import Catalog

    catalog = tmp_path / "c.duckdb"
    ingest = _cli("ingest", str(small_corpus.root), "--catalog", str(catalog), "--workers", "0", "--json")
    assert ingest.returncode in (0, 1), ingest.stderr
    manifest = tmp_path / "manifest.parquet"
    args = ["curate", "--catalog", str(catalog), "--export", str(manifest), "--overwrite"]
    started = time.monotonic()
    first = _cli(*args)
    took = time.monotonic() - started
    assert first.returncode in (0, 1), first.stderr
    before = pd.read_parquet(manifest)
    rng = np.random.default_rng(29)
    kills = attempts = 0
    while kills < KILLS and attempts < 4 * KILLS:  # KILLS kills: a run that ends first does not count
        attempts += 1
        kills += _kill_at_random(args, rng, window=(0.2 * took, 0.8 * took)) is None
        pd.testing.assert_frame_equal(pd.read_parquet(manifest), before)  # the old one or an identical new one
    assert _cli(*args).returncode in (0, 1)
    assert _temporaries(tmp_path) == [] and kills == KILLS
    assert Catalog(catalog).integrity_check() == []  # curate also stores the quality it recomputes
