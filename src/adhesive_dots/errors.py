"""Errors and warnings of adhesive-dots.

Every error derives from :class:`AdhesiveError` and from the matching built-in
exception, so generic handlers (``except ValueError``) keep working. Messages name the
file or parameter, what is allowed, what was given and, where known, the fix.
"""

from __future__ import annotations

import os

OPTION_STYLE_ENV = "ADOTS_OPTION_STYLE"
"""Set to ``cli`` by the ``adots`` command (and inherited by its worker processes): messages
then name options as command-line flags (``--window-s``) instead of keywords (``window_s=``)."""


FLAG_NAMES = {"labels": "label"}
"""Keywords whose command-line flag is named otherwise (``labels=`` is the repeatable ``--label``)."""


def option(name: str, value: object = None) -> str:
    """An option as the user gave it: ``--units-bin-width 0.01`` on the command line,
    ``units_bin_width=0.01`` in Python (see :data:`OPTION_STYLE_ENV`).

    Parameters
    ----------
    name : str
        The keyword name, e.g. ``"units_bin_width"``.
    value : object, optional
        An example value to show after the option (``True`` for a switch: ``--overwrite``).
    """
    if os.environ.get(OPTION_STYLE_ENV) == "cli":
        flag = "--" + FLAG_NAMES.get(name, name).replace("_", "-")
        return flag if value is None or value is True else f"{flag} {value}"
    return f"{name}=" if value is None else f"{name}={value!r}"


class AdhesiveError(Exception):
    """Base class of every error raised by adhesive-dots."""


class MetadataError(AdhesiveError, ValueError):
    """A DotMetadata record is invalid (the message lists every offending field)."""


class DataError(AdhesiveError, ValueError):
    """Signal data are unusable (all NaN, wrong shape, non-monotonic timestamps, ...)."""


class ParameterMismatchError(DataError):
    """Two results were computed with different analysis parameters where they must agree (e.g. two
    fingerprints compared whose sliding windows differ); the message names the parameter, both values
    and the setting that makes them agree.

    Attributes
    ----------
    parameters : tuple of str
        The names of the parameters that differ.
    """

    def __init__(self, message: str, *, parameters: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.parameters = tuple(parameters)


class SourceNotFoundError(AdhesiveError, FileNotFoundError):
    """A path, URL or archive identifier points at nothing."""


class FormatError(AdhesiveError, ValueError):
    """A file exists but is not of the format its name or content claims (or is corrupt)."""


class UnsupportedSourceError(AdhesiveError, ValueError):
    """A source kind or URL scheme that adhesive-dots cannot read."""


class RemoteError(AdhesiveError, ConnectionError):
    """A remote read failed (HTTP error, dropped connection, unreachable archive)."""


class BaselineNotFoundError(AdhesiveError, LookupError):
    """No spontaneous segment qualifies as a baseline in a recording."""


class DataNotPresentError(FormatError):
    """A run's data file is a placeholder (0 bytes, a broken git-annex link): its sidecars can be
    read, its samples cannot."""


class TimestampsError(DataError):
    """A series' timestamps are non-finite, not increasing or irregular, so it cannot be read by time."""


class UnitsBinWidthRequired(DataError):
    """A file holds spike times only and no bin width was given to read them as rates."""


class AdhesiveWarning(UserWarning):
    """Base class of warnings issued by adhesive-dots."""


__all__ = [
    "AdhesiveError",
    "AdhesiveWarning",
    "BaselineNotFoundError",
    "DataError",
    "DataNotPresentError",
    "FormatError",
    "MetadataError",
    "ParameterMismatchError",
    "RemoteError",
    "SourceNotFoundError",
    "TimestampsError",
    "UnitsBinWidthRequired",
    "UnsupportedSourceError",
    "option",
]
