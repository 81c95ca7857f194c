"""All-or-nothing output files (see :mod:`adhesive_dots.files`, where they live so that every layer can use them)."""

from __future__ import annotations

from adhesive_dots.files import atomic_output, check_free_space, describe_write_error, remove_stale_temporaries

__all__ = ["atomic_output", "check_free_space", "describe_write_error", "remove_stale_temporaries"]
