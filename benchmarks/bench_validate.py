"""Benchmark: validate 100 simulated sessions (10 min baselines, small channel counts).

Simulates a corpus of 5 labs (calcium, ephys, EEG, calcium, ephys) x 10 subjects x 2
sessions with the real 600 s baseline length, writes it as NWB and BIDS, then times
``validate_sources`` over the corpus folder (opening each file, finding its baseline,
running every check, reading the samples in bounded blocks), which is what
``adots validate CORPUS`` does. Target: under 60 s on 2 cores. Prints sessions/s and the
total time, and how many of the planted defects were caught.

Run: ``PYTHONPATH=src python benchmarks/bench_validate.py``.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path


def main(argv: list[str] | None = None, *, labs: int = 5, subjects_per_lab: int = 10, sessions_per_subject: int = 2,
         size: float = 0.1) -> dict:  # fmt: skip
    """Simulate, validate, print the figures; returns them as a dict (``argv`` is accepted and ignored)."""
    from adhesive_dots.core import Severity
    from adhesive_dots.sim import sim_corpus
    from adhesive_dots.validate import at_least
    from adhesive_dots.workflows.validate import validate_sources

    defect_check = {"too-short": "baseline.duration", "missing-metadata": "metadata.required",
                    "flat-channel": "signal.flat", "nan-stretch": "signal.nonfinite"}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        corpus = sim_corpus(root, labs=labs, subjects_per_lab=subjects_per_lab,
                            sessions_per_subject=sessions_per_subject, size=size, rng=0)  # fmt: skip
        simulate_s = time.perf_counter() - t0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            reports = validate_sources([root])
            validate_s = time.perf_counter() - t0
        n = len(reports)
        failing = {r.source: {f.code for f in at_least(r.findings, Severity.ERROR)} for r in reports}
        caught = planted = false_positives = 0
        for entry in corpus.entries:
            path = str(root / entry.path)
            if entry.format == "bids":
                key = next(s for s in failing if f"sub-{entry.subject}_ses-{entry.session}_task-rest" in s)
            else:
                key = path
            if entry.compliant:
                false_positives += bool(failing[key])
            for defect in entry.defects:
                planted += 1
                caught += defect_check[defect] in failing[key]
    result = {
        "sessions": n,
        "simulate_s": simulate_s,
        "validate_s": validate_s,
        "sessions_per_s": n / validate_s,
        "defects_planted": planted,
        "defects_caught": caught,
        "compliant_flagged": false_positives,
    }
    print(f"bench_validate: {n} sessions (600 s baselines, size {size}) simulated in {simulate_s:.1f} s")
    print(f"bench_validate: validated in {validate_s:.2f} s total = {n / validate_s:.2f} sessions/s (target < 60 s)")
    print(f"bench_validate: planted defects caught {caught}/{planted}; compliant sessions flagged {false_positives}")
    return result


if __name__ == "__main__":
    main()
