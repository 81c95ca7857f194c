"""Workflows: every multi-step operation over sources, where ``io`` meets the numerics (layer 5).

Each module takes :class:`~adhesive_dots.io.sources.SourceSpec` s (or targets expanded into them
with :func:`~adhesive_dots.io.sources.expand_sources`), resolves them through the one road
(:func:`~adhesive_dots.io.sources.resolve`), runs the numerics on the baselines and returns
results for a face (the ``adots`` command line, the reports, the web server) to render:

* :mod:`.inspect` -- what a file, a folder or a BIDS dataset holds;
* :mod:`.validate` -- is each source a compliant dot (batch, findings);
* :mod:`.fingerprint` -- the fingerprint of a source's baseline, in memory or streamed;
* :mod:`.compare` -- two baselines, task effects, rest -> task prediction, identification;
* :mod:`.align` -- an aligner fitted on two sources' baselines;
* :mod:`.sufficiency` -- is the baseline long enough; baseline vs task diversity;
* :mod:`.ingest` -- sources into the catalog, on Dask;
* :mod:`.curate` -- duplicates among files.

Batch workflows never stop at a bad source: it becomes a finding or a note, and the rest go on.
"""
