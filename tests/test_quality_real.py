"""Quality on real recordings and in a catalog built by ingest; the --config file (issue 18, items 1-2)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from adhesive_dots.catalog import Catalog
from adhesive_dots.cli import app, main
from adhesive_dots.curate.quality import compute_quality
from adhesive_dots.errors import AdhesiveError, DataError
from adhesive_dots.io.config import read_config
from adhesive_dots.io.sources import SourceSpec
from adhesive_dots.workflows.validate import validate_spec

runner = CliRunner()


def test_clean_real_eeg_scores_high_on_signal_quality(real_data):
    """S001R01 (64-channel eyes-open EEG, the whole 60 s): blinks on a few frontal channels are warnings
    that name them, every channel stays usable, signal quality >= 0.95; the short duration and the
    missing metadata lower their own components, not the signal's."""
    report = validate_spec(SourceSpec(str(real_data / "S001R01.edf"), whole=True))
    codes = {f.code for f in report.findings}
    assert "signal.usable_fraction" not in codes
    score = compute_quality(report.findings, metadata=report.baseline.metadata, duration=report.baseline.duration)
    assert score.components["signal"] >= 0.95
    assert score.components["duration"] == pytest.approx(0.1, abs=1e-3)  # 60 s of 600 s
    assert score.components["metadata"] < 0.5  # neither species nor paradigm recorded
    assert score.score < score.components["signal"]


CONFIG = """
[quality]
min_duration = 60
[quality.weights]
signal = 0.5
metadata = 0.0
duration = 0.5
[validation]
max_bad_time_fraction = 0.3
"""


def test_ingest_stores_quality_and_reports_show_it(real_data, tmp_path):
    config = tmp_path / "quality.toml"
    config.write_text(CONFIG)
    catalog = tmp_path / "c.duckdb"
    sources = [str(real_data / "S001R01.edf"), str(real_data / "S001R02.edf")]
    result = runner.invoke(
        app, ["ingest", *sources, "--whole", "--workers", "0", "--catalog", str(catalog), "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    cat = Catalog(catalog)
    stored = cat.quality()
    assert len(stored) == 2 and stored["score"].notna().all()
    # min_duration 60 s in the config: a 60 s baseline has a full duration component; metadata weighs 0
    assert stored["duration"].tolist() == [1.0, 1.0]
    assert stored["score"].tolist() == pytest.approx(((stored["signal"] * stored["duration"]) ** 0.5).tolist())
    column = cat.dots(columns=["dot_id", "curation_quality_score"]).set_index("dot_id")["curation_quality_score"]
    assert column.to_dict() == pytest.approx(stored.set_index("dot_id")["score"].to_dict())

    html = tmp_path / "catalog.html"
    result = runner.invoke(app, ["report", str(catalog), "-o", str(html)])
    assert result.exit_code == 0, result.output
    text = html.read_text()
    assert "2 dots have a quality score" in text and "<th>signal</th>" in text
    assert "No quality scores" not in text

    # curate recomputes with the default weights and gives the breakdown per dot
    result = runner.invoke(app, ["curate", "--catalog", str(catalog), "--no-search", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    dot = payload["dots"][0]
    assert set(dot["quality_components"]) == {"signal", "metadata", "duration"}
    assert dot["quality_components"]["duration"] == pytest.approx(0.1, abs=1e-3)
    assert payload["quality_weights"] == {"signal": 0.6, "metadata": 0.2, "duration": 0.2}
    again = Catalog(catalog).quality().set_index("dot_id")
    assert again.loc[dot["dot_id"], "score"] == pytest.approx(dot["quality"])


def exit_code(argv: list[str]) -> int:
    """Run ``adots ARGV`` as the console script does (errors -> exit 2)."""
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_config_file_errors_name_the_file_and_key(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[validation]\nmax_bad_time = 0.3\n")
    with pytest.raises(AdhesiveError, match=r"bad.toml: unknown validation threshold\(s\) \['max_bad_time'\]"):
        read_config(bad)
    bad.write_text("[qualty]\n")
    with pytest.raises(DataError, match=r"bad.toml: unknown section\(s\) \['qualty'\]"):
        read_config(bad)
    bad.write_text("[quality\n")
    with pytest.raises(DataError, match="bad.toml: not a TOML file"):
        read_config(bad)
    assert exit_code(["validate", "x.edf", "--config", str(tmp_path / "none.toml")]) == 2
    assert "no such config file" in capsys.readouterr().err
    good = tmp_path / "good.toml"
    good.write_text("[validation]\nmin_duration = 30\n[validation.min_fs]\neeg = 500\n")
    settings = read_config(good)
    assert settings.thresholds.min_duration == 30.0 and settings.thresholds.min_fs["eeg"] == 500.0
