"""adhesive-dots: ten minutes of spontaneous activity as the common reference of neural data.

The core types are importable from the top level; the layers live in subpackages, numbered from
the bottom (as in DESIGN.md, the README and ``tests/test_layers.py``): 1 core types (``core``,
``metadata``, ``errors``, ``baselines``); 2 numerics (``fingerprint``, ``validate``, ``compare``,
``align``, ``curate``, ``sufficiency``, the simulator's signals); 3 ``io`` (files, and the one road
from a source to its baselines); 4 ``catalog``, ``parallel``, the corpus simulator; 5
``workflows``; 6 faces (``cli``, ``report``, ``serve``, the demo).
"""

from importlib.metadata import PackageNotFoundError, version

from adhesive_dots.core import Baseline, Finding, Recording, Segment, Severity
from adhesive_dots.errors import (
    AdhesiveError,
    AdhesiveWarning,
    BaselineNotFoundError,
    DataError,
    FormatError,
    MetadataError,
    RemoteError,
    SourceNotFoundError,
    UnsupportedSourceError,
)
from adhesive_dots.metadata import SCHEMA_VERSION, DotMetadata, Modality, Paradigm

try:
    __version__ = version("adhesive-dots")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "SCHEMA_VERSION",
    "AdhesiveError",
    "AdhesiveWarning",
    "Baseline",
    "BaselineNotFoundError",
    "DataError",
    "DotMetadata",
    "Finding",
    "FormatError",
    "MetadataError",
    "Modality",
    "Paradigm",
    "Recording",
    "RemoteError",
    "Segment",
    "Severity",
    "SourceNotFoundError",
    "UnsupportedSourceError",
    "__version__",
]
