"""The options every command shares, defined once.

Sources: every command that takes sources is decorated with :func:`source_options`, which adds
the same reading options (``--fs``, ``--modality``, ``--series``, ``--units-bin-width``,
``--channels``, ``--subject/--session/--task/--run/--acquisition``; fMRI ``--atlas``, ``--atlas-labels``,
``--mask``, ``--confounds``, ``--standardize``, ``--detrend``, ``--fd-threshold``), baseline options
(``--label``, ``--start``, ``--stop``, ``--whole``) and ``--sources-from FILE``, and hands the
command one :class:`SourceOptions` (as its ``given`` argument) that builds the
:class:`~adhesive_dots.io.sources.SourceSpec` template and the list of targets.

Output options are shared constants (``JSON_OPTION``, ``SEED_OPTION``, ``WINDOW_OPTION``,
``OVERWRITE_OPTION``, ``OUT_OPTION``) so they are named and explained alike everywhere.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from adhesive_dots.io.sources import SourceSpec, read_sources_table

READING = "Reading the sources"
BASELINE = "Which segment is the baseline"
FMRI = "fMRI: atlas and confounds"

JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts (no colour, no progress bar).")
SEED_OPTION = typer.Option(0, "--seed", help="Seed of the surrogates, bootstraps and channel subsets.")
WINDOW_OPTION = typer.Option(
    None,
    "--window-s",
    metavar="S",
    help="Window of the sliding-window dynamics in s (default: 30 s, shortened for baselines under 10 min so "
    "that they have enough windows; the same rule in every command).",
)
OVERWRITE_OPTION = typer.Option(False, "--overwrite", help="Replace an existing output file.")
CONFIG_OPTION = typer.Option(
    None,
    "--config",
    metavar="FILE",
    help="TOML settings: quality weights ([quality]) and validation thresholds ([validation]); see README.",
)


def is_dot_id(value: str) -> bool:
    """Whether a command-line target names a catalog dot (``dot-...``, a full id or a unique prefix) rather
    than a file."""
    return isinstance(value, str) and value.startswith("dot-") and not Path(value).exists()


def dot_targets(values: Sequence[str], catalog: Path | None) -> list[str | SourceSpec]:
    """``values`` with every dot id (or unique prefix, :func:`is_dot_id`) replaced by the source specification
    of that dot in ``catalog`` (its source, reading options and segment), so a dot is read like any source."""
    if not any(is_dot_id(v) for v in values):
        return list(values)
    from adhesive_dots.catalog import Catalog
    from adhesive_dots.catalog.curation import spec_of_dot

    cat = Catalog(catalog)
    return [spec_of_dot(cat, v) if is_dot_id(v) else v for v in values]


def out_option(help: str, *, required: bool = False) -> Any:
    """The ``-o/--out FILE`` option of a command (what it writes is in ``help``)."""
    return typer.Option(... if required else None, "--out", "-o", metavar="FILE", help=help)


@dataclass(frozen=True)
class _Param:
    name: str
    annotation: Any
    option: Any


_SOURCE_PARAMS = (
    _Param(
        "fs",
        float | None,
        typer.Option(
            None,
            "--fs",
            metavar="HZ",
            rich_help_panel=READING,
            help="Sampling rate of tables (TSV/CSV/NPY) in Hz (other files carry their own).",
        ),
    ),
    _Param(
        "modality",
        str | None,
        typer.Option(
            None,
            "--modality",
            metavar="NAME",
            rich_help_panel=READING,
            help="eeg, meg, ieeg, lfp, spikes, calcium, fmri or other (overrides what the file says).",
        ),
    ),
    _Param(
        "series",
        str | None,
        typer.Option(
            None,
            "--series",
            metavar="NAME",
            rich_help_panel=READING,
            help="NWB: the series to read (its name or path; 'units' for the Units table).",
        ),
    ),
    _Param(
        "units_bin_width",
        float | None,
        typer.Option(
            None,
            "--units-bin-width",
            metavar="S",
            rich_help_panel=READING,
            help="NWB spike times: read them as rates in bins of S seconds.",
        ),
    ),
    _Param(
        "channels",
        str | None,
        typer.Option(
            None,
            "--channels",
            metavar="A,B,...",
            rich_help_panel=READING,
            help="Read only these channels (comma-separated names).",
        ),
    ),
    _Param(
        "subject",
        str | None,
        typer.Option(
            None,
            "--subject",
            rich_help_panel=READING,
            help="BIDS subject (without 'sub-'); outside BIDS, the subject of the dot.",
        ),
    ),
    _Param(
        "session",
        str | None,
        typer.Option(
            None, "--session", rich_help_panel=READING, help="BIDS session; outside BIDS, the session of the dot."
        ),
    ),
    _Param(
        "task",
        str | None,
        typer.Option(
            None, "--task", rich_help_panel=READING, help="BIDS task (default: the runs whose task contains 'rest')."
        ),
    ),
    _Param("run", str | None, typer.Option(None, "--run", rich_help_panel=READING, help="BIDS run.")),
    _Param(
        "acquisition",
        str | None,
        typer.Option(None, "--acquisition", rich_help_panel=READING, help="BIDS acquisition."),
    ),
    _Param(
        "atlas",
        str | None,
        typer.Option(
            None,
            "--atlas",
            metavar="FILE",
            rich_help_panel=FMRI,
            help="BOLD NIfTI: the atlas whose ROI time series are read (a 3-D label image, or a 4-D probabilistic "
            "atlas); a file you have, nothing is downloaded.",
        ),
    ),
    _Param(
        "atlas_labels",
        str | None,
        typer.Option(
            None,
            "--atlas-labels",
            metavar="TSV",
            rich_help_panel=FMRI,
            help="ROI names of the atlas: a TSV with 'index' and 'name' columns (as BIDS *_dseg.tsv).",
        ),
    ),
    _Param(
        "mask",
        str | None,
        typer.Option(None, "--mask", metavar="FILE", rich_help_panel=FMRI, help="BOLD NIfTI: a brain mask (NIfTI)."),
    ),
    _Param(
        "confounds",
        str | None,
        typer.Option(
            None,
            "--confounds",
            metavar="STRATEGY",
            rich_help_panel=FMRI,
            help="fMRI: regress confounds out (fMRIPrep confounds table, or nuisance columns of a table): simple, "
            "scrubbing, or components joined by '+': motion, wm_csf, global_signal, scrubbing. Recorded in the dot.",
        ),
    ),
    _Param(
        "standardize",
        str | None,
        typer.Option(
            None,
            "--standardize",
            metavar="HOW",
            rich_help_panel=FMRI,
            help="fMRI: zscore or psc (percent signal change) of each ROI series (default: keep the scale).",
        ),
    ),
    _Param(
        "detrend",
        bool,
        typer.Option(
            False, "--detrend", rich_help_panel=FMRI, help="fMRI: remove a linear trend from each ROI series."
        ),
    ),
    _Param(
        "fd_threshold",
        float | None,
        typer.Option(
            None,
            "--fd-threshold",
            metavar="MM",
            rich_help_panel=FMRI,
            help="fMRI scrubbing: framewise displacement (mm) above which a volume is censored (default 0.5).",
        ),
    ),
    _Param(
        "label",
        list[str],
        typer.Option(
            [],
            "--label",
            metavar="WORD",
            rich_help_panel=BASELINE,
            help="An interval label that marks the baseline (repeatable; added to rest, spontaneous, baseline ...), "
            "e.g. --label T0, --label wake.",
        ),
    ),
    _Param(
        "start",
        float | None,
        typer.Option(
            None,
            "--start",
            metavar="S",
            rich_help_panel=BASELINE,
            help="Baseline start in s (default: its found start).",
        ),
    ),
    _Param(
        "stop",
        float | None,
        typer.Option(
            None,
            "--stop",
            metavar="S",
            rich_help_panel=BASELINE,
            help="Baseline stop in s (default: the recording's end).",
        ),
    ),
    _Param(
        "whole",
        bool,
        typer.Option(False, "--whole", rich_help_panel=BASELINE, help="The whole recording is the baseline."),
    ),
    _Param(
        "allow_external_links",
        bool,
        typer.Option(
            False,
            "--allow-external-links",
            rich_help_panel=READING,
            help="Follow links that leave a source (HDF5 external links, Zarr links, symbolic links out of a store); "
            "refused by default, naming the link.",
        ),
    ),
    _Param(
        "timeout",
        float | None,
        typer.Option(
            None,
            "--timeout",
            metavar="S",
            rich_help_panel=READING,
            help="Seconds a remote read may take before it is given up (default 30).",
        ),
    ),
    _Param(
        "sources_from",
        Path | None,
        typer.Option(
            None,
            "--sources-from",
            metavar="FILE",
            rich_help_panel=READING,
            help="A TSV/CSV table of sources: a 'source' column plus any of these options as columns, one row per "
            "source (empty cells take the flags).",
        ),
    ),
)


@dataclass
class SourceOptions:
    """The source options one command was given: :meth:`template` and :meth:`targets`."""

    values: dict[str, Any] = field(default_factory=dict)

    def template(self) -> SourceSpec:
        """The spec every source starts from (its ``source`` is empty)."""
        v = self.values
        return SourceSpec(
            "",
            fs=v["fs"],
            modality=v["modality"],
            series=v["series"],
            units_bin_width=v["units_bin_width"],
            channels=v["channels"],
            subject=v["subject"],
            session=v["session"],
            task=v["task"],
            run=v["run"],
            acquisition=v["acquisition"],
            labels=tuple(w for text in v["label"] for w in text.split(",")),
            start=v["start"],
            stop=v["stop"],
            whole=v["whole"],
            allow_external_links=v.get("allow_external_links", False),
            timeout=v.get("timeout"),
            atlas=v["atlas"],
            atlas_labels=v["atlas_labels"],
            mask=v["mask"],
            confounds=v["confounds"],
            standardize=v["standardize"],
            detrend=v["detrend"],
            fd_threshold=v["fd_threshold"],
        )

    def targets(self, positional: Sequence[str | Path] | None = ()) -> list[str | SourceSpec]:
        """The sources named on the command line, then the rows of ``--sources-from``."""
        out: list[str | SourceSpec] = [str(t) for t in positional or ()]
        if self.values.get("sources_from") is not None:
            out.extend(read_sources_table(self.values["sources_from"], template=self.template()))
        return out

    def require(self, positional: Sequence[str | Path] | None, *, what: str = "SOURCE") -> list[str | SourceSpec]:
        """:meth:`targets`, or a usage error when there are none."""
        targets = self.targets(positional)
        if not targets:
            from adhesive_dots.errors import DataError

            raise DataError(f"give at least one {what} (a file, folder, BIDS root or URL) or --sources-from FILE")
        return targets

    def one(self, positional: str | Path | None) -> str | SourceSpec:
        """Exactly one source (commands that describe one recording), from the argument or ``--sources-from``."""
        targets = self.targets([positional] if positional is not None else [])
        if len(targets) != 1:
            from adhesive_dots.errors import DataError

            raise DataError(f"give exactly one SOURCE (or a --sources-from table of one row); got {len(targets)}")
        return targets[0]

    def pair(self, positional: Sequence[str | Path]) -> tuple[str | SourceSpec, str | SourceSpec]:
        """Exactly two sources (commands that compare or align two), from the arguments or ``--sources-from``."""
        targets = self.targets(positional)
        if len(targets) != 2:
            from adhesive_dots.errors import DataError

            raise DataError(f"give exactly two sources (A B, or two rows of --sources-from); got {len(targets)}")
        return targets[0], targets[1]


def source_options(command: Callable[..., Any] | None = None, *, exclude: Sequence[str] = ()) -> Callable[..., Any]:
    """Add the shared source options to a Typer command; it receives them as ``given: SourceOptions``.

    ``exclude`` leaves out options whose flag the command uses otherwise (``search --modality`` is a
    filter); :meth:`SourceOptions.template` then treats them as not given.
    """
    if command is None:
        return functools.partial(source_options, exclude=exclude)
    params = [p for p in _SOURCE_PARAMS if p.name not in exclude]
    signature = inspect.signature(command, eval_str=True)
    kept = [p for p in signature.parameters.values() if p.name != "given"]
    added = [
        inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=p.option, annotation=p.annotation)
        for p in params
    ]
    names = [p.name for p in params]
    defaults = {p.name: p.option.default for p in _SOURCE_PARAMS if p.name in exclude}

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = SourceOptions({**defaults, **{name: kwargs.pop(name) for name in names}})
        return command(*args, given=given, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*kept, *added])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*kept, *added]}
    return wrapper
