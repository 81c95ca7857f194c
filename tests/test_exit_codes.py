"""One exit-code rule for every command (issue 18, item 4): 0 ok; 1 findings, duplicates or skipped sources
(the others done); 2 could not run. Documented in every command's help."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from adhesive_dots.cli import EXIT_CODES, app

runner = CliRunner()


@pytest.mark.parametrize("command", sorted(c.name or c.callback.__name__ for c in app.registered_commands))
def test_every_command_documents_the_rule(command):
    result = runner.invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert " ".join(EXIT_CODES.split()) in " ".join(result.output.split())


@pytest.fixture
def tables(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(3):
        data = rng.standard_normal((100 * 60, 3))  # rows are time points: 60 s at 100 Hz, 3 channels
        if i == 2:
            data[1000:1200, 1] = np.nan
        path = tmp_path / f"rec{i}.npy"
        np.save(path, data)
        paths.append(str(path))
    return paths


def test_corpus_sufficiency_skips_a_nan_file_and_exits_1(tables, adots):
    argv = ["sufficiency", *tables, "--fs", "100", "--whole", "--modality", "lfp", "--lengths", "15,30", "--json"]
    code, out, _ = adots(argv)
    assert code == 1
    payload = json.loads(out)
    assert payload["mode"] == "corpus" and len(payload["notes"]) == 1 and "rec2.npy" in payload["notes"][0]
    code, _, _ = adots([*argv[:1], *tables[:2], *argv[4:]])
    assert code == 0


def test_effects_with_nothing_computable_exits_2(tables, adots):
    code, _, err = adots(["effects", *tables[:2], "--fs", "100", "--whole", "--modality", "lfp"])
    assert code == 2 and "no task effect could be computed" in " ".join(err.split())


def test_duplicates_exit_1_when_found_0_when_none(tables, tmp_path, adots):
    copy = tmp_path / "copy.npy"
    copy.write_bytes(open(tables[0], "rb").read())
    code, _, _ = adots(["duplicates", tables[0], str(copy), "--fs", "100", "--whole", "--json"])
    assert code == 1
    code, _, _ = adots(["duplicates", tables[0], tables[1], "--fs", "100", "--whole", "--json"])
    assert code == 0


def test_ingest_of_a_source_without_baseline_exits_1_and_records_it(real_data, tmp_path, adots):
    source = str(real_data / "sub-4_ses-4_ecephys+image.nwb")
    catalog = tmp_path / "c.duckdb"
    argv = ["ingest", source, "--units-bin-width", "0.01", "--workers", "0", "--catalog", str(catalog), "--json"]
    code, out, _ = adots(argv)
    assert code == 1 and json.loads(out)["no_baseline"] == 1
    code, out, _ = adots(["validate", source, "--units-bin-width", "0.01", "--json"])
    assert code == 1
    from adhesive_dots.catalog import Catalog

    stored = Catalog(catalog).findings().set_index("code")["severity"].to_dict()
    shown = {f["code"]: f["severity"] for s in json.loads(out)["sources"] for f in s["findings"]}
    assert stored["baseline.exists"] == shown["baseline.exists"] == "critical"
