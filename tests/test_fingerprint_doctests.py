"""The examples in the fingerprint docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "adhesive_dots.fingerprint._compute",
    "adhesive_dots.fingerprint.aperiodic",
    "adhesive_dots.fingerprint.correlation",
    "adhesive_dots.fingerprint.dfa",
    "adhesive_dots.fingerprint.params",
    "adhesive_dots.fingerprint.spectral",
    "adhesive_dots.fingerprint.streaming",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
