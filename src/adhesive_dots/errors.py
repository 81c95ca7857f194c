"""Errors and warnings of adhesive-dots.

Every error derives from :class:`AdhesiveError` and from the matching built-in
exception, so generic handlers (``except ValueError``) keep working. Messages name the
file or parameter, what is allowed, what was given and, where known, the fix.
"""

from __future__ import annotations


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


class AdhesiveWarning(UserWarning):
    """Base class of warnings issued by adhesive-dots."""


__all__ = [
    "AdhesiveError",
    "AdhesiveWarning",
    "BaselineNotFoundError",
    "DataError",
    "FormatError",
    "MetadataError",
    "ParameterMismatchError",
    "RemoteError",
    "SourceNotFoundError",
    "UnsupportedSourceError",
]
