"""The `adots` command: help, schema, demo, and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from adhesive_dots.cli import app, main

runner = CliRunner()


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("schema", "demo"):
        assert command in result.output


def test_schema_prints_valid_json():
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["title"] == "DotMetadata"
    assert "paradigm" in schema["properties"]


def test_schema_to_missing_folder_exits_2_without_traceback(tmp_path, capsys):
    code = None
    try:
        main(["schema", "-o", str(tmp_path / "no" / "such" / "dir" / "s.json")])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_demo_runs_end_to_end_and_says_where_its_output_is(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "adhesive_dots", "demo", "--out", str(out), "--subjects", "1", "--sessions", "1",
         "--size", "0.2", "--workers", "0"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "demo finished" in proc.stdout and str(out.name) in proc.stdout
    assert "minutes of spontaneous activity found" in proc.stdout
    assert (out / "corpus" / "corpus.json").exists() and (out / "adhesive.duckdb").exists()
