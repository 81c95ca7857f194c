"""Simulated recordings with known ground truth (signals, sessions, whole corpora).

The simulator is public: the demo, the tests and the benchmarks all stand on it.
"""

from adhesive_dots.sim.signals import (
    as_rng,
    sim_fgn,
    sim_fgn_envelope,
    sim_oscillation,
    sim_powerlaw,
    sim_powerlaw_eigenspectrum,
)

__all__ = [
    "Corpus",
    "CorpusEntry",
    "as_rng",
    "sim_corpus",
    "sim_fgn",
    "sim_fgn_envelope",
    "sim_oscillation",
    "sim_powerlaw",
    "sim_powerlaw_eigenspectrum",
]


def __getattr__(name: str):
    # the corpus writer needs io (pynwb, mne-bids); import it only when asked for
    if name in {"sim_corpus", "Corpus", "CorpusEntry"}:
        from adhesive_dots.sim import corpus

        return getattr(corpus, name)
    raise AttributeError(f"module 'adhesive_dots.sim' has no attribute {name!r}")
