"""The JSON Schema committed under schema/ is exactly what `adots schema` prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from adhesive_dots.metadata import SCHEMA_VERSION, dot_json_schema_text

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema" / "dot-metadata.schema.json"


def test_committed_schema_equals_adots_schema():
    printed = subprocess.run(
        [sys.executable, "-m", "adhesive_dots", "schema"], capture_output=True, text=True, check=True
    ).stdout
    assert printed == dot_json_schema_text()
    assert SCHEMA_FILE.read_text() == printed, (
        "schema/dot-metadata.schema.json is stale: run `make schema` and commit it"
    )


def test_schema_carries_its_version():
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema["$id"].endswith(f"/{SCHEMA_VERSION}.json")
    assert schema["properties"]["schema_version"]["default"] == SCHEMA_VERSION
