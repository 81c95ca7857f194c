"""The settings file of ``--config FILE`` (TOML): quality weights and validation thresholds (layer 3).

One file holds both, like nwbinspector's configs; every key is optional and unset ones keep their
documented defaults::

    [quality]                  # adhesive_dots.curate.quality.QualityConfig
    min_duration = 600         # s that give a duration component of 1
    recommended_share = 0.25   # share of the recommended fields in the metadata component
    [quality.weights]          # of the components in the combined score (weighted geometric mean)
    signal = 0.6
    metadata = 0.2
    duration = 0.2
    [quality.severity_penalty]
    warning = 0.1
    [quality.plausible_ranges.eeg]
    aperiodic_exponent = [0.5, 3.0]

    [validation]               # adhesive_dots.validate.Thresholds (adots validate --list-checks)
    min_duration = 600
    max_bad_time_fraction = 0.2
    min_usable_fraction = 0.8
    [validation.min_fs]
    eeg = 100
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from adhesive_dots.curate.quality import QualityConfig
from adhesive_dots.errors import DataError, SourceNotFoundError
from adhesive_dots.validate import Thresholds

SECTIONS = ("quality", "validation")


@dataclass(frozen=True)
class Settings:
    """What a config file sets: the quality configuration and the validation thresholds."""

    quality: QualityConfig = field(default_factory=QualityConfig)
    thresholds: Thresholds = field(default_factory=Thresholds)
    path: str | None = None


def read_config(path: str | Path | None) -> Settings:
    """Read a ``--config`` TOML file (``None``: the defaults).

    Raises
    ------
    SourceNotFoundError
        When the file does not exist.
    DataError
        When it is not TOML, or a section, key or value is unknown or invalid (the message names the file
        and the key).
    """
    if path is None:
        return Settings()
    path = Path(path)
    if not path.is_file():
        raise SourceNotFoundError(f"{path}: no such config file")
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a TOML file ({err})") from None
    unknown = sorted(set(document) - set(SECTIONS))
    if unknown:
        raise DataError(f"{path}: unknown section(s) {unknown}; a config file has [quality] and [validation]")
    quality = QualityConfig.from_dict(document.get("quality", {}), source=str(path))
    thresholds = Thresholds.from_dict(document.get("validation", {}), source=str(path))
    return Settings(quality, thresholds, str(path))
