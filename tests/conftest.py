"""Shared fixtures: a small simulated corpus (written once per run) and the real recordings."""

from __future__ import annotations

from pathlib import Path

import pytest

from adhesive_dots.testing import find_real_data


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory):
    """Three labs (calcium, ephys, EEG) x 1 subject x 2 sessions, 10 min rest + 2 min task.

    The defect cycle puts a 'too-short' defect on session 2 of the calcium lab and
    'missing-metadata' on session 2 of the EEG lab (see ``sim.corpus._assign_defects``).
    """
    from adhesive_dots.sim import sim_corpus

    return sim_corpus(tmp_path_factory.mktemp("corpus"), labs=3, subjects_per_lab=1, sessions_per_subject=2, rng=7)


@pytest.fixture(scope="session")
def real_data() -> Path:
    """``../shared/data/real`` (see its README); tests skip only when it is absent."""
    folder = find_real_data()
    if folder is None:
        pytest.skip("real recordings folder shared/data/real is absent (set ADOTS_REAL_DATA)")
    return folder


@pytest.fixture(scope="session")
def reupload_corpus(tmp_path_factory: pytest.TempPathFactory):
    """A small corpus (3 labs x 1 subject x 2 sessions, size 0.25) with 3 sessions re-uploaded.

    One session per lab is copied six ways (see ``sim.reupload``): 6 originals + 18 copies,
    63 planted duplicate pairs (``load_reuploads(corpus.root).pairs()``).
    """
    from adhesive_dots.sim import sim_corpus

    root = tmp_path_factory.mktemp("reupload-corpus")
    return sim_corpus(root, labs=3, subjects_per_lab=1, sessions_per_subject=2, size=0.25, reuploads=3, rng=7)
